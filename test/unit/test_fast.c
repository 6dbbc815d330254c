/*
 * Unit tests for src/bpf/fast.h, the kernel fast path's pure decisions run
 * natively: the SWAR lowercasing, the label walk, the question key and the
 * state word's ask, answer and verdict.  Scenarios pin the exact reason and
 * mark the kernel would give an upstream query after each client event.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "fast.h"

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* The timeout of the scenarios, in time units, and the --mask they use. */
#define SCENARIO_TIMEOUT 100
#define SCENARIO_MASK 0xffffu
/* What *mark holds when fast_state_verdict must not write it. */
#define UNTOUCHED 0xa5a5a5a5u

/* A fixed-seed xorshift, so that a failure repeats. */
static uint64_t
test_random(uint64_t *seed)
{
	uint64_t x = *seed;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*seed = x;
	return x;
}

static uint8_t
reference_lower(uint8_t byte)
{
	return byte >= 'A' && byte <= 'Z' ? (uint8_t)(byte + 0x20) : byte;
}

static uint8_t
word_byte(uint64_t word, int pos)
{
	return (uint8_t)(word >> (pos * 8));
}

static uint64_t
word_set_byte(uint64_t word, int pos, uint8_t byte)
{
	return (word & ~(0xffull << (pos * 8))) | (uint64_t)byte << (pos * 8);
}

/* Asserts that fast_lower8(word) lowercases exactly the letters of word. */
static void
assert_lower8(uint64_t word)
{
	uint64_t got = fast_lower8(word);

	for (int pos = 0; pos < 8; pos++)
		cr_assert_eq(word_byte(got, pos),
		    reference_lower(word_byte(word, pos)),
		    "word 0x%016llx byte %d: got 0x%02x, want 0x%02x",
		    (unsigned long long)word, pos, word_byte(got, pos),
		    reference_lower(word_byte(word, pos)));
}

/* Bytes next to which a carry or borrow would show. */
static const uint8_t lower8_neighbours[] = {
	0x00, 0x01, 0x3f, 0x40, 0x41, 0x5a, 0x5b, 0x60, 0x61, 0x7a, 0x7b,
	0x7f, 0x80, 0xc0, 0xc1, 0xda, 0xdb, 0xe1, 0xfa, 0xff,
};

Test(fast, lower8_lowercases_each_byte_value_at_each_position)
{
	for (size_t n = 0; n < NELEMS(lower8_neighbours); n++) {
		uint64_t fill = 0x0101010101010101ull * lower8_neighbours[n];

		for (int pos = 0; pos < 8; pos++)
			for (int byte = 0; byte < 256; byte++)
				assert_lower8(word_set_byte(fill, pos,
				    (uint8_t)byte));
	}
}

Test(fast, lower8_lowercases_each_byte_value_among_random_bytes)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull;

	for (int round = 0; round < 64; round++) {
		uint64_t fill = test_random(&seed);

		for (int pos = 0; pos < 8; pos++)
			for (int byte = 0; byte < 256; byte++)
				assert_lower8(word_set_byte(fill, pos,
				    (uint8_t)byte));
	}
}

Test(fast, lower8_lowercases_every_pair_of_adjacent_bytes)
{
	for (size_t n = 0; n < NELEMS(lower8_neighbours); n += 4) {
		uint64_t fill = 0x0101010101010101ull * lower8_neighbours[n];

		for (int pos = 0; pos < 7; pos++)
			for (int pair = 0; pair < 65536; pair++) {
				uint64_t word = word_set_byte(fill, pos,
				    (uint8_t)pair);

				word = word_set_byte(word, pos + 1,
				    (uint8_t)(pair >> 8));
				assert_lower8(word);
			}
	}
}

Test(fast, lower8_changes_a_known_word_exactly)
{
	/* "AZ@[`{\x7f\xc1" in memory order, lowest byte first. */
	uint64_t word = 0xc17f7b605b405a41ull;

	cr_assert_eq(fast_lower8(word), 0xc17f7b605b407a61ull,
	    "got 0x%016llx", (unsigned long long)fast_lower8(word));
	cr_assert_eq(fast_lower8(0x5a5a5a5a5a5a5a5aull),
	    0x7a7a7a7a7a7a7a7aull);
}

/* Copies labels of the given lengths, filled with letters, then the root
 * label, into raw; returns the name's length. */
static size_t
name_build(uint8_t *raw, const uint8_t *lengths, size_t labels)
{
	size_t at = 0;

	for (size_t i = 0; i < labels; i++) {
		raw[at++] = lengths[i];
		for (uint8_t j = 0; j < lengths[i]; j++, at++)
			raw[at] = (uint8_t)('A' + at % 26);
	}
	raw[at++] = 0;
	return at;
}

