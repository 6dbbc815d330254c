/*
 * The kernel fast path's key of a question, as dnsmark builds it from a
 * question it parsed (a TCP client's, from the queue) to tell the BPF
 * programs of it: the same bytes the programs build from a packet
 * (src/bpf/fast.h), so that both find the same slot.  Pure.
 */
#ifndef DNSMARK_FASTKEY_H
#define DNSMARK_FASTKEY_H

#include <stdint.h>

#include "dns.h"
#include "fast.h"

/* Fills *key with q's name (lower-cased already), type and class. */
void fastkey_from_question(const struct dns_question *q,
    struct fast_key *key);

/* Returns the slot of the table of TCP clients' questions for key, of
 * slots (a power of two). */
uint32_t fastkey_slot(const struct fast_key *key, uint32_t slots);

#endif
