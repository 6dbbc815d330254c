/*
 * The kernel fast path's userspace half: before the BPF object is loaded,
 * points its maps at the pins of an earlier dnsmark (so that the programs
 * iptables already runs keep working across a restart) or pins them
 * anew; after, pins the programs the rules name, starts the kernel's
 * sweeper, and from then on talks to the programs only through the memory
 * of two maps (no system call, no capability): that dnsmark runs (every
 * second), the questions of TCP clients, and the counters.  It never
 * decides a mark: src/bpf/fast.h does, in the kernel.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "client.skel.h"
#include "fastconf.h"
#include "fastkey.h"
#include "fastpath.h"
#include "log.h"

/* The maps the pinned programs use, pinned under the directory with
 * these names, and the programs the rules name. */
static const char *const pinned_maps[] = {
	"fast_questions", "fast_doubts", "fast_conf", "fast_slots",
	"fast_scratch", "fast_timers", "clients",
};
#define PINNED_MAPS (sizeof(pinned_maps) / sizeof(pinned_maps[0]))
#define BITS 32

static uint64_t
monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int
pin_path(char *path, size_t len, const char *dir, const char *name)
{
	int n = snprintf(path, len, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Removes dir's pins of maps and programs (not dir). */
static void
unpin_all(const char *dir)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < PINNED_MAPS; i++)
		if (pin_path(path, sizeof(path), dir, pinned_maps[i]) == 0)
			unlink(path);
	if (pin_path(path, sizeof(path), dir, "classify") == 0)
		unlink(path);
	if (pin_path(path, sizeof(path), dir, "verify") == 0)
		unlink(path);
	for (int bit = 0; bit < BITS; bit++) {
		char name[16];

		snprintf(name, sizeof(name), "bit%d", bit);
		if (pin_path(path, sizeof(path), dir, name) == 0)
			unlink(path);
		snprintf(name, sizeof(name), "byte%d", bit / 8);
		if (pin_path(path, sizeof(path), dir, name) == 0)
			unlink(path);
	}
}

static struct bpf_map *
skel_map(struct dnsmark_client *skel, const char *name)
{
	return bpf_object__find_map_by_name(skel->obj, name);
}

static int
set_pin_paths(struct fastpath *fast, struct dnsmark_client *skel)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < PINNED_MAPS; i++) {
		struct bpf_map *map = skel_map(skel, pinned_maps[i]);

		if (map == NULL ||
		    pin_path(path, sizeof(path), fast->dir, pinned_maps[i]) < 0)
			return -ENOENT;
		if (bpf_map__set_pin_path(map, path) != 0)
			return -errno;
	}
	return 0;
}

void
fastpath_init(struct fastpath *fast)
{
	memset(fast, 0, sizeof(*fast));
	fast->lock = -1;
	fast->conf = MAP_FAILED;
	fast->doubts = MAP_FAILED;
}

/* Whether the programs only the fast path runs are loaded at all. */
static int
set_autoload(struct dnsmark_client *skel, bool load)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, skel->obj) {
		const char *name = bpf_program__name(prog);

		if (strncmp(name, "dnsmark_fast_", 13) == 0 &&
		    bpf_program__set_autoload(prog, load) != 0)
			return -EINVAL;
	}
	return 0;
}

int
fastpath_prepare(struct fastpath *fast, struct dnsmark_client *skel,
    const struct fastpath_config *config, char *err, size_t err_len)
{
	char path[PATH_MAX];
	int ret;

	fast->enabled = 0;
	fast->reused = 0;
	fast->timeout_ms = config->timeout_ms;
	if (config->dir == NULL)
		return set_autoload(skel, false);
	if (snprintf(fast->dir, sizeof(fast->dir), "%s", config->dir) >=
	    (int)sizeof(fast->dir)) {
		snprintf(err, err_len, "%s: name too long", config->dir);
		return -ENAMETOOLONG;
	}
	if (mkdir(fast->dir, 0700) < 0 && errno != EEXIST) {
		ret = -errno;
		snprintf(err, err_len, "%s: %s (a directory on a bpf file "
		    "system: mount -t bpf bpf /sys/fs/bpf)", fast->dir,
		    strerror(errno));
		return ret;
	}
	/* One dnsmark a directory: two would share one map of questions. */
	if (fast->lock < 0) {
		fast->lock = open(fast->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fast->lock < 0 || flock(fast->lock, LOCK_EX | LOCK_NB) < 0) {
			ret = -errno;
			snprintf(err, err_len, "%s: %s", fast->dir,
			    errno == EWOULDBLOCK ? "another dnsmark uses it "
			    "(give each its own --fast-path)" : strerror(errno));
			if (fast->lock >= 0)
				close(fast->lock);
			fast->lock = -1;
			return ret;
		}
	}
	ret = bpf_map__set_max_entries(skel->maps.fast_questions,
	    config->max_questions);
	if (ret == 0)
		ret = set_pin_paths(fast, skel);
	if (ret != 0) {
		snprintf(err, err_len, "setting up the fast path's maps: %s",
		    strerror(-ret));
		return ret;
	}
	if (pin_path(path, sizeof(path), fast->dir, "fast_conf") == 0)
		fast->reused = access(path, F_OK) == 0;
	fast->mask = config->mask;
	fast->enabled = 1;
	return 0;
}

