/*
 * The queue's side of "exactly one verdict for every packet whose id can be
 * read": the netlink messages of a received datagram read into packet ids
 * (whole, broken or cut short), and the verdicts of a batch built into one
 * buffer that is sent, never dropped, when it fills.  Reading and building
 * are pure; verdicts_batch_send() writes to the socket it is given and
 * nothing else.
 */
#ifndef DNSMARK_VERDICTS_H
#define DNSMARK_VERDICTS_H

#include <stddef.h>
#include <stdint.h>

#include "judge.h"
#include "stats.h"

struct nlattr;
struct nlmsghdr;

/* Room for one verdict message: header, verdict and mark (40 bytes). */
#define VERDICTS_MSG_MAX 64
/* A batch has room for at least this many verdicts before it is sent. */
#define VERDICTS_BATCH_MAX 64
/* Attempts at sending a batch the kernel is short of memory for. */
#define VERDICTS_SEND_TRIES 6

/* One message of a datagram as verdicts_read_packet() found it. */
enum verdicts_read {
	VERDICTS_READ_PACKET,	/* whole and well formed: judge it */
	VERDICTS_READ_ID_ONLY,	/* its id is readable, not the rest: accept */
	VERDICTS_READ_NO_ID,	/* a packet message without a readable id */
	VERDICTS_READ_OTHER,	/* not a queued packet (an ack, an error) */
};

/* A queued packet's parts; pointers live as long as the message. */
struct verdicts_packet {
	uint32_t id;
	uint8_t hook;
	const uint8_t *payload;	/* NFQA_PAYLOAD, NULL when absent */
	size_t payload_len;
	int has_mark;
	uint32_t mark;		/* NFQA_MARK */
	const struct nlattr *ct;	/* NFQA_CT, NULL when absent */
};

/*
 * Steps through the netlink messages of one datagram of len bytes at buf,
 * from *offset (0 for the first), and moves *offset past the message it
 * returns.  Sets *avail to how many bytes of the message are in the
 * datagram: its whole length, or fewer for a message the datagram ends
 * before (cut by MSG_TRUNC, or a length that overruns it), which is the
 * last one returned.  Returns NULL when no message header is left.
 */
const struct nlmsghdr *verdicts_next_message(const void *buf, size_t len,
    size_t *offset, size_t *avail);

/*
 * Reads one message, of which avail bytes are present, into *packet.  A
 * packet message whose attributes are malformed, that carries no payload,
 * or that was cut short still yields its id (VERDICTS_READ_ID_ONLY) when
 * its NFQA_PACKET_HDR is whole.  *packet is zeroed unless the message is a
 * packet with an id.
 */
enum verdicts_read verdicts_read_packet(const struct nlmsghdr *nlh,
    size_t avail, struct verdicts_packet *packet);

/* The verdicts of a batch, in arrival order, as one datagram to send. */
struct verdicts_batch {
	uint16_t queue_num;
	unsigned int count;	/* verdict messages in buf */
	size_t len;		/* bytes used in buf */
	uint64_t buf[VERDICTS_BATCH_MAX * VERDICTS_MSG_MAX / 8];
};

/* Empties batch for the verdicts of queue number queue_num. */
void verdicts_batch_init(struct verdicts_batch *batch, uint16_t queue_num);

/*
 * Appends the verdict for packet id: ACCEPT, with verdict's mark when it
 * sets one.  Returns 0, or -ENOSPC when the batch is full: send it, then
 * add again.
 */
int verdicts_batch_add(struct verdicts_batch *batch, uint32_t id,
    const struct judge_verdict *verdict);

/*
 * Sends the batch in one datagram on fd (the queue's netlink socket) and
 * empties it.  EINTR is retried at once; ENOBUFS, ENOMEM and EAGAIN (the
 * kernel short of memory) up to VERDICTS_SEND_TRIES times within about
 * 3 ms, each retry counted in verdict_send_retries.  Returns 0, or the
 * negative errno of the last attempt: then the batch's verdicts are counted
 * in verdicts_unsent and their packets wait in the kernel queue for
 * queue_drain()'s sweep.
 */
int verdicts_batch_send(struct verdicts_batch *batch, int fd,
    struct stats *stats);

/*
 * Adds the verdict for packet id to the batch, sending the batch on fd
 * first when it is full, so that no verdict is ever left out.  Returns 0,
 * or what verdicts_batch_send() returned for the batch it had to send.
 */
int verdicts_batch_put(struct verdicts_batch *batch, int fd,
    struct stats *stats, uint32_t id, const struct judge_verdict *verdict);

/*
 * Writes to buf (size bytes, at least VERDICTS_MSG_MAX) one
 * NFQNL_MSG_VERDICT_BATCH that accepts, unchanged, every packet of queue
 * queue_num still waiting with an id up to last_id.  Returns its length, or
 * 0 when buf is too small.
 */
size_t verdicts_sweep_message(void *buf, size_t size, uint16_t queue_num,
    uint32_t last_id);

#endif
