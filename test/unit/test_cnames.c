/*
 * Unit tests for src/cnames.c: the CNAMEs remembered from upstream
 * answers, followed in chain order, kept CNAMES_KEEP_MS, the oldest taught
 * evicted first.  Names are wire names built by wire_put_name().
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "cnames.h"
#include "wire.h"

static const uint8_t test_key[SIPHASH_KEY_LEN] = {
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
};

struct name {
	uint8_t wire[DNS_NAME_MAX + 1];
	size_t len;
};

static struct name
name(const char *text)
{
	struct name n;

	n.len = wire_put_name(n.wire, text);
	return n;
}

static void
teach(struct cnames *t, const char *owner, const char *target,
    uint64_t now_ms)
{
	struct name o = name(owner), g = name(target);

	cnames_teach(t, o.wire, o.len, g.wire, g.len, now_ms);
}

/* Follows owner; asserts the chain is exactly the names given. */
static void
assert_chain(struct cnames *t, const char *owner, uint64_t now_ms,
    size_t count, const char *const *want)
{
	const uint8_t *targets[CNAMES_MAX_CHAIN];
	uint8_t lens[CNAMES_MAX_CHAIN];
	struct name o = name(owner);
	size_t n;

	n = cnames_follow(t, o.wire, o.len, now_ms, targets, lens,
	    CNAMES_MAX_CHAIN);
	cr_assert_eq(n, count, "%s: %zu targets, want %zu", owner, n, count);
	for (size_t i = 0; i < n; i++) {
		struct name w = name(want[i]);

		cr_assert_eq(lens[i], w.len, "%s: target %zu", owner, i);
		cr_assert_eq(memcmp(targets[i], w.wire, w.len), 0,
		    "%s: target %zu is not %s", owner, i, want[i]);
	}
}

Test(cnames, follows_a_chain_in_order)
{
	static const char *const chain[] = {
		"www.cdn.example", "edge.cdn.example", "e1.edge.example",
	};
	struct cnames *t = cnames_new(16, 1000, test_key);

	cr_assert_not_null(t);
	teach(t, "www.example", "www.cdn.example", 0);
	teach(t, "www.cdn.example", "edge.cdn.example", 0);
	teach(t, "edge.cdn.example", "e1.edge.example", 0);
	assert_chain(t, "www.example", 1, 3, chain);
	assert_chain(t, "www.cdn.example", 1, 2, chain + 1);
	assert_chain(t, "e1.edge.example", 1, 0, NULL);
	assert_chain(t, "other.example", 1, 0, NULL);
	cr_assert_eq(cnames_count(t), 3);
	cnames_free(t);
}

Test(cnames, replaces_a_changed_target)
{
	static const char *const now[] = { "new.cdn.example" };
	struct cnames *t = cnames_new(16, 1000, test_key);

	teach(t, "www.example", "old.cdn.example", 0);
	teach(t, "www.example", "new.cdn.example", 10);
	assert_chain(t, "www.example", 11, 1, now);
	cr_assert_eq(cnames_count(t), 1);
	cnames_free(t);
}

Test(cnames, forgets_after_keep_ms_from_the_last_answer)
{
	static const char *const target[] = { "www.cdn.example" };
	struct cnames *t = cnames_new(16, 1000, test_key);

	teach(t, "www.example", "www.cdn.example", 0);
	teach(t, "www.example", "www.cdn.example", 500);
	assert_chain(t, "www.example", 1499, 1, target);
	assert_chain(t, "www.example", 1500, 0, NULL);
	cr_assert_eq(cnames_count(t), 0);
	cnames_free(t);
}

Test(cnames, ends_a_loop)
{
	static const char *const loop[] = { "b.example", "a.example" };
	struct cnames *t = cnames_new(16, 1000, test_key);

	teach(t, "a.example", "b.example", 0);
	teach(t, "b.example", "a.example", 0);
	assert_chain(t, "a.example", 1, 2, loop);
	cnames_free(t);
}

Test(cnames, stops_at_the_longest_chain)
{
	struct cnames *t = cnames_new(64, 1000, test_key);
	const uint8_t *targets[CNAMES_MAX_CHAIN];
	uint8_t lens[CNAMES_MAX_CHAIN];
	char owner[32], target[32];
	struct name start = name("n0.example");

	for (int i = 0; i < 2 * CNAMES_MAX_CHAIN; i++) {
		snprintf(owner, sizeof(owner), "n%d.example", i);
		snprintf(target, sizeof(target), "n%d.example", i + 1);
		teach(t, owner, target, 0);
	}
	cr_assert_eq(cnames_follow(t, start.wire, start.len, 1, targets, lens,
	    CNAMES_MAX_CHAIN), CNAMES_MAX_CHAIN);
	cr_assert_eq(cnames_follow(t, start.wire, start.len, 1, targets, lens,
	    2), 2);
	cnames_free(t);
}

/* Full, the least recently taught goes, and its slot serves the next. */
Test(cnames, evicts_the_oldest_taught_when_full)
{
	static const char *const t2[] = { "t2.example" };
	static const char *const t1[] = { "t1b.example" };
	static const char *const t4[] = { "t4.example" };
	struct cnames *t = cnames_new(3, 100000, test_key);
	struct name o = name("o5.example"), g = name("t5.example");

	teach(t, "o1.example", "t1.example", 0);
	teach(t, "o2.example", "t2.example", 1);
	teach(t, "o3.example", "t3.example", 2);
	/* Taught again: o1 is the newest now. */
	teach(t, "o1.example", "t1b.example", 3);
	teach(t, "o4.example", "t4.example", 4);	/* o2 goes */
	assert_chain(t, "o2.example", 5, 0, NULL);
	assert_chain(t, "o1.example", 5, 1, t1);
	assert_chain(t, "o4.example", 5, 1, t4);
	cr_assert_eq(cnames_count(t), 3);
	cr_assert_eq(cnames_teach(t, o.wire, o.len, g.wire, g.len, 6), 1,
	    "a full table evicts");
	assert_chain(t, "o3.example", 7, 0, NULL);
	teach(t, "o2.example", "t2.example", 8);
	assert_chain(t, "o2.example", 9, 1, t2);
	cr_assert_eq(cnames_count(t), 3);
	cnames_free(t);
}

Test(cnames, refuses_empty_names_and_zero_size)
{
	struct cnames *t = cnames_new(4, 1000, test_key);
	struct name o = name("www.example");

	cr_assert_null(cnames_new(0, 1000, test_key));
	cr_assert_eq(cnames_teach(t, o.wire, 0, o.wire, o.len, 0), 0);
	cr_assert_eq(cnames_teach(t, o.wire, o.len, o.wire, 0, 0), 0);
	cr_assert_eq(cnames_count(t), 0);
	cr_assert_gt(cnames_memory(t), 4 * (DNS_NAME_MAX + 8));
	cnames_free(t);
	cnames_free(NULL);
}
