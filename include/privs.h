/*
 * Dropping root for init systems without systemd's sandboxing: become an
 * unprivileged user that keeps only CAP_NET_ADMIN, which the kernel checks
 * on every verdict.  Start-up only.
 */
#ifndef DNSMARK_PRIVS_H
#define DNSMARK_PRIVS_H

#include <stddef.h>

/*
 * Switches to user (name or numeric uid) and its primary group, with no
 * supplementary groups, keeping CAP_NET_ADMIN alone and setting
 * no_new_privs.  Returns 0, or a negative errno with a message in err.
 */
int privs_drop(const char *user, char *err, size_t err_len);

/*
 * Trims the capability sets to CAP_NET_ADMIN alone (effective and
 * permitted; inheritable and ambient emptied) and sets no_new_privs,
 * without changing user: for a service manager's unprivileged user that
 * was given CAP_BPF to load bpf mode's program.  Returns 0, or a negative
 * errno with a message in err.
 */
int privs_keep_net_admin(char *err, size_t err_len);

/* Returns non-zero when the process has CAP_NET_ADMIN in effect. */
int privs_have_net_admin(void);

#endif