int
fastpath_retry_fresh(struct fastpath *fast)
{
	if (!fast->enabled || !fast->reused)
		return 0;
	log_warn("fast path: the maps pinned in %s do not fit this dnsmark: "
	    "pinned anew; load the fast path's rules again "
	    "(rules/bpf-fast-v4.rules, bpf-fast-v6.rules)", fast->dir);
	unpin_all(fast->dir);
	fast->reused = 0;
	return 1;
}

static int
pin_program(struct fastpath *fast, struct bpf_program *prog,
    const char *name, int replace, char *err, size_t err_len)
{
	char path[PATH_MAX];
	int ret;

	if (pin_path(path, sizeof(path), fast->dir, name) < 0) {
		snprintf(err, err_len, "%s/%s: name too long", fast->dir,
		    name);
		return -ENAMETOOLONG;
	}
	if (!replace && access(path, F_OK) == 0)
		return 0;
	unlink(path);
	ret = bpf_program__pin(prog, path);
	if (ret != 0)
		snprintf(err, err_len, "pinning %s: %s", path,
		    strerror(-ret));
	return ret;
}

static int
pin_programs(struct fastpath *fast, struct dnsmark_client *skel, char *err,
    size_t err_len)
{
	/* With the maps of an earlier dnsmark, its programs (those the
	 * rules in the kernel hold) stay: they read the same maps. */
	int replace = !fast->reused;
	int ret;

	ret = pin_program(fast, skel->progs.dnsmark_fast_classify, "classify",
	    replace, err, err_len);
	if (ret == 0)
		ret = pin_program(fast, skel->progs.dnsmark_fast_verify,
		    "verify", replace, err, err_len);
	for (int i = 0; i < BITS + BITS / 8 && ret == 0; i++) {
		const char *kind = i < BITS ? "bit" : "byte";
		int n = i < BITS ? i : i - BITS;
		char name[32];
		struct bpf_program *prog;

		snprintf(name, sizeof(name), "dnsmark_fast_%s%d", kind, n);
		prog = bpf_object__find_program_by_name(skel->obj, name);
		if (prog == NULL) {
			snprintf(err, err_len, "no program %s", name);
			return -ENOENT;
		}
		snprintf(name, sizeof(name), "%s%d", kind, n);
		ret = pin_program(fast, prog, name, replace, err, err_len);
	}
	return ret;
}

static void *
map_memory(struct bpf_map *map, size_t *len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	*len = (bpf_map__value_size(map) * bpf_map__max_entries(map) + page -
	    1) / page * page;
	return mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED,
	    bpf_map__fd(map), 0);
}

/* Starts the kernel's sweeper; returns 0, or a negative errno. */
static int
start_sweeper(struct dnsmark_client *skel)
{
	/* A socket filter runs on a packet: any will do (an Ethernet
	 * header's worth of zeros). */
	uint8_t packet[64] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = packet,
	    .data_size_in = sizeof(packet), .repeat = 1);
	int ret;

	ret = bpf_prog_test_run_opts(
	    bpf_program__fd(skel->progs.dnsmark_fast_start), &run);
	if (ret != 0)
		return -errno;
	return run.retval <= 1 ? 0 : -EINVAL;
}

