/*
 * Command-line options of the daemon.  Parsing is pure: it fills a struct
 * and reports errors as text, so it is tested without starting anything.
 */
#ifndef DNSMARK_OPTIONS_H
#define DNSMARK_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "attrib.h"
#include "log.h"

#define OPTIONS_DEFAULT_QUEUE 53
#define OPTIONS_DEFAULT_NFLOG_GROUP 53
#define OPTIONS_DEFAULT_TIMEOUT_MS 5000
#define OPTIONS_DEFAULT_MAX_PENDING 65536
#define OPTIONS_DEFAULT_RECENT_MS 30000
#define OPTIONS_DEFAULT_QUEUE_MAXLEN 4096
#define OPTIONS_DEFAULT_STATS_INTERVAL_MS 15000
#define OPTIONS_DEFAULT_SYN_HOLD_MS 50
#define OPTIONS_DEFAULT_FAST_PATH "/sys/fs/bpf/dnsmark"
#define OPTIONS_MAX_SYN_HOLD_MS 100

/*
 * How client queries reach dnsmark:
 * queue	held on the NFQUEUE like everything else (the design's mode);
 * observe	copied by NFLOG, only upstream queries held;
 * bpf		recorded in the kernel by a BPF program at socket delivery.
 */
enum options_mode {
	OPTIONS_MODE_QUEUE = 0,
	OPTIONS_MODE_OBSERVE,
	OPTIONS_MODE_BPF,
};

enum options_action {
	OPTIONS_RUN = 0,
	OPTIONS_HELP,
	OPTIONS_VERSION,
};

struct options {
	enum options_action action;
	enum options_mode mode;
	uint16_t queue;
	uint16_t nflog_group;		/* queue and observe mode's NFLOG group */
	uint32_t mask;
	uint64_t timeout_ms;
	uint64_t recent_ms;
	size_t max_pending;
	uint32_t queue_maxlen;
	struct attrib_policy policy;
	enum log_level log_level;
	int use_syslog;
	const char *user;		/* NULL: stay as started */
	const char *stats_file;		/* NULL: no metrics file */
	uint64_t stats_interval_ms;
	uint64_t syn_hold_ms;		/* 0: never hold a SYN cause */
	const char *bpf_cgroup;		/* bpf mode: the resolver's cgroup */
	const char *fast_path;		/* bpf mode: where the kernel fast
					 * path pins; NULL: off */
};

/* Fills *opts with the defaults. */
void options_defaults(struct options *opts);

/*
 * Parses argv into *opts (already holding defaults).  Returns 0, or -EINVAL
 * with a message in err (size err_len).  Uses getopt_long: resets optind.
 */
int options_parse(int argc, char *const argv[], struct options *opts,
    char *err, size_t err_len);

/* Writes the usage text to the stream (a FILE *). */
void options_usage(void *stream, const char *progname);

#endif
