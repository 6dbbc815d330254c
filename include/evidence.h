/*
 * The evidence: what dnsmark knows of who asked what, kept in tables of
 * asks (asks.h), and the lookups that name the client behind an upstream
 * query or an upstream TCP connection.  Pure apart from the tables and
 * counters it owns: no sockets, and after evidence_init() no allocation.
 *
 * The tables, each of (question) -> marks:
 * pending	the questions clients asked, for timeout_ms, until answered;
 * ancestors	each such name and its ancestors but the root (type 0);
 * learned	CNAME targets and referral NS names (and their ancestors)
 *		from responses to marked upstream queries (type 0);
 * inflight	the upstream queries dnsmark marked, with their DNS id;
 * recent	the questions clients asked, for recent_ms;
 * and three that hold one entry per mark (the key stands for the mark):
 * truncated	the marks whose queries were answered truncated in the last
 *		EVIDENCE_TRUNCATED_MS (not by server: a resolver may retry at
 *		another address of the server);
 * tcp_clients	marks that asked over TCP in the last EVIDENCE_TCP_CLIENT_MS
 *		and were not answered yet (a forwarder such as dnsmasq
 *		forwards their questions over a TCP connection of its own,
 *		opened at once);
 * askers	every mark that asked, or had a query or connection sent
 *		upstream for it, in the last EVIDENCE_ASKERS_MS;
 * and the CNAMEs upstream answers showed (cnames.h), CNAMES_KEEP_MS long:
 * a client's question whose name is one files the targets under learned
 * for its mark (the resolver follows its cached CNAME, asks the target).
 *
 * Who is waiting decides: in pending and ancestors, a client counts as
 * waiting while it asked less than EVIDENCE_WAIT_MS ago (a resolver answers
 * from its cache faster than that) or a query it leads to went upstream
 * with its mark less than EVIDENCE_ENGAGED_MS ago.  Where clients wait, only
 * their marks count; where nobody waits (prefetch, serve-expired, a client
 * whose question joined another's), every client who asked does.  An
 * The resolver's answers to its clients, where dnsmark sees them, settle
 * the client's question and the names on the way to it: an answered
 * client no longer counts as waiting, however recently it asked (a cache
 * hit is answered within a millisecond), once EVIDENCE_ANSWERED_GRACE_MS
 * have passed; within it, it counts only where no client not yet answered
 * waits.  While answers are seen, a
 * question's upstream answer leaves it pending: the client's answer, a
 * moment later, settles it.  A mark whose every question was answered (or
 * timed out) waits nowhere, whatever its times say.  An
 * answered question's name and ancestors go to validating for
 * EVIDENCE_VALIDATING_MS, where their DS and DNSKEY find the client
 * waiting: a validating resolver asks them before the client has its
 * answer.
 */
#ifndef DNSMARK_EVIDENCE_H
#define DNSMARK_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

#include "asks.h"
#include "cnames.h"
#include "attrib.h"
#include "packet.h"
#include "response.h"
#include "stats.h"

#define EVIDENCE_TCP_CLIENT_MS 250
/* Clients who asked (or were worked for) this recently count for the
 * last-resort single mark. */
#define EVIDENCE_ASKERS_MS 1000
/* Resolvers retry a truncated answer over TCP at once. */
#define EVIDENCE_TRUNCATED_MS 1500
/* A client asked this recently: it may not have had its answer yet. */
#define EVIDENCE_WAIT_MS 100
/* A query went upstream for a client this recently: it is still waiting. */
#define EVIDENCE_ENGAGED_MS 1000
/*
 * An answered client still waits this long on its question's name and the
 * names on the way to it: a resolver that served an expired record, or
 * prefetches one, asks upstream in the moment after the answer.
 */
#define EVIDENCE_ANSWERED_GRACE_MS 10
/* Of clients answered a moment ago, the one answered last by this much
 * more than any other is the one the resolver works for. */
#define EVIDENCE_ANSWER_LEAD_MS 2
/* After an answer, its validation's DS and DNSKEY queries follow. */
#define EVIDENCE_VALIDATING_MS 1000

struct evidence {
	struct asks *pending;
	struct asks *ancestors;
	struct asks *learned;
	struct asks *inflight;
	struct asks *recent;
	struct asks *truncated;	/* questions answered truncated, by mark,
				 * until their TCP retry is seen */
	struct asks *truncating; /* servers that sent a truncated answer */
	struct asks *tcp_clients;
	struct asks *askers;
	struct cnames *cnames;	/* CNAMEs upstream answers showed */
	struct asks *validating; /* answered names and ancestors (type 0) */
	struct asks *unanswered; /* one entry a mark: its questions that no
				  * answer, expiry or eviction ended yet */
	struct stats *stats;
	struct attrib_policy policy;
	uint64_t timeout_ms;
	uint64_t evicted_ms;	/* when a live entry was last evicted; 0: never */
	uint64_t answered_ms;	/* when an answer to a client was last seen */
	struct response_facts facts;	/* scratch space for one response */
};

