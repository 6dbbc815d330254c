/*
 * An NFLOG group over libmnl, on the netlink transport of nlsock.c.  It
 * binds in one acknowledged message with
 * the kernel batching copies (NFLOG_QTHRESH, NFLOG_TIMEOUT_MS) and
 * numbering them (NFULNL_CFG_F_SEQ: a gap is a lost copy), receives
 * batches with recvmmsg, and flushes the kernel's buffer on demand with a
 * marker datagram to itself that the rules copy with a threshold of 1.
 * It decides nothing and answers nothing: copies are not held.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>

#include "log.h"
#include "nflog.h"
#include "nflog_msg.h"
#include "nlsock.h"
#include "source.h"

#define NFLOG_BATCH 8
/*
 * One datagram holds a batch of copies (the instance buffer, NFLOG_BUFSIZ)
 * or one copy larger than that (a whole packet, 0xffff at most, and its
 * attributes); rounded so that every buffer starts aligned.
 */
#define NFLOG_MSG_MAX (0x10000 + 4096)
_Static_assert(NFLOG_MSG_MAX % 8 == 0, "batch buffers must stay aligned");
/* The kernel's buffer per group: ~32 copies of a query with attributes. */
#define NFLOG_BUFSIZ 16384
/*
 * Receive buffer: each copy costs ~800 bytes of it when sent alone, less in
 * batches; room for NFLOG_RATE copies a second through a stall of
 * NFLOG_STALL_MS (a slow stats write, the scheduler) before any is lost.
 */
#define NFLOG_RATE 100000
#define NFLOG_STALL_MS 100
#define NFLOG_RCVBUF_PER_COPY 800
#define NFLOG_RCVBUF ((size_t)NFLOG_RATE * NFLOG_STALL_MS / 1000 * \
	NFLOG_RCVBUF_PER_COPY)

struct nflog {
	struct nlsock sock;
	uint16_t group;
	struct stats *stats;
	nflog_cb cb;
	void *arg;
	struct nflog_seq copies;
	int marker_fd;
	uint8_t cookie[NFLOG_MARKER_COOKIE_LEN];
	uint64_t marker_sent;		/* serial of the last marker sent */
	uint64_t marker_seen;		/* ... and of the last one read back */
	int flush_warned;
	uint8_t scratch[NFLOG_MSG_MAX];	/* a cut copy, its lengths mended */
};

static uint64_t
monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
handle_copy(struct nflog *nflog, const struct nlmsghdr *nlh)
{
	struct nflog_copy copy;
	uint64_t serial;

	switch (nflog_msg_parse(nlh, &copy)) {
	case NFLOG_MSG_NOT_PACKET:
		return;
	case NFLOG_MSG_BAD:
		stats_inc(nflog->stats, STATS_BAD_NETLINK);
		return;
	case NFLOG_MSG_OK:
		break;
	}
	if (copy.has_seq)
		nflog->stats->counter[STATS_NFLOG_LOST] +=
		    nflog_seq_lost(&nflog->copies, copy.seq);
	switch (nflog_msg_marker(&copy.pkt, nflog->cookie, &serial)) {
	case NFLOG_MARKER_OURS:
		if (serial > nflog->marker_seen)
			nflog->marker_seen = serial;
		return;
	case NFLOG_MARKER_FOREIGN:
		return;
	case NFLOG_MARKER_NONE:
		break;
	}
	stats_inc(nflog->stats, STATS_NFLOG_COPIES);
	nflog_msg_fit_cut(&copy.pkt, nflog->scratch, sizeof(nflog->scratch));
	nflog->cb(&copy.pkt, nflog->arg);
}

/* Walks the netlink messages of one datagram; a cut one is dropped. */
static void
handle_datagram(void *arg, const void *buf, size_t len, int cut)
{
	struct nflog *nflog = arg;
	const struct nlmsghdr *nlh = buf;
	int remaining = (int)len, error;

	if (cut) {
		stats_inc(nflog->stats, STATS_BAD_NETLINK);
		return;
	}
	while (mnl_nlmsg_ok(nlh, remaining)) {
		if (nlh->nlmsg_type == NLMSG_ERROR) {
			if (nlsock_ack(&nflog->sock.ack, nlh,
			    (size_t)remaining, &error) < 0)
				stats_inc(nflog->stats, STATS_BAD_NETLINK);
		} else {
			handle_copy(nflog, nlh);
		}
		nlh = mnl_nlmsg_next(nlh, &remaining);
	}
}

/* One recvmmsg: returns datagrams read, 0 when none, or -errno. */
static int
receive_batch(struct nflog *nflog)
{
	int n = nlsock_receive(&nflog->sock, handle_datagram, nflog);

	if (n == -ENOBUFS) {
		/* Copies were lost; the sequence numbers count them. */
		stats_inc(nflog->stats, STATS_NFLOG_ENOBUFS);
		return 1;
	}
	return n;
}

int
nflog_receive(struct nflog *nflog)
{
	uint64_t before = nflog->stats->counter[STATS_NFLOG_COPIES];
	int n;

	do {
		n = receive_batch(nflog);
	} while (n > 0);
	if (n < 0)
		return n;
	return (int)(nflog->stats->counter[STATS_NFLOG_COPIES] - before);
}

