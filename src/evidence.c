/*
 * The evidence tables (evidence.h) and the lookups that name a client.  An
 * upstream query's mark comes from the strongest evidence that names any
 * client waiting, in this order: the question a client is waiting on; a
 * name on the way to one (qname minimisation, DS); a name an upstream
 * response to a marked query pointed to (CNAME target, referral name
 * server).  Where nobody waits, the same tables with every client who
 * asked, then the question a client asked recently (prefetch, late
 * retries), then the only mark among all clients.  The first evidence that
 * names clients decides, conflict policy included: weaker evidence never
 * overrides it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "evidence.h"
#include "log.h"

/* Pseudo question types for the keys that stand for a mark. */
#define KEY_TCP_CLIENT 0xff01
#define KEY_ASKER 0xff03
#define KEY_UNANSWERED 0xff04
#define KEY_SERVER 0xff05

#define TYPE_DS 43
#define TYPE_DNSKEY 48

/* The tables a lookup goes through, strongest first. */
enum {
	LOOK_PENDING,
	LOOK_ANCESTORS,
	LOOK_UNDERSCORE,	/* BIND's "_.example.test": the rest is the ancestor */
	LOOK_VALIDATING,	/* DS and DNSKEY after an answer */
	LOOK_LEARNED,
	LOOK_COUNT
};

static int mark_unanswered(void *arg, uint32_t mark, uint64_t now_ms);
static void question_dropped(void *arg, uint32_t mark, unsigned int asks);

int
evidence_init(struct evidence *ev, size_t max_pending, uint64_t timeout_ms,
    uint64_t recent_ms, const struct attrib_policy *policy,
    const uint8_t key[SIPHASH_KEY_LEN], struct stats *stats)
{
	size_t max = max_pending;
	size_t marks = max / 4 + 16;
	uint64_t truncated_ms = timeout_ms < EVIDENCE_TRUNCATED_MS ?
	    timeout_ms : EVIDENCE_TRUNCATED_MS;

	memset(ev, 0, sizeof(*ev));
	ev->stats = stats;
	ev->policy = *policy;
	ev->timeout_ms = timeout_ms;
	/* The client's id and address: its answer names it. */
	ev->pending = asks_new(max, timeout_ms,
	    ASKS_IDS | ASKS_REFS | ASKS_TAGS | ASKS_SINCE, key);
	/*
	 * A question files its own name under ancestors, and ancestors (zone,
	 * TLD) it mostly shares with other questions of its mark: about one
	 * new entry a question, the least recently asked evicted first.  The
	 * count of asks not yet answered says whether the mark still waits.
	 */
	ev->ancestors = asks_new(max, timeout_ms, ASKS_REFS, key);
	/*
	 * Lessons and upstream queries are never released, only expired or
	 * evicted oldest first, and what a resolver still needs is the newest:
	 * it follows a lesson (CNAME target, name server) and reads an answer
	 * within the round trip.  Half the cap for lessons; a quarter for the
	 * upstream queries, which keep a server's address each.
	 */
	ev->learned = asks_new((max + 1) / 2, timeout_ms, 0, key);
	/* An entry an upstream query, not a question and mark: a resolver
	 * sends one question to several of a zone's servers at once (unbound
	 * to its IPv4 and IPv6 addresses), and the first answer, which the
	 * resolver follows, must find its own query; with one entry a mark,
	 * only the last query's id was kept, a quarter of unbound's answers
	 * taught nothing, and names learned late left unmarked. */
	ev->inflight = asks_new((max + 3) / 4, timeout_ms,
	    ASKS_IDS | ASKS_CLIENTS | ASKS_BY_ID, key);
	/* Prefetches and late retries come for the questions asked last:
	 * every question of the cap, recent_ms long. */
	if (recent_ms > 0)
		ev->recent = asks_new(max, recent_ms, 0, key);
	/* Truncated questions, one entry a mark each, until their retry:
	 * a quarter of the cap, truncated_ms long. */
	ev->truncated = asks_new(marks, truncated_ms, 0, key);
	/* One entry a mark: a quarter of the cap is a mark for every four
	 * questions pending, each table's own window long. */
	/* The servers of those truncated answers: a few a second. */
	ev->truncating = asks_new(max / 64 + 64, truncated_ms, 0, key);
	ev->tcp_clients = asks_new(marks, timeout_ms < EVIDENCE_TCP_CLIENT_MS ?
	    timeout_ms : EVIDENCE_TCP_CLIENT_MS, ASKS_REFS, key);
	ev->askers = asks_new(marks, timeout_ms < EVIDENCE_ASKERS_MS ?
	    timeout_ms : EVIDENCE_ASKERS_MS, 0, key);
	/* A CNAME for every 64 questions of the cap: the names clients ask
	 * again, most recently taught first. */
	ev->cnames = cnames_new(max / 64 + 64, CNAMES_KEEP_MS, key);
	/* The names an answered question's validation may ask, a second
	 * long: a few names an answer, at most a second of answers. */
	ev->validating = asks_new(max / 8 + 64, EVIDENCE_VALIDATING_MS, 0,
	    key);
	/* A mark's questions not yet ended, counted: one entry a mark, a mark
	 * for every eight questions pending (an evicted mark waits nowhere,
	 * and the single-mark fallback goes off for a timeout). */
	ev->unanswered = asks_new(max / 8 + 16, timeout_ms, ASKS_REFS, key);
	if (ev->pending == NULL || ev->ancestors == NULL ||
	    ev->unanswered == NULL ||
	    ev->learned == NULL || ev->inflight == NULL ||
	    ev->truncated == NULL || ev->truncating == NULL ||
	    ev->tcp_clients == NULL ||
	    ev->askers == NULL || ev->cnames == NULL ||
	    ev->validating == NULL ||
	    (recent_ms > 0 && ev->recent == NULL))
		return -ENOMEM;
	asks_set_waiting(ev->pending, EVIDENCE_WAIT_MS, EVIDENCE_ENGAGED_MS);
	asks_set_waiting(ev->ancestors, EVIDENCE_WAIT_MS,
	    EVIDENCE_ENGAGED_MS);
	asks_set_waiting_check(ev->pending, mark_unanswered, ev);
	asks_set_waiting_check(ev->ancestors, mark_unanswered, ev);
	asks_set_grace(ev->ancestors, EVIDENCE_ANSWERED_GRACE_MS);
	asks_set_on_drop(ev->pending, question_dropped, ev);
	/* A lesson is learned for a client waiting on the answer taught it,
	 * and its mark waits on it only while a question of it is not over
	 * (the names a resolver learns on the way to a client stop counting
	 * it once it is answered, as its own names do). */
	asks_set_waiting(ev->learned, EVIDENCE_ENGAGED_MS,
	    EVIDENCE_ENGAGED_MS);
	asks_set_waiting_check(ev->learned, mark_unanswered, ev);
	/* Every entry of it is a client whose answer is being validated. */
	asks_set_waiting(ev->validating, EVIDENCE_VALIDATING_MS,
	    EVIDENCE_VALIDATING_MS);
	return 0;
}

