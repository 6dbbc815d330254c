/*
 * The table of asks: one entry per (question, mark), in a hash table keyed
 * with SipHash by question, a second one by question and mark (so that the
 * same mark asking again finds its entry however many marks ask the same
 * question), and a list ordered by last use, so that expiry and eviction
 * of the oldest are O(1).  Everything is allocated up front by asks_new();
 * nothing here allocates afterwards.  Questions are compared by their
 * 64-bit keyed hash alone: a false match needs a collision that nobody
 * without the key can aim for (chance 2^-64 per pair).
 *
 * Small on purpose, a table per kind of evidence and up to millions of
 * entries each: an entry is 44 bytes (32-bit indices, times in 32 bits of
 * milliseconds), the DNS id, the ask count and the client's address live in
 * arrays of their own that only the tables using them allocate.  A bucket's
 * chain runs by last activity, newest first, so that the clients waiting
 * for a question are met first however many marks asked it before.
 */
#include <stdlib.h>
#include <string.h>

#include "asks.h"

#define NIL 0u			/* list and chain end; entries count from 1 */

#define ENTRY_ENGAGED 0x1	/* flags: engaged holds a time */
#define ENTRY_SETTLED 0x2	/* ... the time it was settled (refs 0) */

struct asks_entry {
	uint32_t hash_high;	/* SipHash of name, type and class, in two */
	uint32_t hash_low;	/* halves: no padding after them */
	uint32_t mark;
	uint32_t last;		/* when this mark last asked: ms, modulo 2^32 */
	uint32_t engaged;	/* when a query for it last went upstream */
	uint32_t chain_next;	/* next in the question's bucket, the most
				 * recently active first (asked, engaged or
				 * settled: chain_to_front()); or next in
				 * the free list */
	uint32_t chain_prev;	/* previous in the bucket, NIL at its head */
	uint32_t pair_next;	/* next in the (question, mark) bucket */
	uint32_t older;		/* neighbours by last use */
	uint32_t newer;
	uint8_t flags;
};

struct asks {
	struct asks_entry *entries;	/* entries[0] unused: index 0 is NIL */
	uint16_t *ids;		/* ASKS_IDS: the last client's DNS id */
	uint16_t *refs;		/* ASKS_REFS: asks not yet released
				 * (saturating) */
	struct packet_endpoint *clients; /* ASKS_CLIENTS: the last client */
	uint32_t *tags;		/* ASKS_TAGS: the last client's address hash */
	uint32_t *since;	/* ASKS_SINCE: when the oldest ask not yet
				 * released was made (ms, modulo 2^32) */
	uint32_t *buckets;	/* by question */
	uint32_t *pairs;	/* by question and mark */
	size_t bucket_mask;
	size_t max_entries;
	size_t count;
	size_t mark_changes;	/* neighbours by last use with other marks */
	uint32_t fresh;		/* entries fresh..max_entries were never used */
	uint32_t free_list;
	uint32_t oldest;
	uint32_t newest;
	uint64_t timeout_ms;
	uint64_t ask_ms;	/* waiting: asked less than this long ago */
	uint64_t engaged_ms;	/* ... or engaged less than this long ago */
	uint64_t grace_ms;	/* ... or settled less than this long ago */
	uint64_t clock_ms;	/* the latest time added or expired at */
	int by_id;		/* ASKS_BY_ID: the DNS id is in the key */
	asks_mark_check still_waiting;	/* asks_set_waiting_check() */
	void *still_waiting_arg;
	asks_drop_cb on_drop;		/* asks_set_on_drop() */
	void *on_drop_arg;
	uint8_t key[SIPHASH_KEY_LEN];
};

size_t
asks_entry_size(unsigned int fields)
{
	size_t size = sizeof(struct asks_entry);

	if (fields & ASKS_IDS)
		size += sizeof(uint16_t);
	if (fields & ASKS_REFS)
		size += sizeof(uint16_t);
	if (fields & ASKS_CLIENTS)
		size += sizeof(struct packet_endpoint);
	if (fields & ASKS_TAGS)
		size += sizeof(uint32_t);
	if ((fields & ASKS_SINCE) && (fields & ASKS_REFS))
		size += sizeof(uint32_t);
	return size;
}

