/*
 * The pending table: one entry per (question, mark), in a hash table keyed
 * with SipHash and a list ordered by last use, so that expiry and eviction
 * of the oldest are O(1).  Everything is allocated up front by pending_new();
 * nothing here allocates afterwards.  Questions are compared by their 64-bit
 * keyed hash alone: a false match needs a collision that nobody without the
 * key can aim for (chance 2^-64 per pair).
 */
#include <stdlib.h>
#include <string.h>

#include "pending.h"

#define NIL 0u			/* list and chain end; entries count from 1 */
#define PENDING_MAX_WALK 64	/* entries looked at in one bucket chain */

struct pending_entry {
	uint64_t hash;		/* SipHash of name, type and class */
	uint64_t first_ms;	/* when this mark first asked */
	uint64_t last_ms;	/* when this mark last asked */
	uint32_t mark;
	uint32_t chain_next;	/* next in bucket, newest first; or free list */
	uint32_t older;		/* neighbours by last_ms */
	uint32_t newer;
	struct packet_endpoint client;	/* the last client asking */
	uint16_t id;		/* the last client's DNS id */
	uint16_t refs;		/* asks not yet released (saturating) */
};

/* How many entries carry one mark: to know whether only one mark waits. */
struct pending_mark {
	uint32_t mark;
	uint32_t refs;
	uint32_t next;		/* next in bucket, or free list */
};

struct pending_table {
	struct pending_entry *entries;	/* entries[0] unused: index 0 is NIL */
	struct pending_mark *marks;	/* marks[0] unused */
	uint32_t *mark_buckets;
	size_t distinct_marks;
	uint32_t *buckets;
	size_t bucket_mask;
	size_t max_entries;
	size_t count;
	uint64_t timeout_ms;
	uint32_t oldest;
	uint32_t newest;
	uint32_t free_list;
	uint32_t mark_free;
	uint8_t key[SIPHASH_KEY_LEN];
};

struct pending_table *
pending_new(size_t max_entries, uint64_t timeout_ms,
    const uint8_t key[SIPHASH_KEY_LEN])
{
	struct pending_table *table;
	size_t buckets = 1;

	if (max_entries == 0 || max_entries >= UINT32_MAX / 4)
		return NULL;
	while (buckets < 2 * max_entries)
		buckets <<= 1;
	table = calloc(1, sizeof(*table));
	if (table == NULL)
		return NULL;
	table->entries = calloc(max_entries + 1, sizeof(*table->entries));
	table->buckets = calloc(buckets, sizeof(*table->buckets));
	table->marks = calloc(max_entries + 1, sizeof(*table->marks));
	table->mark_buckets = calloc(buckets / 2, sizeof(*table->mark_buckets));
	if (table->entries == NULL || table->buckets == NULL ||
	    table->marks == NULL || table->mark_buckets == NULL) {
		pending_free(table);
		return NULL;
	}
	table->bucket_mask = buckets - 1;
	table->max_entries = max_entries;
	table->timeout_ms = timeout_ms;
	memcpy(table->key, key, SIPHASH_KEY_LEN);
	for (size_t i = max_entries; i >= 1; i--) {
		table->entries[i].chain_next = table->free_list;
		table->free_list = (uint32_t)i;
		table->marks[i].next = table->mark_free;
		table->mark_free = (uint32_t)i;
	}
	return table;
}

