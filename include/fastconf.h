/*
 * What dnsmark and the BPF programs of the kernel fast path
 * (src/bpf/fast_progs.h) share through the memory of one map: whether
 * dnsmark runs, its timeout and mask, and the programs' counters by
 * reason (src/bpf/fast.h).  Fixed-size kernel types only: the layout is
 * the same on both sides.
 */
#ifndef DNSMARK_FASTCONF_H
#define DNSMARK_FASTCONF_H

#include <linux/types.h>

#include "fast.h"

/* Slots of the table of TCP clients' questions (a power of two). */
#define FASTCONF_DOUBTS 4096
#define FASTCONF_IPV6_HEADER 40
#define FASTCONF_UDP_HEADER 8
#define FASTCONF_PROTO_UDP 17
/* How long the kernel marks after dnsmark last said it runs. */
#define FASTCONF_ALIVE_MS 3000
/* Changes when the layout of a map the fast path pins changes. */
#define FASTCONF_VERSION 2

struct fastconf {
	__u64 alive_until_ns;	/* CLOCK_MONOTONIC; 0: dnsmark stopped */
	__u64 doubt_until_ns;	/* no marking before this */
	__u64 timeout_ns;	/* dnsmark's --timeout */
	__u64 timeout_units;	/* the same in FAST_TIME_SHIFT units */
	__u32 mask;		/* dnsmark's --mask */
	__u32 version;		/* FASTCONF_VERSION of who set it up */
	__u64 swept;		/* entries the sweeper deleted */
	__u64 sweep_ns;		/* time it took, in all */
	__u64 sweeps;		/* walks of the map it made */
	__u64 entries;		/* entries in the map: the filers add each
				 * one they insert, the sweeper takes off
				 * each one it deletes */
	__u64 sweep_above;	/* the sweeper walks the map only while it
				 * holds more entries than this */
	__u64 counters[FAST_REASONS];
};

#endif
