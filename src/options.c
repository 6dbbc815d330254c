/*
 * The daemon's command line.  Parsing fills a struct and explains what is
 * wrong in words; it starts nothing, so every option is unit-tested.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "options.h"

#define TIMEOUT_MAX_MS (3600ULL * 1000)
#define MAX_PENDING_LIMIT (16UL * 1024 * 1024)
#define QUEUE_MAXLEN_LIMIT (1024UL * 1024)

void
options_defaults(struct options *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->action = OPTIONS_RUN;
	opts->queue = OPTIONS_DEFAULT_QUEUE;
	opts->nflog_group = OPTIONS_DEFAULT_NFLOG_GROUP;
	opts->mask = 0xffffffffu;
	opts->timeout_ms = OPTIONS_DEFAULT_TIMEOUT_MS;
	opts->recent_ms = OPTIONS_DEFAULT_RECENT_MS;
	opts->max_pending = OPTIONS_DEFAULT_MAX_PENDING;
	opts->queue_maxlen = OPTIONS_DEFAULT_QUEUE_MAXLEN;
	opts->policy.conflict = ATTRIB_CONFLICT_NONE;
	opts->log_level = LOG_LEVEL_INFO;
	opts->stats_interval_ms = OPTIONS_DEFAULT_STATS_INTERVAL_MS;
	opts->syn_hold_ms = OPTIONS_DEFAULT_SYN_HOLD_MS;
	opts->fast_path = OPTIONS_DEFAULT_FAST_PATH;
}

static int
fail(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Parses an unsigned number in [min, max], decimal or 0x hexadecimal. */
static int
parse_number(const char *text, unsigned long long min, unsigned long long max,
    unsigned long long *value)
{
	char *end;

	if (text[0] < '0' || text[0] > '9')
		return -EINVAL;
	errno = 0;
	*value = strtoull(text, &end, 0);
	if (errno != 0 || *end != '\0' || *value < min || *value > max)
		return -EINVAL;
	return 0;
}

/*
 * Parses seconds with up to three decimals ("5", "0.25") into milliseconds,
 * zero allowed only with allow_zero.
 */
static int
parse_seconds(const char *text, int allow_zero, uint64_t *ms)
{
	unsigned long long whole = 0, frac = 0;
	int digits = 0;
	const char *p = text;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		whole = whole * 10 + (unsigned long long)(*p - '0');
		if (whole > TIMEOUT_MAX_MS)
			return -EINVAL;
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			if (++digits > 3)
				return -EINVAL;
			frac = frac * 10 + (unsigned long long)(*p - '0');
		}
		for (; digits < 3; digits++)
			frac *= 10;
	}
	if (*p != '\0')
		return -EINVAL;
	*ms = whole * 1000 + frac;
	if ((*ms == 0 && !allow_zero) || *ms > TIMEOUT_MAX_MS)
		return -EINVAL;
	return 0;
}