void
evidence_free(struct evidence *ev)
{
	asks_free(ev->pending);
	asks_free(ev->ancestors);
	asks_free(ev->learned);
	asks_free(ev->inflight);
	asks_free(ev->recent);
	asks_free(ev->truncated);
	asks_free(ev->truncating);
	ev->truncating = NULL;
	asks_free(ev->tcp_clients);
	asks_free(ev->askers);
	cnames_free(ev->cnames);
	ev->cnames = NULL;
	asks_free(ev->validating);
	ev->validating = NULL;
	asks_free(ev->unanswered);
	ev->unanswered = NULL;
	ev->pending = ev->ancestors = ev->learned = ev->inflight = NULL;
	ev->recent = ev->truncated = ev->tcp_clients = ev->askers = NULL;
}

size_t
evidence_memory(const struct evidence *ev)
{
	return asks_memory(ev->pending) + asks_memory(ev->ancestors) +
	    asks_memory(ev->learned) + asks_memory(ev->inflight) +
	    (ev->recent ? asks_memory(ev->recent) : 0) +
	    asks_memory(ev->truncated) + asks_memory(ev->truncating) +
	    asks_memory(ev->tcp_clients) +
	    asks_memory(ev->askers) + cnames_memory(ev->cnames) +
	    asks_memory(ev->validating) + asks_memory(ev->unanswered);
}

void
evidence_expire(struct evidence *ev, uint64_t now_ms)
{
	ev->stats->counter[STATS_PENDING_EXPIRED] +=
	    asks_expire(ev->pending, now_ms);
	asks_expire(ev->ancestors, now_ms);
	asks_expire(ev->learned, now_ms);
	asks_expire(ev->inflight, now_ms);
	if (ev->recent != NULL)
		asks_expire(ev->recent, now_ms);
	asks_expire(ev->truncated, now_ms);
	asks_expire(ev->truncating, now_ms);
	asks_expire(ev->tcp_clients, now_ms);
	asks_expire(ev->askers, now_ms);
	asks_expire(ev->validating, now_ms);
	asks_expire(ev->unanswered, now_ms);
}

