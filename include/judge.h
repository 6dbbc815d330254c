/*
 * The per-packet decision: what a queued packet is (client query, upstream
 * query, upstream response, something else) and which mark its verdict
 * carries.  Pure apart from the tables and counters it owns: no sockets,
 * and after judge_init() no allocation.  Every packet gets a verdict;
 * anything it cannot understand is accepted unchanged and counted.
 */
#ifndef DNSMARK_JUDGE_H
#define DNSMARK_JUDGE_H

#include <stddef.h>
#include <stdint.h>

#include "attrib.h"
#include "early.h"
#include "evidence.h"
#include "flows.h"
#include "hold.h"
#include "packet.h"
#include "stats.h"

/* Netfilter hooks as the kernel numbers them (NF_INET_*). */
#define JUDGE_HOOK_LOCAL_IN 1
#define JUDGE_HOOK_LOCAL_OUT 3
#define JUDGE_HOOK_POST_ROUTING 4

struct judge_config {
	size_t max_pending;	/* client questions held at most */
	uint64_t timeout_ms;	/* how long a client question is pending */
	uint64_t recent_ms;	/* how long it is remembered as recent; 0: off */
	struct attrib_policy policy;
	uint32_t mask;
	uint64_t hold_ms;	/* longest wait of a held SYN cause; 0: off */
	uint8_t key[SIPHASH_KEY_LEN];
};

/* Client queries read from one TCP segment, at most (and upstream queries
 * judged in one segment). */
#define JUDGE_MAX_PIPELINED 16
struct judge {
	struct evidence evidence;	/* who asked what (evidence.h) */
	struct stats *stats;
	uint32_t mask;
	struct hold hold;	/* SYN causes let through one at a time */
	struct flows *flows;	/* marks of upstream TCP connections' queries */
	struct early early;	/* upstream queries judged as they were
				 * queued, waiting for their packet */
	/* Told of each client question that came over TCP (bpf mode's
	 * kernel fast path must know of it); NULL: nobody. */
	void (*tcp_question)(void *arg, const struct dns_question *q);
	void *tcp_question_arg;
};

/* One queued packet, as the queue delivered it. */
struct judge_packet {
	uint32_t id;		/* the queue's packet id (for holding) */
	int can_defer;		/* held on the queue: its verdict may wait */
	unsigned int hook;
	const uint8_t *data;	/* the IP packet */
	size_t len;
	uint32_t mark;		/* the packet mark (0 when absent) */
	int has_ct_mark;	/* the kernel attached conntrack data */
	uint32_t ct_mark;
	uint64_t late_ms;	/* a copy: how long after the packet passed it
				 * may have come (the kernel batches them) */
};

struct judge_verdict {
	int set_mark;		/* non-zero: the verdict carries mark */
	uint32_t mark;		/* the whole new packet mark */
	int defer;		/* non-zero: held, its verdict comes later */
};

/*
 * Allocates the tables for config and counts into stats (owned by the
 * caller).  Returns 0 or -ENOMEM; free with judge_free() either way.
 */
int judge_init(struct judge *judge, const struct judge_config *config,
    struct stats *stats);

/* Frees the tables; the struct itself is the caller's. */
void judge_free(struct judge *judge);

/* Returns the bytes all tables allocated. */
size_t judge_memory(const struct judge *judge);

/*
 * Decides the verdict for pkt at now_ms (a monotonic clock), learning from
 * it and counting what it saw.  Always returns a verdict to accept with.
 */
struct judge_verdict judge_packet(struct judge *judge,
    const struct judge_packet *pkt, uint64_t now_ms);

/*
 * Hands back, one per call, the id of a packet judge_packet() deferred
 * whose verdict (accept, unchanged) is due at now_ms.  Returns 1 and sets
 * *id, or 0.
 */
int judge_next_release(struct judge *judge, uint64_t now_ms, uint32_t *id);

/* Returns when judge_next_release() may next have an id (0: not before
 * another packet arrives). */
uint64_t judge_wake_ms(const struct judge *judge);

/* Stops holding: every deferred packet is due now, none is deferred again. */
void judge_stop_holding(struct judge *judge);

/*
 * Remembers a client query that reached dnsmark outside the queue (bpf
 * mode's ring): msg[0..msg_len) is the start of the DNS message, at least
 * its header and question, that info's client sent with mark (info's
 * payload is not read).  Judged as judge_packet() judges a queued client
 * query on LOCAL_IN, counters included.  A response from port 53 to
 * another port is the resolver's answer to the client at info's
 * destination instead (mark unused): it settles that client's question.
 */
void judge_client_message(struct judge *judge, const struct packet_info *info,
    uint32_t mark, const uint8_t *msg, size_t msg_len, uint64_t now_ms);

/* Drops entries older than their tables' timeouts at now_ms. */
/*
 * An upstream query the kernel marked itself with the client mark (bpf
 * mode's fast path), the DNS message msg of msg_len bytes sent as info
 * says: counted and learned from as if dnsmark had marked it.
 */
void judge_upstream_marked(struct judge *judge,
    const struct packet_info *info, uint32_t mark, const uint8_t *msg,
    size_t msg_len, uint64_t now_ms);

/*
 * An upstream server's response the BPF program copied (bpf mode: those
 * not truncated), the DNS message msg of msg_len bytes (partial: only its
 * first bytes) received as info says: learned from as a queued one is.
 */
void judge_upstream_record(struct judge *judge,
    const struct packet_info *info, const uint8_t *msg, size_t msg_len,
    int partial, uint64_t now_ms);

/*
 * An upstream query over UDP the kernel left to the queue, recorded as it
 * was queued (bpf mode's classify program), the DNS message msg of msg_len
 * bytes sent as info says: judged now, as things stood when the resolver
 * sent it, and learned from as a queued one is; its queued packet then
 * gets this result from judge_packet() (counted there, as every queued
 * query is).  A message that is no query is left to the packet.
 */
void judge_upstream_queued(struct judge *judge,
    const struct packet_info *info, const uint8_t *msg, size_t msg_len,
    uint64_t now_ms);

void judge_expire(struct judge *judge, uint64_t now_ms);

/*
 * For the judge's own rooms (tcp.c): the verdict for pkt from result,
 * counted: the client's mark merged into the packet mark, or unchanged.
 */
struct judge_verdict judge_apply(struct judge *judge,
    const struct judge_packet *pkt, const struct attrib_result *result);

/* For tcp.c: counts an upstream query's attribution (reason, marked). */
void judge_count(struct judge *judge, const struct attrib_result *result);

/* For tcp.c: files the question q that info's client asked with mark. */
void judge_client_question(struct judge *judge, const struct packet_info *info,
    uint32_t mark, const struct dns_question *q, uint64_t now_ms);

/* Logs a question at debug level (what, addresses, mark, reason). */
void judge_log_question(const char *what, const struct packet_info *info,
    const struct dns_question *q, uint32_t mark, const char *reason);

/* The client's mark of pkt: its conntrack mark where the kernel gave it. */
static inline uint32_t
judge_client_mark(const struct judge_packet *pkt)
{
	return pkt->has_ct_mark ? pkt->ct_mark : pkt->mark;
}

#endif