Test(fast, name_length_of_root_is_one)
{
	uint8_t raw[FAST_QUESTION_MAX + 1] = { 0 };

	cr_assert_eq(fast_name_length(raw), 1);
}

Test(fast, name_length_counts_labels_and_root)
{
	uint8_t raw[FAST_QUESTION_MAX + 1];

	memset(raw, 0xff, sizeof(raw));
	memcpy(raw, "\3www\7example\3com\0\0\1\0\1", 21);
	cr_assert_eq(fast_name_length(raw), 17);
}

Test(fast, name_length_accepts_255_bytes_and_rejects_256)
{
	static const uint8_t longest[] = { 63, 63, 63, 61 };
	static const uint8_t over[] = { 63, 63, 63, 62 };
	uint8_t raw[FAST_QUESTION_MAX + 1];

	memset(raw, 0xff, sizeof(raw));
	cr_assert_eq(name_build(raw, longest, NELEMS(longest)), 255);
	cr_assert_eq(fast_name_length(raw), 255);

	memset(raw, 0xff, sizeof(raw));
	cr_assert_eq(name_build(raw, over, NELEMS(over)), 256);
	cr_assert_eq(fast_name_length(raw), 0);
}

Test(fast, name_length_walks_127_one_byte_labels)
{
	uint8_t lengths[128], raw[FAST_QUESTION_MAX + 1];

	memset(lengths, 1, sizeof(lengths));
	memset(raw, 0xff, sizeof(raw));
	cr_assert_eq(name_build(raw, lengths, 127), 255);
	cr_assert_eq(fast_name_length(raw), 255);

	memset(raw, 0xff, sizeof(raw));
	cr_assert_eq(name_build(raw, lengths, 128), 257);
	cr_assert_eq(fast_name_length(raw), 0);
}

Test(fast, name_length_rejects_compression_pointers)
{
	uint8_t raw[FAST_QUESTION_MAX + 1];

	memset(raw, 0, sizeof(raw));
	memcpy(raw, "\xc0\x0c", 2);
	cr_assert_eq(fast_name_length(raw), 0);

	memset(raw, 0, sizeof(raw));
	memcpy(raw, "\3www\xc0\x0c", 6);
	cr_assert_eq(fast_name_length(raw), 0);
}

Test(fast, name_length_rejects_every_label_over_63)
{
	uint8_t raw[FAST_QUESTION_MAX + 1];

	for (int label = 0; label < 256; label++) {
		memset(raw, 0, sizeof(raw));
		raw[0] = 1;
		raw[1] = 'a';
		raw[2] = (uint8_t)label;
		/* Root right after "a", or a label of up to 63 zero bytes
		 * and a root after it. */
		cr_assert_eq(fast_name_length(raw),
		    label == 0 ? 3 : label <= 63 ? (uint32_t)(4 + label) : 0,
		    "label %d: got %u", label, fast_name_length(raw));
	}
}

Test(fast, name_length_rejects_a_name_with_no_end_in_255_bytes)
{
	uint8_t raw[260];

	memset(raw, 'a', sizeof(raw));
	for (size_t at = 0; at < sizeof(raw); at += 64)
		raw[at] = 63;
	cr_assert_eq(fast_name_length(raw), 0);

	memset(raw, 1, sizeof(raw));
	cr_assert_eq(fast_name_length(raw), 0);
}

Test(fast, label_step_moves_past_a_label_then_ends_at_root)
{
	uint8_t raw[FAST_QUESTION_MAX + 1] = { 3, 'c', 'o', 'm', 0 };
	uint32_t pos = 0, end = 99;

	cr_assert_eq(fast_label_step(raw[pos], &pos, &end), 0);
	cr_assert_eq(pos, 4);
	cr_assert_eq(end, 99);
	cr_assert_eq(fast_label_step(raw[pos], &pos, &end), 1);
	cr_assert_eq(pos, 4);
	cr_assert_eq(end, 5);
}

Test(fast, key_layout_puts_type_and_class_after_256_name_bytes)
{
	/* Aligned for the 8-byte reads of fast_key_finish and the hash. */
	cr_assert_eq(_Alignof(struct fast_key), 8);
	cr_assert_eq(sizeof(struct fast_key), 264);
	cr_assert_eq(offsetof(struct fast_key, qtype), 256);
	cr_assert_eq(offsetof(struct fast_key, qclass), 258);
	cr_assert_eq(FAST_QUESTION_MAX, 259);
}

/* Fills the bytes of key a packet's question may be read into with junk,
 * then copies a question there as the BPF program does: name, type and
 * class back to back.  The padding after qclass stays zero, as in the
 * program's zeroed slot, which nothing writes there. */
