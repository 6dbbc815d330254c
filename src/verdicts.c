/*
 * Packet ids out of the queue's netlink messages, and verdicts into one
 * buffer per batch.  A packet whose id can be read gets a verdict even when
 * the rest of its message cannot be read: the kernel drops packets left
 * queued when dnsmark unbinds.  Nothing here allocates; only
 * verdicts_batch_send() touches a socket, the one it is given.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>

#include "verdicts.h"

/* The attributes start after the netlink and nfnetlink headers. */
#define VERDICTS_ATTRS_OFFSET \
	(MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg)))

_Static_assert(VERDICTS_ATTRS_OFFSET +
    MNL_ATTR_HDRLEN + MNL_ALIGN(sizeof(struct nfqnl_msg_verdict_hdr)) +
    MNL_ATTR_HDRLEN + MNL_ALIGN(sizeof(uint32_t)) <= VERDICTS_MSG_MAX,
    "a verdict with a mark must fit VERDICTS_MSG_MAX");
_Static_assert(VERDICTS_MSG_MAX % 8 == 0, "verdicts must stay aligned");

/* First retry delay; it doubles: 100 + 200 + ... + 1600 us = 3.1 ms. */
#define VERDICTS_RETRY_FIRST_US 100

const struct nlmsghdr *
verdicts_next_message(const void *buf, size_t len, size_t *offset,
    size_t *avail)
{
	const struct nlmsghdr *nlh;
	size_t left;

	if (*offset >= len || len - *offset < sizeof(struct nlmsghdr)) {
		*offset = len;
		return NULL;
	}
	nlh = (const struct nlmsghdr *)((const uint8_t *)buf + *offset);
	left = len - *offset;
	if (nlh->nlmsg_len < sizeof(struct nlmsghdr) || nlh->nlmsg_len > left) {
		/* Cut short, or a length no walk can follow: the last one. */
		*avail = left;
		*offset = len;
		return nlh;
	}
	*avail = nlh->nlmsg_len;
	*offset += MNL_ALIGN(nlh->nlmsg_len);
	if (*offset > len)
		*offset = len;
	return nlh;
}

enum verdicts_read
verdicts_read_packet(const struct nlmsghdr *nlh, size_t avail,
    struct verdicts_packet *packet)
{
	struct nfqnl_msg_packet_hdr ph = { 0 };
	const struct nlattr *attr;
	size_t len;
	int left, has_header = 0, broken = 0;

	memset(packet, 0, sizeof(*packet));
	if (avail < sizeof(*nlh))
		return VERDICTS_READ_NO_ID;
	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_QUEUE ||
	    NFNL_MSG_TYPE(nlh->nlmsg_type) != NFQNL_MSG_PACKET)
		return VERDICTS_READ_OTHER;
	len = nlh->nlmsg_len < avail ? nlh->nlmsg_len : avail;
	if (len < VERDICTS_ATTRS_OFFSET)
		return VERDICTS_READ_NO_ID;

	/* Walk the attributes as far as the bytes present allow: the kernel
	 * puts NFQA_PACKET_HDR first and the payload last, so a message cut
	 * short usually still has its id. */
	attr = (const struct nlattr *)((const uint8_t *)nlh +
	    VERDICTS_ATTRS_OFFSET);
	left = (int)(len - VERDICTS_ATTRS_OFFSET);
	while (mnl_attr_ok(attr, left)) {
		size_t payload_len = mnl_attr_get_payload_len(attr);

		switch (mnl_attr_get_type(attr)) {
		case NFQA_PACKET_HDR:
			if (payload_len < sizeof(ph)) {
				broken = 1;
				break;
			}
			memcpy(&ph, mnl_attr_get_payload(attr), sizeof(ph));
			has_header = 1;
			break;
		case NFQA_MARK:
			if (payload_len != sizeof(uint32_t)) {
				broken = 1;
				break;
			}
			packet->has_mark = 1;
			packet->mark = ntohl(mnl_attr_get_u32(attr));
			break;
		case NFQA_PAYLOAD:
			packet->payload = mnl_attr_get_payload(attr);
			packet->payload_len = payload_len;
			break;
		case NFQA_CT:
			packet->ct = attr;
			break;
		default:
			break;
		}
		left -= (int)MNL_ALIGN(attr->nla_len);
		attr = mnl_attr_next(attr);
	}
	/* What is left must be padding; anything longer is an attribute
	 * whose length does not fit. */
	if (left >= (int)MNL_ATTR_HDRLEN)
		broken = 1;
	if (!has_header) {
		memset(packet, 0, sizeof(*packet));
		return VERDICTS_READ_NO_ID;
	}
	packet->id = ntohl(ph.packet_id);
	packet->hook = ph.hook;
	if (broken || avail < nlh->nlmsg_len || packet->payload == NULL)
		return VERDICTS_READ_ID_ONLY;
	return VERDICTS_READ_PACKET;
}