/* Reads the markers that reached the marker socket itself. */
static void
discard_markers(struct nflog *nflog)
{
	struct mmsghdr msgs[16];
	struct iovec iov[16];
	uint8_t sink[16][NFLOG_MARKER_LEN];

	for (int i = 0; i < 16; i++) {
		iov[i].iov_base = sink[i];
		iov[i].iov_len = sizeof(sink[i]);
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	while (recvmmsg(nflog->marker_fd, msgs, 16, MSG_DONTWAIT, NULL) == 16)
		;
}

int
nflog_flush(struct nflog *nflog)
{
	uint8_t payload[NFLOG_MARKER_LEN];
	uint64_t start = monotonic_us(), now = start;
	int err = 0;

	if (nflog->marker_fd < 0)
		return -ENOTSUP;
	nflog_msg_marker_payload(nflog->cookie, ++nflog->marker_sent, payload);
	/* The rules copy the marker as it is sent: when send() returns, the
	 * kernel has put its buffer, marker last, on our socket (or lost it,
	 * which the wait below bounds). */
	if (send(nflog->marker_fd, payload, sizeof(payload), 0) < 0) {
		err = -errno;
		goto out;
	}
	for (;;) {
		struct pollfd pfd = {
			.fd = nlsock_fd(&nflog->sock),
			.events = POLLIN,
		};
		struct timespec wait;
		int n = receive_batch(nflog);

		if (n < 0) {
			err = n;
			break;
		}
		if (nflog->marker_seen >= nflog->marker_sent)
			break;
		if (n > 0)
			continue;
		now = monotonic_us();
		if (now - start >= NFLOG_FLUSH_WAIT_US) {
			err = -ETIMEDOUT;
			break;
		}
		wait.tv_sec = 0;
		wait.tv_nsec = (long)(NFLOG_FLUSH_WAIT_US - (now - start)) * 1000;
		ppoll(&pfd, 1, &wait, NULL);
	}
	discard_markers(nflog);
out:
	now = monotonic_us();
	stats_inc(nflog->stats, STATS_NFLOG_FLUSHES);
	nflog->stats->counter[STATS_NFLOG_FLUSH_US] += now - start;
	if (err < 0) {
		stats_inc(nflog->stats, STATS_NFLOG_FLUSH_TIMEOUTS);
		if (!nflog->flush_warned)
			log_warn("NFLOG group %u: the flush marker did not come "
			    "back (%s): are rules/observe-v4.rules loaded? "
			    "Client queries may be read too late", nflog->group,
			    strerror(-err));
		nflog->flush_warned = 1;
	}
	return err;
}

static struct nlmsghdr *
config_put(char *buf, uint16_t group)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(group);
	return nlh;
}

static int
pump(void *arg)
{
	return receive_batch(arg);
}

/* Sends a configuration message and waits for its acknowledgement,
 * handling any copy that arrives meanwhile.  Returns 0 or -errno. */
static int
nflog_request(struct nflog *nflog, struct nlmsghdr *nlh)
{
	return nlsock_request(&nflog->sock, nlh, pump, nflog);
}

static void
nflog_set_rcvbuf(struct nflog *nflog)
{
	size_t got = nlsock_set_rcvbuf(&nflog->sock, NFLOG_RCVBUF);

	if (got < NFLOG_RCVBUF)
		log_warn("NFLOG receive buffer is %zu bytes, wanted %zu: bursts "
		    "beyond it lose copies (counted in nflog_lost)", got,
		    (size_t)NFLOG_RCVBUF);
}

/* The marker socket: bound to the marker address, sending to itself, so
 * that the marker ends in a socket of ours and nowhere else. */
static int
marker_open(void)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t addr_len = sizeof(addr);
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	inet_pton(AF_INET, NFLOG_MARKER_ADDR, &addr.sin_addr);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&addr, &addr_len) < 0 ||
	    connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

