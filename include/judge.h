/*
 * The per-packet decision: what a queued packet is (client query, upstream
 * query, upstream response, something else) and which mark its verdict
 * carries.  Pure apart from the pending table and counters it is given:
 * no sockets, no allocation.  Every packet gets a verdict; anything it
 * cannot understand is accepted unchanged and counted.
 */
#ifndef DNSMARK_JUDGE_H
#define DNSMARK_JUDGE_H

#include <stddef.h>
#include <stdint.h>

#include "attrib.h"
#include "pending.h"
#include "stats.h"

/* Netfilter hooks as the kernel numbers them (NF_INET_*). */
#define JUDGE_HOOK_LOCAL_IN 1
#define JUDGE_HOOK_LOCAL_OUT 3

struct judge {
	struct pending_table *pending;
	struct stats *stats;
	struct attrib_policy policy;
	uint32_t mask;
};

/* One queued packet, as the queue delivered it. */
struct judge_packet {
	unsigned int hook;
	const uint8_t *data;	/* the IP packet */
	size_t len;
	uint32_t mark;		/* the packet mark (0 when absent) */
	int has_ct_mark;	/* the kernel attached conntrack data */
	uint32_t ct_mark;
};

struct judge_verdict {
	int set_mark;		/* non-zero: the verdict carries mark */
	uint32_t mark;		/* the whole new packet mark */
};

/*
 * Decides the verdict for pkt at now_ms, remembering client questions and
 * counting what it saw.  Always returns a verdict to accept with.
 */
struct judge_verdict judge_packet(struct judge *judge,
    const struct judge_packet *pkt, uint64_t now_ms);

/* Drops client questions older than the timeout at now_ms and counts them. */
void judge_expire(struct judge *judge, uint64_t now_ms);

#endif