/* Makes the type-less key under which a name is filed. */
static void
name_key(const uint8_t *name, size_t len, struct dns_question *key)
{
	memset(key, 0, sizeof(*key) - sizeof(key->name));
	key->name_len = (uint8_t)len;
	memcpy(key->name, name, len);
}

/* The key that stands for mark in a table of one kind. */
static void
mark_key(uint16_t kind, uint32_t mark, struct dns_question *key)
{
	memset(key, 0, sizeof(*key) - sizeof(key->name));
	key->qtype = kind;
	key->name_len = 4;
	key->name[0] = (uint8_t)(mark >> 24);
	key->name[1] = (uint8_t)(mark >> 16);
	key->name[2] = (uint8_t)(mark >> 8);
	key->name[3] = (uint8_t)mark;
}

/* The key that stands for a server's address (KEY_SERVER). */
static void
server_key(const struct packet_endpoint *server, struct dns_question *key)
{
	memset(key, 0, sizeof(*key) - sizeof(key->name));
	key->qtype = KEY_SERVER;
	key->name_len = 1 + sizeof(server->addr);
	key->name[0] = server->family;
	memcpy(key->name + 1, server->addr, sizeof(server->addr));
}

/* Files mark (with the client) under its own key in a table of one kind. */
static int
add_mark(struct asks *table, uint16_t kind, const struct asks_client *client,
    uint64_t now_ms)
{
	struct dns_question key;

	mark_key(kind, client->mark, &key);
	return asks_add(table, &key, client, now_ms);
}

/*
 * The waiting check of pending and ancestors: a mark waits only while one
 * of its questions is not over (answered, timed out or evicted).
 */
static int
mark_unanswered(void *arg, uint32_t mark, uint64_t now_ms)
{
	struct evidence *ev = arg;
	struct dns_question key;

	mark_key(KEY_UNANSWERED, mark, &key);
	return asks_open(ev->unanswered, &key, mark, now_ms) > 0;
}

/* A pending question timed out or was evicted: it is over for its mark. */
static void
question_dropped(void *arg, uint32_t mark, unsigned int asks)
{
	struct evidence *ev = arg;
	struct dns_question key;

	/* No time here: this table never says who waits, only how many. */
	mark_key(KEY_UNANSWERED, mark, &key);
	for (unsigned int i = 0; i < asks; i++)
		if (asks_settle(ev->unanswered, &key, mark, 0))
			break;
}

/*
 * Counts an eviction from a full table.  For a timeout after it, a missing
 * entry no longer means that nobody asked: the only mark left may be the
 * flooder's, so the single-mark fallback is off (single_mark()).
 */
static void
note_eviction(struct evidence *ev, enum stats_counter counter,
    uint64_t now_ms)
{
	stats_inc(ev->stats, counter);
	ev->evicted_ms = now_ms;
}

/*
 * Counts an eviction from a table the single-mark fallback never reads
 * (recent questions, learned names, inflight queries, TCP clients,
 * truncated answers): it stays on.
 */
static void
count_eviction(struct evidence *ev)
{
	stats_inc(ev->stats, STATS_EVIDENCE_EVICTED);
}

/*
 * Walks a name and each of its ancestors but the root: the key of the one
 * at *offset, which moves on to its parent.  Returns 0 past the last.
 */
static int
next_ancestor(const uint8_t *name, size_t len, size_t *offset,
    struct dns_question *key)
{
	if (*offset >= len || name[*offset] == 0)
		return 0;
	name_key(name + *offset, len - *offset, key);
	*offset += (size_t)name[*offset] + 1;
	return 1;
}

/* Files the name and each of its ancestors but the root under mark. */
static void
add_name_and_ancestors(struct evidence *ev, struct asks *table,
    const uint8_t *name, size_t len, const struct asks_client *client,
    uint64_t now_ms)
{
	struct dns_question key;

	for (size_t offset = 0; next_ancestor(name, len, &offset, &key);) {
		if (!asks_add(table, &key, client, now_ms))
			continue;
		if (table == ev->ancestors)
			note_eviction(ev, STATS_EVIDENCE_EVICTED, now_ms);
		else
			count_eviction(ev);
	}
}

/*
 * A name the resolver may hold a CNAME for: its targets are what it asks
 * upstream next, learned for the client as an upstream answer would teach
 * them.
 */
static void
follow_cnames(struct evidence *ev, const struct dns_question *q,
    const struct asks_client *client, uint64_t now_ms)
{
	const uint8_t *targets[CNAMES_MAX_CHAIN];
	uint8_t lens[CNAMES_MAX_CHAIN];
	size_t n;

	n = cnames_follow(ev->cnames, q->name, q->name_len, now_ms, targets,
	    lens, CNAMES_MAX_CHAIN);
	for (size_t i = 0; i < n; i++) {
		add_name_and_ancestors(ev, ev->learned, targets[i], lens[i],
		    client, now_ms);
		stats_inc(ev->stats, STATS_CNAMES_FOLLOWED);
	}
}

