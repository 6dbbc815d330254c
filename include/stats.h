/*
 * Named counters of what dnsmark did with each packet.  Plain memory owned
 * by the caller; counting is one increment.  The names are stable: they are
 * what operators graph.
 */
#ifndef DNSMARK_STATS_H
#define DNSMARK_STATS_H

#include <stdint.h>

enum stats_counter {
	STATS_PACKETS,			/* packets received from the queue */
	STATS_CLIENT_QUERIES,		/* client questions remembered */
	STATS_UPSTREAM_QUERIES,		/* resolver queries judged */
	STATS_UPSTREAM_MARKED,		/* ... and given a client's mark */
	STATS_UPSTREAM_UNMARKED,	/* ... and left unmarked */
	STATS_UPSTREAM_RESPONSES,	/* responses arriving from upstream */
	STATS_ATTRIB_EXACT,
	STATS_ATTRIB_EXACT_ID,
	STATS_ATTRIB_CONFLICT,
	STATS_ATTRIB_CONFLICT_UNMARKED,
	STATS_ATTRIB_NONE,
	STATS_PENDING_EVICTED,		/* live entries pushed out by the cap */
	STATS_PENDING_EXPIRED,
	STATS_IGNORED_HOOK,		/* queued from a hook dnsmark does not use */
	STATS_IGNORED_NO_PAYLOAD,	/* TCP segments without a whole message */
	STATS_IGNORED_CLIENT_RESPONSE,	/* QR=1 on the client side, or QR=0 from port 53 */
	STATS_BAD_NETLINK,		/* queue messages not readable whole */
	STATS_BAD_PACKET,		/* IP/transport could not be decoded */
	STATS_BAD_DNS,			/* DNS header/question could not be parsed */
	STATS_BAD_DNS_SHORT,
	STATS_BAD_DNS_NOT_QUERY,
	STATS_BAD_DNS_QDCOUNT,
	STATS_BAD_DNS_COMPRESSED,
	STATS_BAD_DNS_NAME,
	STATS_BAD_DNS_LDNS,
	STATS_VERDICT_ERRORS,		/* verdict messages the kernel refused */
	STATS_ENOBUFS,			/* receive buffer overruns */
	STATS_ATTRIB_ANCESTOR,
	STATS_ATTRIB_LEARNED,
	STATS_ATTRIB_TCP,
	STATS_ATTRIB_RECENT,
	STATS_ATTRIB_SINGLE,
	STATS_NAMES_LEARNED,		/* CNAME targets and NS names learned */
	STATS_RESPONSES_TRUNCATED,	/* truncated responses to marked queries */
	STATS_RESPONSES_UNMATCHED,	/* responses to queries dnsmark did not mark */
	STATS_BAD_RESPONSE,		/* responses that could not be walked */
	STATS_UPSTREAM_SYN,		/* TCP connections opened upstream */
	STATS_UPSTREAM_TCP_KEPT,	/* queries on unmarked TCP connections, kept so */
	STATS_PENDING_ANSWERED,		/* client questions whose final answer was seen */
	STATS_EVIDENCE_EVICTED,		/* ancestors, learned names ... pushed out by the cap */
	STATS_SOCKET_DROPS,		/* queued packets the socket had no room for */
	STATS_UPSTREAM_SEGMENTS,	/* upstream TCP segments after the SYN */
	STATS_SEGMENTS_MARKED,		/* ... given the mark of their query */
	STATS_SEGMENTS_CLEARED,		/* ... whose client mark bits were cleared */
	STATS_SEGMENTS_SEVERAL,		/* ... carrying queries of several marks */
	STATS_HOLD_HELD,		/* SYN causes held back a moment */
	STATS_HOLD_EXPIRED,		/* open SYN causes no SYN followed */
	STATS_HOLD_NAMED,		/* SYNs named by the one open cause */
	STATS_HOLD_OVERFLOW,		/* SYN causes passed with the hold full */
	STATS_NFLOG_COPIES,		/* observe: copies read from NFLOG */
	STATS_NFLOG_LOST,		/* observe: copies lost (NFULA_SEQ gaps) */
	STATS_NFLOG_ENOBUFS,		/* observe: NFLOG receive errors ENOBUFS */
	STATS_NFLOG_FLUSHES,		/* observe: flushes on demand */
	STATS_NFLOG_FLUSH_TIMEOUTS,	/* ... whose marker did not come back */
	STATS_NFLOG_FLUSH_US,		/* ... microseconds spent in them */
	STATS_BPF_RECORDS,		/* client queries and answers read from the BPF ring (bpf mode) */
	STATS_BPF_LOST,			/* ... lost because the ring was full */
	STATS_BPF_RESPONSES,		/* upstream responses read from the ring */
	STATS_BPF_QUEUED,		/* upstream queries the fast path left to
					 * the queue, read from the ring */
	STATS_FAST_MARKED,		/* upstream queries the kernel marked (fast path) */
	STATS_FAST_ABSENT,		/* ... left to dnsmark: no client asked it */
	STATS_FAST_STALE,		/* ... asked longer ago than --timeout */
	STATS_FAST_ANSWERED,		/* ... every asker answered */
	STATS_FAST_AMBIGUOUS,		/* ... clients of two marks asked */
	STATS_FAST_MANY_WAITING,	/* ... too many askers to count */
	STATS_FAST_UNMARKED,		/* ... the askers' mark has no --mask bit */
	STATS_FAST_PACKET,		/* ... not a query the kernel reads */
	STATS_FAST_PREMARKED,		/* ... --mask bits set already */
	STATS_FAST_DOUBT,		/* ... a TCP client asked, or doubt */
	STATS_FAST_OFF,			/* ... dnsmark was not running */
	STATS_FAST_FILED,		/* client questions filed by the kernel */
	STATS_FAST_FILE_FAILED,		/* ... that could not be (map full) */
	STATS_FAST_UNDONE,		/* kernel marks built, then undone */
	STATS_FAST_SWEPT,		/* questions the kernel's sweeper deleted */
	STATS_FAST_SWEEPS,		/* ... its walks of the map */
	STATS_FAST_SWEEP_TIME,		/* ... microseconds its sweeps took */
	STATS_NETLINK_TRUNCATED,	/* queue datagrams cut by the receive buffer */
	STATS_NETLINK_NO_ID,		/* queue messages without a readable packet id */
	STATS_VERDICT_SEND_RETRIES,	/* verdict sends tried again */
	STATS_VERDICTS_UNSENT,		/* verdicts still unsent after the retries */
	STATS_VERDICTS_SWEPT,		/* packets left without a verdict at the stop */
	STATS_CNAMES_FOLLOWED,		/* CNAME targets filed for a client from memory */
	STATS_CLIENT_ANSWERS,		/* the resolver's answers to clients seen */
	STATS_CLIENT_ANSWERS_MATCHED,	/* ... that settled a pending question */
	STATS_UPSTREAM_EARLY,		/* queued upstream queries judged as the
					 * kernel queued them */
	STATS_EARLY_DISPLACED,		/* ... whose result a newer one displaced */
	STATS_COUNT
};

struct stats {
	uint64_t counter[STATS_COUNT];
};

static inline void
stats_inc(struct stats *stats, enum stats_counter counter)
{
	stats->counter[counter]++;
}

/* Returns the counter's stable name ("upstream_marked"). */
const char *stats_name(enum stats_counter counter);

/* Returns a description of the counter, one line, for exports. */
const char *stats_help(enum stats_counter counter);

/*
 * Writes "name=value" pairs for every counter, separated by spaces, to buf
 * of size len; returns the length it would have written, like snprintf.
 */
int stats_format(const struct stats *stats, char *buf, size_t len);

#endif