struct asks *
asks_new(size_t max_entries, uint64_t timeout_ms, unsigned int fields,
    const uint8_t key[SIPHASH_KEY_LEN])
{
	struct asks *table;
	size_t buckets = 1;

	if (max_entries == 0 || max_entries > ASKS_MAX_ENTRIES ||
	    timeout_ms > ASKS_MAX_TIMEOUT_MS)
		return NULL;
	/* The oldest open ask's time goes with the counts of open asks. */
	if (!(fields & ASKS_REFS))
		fields &= ~(unsigned int)ASKS_SINCE;
	/* One or two entries a bucket: a miss looks at 1.5 on average. */
	while (buckets < (max_entries + 1) / 2)
		buckets <<= 1;
	table = calloc(1, sizeof(*table));
	if (table == NULL)
		return NULL;
	table->entries = calloc(max_entries + 1, sizeof(*table->entries));
	table->buckets = calloc(buckets, sizeof(*table->buckets));
	table->pairs = calloc(buckets, sizeof(*table->pairs));
	if (fields & ASKS_IDS)
		table->ids = calloc(max_entries + 1, sizeof(*table->ids));
	if (fields & ASKS_REFS)
		table->refs = calloc(max_entries + 1, sizeof(*table->refs));
	if (fields & ASKS_CLIENTS)
		table->clients = calloc(max_entries + 1,
		    sizeof(*table->clients));
	if (fields & ASKS_TAGS)
		table->tags = calloc(max_entries + 1, sizeof(*table->tags));
	if (fields & ASKS_SINCE)
		table->since = calloc(max_entries + 1, sizeof(*table->since));
	if (table->entries == NULL || table->buckets == NULL ||
	    table->pairs == NULL ||
	    ((fields & ASKS_IDS) && table->ids == NULL) ||
	    ((fields & ASKS_REFS) && table->refs == NULL) ||
	    ((fields & ASKS_CLIENTS) && table->clients == NULL) ||
	    ((fields & ASKS_TAGS) && table->tags == NULL) ||
	    ((fields & ASKS_SINCE) && table->since == NULL)) {
		asks_free(table);
		return NULL;
	}
	table->bucket_mask = buckets - 1;
	table->max_entries = max_entries;
	table->timeout_ms = timeout_ms;
	table->fresh = 1;
	table->by_id = (fields & ASKS_BY_ID) != 0;
	memcpy(table->key, key, SIPHASH_KEY_LEN);
	return table;
}

void
asks_free(struct asks *table)
{
	if (table == NULL)
		return;
	free(table->entries);
	free(table->buckets);
	free(table->pairs);
	free(table->ids);
	free(table->refs);
	free(table->clients);
	free(table->tags);
	free(table->since);
	free(table);
}

void
asks_set_waiting(struct asks *table, uint64_t ask_ms, uint64_t engaged_ms)
{
	table->ask_ms = ask_ms;
	table->engaged_ms = engaged_ms;
}

static uint64_t
question_hash(const struct asks *table, const struct dns_question *q)
{
	uint8_t key[DNS_NAME_MAX + 6];
	size_t len = (size_t)q->name_len + 4;

	memcpy(key, q->name, q->name_len);
	key[q->name_len] = (uint8_t)(q->qtype >> 8);
	key[q->name_len + 1] = (uint8_t)q->qtype;
	key[q->name_len + 2] = (uint8_t)(q->qclass >> 8);
	key[q->name_len + 3] = (uint8_t)q->qclass;
	if (table->by_id) {
		key[len++] = (uint8_t)(q->id >> 8);
		key[len++] = (uint8_t)q->id;
	}
	return siphash24(table->key, key, len);
}

static int
hash_is(const struct asks_entry *e, uint64_t hash)
{
	return e->hash_low == (uint32_t)hash &&
	    e->hash_high == (uint32_t)(hash >> 32);
}

