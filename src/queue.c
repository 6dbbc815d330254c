/*
 * NFQUEUE over libmnl and libnetfilter_queue's nfq_nlmsg_* helpers, on
 * the netlink transport of nlsock.c.  It binds in one acknowledged message
 * (a packet arriving between separate bind and parameter messages would be
 * dropped), receives in batches and answers a batch with one sendmsg.  It decides nothing: every
 * packet whose id it can read gets exactly one verdict, from the callback,
 * or ACCEPT unchanged when the rest of the message cannot be read; reading
 * the messages and building the verdicts is verdicts.c's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/sock_diag.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "ct.h"
#include "log.h"
#include "metrics.h"
#include "nlsock.h"
#include "queue.h"
#include "verdicts.h"

#define QUEUE_BATCH 32
/*
 * A whole packet and every attribute the kernel puts beside it, rounded so
 * that every buffer of the batch starts aligned for struct nlmsghdr.  The
 * payload attribute is at most 0xffff bytes (the copy range); the others
 * (headers, interfaces, hardware address, timestamp, uid and gid,
 * conntrack data, security context) take a few hundred bytes, a long
 * security context included, so 8 KiB of room keeps MSG_TRUNC away.
 */
#define QUEUE_MSG_MAX (0x10000 + 8192)
_Static_assert(QUEUE_MSG_MAX % 8 == 0, "batch buffers must stay aligned");
/* Receive buffer per queued packet: ~830 bytes for a small query, with room. */
#define QUEUE_RCVBUF_PER_PACKET 2048

struct queue {
	struct nlsock sock;
	uint16_t num;
	int has_conntrack;
	struct stats *stats;
	queue_cb cb;
	void *arg;
	queue_batch_hook batch_hook;
	void *batch_arg;
	int batch_started;			/* the hook ran for this batch */
	struct verdicts_batch verdicts;
	uint32_t last_id;			/* the latest packet id read */
	int any_id;				/* ... once one was */
};

static void
log_unsent(unsigned int count, int err)
{
	log_warn("sending %u verdicts: %s; their packets wait for the sweep "
	    "at the stop", count, strerror(-err));
}

/* Sends the verdicts added so far, retrying what the kernel may yet take. */
static void
verdicts_flush(struct queue *queue)
{
	unsigned int count = queue->verdicts.count;
	int err;

	err = verdicts_batch_send(&queue->verdicts,
	    nlsock_fd(&queue->sock), queue->stats);
	if (err < 0)
		log_unsent(count, err);
}

/* Adds a verdict, sending the batch first when it is full. */
static void
verdict_add(struct queue *queue, uint32_t id, const struct judge_verdict *v)
{
	unsigned int count = queue->verdicts.count;
	int err;

	err = verdicts_batch_put(&queue->verdicts,
	    nlsock_fd(&queue->sock), queue->stats, id, v);
	if (err < 0)
		log_unsent(count, err);
}

/* Hands one NFQNL_MSG_PACKET (avail bytes of it) to the callback and
 * queues its verdict; accepts it unchanged when it cannot be read whole. */
static void
handle_packet(struct queue *queue, const struct nlmsghdr *nlh, size_t avail)
{
	static const struct judge_verdict unchanged = { 0 };
	struct verdicts_packet msg;
	struct queue_packet packet = { 0 };
	struct judge_verdict verdict;

	switch (verdicts_read_packet(nlh, avail, &msg)) {
	case VERDICTS_READ_OTHER:
		return;
	case VERDICTS_READ_NO_ID:
		/* Nothing can answer it now: the sweep at the stop will. */
		stats_inc(queue->stats, STATS_BAD_NETLINK);
		stats_inc(queue->stats, STATS_NETLINK_NO_ID);
		log_debug("queue message without a packet id");
		return;
	case VERDICTS_READ_ID_ONLY:
		stats_inc(queue->stats, STATS_BAD_NETLINK);
		queue->last_id = msg.id;
		queue->any_id = 1;
		verdict_add(queue, msg.id, &unchanged);
		return;
	case VERDICTS_READ_PACKET:
		break;
	}
	queue->last_id = msg.id;
	queue->any_id = 1;
	packet.id = msg.id;
	packet.pkt.id = msg.id;
	packet.pkt.can_defer = 1;
	packet.pkt.hook = msg.hook;
	packet.pkt.data = msg.payload;
	packet.pkt.len = msg.payload_len;
	packet.pkt.mark = msg.mark;
	if (msg.ct != NULL &&
	    ct_parse_mark(msg.ct, &packet.pkt.ct_mark) == 0)
		packet.pkt.has_ct_mark = 1;
	verdict = queue->cb(&packet, queue->arg);
	if (!verdict.defer)
		verdict_add(queue, packet.id, &verdict);
}