/* Starts a queue message of type (NFQNL_MSG_*) for queue_num at buf. */
static struct nlmsghdr *
message_put(void *buf, uint8_t type, uint16_t queue_num)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | type;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(queue_num);
	return nlh;
}

static void
verdict_header_put(struct nlmsghdr *nlh, uint32_t id)
{
	struct nfqnl_msg_verdict_hdr vh = {
		.verdict = htonl(NF_ACCEPT),
		.id = htonl(id),
	};

	mnl_attr_put(nlh, NFQA_VERDICT_HDR, sizeof(vh), &vh);
}

void
verdicts_batch_init(struct verdicts_batch *batch, uint16_t queue_num)
{
	batch->queue_num = queue_num;
	batch->count = 0;
	batch->len = 0;
}

int
verdicts_batch_add(struct verdicts_batch *batch, uint32_t id,
    const struct judge_verdict *verdict)
{
	struct nlmsghdr *nlh;

	if (batch->len + VERDICTS_MSG_MAX > sizeof(batch->buf))
		return -ENOSPC;
	nlh = message_put((uint8_t *)batch->buf + batch->len,
	    NFQNL_MSG_VERDICT, batch->queue_num);
	verdict_header_put(nlh, id);
	if (verdict->set_mark)
		mnl_attr_put_u32(nlh, NFQA_MARK, htonl(verdict->mark));
	batch->len += MNL_ALIGN(nlh->nlmsg_len);
	batch->count++;
	return 0;
}

/* Returns non-zero for a send error that a short wait may cure. */
static int
send_error_passes(int err)
{
	return err == ENOBUFS || err == ENOMEM || err == EAGAIN ||
	    err == EWOULDBLOCK;
}

int
verdicts_batch_send(struct verdicts_batch *batch, int fd, struct stats *stats)
{
	long wait_us = VERDICTS_RETRY_FIRST_US;
	int tries = 0, err = 0;

	if (batch->len == 0)
		return 0;
	for (;;) {
		/* Unconnected netlink sends to the kernel (port 0). */
		if (send(fd, batch->buf, batch->len, MSG_DONTWAIT) >= 0) {
			err = 0;
			break;
		}
		err = errno;
		if ((err != EINTR && !send_error_passes(err)) ||
		    ++tries >= VERDICTS_SEND_TRIES)
			break;
		stats_inc(stats, STATS_VERDICT_SEND_RETRIES);
		if (err == EINTR)
			continue;
		nanosleep(&(struct timespec){ .tv_nsec = wait_us * 1000 }, NULL);
		wait_us *= 2;
	}
	if (err != 0)
		stats->counter[STATS_VERDICTS_UNSENT] += batch->count;
	batch->count = 0;
	batch->len = 0;
	return -err;
}

int
verdicts_batch_put(struct verdicts_batch *batch, int fd, struct stats *stats,
    uint32_t id, const struct judge_verdict *verdict)
{
	int err;

	if (verdicts_batch_add(batch, id, verdict) == 0)
		return 0;
	err = verdicts_batch_send(batch, fd, stats);
	/* Sent or given up, the batch is empty now and has room. */
	verdicts_batch_add(batch, id, verdict);
	return err;
}

size_t
verdicts_sweep_message(void *buf, size_t size, uint16_t queue_num,
    uint32_t last_id)
{
	struct nlmsghdr *nlh;

	if (size < VERDICTS_MSG_MAX)
		return 0;
	nlh = message_put(buf, NFQNL_MSG_VERDICT_BATCH, queue_num);
	verdict_header_put(nlh, last_id);
	return nlh->nlmsg_len;
}