static uint32_t *
bucket_of(struct asks *table, uint32_t hash_low)
{
	return &table->buckets[hash_low & table->bucket_mask];
}

/*
 * The (question, mark) bucket.  The question's hash is keyed, so a client
 * cannot aim a mark at another question's bucket either.
 */
static uint32_t *
pair_of(struct asks *table, uint64_t hash, uint32_t mark)
{
	uint64_t mixed = (hash ^ mark) * 0x9e3779b97f4a7c15ULL;

	return &table->pairs[(mixed >> 32) & table->bucket_mask];
}

/* Returns the entry of hash and mark, or NIL. */
static uint32_t
pair_find(struct asks *table, uint64_t hash, uint32_t mark)
{
	uint32_t i = *pair_of(table, hash, mark);

	while (i != NIL && !(hash_is(&table->entries[i], hash) &&
	    table->entries[i].mark == mark))
		i = table->entries[i].pair_next;
	return i;
}

/* Returns 1 when entries a and b are both there and carry other marks. */
static size_t
marks_differ(const struct asks *table, uint32_t a, uint32_t b)
{
	return a != NIL && b != NIL &&
	    table->entries[a].mark != table->entries[b].mark;
}

static void
age_unlink(struct asks *table, uint32_t i)
{
	struct asks_entry *e = &table->entries[i];

	table->mark_changes -= marks_differ(table, e->older, i) +
	    marks_differ(table, i, e->newer);
	table->mark_changes += marks_differ(table, e->older, e->newer);
	if (e->older != NIL)
		table->entries[e->older].newer = e->newer;
	else
		table->oldest = e->newer;
	if (e->newer != NIL)
		table->entries[e->newer].older = e->older;
	else
		table->newest = e->older;
	e->older = e->newer = NIL;
}

static void
age_append(struct asks *table, uint32_t i)
{
	struct asks_entry *e = &table->entries[i];

	table->mark_changes += marks_differ(table, table->newest, i);
	e->older = table->newest;
	e->newer = NIL;
	if (table->newest != NIL)
		table->entries[table->newest].newer = i;
	else
		table->oldest = i;
	table->newest = i;
}

/* Unlinks entry i from the (question, mark) bucket at head. */
static void
pair_unlink(struct asks *table, uint32_t *head, uint32_t i)
{
	uint32_t *link = head;

	while (*link != NIL && *link != i)
		link = &table->entries[*link].pair_next;
	if (*link == i)
		*link = table->entries[i].pair_next;
}

/* Unlinks entry i from its bucket's chain: O(1), however long it is. */
static void
chain_unlink(struct asks *table, uint32_t i)
{
	struct asks_entry *e = &table->entries[i];

	if (e->chain_prev != NIL)
		table->entries[e->chain_prev].chain_next = e->chain_next;
	else
		*bucket_of(table, e->hash_low) = e->chain_next;
	if (e->chain_next != NIL)
		table->entries[e->chain_next].chain_prev = e->chain_prev;
	e->chain_next = e->chain_prev = NIL;
}

/* Links entry i first in its bucket's chain. */
static void
chain_push(struct asks *table, uint32_t i)
{
	struct asks_entry *e = &table->entries[i];
	uint32_t *head = bucket_of(table, e->hash_low);

	e->chain_prev = NIL;
	e->chain_next = *head;
	if (*head != NIL)
		table->entries[*head].chain_prev = i;
	*head = i;
}

/*
 * Entry i was just asked, engaged or settled: first in its bucket's chain.
 * So a chain runs by last activity, newest first, and asks_match() knows
 * that nobody past an entry idle for longer than any wait can be waiting
 * (chain_waits_done()), however many marks share the question.
 */
static void
chain_to_front(struct asks *table, uint32_t i)
{
	if (table->entries[i].chain_prev == NIL)
		return;
	chain_unlink(table, i);
	chain_push(table, i);
}

