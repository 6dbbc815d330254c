/*
 * Per-connection marks of upstream TCP queries (flows.h): a slot in the set
 * the keyed hash of the connection's addresses and ports picks.
 */
#include <string.h>

#include "flows.h"

void
flows_init(struct flows *flows, const uint8_t key[SIPHASH_KEY_LEN])
{
	memset(flows, 0, sizeof(*flows));
	memcpy(flows->key, key, SIPHASH_KEY_LEN);
}

/* The connection's tag (never 0: 0 marks an empty slot). */
static uint64_t
flow_tag(const struct flows *flows, const struct packet_endpoint *src,
    const struct packet_endpoint *dst)
{
	uint8_t tuple[1 + 2 * (16 + 2)];
	uint64_t tag;

	tuple[0] = src->family;
	memcpy(tuple + 1, src->addr, 16);
	memcpy(tuple + 17, dst->addr, 16);
	tuple[33] = (uint8_t)(src->port >> 8);
	tuple[34] = (uint8_t)src->port;
	tuple[35] = (uint8_t)(dst->port >> 8);
	tuple[36] = (uint8_t)dst->port;
	tag = siphash24(flows->key, tuple, sizeof(tuple));
	return tag != 0 ? tag : 1;
}

/* The first of the FLOWS_WAYS slots of tag's set. */
static struct flows_slot *
flow_set(struct flows *flows, uint64_t tag)
{
	return &flows->slot[(tag % FLOWS_SETS) * FLOWS_WAYS];
}

/* The slot holding tag, or NULL. */
static struct flows_slot *
flow_find(struct flows *flows, uint64_t tag)
{
	struct flows_slot *set = flow_set(flows, tag);

	for (size_t way = 0; way < FLOWS_WAYS; way++)
		if (set[way].tag == tag)
			return &set[way];
	return NULL;
}

/* The slot for tag: its own, else an empty one of its set, else the one
 * used least recently there. */
static struct flows_slot *
flow_take(struct flows *flows, uint64_t tag)
{
	struct flows_slot *set = flow_set(flows, tag);
	struct flows_slot *empty = NULL, *oldest = &set[0];

	for (size_t way = 0; way < FLOWS_WAYS; way++) {
		if (set[way].tag == tag)
			return &set[way];
		if (set[way].tag == 0) {
			if (empty == NULL)
				empty = &set[way];
		} else if (set[way].last_ms < oldest->last_ms) {
			oldest = &set[way];
		}
	}
	return empty != NULL ? empty : oldest;
}

void
flows_set(struct flows *flows, const struct packet_endpoint *src,
    const struct packet_endpoint *dst, uint32_t mark, uint64_t now_ms)
{
	uint64_t tag = flow_tag(flows, src, dst);
	struct flows_slot *slot = flow_take(flows, tag);

	slot->tag = tag;
	slot->mark = mark;
	slot->marked = 1;
	slot->last_ms = now_ms;
}

void
flows_set_unmarked(struct flows *flows, const struct packet_endpoint *src,
    const struct packet_endpoint *dst, uint64_t now_ms)
{
	uint64_t tag = flow_tag(flows, src, dst);
	struct flows_slot *slot = flow_take(flows, tag);

	slot->tag = tag;
	slot->mark = 0;
	slot->marked = 0;
	slot->last_ms = now_ms;
}

int
flows_get(struct flows *flows, const struct packet_endpoint *src,
    const struct packet_endpoint *dst, uint32_t *mark, uint64_t now_ms)
{
	struct flows_slot *slot = flow_find(flows, flow_tag(flows, src, dst));

	if (slot == NULL)
		return 0;
	if (now_ms - slot->last_ms >= FLOWS_IDLE_MS) {
		slot->tag = 0;
		return 0;
	}
	slot->last_ms = now_ms;
	if (!slot->marked)
		return -1;
	*mark = slot->mark;
	return 1;
}

void
flows_forget(struct flows *flows, const struct packet_endpoint *src,
    const struct packet_endpoint *dst)
{
	struct flows_slot *slot = flow_find(flows, flow_tag(flows, src, dst));

	if (slot != NULL)
		slot->tag = 0;
}

size_t
flows_set_index(const struct flows *flows, const struct packet_endpoint *src,
    const struct packet_endpoint *dst)
{
	return (size_t)(flow_tag(flows, src, dst) % FLOWS_SETS);
}
