/*
 * SipHash-2-4: a keyed hash, so that clients who choose the names cannot
 * choose which bucket of a table they land in.  Pure.
 */
#ifndef DNSMARK_SIPHASH_H
#define DNSMARK_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_LEN 16

/* Returns the SipHash-2-4 of data[0..len) under the 16-byte key. */
uint64_t siphash24(const uint8_t key[SIPHASH_KEY_LEN], const void *data,
    size_t len);

#endif
