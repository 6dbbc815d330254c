/*
 * One open cause at a time, the others of other marks waiting in a small
 * ring (hold.h).  The open cause names the SYNs it waits for (one, and one
 * more for each cause of its client and kind that joined it) and no
 * further one; it gives way to another mark's cause at once when they
 * came, after the kind's wait (hold_wait()) when they did not, and in any
 * case after HOLD_STALE_MS.  Each SYN named tells how long its kind's SYNs
 * take.
 *
 * A cause that gave way without its SYN may still send it, late, so from
 * then on SYNs are counted, not named (owed), until every cause let through
 * meanwhile may have had its SYN; a cause opened meanwhile names none.
 *
 * A kind's score counts whether its causes are followed by SYNs here: it
 * drops when a cause of the kind goes stale without one, or when the same
 * client's cause of another kind comes first (a forwarder's client retries
 * over TCP after the truncated answer); a kind below zero is neither
 * opened nor held (its causes pass at once) until HOLD_RETRY_MS later.
 */
#include <string.h>
#include <sys/socket.h>

#include "hold.h"

#define HOLD_SCORE_MIN (-1)
#define HOLD_SCORE_MAX 2

void
hold_init(struct hold *hold, uint64_t hold_ms)
{
	memset(hold, 0, sizeof(*hold));
	hold->hold_ms = hold_ms;
}

static int
same_question(const struct dns_question *a, const struct dns_question *b)
{
	return a->qtype == b->qtype && a->qclass == b->qclass &&
	    a->name_len == b->name_len &&
	    memcmp(a->name, b->name, a->name_len) == 0;
}

static int
same_server(const struct packet_endpoint *a, const struct packet_endpoint *b)
{
	size_t len = a->family == AF_INET ? 4 : 16;

	return a->family == b->family && a->port == b->port &&
	    memcmp(a->addr, b->addr, len) == 0;
}

/* Whether server is one of those the cause keeps. */
static int
has_server(const struct hold_cause *cause,
    const struct packet_endpoint *server)
{
	for (unsigned int i = 0; i < cause->servers && i < HOLD_SERVERS; i++)
		if (same_server(&cause->server[i], server))
			return 1;
	return 0;
}

/*
 * Adds a server the cause's SYN may go to: a truncated answer's, or NULL
 * for any (a client's TCP query).  Past HOLD_SERVERS, any server too.
 */
static void
add_server(struct hold_cause *cause, const struct packet_endpoint *server)
{
	if (cause->servers > HOLD_SERVERS)
		return;
	if (server == NULL) {
		cause->servers = HOLD_SERVERS + 1;
		return;
	}
	if (has_server(cause, server))
		return;
	if (cause->servers < HOLD_SERVERS)
		cause->server[cause->servers] = *server;
	cause->servers++;
}

/*
 * Whether a SYN to server may be cause's: its truncated answers' servers,
 * any server for a client's TCP query (or a cause of more servers than it
 * keeps).
 */
static int
syn_server_fits(const struct hold_cause *cause,
    const struct packet_endpoint *server)
{
	return server == NULL || cause->servers == 0 ||
	    cause->servers > HOLD_SERVERS || has_server(cause, server);
}

static void
release_id(struct hold *hold, uint32_t id)
{
	/* Held plus released never exceed HOLD_MAX (hold_cause()). */
	if (hold->release_count < HOLD_MAX)
		hold->release[hold->release_count++] = id;
}

static struct hold_cause *
pop_held(struct hold *hold)
{
	struct hold_cause *cause = &hold->held[hold->head];

	hold->head = (hold->head + 1) % HOLD_MAX;
	hold->count--;
	return cause;
}

static void
score_down(struct hold *hold, enum hold_kind kind, uint64_t now_ms)
{
	if (hold->score[kind] > HOLD_SCORE_MIN)
		hold->score[kind]--;
	if (hold->score[kind] < 0)
		hold->negative_ms[kind] = now_ms;
}

/* The open cause's SYNs all came (or may have). */
static int
named(const struct hold *hold)
{
	return hold->current.waiting == 0;
}

/* A SYN of kind came delay_ms after its cause was let through. */
static void
add_delay(struct hold *hold, enum hold_kind kind, uint64_t delay_ms)
{
	unsigned int slot = hold->delay_count[kind] % HOLD_DELAYS;

	hold->delay_ms[kind][slot] = delay_ms > UINT32_MAX ?
	    UINT32_MAX : (uint32_t)delay_ms;
	hold->delay_count[kind]++;
}

uint64_t
hold_wait(const struct hold *hold, enum hold_kind kind)
{
	unsigned int have = hold->delay_count[kind] < HOLD_DELAYS ?
	    hold->delay_count[kind] : HOLD_DELAYS;
	uint64_t longest = 0, wait;

	if (have == 0)
		return hold->hold_ms;
	for (unsigned int i = 0; i < have; i++)
		if (hold->delay_ms[kind][i] > longest)
			longest = hold->delay_ms[kind][i];
	wait = 2 * longest + HOLD_WAIT_MARGIN_MS;
	if (wait < HOLD_WAIT_MIN_MS)
		wait = HOLD_WAIT_MIN_MS;
	return wait < hold->hold_ms ? wait : hold->hold_ms;
}

