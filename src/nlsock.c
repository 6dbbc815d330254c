/*
 * The netlink transport of NFQUEUE and NFLOG (nlsock.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>

#include "log.h"
#include "nlsock.h"

static uint64_t
monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
nlsock_open(struct nlsock *sock, unsigned int batch, size_t msg_max)
{
	int err;

	memset(sock, 0, sizeof(*sock));
	if (batch == 0 || msg_max % 8 != 0)
		return -EINVAL;
	sock->batch = batch;
	sock->msg_max = msg_max;
	sock->seq = (uint32_t)time(NULL);
	sock->bufs = malloc((size_t)batch * msg_max);
	sock->msgs = calloc(batch, sizeof(*sock->msgs));
	sock->iovs = calloc(batch, sizeof(*sock->iovs));
	if (sock->bufs == NULL || sock->msgs == NULL || sock->iovs == NULL) {
		nlsock_close(sock);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < batch; i++) {
		sock->iovs[i].iov_base = sock->bufs + (size_t)i * msg_max;
		sock->iovs[i].iov_len = msg_max;
		sock->msgs[i].msg_hdr.msg_iov = &sock->iovs[i];
		sock->msgs[i].msg_hdr.msg_iovlen = 1;
	}
	sock->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (sock->nl == NULL) {
		err = errno;
		log_err("opening netlink: %s", strerror(err));
		nlsock_close(sock);
		return -err;
	}
	if (mnl_socket_bind(sock->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = errno;
		log_err("binding netlink: %s", strerror(err));
		nlsock_close(sock);
		return -err;
	}
	sock->portid = mnl_socket_get_portid(sock->nl);
	return 0;
}

size_t
nlsock_set_rcvbuf(struct nlsock *sock, size_t want)
{
	int fd = mnl_socket_get_fd(sock->nl), size;
	socklen_t size_len = sizeof(size);

	if (want > INT32_MAX / 2)
		want = INT32_MAX / 2;
	size = (int)want;
	/* Beyond rmem_max with CAP_NET_ADMIN, else up to it. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, &size_len) < 0 ||
	    size < 0)
		return 0;
	return (size_t)size;
}

int
nlsock_receive(struct nlsock *sock, nlsock_datagram_cb cb, void *arg)
{
	int n;

	n = recvmmsg(mnl_socket_get_fd(sock->nl), sock->msgs, sock->batch,
	    MSG_DONTWAIT, NULL);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		return -errno;
	}
	for (int i = 0; i < n; i++)
		cb(arg, sock->iovs[i].iov_base, sock->msgs[i].msg_len,
		    (sock->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0);
	return n;
}

int
nlsock_ack(struct nlsock_ack *ack, const struct nlmsghdr *nlh, size_t avail,
    int *error)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);

	*error = 0;
	if (avail < nlh->nlmsg_len ||
	    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*err)))
		return -1;
	if (ack->seq != 0 && nlh->nlmsg_seq == ack->seq) {
		ack->seen = 1;
		ack->error = -err->error;
		return 1;
	}
	*error = -err->error;
	return 0;
}

int
nlsock_request(struct nlsock *sock, struct nlmsghdr *nlh, nlsock_pump pump,
    void *arg)
{
	uint64_t start = monotonic_ms();

	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = ++sock->seq;
	if (nlh->nlmsg_seq == 0)
		nlh->nlmsg_seq = ++sock->seq;	/* 0 awaits nothing */
	sock->ack.seq = nlh->nlmsg_seq;
	sock->ack.seen = 0;
	sock->ack.error = 0;
	if (mnl_socket_sendto(sock->nl, nlh, nlh->nlmsg_len) < 0) {
		sock->ack.seq = 0;
		return -errno;
	}
	while (!sock->ack.seen) {
		struct pollfd pfd = {
			.fd = mnl_socket_get_fd(sock->nl),
			.events = POLLIN,
		};
		int ret = pump(arg);

		if (ret < 0) {
			sock->ack.seq = 0;
			return ret;
		}
		if (ret == 0 && !sock->ack.seen)
			poll(&pfd, 1, 100);
		if (!sock->ack.seen &&
		    monotonic_ms() - start > NLSOCK_ACK_TIMEOUT_MS) {
			sock->ack.seq = 0;
			return -ETIMEDOUT;
		}
	}
	sock->ack.seq = 0;
	return -sock->ack.error;
}

int
nlsock_fd(const struct nlsock *sock)
{
	return mnl_socket_get_fd(sock->nl);
}

void
nlsock_close(struct nlsock *sock)
{
	if (sock->nl != NULL)
		mnl_socket_close(sock->nl);
	free(sock->bufs);
	free(sock->msgs);
	free(sock->iovs);
	memset(sock, 0, sizeof(*sock));
}
