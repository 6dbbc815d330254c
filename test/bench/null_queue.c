/*
 * The null program of test/bench/qps.sh: binds an NFQUEUE with dnsmark's
 * own queue code (src/queue.c: one acknowledged bind with fail-open,
 * recvmmsg batches of 32, one sendmsg of verdicts per batch) and accepts
 * every packet unchanged.  It reads nothing and judges nothing, so the
 * difference between it and dnsmark is dnsmark's own work per packet.
 * With --nflog GROUP it is the null program of observe mode: it also binds
 * the NFLOG group with dnsmark's code (src/nflog.c), reads the copies as
 * they come and flushes once per queue batch, exactly as dnsmark does, and
 * ignores every copy.  With --bpf-cgroup DIR it is bpf mode's: it loads and
 * attaches bpf mode's program and drains its ring as dnsmark does (before
 * each batch, on a timer and when the program asks), without judging.
 * With --mark MARK it accepts the packets of the output hook (the
 * resolver's upstream queries) with packet mark MARK, as dnsmark accepts
 * an upstream query it attributes: the kernel then does what a new mark
 * makes it do (route the packet again, the rules save the mark on its
 * flow) under both programs, and the difference stays dnsmark's own work.
 */
#include <errno.h>
#include <getopt.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "bpfclient.h"
#include "log.h"
#include "nflog.h"
#include "options.h"
#include "queue.h"
#include "source.h"
#include "stats.h"

#define NULL_QUEUE_DRAIN_MS 1000	/* dnsmark's timer */

static volatile sig_atomic_t stopping;
static int mark_output;		/* --mark given */
static uint32_t output_mark;

static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

static struct judge_verdict
on_packet(const struct queue_packet *packet, void *arg)
{
	struct judge_verdict verdict = { 0 };

	(void)arg;
	if (mark_output && packet->pkt.hook == NF_INET_LOCAL_OUT) {
		verdict.set_mark = 1;
		verdict.mark = output_mark;
	}
	return verdict;
}

static void
on_copy(const struct judge_packet *pkt, void *arg)
{
	(void)pkt;
	(void)arg;
}

static void
on_record(const struct bpfrecord_client *client, void *arg)
{
	(void)client;
	(void)arg;
}

static void
before_batch(void *arg)
{
	source_read(arg, SOURCE_BEFORE_BATCH);
}

static int
parse_number(const char *text, unsigned long *value)
{
	char *end;

	errno = 0;
	*value = strtoul(text, &end, 10);
	return errno != 0 || *end != '\0' || end == text || *value > 65535 ?
	    -1 : 0;
}