/* What evidence_response() made of an upstream response. */
enum evidence_response {
	EVIDENCE_UNMATCHED = 0,	/* not an answer to a query dnsmark marked */
	EVIDENCE_BAD,		/* such an answer, but it could not be walked */
	EVIDENCE_LEARNED,	/* walked and learned from */
};

/*
 * Allocates the tables for max_pending client questions (the other tables
 * are sized from it), questions pending timeout_ms and recent recent_ms (0:
 * no recent table), hashed under key, counting into stats (the caller's).
 * Returns 0 or -ENOMEM; free with evidence_free() either way.
 */
int evidence_init(struct evidence *ev, size_t max_pending,
    uint64_t timeout_ms, uint64_t recent_ms,
    const struct attrib_policy *policy, const uint8_t key[SIPHASH_KEY_LEN],
    struct stats *stats);

/* Frees the tables; the struct itself is the caller's. */
void evidence_free(struct evidence *ev);

/* Returns the bytes all tables allocated. */
size_t evidence_memory(const struct evidence *ev);

/* Drops entries older than their tables' timeouts at now_ms. */
void evidence_expire(struct evidence *ev, uint64_t now_ms);

/*
 * Files the question q that the client at info's source asked with mark
 * (over TCP when info says so).
 */
void evidence_client_question(struct evidence *ev,
    const struct packet_info *info, const struct dns_question *q,
    uint32_t mark, uint64_t now_ms);

/*
 * The resolver answered q (the question its answer echoes, with the
 * client's DNS id) to the client at info's destination: that client's
 * pending question, if dnsmark holds it, is released, and the names on the
 * way to it no longer count the client as waiting.
 */
void evidence_client_answer(struct evidence *ev,
    const struct packet_info *info, const struct dns_question *q,
    uint64_t now_ms);

/*
 * Names the client behind an upstream query for q: the strongest evidence
 * that names any client decides (the question itself, a name on the way to
 * it, a learned name, a recent question, the only mark), conflict policy
 * included.  A mark it names counts as engaged on that evidence.
 */
struct attrib_result evidence_attribute(struct evidence *ev,
    const struct dns_question *q, uint64_t now_ms);

/*
 * The kernel marked an upstream query for q with the client mark itself
 * (the fast path: the clients of that mark alone waited for q): the same
 * as evidence_attribute() naming mark, then evidence_sent().
 */
void evidence_marked_by_kernel(struct evidence *ev,
    const struct packet_info *info, const struct dns_question *q,
    uint32_t mark, uint64_t now_ms);

/*
 * Remembers that the query q, from info's source to its destination, left
 * with the client mark, to learn from its response.
 */
void evidence_sent(struct evidence *ev, const struct packet_info *info,
    const struct dns_question *q, uint32_t mark, uint64_t now_ms);

/*
 * Learns from an upstream response msg[0..msg_len) (partial: only the
 * start of it) with question q: CNAME targets and name servers, filed for
 * the mark of the query it answers; a final answer releases that mark's
 * question and files its name and ancestors as validating (a validating
 * resolver asks their DS and DNSKEY records next).  Sets *mark to that mark and *truncated when the answer was
 * truncated.
 */
enum evidence_response evidence_response(struct evidence *ev,
    const struct packet_info *info, const struct dns_question *q,
    const uint8_t *msg, size_t msg_len, int partial, uint64_t now_ms,
    uint32_t *mark, int *truncated);

/*
 * An upstream TCP query for q left (on a new connection or one already
 * open): the retry of q's truncated answers is out, and they name no
 * further SYN.
 */
void evidence_retried(struct evidence *ev, const struct dns_question *q);

/*
 * Names the client behind an upstream SYN to server from what it has apart
 * from the hold: the marks whose answers came truncated and whose retry
 * was not seen yet (only when server itself sent a truncated answer: a
 * resolver opens connections for other reasons too, Knot Resolver to a
 * server that answered nothing truncated, or that truncated before)
 * and, with tcp_clients, the marks that asked over TCP, together (one
 * mark, or the conflict policy).  Without them, the mark of the hold's
 * open cause (worked_for, or NULL) when its clients are the only ones
 * whose questions are not answered (nor timed out) yet: its retry went on
 * a connection held, and the resolver opens another for the same client's
 * next question, over TCP at once (Knot Resolver).  Or else the only mark.
 * The caller leaves tcp_clients 0 where client TCP queries were found not
 * followed by SYNs (a recursive resolver: hold.h).
 */
struct attrib_result evidence_syn(struct evidence *ev,
    const struct packet_endpoint *server, int tcp_clients,
    const uint32_t *worked_for, uint64_t now_ms);

#endif