static void
key_copy(struct fast_key *key, uint8_t junk, const void *name, size_t len,
    uint16_t qtype, uint16_t qclass)
{
	uint8_t *raw = (uint8_t *)key;

	memset(key, 0, sizeof(*key));
	memset(key, junk, FAST_QUESTION_MAX);
	memcpy(raw, name, len);
	raw[len] = (uint8_t)(qtype >> 8);
	raw[len + 1] = (uint8_t)qtype;
	raw[len + 2] = (uint8_t)(qclass >> 8);
	raw[len + 3] = (uint8_t)qclass;
}

Test(fast, key_of_mixed_case_name_equals_key_of_lower_case)
{
	struct fast_key mixed, lower;

	key_copy(&mixed, 0xff, "\3WwW\7ExAmPlE\3CoM", 17, 0x001c, 0x0001);
	key_copy(&lower, 0x41, "\3www\7example\3com", 17, 0x001c, 0x0001);
	cr_assert_eq(fast_key_finish(&mixed, 17 + 4 + 30, 17), 17);
	cr_assert_eq(fast_key_finish(&lower, 17 + 4, 17), 17);
	cr_assert_eq(memcmp(&mixed, &lower, sizeof(mixed)), 0);
	cr_assert_eq(memcmp(mixed.name, "\3www\7example\3com", 17), 0);
	cr_assert_eq(mixed.qtype[0], 0x00);
	cr_assert_eq(mixed.qtype[1], 0x1c);
	cr_assert_eq(mixed.qclass[0], 0x00);
	cr_assert_eq(mixed.qclass[1], 0x01);
	for (size_t i = 17; i < sizeof(mixed.name); i++)
		cr_assert_eq(mixed.name[i], 0, "name byte %zu: 0x%02x", i,
		    mixed.name[i]);
}

Test(fast, key_differs_by_type_and_by_class)
{
	struct fast_key aaaa, a, chaos;

	key_copy(&aaaa, 0xff, "\3www\7example\3com", 17, 0x001c, 0x0001);
	key_copy(&a, 0xff, "\3www\7example\3com", 17, 0x0001, 0x0001);
	key_copy(&chaos, 0xff, "\3www\7example\3com", 17, 0x001c, 0x0003);
	cr_assert_eq(fast_key_finish(&aaaa, 21, 17), 17);
	cr_assert_eq(fast_key_finish(&a, 21, 17), 17);
	cr_assert_eq(fast_key_finish(&chaos, 21, 17), 17);
	cr_assert_neq(memcmp(&aaaa, &a, sizeof(a)), 0);
	cr_assert_neq(memcmp(&aaaa, &chaos, sizeof(a)), 0);
	cr_assert_eq(memcmp(aaaa.name, a.name, sizeof(a.name)), 0);
	cr_assert_eq(a.qtype[1], 0x01);
	cr_assert_eq(chaos.qclass[1], 0x03);
}

Test(fast, key_finish_needs_all_four_bytes_of_type_and_class)
{
	struct fast_key key;

	key_copy(&key, 0xff, "\3www\7example\3com", 17, 0x001c, 0x0001);
	cr_assert_eq(fast_key_finish(&key, 20, 17), 0);
	key_copy(&key, 0xff, "\3www\7example\3com", 17, 0x001c, 0x0001);
	cr_assert_eq(fast_key_finish(&key, 21, 17), 17);
	key_copy(&key, 0xff, "", 1, 0x0002, 0x0001);
	cr_assert_eq(fast_key_finish(&key, 4, 1), 0);
	key_copy(&key, 0xff, "", 1, 0x0002, 0x0001);
	cr_assert_eq(fast_key_finish(&key, 5, 1), 1);
}

Test(fast, key_finish_rejects_no_name_and_a_name_over_255)
{
	struct fast_key key;

	key_copy(&key, 0xff, "", 1, 0x0001, 0x0001);
	cr_assert_eq(fast_key_finish(&key, FAST_QUESTION_MAX, 0), 0);
	memset(&key, 0x01, sizeof(key));
	cr_assert_eq(fast_key_finish(&key, sizeof(key), 256), 0);
	cr_assert_eq(fast_key_finish(&key, UINT32_MAX, 256), 0);
}