int
options_parse(int argc, char *const argv[], struct options *opts, char *err,
    size_t err_len)
{
	static const struct option longopts[] = {
		{ "queue", required_argument, NULL, 'q' },
		{ "mask", required_argument, NULL, 'm' },
		{ "timeout", required_argument, NULL, 't' },
		{ "recent", required_argument, NULL, 'r' },
		{ "max-pending", required_argument, NULL, 'n' },
		{ "queue-maxlen", required_argument, NULL, 'l' },
		{ "conflict", required_argument, NULL, 'c' },
		{ "mode", required_argument, NULL, 'M' },
		{ "syn-hold", required_argument, NULL, 'H' },
		{ "nflog-group", required_argument, NULL, 'g' },
		{ "bpf-cgroup", required_argument, NULL, 'G' },
		{ "fast-path", required_argument, NULL, 'F' },
		{ "user", required_argument, NULL, 'u' },
		{ "stats-file", required_argument, NULL, 'f' },
		{ "stats-interval", required_argument, NULL, 'i' },
		{ "syslog", no_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long value;
	int mode_given = 0;
	int c;

	if (err_len > 0)
		err[0] = '\0';
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":q:m:t:r:n:l:c:M:H:g:u:f:i:svhV", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'q':
			if (parse_number(optarg, 0, 65535, &value) < 0)
				return fail(err, err_len,
				    "--queue wants a number from 0 to 65535, not '%s'",
				    optarg);
			opts->queue = (uint16_t)value;
			break;
		case 'm':
			if (parse_number(optarg, 1, UINT32_MAX, &value) < 0)
				return fail(err, err_len,
				    "--mask wants a non-zero 32-bit number, not '%s'",
				    optarg);
			opts->mask = (uint32_t)value;
			break;
		case 't':
			if (parse_seconds(optarg, 0, &opts->timeout_ms) < 0)
				return fail(err, err_len,
				    "--timeout wants seconds above 0 and up to 3600 "
				    "(three decimals at most), not '%s'", optarg);
			break;
		case 'r':
			if (parse_seconds(optarg, 1, &opts->recent_ms) < 0)
				return fail(err, err_len,
				    "--recent wants seconds from 0 to 3600 "
				    "(three decimals at most), not '%s'", optarg);
			break;
		case 'n':
			if (parse_number(optarg, 1, MAX_PENDING_LIMIT, &value) < 0)
				return fail(err, err_len,
				    "--max-pending wants a number from 1 to %lu, not '%s'",
				    MAX_PENDING_LIMIT, optarg);
			opts->max_pending = (size_t)value;
			break;
		case 'l':
			if (parse_number(optarg, 1, QUEUE_MAXLEN_LIMIT, &value) < 0)
				return fail(err, err_len,
				    "--queue-maxlen wants a number from 1 to %lu, not '%s'",
				    QUEUE_MAXLEN_LIMIT, optarg);
			opts->queue_maxlen = (uint32_t)value;
			break;
		case 'c':
			if (attrib_parse_conflict(optarg, &opts->policy) < 0)
				return fail(err, err_len,
				    "--conflict wants none, first, last or a mark, not '%s'",
				    optarg);
			break;
		case 'M':
			mode_given = 1;
			if (strcmp(optarg, "queue") == 0)
				opts->mode = OPTIONS_MODE_QUEUE;
			else if (strcmp(optarg, "observe") == 0)
				opts->mode = OPTIONS_MODE_OBSERVE;
			else if (strcmp(optarg, "bpf") == 0)
				opts->mode = OPTIONS_MODE_BPF;
			else
				return fail(err, err_len,
				    "--mode wants queue, observe or bpf, not '%s'",
				    optarg);
			break;
		case 'H':
			if (parse_number(optarg, 0, OPTIONS_MAX_SYN_HOLD_MS,
			    &value) < 0)
				return fail(err, err_len,
				    "--syn-hold wants milliseconds from 0 to %d, "
				    "not '%s'", OPTIONS_MAX_SYN_HOLD_MS, optarg);
			opts->syn_hold_ms = value;
			break;
		case 'g':
			if (parse_number(optarg, 0, 65535, &value) < 0)
				return fail(err, err_len,
				    "--nflog-group wants a number from 0 to 65535, not '%s'",
				    optarg);
			opts->nflog_group = (uint16_t)value;
			break;
		case 'G':
			if (optarg[0] == '\0')
				return fail(err, err_len,
				    "--bpf-cgroup wants a cgroup v2 directory");
			opts->bpf_cgroup = optarg;
			break;
		case 'F':
			if (optarg[0] == '\0')
				return fail(err, err_len, "--fast-path wants a "
				    "directory on a bpf file system, or off");
			opts->fast_path = strcmp(optarg, "off") == 0 ? NULL :
			    optarg;
			break;
		case 'u':
			if (optarg[0] == '\0')
				return fail(err, err_len, "--user wants a name");
			opts->user = optarg;
			break;
		case 'f':
			if (optarg[0] == '\0')
				return fail(err, err_len,
				    "--stats-file wants a path");
			opts->stats_file = optarg;
			break;
		case 'i':
			if (parse_seconds(optarg, 0, &opts->stats_interval_ms) < 0)
				return fail(err, err_len,
				    "--stats-interval wants seconds above 0 and up "
				    "to 3600, not '%s'", optarg);
			break;
		case 's':
			opts->use_syslog = 1;
			break;
		case 'v':
			opts->log_level = LOG_LEVEL_DEBUG;
			break;
		case 'h':
			opts->action = OPTIONS_HELP;
			break;
		case 'V':
			opts->action = OPTIONS_VERSION;
			break;
		case ':':
			return fail(err, err_len, "option '%s' needs a value",
			    argv[optind - 1]);
		default:
			return fail(err, err_len, "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		return fail(err, err_len, "unexpected argument '%s'",
		    argv[optind]);
	/* No --mode: bpf mode when the resolver's cgroup is named (it measures
	 * best: doc/performance.md), else queue mode, which needs nothing. */
	if (!mode_given && opts->bpf_cgroup != NULL)
		opts->mode = OPTIONS_MODE_BPF;
	if (opts->action == OPTIONS_RUN && opts->mode == OPTIONS_MODE_BPF &&
	    opts->bpf_cgroup == NULL)
		return fail(err, err_len, "--mode bpf needs --bpf-cgroup DIR "
		    "(the cgroup of the resolver)");
	if (opts->bpf_cgroup != NULL && opts->mode != OPTIONS_MODE_BPF)
		return fail(err, err_len, "--bpf-cgroup goes with --mode bpf");
	return 0;
}

void
options_usage(void *stream, const char *progname)
{
	fprintf(stream,
	    "Usage: %s [OPTION]...\n"
	    "Carry each DNS client's netfilter mark onto the upstream queries a\n"
	    "local resolver sends on its behalf.  Runs in the foreground.\n"
	    "\n"
	    "  -q, --queue N          NFQUEUE number to bind (default %d)\n"
	    "  -m, --mask MASK        bits of the client's mark to carry\n"
	    "                         (default 0xffffffff)\n"
	    "  -t, --timeout SECONDS  how long a client question waits for the\n"
	    "                         resolver's upstream queries (default %.1f)\n"
	    "  -r, --recent SECONDS   how long a question is remembered for\n"
	    "                         prefetches and late retries; 0: never\n"
	    "                         (default %.1f)\n"
	    "  -n, --max-pending N    client questions remembered at most; the\n"
	    "                         oldest is evicted beyond (default %d)\n"
	    "  -l, --queue-maxlen N   kernel queue length; beyond it packets pass\n"
	    "                         unmarked (default %d)\n"
	    "  -c, --conflict POLICY  clients with different marks wait on one\n"
	    "                         upstream query: none, first, last, or a mark\n"
	    "                         (default none)\n"
	    "  -H, --syn-hold MS      hold a truncated answer or TCP retry up to MS\n"
	    "                         while another client's TCP retry opens its\n"
	    "                         connection, so each SYN is one client's;\n"
	    "                         0: never (default %d)\n"
	    "  -M, --mode MODE        how client queries reach dnsmark: bpf\n"
	    "                         (recorded by a BPF program; the default\n"
	    "                         with --bpf-cgroup), queue (held on the\n"
	    "                         queue; the default without) or observe\n"
	    "                         (copied by NFLOG)\n"
	    "  -g, --nflog-group N    queue and observe mode: NFLOG group to\n"
	    "                         bind (default %d)\n"
	    "      --bpf-cgroup DIR   bpf mode: the cgroup v2 directory of the\n"
	    "                         resolver (absolute, or below the cgroup2\n"
	    "                         mount); picks bpf mode unless --mode says\n"
	    "                         otherwise\n"
	    "      --fast-path DIR    bpf mode: pin the kernel fast path's\n"
	    "                         programs and maps in DIR, on a bpf file\n"
	    "                         system, for rules/bpf-fast-v*.rules; off:\n"
	    "                         none (default " OPTIONS_DEFAULT_FAST_PATH ")\n"
	    "  -u, --user NAME        after binding, run as NAME keeping only\n"
	    "                         CAP_NET_ADMIN\n"
	    "  -f, --stats-file PATH  write the counters there in Prometheus text\n"
	    "                         format (atomically replaced)\n"
	    "  -i, --stats-interval SECONDS  how often (default %.0f)\n"
	    "  -s, --syslog           log to syslog instead of stderr\n"
	    "  -v, --verbose          log debug messages\n"
	    "  -h, --help             show this help and exit\n"
	    "  -V, --version          show the version and exit\n"
	    "\n"
	    "Signals: SIGTERM and SIGINT stop, SIGUSR1 logs the counters.\n"
	    "See dnsmark(8).\n",
	    progname, OPTIONS_DEFAULT_QUEUE, OPTIONS_DEFAULT_TIMEOUT_MS / 1000.0,
	    OPTIONS_DEFAULT_RECENT_MS / 1000.0,
	    OPTIONS_DEFAULT_MAX_PENDING, OPTIONS_DEFAULT_QUEUE_MAXLEN,
	    OPTIONS_DEFAULT_SYN_HOLD_MS,
	    OPTIONS_DEFAULT_NFLOG_GROUP,
	    OPTIONS_DEFAULT_STATS_INTERVAL_MS / 1000.0);
}
