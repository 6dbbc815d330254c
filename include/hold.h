/*
 * Telling concurrent TCP retries apart.  A SYN carries no question: when
 * answers to several clients' questions come back truncated at once, their
 * resolver's TCP retries open connections that look all alike.  So the
 * packets that cause a SYN (a truncated answer on its way to the resolver,
 * a client's TCP query on its way to a forwarder)
 * are let through one at a time: while one cause is open, a cause for
 * another mark is held until the SYN (or a query on a connection already
 * open) of the open one shows up, for as long as the kind's SYNs have
 * lately taken (hold_wait()), at most hold_ms.  The SYN then belongs
 * to the open cause alone; a further SYN is not the hold's to name (a
 * resolver that knows a server truncates sends other clients' questions
 * over TCP at once, no truncated answer before them: Knot Resolver).  A
 * cause of the same client and kind joins the
 * open one, which then waits for one SYN more before giving way.  Without
 * a cause waiting behind it, the open cause stays open longer
 * (HOLD_STALE_MS), for a SYN that comes late.
 * When a cause's SYN is later than that while another waits, the next
 * SYNs are nobody's for sure: they stay unmarked, never wrongly marked,
 * until as many SYNs have come as causes were let through meanwhile (or
 * HOLD_OWED_MS), and a cause opened in that doubt names no SYN at all.
 *
 * A kind of cause that turns out not to be followed by a SYN (a forwarder
 * relays truncated answers to its clients instead of retrying; a recursive
 * resolver answers TCP clients from its cache) stops being held after its
 * first expiry, and is tried again HOLD_RETRY_MS later.
 *
 * Pure: no clock, no sockets, no allocation; the caller passes the time and
 * sends the verdicts of the packet ids hold_next_release() hands back.
 */
#ifndef DNSMARK_HOLD_H
#define DNSMARK_HOLD_H

#include <stddef.h>
#include <stdint.h>

#include "dns.h"
#include "packet.h"

/* Causes held at most; beyond, a cause passes and the SYN stays unnamed. */
#define HOLD_MAX 8
/* An open cause no SYN followed in this long is over even when alone. */
#define HOLD_STALE_MS 250
/*
 * The SYN of a cause that gave way without it is owed this long: until
 * then, or until as many SYNs have come as are owed, no SYN is named.  A
 * forwarder under load forks for a TCP client and sends its SYN later
 * than HOLD_STALE_MS at times (seen in CI: a SYN named by the next
 * client's cause).
 */
#define HOLD_OWED_MS 1000
/* A kind of cause found not followed by SYNs is held again this much later. */
#define HOLD_RETRY_MS 60000
/*
 * How long a cause's SYN took, for the last HOLD_DELAYS SYNs of a kind:
 * the open cause is waited for twice the longest plus HOLD_WAIT_MARGIN_MS,
 * at least HOLD_WAIT_MIN_MS and at most hold_ms (all of hold_ms before the
 * kind's first SYN).  A forwarder that forks for each TCP client sends its
 * SYN 1 to 20 ms after the query on an idle machine, later under load (seen
 * in CI: dnsmasq, two SYNs a run later than 10 ms); a recursive resolver
 * retries a truncated answer within a millisecond.
 */
#define HOLD_DELAYS 8
#define HOLD_WAIT_MIN_MS 10
#define HOLD_WAIT_MARGIN_MS 2
/*
 * The servers a cause's truncated answers came from, at most: the hold
 * names a SYN to one of them only (unbound, BIND and PowerDNS Recursor
 * retry at the address that truncated; Knot Resolver picks an address of
 * the server anew, and opens connections for other clients' questions
 * too, so a SYN elsewhere is left to other evidence).  Beyond, any
 * server's SYN may be its.
 */
#define HOLD_SERVERS 4

enum hold_kind {
	HOLD_TRUNCATED = 0,	/* a truncated answer to the resolver */
	HOLD_TCP_CLIENT,	/* a client's TCP query, to a forwarder */
	HOLD_KINDS,
};

