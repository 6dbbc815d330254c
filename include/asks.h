/*
 * A table of asks: who asked what, with which mark, and when.  Each kind of
 * evidence dnsmark keeps (the questions clients wait on, the names on the
 * way to them, names learned from responses, the resolver's own queries,
 * the marks that just asked over TCP ...) is one such table, keyed by a
 * question (name, type, class) and holding one entry per (question, mark).
 * All memory is allocated by asks_new(); adding, matching and expiring never
 * allocate.  A full table evicts its oldest entry.  Pure: time is passed in
 * by the caller.  A table keeps only the fields it is made with (ASKS_IDS,
 * ...), so that each kind of evidence pays for what it uses.
 */
#ifndef DNSMARK_ASKS_H
#define DNSMARK_ASKS_H

#include <stddef.h>
#include <stdint.h>

#include "dns.h"
#include "packet.h"
#include "siphash.h"

struct asks;

/* What a table keeps beyond question, mark and time (asks_new()). */
#define ASKS_IDS 0x1		/* the client's DNS id: id_matched, id_mark */
#define ASKS_REFS 0x2		/* how many asks asks_release() must undo */
#define ASKS_CLIENTS 0x4	/* the client's address: id_client */
#define ASKS_TAGS 0x8		/* a keyed 32-bit hash of the client's address
				 * and port: asks_find_client() */
#define ASKS_SINCE 0x20	/* with ASKS_REFS: when the oldest ask not yet
				 * released was made; asked again after the
				 * timeout, the entry's open asks are over
				 * (the drop callback hears of them) */
#define ASKS_ALL (ASKS_IDS | ASKS_REFS | ASKS_CLIENTS | ASKS_TAGS | ASKS_SINCE)
/* Not a field: the DNS id is part of the key, so that each query of a
 * question and mark is an entry of its own (asks_match() finds the one
 * with the id asked for, and others only where their ids are equal). */
#define ASKS_BY_ID 0x10

/* Entries in one table at most (they are numbered in 32 bits). */
#define ASKS_MAX_ENTRIES (1UL << 30)
/* The longest timeout: times are kept in 32 bits of milliseconds. */
#define ASKS_MAX_TIMEOUT_MS (1ULL << 30)
/*
 * Entries of one question looked at, at most, by one match: past that many
 * marks asking the same question, the match says "several marks" (never
 * one it could not check against the rest).
 */
#define ASKS_MAX_WALK 256

/* What one client asked. */
struct asks_client {
	struct packet_endpoint addr;
	uint16_t id;		/* the client's DNS id */
	uint32_t mark;		/* the client's mark (0 is a mark too) */
};

/* A summary of a set of entries (asks_match(), asks_summary()). */
struct asks_marks {
	unsigned int count;		/* entries in the set */
	unsigned int distinct_marks;	/* 0, 1 or 2 (2 means "two or more") */
	uint32_t first_mark;		/* mark whose last ask is the oldest */
	uint32_t last_mark;		/* mark of the newest entry */
	int id_matched;			/* an entry's DNS id equals the query's */
	uint32_t id_mark;		/* mark of the newest such entry */
	struct packet_endpoint id_client; /* and the address it holds */
	uint64_t first_ms;		/* ... when it asked */
	uint64_t last_ms;		/* when the newest entry's mark last asked */
	uint64_t other_last_ms;		/* ... and the newest of any other mark */
	/* Of entries answered a moment ago (the grace, asks_set_grace()):
	 * how many, the mark answered (or worked for since) last, when, and
	 * the newest such time of any other mark (0: none). */
	unsigned int answered_count;
	uint32_t answered_mark;
	uint64_t answered_ms;
	uint64_t other_answered_ms;
};

/*
 * What asks_match() found among the live entries asking one question: all
 * of them, those whose client is waiting for an answer (asks_waiting()),
 * and of those the ones not answered yet (not merely in the grace after
 * an answer, asks_set_grace()).
 */
struct asks_match {
	struct asks_marks all;
	struct asks_marks waiting;
	struct asks_marks unanswered;
};

/*
 * Creates a table holding at most max_entries asks, each living timeout_ms
 * after it was last added, hashed under key, keeping the fields named in
 * the ASKS_* bits of fields.  Without ASKS_IDS no DNS id ever matches;
 * without ASKS_CLIENTS id_client is all zero; without ASKS_REFS the first
 * asks_release() of an entry removes it.  Returns NULL on allocation
 * failure, when max_entries is 0 or above ASKS_MAX_ENTRIES, or timeout_ms
 * above ASKS_MAX_TIMEOUT_MS.  Free with asks_free().
 */
struct asks *asks_new(size_t max_entries, uint64_t timeout_ms,
    unsigned int fields, const uint8_t key[SIPHASH_KEY_LEN]);

/* Frees the table; asks_free(NULL) does nothing. */
void asks_free(struct asks *table);

/*
 * Says when an entry's client counts as waiting for its answer (the
 * waiting set of asks_match()): it asked less than ask_ms ago (the
 * resolver has not had the time to answer it from its cache), or a query
 * for it went upstream with its mark less than engaged_ms ago
 * (asks_engage()).  Both 0 (the default): nobody counts as waiting.
 */
void asks_set_waiting(struct asks *table, uint64_t ask_ms,
    uint64_t engaged_ms);

/*
 * A further condition for waiting: an entry whose client would count as
 * waiting (asks_set_waiting()) counts only when still_waiting(arg, its
 * mark, the time) returns non-zero.  NULL (the default): no further
 * condition.
 */