static void
entry_remove(struct asks *table, uint32_t i)
{
	struct asks_entry *e = &table->entries[i];
	uint64_t hash = (uint64_t)e->hash_high << 32 | e->hash_low;

	chain_unlink(table, i);
	pair_unlink(table, pair_of(table, hash, e->mark), i);
	age_unlink(table, i);
	e->pair_next = NIL;
	e->chain_next = table->free_list;
	table->free_list = i;
	table->count--;
}

/* Returns an unused entry, or NIL when every entry is in use. */
static uint32_t
entry_take(struct asks *table)
{
	uint32_t i = table->free_list;

	if (i != NIL) {
		table->free_list = table->entries[i].chain_next;
		return i;
	}
	if (table->fresh <= table->max_entries)
		return table->fresh++;
	return NIL;
}

/*
 * How long before now_ms the 32-bit time t was (negative: after it).  The
 * 32-bit difference is exact while the true one is within 2^31 ms, which
 * table_asleep() ensures for every entry looked at.
 */
static int64_t
time_age(uint32_t t, uint64_t now_ms)
{
	uint32_t age = (uint32_t)now_ms - t;

	return age < (1U << 31) ? (int64_t)age : (int64_t)age - (1LL << 32);
}

void
asks_set_grace(struct asks *table, uint64_t grace_ms)
{
	table->grace_ms = grace_ms;
}

void
asks_set_waiting_check(struct asks *table, asks_mark_check still_waiting,
    void *arg)
{
	table->still_waiting = still_waiting;
	table->still_waiting_arg = arg;
}

void
asks_set_on_drop(struct asks *table, asks_drop_cb on_drop, void *arg)
{
	table->on_drop = on_drop;
	table->on_drop_arg = arg;
}

/*
 * Returns 1 when nobody asked for a timeout or longer before now_ms, so
 * every entry held is dead.  Otherwise every entry held was live at
 * clock_ms, a timeout ago at most: its age is below two timeouts, 2^31 ms.
 */
static int
table_asleep(const struct asks *table, uint64_t now_ms)
{
	return now_ms >= table->clock_ms &&
	    now_ms - table->clock_ms >= table->timeout_ms;
}

static int
entry_live(const struct asks *table, const struct asks_entry *e,
    uint64_t now_ms)
{
	return time_age(e->last, now_ms) < (int64_t)table->timeout_ms;
}

/* What entry_waiting() says of an entry's client. */
enum waits {
	WAITS_NOT = 0,
	WAITS_UNANSWERED,	/* by its times and the owner's condition */
	WAITS_GRACE,		/* answered a moment ago */
};

/*
 * Says whether the client of live entry e counts as waiting at now_ms:
 * when every ask it counts was settled (answered), only for the table's
 * grace, else by its times and the owner's further condition.
 */
static enum waits
entry_waiting(const struct asks *table, const struct asks_entry *e,
    uint64_t now_ms)
{
	/* Settled: a moment's grace, whatever else the mark does. */
	if (table->refs != NULL && table->refs[e - table->entries] == 0)
		return (e->flags & ENTRY_SETTLED) &&
		    time_age(e->engaged, now_ms) < (int64_t)table->grace_ms ?
		    WAITS_GRACE : WAITS_NOT;
	if (time_age(e->last, now_ms) >= (int64_t)table->ask_ms &&
	    !((e->flags & ENTRY_ENGAGED) &&
	    time_age(e->engaged, now_ms) < (int64_t)table->engaged_ms))
		return WAITS_NOT;
	return table->still_waiting == NULL ||
	    table->still_waiting(table->still_waiting_arg, e->mark, now_ms) ?
	    WAITS_UNANSWERED : WAITS_NOT;
}

/* Removes entry i by expiry or eviction: the owner hears of it first. */
static void
entry_drop(struct asks *table, uint32_t i)
{
	if (table->on_drop != NULL)
		table->on_drop(table->on_drop_arg, table->entries[i].mark,
		    table->refs != NULL ? table->refs[i] : 1u);
	entry_remove(table, i);
}