Test(fast, key_finish_keeps_label_lengths)
{
	for (uint8_t length = 1; length <= 63; length++) {
		uint8_t lengths[128], raw[FAST_NAME_MAX + 1];
		size_t labels = 254 / (length + 1u), len;
		struct fast_key key;

		memset(lengths, length, sizeof(lengths));
		len = name_build(raw, lengths, labels);
		key_copy(&key, 0xff, raw, len, 0x0001, 0x0001);
		cr_assert_eq(fast_key_finish(&key, (uint32_t)len + 4,
		    (uint32_t)len), (int)len);
		for (size_t i = 0; i < len; i++)
			cr_assert_eq(key.name[i], i % (length + 1u) == 0 ?
			    raw[i] : reference_lower(raw[i]),
			    "length %u, byte %zu: got 0x%02x", length, i,
			    key.name[i]);
	}
}

Test(fast, key_finish_leaves_bytes_other_than_letters)
{
	static const uint8_t name[] = { 8, '@', '[', '`', '{', 0xc1, 0xda,
		'-', '_', 3, 'Q', 0x7f, 0xff, 0 };
	static const uint8_t want[] = { 8, '@', '[', '`', '{', 0xc1, 0xda,
		'-', '_', 3, 'q', 0x7f, 0xff, 0 };
	struct fast_key key;

	key_copy(&key, 0xff, name, sizeof(name), 0x0010, 0x0001);
	cr_assert_eq(fast_key_finish(&key, sizeof(name) + 4, sizeof(name)),
	    (int)sizeof(name));
	cr_assert_arr_eq(key.name, want, sizeof(want));
}

Test(fast, key_finish_cuts_the_name_at_every_length)
{
	for (uint32_t end = 1; end <= FAST_NAME_MAX; end++) {
		uint8_t name[FAST_NAME_MAX];
		struct fast_key key;

		memset(name, 'Q', sizeof(name));
		key_copy(&key, 'Z', name, end, 0x4142, 0x4344);
		cr_assert_eq(fast_key_finish(&key, end + 4, end), (int)end);
		for (uint32_t i = 0; i < sizeof(key.name); i++)
			cr_assert_eq(key.name[i], i < end ? 'q' : 0,
			    "end %u, byte %u: got 0x%02x", end, i,
			    key.name[i]);
		/* Type and class are not lowercased. */
		cr_assert_eq(key.qtype[0], 0x41, "end %u", end);
		cr_assert_eq(key.qtype[1], 0x42, "end %u", end);
		cr_assert_eq(key.qclass[0], 0x43, "end %u", end);
		cr_assert_eq(key.qclass[1], 0x44, "end %u", end);
	}
}

Test(fast, key_finish_takes_type_and_class_straddling_a_255_byte_name)
{
	static const uint8_t lengths[] = { 63, 63, 63, 61 };
	uint8_t raw[FAST_NAME_MAX + 1];
	struct fast_key key, lower;
	size_t len = name_build(raw, lengths, NELEMS(lengths));

	cr_assert_eq(len, 255);
	key_copy(&key, 0xff, raw, len, 0x001c, 0x00ff);
	cr_assert_eq(((uint8_t *)&key)[255], 0x00);
	cr_assert_eq(((uint8_t *)&key)[256], 0x1c);
	cr_assert_eq(fast_name_length((uint8_t *)&key), 255);
	cr_assert_eq(fast_key_finish(&key, FAST_QUESTION_MAX, 255), 255);
	cr_assert_eq(key.name[254], 0);
	cr_assert_eq(key.name[255], 0);
	cr_assert_eq(key.qtype[0], 0x00);
	cr_assert_eq(key.qtype[1], 0x1c);
	cr_assert_eq(key.qclass[0], 0x00);
	cr_assert_eq(key.qclass[1], 0xff);
	for (size_t i = 0; i < len; i++)
		cr_assert_eq(key.name[i], reference_lower(raw[i]),
		    "byte %zu: got 0x%02x", i, key.name[i]);

	for (size_t i = 0; i < len; i++)
		raw[i] = reference_lower(raw[i]);
	key_copy(&lower, 0x00, raw, len, 0x001c, 0x00ff);
	cr_assert_eq(fast_key_finish(&lower, FAST_QUESTION_MAX, 255), 255);
	cr_assert_eq(memcmp(&key, &lower, sizeof(key)), 0);
	cr_assert_eq(fast_key_finish(&lower, FAST_QUESTION_MAX - 1, 255), 0);
}

Test(fast, time_units_are_2_to_the_20_ns_and_wrap_at_28_bits)
{
	cr_assert_eq(fast_time_units(0), 0);
	cr_assert_eq(fast_time_units((1ull << 20) - 1), 0);
	cr_assert_eq(fast_time_units(5ull << 20 | 0xfffff), 5);
	cr_assert_eq(fast_time_units(FAST_TIME_MASK << 20), FAST_TIME_MASK);
	cr_assert_eq(fast_time_units((FAST_TIME_MASK + 1 + 3) << 20), 3);
}

