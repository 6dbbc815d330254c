/*
 * The mark of the last query each upstream TCP connection carried, so that
 * the segments after it without a query of their own (acknowledgements, the
 * rest of a long query, FIN) carry it too.  A resolver may send several
 * clients' queries over one connection; the connection itself keeps the
 * mark its SYN got (routing), its segments are marked query by query.
 *
 * A connection whose last query no client could be named for is known
 * as unmarked: its segments carry no client's mark either.
 *
 * Fixed in size: FLOWS_SLOTS slots in sets of FLOWS_WAYS, a connection in
 * the set its keyed hash picks.  A new connection takes an empty slot of
 * its set, else the one used least recently (a connection long closed
 * before one in use); a connection whose slot another took is forgotten,
 * and its segments carry no client's mark.  Pure, no allocation after
 * flows_init().
 */
#ifndef DNSMARK_FLOWS_H
#define DNSMARK_FLOWS_H

#include <stddef.h>
#include <stdint.h>

#include "packet.h"
#include "siphash.h"

#define FLOWS_SLOTS 1024
#define FLOWS_WAYS 4
#define FLOWS_SETS (FLOWS_SLOTS / FLOWS_WAYS)
/* A connection idle this long is forgotten. */
#define FLOWS_IDLE_MS 120000

struct flows_slot {
	uint64_t tag;		/* the connection's keyed hash; 0: empty */
	uint64_t last_ms;
	uint32_t mark;
	int marked;		/* 0: its last query went unmarked */
};

struct flows {
	uint8_t key[SIPHASH_KEY_LEN];
	struct flows_slot slot[FLOWS_SLOTS];
};

void flows_init(struct flows *flows, const uint8_t key[SIPHASH_KEY_LEN]);

/* The connection from src to dst now carries mark. */
void flows_set(struct flows *flows, const struct packet_endpoint *src,
    const struct packet_endpoint *dst, uint32_t mark, uint64_t now_ms);

/* The connection from src to dst now carries a query of nobody known. */
void flows_set_unmarked(struct flows *flows, const struct packet_endpoint *src,
    const struct packet_endpoint *dst, uint64_t now_ms);

/*
 * Returns 1 and the connection's last mark in *mark, -1 when its last query
 * went unmarked, or 0 when the connection is unknown.
 */
int flows_get(struct flows *flows, const struct packet_endpoint *src,
    const struct packet_endpoint *dst, uint32_t *mark, uint64_t now_ms);

/* Forgets the connection (it ends, or a new one takes its addresses). */
void flows_forget(struct flows *flows, const struct packet_endpoint *src,
    const struct packet_endpoint *dst);

/* The set (0 to FLOWS_SETS - 1) whose slots the connection may take. */
size_t flows_set_index(const struct flows *flows,
    const struct packet_endpoint *src, const struct packet_endpoint *dst);

#endif
