/*
 * A question's fast-path key built from dnsmark's parsed question.  It
 * must equal, byte for byte, what fast_key_finish() builds in the kernel
 * from the same question on the wire: the name as parsed (wire form,
 * lower-cased), zero-padded, then type and class in network byte order.
 */
#include <string.h>

#include "fastkey.h"

void
fastkey_from_question(const struct dns_question *q, struct fast_key *key)
{
	size_t len = q->name_len;

	memset(key, 0, sizeof(*key));
	if (len > FAST_NAME_MAX)
		len = FAST_NAME_MAX;
	memcpy(key->name, q->name, len);
	key->qtype[0] = (uint8_t)(q->qtype >> 8);
	key->qtype[1] = (uint8_t)q->qtype;
	key->qclass[0] = (uint8_t)(q->qclass >> 8);
	key->qclass[1] = (uint8_t)q->qclass;
}

uint32_t
fastkey_slot(const struct fast_key *key, uint32_t slots)
{
	return (uint32_t)(fast_key_hash(key) % slots);
}