void
evidence_client_question(struct evidence *ev, const struct packet_info *info,
    const struct dns_question *q, uint32_t mark, uint64_t now_ms)
{
	struct asks_client client = {
		.addr = info->src, .id = q->id, .mark = mark,
	};

	evidence_expire(ev, now_ms);
	if (asks_add(ev->pending, q, &client, now_ms))
		note_eviction(ev, STATS_PENDING_EVICTED, now_ms);
	if (add_mark(ev->unanswered, KEY_UNANSWERED, &client, now_ms))
		note_eviction(ev, STATS_EVIDENCE_EVICTED, now_ms);
	if (ev->recent != NULL && asks_add(ev->recent, q, &client, now_ms))
		count_eviction(ev);
	add_name_and_ancestors(ev, ev->ancestors, q->name, q->name_len,
	    &client, now_ms);
	if (add_mark(ev->askers, KEY_ASKER, &client, now_ms))
		note_eviction(ev, STATS_EVIDENCE_EVICTED, now_ms);
	follow_cnames(ev, q, &client, now_ms);
	if (info->protocol == IPPROTO_TCP &&
	    add_mark(ev->tcp_clients, KEY_TCP_CLIENT, &client, now_ms))
		count_eviction(ev);
	stats_inc(ev->stats, STATS_CLIENT_QUERIES);
}

/*
 * One ask of q by mark is over, its pending question released: the mark
 * has one question fewer not yet ended, and the name and each ancestor one
 * ask fewer.  Every release of an ask must come with this, whichever path
 * releases it (the client's answer, or the upstream answer where client
 * answers are not seen): an ask left unsettled keeps its mark waiting on
 * the names above it for as long as the mark goes on asking below them (a
 * client of BIND's first second, counted waiting on test. for the rest of
 * the run, stood against the one client really waiting there).
 */
static void
ask_over(struct evidence *ev, const struct dns_question *q, uint32_t mark,
    uint64_t now_ms)
{
	struct dns_question key;

	mark_key(KEY_UNANSWERED, mark, &key);
	asks_settle(ev->unanswered, &key, mark, now_ms);
	for (size_t offset = 0;
	    next_ancestor(q->name, q->name_len, &offset, &key);)
		asks_settle(ev->ancestors, &key, mark, now_ms);
}

/*
 * Returns 1 when the resolver's answers to clients were seen lately: a
 * question is then released by its client's answer, not before.
 */
static int
answers_seen(const struct evidence *ev, uint64_t now_ms)
{
	return ev->answered_ms != 0 && now_ms >= ev->answered_ms &&
	    now_ms - ev->answered_ms < ev->timeout_ms;
}

void
evidence_client_answer(struct evidence *ev, const struct packet_info *info,
    const struct dns_question *q, uint64_t now_ms)
{
	struct dns_question key;
	uint32_t mark;

	stats_inc(ev->stats, STATS_CLIENT_ANSWERS);
	/* 0 stands for "never": a clock that starts at 0 answers at 1. */
	ev->answered_ms = now_ms != 0 ? now_ms : 1;
	if (!asks_find_client(ev->pending, q, &info->dst, q->id, now_ms,
	    &mark))
		return;
	stats_inc(ev->stats, STATS_CLIENT_ANSWERS_MATCHED);
	if (asks_release(ev->pending, q, mark))
		stats_inc(ev->stats, STATS_PENDING_ANSWERED);
	ask_over(ev, q, mark, now_ms);
	/* A TCP client answered is no SYN's cause any more (a recursive
	 * resolver opens connections of its own, for other clients). */
	if (info->protocol == IPPROTO_TCP) {
		mark_key(KEY_TCP_CLIENT, mark, &key);
		asks_release(ev->tcp_clients, &key, mark);
	}
}

/*
 * Several marks asked, but only one of them in the last moment: the others'
 * questions were answered already (from the cache, or long enough ago), and
 * the one that just asked is what the resolver works for now.  For a set of
 * clients of whom none counts as waiting.
 */
static void
only_the_last_moment(struct asks_marks *set, uint64_t now_ms)
{
	if (set->distinct_marks > 1 && !set->id_matched &&
	    now_ms - set->last_ms < EVIDENCE_ASKERS_MS &&
	    now_ms - set->other_last_ms >= EVIDENCE_ASKERS_MS) {
		set->distinct_marks = 1;
		set->first_mark = set->last_mark;
	}
}