Test(fast, timeout_units_round_up)
{
	/* 5e9 ns / 2^20 ns = 4768.37 units. */
	cr_assert_eq(fast_timeout_units(5000), 4769);
	/* 16384 ms is exactly 15625 units: no rounding up. */
	cr_assert_eq(fast_timeout_units(16384), 15625);
	cr_assert_eq(fast_timeout_units(1), 1);
	cr_assert_eq(fast_timeout_units(0), 0);
}

Test(fast, state_make_packs_mark_time_and_waiting)
{
	uint64_t state = fast_state_make(0xdeadbeef, 0x1234567, 5);

	cr_assert_eq(state, 0x51234567deadbeefull, "got 0x%016llx",
	    (unsigned long long)state);
	cr_assert_eq(fast_state_mark(state), 0xdeadbeef);
	cr_assert_eq(fast_state_waiting(state), 5);
	cr_assert_eq(fast_state_make(1, FAST_TIME_MASK + 3, 1),
	    fast_state_make(1, 2, 1));
	cr_assert_eq(fast_state_waiting(FAST_AMBIGUOUS |
	    fast_state_make(0, 0, FAST_MANY)), FAST_MANY);
}

Test(fast, verdict_of_no_state_is_absent)
{
	uint32_t mark = UNTOUCHED;

	cr_assert_eq(fast_state_verdict(0, 1000, SCENARIO_TIMEOUT,
	    SCENARIO_MASK, &mark), FAST_ABSENT);
	cr_assert_eq(mark, UNTOUCHED);
}

/*
 * A client event and the verdict an upstream query gets right after it,
 * at the same time: ASK and ANSWER change the state word, LATER only
 * checks it.
 */
enum step_op { ASK, ANSWER, LATER };

struct fast_step {
	enum step_op op;
	uint32_t mark;
	uint64_t now;
	enum fast_reason want;
	uint32_t want_mark;	/* for FAST_MARKED */
};

/* Runs steps from no state; returns the final state word. */
static uint64_t
scenario_run(const struct fast_step *steps, size_t n)
{
	uint64_t state = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t mark = UNTOUCHED;
		enum fast_reason got;

		if (steps[i].op == ASK)
			state = fast_state_ask(state, steps[i].mark,
			    steps[i].now, SCENARIO_TIMEOUT);
		else if (steps[i].op == ANSWER)
			state = fast_state_answer(state, steps[i].now,
			    SCENARIO_TIMEOUT);
		got = fast_state_verdict(state, steps[i].now,
		    SCENARIO_TIMEOUT, SCENARIO_MASK, &mark);
		cr_assert_eq(got, steps[i].want,
		    "step %zu: reason %d, want %d (state 0x%016llx)", i, got,
		    steps[i].want, (unsigned long long)state);
		cr_assert_eq(mark,
		    steps[i].want == FAST_MARKED ? steps[i].want_mark :
		    UNTOUCHED, "step %zu: mark 0x%x", i, mark);
	}
	return state;
}

Test(fast, first_ask_marks_and_its_answer_ends_it)
{
	static const struct fast_step steps[] = {
		{ ASK, 0x10, 1000, FAST_MARKED, 0x10 },
		{ ANSWER, 0, 1001, FAST_ANSWERED, 0 },
	};
	uint64_t first = fast_state_ask(0, 0x10, 1000, SCENARIO_TIMEOUT);

	cr_assert_eq(first, fast_state_make(0x10, 1000, 1));
	cr_assert_eq(fast_state_waiting(first), 1);
	cr_assert_eq(fast_state_waiting(scenario_run(steps, NELEMS(steps))),
	    0);
}

Test(fast, two_asks_of_one_mark_need_two_answers)
{
	static const struct fast_step steps[] = {
		{ ASK, 0x10, 1000, FAST_MARKED, 0x10 },
		{ ASK, 0x10, 1002, FAST_MARKED, 0x10 },
		{ ANSWER, 0, 1003, FAST_MARKED, 0x10 },
		{ ANSWER, 0, 1004, FAST_ANSWERED, 0 },
		/* An answer more than there were asks changes nothing. */
		{ ANSWER, 0, 1005, FAST_ANSWERED, 0 },
	};
	uint64_t state = scenario_run(steps, NELEMS(steps));

	cr_assert_eq(state, fast_state_make(0x10, 1002, 0));
}

Test(fast, answer_keeps_the_time_of_the_last_ask)
{
	uint64_t state = fast_state_ask(0, 0x10, 1000, SCENARIO_TIMEOUT);

	state = fast_state_ask(state, 0x10, 1000, SCENARIO_TIMEOUT);
	state = fast_state_answer(state, 1099, SCENARIO_TIMEOUT);
	cr_assert_eq(state, fast_state_make(0x10, 1000, 1));
	cr_assert_eq(fast_state_verdict(state, 1100, SCENARIO_TIMEOUT,
	    SCENARIO_MASK, &(uint32_t){ 0 }), FAST_STALE);
}

