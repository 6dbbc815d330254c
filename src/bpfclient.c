/*
 * Loading, attaching and reading bpf mode's BPF programs with libbpf.  The
 * programs come from the skeleton bpftool generated at build time (the
 * object is embedded in dnsmark).  Attachments to the resolver's cgroup
 * are bpf_links owned by this process: they go when dnsmark goes.  The
 * kernel fast path's maps and programs are pinned (src/fastpath.c), for
 * the rules that name them.  Reading the ring is ring_buffer__consume()
 * on its mmap: no system call while records are there.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "bpfclient.h"
#include "cgroup.h"
#include "client.skel.h"
#include "fastpath.h"
#include "log.h"
#include "source.h"

struct bpfclient {
	struct dnsmark_client *skel;
	struct bpf_link *ingress;	/* client queries */
	struct bpf_link *egress;	/* the resolver's answers to them */
	struct ring_buffer *ring;
	struct fastpath fast;
	struct stats *stats;
	bpfclient_cb cb;
	void *arg;
	char cgroup[PATH_MAX];
};

/* The most lines of one libbpf message logged: a verifier's log runs to
 * thousands of lines, and says why it refused at its end. */
#define LIBBPF_LOG_TAIL 60

/*
 * libbpf's own messages ("libbpf: ..."): its warnings (the verifier's log
 * among them) at warning level, the rest at debug level, a line of the
 * log a line of ours, the last LIBBPF_LOG_TAIL of a long one.  Only at
 * start-up, never on the hot path.
 */
static int
libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	static char text[1 << 16];
	size_t lines = 0, skip;
	char *line, *next;

	if (level == LIBBPF_DEBUG && !log_enabled(LOG_LEVEL_DEBUG))
		return 0;
	vsnprintf(text, sizeof(text), fmt, ap);
	for (const char *c = text; *c != '\0'; c++)
		lines += *c == '\n' || c[1] == '\0';
	skip = lines > LIBBPF_LOG_TAIL ? lines - LIBBPF_LOG_TAIL : 0;
	if (skip > 0)
		log_warn("libbpf: (%zu lines of its message left out)", skip);
	for (line = text; *line != '\0'; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if (skip > 0) {
			skip--;
			continue;
		}
		if (level == LIBBPF_WARN)
			log_warn("%s", line);
		else
			log_debug("%s", line);
	}
	return 0;
}

static int
on_record(void *ctx, void *data, size_t size)
{
	struct bpfclient *client = ctx;
	struct bpfrecord_client record;

	if (bpfrecord_decode(data, size, &record) < 0) {
		stats_inc(client->stats, STATS_BAD_PACKET);
		return 0;
	}
	stats_inc(client->stats, STATS_BPF_RECORDS);
	if (record.kind == BPFRECORD_RESPONSE)
		stats_inc(client->stats, STATS_BPF_RESPONSES);
	else if (record.kind == BPFRECORD_QUEUED)
		stats_inc(client->stats, STATS_BPF_QUEUED);
	client->cb(&record, client->arg);
	return 0;
}

/*
 * Attaches prog to the cgroup open as cgroup_fd (named cgroup).  Returns
 * the link, or NULL with a sentence in err naming what prog records.
 */
static struct bpf_link *
attach(struct bpf_program *prog, int cgroup_fd, const char *cgroup,
    const char *what, char *err, size_t err_len)
{
	struct bpf_link *link;

	link = bpf_program__attach_cgroup(prog, cgroup_fd);
	if (link == NULL)
		snprintf(err, err_len, "attaching the program for %s to %s: "
		    "%s", what, cgroup, strerror(errno));
	return link;
}

/*
 * Opens and loads the object with a ring of ring_bytes and, when fast->dir
 * is set, the fast path's pinned maps (those of an earlier dnsmark where
 * they fit, else new ones).  Returns 0, or a negative errno with err set.
 */
static int
load(struct bpfclient *client, size_t ring_bytes,
    const struct fastpath_config *fast, char *err, size_t err_len)
{
	int ret;

	for (int attempt = 0; attempt < 2; attempt++) {
		dnsmark_client__destroy(client->skel);
		client->skel = dnsmark_client__open();
		if (client->skel == NULL) {
			ret = -errno;
			snprintf(err, err_len, "opening the BPF object: %s",
			    strerror(errno));
			return ret;
		}
		ret = bpf_map__set_max_entries(client->skel->maps.clients,
		    (uint32_t)ring_bytes);
		if (ret == 0)
			ret = fastpath_prepare(&client->fast, client->skel,
			    fast, err, err_len);
		if (ret != 0)
			return ret;
		ret = dnsmark_client__load(client->skel);
		if (ret == 0 || !fastpath_retry_fresh(&client->fast))
			break;
	}
	if (ret != 0)
		snprintf(err, err_len, "loading the BPF program: %s (needs "
		    "CAP_BPF and CAP_NET_ADMIN, and a kernel with BPF ring "
		    "buffers, 5.8 or later)", strerror(-ret));
	return ret;
}