struct hold_cause {
	uint32_t id;		/* the queued packet's id */
	uint32_t mark;		/* the mark its SYN is to carry */
	enum hold_kind kind;
	unsigned int waiting;	/* SYNs (or reused connections) still to come:
				 * 1, plus one for each cause of the same
				 * client and kind that joined it; 0 once
				 * they all came (named) */
	int ambiguous;		/* another mark's cause passed meanwhile */
	uint64_t since_ms;	/* when it arrived, then when let through */
	struct dns_question question;
	/* The servers its truncated answers came from, where its SYNs
	 * go; none, or more than HOLD_SERVERS (a client's TCP query is
	 * counted as that many): any server. */
	unsigned int servers;
	struct packet_endpoint server[HOLD_SERVERS];
};

struct hold_counts {
	uint64_t held;		/* causes held back */
	uint64_t expired;	/* open causes no SYN followed */
	uint64_t named;		/* SYNs (or reused connections) named */
	uint64_t overflow;	/* causes passed with the hold full */
};

struct hold {
	uint64_t hold_ms;	/* the longest wait; 0: never hold */
	int open;
	struct hold_cause current;
	struct hold_cause held[HOLD_MAX];
	size_t head, count;
	int score[HOLD_KINDS];	/* >= 0: this kind is followed by a SYN */
	uint64_t negative_ms[HOLD_KINDS];	/* when the score fell below 0 */
	/*
	 * After a cause gave way without its SYN, that SYN may still come,
	 * late: the causes let through since are in the same uncertainty.
	 * owed counts the SYNs that may still come from them; until they
	 * have come (or owed_until_ms), no SYN is named.
	 */
	unsigned int owed;
	uint64_t owed_until_ms;
	/* When the first cause owed was let through, and its kind: an owed
	 * SYN took at most this long (timed: known). */
	int owed_timed;
	enum hold_kind owed_kind;
	uint64_t owed_since_ms;
	/* The kind's latest SYN delays, a ring; delay_count counts all. */
	uint32_t delay_ms[HOLD_KINDS][HOLD_DELAYS];
	unsigned int delay_count[HOLD_KINDS];
	uint32_t release[HOLD_MAX];
	size_t release_count;
	struct hold_counts counts;
};

/* Starts empty; hold_ms 0 turns holding off. */
void hold_init(struct hold *hold, uint64_t hold_ms);

/*
 * A cause for mark arrived as packet id: a truncated answer for q from
 * server, or a client's TCP query for q (server NULL: its SYN may go to any
 * server).  Returns 1 when it is held (the caller defers its verdict:
 * hold_next_release() hands the id back), 0 when it passes now.
 */
int hold_cause(struct hold *hold, enum hold_kind kind, uint32_t id,
    uint32_t mark, const struct dns_question *q,
    const struct packet_endpoint *server, uint64_t now_ms);

/*
 * An upstream SYN to server left.  Returns 1 with its mark in *mark when
 * the open cause names it, -1 when it may be any of several causes' (no
 * other evidence may name it then), else 0.  A SYN to a server none of
 * the open cause's truncated answers came from is not the cause's (0).
 */
int hold_syn(struct hold *hold, const struct packet_endpoint *server,
    uint64_t now_ms, uint32_t *mark);

/*
 * Returns 1 and sets *mark to the open cause's mark when a cause is open
 * and no SYN is in doubt (whether its SYNs came or not), else 0: whom the
 * resolver works for over TCP at the moment, after hold_syn().
 */
int hold_open_mark(const struct hold *hold, uint32_t *mark);

/*
 * A TCP query for q left on a connection already open (a resolver that
 * reuses connections sends no SYN): it settles the open cause if that
 * cause was for q.
 */
void hold_query(struct hold *hold, const struct dns_question *q,
    uint64_t now_ms);

/*
 * Hands back, one per call, the id of a held packet whose turn came (or
 * whose wait is over at now_ms).  Returns 1 and sets *id, or 0.
 */
int hold_next_release(struct hold *hold, uint64_t now_ms, uint32_t *id);

/* How long a held cause waits for the SYN of an open cause of kind. */
uint64_t hold_wait(const struct hold *hold, enum hold_kind kind);

/* Returns when a held cause's wait ends (the time to wake), or 0. */
uint64_t hold_deadline(const struct hold *hold);

/* Lets everything go (stopping): every held id comes back from
 * hold_next_release(), and no cause is held from now on. */
void hold_stop(struct hold *hold);

#endif
