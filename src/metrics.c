/*
 * Prometheus text exposition of the counters and gauges.  Each counter is
 * dnsmark_<name>_total with its HELP line; the kernel's queue counters come
 * from /proc.  The file is replaced atomically so that a collector never
 * reads half of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metrics.h"

int
metrics_parse_kernel_queue(const char *text, uint16_t queue,
    struct metrics_kernel_queue *out)
{
	memset(out, 0, sizeof(*out));
	while (text != NULL && *text != '\0') {
		unsigned int num, portid, total, mode, range, dropped, user, seq;
		int n = sscanf(text, "%u %u %u %u %u %u %u %u", &num, &portid,
		    &total, &mode, &range, &dropped, &user, &seq);

		if (n >= 1 && num == queue) {
			if (n != 8)
				return -EINVAL;
			out->present = 1;
			out->waiting = total;
			out->dropped = dropped;
			out->user_dropped = user;
			out->id_sequence = seq;
			return 0;
		}
		text = strchr(text, '\n');
		if (text != NULL)
			text++;
	}
	return 0;
}

struct out {
	char *buf;
	size_t len;
	size_t used;
	int overflow;
};

static void
out_printf(struct out *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
out_printf(struct out *out, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (out->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(out->buf + out->used, out->len - out->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= out->len - out->used) {
		out->overflow = 1;
		return;
	}
	out->used += (size_t)n;
}

static void
metric(struct out *out, const char *name, const char *type, const char *help,
    unsigned long long value)
{
	out_printf(out, "# HELP dnsmark_%s %s\n# TYPE dnsmark_%s %s\n"
	    "dnsmark_%s %llu\n", name, help, name, type, name, value);
}

int
metrics_format(const struct stats *stats, const struct metrics_gauges *gauges,
    char *buf, size_t len)
{
	struct out out = { .buf = buf, .len = len };
	char name[96];

	if (len == 0)
		return -ENOSPC;
	buf[0] = '\0';
	for (int i = 0; i < STATS_COUNT; i++) {
		snprintf(name, sizeof(name), "%s_total", stats_name(i));
		metric(&out, name, "counter", stats_help(i),
		    (unsigned long long)stats->counter[i]);
	}
	metric(&out, "pending", "gauge", "Client questions held.",
	    gauges->pending);
	metric(&out, "table_bytes", "gauge",
	    "Memory allocated for all tables at start-up.",
	    gauges->table_bytes);
	if (gauges->kernel.present) {
		metric(&out, "kernel_queue_waiting", "gauge",
		    "Packets in the kernel queue waiting for a verdict.",
		    gauges->kernel.waiting);
		metric(&out, "kernel_queue_dropped_total", "counter",
		    "Packets the kernel dropped because the queue was full (0 with fail-open).",
		    gauges->kernel.dropped);
		metric(&out, "kernel_queue_user_dropped_total", "counter",
		    "Packets the kernel dropped because it could not deliver "
		    "them (0 with fail-open, which passes them instead).",
		    gauges->kernel.user_dropped);
		metric(&out, "kernel_queue_id_sequence", "counter",
		    "Packet ids the kernel handed out on the queue.",
		    gauges->kernel.id_sequence);
	}
	if (out.overflow)
		return -ENOSPC;
	return (int)out.used;
}

int
metrics_write(const char *path, const char *text, size_t len)
{
	char tmp[4096];
	size_t done = 0;
	int fd, err = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	/* Readable by the collector whatever the umask. */
	if (fchmod(fd, 0644) < 0)
		err = -errno;
	while (err == 0 && done < len) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		done += (size_t)n;
	}
	if (close(fd) < 0 && err == 0)
		err = -errno;
	if (err == 0 && rename(tmp, path) < 0)
		err = -errno;
	if (err != 0)
		unlink(tmp);
	return err;
}
