/*
 * NFQUEUE over libmnl and libnetfilter_queue's nfq_nlmsg_* helpers.  It
 * binds in one acknowledged message (a packet arriving between separate
 * bind and parameter messages would be dropped), receives in batches with
 * recvmmsg and answers a batch with one sendmsg.  It decides nothing: every
 * packet it receives gets exactly one verdict, from the callback, and ACCEPT
 * unchanged when the message cannot be read.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/sock_diag.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "ct.h"
#include "log.h"
#include "queue.h"

#define QUEUE_BATCH 32
/*
 * A whole packet (copy range 0xffff) and its netlink attributes, rounded
 * so that every buffer of the batch starts aligned for struct nlmsghdr.
 */
#define QUEUE_MSG_MAX (0x10000 + 1024)
_Static_assert(QUEUE_MSG_MAX % 8 == 0, "batch buffers must stay aligned");
/* Receive buffer per queued packet: ~830 bytes for a small query, with room. */
#define QUEUE_RCVBUF_PER_PACKET 2048
#define QUEUE_VERDICT_MAX 64

struct queue {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	uint16_t num;
	int has_conntrack;
	struct stats *stats;
	queue_cb cb;
	void *arg;
	queue_batch_hook batch_hook;
	void *batch_arg;
	uint8_t *recv_bufs;			/* QUEUE_BATCH * QUEUE_MSG_MAX */
	struct mmsghdr msgs[QUEUE_BATCH];
	struct iovec iovs[QUEUE_BATCH];
	char verdicts[QUEUE_BATCH * QUEUE_VERDICT_MAX];
	size_t verdicts_len;
	int ack_seq;				/* sequence number awaited */
	int ack_error;				/* its result, once seen */
	int ack_seen;
};

static void
verdict_add(struct queue *queue, uint32_t id, const struct judge_verdict *v)
{
	struct nlmsghdr *nlh;

	if (queue->verdicts_len + QUEUE_VERDICT_MAX > sizeof(queue->verdicts))
		return;
	nlh = nfq_nlmsg_put(queue->verdicts + queue->verdicts_len,
	    NFQNL_MSG_VERDICT, queue->num);
	nfq_nlmsg_verdict_put(nlh, (int)id, NF_ACCEPT);
	if (v->set_mark)
		nfq_nlmsg_verdict_put_mark(nlh, v->mark);
	queue->verdicts_len += NLMSG_ALIGN(nlh->nlmsg_len);
}

static void
verdicts_flush(struct queue *queue)
{
	if (queue->verdicts_len == 0)
		return;
	if (mnl_socket_sendto(queue->nl, queue->verdicts,
	    queue->verdicts_len) < 0) {
		stats_inc(queue->stats, STATS_VERDICT_ERRORS);
		log_warn("sending verdicts: %s", strerror(errno));
	}
	queue->verdicts_len = 0;
}

/* Hands one NFQNL_MSG_PACKET to the callback and queues its verdict. */
static void
handle_packet(struct queue *queue, const struct nlmsghdr *nlh)
{
	struct nlattr *attr[NFQA_MAX + 1] = { 0 };
	struct nfqnl_msg_packet_hdr *ph;
	struct queue_packet packet = { 0 };
	struct judge_verdict verdict = { 0 };

	if (nfq_nlmsg_parse(nlh, attr) < 0 || attr[NFQA_PACKET_HDR] == NULL ||
	    mnl_attr_get_payload_len(attr[NFQA_PACKET_HDR]) < sizeof(*ph)) {
		/* Without the header there is no packet id to answer. */
		stats_inc(queue->stats, STATS_BAD_NETLINK);
		return;
	}
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	packet.id = ntohl(ph->packet_id);
	packet.pkt.id = packet.id;
	packet.pkt.can_defer = 1;
	if (attr[NFQA_PAYLOAD] == NULL) {
		stats_inc(queue->stats, STATS_BAD_NETLINK);
		verdict_add(queue, packet.id, &verdict);
		return;
	}
	packet.pkt.hook = ph->hook;
	packet.pkt.data = mnl_attr_get_payload(attr[NFQA_PAYLOAD]);
	packet.pkt.len = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
	if (attr[NFQA_MARK] != NULL)
		packet.pkt.mark = ntohl(mnl_attr_get_u32(attr[NFQA_MARK]));
	if (attr[NFQA_CT] != NULL &&
	    ct_parse_mark(attr[NFQA_CT], &packet.pkt.ct_mark) == 0)
		packet.pkt.has_ct_mark = 1;
	verdict = queue->cb(&packet, queue->arg);
	if (!verdict.defer)
		verdict_add(queue, packet.id, &verdict);
}

