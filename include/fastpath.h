/*
 * The kernel fast path's userspace half (src/fastpath.c): pins the maps
 * and programs of bpf mode's object that the rules of
 * rules/bpf-fast-v*.rules name, keeps them across a restart, and tells the
 * programs, through memory they share, that dnsmark runs and which
 * questions TCP clients wait for.  Used by src/bpfclient.c around the
 * object's load.
 */
#ifndef DNSMARK_FASTPATH_H
#define DNSMARK_FASTPATH_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "dns.h"
#include "fastconf.h"
#include "stats.h"

struct dnsmark_client;

struct fastpath_config {
	const char *dir;	/* where to pin (a bpf file system); NULL: off */
	uint32_t mask;		/* dnsmark's --mask */
	uint64_t timeout_ms;	/* dnsmark's --timeout */
	uint32_t max_questions;	/* entries of the questions' map */
};

struct fastpath {
	int enabled;
	int reused;		/* the maps of an earlier dnsmark */
	int lock;		/* the directory, locked; -1: none */
	uint32_t mask;
	uint64_t timeout_ms;
	char dir[PATH_MAX];
	struct fastconf *conf;	/* MAP_FAILED when not mapped */
	size_t conf_len;
	void *doubts;
	size_t doubts_len;
};

/* Makes fast a fast path that is off; call once, first. */
void fastpath_init(struct fastpath *fast);

/*
 * Before the object is loaded: sizes the questions' map and points every
 * map the fast path pins at config->dir (created if need be), where libbpf
 * reuses an earlier dnsmark's or pins them.  With config->dir NULL the
 * fast path is off and every other call does nothing.  Returns 0, or a
 * negative errno with a sentence in err.
 */
int fastpath_prepare(struct fastpath *fast, struct dnsmark_client *skel,
    const struct fastpath_config *config, char *err, size_t err_len);

/*
 * After a load that failed: when it reused pinned maps (which may not fit
 * this dnsmark), removes them and returns 1 (load again); else returns 0.
 */
int fastpath_retry_fresh(struct fastpath *fast);

/*
 * After the load: maps the shared memory, sets the timeout and mask, pins
 * the programs the rules name (keeping an earlier dnsmark's where its maps
 * were reused) and starts the kernel's sweeper.  Returns 0, or a negative
 * errno with a sentence in err.
 */
int fastpath_start(struct fastpath *fast, struct dnsmark_client *skel,
    char *err, size_t err_len);

/* Says dnsmark runs, for FASTCONF_ALIVE_MS: call at least every second. */
void fastpath_tick(struct fastpath *fast);

/* Tells the programs that a client waits for q (a TCP client's question,
 * which they do not see), for a timeout. */
void fastpath_question(struct fastpath *fast, const struct dns_question *q);

/* Copies the programs' counters into stats. */
void fastpath_counters(const struct fastpath *fast, struct stats *stats);

/* Says dnsmark stopped (the pinned programs mark nothing from now on),
 * unmaps and unlocks; the pins stay.  The fast path is off after it. */
void fastpath_stop(struct fastpath *fast);

#endif
