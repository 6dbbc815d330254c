/*
 * Unit tests for src/metrics.c: the kernel's queue line, the Prometheus
 * text, and the atomic file write.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "metrics.h"

static const char proc_text[] =
    "    0  12345     0 2 65535     0     0        7  1\n"
    "   53   4242     3 2 65535     1    17     1000  1\n";

Test(metrics, finds_its_queue_line)
{
	struct metrics_kernel_queue q;

	cr_assert_eq(metrics_parse_kernel_queue(proc_text, 53, &q), 0);
	cr_expect(q.present);
	cr_expect_eq(q.waiting, 3);
	cr_expect_eq(q.dropped, 1);
	cr_expect_eq(q.user_dropped, 17);
	cr_expect_eq(q.id_sequence, 1000);
}

Test(metrics, reports_absent_queue)
{
	struct metrics_kernel_queue q;

	cr_assert_eq(metrics_parse_kernel_queue(proc_text, 7, &q), 0);
	cr_expect_not(q.present);
	cr_assert_eq(metrics_parse_kernel_queue("", 53, &q), 0);
	cr_expect_not(q.present);
}

Test(metrics, refuses_malformed_line)
{
	struct metrics_kernel_queue q;

	cr_expect_eq(metrics_parse_kernel_queue("   53 12 x\n", 53, &q),
	    -EINVAL);
}

Test(metrics, formats_counters_and_gauges)
{
	static char text[32768];
	struct stats stats = { { 0 } };
	struct metrics_gauges gauges = {
		.pending = 12, .table_bytes = 4096,
		.kernel = { .present = 1, .user_dropped = 5 },
	};
	int len;

	stats.counter[STATS_UPSTREAM_MARKED] = 41;
	len = metrics_format(&stats, &gauges, text, sizeof(text));
	cr_assert_gt(len, 0);
	cr_expect_eq((size_t)len, strlen(text));
	cr_expect_not_null(strstr(text,
	    "# TYPE dnsmark_upstream_marked_total counter\n"
	    "dnsmark_upstream_marked_total 41\n"));
	cr_expect_not_null(strstr(text, "\ndnsmark_pending 12\n"));
	cr_expect_not_null(strstr(text, "# TYPE dnsmark_pending gauge\n"));
	cr_expect_not_null(strstr(text,
	    "\ndnsmark_kernel_queue_user_dropped_total 5\n"));
	/* Every counter is there, each with HELP and TYPE. */
	for (int i = 0; i < STATS_COUNT; i++) {
		char line[128];

		snprintf(line, sizeof(line), "# HELP dnsmark_%s_total ",
		    stats_name(i));
		cr_expect_not_null(strstr(text, line), "%s missing", line);
	}
}

Test(metrics, leaves_out_kernel_queue_when_absent)
{
	static char text[32768];
	struct stats stats = { { 0 } };
	struct metrics_gauges gauges = { 0 };

	cr_assert_gt(metrics_format(&stats, &gauges, text, sizeof(text)), 0);
	cr_expect_null(strstr(text, "kernel_queue"));
}

Test(metrics, says_when_buffer_is_too_small)
{
	char text[64];
	struct stats stats = { { 0 } };
	struct metrics_gauges gauges = { 0 };

	cr_expect_eq(metrics_format(&stats, &gauges, text, sizeof(text)),
	    -ENOSPC);
}

Test(metrics, replaces_file_atomically)
{
	char dir[] = "/tmp/dnsmark-metrics-XXXXXX", path[128], tmp[160];
	char back[64] = { 0 };
	struct stat st;
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/dnsmark.prom", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	cr_assert_eq(metrics_write(path, "first\n", 6), 0);
	cr_assert_eq(metrics_write(path, "second\n", 7), 0);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	cr_expect_eq(fread(back, 1, sizeof(back) - 1, f), 7);
	fclose(f);
	cr_expect_str_eq(back, "second\n");
	cr_expect_neq(stat(tmp, &st), 0, "temporary file left behind");
	cr_assert_eq(stat(path, &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0644);
	unlink(path);
	rmdir(dir);
	snprintf(path, sizeof(path), "%s/no/such/dir.prom", dir);
	cr_expect_eq(metrics_write(path, "x", 1), -ENOENT);
}
