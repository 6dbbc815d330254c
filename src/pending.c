/*
 * The pending table: one entry per (question, mark), in a hash table keyed
 * with SipHash and a list ordered by last use, so that expiry and eviction
 * of the oldest are O(1).  Everything is allocated up front by pending_new();
 * nothing here allocates afterwards.  Questions are compared by their 64-bit
 * keyed hash alone: a false match needs a collision that nobody without the
 * key can aim for (chance 2^-64 per pair).
 *
 * Small on purpose, a table per kind of evidence and up to millions of
 * entries each: an entry is 28 bytes (32-bit indices, times in 32 bits of
 * milliseconds), the DNS id, the ask count and the client's address live in
 * arrays of their own that only the tables using them allocate, buckets are
 * one or two entries each, and who asked first is the order of the bucket
 * chains rather than a time of its own.
 */
#include <stdlib.h>
#include <string.h>

#include "pending.h"

#define NIL 0u			/* list and chain end; entries count from 1 */
#define PENDING_MAX_WALK 64	/* entries looked at in one bucket chain */

struct pending_entry {
	uint32_t hash_high;	/* SipHash of name, type and class, in two */
	uint32_t hash_low;	/* halves: no padding after them */
	uint32_t mark;
	uint32_t last;		/* when this mark last asked: ms, modulo 2^32 */
	uint32_t chain_next;	/* next in bucket, newest created first; or
				 * next in the free list */
	uint32_t older;		/* neighbours by last use */
	uint32_t newer;
};

struct pending_table {
	struct pending_entry *entries;	/* entries[0] unused: index 0 is NIL */
	uint16_t *ids;		/* PENDING_IDS: the last client's DNS id */
	uint16_t *refs;		/* PENDING_REFS: asks not yet released
				 * (saturating) */
	struct packet_endpoint *clients; /* PENDING_CLIENTS: the last client */
	uint32_t *buckets;
	size_t bucket_mask;
	size_t max_entries;
	size_t count;
	size_t mark_changes;	/* neighbours by last use with other marks */
	uint32_t fresh;		/* entries fresh..max_entries were never used */
	uint32_t free_list;
	uint32_t oldest;
	uint32_t newest;
	uint64_t timeout_ms;
	uint64_t clock_ms;	/* the latest time added or expired at */
	uint8_t key[SIPHASH_KEY_LEN];
};

struct pending_table *
pending_new(size_t max_entries, uint64_t timeout_ms, unsigned int fields,
    const uint8_t key[SIPHASH_KEY_LEN])
{
	struct pending_table *table;
	size_t buckets = 1;

	if (max_entries == 0 || max_entries > PENDING_MAX_ENTRIES ||
	    timeout_ms > PENDING_MAX_TIMEOUT_MS)
		return NULL;
	/* One or two entries a bucket: a miss looks at 1.5 on average. */
	while (buckets < (max_entries + 1) / 2)
		buckets <<= 1;
	table = calloc(1, sizeof(*table));
	if (table == NULL)
		return NULL;
	table->entries = calloc(max_entries + 1, sizeof(*table->entries));
	table->buckets = calloc(buckets, sizeof(*table->buckets));
	if (fields & PENDING_IDS)
		table->ids = calloc(max_entries + 1, sizeof(*table->ids));
	if (fields & PENDING_REFS)
		table->refs = calloc(max_entries + 1, sizeof(*table->refs));
	if (fields & PENDING_CLIENTS)
		table->clients = calloc(max_entries + 1,
		    sizeof(*table->clients));
	if (table->entries == NULL || table->buckets == NULL ||
	    ((fields & PENDING_IDS) && table->ids == NULL) ||
	    ((fields & PENDING_REFS) && table->refs == NULL) ||
	    ((fields & PENDING_CLIENTS) && table->clients == NULL)) {
		pending_free(table);
		return NULL;
	}
	table->bucket_mask = buckets - 1;
	table->max_entries = max_entries;
	table->timeout_ms = timeout_ms;
	table->fresh = 1;
	memcpy(table->key, key, SIPHASH_KEY_LEN);
	return table;
}

void
pending_free(struct pending_table *table)
{
	if (table == NULL)
		return;
	free(table->entries);
	free(table->buckets);
	free(table->ids);
	free(table->refs);
	free(table->clients);
	free(table);
}