void
pending_free(struct pending_table *table)
{
	if (table == NULL)
		return;
	free(table->entries);
	free(table->buckets);
	free(table->marks);
	free(table->mark_buckets);
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

static uint32_t *
bucket_of(struct pending_table *table, uint64_t hash)
{
	return &table->buckets[hash & table->bucket_mask];
}

static void
age_unlink(struct pending_table *table, uint32_t i)
{
	struct pending_entry *e = &table->entries[i];

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
	uint32_t *link = bucket_of(table, table->entries[i].hash);

	while (*link != NIL && *link != i)
		link = &table->entries[*link].chain_next;
	if (*link == i)
		*link = table->entries[i].chain_next;
	table->entries[i].chain_next = NIL;
}

static void
chain_push(struct pending_table *table, uint32_t i)
{
	uint32_t *head = bucket_of(table, table->entries[i].hash);

	table->entries[i].chain_next = *head;
	*head = i;
}

static uint32_t *
mark_bucket(struct pending_table *table, uint32_t mark)
{
	uint64_t hash = siphash24(table->key, &mark, sizeof(mark));

	return &table->mark_buckets[hash & (table->bucket_mask >> 1)];
}

/* Counts one more entry with mark; a node is free for every entry. */
static void
mark_ref(struct pending_table *table, uint32_t mark)
{
	uint32_t *head = mark_bucket(table, mark), i;

	for (i = *head; i != NIL; i = table->marks[i].next) {
		if (table->marks[i].mark == mark) {
			table->marks[i].refs++;
			return;
		}
	}
	i = table->mark_free;
	table->mark_free = table->marks[i].next;
	table->marks[i].mark = mark;
	table->marks[i].refs = 1;
	table->marks[i].next = *head;
	*head = i;
	table->distinct_marks++;
}

static void
mark_unref(struct pending_table *table, uint32_t mark)
{
	uint32_t *link = mark_bucket(table, mark), i;

	while ((i = *link) != NIL && table->marks[i].mark != mark)
		link = &table->marks[i].next;
	if (i == NIL || --table->marks[i].refs > 0)
		return;
	*link = table->marks[i].next;
	table->marks[i].next = table->mark_free;
	table->mark_free = i;
	table->distinct_marks--;
}

static void
entry_remove(struct pending_table *table, uint32_t i)
{
	mark_unref(table, table->entries[i].mark);
	chain_unlink(table, i);
	age_unlink(table, i);
	table->entries[i].chain_next = table->free_list;
	table->free_list = i;
	table->count--;
}

static int
entry_live(const struct pending_table *table, const struct pending_entry *e,
    uint64_t now_ms)
{
	return now_ms < e->last_ms + table->timeout_ms;
}

size_t
pending_expire(struct pending_table *table, uint64_t now_ms)
{
	size_t expired = 0;

	while (table->oldest != NIL &&
	    !entry_live(table, &table->entries[table->oldest], now_ms)) {
		entry_remove(table, table->oldest);
		expired++;
	}
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
	i = *bucket_of(table, hash);
	for (int walked = 0; i != NIL && walked < PENDING_MAX_WALK; walked++) {
		e = &table->entries[i];
		if (e->hash == hash && e->mark == client->mark)
			break;
		i = e->chain_next;
	}
	if (i != NIL && table->entries[i].hash == hash &&
	    table->entries[i].mark == client->mark) {
		/* The same mark asks again: refresh, newest again. */
		chain_unlink(table, i);
		age_unlink(table, i);
		if (table->entries[i].refs < UINT16_MAX)
			table->entries[i].refs++;
	} else {
		if (table->free_list == NIL) {
			entry_remove(table, table->oldest);
			evicted = 1;
		}
		i = table->free_list;
		table->free_list = table->entries[i].chain_next;
		table->count++;
		e = &table->entries[i];
		e->hash = hash;
		e->mark = client->mark;
		e->first_ms = now_ms;
		e->refs = 1;
		mark_ref(table, client->mark);
	}
	e = &table->entries[i];
	e->last_ms = now_ms;
	e->client = client->addr;
	e->id = client->id;
	chain_push(table, i);
	age_append(table, i);
	return evicted;
}

unsigned int
pending_match(struct pending_table *table, const struct dns_question *q,
    uint64_t now_ms, struct pending_match *match)
{
	uint64_t hash = question_hash(table, q);
	uint64_t first_ms = UINT64_MAX, last_ms = 0, id_ms = 0;
	uint32_t i = *bucket_of(table, hash), seen_mark = 0;

	memset(match, 0, sizeof(*match));
	for (int walked = 0; i != NIL && walked < PENDING_MAX_WALK; walked++) {
		const struct pending_entry *e = &table->entries[i];

		i = e->chain_next;
		if (e->hash != hash || !entry_live(table, e, now_ms))
			continue;
		if (match->count == 0) {
			match->distinct_marks = 1;
			seen_mark = e->mark;
		} else if (e->mark != seen_mark) {
			match->distinct_marks = 2;
		}
		match->count++;
		if (e->first_ms < first_ms) {
			first_ms = e->first_ms;
			match->first_mark = e->mark;
		}
		if (e->last_ms >= last_ms) {
			if (match->count > 1 && e->mark != match->last_mark &&
			    last_ms > match->other_last_ms)
				match->other_last_ms = last_ms;
			last_ms = e->last_ms;
			match->last_mark = e->mark;
		} else if (e->mark != match->last_mark &&
		    e->last_ms > match->other_last_ms) {
			match->other_last_ms = e->last_ms;
		}
		if (e->id == q->id && (!match->id_matched || e->last_ms >= id_ms)) {
			match->id_matched = 1;
			match->id_mark = e->mark;
			match->id_client = e->client;
			id_ms = e->last_ms;
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
	uint32_t i = *bucket_of(table, hash);

	for (int walked = 0; i != NIL && walked < PENDING_MAX_WALK; walked++) {
		struct pending_entry *e = &table->entries[i];

		if (e->hash == hash && e->mark == mark) {
			if (--e->refs > 0)
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
	if (table->distinct_marks != 1)
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
	return sizeof(*table) +
	    (table->max_entries + 1) *
	    (sizeof(*table->entries) + sizeof(*table->marks)) +
	    (table->bucket_mask + 1) * sizeof(*table->buckets) +
	    (table->bucket_mask + 1) / 2 * sizeof(*table->mark_buckets);
}