/* One more SYN may come that nobody can be sure of. */
static void
owe(struct hold *hold, uint64_t now_ms)
{
	if (hold->owed == 0)
		hold->owed_timed = 0;
	hold->owed++;
	hold->owed_until_ms = now_ms + HOLD_OWED_MS;
}

/* Opens cause, let through now.  While SYNs are owed, it is one more
 * cause whose SYN nobody can tell. */
static void
open_cause(struct hold *hold, const struct hold_cause *cause, uint64_t now_ms)
{
	hold->current = *cause;
	hold->current.since_ms = now_ms;
	hold->current.waiting = 1;
	hold->open = 1;
	if (hold->owed > 0) {
		hold->current.ambiguous = 1;
		owe(hold, now_ms);
	}
}

/* Lets the next held cause through and opens it; causes of a kind no
 * longer followed by SYNs are let through without opening. */
static void
open_next(struct hold *hold, uint64_t now_ms)
{
	while (hold->count > 0 && !hold->open) {
		struct hold_cause *next = pop_held(hold);

		release_id(hold, next->id);
		if (hold->score[next->kind] >= 0)
			open_cause(hold, next, now_ms);
	}
}

/*
 * The open cause gives its place up.  Stale without a SYN, its kind scores
 * down; giving way to a waiting cause without a SYN, its SYN is owed.
 */
static void
close_current(struct hold *hold, int stale, uint64_t now_ms)
{
	if (!named(hold)) {
		hold->counts.expired++;
		if (stale)
			score_down(hold, hold->current.kind, now_ms);
		else if (!hold->current.ambiguous) {
			int first = hold->owed == 0;

			for (unsigned int i = 0; i < hold->current.waiting; i++)
				owe(hold, now_ms);
			if (first) {
				hold->owed_timed = 1;
				hold->owed_kind = hold->current.kind;
				hold->owed_since_ms = hold->current.since_ms;
			}
		}
	}
	hold->open = 0;
	open_next(hold, now_ms);
}

/* One of the SYNs the open cause waits for came (or may have). */
static void
syn_seen(struct hold *hold, uint64_t now_ms)
{
	if (hold->current.waiting > 0)
		hold->current.waiting--;
	if (!named(hold))
		return;
	/* Its SYNs are out: a waiting cause may go now. */
	if (hold->count > 0)
		close_current(hold, 0, now_ms);
}

/* The open cause was followed by a SYN (or a reused connection). */
static void
name_current(struct hold *hold, uint64_t now_ms)
{
	if (!named(hold)) {
		if (hold->score[hold->current.kind] < HOLD_SCORE_MAX)
			hold->score[hold->current.kind]++;
		/* A SYN awaited: how long its kind takes.  A further one,
		 * after the cause's own came, says nothing of that. */
		add_delay(hold, hold->current.kind,
		    now_ms - hold->current.since_ms);
	}
	hold->counts.named++;
	syn_seen(hold, now_ms);
}

/*
 * The open cause's time is over when the first cause waiting behind it has
 * waited the open kind's wait (no packet is held longer than hold_ms), or
 * when it is stale.  Alone,
 * it stays open: a SYN late (a forwarder forks for each TCP client first)
 * is still its own.
 */
static void
advance(struct hold *hold, uint64_t now_ms)
{
	if (hold->owed > 0 && now_ms >= hold->owed_until_ms)
		hold->owed = 0;
	while (hold->open) {
		if (now_ms - hold->current.since_ms >= HOLD_STALE_MS)
			close_current(hold, 1, now_ms);
		else if (hold->count > 0 &&
		    now_ms - hold->held[hold->head].since_ms >=
		    hold_wait(hold, hold->current.kind))
			close_current(hold, 0, now_ms);
		else
			break;
	}
}

