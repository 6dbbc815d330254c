/*
 * One NFLOG group over libmnl: bind it with the batching dnsmark wants,
 * receive its copies in batches, and flush the kernel's buffer on demand
 * by sending a marker packet the rules copy with a threshold of 1.  It
 * decides nothing: each copy goes to the caller's callback, which only
 * learns from it (a copy has no verdict).
 */
#ifndef DNSMARK_NFLOG_H
#define DNSMARK_NFLOG_H

#include <stdint.h>

#include "judge.h"
#include "source.h"
#include "stats.h"

/*
 * The kernel sends a group's copies when NFLOG_QTHRESH have gathered or
 * NFLOG_TIMEOUT_MS after the first, whichever comes first: one message per
 * batch, not per copy.  A flush waits at most NFLOG_FLUSH_WAIT_US for its
 * marker.
 */
#define NFLOG_QTHRESH 32
#define NFLOG_TIMEOUT_MS 10
#define NFLOG_FLUSH_WAIT_US 2000

struct nflog;

/* How a group's copies come. */
enum nflog_delivery {
	/* In batches (NFLOG_QTHRESH, NFLOG_TIMEOUT_MS), flushed on demand
	 * through a marker socket (nflog_flush()): observe mode's client
	 * queries, read before each batch of upstream queries. */
	NFLOG_BATCHED,
	/* Each copy as its packet passes, no marker socket: queue mode's
	 * answers to clients, whose copies must be in the socket before the
	 * upstream query that follows them is read from the queue. */
	NFLOG_IMMEDIATE,
};

/* Called for every copy but markers; pointers live until it returns. */
typedef void (*nflog_cb)(const struct judge_packet *pkt, void *arg);

/*
 * Opens netlink, binds group with whole-packet copies (the rules' sizes cut
 * them), the delivery's batching and sequence numbers in one acknowledged
 * message, asks for conntrack data where the kernel has it, sizes the
 * receive buffer and, for NFLOG_BATCHED, opens the marker socket (without
 * it nflog_flush() says -ENOTSUP).  Returns the group or NULL with errno
 * set; logs why.  Free with nflog_close().
 */
struct nflog *nflog_open(uint16_t group, struct stats *stats, nflog_cb cb,
    void *arg, enum nflog_delivery delivery);

/* Returns the socket to poll for copies. */
int nflog_fd(const struct nflog *nflog);

/*
 * Reads every copy waiting (without blocking) and hands each to the
 * callback.  Returns the number of copies, or a negative errno for an
 * error the caller cannot survive; ENOBUFS is counted and survived (the
 * lost copies count in nflog_lost from the sequence numbers).
 */
int nflog_receive(struct nflog *nflog);

/*
 * Makes the kernel send what its buffer holds for the group and reads it
 * all: sends one marker, then reads until the marker's copy arrives or
 * NFLOG_FLUSH_WAIT_US pass.  Every copy logged before the call has then
 * reached the callback.  Returns 0, -ETIMEDOUT (counted) or another
 * negative errno.
 */
int nflog_flush(struct nflog *nflog);

/* Unbinds and closes; nflog_close(NULL) does nothing. */
void nflog_close(struct nflog *nflog);

/*
 * Opens the group as source (include/source.h): flushed before each
 * queued batch when batched, read as it comes either way.  Returns 0, or
 * -1 with errno and the reason logged, source left as it was.
 */
int nflog_source(struct source *source, uint16_t group, struct stats *stats,
    nflog_cb cb, void *arg, enum nflog_delivery delivery);

#endif