struct nflog *
nflog_open(uint16_t group, struct stats *stats, nflog_cb cb, void *arg,
    enum nflog_delivery delivery)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nfulnl_msg_config_cmd cmd = { .command = NFULNL_CFG_CMD_BIND };
	struct nfulnl_msg_config_mode mode = {
		.copy_range = htonl(0xffff),
		.copy_mode = NFULNL_COPY_PACKET,
	};
	struct nlmsghdr *nlh;
	struct nflog *nflog;
	int flushable = delivery == NFLOG_BATCHED;
	int err;

	nflog = calloc(1, sizeof(*nflog));
	if (nflog == NULL)
		return NULL;
	nflog->marker_fd = -1;
	nflog->group = group;
	nflog->stats = stats;
	nflog->cb = cb;
	nflog->arg = arg;
	if (getrandom(nflog->cookie, sizeof(nflog->cookie), 0) !=
	    (ssize_t)sizeof(nflog->cookie)) {
		err = errno;
		goto fail;
	}
	nflog->marker_fd = flushable ? marker_open() : -1;
	if (flushable && nflog->marker_fd < 0) {
		err = errno;
		log_err("marker socket on %s: %s", NFLOG_MARKER_ADDR,
		    strerror(err));
		goto fail;
	}
	err = -nlsock_open(&nflog->sock, NFLOG_BATCH, NFLOG_MSG_MAX);
	if (err != 0)
		goto fail;
	nflog_set_rcvbuf(nflog);

	/* Bind, copy mode, batching and sequence numbers in one message:
	 * copies the kernel built before the batching applied would come
	 * one by one, and without numbers their loss could not be seen.
	 * Conntrack data, which the kernel may lack, is asked for apart. */
	nlh = config_put(buf, group);
	mnl_attr_put(nlh, NFULA_CFG_CMD, sizeof(cmd), &cmd);
	mnl_attr_put(nlh, NFULA_CFG_MODE, sizeof(mode), &mode);
	mnl_attr_put_u32(nlh, NFULA_CFG_NLBUFSIZ, htonl(NFLOG_BUFSIZ));
	mnl_attr_put_u32(nlh, NFULA_CFG_TIMEOUT,
	    htonl((NFLOG_TIMEOUT_MS + 9) / 10));
	mnl_attr_put_u32(nlh, NFULA_CFG_QTHRESH,
	    htonl(flushable ? NFLOG_QTHRESH : 1));
	mnl_attr_put_u16(nlh, NFULA_CFG_FLAGS, htons(NFULNL_CFG_F_SEQ));
	err = -nflog_request(nflog, nlh);
	if (err != 0) {
		if (err == EBUSY || err == EPERM)
			log_err("binding NFLOG group %u: %s (another process "
			    "owns it, or CAP_NET_ADMIN is missing)", group,
			    strerror(err));
		else
			log_err("binding NFLOG group %u: %s", group,
			    strerror(err));
		goto fail;
	}
	nlh = config_put(buf, group);
	mnl_attr_put_u16(nlh, NFULA_CFG_FLAGS,
	    htons(NFULNL_CFG_F_SEQ | NFULNL_CFG_F_CONNTRACK));
	err = -nflog_request(nflog, nlh);
	if (err != 0)
		log_info("NFLOG group %u: kernel gives no conntrack data (%s); "
		    "the client's mark comes from the packet mark", group,
		    strerror(err));
	return nflog;
fail:
	nflog_close(nflog);
	errno = err;
	return NULL;
}

int
nflog_fd(const struct nflog *nflog)
{
	return nlsock_fd(&nflog->sock);
}

void
nflog_close(struct nflog *nflog)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nfulnl_msg_config_cmd cmd = { .command = NFULNL_CFG_CMD_UNBIND };
	struct nlmsghdr *nlh;

	if (nflog == NULL)
		return;
	if (nflog->sock.nl != NULL && nflog->sock.portid != 0) {
		nlh = config_put(buf, nflog->group);
		mnl_attr_put(nlh, NFULA_CFG_CMD, sizeof(cmd), &cmd);
		mnl_socket_sendto(nflog->sock.nl, nlh, nlh->nlmsg_len);
	}
	nlsock_close(&nflog->sock);
	if (nflog->marker_fd >= 0)
		close(nflog->marker_fd);
	free(nflog);
}

/*
 * The group as a source of copies.  Batched (observe mode): its buffer is
 * flushed before each batch of queued packets, the copies of the client
 * queries that caused them read; a marker that does not come back is
 * counted and warned about once by nflog_flush(), not at every batch.
 * Immediate (queue mode's answers): what is in the socket is read.  Both
 * are read as they come, cache hits queueing nothing.
 */
static int
source_nflog_fd(const void *impl)
{
	return nflog_fd(impl);
}

static int
source_nflog_read(void *impl, enum source_moment moment)
{
	struct nflog *nflog = impl;

	switch (moment) {
	case SOURCE_READABLE:
		return nflog_receive(nflog);
	case SOURCE_BEFORE_BATCH:
		if (nflog->marker_fd >= 0) {
			(void)nflog_flush(nflog);
			return 0;
		}
		return nflog_receive(nflog);
	case SOURCE_TICK:
	case SOURCE_NOW:
		break;
	}
	return 0;
}

static void
source_nflog_close(void *impl)
{
	nflog_close(impl);
}

static const struct source_ops source_nflog_ops = {
	.fd = source_nflog_fd,
	.read = source_nflog_read,
	.counters = NULL,
	.close = source_nflog_close,
};

int
nflog_source(struct source *source, uint16_t group, struct stats *stats,
    nflog_cb cb, void *arg, enum nflog_delivery delivery)
{
	struct nflog *nflog = nflog_open(group, stats, cb, arg, delivery);

	if (nflog == NULL)
		return -1;
	if (delivery == NFLOG_BATCHED)
		source_init(source, &source_nflog_ops, nflog,
		    "NFLOG group %u, batches of %d copies or %d ms", group,
		    NFLOG_QTHRESH, NFLOG_TIMEOUT_MS);
	else
		source_init(source, &source_nflog_ops, nflog,
		    "NFLOG group %u, each copy as its packet passes", group);
	return 0;
}