static uint64_t
question_hash(const struct pending_table *table, const struct dns_question *q)
{
	uint8_t key[DNS_NAME_MAX + 4];

	memcpy(key, q->name, q->name_len);
	key[q->name_len] = (uint8_t)(q->qtype >> 8);
	key[q->name_len + 1] = (uint8_t)q->qtype;
	key[q->name_len + 2] = (uint8_t)(q->qclass >> 8);
	key[q->name_len + 3] = (uint8_t)q->qclass;
	return siphash24(table->key, key, (size_t)q->name_len + 4);
}

static int
hash_is(const struct pending_entry *e, uint64_t hash)
{
	return e->hash_low == (uint32_t)hash &&
	    e->hash_high == (uint32_t)(hash >> 32);
}

static uint32_t *
bucket_of(struct pending_table *table, uint32_t hash_low)
{
	return &table->buckets[hash_low & table->bucket_mask];
}

/* Returns 1 when entries a and b are both there and carry other marks. */
static size_t
marks_differ(const struct pending_table *table, uint32_t a, uint32_t b)
{
	return a != NIL && b != NIL &&
	    table->entries[a].mark != table->entries[b].mark;
}

static void
age_unlink(struct pending_table *table, uint32_t i)
{
	struct pending_entry *e = &table->entries[i];

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
age_append(struct pending_table *table, uint32_t i)
{
	struct pending_entry *e = &table->entries[i];

	table->mark_changes += marks_differ(table, table->newest, i);
	e->older = table->newest;
	e->newer = NIL;
	if (table->newest != NIL)
		table->entries[table->newest].newer = i;
	else
		table->oldest = i;
	table->newest = i;
}

static void
chain_unlink(struct pending_table *table, uint32_t i)
{
	uint32_t *link = bucket_of(table, table->entries[i].hash_low);

	while (*link != NIL && *link != i)
		link = &table->entries[*link].chain_next;
	if (*link == i)
		*link = table->entries[i].chain_next;
	table->entries[i].chain_next = NIL;
}

static void
chain_push(struct pending_table *table, uint32_t i)
{
	uint32_t *head = bucket_of(table, table->entries[i].hash_low);

	table->entries[i].chain_next = *head;
	*head = i;
}

static void
entry_remove(struct pending_table *table, uint32_t i)
{
	chain_unlink(table, i);
	age_unlink(table, i);
	table->entries[i].chain_next = table->free_list;
	table->free_list = i;
	table->count--;
}

/* Returns an unused entry, or NIL when every entry is in use. */
static uint32_t
entry_take(struct pending_table *table)
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
 * How long before now_ms e last asked (negative: after it).  The 32-bit
 * difference is exact while the true one is within 2^31 ms, which
 * table_asleep() ensures for every entry looked at.
 */
static int64_t
entry_age(const struct pending_entry *e, uint64_t now_ms)
{
	uint32_t age = (uint32_t)now_ms - e->last;

	return age < (1U << 31) ? (int64_t)age : (int64_t)age - (1LL << 32);
}

/*
 * Returns 1 when nobody asked for a timeout or longer before now_ms, so
 * every entry held is dead.  Otherwise every entry held was live at
 * clock_ms, a timeout ago at most: its age is below two timeouts, 2^31 ms.
 */
static int
table_asleep(const struct pending_table *table, uint64_t now_ms)
{
	return now_ms >= table->clock_ms &&
	    now_ms - table->clock_ms >= table->timeout_ms;
}

static int
entry_live(const struct pending_table *table, const struct pending_entry *e,
    uint64_t now_ms)
{
	return entry_age(e, now_ms) < (int64_t)table->timeout_ms;
}

size_t
pending_expire(struct pending_table *table, uint64_t now_ms)
{
	int asleep = table_asleep(table, now_ms);
	size_t expired = 0;

	while (table->oldest != NIL && (asleep ||
	    !entry_live(table, &table->entries[table->oldest], now_ms))) {
		entry_remove(table, table->oldest);
		expired++;
	}
	if (now_ms > table->clock_ms)
		table->clock_ms = now_ms;
	return expired;
}

int
pending_add(struct pending_table *table, const struct dns_question *q,
    const struct pending_client *client, uint64_t now_ms)
{
	uint64_t hash = question_hash(table, q);
	int evicted = 0;
	struct pending_entry *e;
	uint32_t i;

	/* Expire first: an entry found below must not be freed under us. */
	pending_expire(table, now_ms);
	i = *bucket_of(table, (uint32_t)hash);
	for (int walked = 0; i != NIL && walked < PENDING_MAX_WALK; walked++) {
		e = &table->entries[i];
		if (hash_is(e, hash) && e->mark == client->mark)
			break;
		i = e->chain_next;
	}
	if (i != NIL && hash_is(&table->entries[i], hash) &&
	    table->entries[i].mark == client->mark) {
		/* The same mark asks again: newest again, in place in its
		 * chain, which keeps the order in which marks first asked. */
		age_unlink(table, i);
		if (table->refs != NULL && table->refs[i] < UINT16_MAX)
			table->refs[i]++;
	} else {
		if (table->count == table->max_entries) {
			entry_remove(table, table->oldest);
			evicted = 1;
		}
		i = entry_take(table);
		table->count++;
		e = &table->entries[i];
		e->hash_high = (uint32_t)(hash >> 32);
		e->hash_low = (uint32_t)hash;
		e->mark = client->mark;
		chain_push(table, i);
		if (table->refs != NULL)
			table->refs[i] = 1;
	}
	table->entries[i].last = (uint32_t)now_ms;
	if (table->ids != NULL)
		table->ids[i] = client->id;
	if (table->clients != NULL)
		table->clients[i] = client->addr;
	age_append(table, i);
	return evicted;
}

unsigned int
pending_match(struct pending_table *table, const struct dns_question *q,
    uint64_t now_ms, struct pending_match *match)
{
	uint64_t hash = question_hash(table, q);
	uint64_t last_ms = 0, id_ms = 0;
	uint32_t i = *bucket_of(table, (uint32_t)hash), seen_mark = 0;

	memset(match, 0, sizeof(*match));
	if (table_asleep(table, now_ms))
		return 0;
	for (int walked = 0; i != NIL && walked < PENDING_MAX_WALK; walked++) {
		const struct pending_entry *e = &table->entries[i];
		uint32_t at = i;
		uint64_t asked_ms;

		i = e->chain_next;
		if (!hash_is(e, hash) || !entry_live(table, e, now_ms))
			continue;
		asked_ms = now_ms - (uint64_t)entry_age(e, now_ms);
		if (match->count == 0) {
			match->distinct_marks = 1;
			seen_mark = e->mark;
		} else if (e->mark != seen_mark) {
			match->distinct_marks = 2;
		}
		match->count++;
		/* Chains run newest created first: the last met asked first. */
		match->first_mark = e->mark;
		if (asked_ms >= last_ms) {
			if (match->count > 1 && e->mark != match->last_mark &&
			    last_ms > match->other_last_ms)
				match->other_last_ms = last_ms;
			last_ms = asked_ms;
			match->last_mark = e->mark;
		} else if (e->mark != match->last_mark &&
		    asked_ms > match->other_last_ms) {
			match->other_last_ms = asked_ms;
		}
		if (table->ids != NULL && table->ids[at] == q->id &&
		    (!match->id_matched || asked_ms >= id_ms)) {
			match->id_matched = 1;
			match->id_mark = e->mark;
			if (table->clients != NULL)
				match->id_client = table->clients[at];
			id_ms = asked_ms;
		}
	}
	match->last_ms = last_ms;
	return match->count;
}

int
pending_release(struct pending_table *table, const struct dns_question *q,
    uint32_t mark)
{
	uint64_t hash = question_hash(table, q);
	uint32_t i = *bucket_of(table, (uint32_t)hash);

	for (int walked = 0; i != NIL && walked < PENDING_MAX_WALK; walked++) {
		struct pending_entry *e = &table->entries[i];

		if (hash_is(e, hash) && e->mark == mark) {
			if (table->refs != NULL && --table->refs[i] > 0)
				return 0;
			entry_remove(table, i);
			return 1;
		}
		i = e->chain_next;
	}
	return 0;
}

int
pending_single_mark(const struct pending_table *table, uint32_t *mark)
{
	if (table->count == 0 || table->mark_changes != 0)
		return 0;
	*mark = table->entries[table->oldest].mark;
	return 1;
}

size_t
pending_count(const struct pending_table *table)
{
	return table->count;
}

size_t
pending_memory(const struct pending_table *table)
{
	size_t entry = sizeof(*table->entries);

	if (table->ids != NULL)
		entry += sizeof(*table->ids);
	if (table->refs != NULL)
		entry += sizeof(*table->refs);
	if (table->clients != NULL)
		entry += sizeof(*table->clients);
	return sizeof(*table) + (table->max_entries + 1) * entry +
	    (table->bucket_mask + 1) * sizeof(*table->buckets);
}