int
fastpath_start(struct fastpath *fast, struct dnsmark_client *skel,
    char *err, size_t err_len)
{
	uint64_t now = monotonic_ns();
	int ret;

	if (!fast->enabled)
		return 0;
	fast->conf = map_memory(skel->maps.fast_conf, &fast->conf_len);
	fast->doubts = map_memory(skel->maps.fast_doubts, &fast->doubts_len);
	if (fast->conf == MAP_FAILED || fast->doubts == MAP_FAILED) {
		ret = -errno;
		snprintf(err, err_len, "mapping the fast path's maps: %s",
		    strerror(errno));
		return ret;
	}
	fast->conf->alive_until_ns = 0;
	/* Counters are this dnsmark's, as all its others are. */
	memset(fast->conf->counters, 0, sizeof(fast->conf->counters));
	fast->conf->swept = 0;
	fast->conf->sweep_ns = 0;
	fast->conf->sweeps = 0;
	/* entries stays: it counts what the (reused) map holds. */
	fast->conf->sweep_above =
	    bpf_map__max_entries(skel->maps.fast_questions) / 2;
	fast->conf->timeout_ns = fast->timeout_ms * 1000000ull;
	fast->conf->timeout_units = fast_timeout_units(fast->timeout_ms);
	fast->conf->mask = fast->mask;
	fast->conf->version = FASTCONF_VERSION;
	/* What the maps held from an earlier dnsmark is older than what
	 * this one knows: nothing is marked from it for a timeout. */
	fast->conf->doubt_until_ns = fast->reused ?
	    now + fast->conf->timeout_ns : 0;
	ret = pin_programs(fast, skel, err, err_len);
	if (ret == 0) {
		ret = start_sweeper(skel);
		if (ret != 0)
			snprintf(err, err_len, "starting the fast path's "
			    "sweeper: %s", strerror(-ret));
	}
	if (ret != 0)
		return ret;
	fastpath_tick(fast);
	return 0;
}

void
fastpath_tick(struct fastpath *fast)
{
	if (fast->enabled && fast->conf != MAP_FAILED)
		__atomic_store_n(&fast->conf->alive_until_ns, monotonic_ns() +
		    FASTCONF_ALIVE_MS * 1000000ull, __ATOMIC_RELEASE);
}

void
fastpath_question(struct fastpath *fast, const struct dns_question *q)
{
	struct fast_key key;
	uint32_t slot;

	if (!fast->enabled || fast->doubts == MAP_FAILED)
		return;
	fastkey_from_question(q, &key);
	slot = fastkey_slot(&key, FASTCONF_DOUBTS);
	__atomic_store_n(&((uint64_t *)fast->doubts)[slot], monotonic_ns() +
	    fast->timeout_ms * 1000000ull, __ATOMIC_RELEASE);
}

void
fastpath_counters(const struct fastpath *fast, struct stats *stats)
{
	static const enum stats_counter counters[FAST_REASONS] = {
		[FAST_MARKED] = STATS_FAST_MARKED,
		[FAST_ABSENT] = STATS_FAST_ABSENT,
		[FAST_STALE] = STATS_FAST_STALE,
		[FAST_ANSWERED] = STATS_FAST_ANSWERED,
		[FAST_AMBIGUOUS_MARKS] = STATS_FAST_AMBIGUOUS,
		[FAST_MANY_WAITING] = STATS_FAST_MANY_WAITING,
		[FAST_UNMARKED] = STATS_FAST_UNMARKED,
		[FAST_PACKET] = STATS_FAST_PACKET,
		[FAST_PREMARKED] = STATS_FAST_PREMARKED,
		[FAST_DOUBT] = STATS_FAST_DOUBT,
		[FAST_OFF] = STATS_FAST_OFF,
		[FAST_FILED] = STATS_FAST_FILED,
		[FAST_FILE_FAILED] = STATS_FAST_FILE_FAILED,
		[FAST_UNDONE] = STATS_FAST_UNDONE,
	};

	if (!fast->enabled || fast->conf == MAP_FAILED)
		return;
	for (int i = 0; i < FAST_REASONS; i++)
		stats->counter[counters[i]] = __atomic_load_n(
		    &fast->conf->counters[i], __ATOMIC_RELAXED);
	stats->counter[STATS_FAST_SWEPT] = __atomic_load_n(
	    &fast->conf->swept, __ATOMIC_RELAXED);
	stats->counter[STATS_FAST_SWEEPS] = __atomic_load_n(
	    &fast->conf->sweeps, __ATOMIC_RELAXED);
	stats->counter[STATS_FAST_SWEEP_TIME] = __atomic_load_n(
	    &fast->conf->sweep_ns, __ATOMIC_RELAXED) / 1000;
}

void
fastpath_stop(struct fastpath *fast)
{
	if (fast->conf != MAP_FAILED) {
		/* The pinned programs stay in the rules: they stop marking
		 * now, and the queue (or its bypass) takes every query. */
		__atomic_store_n(&fast->conf->alive_until_ns, 0,
		    __ATOMIC_RELEASE);
		munmap(fast->conf, fast->conf_len);
		fast->conf = MAP_FAILED;
	}
	if (fast->doubts != MAP_FAILED) {
		munmap(fast->doubts, fast->doubts_len);
		fast->doubts = MAP_FAILED;
	}
	if (fast->lock >= 0)
		close(fast->lock);
	fast->lock = -1;
	fast->enabled = 0;
}