/* Walks the netlink messages of one datagram. */
static void
handle_datagram(struct queue *queue, const void *buf, size_t len)
{
	const struct nlmsghdr *nlh = buf;
	int remaining = (int)len;

	while (mnl_nlmsg_ok(nlh, remaining)) {
		if (nlh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);

			if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*err))) {
				stats_inc(queue->stats, STATS_BAD_NETLINK);
			} else if (queue->ack_seq != 0 &&
			    nlh->nlmsg_seq == (uint32_t)queue->ack_seq) {
				queue->ack_seen = 1;
				queue->ack_error = -err->error;
			} else if (err->error != 0) {
				/* Verdicts are sent unacknowledged; only
				 * failures come back. */
				stats_inc(queue->stats, STATS_VERDICT_ERRORS);
				log_debug("verdict refused: %s",
				    strerror(-err->error));
			}
		} else if ((nlh->nlmsg_type & 0xff) == NFQNL_MSG_PACKET) {
			handle_packet(queue, nlh);
		}
		nlh = mnl_nlmsg_next(nlh, &remaining);
	}
}

int
queue_process(struct queue *queue)
{
	int n;

	n = recvmmsg(mnl_socket_get_fd(queue->nl), queue->msgs, QUEUE_BATCH,
	    MSG_DONTWAIT, NULL);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		if (errno == ENOBUFS) {
			/* The kernel passed packets fail-open; go on. */
			stats_inc(queue->stats, STATS_ENOBUFS);
			return 0;
		}
		return -errno;
	}
	if (n > 0 && queue->batch_hook != NULL)
		queue->batch_hook(queue->batch_arg);
	for (int i = 0; i < n; i++) {
		if (queue->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
			stats_inc(queue->stats, STATS_BAD_NETLINK);
			continue;
		}
		handle_datagram(queue, queue->iovs[i].iov_base,
		    queue->msgs[i].msg_len);
		/* A full verdict buffer is sent before the next datagram. */
		if (queue->verdicts_len + QUEUE_VERDICT_MAX >
		    sizeof(queue->verdicts))
			verdicts_flush(queue);
	}
	verdicts_flush(queue);
	return n;
}

void
queue_verdict(struct queue *queue, uint32_t id,
    const struct judge_verdict *verdict)
{
	if (queue->verdicts_len + QUEUE_VERDICT_MAX > sizeof(queue->verdicts))
		verdicts_flush(queue);
	verdict_add(queue, id, verdict);
}

void
queue_flush(struct queue *queue)
{
	verdicts_flush(queue);
}

void
queue_set_batch_hook(struct queue *queue, queue_batch_hook hook, void *arg)
{
	queue->batch_hook = hook;
	queue->batch_arg = arg;
}

/* Sends a configuration message and waits for its acknowledgement,
 * handling any packet that arrives meanwhile.  Returns 0 or -errno. */
static int
queue_request(struct queue *queue, struct nlmsghdr *nlh)
{
	struct timespec start, now;

	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = ++queue->seq;
	queue->ack_seq = (int)nlh->nlmsg_seq;
	queue->ack_seen = 0;
	if (mnl_socket_sendto(queue->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!queue->ack_seen) {
		struct pollfd pfd = {
			.fd = mnl_socket_get_fd(queue->nl),
			.events = POLLIN,
		};
		int ret = queue_process(queue);

		if (ret < 0)
			return ret;
		if (ret == 0 && !queue->ack_seen)
			poll(&pfd, 1, 100);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > 5)
			return -ETIMEDOUT;
	}
	queue->ack_seq = 0;
	return -queue->ack_error;
}

static void
queue_set_rcvbuf(struct queue *queue, uint32_t maxlen)
{
	int fd = mnl_socket_get_fd(queue->nl), on = 1, size;
	socklen_t size_len = sizeof(size);
	size_t want = (size_t)maxlen * QUEUE_RCVBUF_PER_PACKET;

	if (want > INT32_MAX / 2)
		want = INT32_MAX / 2;
	size = (int)want;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, &size_len) == 0 &&
	    (size_t)size < want)
		log_warn("receive buffer is %d bytes, wanted %zu: bursts "
		    "beyond it pass unmarked", size, want);
	/* A full buffer makes the kernel accept fail-open; no error needed. */
	setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &on, sizeof(on));
}