Test(fast, ask_of_another_mark_while_one_waits_is_ambiguous_until_stale)
{
	static const struct fast_step steps[] = {
		{ ASK, 0x10, 1000, FAST_MARKED, 0x10 },
		{ ASK, 0x20, 1010, FAST_AMBIGUOUS_MARKS, 0 },
		{ ANSWER, 0, 1011, FAST_AMBIGUOUS_MARKS, 0 },
		{ ANSWER, 0, 1012, FAST_AMBIGUOUS_MARKS, 0 },
		{ ANSWER, 0, 1013, FAST_AMBIGUOUS_MARKS, 0 },
		{ ASK, 0x10, 1020, FAST_AMBIGUOUS_MARKS, 0 },
		{ ASK, 0x30, 1050, FAST_AMBIGUOUS_MARKS, 0 },
		/* Each ask kept it: the last at 1050. */
		{ LATER, 0, 1149, FAST_AMBIGUOUS_MARKS, 0 },
		{ LATER, 0, 1150, FAST_STALE, 0 },
		{ ASK, 0x20, 1150, FAST_MARKED, 0x20 },
		{ ANSWER, 0, 1151, FAST_ANSWERED, 0 },
	};

	scenario_run(steps, NELEMS(steps));
}

Test(fast, ambiguous_word_keeps_first_mark_and_moves_time_only)
{
	uint64_t state = fast_state_ask(0, 0x10, 1000, SCENARIO_TIMEOUT);

	state = fast_state_ask(state, 0x20, 1010, SCENARIO_TIMEOUT);
	cr_assert_eq(state, fast_state_make(0x10, 1010, 1) | FAST_AMBIGUOUS);
	cr_assert_eq(fast_state_answer(state, 1011, SCENARIO_TIMEOUT), state);
	state = fast_state_ask(state, 0x10, 1020, SCENARIO_TIMEOUT);
	cr_assert_eq(state, fast_state_make(0x10, 1020, 1) | FAST_AMBIGUOUS);
	state = fast_state_ask(state, 0x20, 1030, SCENARIO_TIMEOUT);
	cr_assert_eq(state, fast_state_make(0x10, 1030, 1) | FAST_AMBIGUOUS);
	cr_assert_eq(fast_state_ask(state, 0x20, 1130, SCENARIO_TIMEOUT),
	    fast_state_make(0x20, 1130, 1));
}

Test(fast, answered_asker_of_another_mark_does_not_count)
{
	static const struct fast_step steps[] = {
		{ ASK, 0x10, 1000, FAST_MARKED, 0x10 },
		{ ANSWER, 0, 1001, FAST_ANSWERED, 0 },
		{ ASK, 0x20, 1002, FAST_MARKED, 0x20 },
		{ ASK, 0x20, 1003, FAST_MARKED, 0x20 },
		{ ASK, 0x10, 1004, FAST_AMBIGUOUS_MARKS, 0 },
	};

	scenario_run(steps, NELEMS(steps));
}

Test(fast, seven_waiting_asks_lose_the_count_for_good)
{
	static const struct fast_step steps[] = {
		{ ASK, 0x10, 1000, FAST_MARKED, 0x10 },
		{ ASK, 0x10, 1000, FAST_MARKED, 0x10 },
		{ ASK, 0x10, 1001, FAST_MARKED, 0x10 },
		{ ASK, 0x10, 1001, FAST_MARKED, 0x10 },
		{ ASK, 0x10, 1002, FAST_MARKED, 0x10 },
		{ ASK, 0x10, 1002, FAST_MARKED, 0x10 },
		{ ASK, 0x10, 1003, FAST_MANY_WAITING, 0 },
		{ ASK, 0x10, 1004, FAST_MANY_WAITING, 0 },
		{ ANSWER, 0, 1005, FAST_MANY_WAITING, 0 },
		{ ANSWER, 0, 1005, FAST_MANY_WAITING, 0 },
		{ ANSWER, 0, 1005, FAST_MANY_WAITING, 0 },
		{ ANSWER, 0, 1005, FAST_MANY_WAITING, 0 },
		{ ANSWER, 0, 1005, FAST_MANY_WAITING, 0 },
		{ ANSWER, 0, 1005, FAST_MANY_WAITING, 0 },
		{ ANSWER, 0, 1005, FAST_MANY_WAITING, 0 },
		{ ANSWER, 0, 1005, FAST_MANY_WAITING, 0 },
		{ ASK, 0x20, 1006, FAST_AMBIGUOUS_MARKS, 0 },
		{ LATER, 0, 1106, FAST_STALE, 0 },
	};

	scenario_run(steps, NELEMS(steps));
}

