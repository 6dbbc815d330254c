/*
 * Unit tests for src/siphash.c against the reference vectors of SipHash-2-4
 * (key 00 01 .. 0f, message 00 01 .. of every length from 0 to 63), plus the
 * properties the pending table relies on: the key matters and alignment
 * does not.
 */
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "siphash.h"

/* The reference implementation's vectors_sip64, read as little-endian. */
static const uint64_t reference[64] = {
	0x726fdb47dd0e0e31ULL,	/* 0 */
	0x74f839c593dc67fdULL,	/* 1 */
	0x0d6c8009d9a94f5aULL,	/* 2 */
	0x85676696d7fb7e2dULL,	/* 3 */
	0xcf2794e0277187b7ULL,	/* 4 */
	0x18765564cd99a68dULL,	/* 5 */
	0xcbc9466e58fee3ceULL,	/* 6 */
	0xab0200f58b01d137ULL,	/* 7 */
	0x93f5f5799a932462ULL,	/* 8 */
	0x9e0082df0ba9e4b0ULL,	/* 9 */
	0x7a5dbbc594ddb9f3ULL,	/* 10 */
	0xf4b32f46226bada7ULL,	/* 11 */
	0x751e8fbc860ee5fbULL,	/* 12 */
	0x14ea5627c0843d90ULL,	/* 13 */
	0xf723ca908e7af2eeULL,	/* 14 */
	0xa129ca6149be45e5ULL,	/* 15 */
	0x3f2acc7f57c29bdbULL,	/* 16 */
	0x699ae9f52cbe4794ULL,	/* 17 */
	0x4bc1b3f0968dd39cULL,	/* 18 */
	0xbb6dc91da77961bdULL,	/* 19 */
	0xbed65cf21aa2ee98ULL,	/* 20 */
	0xd0f2cbb02e3b67c7ULL,	/* 21 */
	0x93536795e3a33e88ULL,	/* 22 */
	0xa80c038ccd5ccec8ULL,	/* 23 */
	0xb8ad50c6f649af94ULL,	/* 24 */
	0xbce192de8a85b8eaULL,	/* 25 */
	0x17d835b85bbb15f3ULL,	/* 26 */
	0x2f2e6163076bcfadULL,	/* 27 */
	0xde4daaaca71dc9a5ULL,	/* 28 */
	0xa6a2506687956571ULL,	/* 29 */
	0xad87a3535c49ef28ULL,	/* 30 */
	0x32d892fad841c342ULL,	/* 31 */
	0x7127512f72f27cceULL,	/* 32 */
	0xa7f32346f95978e3ULL,	/* 33 */
	0x12e0b01abb051238ULL,	/* 34 */
	0x15e034d40fa197aeULL,	/* 35 */
	0x314dffbe0815a3b4ULL,	/* 36 */
	0x027990f029623981ULL,	/* 37 */
	0xcadcd4e59ef40c4dULL,	/* 38 */
	0x9abfd8766a33735cULL,	/* 39 */
	0x0e3ea96b5304a7d0ULL,	/* 40 */
	0xad0c42d6fc585992ULL,	/* 41 */
	0x187306c89bc215a9ULL,	/* 42 */
	0xd4a60abcf3792b95ULL,	/* 43 */
	0xf935451de4f21df2ULL,	/* 44 */
	0xa9538f0419755787ULL,	/* 45 */
	0xdb9acddff56ca510ULL,	/* 46 */
	0xd06c98cd5c0975ebULL,	/* 47 */
	0xe612a3cb9ecba951ULL,	/* 48 */
	0xc766e62cfcadaf96ULL,	/* 49 */
	0xee64435a9752fe72ULL,	/* 50 */
	0xa192d576b245165aULL,	/* 51 */
	0x0a8787bf8ecb74b2ULL,	/* 52 */
	0x81b3e73d20b49b6fULL,	/* 53 */
	0x7fa8220ba3b2eceaULL,	/* 54 */
	0x245731c13ca42499ULL,	/* 55 */
	0xb78dbfaf3a8d83bdULL,	/* 56 */
	0xea1ad565322a1a0bULL,	/* 57 */
	0x60e61c23a3795013ULL,	/* 58 */
	0x6606d7e446282b93ULL,	/* 59 */
	0x6ca4ecb15c5f91e1ULL,	/* 60 */
	0x9f626da15c9625f3ULL,	/* 61 */
	0xe51b38608ef25f57ULL,	/* 62 */
	0x958a324ceb064572ULL,	/* 63 */
};

