/*
 * Telling a service manager that dnsmark is ready (systemd's Type=notify):
 * one datagram to the socket $NOTIFY_SOCKET names.  Nothing when the
 * variable is unset; never fatal.
 */
#ifndef DNSMARK_NOTIFY_H
#define DNSMARK_NOTIFY_H

/*
 * Sends "READY=1" to $NOTIFY_SOCKET (a path, or an abstract name after
 * '@').  Returns 1 when sent, 0 when there is no such socket to tell, or a
 * negative errno.
 */
int notify_ready(void);

#endif
