/*
 * Unit tests for src/options.c: defaults, every option's effect, and the
 * refusal of bad values with a message.  Each test builds its own argv;
 * options_parse() resets getopt, so several parses run in one process.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "options.h"

#define ARGC(argv) ((int)(sizeof(argv) / sizeof((argv)[0])) - 1)

static struct options
parse_ok(int argc, char *argv[])
{
	struct options opts;
	char err[256] = "";

	options_defaults(&opts);
	cr_assert_eq(options_parse(argc, argv, &opts, err, sizeof(err)), 0,
	    "%s %s refused: %s", argv[1], argc > 2 ? argv[2] : "", err);
	return opts;
}

Test(options, has_documented_defaults)
{
	struct options opts;

	memset(&opts, 0x5a, sizeof(opts));
	options_defaults(&opts);
	cr_assert_eq(opts.action, OPTIONS_RUN);
	cr_assert_eq(opts.queue, 53);
	cr_assert_eq(opts.queue, OPTIONS_DEFAULT_QUEUE);
	cr_assert_eq(opts.mask, 0xffffffff);
	cr_assert_eq(opts.timeout_ms, 5000);
	cr_assert_eq(opts.timeout_ms, OPTIONS_DEFAULT_TIMEOUT_MS);
	cr_assert_eq(opts.max_pending, OPTIONS_DEFAULT_MAX_PENDING);
	cr_assert_eq(opts.recent_ms, OPTIONS_DEFAULT_RECENT_MS);
	cr_assert_eq(opts.queue_maxlen, OPTIONS_DEFAULT_QUEUE_MAXLEN);
	cr_assert_eq(opts.policy.conflict, ATTRIB_CONFLICT_NONE,
	    "a wrong mark is worse than none: conflicts stay unmarked");
	cr_assert_eq(opts.log_level, LOG_LEVEL_INFO);
	cr_assert_eq(opts.use_syslog, 0);
}

Test(options, keeps_defaults_without_arguments)
{
	char *argv[] = { "dnsmark", NULL };
	struct options opts, defaults;

	opts = parse_ok(ARGC(argv), argv);
	options_defaults(&defaults);
	cr_assert_eq(opts.action, OPTIONS_RUN);
	cr_assert_eq(opts.queue, defaults.queue);
	cr_assert_eq(opts.mask, defaults.mask);
	cr_assert_eq(opts.timeout_ms, defaults.timeout_ms);
	cr_assert_eq(opts.recent_ms, defaults.recent_ms);
	cr_assert_eq(opts.max_pending, defaults.max_pending);
	cr_assert_eq(opts.queue_maxlen, defaults.queue_maxlen);
	cr_assert_eq(opts.policy.conflict, defaults.policy.conflict);
	cr_assert_eq(opts.log_level, defaults.log_level);
	cr_assert_eq(opts.use_syslog, defaults.use_syslog);
}

Test(options, sets_queue)
{
	char *argv[] = { "dnsmark", "--queue", "7", NULL };
	char *equals[] = { "dnsmark", "--queue=65535", NULL };
	char *zero[] = { "dnsmark", "--queue", "0", NULL };

	cr_assert_eq(parse_ok(ARGC(argv), argv).queue, 7);
	cr_assert_eq(parse_ok(ARGC(equals), equals).queue, 65535);
	cr_assert_eq(parse_ok(ARGC(zero), zero).queue, 0);
}

Test(options, sets_mask)
{
	char *hex[] = { "dnsmark", "--mask", "0xff00", NULL };
	char *dec[] = { "dnsmark", "--mask", "255", NULL };
	char *all[] = { "dnsmark", "--mask", "0xffffffff", NULL };

	cr_assert_eq(parse_ok(ARGC(hex), hex).mask, 0xff00);
	cr_assert_eq(parse_ok(ARGC(dec), dec).mask, 0xff);
	cr_assert_eq(parse_ok(ARGC(all), all).mask, 0xffffffff);
}

Test(options, sets_timeout_in_seconds)
{
	static const struct {
		const char *text;
		uint64_t ms;
	} cases[] = {
		{ "2", 2000 }, { "0.5", 500 }, { "1.25", 1250 },
		{ "0.001", 1 }, { "30", 30000 }, { "2.0", 2000 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[] = { "dnsmark", "--timeout", (char *)cases[i].text,
		    NULL };

		cr_assert_eq(parse_ok(ARGC(argv), argv).timeout_ms,
		    cases[i].ms, "--timeout %s", cases[i].text);
	}
}

Test(options, sets_recent_window)
{
	static const struct {
		const char *text;
		uint64_t ms;
	} cases[] = {
		{ "0", 0 }, { "10", 10000 }, { "0.25", 250 },
		{ "3600", 3600000 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[] = { "dnsmark", "--recent", (char *)cases[i].text,
		    NULL };

		cr_assert_eq(parse_ok(ARGC(argv), argv).recent_ms,
		    cases[i].ms, "--recent %s", cases[i].text);
	}
}

Test(options, sets_max_pending)
{
	char *argv[] = { "dnsmark", "--max-pending", "10", NULL };

	cr_assert_eq(parse_ok(ARGC(argv), argv).max_pending, 10);
}

Test(options, sets_conflict_policy)
{
	char *last[] = { "dnsmark", "--conflict", "last", NULL };
	char *first[] = { "dnsmark", "--conflict", "first", NULL };
	char *none[] = { "dnsmark", "--conflict", "none", NULL };
	char *fixed[] = { "dnsmark", "--conflict", "0x10", NULL };
	struct options opts;

	cr_assert_eq(parse_ok(ARGC(last), last).policy.conflict,
	    ATTRIB_CONFLICT_LAST);
	cr_assert_eq(parse_ok(ARGC(first), first).policy.conflict,
	    ATTRIB_CONFLICT_FIRST);
	cr_assert_eq(parse_ok(ARGC(none), none).policy.conflict,
	    ATTRIB_CONFLICT_NONE);
	opts = parse_ok(ARGC(fixed), fixed);
	cr_assert_eq(opts.policy.conflict, ATTRIB_CONFLICT_FIXED);
	cr_assert_eq(opts.policy.conflict_mark, 0x10);
}

Test(options, sets_verbose)
{
	char *longopt[] = { "dnsmark", "--verbose", NULL };
	char *shortopt[] = { "dnsmark", "-v", NULL };

	cr_assert_eq(parse_ok(ARGC(longopt), longopt).log_level,
	    LOG_LEVEL_DEBUG);
	cr_assert_eq(parse_ok(ARGC(shortopt), shortopt).log_level,
	    LOG_LEVEL_DEBUG);
}

Test(options, sets_syslog)
{
	char *argv[] = { "dnsmark", "--syslog", NULL };

	cr_assert_neq(parse_ok(ARGC(argv), argv).use_syslog, 0);
}

Test(options, asks_for_help_and_version)
{
	char *help[] = { "dnsmark", "--help", NULL };
	char *version[] = { "dnsmark", "--version", NULL };

	cr_assert_eq(parse_ok(ARGC(help), help).action, OPTIONS_HELP);
	cr_assert_eq(parse_ok(ARGC(version), version).action,
	    OPTIONS_VERSION);
}

Test(options, combines_options)
{
	char *argv[] = { "dnsmark", "--queue", "7", "--mask=0xff00",
	    "--timeout", "0.5", "--max-pending", "10", "--conflict", "last",
	    "-v", "--syslog", NULL };
	struct options opts = parse_ok(ARGC(argv), argv);

	cr_assert_eq(opts.action, OPTIONS_RUN);
	cr_assert_eq(opts.queue, 7);
	cr_assert_eq(opts.mask, 0xff00);
	cr_assert_eq(opts.timeout_ms, 500);
	cr_assert_eq(opts.max_pending, 10);
	cr_assert_eq(opts.policy.conflict, ATTRIB_CONFLICT_LAST);
	cr_assert_eq(opts.log_level, LOG_LEVEL_DEBUG);
	cr_assert_neq(opts.use_syslog, 0);
}

Test(options, refuses_bad_values_with_a_message)
{
	static const char *const cases[][3] = {
		{ "--queue", "70000" },
		{ "--queue", "65536" },
		{ "--queue", "abc" },
		{ "--queue", "-1" },
		{ "--queue", "" },
		{ "--queue", "7x" },
		{ "--max-pending", "0" },
		{ "--max-pending", "-5" },
		{ "--max-pending", "ten" },
		{ "--timeout", "0" },
		{ "--timeout", "0.0" },
		{ "--timeout", "-1" },
		{ "--timeout", "abc" },
		{ "--timeout", "" },
		{ "--timeout", "2s" },
		{ "--recent", "-1" },
		{ "--recent", "abc" },
		{ "--recent", "3601" },
		{ "--recent", "0.0001" },
		{ "--mask", "zz" },
		{ "--mask", "0x1ffffffff" },
		{ "--mask", "-1" },
		{ "--conflict", "bogus" },
		{ "--conflict", "" },
		{ "--bogus" },
		{ "-Z" },
		{ "extra" },
		{ "--queue" },
		{ "--verbose", "extra" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[4] = { "dnsmark", (char *)cases[i][0],
		    (char *)cases[i][1], NULL };
		int argc = cases[i][1] ? 3 : 2;
		struct options opts;
		char err[256];

		options_defaults(&opts);
		memset(err, 0, sizeof(err));
		cr_assert_eq(options_parse(argc, argv, &opts, err,
		    sizeof(err)), -EINVAL, "%s %s accepted", cases[i][0],
		    cases[i][1] ? cases[i][1] : "");
		cr_assert_gt(strlen(err), 0, "%s %s: no message", cases[i][0],
		    cases[i][1] ? cases[i][1] : "");
	}
}

Test(options, parses_again_after_an_error)
{
	char *bad[] = { "dnsmark", "--bogus", "--queue", "9", NULL };
	char *good[] = { "dnsmark", "--queue", "7", NULL };
	struct options opts;
	char err[256];

	options_defaults(&opts);
	cr_assert_eq(options_parse(ARGC(bad), bad, &opts, err, sizeof(err)),
	    -EINVAL);
	options_defaults(&opts);
	cr_assert_eq(options_parse(ARGC(good), good, &opts, err, sizeof(err)),
	    0, "%s", err);
	cr_assert_eq(opts.queue, 7);
	options_defaults(&opts);
	cr_assert_eq(options_parse(ARGC(good), good, &opts, err, sizeof(err)),
	    0, "%s", err);
	cr_assert_eq(opts.queue, 7);
}

Test(options, keeps_message_within_buffer)
{
	char *argv[] = { "dnsmark", "--queue", "a-very-long-bad-value", NULL };
	struct options opts;
	char err[16];

	memset(err, 'X', sizeof(err));
	options_defaults(&opts);
	cr_assert_eq(options_parse(ARGC(argv), argv, &opts, err, 8), -EINVAL);
	cr_assert_lt(strnlen(err, 8), 8, "message not terminated");
	for (size_t i = 8; i < sizeof(err); i++)
		cr_assert_eq(err[i], 'X', "wrote byte %zu of 8", i);
}

Test(options, writes_usage)
{
	char *text = NULL;
	size_t size = 0;
	FILE *stream = open_memstream(&text, &size);

	cr_assert_not_null(stream);
	options_usage(stream, "dnsmark");
	fclose(stream);
	cr_assert_not_null(text);
	cr_assert_not_null(strstr(text, "dnsmark"));
	cr_assert_not_null(strstr(text, "--queue"));
	cr_assert_not_null(strstr(text, "--conflict"));
	free(text);
}

Test(options, sets_mode)
{
	char *observe[] = { "dnsmark", "--mode", "observe", NULL };
	char *bpf[] = { "dnsmark", "-M", "bpf", "--bpf-cgroup", "resolver",
		NULL };
	char *queue[] = { "dnsmark", "--mode", "queue", NULL };
	char *none[] = { "dnsmark", NULL };
	char *bad[] = { "dnsmark", "--mode", "nflog", NULL };
	struct options opts;
	char err[256];

	cr_assert_eq(parse_ok(ARGC(none), none).mode, OPTIONS_MODE_QUEUE,
	    "without a cgroup, client queries are held on the queue");
	cr_assert_eq(parse_ok(ARGC(observe), observe).mode,
	    OPTIONS_MODE_OBSERVE);
	cr_assert_eq(parse_ok(ARGC(bpf), bpf).mode, OPTIONS_MODE_BPF);
	cr_assert_eq(parse_ok(ARGC(queue), queue).mode, OPTIONS_MODE_QUEUE);
	options_defaults(&opts);
	cr_assert_eq(options_parse(ARGC(bad), bad, &opts, err, sizeof(err)),
	    -EINVAL);
	cr_assert(strstr(err, "--mode") != NULL, "%s", err);
}

Test(options, sets_syn_hold)
{
	char *off[] = { "dnsmark", "--syn-hold", "0", NULL };
	char *five[] = { "dnsmark", "-H", "5", NULL };
	char *none[] = { "dnsmark", NULL };
	char *big[] = { "dnsmark", "--syn-hold", "101", NULL };
	struct options opts;
	char err[256];

	cr_assert_eq(parse_ok(ARGC(none), none).syn_hold_ms,
	    OPTIONS_DEFAULT_SYN_HOLD_MS);
	cr_assert_eq(parse_ok(ARGC(off), off).syn_hold_ms, 0);
	cr_assert_eq(parse_ok(ARGC(five), five).syn_hold_ms, 5);
	options_defaults(&opts);
	cr_assert_eq(options_parse(ARGC(big), big, &opts, err, sizeof(err)),
	    -EINVAL, "a hold beyond 100 ms would delay DNS noticeably");
}

Test(options, sets_nflog_group)
{
	char *group[] = { "dnsmark", "--mode", "observe", "--nflog-group", "7",
		NULL };
	char *none[] = { "dnsmark", NULL };
	char *bad[] = { "dnsmark", "-g", "65536", NULL };
	struct options opts;
	char err[256];

	cr_assert_eq(parse_ok(ARGC(none), none).nflog_group,
	    OPTIONS_DEFAULT_NFLOG_GROUP);
	cr_assert_eq(parse_ok(ARGC(group), group).nflog_group, 7);
	options_defaults(&opts);
	cr_assert_eq(options_parse(ARGC(bad), bad, &opts, err, sizeof(err)),
	    -EINVAL);
	cr_assert(strstr(err, "--nflog-group") != NULL, "%s", err);
}

Test(options, sets_bpf_cgroup)
{
	char *argv[] = { "dnsmark", "--mode", "bpf", "--bpf-cgroup",
		"system.slice/unbound.service", NULL };
	char *none[] = { "dnsmark", NULL };
	struct options opts;

	opts = parse_ok(ARGC(argv), argv);
	cr_assert_eq(opts.mode, OPTIONS_MODE_BPF);
	cr_assert_str_eq(opts.bpf_cgroup, "system.slice/unbound.service");
	cr_assert_null(parse_ok(ARGC(none), none).bpf_cgroup);
}

Test(options, refuses_bpf_mode_and_cgroup_apart)
{
	static const struct {
		char *argv[6];
		const char *says;
	} cases[] = {
		{ { "dnsmark", "--mode", "bpf", NULL }, "--bpf-cgroup DIR" },
		{ { "dnsmark", "--mode", "queue", "--bpf-cgroup", "x", NULL },
		    "goes with --mode bpf" },
		{ { "dnsmark", "--mode", "bpf", "--bpf-cgroup", "", NULL },
		    "cgroup v2 directory" },
		{ { "dnsmark", "--mode", "bpf", "--bpf-cgroup", NULL },
		    "needs a value" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct options opts;
		char err[256] = "";
		int argc = 0;

		while (cases[i].argv[argc] != NULL)
			argc++;
		options_defaults(&opts);
		cr_assert_eq(options_parse(argc, cases[i].argv, &opts, err,
		    sizeof(err)), -EINVAL, "case %zu accepted", i);
		cr_assert(strstr(err, cases[i].says) != NULL,
		    "case %zu: '%s' does not say '%s'", i, err, cases[i].says);
	}
}

Test(options, a_cgroup_without_mode_picks_bpf_mode)
{
	char *alone[] = { "dnsmark", "--bpf-cgroup", "/sys/fs/cgroup/x", NULL };
	char *queue[] = { "dnsmark", "--bpf-cgroup", "x", "-M", "queue", NULL };
	char *observe[] = { "dnsmark", "-M", "observe", "--bpf-cgroup", "x",
		NULL };
	struct options opts;
	char err[256];

	opts = parse_ok(ARGC(alone), alone);
	cr_assert_eq(opts.mode, OPTIONS_MODE_BPF,
	    "bpf mode is the default where it can run");
	cr_assert_str_eq(opts.bpf_cgroup, "/sys/fs/cgroup/x");
	/* An explicit mode wins, in either order, and then the cgroup is a
	 * mistake worth saying. */
	options_defaults(&opts);
	cr_assert_eq(options_parse(ARGC(queue), queue, &opts, err,
	    sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "goes with --mode bpf") != NULL, "%s", err);
	options_defaults(&opts);
	cr_assert_eq(options_parse(ARGC(observe), observe, &opts, err,
	    sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "goes with --mode bpf") != NULL, "%s", err);
}

Test(options, bpf_mode_needs_no_cgroup_for_help)
{
	char *argv[] = { "dnsmark", "--mode", "bpf", "--help", NULL };

	cr_assert_eq(parse_ok(ARGC(argv), argv).action, OPTIONS_HELP);
}