size_t
asks_expire(struct asks *table, uint64_t now_ms)
{
	int asleep = table_asleep(table, now_ms);
	size_t expired = 0;

	while (table->oldest != NIL && (asleep ||
	    !entry_live(table, &table->entries[table->oldest], now_ms))) {
		entry_drop(table, table->oldest);
		expired++;
	}
	if (now_ms > table->clock_ms)
		table->clock_ms = now_ms;
	return expired;
}

/*
 * ASKS_SINCE: entry i, asked again at now_ms, kept open asks older than the
 * timeout (the entry lived on because its mark went on asking): they are
 * over, as an entry's are when it expires.  Without the field, an answer
 * never seen (a TCP answer after another that ends in a later segment)
 * kept its mark counted waiting for as long as it asked the question again
 * within the timeout.
 */
static void
asks_timed_out(struct asks *table, uint32_t i, uint64_t now_ms)
{
	if (table->since == NULL || table->refs[i] == 0 ||
	    time_age(table->since[i], now_ms) < (int64_t)table->timeout_ms)
		return;
	if (table->on_drop != NULL)
		table->on_drop(table->on_drop_arg, table->entries[i].mark,
		    table->refs[i]);
	table->refs[i] = 0;
}

/* The keyed 32-bit hash of a client's address and port (ASKS_TAGS). */
static uint32_t
client_tag(const struct asks *table, const struct packet_endpoint *addr)
{
	uint8_t key[1 + sizeof(addr->addr) + 2];

	key[0] = addr->family;
	memcpy(key + 1, addr->addr, sizeof(addr->addr));
	key[1 + sizeof(addr->addr)] = (uint8_t)(addr->port >> 8);
	key[2 + sizeof(addr->addr)] = (uint8_t)addr->port;
	return (uint32_t)siphash24(table->key, key, sizeof(key));
}

int
asks_add(struct asks *table, const struct dns_question *q,
    const struct asks_client *client, uint64_t now_ms)
{
	uint64_t hash = question_hash(table, q);
	int evicted = 0;
	struct asks_entry *e;
	uint32_t i, *pair;

	/* Expire first: an entry found below must not be freed under us. */
	asks_expire(table, now_ms);
	i = pair_find(table, hash, client->mark);
	if (i != NIL) {
		/* The same mark asks again: newest again, first in its
		 * chain. */
		age_unlink(table, i);
		chain_to_front(table, i);
		asks_timed_out(table, i, now_ms);
		if (table->since != NULL && table->refs[i] == 0)
			table->since[i] = (uint32_t)now_ms;
		if (table->refs != NULL && table->refs[i] < UINT16_MAX)
			table->refs[i]++;
		/* Settled, then asked again: engaged holds no engagement. */
		if (table->entries[i].flags & ENTRY_SETTLED)
			table->entries[i].flags &=
			    (uint8_t)~(ENTRY_SETTLED | ENTRY_ENGAGED);
	} else {
		if (table->count == table->max_entries) {
			entry_drop(table, table->oldest);
			evicted = 1;
		}
		i = entry_take(table);
		table->count++;
		e = &table->entries[i];
		e->hash_high = (uint32_t)(hash >> 32);
		e->hash_low = (uint32_t)hash;
		e->mark = client->mark;
		e->flags = 0;
		chain_push(table, i);
		pair = pair_of(table, hash, e->mark);
		e->pair_next = *pair;
		*pair = i;
		if (table->refs != NULL)
			table->refs[i] = 1;
		if (table->since != NULL)
			table->since[i] = (uint32_t)now_ms;
	}
	table->entries[i].last = (uint32_t)now_ms;
	if (table->ids != NULL)
		table->ids[i] = client->id;
	if (table->clients != NULL)
		table->clients[i] = client->addr;
	if (table->tags != NULL)
		table->tags[i] = client_tag(table, &client->addr);
	age_append(table, i);
	return evicted;
}

/*
 * Of times t of marks met one by one (first: none met yet), keeps the
 * newest and its mark, and the newest of any other mark (ties: the last
 * met is the newest).
 */
static void
newest_two(int first, uint32_t mark, uint64_t t, uint64_t *newest,
    uint32_t *newest_mark, uint64_t *other)
{
	if (first || t >= *newest) {
		if (!first && mark != *newest_mark && *newest > *other)
			*other = *newest;
		*newest = t;
		*newest_mark = mark;
	} else if (mark != *newest_mark && t > *other) {
		*other = t;
	}
}