struct queue *
queue_open(uint16_t num, uint32_t maxlen, struct stats *stats, queue_cb cb,
    void *arg)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct queue *queue;
	int err;

	queue = calloc(1, sizeof(*queue));
	if (queue == NULL)
		return NULL;
	queue->num = num;
	queue->stats = stats;
	queue->cb = cb;
	queue->arg = arg;
	queue->seq = (uint32_t)time(NULL);
	queue->recv_bufs = malloc((size_t)QUEUE_BATCH * QUEUE_MSG_MAX);
	if (queue->recv_bufs == NULL) {
		err = ENOMEM;
		goto fail;
	}
	for (int i = 0; i < QUEUE_BATCH; i++) {
		queue->iovs[i].iov_base = queue->recv_bufs + (size_t)i * QUEUE_MSG_MAX;
		queue->iovs[i].iov_len = QUEUE_MSG_MAX;
		queue->msgs[i].msg_hdr.msg_iov = &queue->iovs[i];
		queue->msgs[i].msg_hdr.msg_iovlen = 1;
	}
	queue->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (queue->nl == NULL) {
		err = errno;
		log_err("opening netlink: %s", strerror(err));
		goto fail;
	}
	if (mnl_socket_bind(queue->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = errno;
		log_err("binding netlink: %s", strerror(err));
		goto fail;
	}
	queue->portid = mnl_socket_get_portid(queue->nl);
	queue_set_rcvbuf(queue, maxlen);

	/* Bind, copy mode, length and fail-open in one message: flags the
	 * kernel may lack (conntrack) are asked for separately below, since
	 * one unknown flag would cancel the whole bind. */
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, num);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xffff);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, maxlen);
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_FAIL_OPEN));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_FAIL_OPEN));
	err = -queue_request(queue, nlh);
	if (err != 0) {
		if (err == EPERM)
			log_err("binding queue %u: %s (another process owns it, "
			    "or CAP_NET_ADMIN is missing)", num, strerror(err));
		else
			log_err("binding queue %u: %s", num, strerror(err));
		goto fail;
	}

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, num);
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_CONNTRACK));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_CONNTRACK));
	err = -queue_request(queue, nlh);
	if (err == 0) {
		queue->has_conntrack = 1;
	} else {
		log_info("queue %u: kernel gives no conntrack data (%s); the "
		    "client's mark comes from the packet mark", num,
		    strerror(err));
	}
	return queue;
fail:
	queue_close(queue);
	errno = err;
	return NULL;
}

int
queue_drain(struct queue *queue, int quiet_ms)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct pollfd pfd = {
		.fd = mnl_socket_get_fd(queue->nl),
		.events = POLLIN,
	};
	struct nlmsghdr *nlh;
	int err, drained = 0;

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue->num);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, 0);
	err = queue_request(queue, nlh);
	if (err < 0)
		return err;
	/* Packets queued before the change may still be on their way to
	 * the socket: wait for a quiet spell, not just an empty buffer. */
	while (poll(&pfd, 1, quiet_ms) > 0) {
		int n = queue_process(queue);

		if (n < 0)
			return n;
		drained += n;
	}
	return drained;
}

int
queue_has_conntrack(const struct queue *queue)
{
	return queue->has_conntrack;
}

long long
queue_socket_drops(const struct queue *queue)
{
	uint32_t meminfo[SK_MEMINFO_VARS];
	socklen_t len = sizeof(meminfo);

	if (getsockopt(mnl_socket_get_fd(queue->nl), SOL_SOCKET, SO_MEMINFO,
	    meminfo, &len) < 0 || len <= SK_MEMINFO_DROPS * sizeof(uint32_t))
		return -1;
	return meminfo[SK_MEMINFO_DROPS];
}

int
queue_fd(const struct queue *queue)
{
	return mnl_socket_get_fd(queue->nl);
}

void
queue_close(struct queue *queue)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	if (queue == NULL)
		return;
	if (queue->nl != NULL && queue->portid != 0) {
		nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue->num);
		nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_UNBIND);
		mnl_socket_sendto(queue->nl, nlh, nlh->nlmsg_len);
	}
	if (queue->nl != NULL)
		mnl_socket_close(queue->nl);
	free(queue->recv_bufs);
	free(queue);
}
