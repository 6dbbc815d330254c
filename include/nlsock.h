/*
 * The netlink transport that NFQUEUE (queue.c) and NFLOG (nflog.c) share:
 * a NETLINK_NETFILTER socket with its receive buffer sized, batches of
 * datagrams read with one recvmmsg into buffers allocated once, and
 * configuration requests sent with NLM_F_ACK and waited for while what
 * arrives meanwhile is handled as usual.  It knows nothing of what the
 * messages say but their acknowledgements.
 */
#ifndef DNSMARK_NLSOCK_H
#define DNSMARK_NLSOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <linux/netlink.h>

struct mnl_socket;

/* How long nlsock_request() waits for its acknowledgement. */
#define NLSOCK_ACK_TIMEOUT_MS 5000

/* What the awaited acknowledgement said (nlsock_ack()). */
struct nlsock_ack {
	uint32_t seq;		/* sequence number awaited; 0: none */
	int seen;
	int error;		/* its errno, 0 for success */
};

struct nlsock {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;		/* the last request's */
	struct nlsock_ack ack;
	unsigned int batch;	/* datagrams per recvmmsg */
	size_t msg_max;		/* bytes per datagram buffer */
	uint8_t *bufs;		/* batch * msg_max */
	struct mmsghdr *msgs;
	struct iovec *iovs;
};

/*
 * Handles one datagram of len bytes (cut: the kernel had more, MSG_TRUNC).
 * The receiver reads NLMSG_ERROR messages with nlsock_ack() first.
 */
typedef void (*nlsock_datagram_cb)(void *arg, const void *buf, size_t len,
    int cut);

/*
 * Opens and binds the socket, with buffers for batch datagrams of msg_max
 * bytes (a multiple of 8, so that each starts aligned).  Returns 0 or
 * -errno, logging why; *sock is then closed (nlsock_close() is safe).
 */
int nlsock_open(struct nlsock *sock, unsigned int batch, size_t msg_max);

/* Asks for a receive buffer of want bytes; returns what the kernel gave. */
size_t nlsock_set_rcvbuf(struct nlsock *sock, size_t want);

/*
 * One recvmmsg, without waiting: hands each datagram to cb.  Returns how
 * many, 0 when none was there (or a signal came), or -errno (-ENOBUFS:
 * the kernel dropped some for want of room).
 */
int nlsock_receive(struct nlsock *sock, nlsock_datagram_cb cb, void *arg);

/*
 * For an NLMSG_ERROR message of which avail bytes arrived: returns 1 when
 * it is the acknowledgement awaited (recorded in ack), 0 when it is another
 * (a refused verdict: *error is its errno), -1 when it is too short to
 * read.
 */
int nlsock_ack(struct nlsock_ack *ack, const struct nlmsghdr *nlh,
    size_t avail, int *error);

/*
 * Calls one round of the receiver's own reading (which hands NLMSG_ERROR
 * messages to nlsock_ack() and the rest to their handler): datagrams
 * read, 0 for none, or -errno.
 */
typedef int (*nlsock_pump)(void *arg);

/*
 * Sends the request nlh with NLM_F_ACK and a fresh sequence number, and
 * pumps until its acknowledgement arrives (NLSOCK_ACK_TIMEOUT_MS at most).
 * Returns 0, the kernel's -errno, -ETIMEDOUT, or a pump's error.
 */
int nlsock_request(struct nlsock *sock, struct nlmsghdr *nlh,
    nlsock_pump pump, void *arg);

int nlsock_fd(const struct nlsock *sock);

/* Closes the socket and frees the buffers; the struct may be reopened. */
void nlsock_close(struct nlsock *sock);

#endif
