/*
 * The counters in Prometheus text format, for node_exporter's textfile
 * collector, and the kernel's own queue counters read from
 * /proc/net/netfilter/nfnetlink_queue (packets the kernel passed fail-open
 * or dropped never reach dnsmark, so only the kernel can count them).
 * Formatting and parsing are pure; metrics_write() does the file I/O.
 */
#ifndef DNSMARK_METRICS_H
#define DNSMARK_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "stats.h"

/* One queue's line of /proc/net/netfilter/nfnetlink_queue. */
struct metrics_kernel_queue {
	int present;		/* the line was found */
	uint32_t waiting;	/* packets queued, waiting for a verdict */
	uint32_t dropped;	/* dropped: queue full and not fail-open */
	uint32_t user_dropped;	/* netlink could not deliver (fail-open passes too) */
	uint32_t id_sequence;	/* packet ids handed out so far */
};

/* The gauges beside the counters. */
struct metrics_gauges {
	size_t pending;		/* client questions held */
	size_t table_bytes;	/* memory of all tables */
	struct metrics_kernel_queue kernel;
};

/*
 * Finds queue's line in the text of /proc/net/netfilter/nfnetlink_queue and
 * fills *out (present = 0 when absent).  Returns 0, or -EINVAL when the
 * line is there but malformed.
 */
int metrics_parse_kernel_queue(const char *text, uint16_t queue,
    struct metrics_kernel_queue *out);

/*
 * Writes the metrics as Prometheus text to buf of size len.  Returns the
 * length written, or -ENOSPC when buf is too small.
 */
int metrics_format(const struct stats *stats,
    const struct metrics_gauges *gauges, char *buf, size_t len);

/*
 * Writes text to path atomically (a temporary file beside it, then
 * rename), readable by all.  Returns 0 or a negative errno.
 */
int metrics_write(const char *path, const char *text, size_t len);

#endif