Test(fast, waiting_count_saturates_at_many)
{
	uint64_t state = 0;

	for (uint64_t i = 1; i <= 10; i++) {
		state = fast_state_ask(state, 0x10, 1000, SCENARIO_TIMEOUT);
		cr_assert_eq(fast_state_waiting(state),
		    i < FAST_MANY ? i : FAST_MANY, "ask %llu",
		    (unsigned long long)i);
		cr_assert_eq(state & FAST_AMBIGUOUS, 0);
		cr_assert_eq(fast_state_mark(state), 0x10);
	}
}

Test(fast, mark_without_a_bit_of_the_mask_is_unmarked)
{
	static const struct {
		uint32_t mark, mask;
		enum fast_reason want;
		uint32_t want_mark;
	} cases[] = {
		{ 0x100, 0xff, FAST_UNMARKED, UNTOUCHED },
		{ 0, 0xffffffff, FAST_UNMARKED, UNTOUCHED },
		{ 0x10, 0, FAST_UNMARKED, UNTOUCHED },
		{ 0x1ff, 0xff, FAST_MARKED, 0x1ff },
		{ 0x80000001, 0x80000000, FAST_MARKED, 0x80000001 },
		{ 0xffffffff, 0x1, FAST_MARKED, 0xffffffff },
	};

	for (size_t i = 0; i < NELEMS(cases); i++) {
		uint64_t state = fast_state_ask(0, cases[i].mark, 1000,
		    SCENARIO_TIMEOUT);
		uint32_t mark = UNTOUCHED;

		cr_assert_eq(fast_state_verdict(state, 1000,
		    SCENARIO_TIMEOUT, cases[i].mask, &mark), cases[i].want,
		    "case %zu", i);
		cr_assert_eq(mark, cases[i].want_mark, "case %zu: mark 0x%x",
		    i, mark);
	}
}

Test(fast, verdict_reasons_come_in_order)
{
	uint64_t live = fast_state_make(0x100, 1000, 1);
	uint32_t mark = UNTOUCHED;

	/* Stale before ambiguous, answered, many and unmarked. */
	cr_assert_eq(fast_state_verdict(live | FAST_AMBIGUOUS, 1100,
	    SCENARIO_TIMEOUT, 0xff, &mark), FAST_STALE);
	cr_assert_eq(fast_state_verdict(fast_state_make(0x10, 1000, 0), 1100,
	    SCENARIO_TIMEOUT, 0xff, &mark), FAST_STALE);
	/* Ambiguous before answered and unmarked. */
	cr_assert_eq(fast_state_verdict(fast_state_make(0x100, 1000, 0) |
	    FAST_AMBIGUOUS, 1000, SCENARIO_TIMEOUT, 0xff, &mark),
	    FAST_AMBIGUOUS_MARKS);
	/* Answered and many before unmarked. */
	cr_assert_eq(fast_state_verdict(fast_state_make(0x100, 1000, 0), 1000,
	    SCENARIO_TIMEOUT, 0xff, &mark), FAST_ANSWERED);
	cr_assert_eq(fast_state_verdict(fast_state_make(0x100, 1000,
	    FAST_MANY), 1000, SCENARIO_TIMEOUT, 0xff, &mark),
	    FAST_MANY_WAITING);
	cr_assert_eq(fast_state_verdict(live, 1000, SCENARIO_TIMEOUT, 0xff,
	    &mark), FAST_UNMARKED);
	cr_assert_eq(mark, UNTOUCHED);
}

Test(fast, word_is_stale_at_exactly_the_timeout)
{
	uint64_t timeout = fast_timeout_units(5000);
	uint64_t state = fast_state_ask(0, 0x10, 1000, timeout);
	uint32_t mark = UNTOUCHED;

	cr_assert_eq(fast_state_live(state, 1000 + timeout - 1, timeout), 1);
	cr_assert_eq(fast_state_live(state, 1000 + timeout, timeout), 0);
	cr_assert_eq(fast_state_verdict(state, 1000 + timeout - 1, timeout,
	    SCENARIO_MASK, &mark), FAST_MARKED);
	cr_assert_eq(mark, 0x10);
	mark = UNTOUCHED;
	cr_assert_eq(fast_state_verdict(state, 1000 + timeout, timeout,
	    SCENARIO_MASK, &mark), FAST_STALE);
	cr_assert_eq(mark, UNTOUCHED);
}

