/*
 * One NFQUEUE over libmnl: bind with fail-open in a single acknowledged
 * configuration message, receive packets in batches, send the batch's
 * verdicts in one sendmsg.  It decides nothing: the caller's callback gives
 * each packet its verdict, and a packet it cannot hand over is accepted.
 */
#ifndef DNSMARK_QUEUE_H
#define DNSMARK_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "judge.h"
#include "stats.h"

struct queue;

/* A queued packet as the callback sees it; pointers live until it returns. */
struct queue_packet {
	uint32_t id;
	struct judge_packet pkt;
};

/*
 * Returns the verdict for one packet.  A verdict with defer set is not
 * sent: the callback has kept the packet's id and owes it exactly one
 * queue_verdict() later.
 */
typedef struct judge_verdict (*queue_cb)(const struct queue_packet *packet,
    void *arg);

/*
 * Called once per received batch, after the batch is read and before its
 * first packet reaches the callback: the moment to read other sources of
 * evidence (NFLOG copies, a BPF ring) that the batch's packets may need.
 */
typedef void (*queue_batch_hook)(void *arg);

/*
 * Opens netlink, binds queue number num with copy of whole packets,
 * maximum length maxlen and fail-open, sizes the receive buffer for maxlen
 * packets and asks for conntrack data where the kernel has it.  From then
 * on every packet goes to cb with arg, even those arriving while it binds.
 * Returns the queue or NULL with errno set; logs why.  Free with
 * queue_close().
 */
struct queue *queue_open(uint16_t num, uint32_t maxlen, struct stats *stats,
    queue_cb cb, void *arg);

/* Sets (or with NULL clears) the hook called before each batch. */
void queue_set_batch_hook(struct queue *queue, queue_batch_hook hook,
    void *arg);

/*
 * Adds the verdict for a packet whose callback deferred it; it leaves with
 * the next batch's verdicts or at queue_flush().
 */
void queue_verdict(struct queue *queue, uint32_t id,
    const struct judge_verdict *verdict);

/* Sends the verdicts added since the last batch, in one message. */
void queue_flush(struct queue *queue);

/* Returns non-zero when the kernel attaches conntrack data (NFQA_CT). */
int queue_has_conntrack(const struct queue *queue);

/*
 * Returns how many queued packets the kernel could not put on the socket
 * since it opened (SO_MEMINFO drops: fail-open passed them unmarked), or
 * -1 when the kernel does not say.
 */
long long queue_socket_drops(const struct queue *queue);

/* Returns the socket to poll for input. */
int queue_fd(const struct queue *queue);

/*
 * Receives what the socket holds (without blocking), calls cb for every
 * packet and sends all verdicts in one message.  A packet whose message
 * cannot be read whole (malformed, cut short) but whose id can is accepted
 * unchanged without cb; a full verdict buffer is sent before more are
 * added; a send the kernel refuses for want of memory is retried a few
 * times, then counted (verdicts_unsent).  Returns the number of datagrams
 * handled, 0 when nothing was waiting, or a negative errno for an error
 * the caller cannot survive.  ENOBUFS is counted and survived.
 */
int queue_process(struct queue *queue);

/*
 * Prepares a stop without loss: the kernel drops packets still queued when
 * a queue is released, so first shrink the queue to length 0 (new packets
 * then pass at once, unmarked, through fail-open), then give every packet
 * already queued its verdict, until none has arrived for quiet_ms, and
 * finally accept unchanged, in one batch verdict, whatever the kernel still
 * holds (packets whose id could not be read or whose verdicts could not be
 * sent; counted in verdicts_swept).  Every verdict deferred by the callback
 * must have been given before.  Returns the number of datagrams drained,
 * or a negative errno when the queue could not be shrunk (the caller
 * closes it anyway).
 */
int queue_drain(struct queue *queue, int quiet_ms);

/* Unbinds and closes; queue_close(NULL) does nothing. */
void queue_close(struct queue *queue);

#endif
