/*
 * Upstream queries judged as the kernel queued them (bpf mode): the fast
 * path's classify program writes each query it leaves to the queue into the
 * ring, in order with the client queries and answers around it, so dnsmark
 * judges it as things stood when the resolver sent it, not when the queued
 * packet is read (by then the resolver may have answered the client it
 * asked for, a fraction of a millisecond after the query, and that client
 * no longer counts as waiting).  The result waits here for its packet.
 * A fixed table, allocated once: a newer entry takes an older one's slot,
 * whose packet is then judged when it is read, as without this table.
 */
#ifndef DNSMARK_EARLY_H
#define DNSMARK_EARLY_H

#include <stddef.h>
#include <stdint.h>

#include "attrib.h"
#include "dns.h"
#include "packet.h"
#include "siphash.h"

/* Slots: queued queries read from the ring whose packet is not yet read
 * (those of one batch; a thousand is a queue's default length). */
#define EARLY_SLOTS 1024
/* A result older than this is no packet's any more (it was not queued). */
#define EARLY_MAX_AGE_MS 1000

struct early_entry {
	uint64_t key;		/* who sent which question; 0: free */
	uint64_t time_ms;
	struct attrib_result result;
};

struct early {
	struct early_entry *slots;	/* EARLY_SLOTS */
	uint8_t key[SIPHASH_KEY_LEN];
};

/* Allocates the table, hashed with key.  Returns 0 or -ENOMEM. */
int early_init(struct early *early, const uint8_t key[SIPHASH_KEY_LEN]);

void early_free(struct early *early);

size_t early_memory(const struct early *early);

/*
 * Files result for the query q that info's packet carries, judged at
 * now_ms.  Returns 1 when it took the slot of a live entry (that one's
 * packet is judged when read), else 0.
 */
int early_put(struct early *early, const struct packet_info *info,
    const struct dns_question *q, const struct attrib_result *result,
    uint64_t now_ms);

/*
 * Takes the result filed for the query q that info's packet carries, when
 * one is there, not older than EARLY_MAX_AGE_MS at now_ms.  Returns 1 and
 * sets *result, or 0.
 */
int early_take(struct early *early, const struct packet_info *info,
    const struct dns_question *q, uint64_t now_ms,
    struct attrib_result *result);

#endif
