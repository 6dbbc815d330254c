/*
 * Unit tests for src/fastkey.c: the key dnsmark builds from a question it
 * parsed must be, byte for byte, the key the BPF programs build from the
 * same message on the wire (src/bpf/fast.h, run here natively), or the
 * kernel would never see the TCP clients' questions dnsmark tells it of.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "dns.h"
#include "fastconf.h"
#include "fastkey.h"
#include "wire.h"

#define TYPE_A 1
#define TYPE_AAAA 28
#define TYPE_HTTPS 65

/* The programs' key for the query of w, or 0 when they reject it. */
static int
kernel_key(const struct wire *w, struct fast_key *key)
{
	size_t have = w->len - FAST_DNS_HEADER;

	memset(key, 0, sizeof(*key));
	if (have > FAST_QUESTION_MAX)
		have = FAST_QUESTION_MAX;
	memcpy(key, w->buf + FAST_DNS_HEADER, have);
	return fast_key_finish(key, (__u32)have,
	    fast_name_length((const __u8 *)key));
}

/* dnsmark's key for the query of w. */
static void
parsed_key(const struct wire *w, struct fast_key *key)
{
	struct dns_question q;

	cr_assert_eq(dns_parse_question(w->buf, w->len, &q), DNS_OK);
	/* Junk first: every byte must be written. */
	memset(key, 0xa5, sizeof(*key));
	fastkey_from_question(&q, key);
}

static void
query(struct wire *w, const char *name, uint16_t qtype)
{
	memset(w, 0, sizeof(*w));
	wire_header(w, 0x1234, 0x0100, 1, 0, 0, 0);
	wire_question(w, name, qtype);
}

static void
assert_same_key(const char *name, uint16_t qtype)
{
	struct fast_key kernel, parsed;
	struct wire w;

	query(&w, name, qtype);
	cr_assert_gt(kernel_key(&w, &kernel), 0, "%s", name);
	parsed_key(&w, &parsed);
	cr_assert_eq(memcmp(&kernel, &parsed, sizeof(kernel)), 0, "%s", name);
	cr_assert_eq(fastkey_slot(&parsed, FASTCONF_DOUBTS),
	    fast_key_hash(&kernel) % FASTCONF_DOUBTS);
}

Test(fastkey, equals_the_kernels_key_for_the_same_question)
{
	assert_same_key("www.example.test", TYPE_A);
	assert_same_key("WwW.ExAmPlE.TeSt", TYPE_AAAA);
	assert_same_key(".", TYPE_A);
	assert_same_key("_dns.resolver.arpa", TYPE_HTTPS);
	assert_same_key("a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p", TYPE_A);
}

Test(fastkey, equals_the_kernels_key_for_names_of_every_length)
{
	char name[300];

	/* Labels of 9 letters and a dot: lengths up to the 255-byte limit. */
	for (size_t labels = 1; labels <= 25; labels++) {
		size_t at = 0;

		for (size_t i = 0; i < labels; i++) {
			memcpy(name + at, "AbCdEfGhI.", 10);
			at += 10;
		}
		name[at - 1] = '\0';
		assert_same_key(name, TYPE_A);
	}
}

Test(fastkey, folds_case_as_the_kernel_does)
{
	struct fast_key lower, upper;
	struct wire w;

	query(&w, "www.example.test", TYPE_A);
	parsed_key(&w, &lower);
	query(&w, "WWW.EXAMPLE.TEST", TYPE_A);
	parsed_key(&w, &upper);
	cr_assert_eq(memcmp(&lower, &upper, sizeof(lower)), 0);
}

Test(fastkey, tells_types_apart)
{
	struct fast_key a, aaaa;
	struct wire w;

	query(&w, "www.example.test", TYPE_A);
	parsed_key(&w, &a);
	query(&w, "www.example.test", TYPE_AAAA);
	parsed_key(&w, &aaaa);
	cr_assert_neq(memcmp(&a, &aaaa, sizeof(a)), 0);
	cr_assert_eq(a.qtype[0], 0);
	cr_assert_eq(a.qtype[1], TYPE_A);
	cr_assert_eq(aaaa.qtype[1], TYPE_AAAA);
	cr_assert_eq(a.qclass[1], 1);
}

Test(fastkey, slots_stay_within_the_table)
{
	struct fast_key key;
	struct wire w;
	char name[64];

	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "n%d.example.test", i);
		query(&w, name, TYPE_A);
		parsed_key(&w, &key);
		cr_assert_lt(fastkey_slot(&key, FASTCONF_DOUBTS),
		    FASTCONF_DOUBTS);
	}
}

Test(fastkey, spreads_names_over_the_slots)
{
	static unsigned char used[FASTCONF_DOUBTS];
	struct fast_key key;
	struct wire w;
	char name[64];
	int distinct = 0;

	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "c%d.own.test", i);
		query(&w, name, TYPE_A);
		parsed_key(&w, &key);
		distinct += !used[fastkey_slot(&key, FASTCONF_DOUBTS)]++;
	}
	/* 1000 names in 4096 slots: about 890 distinct if spread at random. */
	cr_assert_gt(distinct, 850);
}
