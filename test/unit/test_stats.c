/*
 * Unit tests for src/stats.c: stable counter names, their descriptions, and
 * the one-line "name=value" text, which must behave like snprintf.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "stats.h"

#define TEXT_MAX 4096
#define NAME_CHARS "abcdefghijklmnopqrstuvwxyz0123456789_"

/* The text stats_format() must give, built from the names here. */
static size_t
expected_text(const struct stats *stats, char *buf, size_t len)
{
	size_t out = 0;

	buf[0] = '\0';
	for (int i = 0; i < STATS_COUNT; i++) {
		int n = snprintf(buf + out, len - out, "%s%s=%llu",
		    i == 0 ? "" : " ", stats_name((enum stats_counter)i),
		    (unsigned long long)stats->counter[i]);

		cr_assert(n > 0 && (size_t)n < len - out);
		out += (size_t)n;
	}
	return out;
}

Test(stats, names_every_counter_uniquely)
{
	for (int i = 0; i < STATS_COUNT; i++) {
		const char *name = stats_name((enum stats_counter)i);

		cr_assert_not_null(name, "counter %d", i);
		cr_assert_gt(strlen(name), 0, "counter %d", i);
		cr_assert_eq(strspn(name, NAME_CHARS), strlen(name),
		    "counter %d: \"%s\"", i, name);
		for (int j = 0; j < i; j++)
			cr_assert_str_neq(name,
			    stats_name((enum stats_counter)j),
			    "counters %d and %d share a name", i, j);
	}
}

Test(stats, keeps_stable_names)
{
	static const struct {
		enum stats_counter counter;
		const char *name;
	} cases[] = {
		{ STATS_PACKETS, "packets" },
		{ STATS_UPSTREAM_MARKED, "upstream_marked" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_assert_str_eq(stats_name(cases[i].counter), cases[i].name);
}

Test(stats, describes_every_counter)
{
	for (int i = 0; i < STATS_COUNT; i++) {
		const char *help = stats_help((enum stats_counter)i);

		cr_assert_not_null(help, "counter %d", i);
		cr_assert_gt(strlen(help), 0, "counter %d", i);
		cr_assert_null(strchr(help, '\n'), "counter %d: not one line",
		    i);
	}
}

Test(stats, counts_by_increment)
{
	struct stats stats;

	memset(&stats, 0, sizeof(stats));
	stats_inc(&stats, STATS_PACKETS);
	stats_inc(&stats, STATS_PACKETS);
	stats_inc(&stats, STATS_ENOBUFS);
	cr_assert_eq(stats.counter[STATS_PACKETS], 2);
	cr_assert_eq(stats.counter[STATS_ENOBUFS], 1);
	cr_assert_eq(stats.counter[STATS_CLIENT_QUERIES], 0);
}

Test(stats, formats_every_counter)
{
	struct stats stats;
	char buf[TEXT_MAX], expect[TEXT_MAX];
	size_t expect_len;
	int len;

	memset(&stats, 0, sizeof(stats));
	for (int i = 0; i < 3; i++)
		stats_inc(&stats, STATS_PACKETS);
	stats.counter[STATS_UPSTREAM_MARKED] = 42;
	stats.counter[STATS_ENOBUFS] = UINT64_MAX;
	len = stats_format(&stats, buf, sizeof(buf));
	expect_len = expected_text(&stats, expect, sizeof(expect));
	cr_assert_str_eq(buf, expect);
	cr_assert_eq((size_t)len, expect_len);
	cr_assert_eq(strncmp(buf, "packets=3 ", 10), 0, "%s", buf);
	cr_assert_not_null(strstr(buf, " upstream_marked=42"));
	cr_assert_not_null(strstr(buf, "=18446744073709551615"));
}

Test(stats, formats_zeroes)
{
	struct stats stats;
	char buf[TEXT_MAX];
	size_t pairs = 0, spaces = 0;

	memset(&stats, 0, sizeof(stats));
	stats_format(&stats, buf, sizeof(buf));
	for (size_t i = 0; buf[i] != '\0'; i++) {
		pairs += buf[i] == '=';
		spaces += buf[i] == ' ';
	}
	cr_assert_eq(pairs, STATS_COUNT, "%s", buf);
	cr_assert_eq(spaces, STATS_COUNT - 1, "%s", buf);
	cr_assert_eq(strncmp(buf, "packets=0 ", 10), 0, "%s", buf);
}

Test(stats, truncates_like_snprintf)
{
	struct stats stats;
	char full[TEXT_MAX], buf[64];
	int full_len;

	memset(&stats, 0, sizeof(stats));
	stats.counter[STATS_PACKETS] = 123456;
	full_len = stats_format(&stats, full, sizeof(full));
	cr_assert_gt(full_len, 60);
	cr_assert_eq((size_t)full_len, strlen(full));
	for (size_t len = 0; len < 40; len++) {
		memset(buf, 'X', sizeof(buf));
		cr_assert_eq(stats_format(&stats, buf, len), full_len,
		    "buffer of %zu", len);
		if (len > 0) {
			cr_assert_eq(strlen(buf), len - 1, "buffer of %zu",
			    len);
			cr_assert_eq(strncmp(buf, full, len - 1), 0,
			    "buffer of %zu: \"%s\"", len, buf);
		}
		for (size_t i = len; i < sizeof(buf); i++)
			cr_assert_eq(buf[i], 'X',
			    "wrote byte %zu of a %zu-byte buffer", i, len);
	}
}

Test(stats, measures_without_a_buffer)
{
	struct stats stats;
	char full[TEXT_MAX];

	memset(&stats, 0, sizeof(stats));
	stats.counter[STATS_BAD_DNS] = 7;
	cr_assert_eq(stats_format(&stats, NULL, 0),
	    stats_format(&stats, full, sizeof(full)));
}