typedef int (*asks_mark_check)(void *arg, uint32_t mark, uint64_t now_ms);
void asks_set_waiting_check(struct asks *table, asks_mark_check still_waiting,
    void *arg);

/*
 * Called for each entry that leaves the table by expiry or eviction (not
 * by asks_release()), with its mark and the asks it still counts (1
 * without ASKS_REFS): what it stood for is over without an answer seen.
 * With ASKS_SINCE, also for an entry asked again more than the timeout
 * after its oldest ask not yet released: those asks are over (timed out,
 * or their answers went unseen), the new one alone counts.
 */
typedef void (*asks_drop_cb)(void *arg, uint32_t mark, unsigned int asks);
void asks_set_on_drop(struct asks *table, asks_drop_cb on_drop, void *arg);

/*
 * Remembers that client asked q at now_ms (a monotonic clock that never
 * goes back; it may pass 2^32 and jump by any amount).  Expires old entries
 * first; when the table is still full, evicts the oldest.  Returns 1 when
 * it evicted a live entry, else 0.
 */
int asks_add(struct asks *table, const struct dns_question *q,
    const struct asks_client *client, uint64_t now_ms);

/*
 * Looks for live entries asking q's name (case-insensitive), type and class
 * at now_ms and summarises them in *match.  When more entries ask q than
 * ASKS_MAX_WALK, both sets say two marks and no DNS id matched.  Returns
 * match->all.count.
 */
unsigned int asks_match(struct asks *table, const struct dns_question *q,
    uint64_t now_ms, struct asks_match *match);

/*
 * A query for q went upstream with mark at now_ms: the entry of q and mark,
 * if there is one, counts as waiting for a while (asks_set_waiting()).
 * Returns 1 when there was one, else 0.
 */
int asks_engage(struct asks *table, const struct dns_question *q,
    uint32_t mark, uint64_t now_ms);

/*
 * Releases one ask of q by mark (its answer was seen): the entry goes when
 * every ask it counts is released.  Returns 1 when it removed the entry,
 * else 0 (still asked, or not there).
 */
int asks_release(struct asks *table, const struct dns_question *q,
    uint32_t mark);

/*
 * Removes every entry asking q, whatever its mark or ask count (what they
 * stood for is over: a truncated question's retry was seen).  Looks at
 * ASKS_MAX_WALK entries of q's chain at most.  Returns how many it removed.
 */
size_t asks_forget(struct asks *table, const struct dns_question *q);

/*
 * Settles one ask of q by mark at now_ms (its client was answered): the
 * entry stays, and counts among those who asked, but once every ask it
 * counts is settled it counts as waiting only for the table's grace
 * (asks_set_grace()) after the last settle, until the mark asks again.
 * For tables made with ASKS_REFS (elsewhere it does nothing).  Returns 1
 * when the entry is now settled, else 0 (still asked, or not there).
 */
int asks_settle(struct asks *table, const struct dns_question *q,
    uint32_t mark, uint64_t now_ms);

/*
 * How long a settled entry still counts as waiting (default 0): what the
 * resolver sends in the moment after an answer (a refresh of the expired
 * record it served, a prefetch) is still that client's.
 */
void asks_set_grace(struct asks *table, uint64_t grace_ms);

/*
 * Returns the asks of q by mark not yet released or settled (1 for a live
 * entry of a table without ASKS_REFS), 0 when there is no live entry.
 */
unsigned int asks_open(struct asks *table, const struct dns_question *q,
    uint32_t mark, uint64_t now_ms);

/*
 * Looks for the live entry of q (case-insensitive name, type and class)
 * whose last client was addr asking with DNS id: the client an answer goes
 * to.  Needs a table made with ASKS_IDS and ASKS_TAGS (the address is
 * compared by its keyed 32-bit hash: a false match needs a collision of 48
 * bits between clients asking the same question).  Returns 1 and sets
 * *mark, else 0.
 */
int asks_find_client(struct asks *table, const struct dns_question *q,
    const struct packet_endpoint *addr, uint16_t id, uint64_t now_ms,
    uint32_t *mark);

/*
 * Summarises every live entry of the table at now_ms, whatever it asked,
 * for tables whose questions stand for a mark (one entry per mark): count,
 * one or several marks, the oldest and newest.  Expires first.
 */
void asks_summary(struct asks *table, uint64_t now_ms,
    struct asks_marks *marks);

/*
 * For a table made with ASKS_REFS: how many marks have asks not yet
 * released or settled at now_ms, 0, 1 (that mark in *mark) or 2 for two or
 * more, or when more than ASKS_OPEN_WALK entries would have to be walked
 * to tell.  Expires first.
 */
#define ASKS_OPEN_WALK (16 * ASKS_MAX_WALK)
unsigned int asks_open_marks(struct asks *table, uint64_t now_ms,
    uint32_t *mark);

/* Drops every entry older than the timeout at now_ms; returns how many. */
size_t asks_expire(struct asks *table, uint64_t now_ms);

/*
 * Returns 1 and sets *mark when every entry held carries the same mark,
 * else 0.  Call asks_expire() first to consider live entries only.
 */
int asks_single_mark(const struct asks *table, uint32_t *mark);

/* Returns the number of entries held. */
size_t asks_count(const struct asks *table);

/* Returns the bytes the table allocated, for the whole table. */
size_t asks_memory(const struct asks *table);

/* Returns the bytes one entry takes in a table made with fields. */
size_t asks_entry_size(unsigned int fields);

#endif