/*
 * Adds entry at (its mark, asked at asked_ms, its DNS id matching or not)
 * to the summary *marks.  Called for a question's entries in chain order,
 * newest created first.
 */
static void
marks_add(const struct asks *table, struct asks_marks *marks, uint32_t at,
    uint64_t asked_ms, int id_match, uint64_t *id_ms)
{
	uint32_t mark = table->entries[at].mark;

	if (marks->count == 0)
		marks->distinct_marks = 1;
	else if (mark != marks->first_mark || marks->distinct_marks > 1)
		marks->distinct_marks = 2;
	newest_two(marks->count == 0, mark, asked_ms, &marks->last_ms,
	    &marks->last_mark, &marks->other_last_ms);
	/* Chains run by last activity, an engagement included: who asked
	 * longest ago is told by the ask's own time (ties: the last met). */
	if (marks->count == 0 || asked_ms <= marks->first_ms) {
		marks->first_ms = asked_ms;
		marks->first_mark = mark;
	}
	marks->count++;
	if (id_match && (!marks->id_matched || asked_ms >= *id_ms)) {
		marks->id_matched = 1;
		marks->id_mark = mark;
		if (table->clients != NULL)
			marks->id_client = table->clients[at];
		*id_ms = asked_ms;
	}
}

/*
 * Adds to *marks that entry at, in its grace, was answered (or worked for
 * since) at answered_ms.
 */
static void
marks_answered(const struct asks *table, struct asks_marks *marks,
    uint32_t at, uint64_t answered_ms)
{
	newest_two(marks->answered_count == 0, table->entries[at].mark,
	    answered_ms, &marks->answered_ms, &marks->answered_mark,
	    &marks->other_answered_ms);
	marks->answered_count++;
}

/*
 * How long entry e has been idle at now_ms: since its last ask, or its
 * engagement or settlement if later (negative: in the future).  What a
 * bucket's chain is ordered by (chain_to_front()).
 */
static int64_t
entry_idle(const struct asks_entry *e, uint64_t now_ms)
{
	int64_t idle = time_age(e->last, now_ms);

	if ((e->flags & (ENTRY_ENGAGED | ENTRY_SETTLED)) &&
	    time_age(e->engaged, now_ms) < idle)
		idle = time_age(e->engaged, now_ms);
	return idle;
}

/*
 * The walk of a chain stopped at entry last, more behind it: returns 1 when
 * no entry behind it can count as waiting.  Chains run by last activity
 * (chain_to_front()), so every entry behind last was idle at least as long
 * as last: when that is longer than the table's waits (asked, engaged,
 * answered a moment ago), the waiting sets are whole and only the set of
 * all askers is cut.  This is what lets one waiting client stand out among
 * the hundreds of marks that asked names below a shared ancestor.
 */
static int
chain_waits_done(const struct asks *table, const struct asks_entry *last,
    uint64_t now_ms)
{
	uint64_t wait = table->ask_ms;
	int64_t idle = entry_idle(last, now_ms);

	if (table->engaged_ms > wait)
		wait = table->engaged_ms;
	if (table->grace_ms > wait)
		wait = table->grace_ms;
	return idle >= 0 && (uint64_t)idle >= wait;
}

/*
 * More entries than could be looked at: several marks, no id to go by, and
 * one of those not seen may have asked as late as last's last activity
 * (the bucket's chain runs by it), which only_the_last_moment() and the
 * like must not take for nobody.
 */
static void
marks_cut(struct asks_marks *marks, const struct asks_entry *last,
    uint64_t now_ms)
{
	int64_t idle = entry_idle(last, now_ms);
	uint64_t unseen_ms = idle > 0 ? now_ms - (uint64_t)idle : now_ms;

	if (marks->count == 0)
		marks->count = 1;
	marks->distinct_marks = 2;
	marks->id_matched = 0;
	if (marks->other_last_ms < unseen_ms)
		marks->other_last_ms = unseen_ms;
	if (marks->other_answered_ms < unseen_ms)
		marks->other_answered_ms = unseen_ms;
}