/*
 * Nobody waits but clients answered a moment ago, of several marks: the
 * one answered last, EVIDENCE_ANSWER_LEAD_MS or more after every other,
 * is the one the resolver works for.  A resolver that answers from data
 * past its TTL refreshes it as it answers (BIND: the refresh leaves a
 * fraction of a millisecond before the answer on the wire, and dnsmark may
 * read the answer first), and what it asks after an answer follows that
 * answer; a client answered milliseconds earlier had its own.  Closer than
 * that, which of them it follows cannot be told: a conflict, as before.
 */
static void
only_the_last_answer(struct asks_marks *set)
{
	if (set->distinct_marks > 1 && !set->id_matched &&
	    set->answered_count > 0 &&
	    set->answered_ms >= set->other_answered_ms +
	    EVIDENCE_ANSWER_LEAD_MS) {
		set->distinct_marks = 1;
		set->first_mark = set->last_mark = set->answered_mark;
	}
}

/* Decides from one set of clients, naming the evidence reason. */
static struct attrib_result
decide(struct evidence *ev, struct asks_marks *set, int use_id,
    enum attrib_reason reason)
{
	struct attrib_result result;

	if (!use_id)
		set->id_matched = 0;
	result = attrib_decide(&ev->policy, set);
	if (result.reason == ATTRIB_EXACT)
		result.reason = reason;
	return result;
}

/*
 * The last resort: the one mark among the clients who asked, or had a
 * query sent upstream for them, in the last EVIDENCE_ASKERS_MS (askers);
 * when there are none, the one mark among the pending questions.  Pending
 * alone is not enough while someone asked: a question answered from the
 * cache stays pending until it times out, and the only mark pending may be
 * a client long done while another just asked.  Not while the tables
 * overflow: then the only mark left may be a flooder's.
 */
static struct attrib_result
single_mark(struct evidence *ev, uint64_t now_ms)
{
	struct attrib_result result = { .reason = ATTRIB_NONE };
	int one;

	if (ev->evicted_ms != 0 && now_ms - ev->evicted_ms < ev->timeout_ms)
		return result;
	asks_expire(ev->askers, now_ms);
	asks_expire(ev->pending, now_ms);
	if (asks_count(ev->askers) > 0)
		one = asks_single_mark(ev->askers, &result.mark);
	else
		one = asks_single_mark(ev->pending, &result.mark);
	if (one) {
		result.reason = ATTRIB_SINGLE;
		result.marked = 1;
	}
	return result;
}

/*
 * A query went upstream for mark: for EVIDENCE_ASKERS_MS it counts among
 * the askers, so the single-mark fallback does not take another client
 * for the only one the resolver works for.
 */
static struct attrib_result
worked_for(struct evidence *ev, struct attrib_result result, uint64_t now_ms)
{
	struct asks_client client = { .mark = result.mark };

	if (result.marked &&
	    add_mark(ev->askers, KEY_ASKER, &client, now_ms))
		note_eviction(ev, STATS_EVIDENCE_EVICTED, now_ms);
	return result;
}

/* For --verbose: which marks a question left unmarked stood between. */
static void
log_conflict(struct attrib_result result, int look, const char *who,
    const struct asks_marks *set)
{
	static const char *const names[LOOK_COUNT] = {
		[LOOK_PENDING] = "pending",
		[LOOK_ANCESTORS] = "ancestors",
		[LOOK_UNDERSCORE] = "underscore",
		[LOOK_VALIDATING] = "validating",
		[LOOK_LEARNED] = "learned",
	};

	if (result.reason != ATTRIB_CONFLICT_UNMARKED ||
	    !log_enabled(LOG_LEVEL_DEBUG))
		return;
	log_debug("conflict in %s among the %s: %u entries, oldest mark "
	    "0x%x, newest 0x%x", names[look], who, set->count,
	    set->first_mark, set->last_mark);
}