/* Reads an NLMSG_ERROR: the acknowledgement awaited, or a refused verdict. */
static void
handle_error(struct queue *queue, const struct nlmsghdr *nlh, size_t avail)
{
	int error;

	switch (nlsock_ack(&queue->sock.ack, nlh, avail, &error)) {
	case -1:
		stats_inc(queue->stats, STATS_BAD_NETLINK);
		break;
	case 0:
		/* Verdicts are sent unacknowledged; only failures come back. */
		if (error != 0) {
			stats_inc(queue->stats, STATS_VERDICT_ERRORS);
			log_debug("verdict refused: %s", strerror(error));
		}
		break;
	default:
		break;
	}
}

/*
 * Walks the netlink messages of one datagram, the cut last one included:
 * a datagram longer than its buffer arrives cut (the rest is discarded),
 * its whole messages are read as usual, and the cut one still gives its id
 * when its header is there.  The batch hook runs before the first.
 */
static void
handle_datagram(void *arg, const void *buf, size_t len, int cut)
{
	struct queue *queue = arg;
	const struct nlmsghdr *nlh;
	size_t offset = 0, avail;

	if (!queue->batch_started) {
		queue->batch_started = 1;
		if (queue->batch_hook != NULL)
			queue->batch_hook(queue->batch_arg);
	}
	if (cut) {
		stats_inc(queue->stats, STATS_NETLINK_TRUNCATED);
		log_debug("queue datagram longer than %d bytes", QUEUE_MSG_MAX);
	}
	while ((nlh = verdicts_next_message(buf, len, &offset, &avail)) !=
	    NULL) {
		if (nlh->nlmsg_type == NLMSG_ERROR)
			handle_error(queue, nlh, avail);
		else
			handle_packet(queue, nlh, avail);
	}
}

int
queue_process(struct queue *queue)
{
	int n;

	queue->batch_started = 0;
	n = nlsock_receive(&queue->sock, handle_datagram, queue);
	if (n == -ENOBUFS) {
		/* The kernel passed packets fail-open; go on. */
		stats_inc(queue->stats, STATS_ENOBUFS);
		n = 0;
	}
	if (n < 0)
		return n;
	verdicts_flush(queue);
	return n;
}

