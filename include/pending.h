/*
 * The table of pending client questions: who asked what, with which mark,
 * and when.  All memory is allocated by pending_new(); adding, matching and
 * expiring never allocate.  A full table evicts its oldest entry.  Pure: time
 * is passed in by the caller.  A table keeps only the fields it is made
 * with (PENDING_IDS, ...), so that each kind of evidence pays for what it
 * uses.
 */
#ifndef DNSMARK_PENDING_H
#define DNSMARK_PENDING_H

#include <stddef.h>
#include <stdint.h>

#include "dns.h"
#include "packet.h"
#include "siphash.h"

struct pending_table;

/* What a table keeps beyond question, mark and time (pending_new()). */
#define PENDING_IDS 0x1		/* the client's DNS id: id_matched, id_mark */
#define PENDING_REFS 0x2	/* how many asks pending_release() must undo */
#define PENDING_CLIENTS 0x4	/* the client's address: id_client */
#define PENDING_ALL (PENDING_IDS | PENDING_REFS | PENDING_CLIENTS)

/* Entries in one table at most (they are numbered in 32 bits). */
#define PENDING_MAX_ENTRIES (1UL << 30)
/* The longest timeout: times are kept in 32 bits of milliseconds. */
#define PENDING_MAX_TIMEOUT_MS (1ULL << 30)

/* What one client asked. */
struct pending_client {
	struct packet_endpoint addr;
	uint16_t id;		/* the client's DNS id */
	uint32_t mark;		/* the client's mark (0 is a mark too) */
};

/* What pending_match() found among the entries asking the same question. */
struct pending_match {
	unsigned int count;		/* live entries asking it */
	unsigned int distinct_marks;	/* 0, 1 or 2 (2 means "two or more") */
	uint32_t first_mark;		/* mark of the oldest entry */
	uint32_t last_mark;		/* mark of the newest entry */
	int id_matched;			/* an entry's DNS id equals the query's */
	uint32_t id_mark;		/* mark of the newest such entry */
	struct packet_endpoint id_client; /* and the address it holds */
	uint64_t last_ms;		/* when the newest entry's mark last asked */
	uint64_t other_last_ms;		/* ... and the newest of any other mark */
};

/*
 * Creates a table holding at most max_entries questions, each living
 * timeout_ms after it was added, hashed under key, keeping the fields named
 * in the PENDING_* bits of fields.  Without PENDING_IDS no DNS id ever
 * matches; without PENDING_CLIENTS id_client is all zero; without
 * PENDING_REFS the first pending_release() of an entry removes it.  Returns
 * NULL on allocation failure, when max_entries is 0 or above
 * PENDING_MAX_ENTRIES, or timeout_ms above PENDING_MAX_TIMEOUT_MS.  Free
 * with pending_free().
 */
struct pending_table *pending_new(size_t max_entries, uint64_t timeout_ms,
    unsigned int fields, const uint8_t key[SIPHASH_KEY_LEN]);

/* Frees the table; pending_free(NULL) does nothing. */
void pending_free(struct pending_table *table);

/*
 * Remembers that client asked q at now_ms (a monotonic clock that never goes
 * back; it may pass 2^32 and jump by any amount).  Expires old entries first; when the table is still full, evicts
 * the oldest.  Returns 1 when it evicted a live entry, else 0.
 */
int pending_add(struct pending_table *table, const struct dns_question *q,
    const struct pending_client *client, uint64_t now_ms);

/*
 * Looks for live entries asking q's name (case-insensitive), type and class
 * at now_ms and summarises them in *match.  Returns match->count.
 */
unsigned int pending_match(struct pending_table *table,
    const struct dns_question *q, uint64_t now_ms, struct pending_match *match);

/*
 * Releases one ask of q by mark (its answer was seen): the entry goes when
 * every ask it counts is released.  Returns 1 when it removed the entry,
 * else 0 (still asked, or not there).
 */
int pending_release(struct pending_table *table, const struct dns_question *q,
    uint32_t mark);

/* Drops every entry older than the timeout at now_ms; returns how many. */
size_t pending_expire(struct pending_table *table, uint64_t now_ms);

/*
 * Returns 1 and sets *mark when every entry held carries the same mark,
 * else 0.  Call pending_expire() first to consider live entries only.
 */
int pending_single_mark(const struct pending_table *table, uint32_t *mark);

/* Returns the number of entries held. */
size_t pending_count(const struct pending_table *table);

/* Returns the bytes the table allocated, for the whole table. */
size_t pending_memory(const struct pending_table *table);

#endif