static struct attrib_result
attribute(struct evidence *ev, const struct dns_question *q, uint64_t now_ms)
{
	static const enum attrib_reason reasons[LOOK_COUNT] = {
		[LOOK_PENDING] = ATTRIB_EXACT,
		[LOOK_VALIDATING] = ATTRIB_ANCESTOR,
		[LOOK_ANCESTORS] = ATTRIB_ANCESTOR,
		[LOOK_UNDERSCORE] = ATTRIB_ANCESTOR,
		[LOOK_LEARNED] = ATTRIB_LEARNED,
	};
	struct asks *tables[LOOK_COUNT] = {
		ev->pending, ev->ancestors, ev->ancestors, ev->validating,
		ev->learned,
	};
	struct dns_question keys[LOOK_COUNT];
	struct asks_match matches[LOOK_COUNT];
	struct attrib_result result;
	int first_asked = -1;

	keys[LOOK_PENDING] = *q;
	name_key(q->name, q->name_len, &keys[LOOK_ANCESTORS]);
	keys[LOOK_LEARNED] = keys[LOOK_ANCESTORS];
	keys[LOOK_VALIDATING] = keys[LOOK_ANCESTORS];
	if (q->qtype != TYPE_DS && q->qtype != TYPE_DNSKEY)
		tables[LOOK_VALIDATING] = NULL;
	keys[LOOK_UNDERSCORE] = keys[LOOK_ANCESTORS];
	if (q->name_len > 2 && q->name[0] == 1 && q->name[1] == '_')
		name_key(q->name + 2, q->name_len - 2u,
		    &keys[LOOK_UNDERSCORE]);
	else
		tables[LOOK_UNDERSCORE] = NULL;
	/* Where clients wait, the first table with any decides among them
	 * alone, those not answered yet before those answered a moment ago
	 * (the grace is for what a resolver sends after an answer when
	 * nobody else waits: at a hundred queries a second, two clients are
	 * answered within a grace of each other); a mark it names is engaged
	 * there. */
	for (int look = 0; look < LOOK_COUNT; look++) {
		struct asks_marks *waiting;

		if (tables[look] == NULL ||
		    asks_match(tables[look], &keys[look], now_ms,
		    &matches[look]) == 0)
			continue;
		if (first_asked < 0)
			first_asked = look;
		if (matches[look].waiting.count == 0)
			continue;
		waiting = matches[look].unanswered.count > 0 ?
		    &matches[look].unanswered : &matches[look].waiting;
		if (waiting == &matches[look].waiting)
			only_the_last_answer(waiting);
		result = decide(ev, waiting, look == LOOK_PENDING,
		    reasons[look]);
		log_conflict(result, look, waiting == &matches[look].waiting ?
		    "answered a moment ago" : "waiting", waiting);
		if (result.marked)
			asks_engage(tables[look], &keys[look], result.mark,
			    now_ms);
		return result;
	}
	/* Nobody waits: every client who asked counts, and the mark named
	 * is what the resolver works for now (the next step of its question
	 * finds it waiting). */
	if (first_asked >= 0) {
		only_the_last_moment(&matches[first_asked].all, now_ms);
		result = decide(ev, &matches[first_asked].all,
		    first_asked == LOOK_PENDING, reasons[first_asked]);
		log_conflict(result, first_asked, "asked", &matches[first_asked].all);
		if (result.marked)
			asks_engage(tables[first_asked], &keys[first_asked],
			    result.mark, now_ms);
		return result;
	}
	if (ev->recent != NULL &&
	    asks_match(ev->recent, q, now_ms, &matches[0]) > 0) {
		only_the_last_moment(&matches[0].all, now_ms);
		return decide(ev, &matches[0].all, 0, ATTRIB_RECENT);
	}
	return single_mark(ev, now_ms);
}

struct attrib_result
evidence_attribute(struct evidence *ev, const struct dns_question *q,
    uint64_t now_ms)
{
	return worked_for(ev, attribute(ev, q, now_ms), now_ms);
}

void
evidence_marked_by_kernel(struct evidence *ev, const struct packet_info *info,
    const struct dns_question *q, uint32_t mark, uint64_t now_ms)
{
	struct attrib_result result = {
		.reason = ATTRIB_EXACT, .marked = 1, .mark = mark,
	};

	asks_engage(ev->pending, q, mark, now_ms);
	worked_for(ev, result, now_ms);
	evidence_sent(ev, info, q, mark, now_ms);
}

void
evidence_sent(struct evidence *ev, const struct packet_info *info,
    const struct dns_question *q, uint32_t mark, uint64_t now_ms)
{
	struct asks_client client = {
		.addr = info->dst, .id = q->id, .mark = mark,
	};

	/* The server's address with the resolver's port, as the answer must
	 * show. */
	client.addr.port = info->src.port;
	if (asks_add(ev->inflight, q, &client, now_ms))
		count_eviction(ev);
}

/*
 * Returns non-zero when the response info comes from the server a marked
 * query went to and goes to the port it left from (held in query).
 */
static int
answers(const struct packet_endpoint *query, const struct packet_info *info)
{
	return query->family == info->src.family &&
	    query->port == info->dst.port &&
	    memcmp(query->addr, info->src.addr, sizeof(query->addr)) == 0;
}