static void
usage(FILE *stream, const char *progname)
{
	fprintf(stream, "usage: %s [--mark MARK] [--nflog GROUP] "
	    "[--bpf-cgroup DIR] QUEUE_NUMBER\n"
	    "  --mark MARK       accept the output hook's packets (upstream "
	    "queries) with\n                    packet mark MARK, as dnsmark "
	    "does those it attributes\n"
	    "  --nflog GROUP     observe mode's null program: also read the "
	    "NFLOG group\n"
	    "                    (rules/observe-v*.rules), flushing once per "
	    "batch\n", progname);
	fprintf(stream, "  --bpf-cgroup DIR  bpf mode's null program: also "
	    "load bpf mode's program on\n                    the cgroup v2 "
	    "directory DIR and drain its ring without judging\n");
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "mark", required_argument, NULL, 'm' },
		{ "nflog", required_argument, NULL, 'g' },
		{ "bpf-cgroup", required_argument, NULL, 'G' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct stats stats;
	const char *bpf_cgroup = NULL;
	struct source copies = { 0 };
	struct pollfd pfd[2];
	struct sigaction sa;
	struct queue *queue;
	unsigned long num, group = 0, mark;
	int c, drained, use_nflog = 0, nfds = 1;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'g':
			if (parse_number(optarg, &group) < 0) {
				fprintf(stderr, "%s: bad NFLOG group '%s'\n",
				    argv[0], optarg);
				return 2;
			}
			use_nflog = 1;
			break;
		case 'G':
			bpf_cgroup = optarg;
			break;
		case 'm': {
			char *end;

			errno = 0;
			mark = strtoul(optarg, &end, 0);
			if (errno != 0 || *end != '\0' || end == optarg ||
			    mark > UINT32_MAX) {
				fprintf(stderr, "%s: bad mark '%s'\n",
				    argv[0], optarg);
				return 2;
			}
			output_mark = (uint32_t)mark;
			mark_output = 1;
			break;
		}
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if (optind != argc - 1 || (use_nflog && bpf_cgroup != NULL)) {
		usage(stderr, argv[0]);
		return 2;
	}
	if (parse_number(argv[optind], &num) < 0) {
		fprintf(stderr, "%s: bad queue number '%s'\n", argv[0],
		    argv[optind]);
		return 2;
	}
	log_init("null_queue", LOG_LEVEL_INFO, 0);

	/* No SA_RESTART: the signal must interrupt poll(). */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	if (use_nflog && nflog_source(&copies, (uint16_t)group, &stats,
	    on_copy, NULL, NFLOG_BATCHED) < 0)
		return 1;
	if (bpf_cgroup != NULL) {
		/* No fast path: the null program's rules queue every
		 * upstream query. */
		struct fastpath_config no_fast = { .dir = NULL };
		char err[256];

		if (bpfclient_source(&copies, bpf_cgroup, &no_fast, &stats,
		    on_record, NULL, err, sizeof(err)) < 0)
			fatal("--bpf-cgroup: %s", err);
		log_info("bpf program attached: %s", copies.what);
	}
	if (source_is_open(&copies)) {
		pfd[1].fd = source_fd(&copies);
		pfd[1].events = POLLIN;
		nfds = 2;
	}
	/* The queue length of dnsmark's default --queue-maxlen. */
	queue = queue_open((uint16_t)num, OPTIONS_DEFAULT_QUEUE_MAXLEN, &stats,
	    on_packet, NULL);
	if (queue == NULL) {
		source_close(&copies);
		return 1;
	}
	if (source_is_open(&copies))
		queue_set_batch_hook(queue, before_batch, &copies);
	log_info("queue %lu bound: accepting every packet unchanged%s", num,
	    use_nflog ? "; NFLOG copies read and ignored" :
	    bpf_cgroup != NULL ? "; ring records read and ignored" : "");
	pfd[0].fd = queue_fd(queue);
	pfd[0].events = POLLIN;
	while (!stopping) {
		int ret = poll(pfd, (nfds_t)nfds, bpf_cgroup != NULL ?
		    NULL_QUEUE_DRAIN_MS : -1);

		if (ret < 0) {
			if (errno == EINTR)
				continue;
			log_err("poll: %s", strerror(errno));
			break;
		}
		/* The ring as dnsmark reads it: at the tick, and as the
		 * program asks. */
		if (bpf_cgroup != NULL && ret == 0)
			source_read(&copies, SOURCE_TICK);
		else if (bpf_cgroup != NULL && pfd[1].revents != 0)
			source_read(&copies, SOURCE_READABLE);
		/* Drain what is waiting, a batch at a time, as dnsmark does. */
		do {
			ret = queue_process(queue);
		} while (ret > 0);
		if (ret < 0)
			log_warn("receiving from queue: %s", strerror(-ret));
		if (use_nflog && (pfd[1].revents & POLLIN) &&
		    (ret = source_read(&copies, SOURCE_READABLE)) < 0)
			log_warn("receiving from NFLOG: %s", strerror(-ret));
	}
	drained = queue_drain(queue, 100);
	if (drained < 0)
		log_warn("draining queue %lu: %s", num, strerror(-drained));
	queue_close(queue);
	if (use_nflog)
		log_info("NFLOG: %llu copies, %llu lost, %llu flushes (%llu us)",
		    (unsigned long long)stats.counter[STATS_NFLOG_COPIES],
		    (unsigned long long)stats.counter[STATS_NFLOG_LOST],
		    (unsigned long long)stats.counter[STATS_NFLOG_FLUSHES],
		    (unsigned long long)stats.counter[STATS_NFLOG_FLUSH_US]);
	source_counters(&copies, &stats);
	if (bpf_cgroup != NULL)
		log_info("ring: %llu records read, %llu lost",
		    (unsigned long long)stats.counter[STATS_BPF_RECORDS],
		    (unsigned long long)stats.counter[STATS_BPF_LOST]);
	source_close(&copies);
	return 0;
}
