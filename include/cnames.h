/*
 * The CNAMEs upstream answers showed, remembered longer than a question
 * lives: a resolver that has a CNAME in its cache follows it at once when
 * a client asks the name again, and asks upstream only for the target,
 * whose record expired first.  The target is what names that client then.
 * A fixed table, allocated once, the least recently taught entry evicted
 * first; pure: no sockets, no allocation after cnames_new().
 */
#ifndef DNSMARK_CNAMES_H
#define DNSMARK_CNAMES_H

#include <stddef.h>
#include <stdint.h>

#include "dns.h"
#include "siphash.h"

/* How long a CNAME is remembered after an answer last showed it. */
#define CNAMES_KEEP_MS (600u * 1000u)
/* Links followed from one name, at most (a chain of CDN names). */
#define CNAMES_MAX_CHAIN 8

struct cnames;

/*
 * Creates a table of at most max_entries CNAMEs (max_entries >= 1),
 * hashed under key, each kept keep_ms after it was last taught.  Returns
 * NULL when out of memory.  The caller frees it with cnames_free().
 */
struct cnames *cnames_new(size_t max_entries, uint64_t keep_ms,
    const uint8_t key[SIPHASH_KEY_LEN]);

/* Frees table; NULL is a no-op. */
void cnames_free(struct cnames *table);

/*
 * Remembers that owner[0..owner_len) is a CNAME for target[0..target_len)
 * (wire names in lower case), replacing what owner pointed to before.
 * Returns 1 when an entry was evicted to make room, else 0.
 */
int cnames_teach(struct cnames *table, const uint8_t *owner, size_t owner_len,
    const uint8_t *target, size_t target_len, uint64_t now_ms);

/*
 * Follows the CNAMEs from name[0..len): fills targets[0..n) with pointers
 * to the live targets in chain order, at most max (and at most
 * CNAMES_MAX_CHAIN, a loop ends it).  The pointers stay valid until the
 * table is next taught.  Returns n.
 */
size_t cnames_follow(struct cnames *table, const uint8_t *name, size_t len,
    uint64_t now_ms, const uint8_t **targets, uint8_t *target_lens,
    size_t max);

/* Returns the entries held. */
size_t cnames_count(const struct cnames *table);

/* Returns the bytes the table takes. */
size_t cnames_memory(const struct cnames *table);

#endif