/*
 * The final answer to a marked question came in: the question no longer
 * speaks for mark (the client is answered, unless the same mark asked it
 * again).  Its name and ancestors still do for their DS and DNSKEY, for
 * EVIDENCE_VALIDATING_MS: a validating resolver asks them after the
 * answer, before the client gets it.  For other types they stay what they
 * were (the client no longer waits), so shared ancestors do not become
 * conflicts for every client answered in the last second.
 */
static void
release_question(struct evidence *ev, const struct dns_question *q,
    uint32_t mark, uint64_t now_ms)
{
	struct asks_client client = { .mark = mark };
	struct dns_question key;

	/* Where the client's answer is seen, it releases the question (and
	 * settles its ancestors) a moment later: releasing it here too would
	 * release another client's ask of the same question and mark.  Where
	 * it is not (yet: the first answers of a start), this is the ask's
	 * end. */
	if (!answers_seen(ev, now_ms) &&
	    asks_open(ev->pending, q, mark, now_ms) > 0) {
		if (asks_release(ev->pending, q, mark))
			stats_inc(ev->stats, STATS_PENDING_ANSWERED);
		ask_over(ev, q, mark, now_ms);
	}
	for (size_t offset = 0;
	    next_ancestor(q->name, q->name_len, &offset, &key);) {
		if (asks_add(ev->validating, &key, &client, now_ms))
			count_eviction(ev);
	}
}

/*
 * Remembers the CNAME chain of an answer: the question's name points to
 * the first target, each target to the next (answers list a chain in
 * order).
 */
static void
remember_cnames(struct evidence *ev, const struct response_facts *facts,
    uint64_t now_ms)
{
	const uint8_t *owner = facts->question.name;
	size_t owner_len = facts->question.name_len;

	for (unsigned int i = 0; i < facts->name_count; i++) {
		const struct response_name *target = &facts->names[i];

		if (target->kind != RESPONSE_CNAME_TARGET)
			continue;
		if (cnames_teach(ev->cnames, owner, owner_len, target->name,
		    target->len, now_ms))
			count_eviction(ev);
		owner = target->name;
		owner_len = target->len;
	}
}

enum evidence_response
evidence_response(struct evidence *ev, const struct packet_info *info,
    const struct dns_question *q, const uint8_t *msg, size_t msg_len,
    int partial, uint64_t now_ms, uint32_t *mark, int *truncated)
{
	struct response_facts *facts = &ev->facts;
	struct asks_client client = { .addr = info->src };
	struct asks_match match;
	enum response_status status;

	*truncated = 0;
	/* Only the server the query went to answers it, to the port it left
	 * from (RFC 5452): anyone else guessing the id must not teach names
	 * under a client's mark, nor make dnsmark walk its records. */
	asks_match(ev->inflight, q, now_ms, &match);
	if (!match.all.id_matched || !answers(&match.all.id_client, info)) {
		if (log_enabled(LOG_LEVEL_DEBUG)) {
			char name[4 * DNS_NAME_MAX + 1];

			log_debug("upstream response %s type %u id %u: no "
			    "query of it marked (%u in flight, %s)",
			    dns_name_format(q->name, q->name_len, name,
			    sizeof(name)), q->qtype, q->id, match.all.count,
			    match.all.id_matched ? "from another server or "
			    "to another port" : "none with its id");
		}
		return EVIDENCE_UNMATCHED;
	}
	status = response_parse(msg, msg_len, partial, facts);
	if (status != RESPONSE_OK) {
		log_debug("unparsable upstream response (%s)",
		    response_status_name(status));
		return EVIDENCE_BAD;
	}
	client.mark = match.all.id_mark;
	*mark = client.mark;
	/*
	 * A truncated answer does not end the question: the resolver asks
	 * again over TCP, on a new connection or one it holds already, and
	 * the question's evidence names that retry.
	 */
	if (facts->truncated) {
		struct asks_client server = { .mark = 0 };
		struct dns_question key;

		*truncated = 1;
		if (asks_add(ev->truncated, q, &client, now_ms))
			count_eviction(ev);
		server_key(&info->src, &key);
		if (asks_add(ev->truncating, &key, &server, now_ms))
			count_eviction(ev);
		stats_inc(ev->stats, STATS_RESPONSES_TRUNCATED);
	} else if (response_is_final(facts)) {
		release_question(ev, &facts->question, client.mark, now_ms);
	}
	remember_cnames(ev, facts, now_ms);
	for (unsigned int i = 0; i < facts->name_count; i++) {
		add_name_and_ancestors(ev, ev->learned, facts->names[i].name,
		    facts->names[i].len, &client, now_ms);
		stats_inc(ev->stats, STATS_NAMES_LEARNED);
		if (log_enabled(LOG_LEVEL_DEBUG)) {
			char name[4 * DNS_NAME_MAX + 1];

			log_debug("learned %s %s for mark 0x%x",
			    facts->names[i].kind == RESPONSE_CNAME_TARGET ?
			    "CNAME target" : "name server",
			    dns_name_format(facts->names[i].name,
			    facts->names[i].len, name, sizeof(name)),
			    client.mark);
		}
	}
	return EVIDENCE_LEARNED;
}

