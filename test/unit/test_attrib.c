/*
 * Unit tests for src/attrib.c: the attribution policy over what the pending
 * table found, the mark merge under a mask, and the conflict policy parser.
 * Table-driven: each row is one situation and the decision it must give.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "attrib.h"

#define NO_ID 0, 0

/* A pending_match of the fields the policy reads, the rest zero. */
#define FOUND(count_, distinct_, first_, last_, id_matched_, id_mark_)	\
	{ .count = (count_), .distinct_marks = (distinct_),		\
	  .first_mark = (first_), .last_mark = (last_),			\
	  .id_matched = (id_matched_), .id_mark = (id_mark_) }

static struct asks_marks
found(unsigned int count, unsigned int distinct_marks, uint32_t first_mark,
    uint32_t last_mark, int id_matched, uint32_t id_mark)
{
	struct asks_marks match;

	memset(&match, 0, sizeof(match));
	match.count = count;
	match.distinct_marks = distinct_marks;
	match.first_mark = first_mark;
	match.last_mark = last_mark;
	match.id_matched = id_matched;
	match.id_mark = id_mark;
	return match;
}

static const struct attrib_policy policy_none = { ATTRIB_CONFLICT_NONE, 0 };
static const struct attrib_policy policy_first = { ATTRIB_CONFLICT_FIRST, 0 };
static const struct attrib_policy policy_last = { ATTRIB_CONFLICT_LAST, 0 };
static const struct attrib_policy policy_fixed = {
	ATTRIB_CONFLICT_FIXED, 0xf00d
};

static const struct attrib_policy *const all_policies[] = {
	&policy_none, &policy_first, &policy_last, &policy_fixed,
};