void
queue_verdict(struct queue *queue, uint32_t id,
    const struct judge_verdict *verdict)
{
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

static int
pump(void *arg)
{
	return queue_process(arg);
}

/* Sends a configuration message and waits for its acknowledgement,
 * handling any packet that arrives meanwhile.  Returns 0 or -errno. */
static int
queue_request(struct queue *queue, struct nlmsghdr *nlh)
{
	return nlsock_request(&queue->sock, nlh, pump, queue);
}

static void
queue_set_rcvbuf(struct queue *queue, uint32_t maxlen)
{
	size_t want = (size_t)maxlen * QUEUE_RCVBUF_PER_PACKET, got;
	int on = 1;

	got = nlsock_set_rcvbuf(&queue->sock, want);
	if (got < want)
		log_warn("receive buffer is %zu bytes, wanted %zu: bursts "
		    "beyond it pass unmarked", got, want);
	/* A full buffer makes the kernel accept fail-open; no error needed. */
	setsockopt(nlsock_fd(&queue->sock), SOL_NETLINK, NETLINK_NO_ENOBUFS,
	    &on, sizeof(on));
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
	verdicts_batch_init(&queue->verdicts, num);
	err = -nlsock_open(&queue->sock, QUEUE_BATCH, QUEUE_MSG_MAX);
	if (err != 0)
		goto fail;
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

/* Reads the kernel's line for the queue; present stays 0 without one. */
static void
queue_kernel_state(const struct queue *queue, struct metrics_kernel_queue *k)
{
	char text[4096];
	size_t n;
	FILE *f;

	memset(k, 0, sizeof(*k));
	f = fopen("/proc/net/netfilter/nfnetlink_queue", "re");
	if (f == NULL)
		return;
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	if (metrics_parse_kernel_queue(text, queue->num, k) < 0)
		k->present = 0;
}

/*
 * Accepts, unchanged, every packet still waiting in the kernel queue: those
 * whose id could not be read and those whose verdicts could not be sent.
 * Once the queue is shrunk to length 0 no packet gets an id any more, so
 * the kernel's id_sequence covers them all.
 */
static void
queue_sweep(struct queue *queue)
{
	uint64_t buf[VERDICTS_MSG_MAX / 8];
	struct metrics_kernel_queue k;
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	uint32_t last_id;
	int err;

	queue_kernel_state(queue, &k);
	if (k.present) {
		if (k.waiting == 0)
			return;
		last_id = k.id_sequence;
	} else if (queue->any_id) {
		last_id = queue->last_id;
	} else {
		return;
	}
	if (verdicts_sweep_message(buf, sizeof(buf), queue->num, last_id) == 0)
		return;
	err = queue_request(queue, nlh);
	if (err == -ENOENT)
		return;
	if (err < 0) {
		log_warn("queue %u: accepting the packets left without a "
		    "verdict: %s", queue->num, strerror(-err));
		return;
	}
	if (!k.present) {
		log_warn("queue %u: packets were left without a verdict (the "
		    "kernel does not say how many); accepted unchanged before "
		    "release", queue->num);
		return;
	}
	queue->stats->counter[STATS_VERDICTS_SWEPT] += k.waiting;
	log_warn("queue %u: %u packets were left without a verdict; accepted "
	    "unchanged before release", queue->num, k.waiting);
}

int
queue_drain(struct queue *queue, int quiet_ms)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct pollfd pfd = {
		.fd = nlsock_fd(&queue->sock),
		.events = POLLIN,
	};
	struct nlmsghdr *nlh;
	int err, drained = 0;

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue->num);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, 0);
	err = queue_request(queue, nlh);
	if (err < 0) {
		/* Still answer what waits; new packets keep coming. */
		queue_process(queue);
		queue_sweep(queue);
		return err;
	}
	/* Packets queued before the change may still be on their way to
	 * the socket: wait for a quiet spell, not just an empty buffer. */
	while (poll(&pfd, 1, quiet_ms) > 0) {
		int n = queue_process(queue);

		if (n < 0) {
			log_warn("queue %u: receiving while draining: %s",
			    queue->num, strerror(-n));
			break;
		}
		drained += n;
	}
	queue_sweep(queue);
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

	if (getsockopt(nlsock_fd(&queue->sock), SOL_SOCKET, SO_MEMINFO,
	    meminfo, &len) < 0 || len <= SK_MEMINFO_DROPS * sizeof(uint32_t))
		return -1;
	return meminfo[SK_MEMINFO_DROPS];
}

int
queue_fd(const struct queue *queue)
{
	return nlsock_fd(&queue->sock);
}

void
queue_close(struct queue *queue)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	if (queue == NULL)
		return;
	if (queue->sock.nl != NULL && queue->sock.portid != 0) {
		nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue->num);
		nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_UNBIND);
		mnl_socket_sendto(queue->sock.nl, nlh, nlh->nlmsg_len);
	}
	nlsock_close(&queue->sock);
	free(queue);
}
