/*
 * Hostile input through judge_packet(), the whole packet path: every case
 * of hostile.c is accepted unchanged unless it is a legitimate upstream
 * query of a waiting client, counted in the counter that names it, and
 * teaches no name it should not.  Each packet is fed from a heap copy of
 * exactly its length, so that the sanitizer and valgrind builds catch any
 * read past it.  Afterwards the tables still mark normal traffic.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "hostile.h"
#include "judge.h"

#define MASK 0xffffffffu
#define NORMAL_MARK 0x42

static const uint8_t test_key[SIPHASH_KEY_LEN] = {
	16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1,
};

static uint8_t packet[HOSTILE_PACKET_MAX];

struct bed {
	struct judge judge;
	struct stats stats;
	uint64_t now_ms;
};

static struct judge_verdict
feed(struct bed *bed, unsigned int hook, size_t len, uint32_t mark)
{
	struct judge_packet pkt = { .hook = hook, .len = len, .mark = mark };
	struct judge_verdict verdict;
	uint8_t *exact;

	exact = malloc(len > 0 ? len : 1);
	cr_assert_not_null(exact);
	memcpy(exact, packet, len);
	pkt.data = exact;
	verdict = judge_packet(&bed->judge, &pkt, bed->now_ms++);
	free(exact);
	return verdict;
}

/* A judge where the victim client waits and its query went upstream. */
static void
bed_init(struct bed *bed)
{
	struct judge_config config;
	struct judge_verdict v;

	memset(bed, 0, sizeof(*bed));
	memset(&config, 0, sizeof(config));
	config.max_pending = 1024;
	config.timeout_ms = 60000;
	config.recent_ms = 60000;
	config.policy.conflict = ATTRIB_CONFLICT_NONE;
	config.mask = MASK;
	memcpy(config.key, test_key, sizeof(config.key));
	cr_assert_eq(judge_init(&bed->judge, &config, &bed->stats), 0);
	bed->now_ms = 1000;
	feed(bed, JUDGE_HOOK_LOCAL_IN,
	    hostile_victim_client_query(packet, sizeof(packet)),
	    HOSTILE_CLIENT_MARK);
	v = feed(bed, JUDGE_HOOK_LOCAL_OUT,
	    hostile_victim_upstream_query(packet, sizeof(packet)), 0);
	cr_assert(v.set_mark && v.mark == HOSTILE_CLIENT_MARK,
	    "the victim's upstream query carries its mark");
}

static void
bed_fini(struct bed *bed)
{
	judge_free(&bed->judge);
}

/* Feeds one variant of a case and checks its verdict and counters. */
static void
feed_case(struct bed *bed, const struct hostile_case *c, unsigned int variant)
{
	struct stats before = bed->stats;
	const uint64_t *now = bed->stats.counter, *was = before.counter;
	struct judge_verdict v;
	size_t len;

	len = c->build(variant, packet, sizeof(packet));
	cr_assert(len > 0 || variant == 0, "%s [%u]: built", c->name, variant);
	v = feed(bed, c->hook, len,
	    c->hook == JUDGE_HOOK_LOCAL_IN ? HOSTILE_CLIENT_MARK : 0);
	if (c->marked) {
		cr_expect(v.set_mark && v.mark == HOSTILE_CLIENT_MARK,
		    "%s [%u]: verdict mark %d 0x%x, want the client's", c->name,
		    variant, v.set_mark, v.mark);
	} else {
		cr_expect_eq(v.set_mark, 0, "%s [%u]: verdict sets mark 0x%x",
		    c->name, variant, v.mark);
	}
	cr_expect_eq(now[STATS_PACKETS] - was[STATS_PACKETS], 1,
	    "%s [%u]: counted as one packet", c->name, variant);
	cr_expect_eq(now[c->counter] - was[c->counter], c->count,
	    "%s [%u]: %s went up by %llu, want %u", c->name, variant,
	    stats_name(c->counter),
	    (unsigned long long)(now[c->counter] - was[c->counter]), c->count);
	cr_expect_eq(now[STATS_NAMES_LEARNED] - was[STATS_NAMES_LEARNED],
	    c->learned, "%s [%u]: learned %llu names, want %u", c->name,
	    variant, (unsigned long long)(now[STATS_NAMES_LEARNED] -
	    was[STATS_NAMES_LEARNED]), c->learned);
	cr_expect_eq(now[STATS_UPSTREAM_MARKED] - was[STATS_UPSTREAM_MARKED],
	    (uint64_t)c->marked, "%s [%u]: upstream_marked", c->name,
	    variant);
}

Test(hostile, accepts_each_case_unchanged_and_counts_it)
{
	for (size_t i = 0; i < hostile_case_count; i++) {
		const struct hostile_case *c = &hostile_cases[i];

		for (unsigned int variant = c->first; variant <= c->last;
		    variant++) {
			struct bed bed;

			bed_init(&bed);
			feed_case(&bed, c, variant);
			bed_fini(&bed);
		}
	}
}

Test(hostile, keeps_marking_after_every_case)
{
	struct judge_verdict v;
	struct bed bed;
	size_t len;

	bed_init(&bed);
	for (size_t i = 0; i < hostile_case_count; i++) {
		const struct hostile_case *c = &hostile_cases[i];

		for (unsigned int variant = c->first; variant <= c->last;
		    variant++)
			feed_case(&bed, c, variant);
	}

	len = hostile_normal_client_query("after.example.test", packet,
	    sizeof(packet));
	v = feed(&bed, JUDGE_HOOK_LOCAL_IN, len, NORMAL_MARK);
	cr_assert_eq(v.set_mark, 0);
	len = hostile_normal_upstream_query("after.example.test", packet,
	    sizeof(packet));
	v = feed(&bed, JUDGE_HOOK_LOCAL_OUT, len, 0);
	cr_assert(v.set_mark && v.mark == NORMAL_MARK,
	    "a new client's query after the hostile ones: mark %d 0x%x",
	    v.set_mark, v.mark);
	v = feed(&bed, JUDGE_HOOK_LOCAL_OUT,
	    hostile_victim_upstream_query(packet, sizeof(packet)), 0);
	cr_assert(v.set_mark && v.mark == HOSTILE_CLIENT_MARK,
	    "the victim's question still carries its mark: %d 0x%x",
	    v.set_mark, v.mark);
	bed_fini(&bed);
}
