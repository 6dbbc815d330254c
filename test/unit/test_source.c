/*
 * Unit tests for src/source.c, the dispatch to a source of copies, with a
 * source kind of the test's own that records what it was asked; and for
 * src/bpfclient_none.c, bpf mode where it was not built.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "bpfclient.h"
#include "source.h"

struct recorder {
	int fd;
	int reads;
	enum source_moment last;
	int result;
	int closed;
};

static int
recorder_fd(const void *impl)
{
	return ((const struct recorder *)impl)->fd;
}

static int
recorder_read(void *impl, enum source_moment moment)
{
	struct recorder *r = impl;

	r->reads++;
	r->last = moment;
	return r->result;
}

static void
recorder_counters(const void *impl, struct stats *stats)
{
	stats->counter[STATS_BPF_LOST] = (uint64_t)((const struct recorder *)
	    impl)->reads + 100;
}

static void
recorder_close(void *impl)
{
	((struct recorder *)impl)->closed++;
}

static const struct source_ops recorder_ops = {
	.fd = recorder_fd,
	.read = recorder_read,
	.counters = recorder_counters,
	.close = recorder_close,
};

static const struct source_ops quiet_ops = {
	.fd = recorder_fd,
	.read = recorder_read,
	.counters = NULL,
	.close = recorder_close,
};

Test(source, passes_each_moment_and_result_to_its_kind)
{
	struct recorder r = { .fd = 7, .result = 3 };
	struct source s;
	static const enum source_moment moments[] = { SOURCE_READABLE,
	    SOURCE_BEFORE_BATCH, SOURCE_TICK, SOURCE_NOW };

	source_init(&s, &recorder_ops, &r, "group %u", 53u);
	cr_assert_eq(source_is_open(&s), 1);
	cr_assert_str_eq(s.what, "group 53");
	cr_assert_eq(source_fd(&s), 7);
	for (size_t i = 0; i < sizeof(moments) / sizeof(moments[0]); i++) {
		cr_assert_eq(source_read(&s, moments[i]), 3);
		cr_assert_eq(r.reads, (int)i + 1);
		cr_assert_eq(r.last, moments[i]);
	}
	r.result = -11;
	cr_assert_eq(source_read(&s, SOURCE_TICK), -11);
}

Test(source, brings_its_counters_or_leaves_them)
{
	struct recorder r = { .fd = 7 };
	struct stats stats;
	struct source s;

	memset(&stats, 0, sizeof(stats));
	source_init(&s, &recorder_ops, &r, "ring");
	source_read(&s, SOURCE_TICK);
	source_counters(&s, &stats);
	cr_assert_eq(stats.counter[STATS_BPF_LOST], 101);
	source_init(&s, &quiet_ops, &r, "group");
	stats.counter[STATS_BPF_LOST] = 5;
	source_counters(&s, &stats);
	cr_assert_eq(stats.counter[STATS_BPF_LOST], 5);
}

Test(source, closes_once_and_then_is_not_open)
{
	struct recorder r = { .fd = 7, .result = 1 };
	struct stats stats;
	struct source s;

	memset(&stats, 0, sizeof(stats));
	source_init(&s, &recorder_ops, &r, "ring");
	source_close(&s);
	cr_assert_eq(r.closed, 1);
	cr_assert_eq(source_is_open(&s), 0);
	cr_assert_eq(source_fd(&s), -1);
	cr_assert_eq(source_read(&s, SOURCE_READABLE), 0);
	cr_assert_eq(r.reads, 0);
	source_counters(&s, &stats);
	cr_assert_eq(stats.counter[STATS_BPF_LOST], 0);
	source_close(&s);
	cr_assert_eq(r.closed, 1);
}

Test(source, a_source_never_opened_reads_nothing)
{
	struct source s = { 0 };

	cr_assert_eq(source_is_open(&s), 0);
	cr_assert_eq(source_fd(&s), -1);
	cr_assert_eq(source_read(&s, SOURCE_BEFORE_BATCH), 0);
	source_close(&s);
}

Test(source, cuts_a_long_description)
{
	struct recorder r = { .fd = 7 };
	char path[2 * SOURCE_WHAT_LEN];
	struct source s;

	memset(path, 'a', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	source_init(&s, &recorder_ops, &r, "cgroup %s", path);
	cr_assert_eq(strlen(s.what), SOURCE_WHAT_LEN - 1);
	cr_assert_eq(strncmp(s.what, "cgroup aaa", 10), 0);
}

Test(source, bpf_mode_not_built_says_so_and_opens_nothing)
{
	struct stats stats;
	struct source s = { 0 };
	char err[256] = "";

	struct fastpath_config fast = { .dir = "/sys/fs/bpf/dnsmark" };

	memset(&stats, 0, sizeof(stats));
	cr_assert_eq(bpfclient_source(&s, "/sys/fs/cgroup", &fast, &stats,
	    NULL, NULL, err, sizeof(err)), -1);
	cr_assert_eq(source_is_open(&s), 0);
	cr_assert_neq(strstr(err, "built without"), NULL);
}