/*
 * Joins set (of one table) into into: the marks of both, with the newest
 * asks of each.  Ids never match a SYN.
 */
static void
join_marks(struct asks_marks *into, const struct asks_marks *set)
{
	if (set->count == 0)
		return;
	if (into->count == 0) {
		*into = *set;
		return;
	}
	if (set->distinct_marks > 1 || into->distinct_marks > 1 ||
	    set->first_mark != into->first_mark ||
	    set->last_mark != into->last_mark ||
	    into->first_mark != into->last_mark)
		into->distinct_marks = 2;
	into->count += set->count;
	if (set->last_ms > into->last_ms) {
		if (set->last_mark != into->last_mark &&
		    into->last_ms > into->other_last_ms)
			into->other_last_ms = into->last_ms;
		into->last_mark = set->last_mark;
		into->last_ms = set->last_ms;
	} else if (set->last_mark != into->last_mark &&
	    set->last_ms > into->other_last_ms) {
		into->other_last_ms = set->last_ms;
	}
	if (set->other_last_ms > into->other_last_ms)
		into->other_last_ms = set->other_last_ms;
}

void
evidence_retried(struct evidence *ev, const struct dns_question *q)
{
	asks_forget(ev->truncated, q);
}

struct attrib_result
evidence_syn(struct evidence *ev, const struct packet_endpoint *server,
    int tcp_clients_cause, const uint32_t *worked_for_mark, uint64_t now_ms)
{
	struct asks_marks set, tcp_clients;
	struct asks_match match;
	struct dns_question key;

	/*
	 * The marks truncated count only for a SYN to a server that sent a
	 * truncated answer: a resolver opens connections for other reasons
	 * too (Knot Resolver to a server that truncated nothing, while a
	 * client's truncated question was retried on a connection it held),
	 * and such a SYN is nobody's retry.  Nor once their retry was seen
	 * (evidence_retried()): Knot Resolver retried one client's truncated
	 * question on a connection it held, then opened one to the same
	 * server for another client's question that it sent over TCP at once
	 * (it knew the server truncates), and that SYN took the first
	 * client's mark (accuracy phase B, queue mode).  Then all of them, not the
	 * server's alone: several clients may have been truncated by
	 * several addresses of one server, and one address's single mark
	 * would be a guess (a resolver that retries at another address of
	 * the server leaves its SYN unmarked, never wrong).  Nor by one table
	 * before the other: a forwarder relays truncated answers to its
	 * clients and opens a connection for another client's TCP query
	 * meanwhile, so the marks truncated and the TCP clients of the moment
	 * are candidates together.  Where client TCP queries were found not
	 * followed by SYNs (the hold's score: a recursive resolver, or a
	 * forwarder answering them from its cache), they name no SYN alone,
	 * but still stand against the marks truncated (seen with dnsmasq:
	 * one client's truncated answer named another's TCP query's SYN).
	 */
	server_key(server, &key);
	if (asks_match(ev->truncating, &key, now_ms, &match) > 0)
		asks_summary(ev->truncated, now_ms, &set);
	else
		memset(&set, 0, sizeof(set));
	asks_summary(ev->tcp_clients, now_ms, &tcp_clients);
	if (tcp_clients_cause || set.count > 0)
		join_marks(&set, &tcp_clients);
	if (set.count == 0) {
		struct attrib_result result = { .reason = ATTRIB_TCP };
		uint32_t waiting;

		/*
		 * Nothing truncated to retry there, no TCP client: the hold's
		 * open cause, when its clients alone are not answered yet.
		 * Knot Resolver retried a client's truncated question on a
		 * connection it held, then opened one to the server's other
		 * address for that client's next question, over TCP at once
		 * (accuracy phase B).
		 */
		if (worked_for_mark != NULL &&
		    asks_open_marks(ev->unanswered, now_ms, &waiting) == 1 &&
		    waiting == *worked_for_mark) {
			result.marked = 1;
			result.mark = waiting;
			return worked_for(ev, result, now_ms);
		}
		return worked_for(ev, single_mark(ev, now_ms), now_ms);
	}
	only_the_last_moment(&set, now_ms);
	return worked_for(ev, decide(ev, &set, 0, ATTRIB_TCP), now_ms);
}