static void
reference_key(uint8_t key[SIPHASH_KEY_LEN])
{
	for (int i = 0; i < SIPHASH_KEY_LEN; i++)
		key[i] = (uint8_t)i;
}

static void
reference_message(uint8_t *message, size_t len)
{
	for (size_t i = 0; i < len; i++)
		message[i] = (uint8_t)i;
}

Test(siphash, matches_reference_vectors)
{
	uint8_t key[SIPHASH_KEY_LEN], message[64];

	reference_key(key);
	reference_message(message, sizeof(message));
	for (size_t len = 0; len < 64; len++)
		cr_assert_eq(siphash24(key, message, len), reference[len],
		    "length %zu: got 0x%016llx, want 0x%016llx", len,
		    (unsigned long long)siphash24(key, message, len),
		    (unsigned long long)reference[len]);
}

Test(siphash, matches_named_reference_vectors)
{
	static const struct {
		size_t len;
		uint64_t hash;
	} cases[] = {
		{ 0, 0x726fdb47dd0e0e31ULL },
		{ 1, 0x74f839c593dc67fdULL },
		{ 7, 0xab0200f58b01d137ULL },
		{ 8, 0x93f5f5799a932462ULL },
		{ 15, 0xa129ca6149be45e5ULL },
		{ 63, 0x958a324ceb064572ULL },
	};
	uint8_t key[SIPHASH_KEY_LEN], message[64];

	reference_key(key);
	reference_message(message, sizeof(message));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_assert_eq(siphash24(key, message, cases[i].len),
		    cases[i].hash, "length %zu", cases[i].len);
}

Test(siphash, reads_unaligned_data)
{
	uint8_t key[SIPHASH_KEY_LEN], store[64 + 8];

	reference_key(key);
	for (size_t shift = 1; shift < 8; shift++) {
		reference_message(store + shift, 64);
		for (size_t len = 0; len < 64; len++)
			cr_assert_eq(siphash24(key, store + shift, len),
			    reference[len], "offset %zu, length %zu", shift,
			    len);
	}
}

Test(siphash, depends_on_every_key_byte)
{
	uint8_t key[SIPHASH_KEY_LEN], message[15];
	uint64_t base;

	reference_key(key);
	reference_message(message, sizeof(message));
	base = siphash24(key, message, sizeof(message));
	for (int i = 0; i < SIPHASH_KEY_LEN; i++) {
		key[i] ^= 0x01;
		cr_assert_neq(siphash24(key, message, sizeof(message)), base,
		    "flipping key byte %d changed nothing", i);
		key[i] ^= 0x01;
	}
	cr_assert_eq(siphash24(key, message, sizeof(message)), base);
}

Test(siphash, reads_only_len_bytes)
{
	uint8_t key[SIPHASH_KEY_LEN], message[64];

	reference_key(key);
	reference_message(message, sizeof(message));
	/* Bytes after len must not change the hash. */
	for (size_t len = 0; len < 63; len++) {
		message[len] = 0xff;
		cr_assert_eq(siphash24(key, message, len), reference[len],
		    "length %zu read byte %zu", len, len);
		message[len] = (uint8_t)len;
	}
}

Test(siphash, hashes_long_input_consistently)
{
	uint8_t key[SIPHASH_KEY_LEN], message[1000 + 1];
	uint64_t aligned;

	reference_key(key);
	for (size_t i = 0; i < 1000; i++)
		message[i] = (uint8_t)(i * 7);
	aligned = siphash24(key, message, 1000);
	memmove(message + 1, message, 1000);
	cr_assert_eq(siphash24(key, message + 1, 1000), aligned);
	message[1 + 999] ^= 0x80;
	cr_assert_neq(siphash24(key, message + 1, 1000), aligned);
}
