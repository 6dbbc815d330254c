/*
 * The sources of copies: packets dnsmark learns from without giving them a
 * verdict, read beside the queue.  Observe mode's NFLOG group (client
 * queries and upstream responses, batched), queue mode's NFLOG group (the
 * resolver's answers to its clients, one by one) and bpf mode's ring
 * (client queries and answers recorded by the programs on the resolver's
 * cgroup).  The daemon's loop asks each source to read at four moments and
 * knows nothing else of it: which kind it is, whether it was built.
 */
#ifndef DNSMARK_SOURCE_H
#define DNSMARK_SOURCE_H

#include <stdint.h>

#include "dns.h"
#include "stats.h"

enum source_moment {
	SOURCE_READABLE,	/* its descriptor polled readable */
	SOURCE_BEFORE_BATCH,	/* a batch of queued packets is to be judged:
				 * what caused them must be read first */
	SOURCE_TICK,		/* the one-second timer: cache hits queue
				 * nothing, their copies are read here too */
	SOURCE_NOW,		/* the counters are asked for (SIGUSR1) */
};

struct source_ops {
	int (*fd)(const void *impl);
	/* Returns 0 or a count read, or -errno. */
	int (*read)(void *impl, enum source_moment moment);
	/* Brings what the kernel counts for the source into stats; NULL
	 * when it counts nothing. */
	void (*counters)(const void *impl, struct stats *stats);
	/* Tells the source's kernel side of a client question read from
	 * the queue (a TCP client's), which it cannot see; NULL when it
	 * has no use for them. */
	void (*question)(void *impl, const struct dns_question *q);
	void (*close)(void *impl);
};

#define SOURCE_WHAT_LEN 256

struct source {
	const struct source_ops *ops;	/* NULL: not open */
	void *impl;
	char what[SOURCE_WHAT_LEN];	/* for the log: what it reads */
};

/* Makes source a source of ops reading impl; what is printf'd. */
void source_init(struct source *source, const struct source_ops *ops,
    void *impl, const char *what, ...)
    __attribute__((format(printf, 4, 5)));

int source_is_open(const struct source *source);

/* The descriptor to poll, or -1 for a source not open. */
int source_fd(const struct source *source);

/* Reads what the moment asks for; 0 for a source not open. */
int source_read(struct source *source, enum source_moment moment);

void source_counters(const struct source *source, struct stats *stats);

/* Tells the source of a client question the queue brought; nothing for a
 * source not open or with no use for it. */
void source_question(struct source *source, const struct dns_question *q);

/* Closes it and leaves it not open; a source not open is left alone. */
void source_close(struct source *source);

#endif