unsigned int
asks_match(struct asks *table, const struct dns_question *q,
    uint64_t now_ms, struct asks_match *match)
{
	uint64_t hash = question_hash(table, q);
	uint64_t all_id_ms = 0, waiting_id_ms = 0, unanswered_id_ms = 0;
	uint32_t i = *bucket_of(table, (uint32_t)hash), walked_to = NIL;
	int walked;

	memset(match, 0, sizeof(*match));
	if (table_asleep(table, now_ms))
		return 0;
	for (walked = 0; i != NIL && walked < ASKS_MAX_WALK; walked++) {
		const struct asks_entry *e = &table->entries[i];
		uint32_t at = i;
		uint64_t asked_ms;
		int id_match;
		enum waits waits;

		walked_to = i;
		i = e->chain_next;
		if (!hash_is(e, hash) || !entry_live(table, e, now_ms))
			continue;
		asked_ms = now_ms - (uint64_t)time_age(e->last, now_ms);
		id_match = table->ids != NULL && table->ids[at] == q->id;
		marks_add(table, &match->all, at, asked_ms, id_match,
		    &all_id_ms);
		waits = entry_waiting(table, e, now_ms);
		if (waits != WAITS_NOT)
			marks_add(table, &match->waiting, at, asked_ms,
			    id_match, &waiting_id_ms);
		if (waits == WAITS_GRACE)
			marks_answered(table, &match->waiting, at, now_ms -
			    (uint64_t)time_age(e->engaged, now_ms));
		if (waits == WAITS_UNANSWERED)
			marks_add(table, &match->unanswered, at, asked_ms,
			    id_match, &unanswered_id_ms);
	}
	if (i != NIL) {
		const struct asks_entry *last = &table->entries[walked_to];

		marks_cut(&match->all, last, now_ms);
		if (!chain_waits_done(table, last, now_ms)) {
			marks_cut(&match->waiting, last, now_ms);
			marks_cut(&match->unanswered, last, now_ms);
		}
	}
	return match->all.count;
}

int
asks_engage(struct asks *table, const struct dns_question *q, uint32_t mark,
    uint64_t now_ms)
{
	uint32_t i = pair_find(table, question_hash(table, q), mark);

	if (i == NIL || !entry_live(table, &table->entries[i], now_ms))
		return 0;
	table->entries[i].engaged = (uint32_t)now_ms;
	table->entries[i].flags |= ENTRY_ENGAGED;
	chain_to_front(table, i);
	return 1;
}

int
asks_release(struct asks *table, const struct dns_question *q,
    uint32_t mark)
{
	uint32_t i = pair_find(table, question_hash(table, q), mark);

	if (i == NIL)
		return 0;
	if (table->refs != NULL && --table->refs[i] > 0)
		return 0;
	entry_remove(table, i);
	return 1;
}

size_t
asks_forget(struct asks *table, const struct dns_question *q)
{
	uint64_t hash = question_hash(table, q);
	uint32_t i = *bucket_of(table, (uint32_t)hash);
	size_t removed = 0;

	for (int walked = 0; i != NIL && walked < ASKS_MAX_WALK; walked++) {
		uint32_t at = i;

		i = table->entries[at].chain_next;
		if (hash_is(&table->entries[at], hash)) {
			entry_remove(table, at);
			removed++;
		}
	}
	return removed;
}

int
asks_settle(struct asks *table, const struct dns_question *q,
    uint32_t mark, uint64_t now_ms)
{
	struct asks_entry *e;
	uint32_t i;

	if (table->refs == NULL)
		return 0;
	i = pair_find(table, question_hash(table, q), mark);
	if (i == NIL || table->refs[i] == 0 || --table->refs[i] > 0)
		return 0;
	/* Settled: engaged now holds when (entry_waiting()). */
	e = &table->entries[i];
	e->engaged = (uint32_t)now_ms;
	e->flags = (uint8_t)((e->flags & ~ENTRY_ENGAGED) | ENTRY_SETTLED);
	chain_to_front(table, i);
	return 1;
}