/* Decisions that do not depend on the conflict policy. */
Test(attrib, decides_independently_of_policy)
{
	static const struct {
		const char *what;
		struct asks_marks match;
		enum attrib_reason reason;
		int marked;
		uint32_t mark;
	} cases[] = {
		{ "nobody asked", FOUND(0, 0, 0, 0, 0, 0), ATTRIB_NONE, 0, 0 },
		{ "one client", FOUND(1, 1, 0x5, 0x5, 0, 0), ATTRIB_EXACT, 1,
		    0x5 },
		{ "three entries, one mark", FOUND(3, 1, 0x5, 0x5, 0, 0),
		    ATTRIB_EXACT, 1, 0x5 },
		{ "one mark, id matched too", FOUND(2, 1, 0x5, 0x5, 1, 0x5),
		    ATTRIB_EXACT, 1, 0x5 },
		{ "one client with mark 0", FOUND(1, 1, 0, 0, 0, 0),
		    ATTRIB_EXACT, 1, 0 },
		{ "one client, all bits", FOUND(1, 1, 0xffffffff, 0xffffffff, 0, 0), ATTRIB_EXACT, 1, 0xffffffff },
		{ "two marks, id of the first", FOUND(2, 2, 0x1, 0x2, 1, 0x1),
		    ATTRIB_EXACT_ID, 1, 0x1 },
		{ "two marks, id of the last", FOUND(2, 2, 0x1, 0x2, 1, 0x2),
		    ATTRIB_EXACT_ID, 1, 0x2 },
		{ "many marks, id of mark 0", FOUND(5, 2, 0x1, 0x2, 1, 0),
		    ATTRIB_EXACT_ID, 1, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (size_t p = 0; p < sizeof(all_policies) /
		    sizeof(all_policies[0]); p++) {
			struct attrib_result r = attrib_decide(all_policies[p],
			    &cases[i].match);

			cr_assert_eq(r.reason, cases[i].reason,
			    "%s, policy %d: reason %s", cases[i].what,
			    all_policies[p]->conflict,
			    attrib_reason_name(r.reason));
			cr_assert_eq(!!r.marked, cases[i].marked,
			    "%s, policy %d: marked %d", cases[i].what,
			    all_policies[p]->conflict, r.marked);
			if (cases[i].marked)
				cr_assert_eq(r.mark, cases[i].mark,
				    "%s, policy %d: mark 0x%x", cases[i].what,
				    all_policies[p]->conflict, r.mark);
		}
	}
}

/* Several marks and no id to tell them apart: the policy decides. */
Test(attrib, applies_conflict_policy)
{
	const struct asks_marks two = found(2, 2, 0x1, 0x2, NO_ID);
	const struct asks_marks many = found(7, 2, 0x30, 0x10, NO_ID);
	static const struct attrib_policy fixed_zero = {
		ATTRIB_CONFLICT_FIXED, 0
	};
	const struct {
		const char *what;
		const struct attrib_policy *policy;
		const struct asks_marks *match;
		enum attrib_reason reason;
		int marked;
		uint32_t mark;
	} cases[] = {
		{ "first", &policy_first, &two, ATTRIB_CONFLICT, 1, 0x1 },
		{ "last", &policy_last, &two, ATTRIB_CONFLICT, 1, 0x2 },
		{ "fixed", &policy_fixed, &two, ATTRIB_CONFLICT, 1, 0xf00d },
		{ "none", &policy_none, &two, ATTRIB_CONFLICT_UNMARKED, 0, 0 },
		{ "first of many", &policy_first, &many, ATTRIB_CONFLICT, 1,
		    0x30 },
		{ "last of many", &policy_last, &many, ATTRIB_CONFLICT, 1,
		    0x10 },
		{ "fixed 0", &fixed_zero, &many, ATTRIB_CONFLICT, 1, 0 },
		{ "none of many", &policy_none, &many,
		    ATTRIB_CONFLICT_UNMARKED, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct attrib_result r = attrib_decide(cases[i].policy,
		    cases[i].match);

		cr_assert_eq(r.reason, cases[i].reason, "%s: reason %s",
		    cases[i].what, attrib_reason_name(r.reason));
		cr_assert_eq(!!r.marked, cases[i].marked, "%s: marked %d",
		    cases[i].what, r.marked);
		if (cases[i].marked)
			cr_assert_eq(r.mark, cases[i].mark, "%s: mark 0x%x",
			    cases[i].what, r.mark);
	}
}

Test(attrib, merges_mark_under_mask)
{
	static const struct {
		uint32_t packet, client, mask, expect;
	} cases[] = {
		{ 0x00000000, 0x00000005, 0xffffffff, 0x00000005 },
		{ 0x12345678, 0x00000005, 0xffffffff, 0x00000005 },
		{ 0x00000100, 0x00000005, 0x000000ff, 0x00000105 },
		{ 0x000001ff, 0x00000005, 0x000000ff, 0x00000105 },
		{ 0x12345678, 0xabcdef01, 0x000000ff, 0x12345601 },
		{ 0x12345678, 0xabcdef01, 0x0000ff00, 0x1234ef78 },
		{ 0x12345678, 0x00000000, 0x0000ff00, 0x12340078 },
		{ 0x12345678, 0xabcdef01, 0x00000000, 0x12345678 },
		{ 0xffffffff, 0x00000000, 0xffffffff, 0x00000000 },
		{ 0xffffffff, 0x00000000, 0xf0f0f0f0, 0x0f0f0f0f },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_assert_eq(attrib_merge_mark(cases[i].packet,
		    cases[i].client, cases[i].mask), cases[i].expect,
		    "packet 0x%08x client 0x%08x mask 0x%08x", cases[i].packet,
		    cases[i].client, cases[i].mask);
}

Test(attrib, parses_conflict_policies)
{
	static const struct {
		const char *text;
		enum attrib_conflict conflict;
		uint32_t mark;
	} cases[] = {
		{ "none", ATTRIB_CONFLICT_NONE, 0 },
		{ "first", ATTRIB_CONFLICT_FIRST, 0 },
		{ "last", ATTRIB_CONFLICT_LAST, 0 },
		{ "0x10", ATTRIB_CONFLICT_FIXED, 16 },
		{ "16", ATTRIB_CONFLICT_FIXED, 16 },
		{ "0", ATTRIB_CONFLICT_FIXED, 0 },
		{ "0xffffffff", ATTRIB_CONFLICT_FIXED, 0xffffffff },
		{ "4294967295", ATTRIB_CONFLICT_FIXED, 0xffffffff },
		{ "0XABC", ATTRIB_CONFLICT_FIXED, 0xabc },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct attrib_policy policy = { ATTRIB_CONFLICT_LAST, 0x77 };

		if (cases[i].conflict == ATTRIB_CONFLICT_LAST)
			policy.conflict = ATTRIB_CONFLICT_NONE;
		cr_assert_eq(attrib_parse_conflict(cases[i].text, &policy), 0,
		    "\"%s\" refused", cases[i].text);
		cr_assert_eq(policy.conflict, cases[i].conflict, "\"%s\"",
		    cases[i].text);
		if (cases[i].conflict == ATTRIB_CONFLICT_FIXED)
			cr_assert_eq(policy.conflict_mark, cases[i].mark,
			    "\"%s\": mark 0x%x", cases[i].text,
			    policy.conflict_mark);
	}
}

Test(attrib, refuses_bad_conflict_policies)
{
	static const char *const bad[] = {
		"bogus", "", "NONE", "First", "none ", " 16", "16x", "0x",
		"-1", "+1", "0x100000000", "4294967296",
		"99999999999999999999999", "1.5",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct attrib_policy policy = { ATTRIB_CONFLICT_NONE, 0 };

		cr_assert_eq(attrib_parse_conflict(bad[i], &policy), -EINVAL,
		    "\"%s\" accepted", bad[i]);
	}
}

Test(attrib, names_every_reason)
{
	for (int i = 0; i < ATTRIB_REASON_COUNT; i++) {
		const char *name = attrib_reason_name((enum attrib_reason)i);

		cr_assert_not_null(name, "reason %d", i);
		cr_assert_gt(strlen(name), 0, "reason %d", i);
		for (int j = 0; j < i; j++)
			cr_assert_str_neq(name,
			    attrib_reason_name((enum attrib_reason)j),
			    "reasons %d and %d share a name", i, j);
	}
}