int
hold_cause(struct hold *hold, enum hold_kind kind, uint32_t id,
    uint32_t mark, const struct dns_question *q,
    const struct packet_endpoint *server, uint64_t now_ms)
{
	struct hold_cause *slot, cause = {
		.id = id, .mark = mark, .kind = kind, .since_ms = now_ms,
		.question = *q,
	};

	advance(hold, now_ms);
	if (hold->hold_ms == 0)
		return 0;
	/* A kind found not followed by SYNs is tried again after a while. */
	if (hold->score[kind] < 0 &&
	    now_ms - hold->negative_ms[kind] >= HOLD_RETRY_MS)
		hold->score[kind] = 0;
	if (hold->score[kind] < 0) {
		/* Believed not to cause a SYN, but another client's: an open
		 * cause that had its SYN owns no further one. */
		if (hold->open && named(hold) &&
		    hold->current.mark != mark)
			close_current(hold, 0, now_ms);
		return 0;
	}
	/* The same client again: the open cause stands for both.  Before
	 * its SYN, a cause of another kind means the first kind is not what
	 * the SYN follows (a forwarder's client retries over TCP after the
	 * truncated answer): that kind scores down, the cause takes this one.
	 * A cause of the same kind is one more SYN to wait for: the client's
	 * second SYN may come after another client's cause, and must not be
	 * taken for that one's (seen in CI: dnsmasq, two TCP queries of one
	 * client, the second SYN named by the next client's cause). */
	if (hold->open && hold->current.mark == mark &&
	    (!named(hold) || hold->current.kind == kind)) {
		if (!named(hold) && hold->current.kind != kind) {
			score_down(hold, hold->current.kind, now_ms);
			hold->current.servers = 0;
		} else {
			hold->current.waiting++;
			hold->current.since_ms = now_ms;
		}
		hold->current.kind = kind;
		hold->current.question = *q;
		add_server(&hold->current, server);
		return 0;
	}
	/* An open cause that had its SYN gives way at once (to the same
	 * client's cause of another kind too: whether that one is followed
	 * by a SYN of its own is for its kind's score to learn). */
	if (hold->open && named(hold))
		close_current(hold, 0, now_ms);
	add_server(&cause, server);
	if (!hold->open) {
		open_cause(hold, &cause, now_ms);
		return 0;
	}
	if (hold->count + hold->release_count >= HOLD_MAX) {
		/* Both may send a SYN now: neither is named. */
		hold->counts.overflow++;
		if (!hold->current.ambiguous) {
			hold->current.ambiguous = 1;
			owe(hold, now_ms);
		}
		owe(hold, now_ms);
		return 0;
	}
	slot = &hold->held[(hold->head + hold->count) % HOLD_MAX];
	*slot = cause;
	hold->count++;
	hold->counts.held++;
	return 1;
}

int
hold_syn(struct hold *hold, const struct packet_endpoint *server,
    uint64_t now_ms, uint32_t *mark)
{
	advance(hold, now_ms);
	if (hold->owed > 0) {
		/* One of the causes in doubt had its SYN: which, nobody
		 * knows.  It may be the open one's.  It came at most this
		 * long after the first of them, which the wait learns. */
		if (hold->owed_timed)
			add_delay(hold, hold->owed_kind,
			    now_ms - hold->owed_since_ms);
		hold->owed--;
		if (hold->open)
			syn_seen(hold, now_ms);
		return -1;
	}
	if (!hold->open)
		return 0;
	if (hold->current.ambiguous) {
		/* Opened while SYNs were owed: a SYN later than the owed
		 * ones may still be one of theirs, late. */
		syn_seen(hold, now_ms);
		return -1;
	}
	/* Its SYNs (or reused connections) all came: a further SYN is not
	 * the hold's to name.  Knot Resolver retried one client's truncated
	 * question on a connection it held, then opened one to the same
	 * server for another client's question, sent over TCP at once (it
	 * knew the server truncates), which took the first client's mark
	 * (accuracy phase B).  Other evidence decides (evidence_syn()). */
	if (named(hold))
		return 0;
	/* Nor a SYN to a server that did not truncate its answers: it may
	 * be a retry at another address of the server, or a connection for
	 * another client's question.  Knot Resolver, which knows a server
	 * truncates, sends other clients' questions there over TCP at once,
	 * on connections it opens to any of the server's addresses, while
	 * the open cause may still be retried on a connection it holds
	 * (accuracy phase B: a SYN to the IPv4 address for one client, the
	 * open cause another's answer truncated by the IPv6 one).  Other
	 * evidence decides (evidence_syn()). */
	if (!syn_server_fits(&hold->current, server))
		return 0;
	*mark = hold->current.mark;
	name_current(hold, now_ms);
	return 1;
}

int
hold_open_mark(const struct hold *hold, uint32_t *mark)
{
	if (!hold->open || hold->current.ambiguous || hold->owed > 0)
		return 0;
	*mark = hold->current.mark;
	return 1;
}

void
hold_query(struct hold *hold, const struct dns_question *q, uint64_t now_ms)
{
	advance(hold, now_ms);
	if (hold->open && !named(hold) && !hold->current.ambiguous &&
	    same_question(&hold->current.question, q))
		name_current(hold, now_ms);
}

int
hold_next_release(struct hold *hold, uint64_t now_ms, uint32_t *id)
{
	advance(hold, now_ms);
	if (hold->release_count == 0)
		return 0;
	/* Order does not matter between released ids; take the last. */
	*id = hold->release[--hold->release_count];
	return 1;
}

uint64_t
hold_deadline(const struct hold *hold)
{
	return hold->open && hold->count > 0 ?
	    hold->held[hold->head].since_ms +
	    hold_wait(hold, hold->current.kind) : 0;
}

void
hold_stop(struct hold *hold)
{
	hold->hold_ms = 0;
	hold->open = 0;
	while (hold->count > 0)
		release_id(hold, pop_held(hold)->id);
}
