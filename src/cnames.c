/*
 * The remembered CNAMEs (cnames.h): an open-addressed table of owner hashes
 * with the target's wire name beside each, and a list by the time each was
 * last taught, so the oldest goes first when the table is full.  Nothing
 * here is read from the network but names the response walk already
 * bounded.
 */
#include <stdlib.h>
#include <string.h>

#include "cnames.h"

#define NIL 0u

struct cnames_entry {
	uint64_t owner;		/* SipHash of the owner's wire name */
	uint64_t taught_ms;
	uint32_t older;		/* neighbours by the time taught */
	uint32_t newer;
	uint32_t chain_next;	/* next in the owner's bucket */
	uint8_t target_len;
	uint8_t target[DNS_NAME_MAX];
};

struct cnames {
	struct cnames_entry *entries;	/* entries[0] unused */
	uint32_t *buckets;
	size_t bucket_mask;
	size_t max_entries;
	size_t count;
	uint32_t fresh;		/* entries fresh..max_entries never used */
	uint32_t free_list;	/* through chain_next */
	uint32_t oldest;
	uint32_t newest;
	uint64_t keep_ms;
	uint8_t key[SIPHASH_KEY_LEN];
};

struct cnames *
cnames_new(size_t max_entries, uint64_t keep_ms,
    const uint8_t key[SIPHASH_KEY_LEN])
{
	struct cnames *table;
	size_t buckets = 1;

	if (max_entries == 0 || max_entries > UINT32_MAX - 1)
		return NULL;
	while (buckets < max_entries)
		buckets <<= 1;
	table = calloc(1, sizeof(*table));
	if (table == NULL)
		return NULL;
	table->entries = calloc(max_entries + 1, sizeof(*table->entries));
	table->buckets = calloc(buckets, sizeof(*table->buckets));
	if (table->entries == NULL || table->buckets == NULL) {
		cnames_free(table);
		return NULL;
	}
	table->bucket_mask = buckets - 1;
	table->max_entries = max_entries;
	table->keep_ms = keep_ms;
	table->fresh = 1;
	memcpy(table->key, key, SIPHASH_KEY_LEN);
	return table;
}

void
cnames_free(struct cnames *table)
{
	if (table == NULL)
		return;
	free(table->entries);
	free(table->buckets);
	free(table);
}

static uint64_t
owner_hash(const struct cnames *table, const uint8_t *name, size_t len)
{
	return siphash24(table->key, name, len);
}

static uint32_t
find(const struct cnames *table, uint64_t owner)
{
	uint32_t i = table->buckets[owner & table->bucket_mask];

	while (i != NIL && table->entries[i].owner != owner)
		i = table->entries[i].chain_next;
	return i;
}

static void
age_unlink(struct cnames *table, uint32_t i)
{
	struct cnames_entry *e = &table->entries[i];

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
age_push(struct cnames *table, uint32_t i)
{
	struct cnames_entry *e = &table->entries[i];

	e->older = table->newest;
	e->newer = NIL;
	if (table->newest != NIL)
		table->entries[table->newest].newer = i;
	else
		table->oldest = i;
	table->newest = i;
}

/* Takes entry i out of its bucket and the age list; it is free again. */
static void
remove_entry(struct cnames *table, uint32_t i)
{
	uint32_t *link = &table->buckets[table->entries[i].owner &
	    table->bucket_mask];

	while (*link != i)
		link = &table->entries[*link].chain_next;
	*link = table->entries[i].chain_next;
	age_unlink(table, i);
	table->entries[i].chain_next = table->free_list;
	table->free_list = i;
	table->count--;
}

/* A slot for a new entry: a freed one, else one never used. */
static uint32_t
take_slot(struct cnames *table)
{
	uint32_t i = table->free_list;

	if (i != NIL)
		table->free_list = table->entries[i].chain_next;
	else
		i = table->fresh++;
	return i;
}

static void
expire(struct cnames *table, uint64_t now_ms)
{
	while (table->oldest != NIL &&
	    now_ms - table->entries[table->oldest].taught_ms >= table->keep_ms)
		remove_entry(table, table->oldest);
}

int
cnames_teach(struct cnames *table, const uint8_t *owner, size_t owner_len,
    const uint8_t *target, size_t target_len, uint64_t now_ms)
{
	uint64_t hash;
	uint32_t i;
	int evicted = 0;

	if (owner_len == 0 || owner_len > DNS_NAME_MAX || target_len == 0 ||
	    target_len > DNS_NAME_MAX)
		return 0;
	expire(table, now_ms);
	hash = owner_hash(table, owner, owner_len);
	i = find(table, hash);
	if (i != NIL) {
		age_unlink(table, i);
	} else {
		if (table->count == table->max_entries) {
			remove_entry(table, table->oldest);
			evicted = 1;
		}
		i = take_slot(table);
		table->entries[i].owner = hash;
		table->entries[i].chain_next =
		    table->buckets[hash & table->bucket_mask];
		table->buckets[hash & table->bucket_mask] = i;
		table->count++;
	}
	table->entries[i].taught_ms = now_ms;
	memcpy(table->entries[i].target, target, target_len);
	table->entries[i].target_len = (uint8_t)target_len;
	age_push(table, i);
	return evicted;
}

size_t
cnames_follow(struct cnames *table, const uint8_t *name, size_t len,
    uint64_t now_ms, const uint8_t **targets, uint8_t *target_lens,
    size_t max)
{
	size_t n = 0;

	expire(table, now_ms);
	if (max > CNAMES_MAX_CHAIN)
		max = CNAMES_MAX_CHAIN;
	while (n < max) {
		uint32_t i = find(table, owner_hash(table, name, len));
		int seen = 0;

		if (i == NIL)
			break;
		name = table->entries[i].target;
		len = table->entries[i].target_len;
		for (size_t k = 0; k < n; k++)
			if (targets[k] == name)
				seen = 1;
		if (seen)
			break;
		targets[n] = name;
		target_lens[n] = (uint8_t)len;
		n++;
	}
	return n;
}

size_t
cnames_count(const struct cnames *table)
{
	return table->count;
}

size_t
cnames_memory(const struct cnames *table)
{
	return sizeof(*table) +
	    (table->max_entries + 1) * sizeof(*table->entries) +
	    (table->bucket_mask + 1) * sizeof(*table->buckets);
}