unsigned int
asks_open(struct asks *table, const struct dns_question *q, uint32_t mark,
    uint64_t now_ms)
{
	uint32_t i = pair_find(table, question_hash(table, q), mark);

	if (i == NIL || !entry_live(table, &table->entries[i], now_ms))
		return 0;
	return table->refs != NULL ? table->refs[i] : 1u;
}

int
asks_find_client(struct asks *table, const struct dns_question *q,
    const struct packet_endpoint *addr, uint16_t id, uint64_t now_ms,
    uint32_t *mark)
{
	uint64_t hash = question_hash(table, q);
	uint32_t tag, i = *bucket_of(table, (uint32_t)hash);

	if (table->ids == NULL || table->tags == NULL ||
	    table_asleep(table, now_ms))
		return 0;
	tag = client_tag(table, addr);
	for (int walked = 0; i != NIL && walked < ASKS_MAX_WALK; walked++) {
		const struct asks_entry *e = &table->entries[i];

		if (hash_is(e, hash) && entry_live(table, e, now_ms) &&
		    table->ids[i] == id && table->tags[i] == tag) {
			*mark = e->mark;
			return 1;
		}
		i = e->chain_next;
	}
	return 0;
}

void
asks_summary(struct asks *table, uint64_t now_ms, struct asks_marks *marks)
{
	const struct asks_entry *newest;
	uint32_t i;
	int walked;

	memset(marks, 0, sizeof(*marks));
	asks_expire(table, now_ms);
	if (table->count == 0)
		return;
	newest = &table->entries[table->newest];
	marks->count = (unsigned int)table->count;
	marks->distinct_marks = table->mark_changes == 0 ? 1 : 2;
	marks->first_mark = table->entries[table->oldest].mark;
	marks->last_mark = newest->mark;
	marks->last_ms = now_ms - (uint64_t)time_age(newest->last, now_ms);
	/* The newest entry of another mark: one entry a mark, so mostly the
	 * next one; other_last_ms stays 0 when none is found in the walk. */
	i = newest->older;
	for (walked = 0; i != NIL && walked < ASKS_MAX_WALK; walked++) {
		const struct asks_entry *e = &table->entries[i];

		if (e->mark != newest->mark) {
			marks->other_last_ms = now_ms -
			    (uint64_t)time_age(e->last, now_ms);
			break;
		}
		i = e->older;
	}
}

unsigned int
asks_open_marks(struct asks *table, uint64_t now_ms, uint32_t *mark)
{
	unsigned int marks = 0;
	uint32_t i;
	int walked;

	asks_expire(table, now_ms);
	if (table->refs == NULL)
		return 2;
	i = table->newest;
	for (walked = 0; i != NIL && walked < ASKS_OPEN_WALK; walked++) {
		const struct asks_entry *e = &table->entries[i];

		if (table->refs[i] > 0 && (marks == 0 || e->mark != *mark)) {
			if (++marks > 1)
				return 2;
			*mark = e->mark;
		}
		i = e->older;
	}
	return i == NIL ? marks : 2;
}

int
asks_single_mark(const struct asks *table, uint32_t *mark)
{
	if (table->count == 0 || table->mark_changes != 0)
		return 0;
	*mark = table->entries[table->oldest].mark;
	return 1;
}

size_t
asks_count(const struct asks *table)
{
	return table->count;
}

size_t
asks_memory(const struct asks *table)
{
	unsigned int fields = (table->ids ? ASKS_IDS : 0) |
	    (table->refs ? ASKS_REFS : 0) |
	    (table->clients ? ASKS_CLIENTS : 0) |
	    (table->tags ? ASKS_TAGS : 0) |
	    (table->since ? ASKS_SINCE : 0);

	return sizeof(*table) + (table->max_entries + 1) *
	    asks_entry_size(fields) +
	    2 * (table->bucket_mask + 1) * sizeof(*table->buckets);
}