struct bpfclient *
bpfclient_open(const char *dir, size_t ring_bytes,
    const struct fastpath_config *fast, struct stats *stats,
    bpfclient_cb cb, void *arg, char *err, size_t err_len)
{
	struct fastpath_config no_fast = *fast;
	struct bpfclient *client;
	int cgroup_fd, ret;

	no_fast.dir = NULL;

	client = calloc(1, sizeof(*client));
	if (client == NULL) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	fastpath_init(&client->fast);
	client->stats = stats;
	client->cb = cb;
	client->arg = arg;
	if (cgroup_resolve(dir, client->cgroup, sizeof(client->cgroup), err,
	    err_len) < 0)
		goto fail;
	libbpf_set_print(libbpf_log);
	ret = load(client, ring_bytes, fast, err, err_len);
	/* Before the programs are attached: the first question they file
	 * must find the timeout set. */
	if (ret == 0)
		ret = fastpath_start(&client->fast, client->skel, err,
		    err_len);
	if (ret != 0 && fast->dir != NULL) {
		/* Without its fast path bpf mode still works: every upstream
		 * query goes to the queue, as the rules say when the fast
		 * path's programs mark nothing. */
		log_warn("fast path off: %s", err);
		fastpath_stop(&client->fast);
		ret = load(client, ring_bytes, &no_fast, err, err_len);
	}
	if (ret != 0)
		goto fail;
	if (client->fast.enabled)
		log_info("fast path: programs and maps pinned in %s%s",
		    client->fast.dir, client->fast.reused ?
		    " (an earlier dnsmark's maps and programs kept)" : "");
	cgroup_fd = open(client->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgroup_fd < 0) {
		snprintf(err, err_len, "%s: %s", client->cgroup,
		    strerror(errno));
		goto fail;
	}
	client->ingress = attach(client->skel->progs.dnsmark_client_ingress,
	    cgroup_fd, client->cgroup, "client queries", err, err_len);
	if (client->ingress != NULL)
		client->egress = attach(
		    client->skel->progs.dnsmark_client_egress, cgroup_fd,
		    client->cgroup, "the resolver's answers", err, err_len);
	close(cgroup_fd);
	if (client->egress == NULL)
		goto fail;
	client->ring = ring_buffer__new(bpf_map__fd(client->skel->maps.clients),
	    on_record, client, NULL);
	if (client->ring == NULL) {
		snprintf(err, err_len, "mapping the ring buffer: %s",
		    strerror(errno));
		goto fail;
	}
	return client;
fail:
	bpfclient_close(client);
	return NULL;
}

const char *
bpfclient_cgroup(const struct bpfclient *client)
{
	return client->cgroup;
}

int
bpfclient_fd(const struct bpfclient *client)
{
	return ring_buffer__epoll_fd(client->ring);
}

int
bpfclient_drain(struct bpfclient *client)
{
	return ring_buffer__consume(client->ring);
}

uint64_t
bpfclient_lost(const struct bpfclient *client)
{
	return __atomic_load_n(&client->skel->bss->lost_records,
	    __ATOMIC_RELAXED);
}

void
bpfclient_close(struct bpfclient *client)
{
	if (client == NULL)
		return;
	fastpath_stop(&client->fast);
	ring_buffer__free(client->ring);
	bpf_link__destroy(client->egress);
	bpf_link__destroy(client->ingress);
	dnsmark_client__destroy(client->skel);
	free(client);
}

/*
 * The ring as a source of copies: drained at every moment (the records of
 * the client queries before each queued batch, cache hits' at the tick and
 * as the program wakes us), the records the program could not write
 * counted as bpf_lost.
 */
static int
source_bpf_fd(const void *impl)
{
	return bpfclient_fd(impl);
}

static int
source_bpf_read(void *impl, enum source_moment moment)
{
	struct bpfclient *client = impl;

	if (moment == SOURCE_TICK)
		fastpath_tick(&client->fast);
	return bpfclient_drain(client);
}

static void
source_bpf_counters(const void *impl, struct stats *stats)
{
	const struct bpfclient *client = impl;

	stats->counter[STATS_BPF_LOST] = bpfclient_lost(client);
	fastpath_counters(&client->fast, stats);
}

static void
source_bpf_question(void *impl, const struct dns_question *q)
{
	struct bpfclient *client = impl;

	fastpath_question(&client->fast, q);
}

static void
source_bpf_close(void *impl)
{
	bpfclient_close(impl);
}

static const struct source_ops source_bpf_ops = {
	.fd = source_bpf_fd,
	.read = source_bpf_read,
	.counters = source_bpf_counters,
	.question = source_bpf_question,
	.close = source_bpf_close,
};

int
bpfclient_source(struct source *source, const char *dir,
    const struct fastpath_config *fast, struct stats *stats,
    bpfclient_cb cb, void *arg, char *err, size_t err_len)
{
	struct bpfclient *client = bpfclient_open(dir, BPFCLIENT_RING_BYTES,
	    fast, stats, cb, arg, err, err_len);

	if (client == NULL)
		return -1;
	source_init(source, &source_bpf_ops, client,
	    "the ring of the BPF programs on cgroup %s", client->cgroup);
	return 0;
}

int
bpfclient_fast(const struct bpfclient *client)
{
	return client->fast.enabled;
}
