/*
 * Upstream queries judged as the kernel queued them, waiting for their
 * packet (early.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "early.h"

int
early_init(struct early *early, const uint8_t key[SIPHASH_KEY_LEN])
{
	early->slots = calloc(EARLY_SLOTS, sizeof(*early->slots));
	memcpy(early->key, key, SIPHASH_KEY_LEN);
	return early->slots != NULL ? 0 : -ENOMEM;
}

void
early_free(struct early *early)
{
	free(early->slots);
	early->slots = NULL;
}

size_t
early_memory(const struct early *early)
{
	return early->slots != NULL ? EARLY_SLOTS * sizeof(*early->slots) : 0;
}

/*
 * Who sent which question: both ends, the DNS id, type, class and name.
 * Never 0 (a free slot's key).
 */
static uint64_t
early_key(const struct early *early, const struct packet_info *info,
    const struct dns_question *q)
{
	uint8_t buf[2 * (1 + 16 + 2) + 2 + 2 + 2 + 1 + DNS_NAME_MAX];
	size_t len = 0;
	const struct packet_endpoint *ends[2] = { &info->src, &info->dst };
	uint64_t hash;

	for (int i = 0; i < 2; i++) {
		buf[len++] = ends[i]->family;
		memcpy(buf + len, ends[i]->addr, 16);
		len += 16;
		buf[len++] = (uint8_t)(ends[i]->port >> 8);
		buf[len++] = (uint8_t)ends[i]->port;
	}
	buf[len++] = (uint8_t)(q->id >> 8);
	buf[len++] = (uint8_t)q->id;
	buf[len++] = (uint8_t)(q->qtype >> 8);
	buf[len++] = (uint8_t)q->qtype;
	buf[len++] = (uint8_t)(q->qclass >> 8);
	buf[len++] = (uint8_t)q->qclass;
	buf[len++] = q->name_len;
	memcpy(buf + len, q->name, q->name_len);
	len += q->name_len;
	hash = siphash24(early->key, buf, len);
	return hash != 0 ? hash : 1;
}

static int
early_live(const struct early_entry *entry, uint64_t now_ms)
{
	return entry->key != 0 && now_ms - entry->time_ms <= EARLY_MAX_AGE_MS;
}

int
early_put(struct early *early, const struct packet_info *info,
    const struct dns_question *q, const struct attrib_result *result,
    uint64_t now_ms)
{
	uint64_t key = early_key(early, info, q);
	struct early_entry *entry = &early->slots[key % EARLY_SLOTS];
	int displaced = entry->key != key && early_live(entry, now_ms);

	entry->key = key;
	entry->time_ms = now_ms;
	entry->result = *result;
	return displaced;
}

int
early_take(struct early *early, const struct packet_info *info,
    const struct dns_question *q, uint64_t now_ms,
    struct attrib_result *result)
{
	uint64_t key = early_key(early, info, q);
	struct early_entry *entry = &early->slots[key % EARLY_SLOTS];

	if (entry->key != key || !early_live(entry, now_ms))
		return 0;
	*result = entry->result;
	entry->key = 0;
	return 1;
}