Test(fast, stale_word_is_asked_afresh_and_not_answered)
{
	uint64_t state = fast_state_make(0x10, 1000, 3);

	cr_assert_eq(fast_state_answer(state, 1100, SCENARIO_TIMEOUT), state);
	cr_assert_eq(fast_state_answer(state, 1099, SCENARIO_TIMEOUT),
	    fast_state_make(0x10, 1000, 2));
	cr_assert_eq(fast_state_ask(state, 0x20, 1100, SCENARIO_TIMEOUT),
	    fast_state_make(0x20, 1100, 1));
	cr_assert_eq(fast_state_ask(state, 0x10, 1100, SCENARIO_TIMEOUT),
	    fast_state_make(0x10, 1100, 1));
	cr_assert_eq(fast_state_ask(state, 0x10, 1099, SCENARIO_TIMEOUT),
	    fast_state_make(0x10, 1099, 4));
}

Test(fast, age_is_counted_across_the_time_wrap)
{
	uint64_t then = FAST_TIME_MASK - 2;
	uint64_t state = fast_state_ask(0, 0x10, then, 6);
	uint32_t mark = UNTOUCHED;

	cr_assert_eq(state, fast_state_make(0x10, then, 1));
	/* Now is 2 after the wrap: 5 units later. */
	cr_assert_eq(fast_state_verdict(state, 2, 6, SCENARIO_MASK, &mark),
	    FAST_MARKED);
	cr_assert_eq(mark, 0x10);
	cr_assert_eq(fast_state_verdict(state, 2, 5, SCENARIO_MASK, &mark),
	    FAST_STALE);
	cr_assert_eq(fast_state_live(state, 3, 6), 0);
	cr_assert_eq(fast_state_answer(state, 2, 6),
	    fast_state_make(0x10, then, 0));
	state = fast_state_ask(state, 0x10, 2, 6);
	cr_assert_eq(state, fast_state_make(0x10, 2, 2));
	cr_assert_eq(fast_state_live(state, 7, 6), 1);
}

Test(fast, dead_word_is_left_alone_and_marks_nothing)
{
	uint32_t mark = UNTOUCHED;

	cr_assert_eq(fast_state_ask(FAST_DEAD, 0x10, 1000, SCENARIO_TIMEOUT),
	    FAST_DEAD);
	cr_assert_eq(fast_state_ask(FAST_DEAD, fast_state_mark(FAST_DEAD),
	    (FAST_DEAD >> 32) & FAST_TIME_MASK, SCENARIO_TIMEOUT), FAST_DEAD);
	cr_assert_eq(fast_state_answer(FAST_DEAD, 1000, SCENARIO_TIMEOUT),
	    FAST_DEAD);
	cr_assert_eq(fast_state_answer(FAST_DEAD,
	    (FAST_DEAD >> 32) & FAST_TIME_MASK, SCENARIO_TIMEOUT), FAST_DEAD);
	cr_assert_neq(fast_state_verdict(FAST_DEAD,
	    (FAST_DEAD >> 32) & FAST_TIME_MASK, SCENARIO_TIMEOUT, 0xffffffff,
	    &mark), FAST_MARKED);
	cr_assert_eq(fast_state_verdict(FAST_DEAD, 1000, SCENARIO_TIMEOUT,
	    0xffffffff, &mark), FAST_ABSENT);
	cr_assert_eq(fast_state_live(FAST_DEAD,
	    (FAST_DEAD >> 32) & FAST_TIME_MASK, SCENARIO_TIMEOUT), 0);
	cr_assert_eq(mark, UNTOUCHED);
}

/*
 * A program reads the clock, then the state word; another CPU may file an
 * ask in between, stamped a unit later than this program's now (and the
 * sweeper reads its clock once for a whole walk over the map).  Such a
 * word is current, not 2^28 units old.
 */
Test(fast, word_stamped_a_unit_after_now_is_live)
{
	uint64_t state = fast_state_make(0x20, 1001, 1);

	cr_assert_eq(fast_state_live(state, 1000, SCENARIO_TIMEOUT), 1);
}

Test(fast, ask_keeps_an_ask_stamped_a_unit_after_now)
{
	uint64_t state = fast_state_ask(0, 0x20, 1001, SCENARIO_TIMEOUT);
	uint32_t mark = UNTOUCHED;
	enum fast_reason got;

	state = fast_state_ask(state, 0x10, 1000, SCENARIO_TIMEOUT);
	got = fast_state_verdict(state, 1001, SCENARIO_TIMEOUT, SCENARIO_MASK,
	    &mark);
	cr_assert_eq(got, FAST_AMBIGUOUS_MARKS,
	    "reason %d, mark 0x%x, state 0x%016llx", got, mark,
	    (unsigned long long)state);
}
