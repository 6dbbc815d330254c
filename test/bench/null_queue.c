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
#ifdef HAVE_BPF
#include "bpfclient.h"
#endif
#include "log.h"
#include "nflog.h"
#include "options.h"
#include "queue.h"
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
before_batch(void *arg)
{
	nflog_flush(arg);
}

#ifdef HAVE_BPF
static void
on_record(const struct bpfrecord_client *client, void *arg)
{
	(void)client;
	(void)arg;
}

static void
on_batch(void *arg)
{
	bpfclient_drain(arg);
}
#endif

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
#ifdef HAVE_BPF
	fprintf(stream, "  --bpf-cgroup DIR  bpf mode's null program: also "
	    "load bpf mode's program on\n                    the cgroup v2 "
	    "directory DIR and drain its ring without judging\n");
#endif
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
	struct bpfclient *bpf = NULL;
	struct nflog *nflog = NULL;
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

	if (use_nflog) {
		nflog = nflog_open((uint16_t)group, &stats, on_copy, NULL,
		    NFLOG_BATCHED);
		if (nflog == NULL)
			return 1;
		pfd[1].fd = nflog_fd(nflog);
		pfd[1].events = POLLIN;
		nfds = 2;
	}
	if (bpf_cgroup != NULL) {
#ifdef HAVE_BPF
		char err[256];

		bpf = bpfclient_open(bpf_cgroup, BPFCLIENT_RING_BYTES, &stats,
		    on_record, NULL, err, sizeof(err));
		if (bpf == NULL)
			fatal("--bpf-cgroup: %s", err);
		pfd[1].fd = bpfclient_fd(bpf);
		pfd[1].events = POLLIN;
		nfds = 2;
		log_info("bpf program attached to %s", bpfclient_cgroup(bpf));
#else
		fatal("--bpf-cgroup: built without bpf mode");
#endif
	}
	/* The queue length of dnsmark's default --queue-maxlen. */
	queue = queue_open((uint16_t)num, OPTIONS_DEFAULT_QUEUE_MAXLEN, &stats,
	    on_packet, NULL);
	if (queue == NULL) {
		nflog_close(nflog);
		return 1;
	}
	if (nflog != NULL)
		queue_set_batch_hook(queue, before_batch, nflog);
#ifdef HAVE_BPF
	if (bpf != NULL)
		queue_set_batch_hook(queue, on_batch, bpf);
#endif
	log_info("queue %lu bound: accepting every packet unchanged%s", num,
	    nflog != NULL ? "; NFLOG copies read and ignored" :
	    bpf != NULL ? "; ring records read and ignored" : "");
	pfd[0].fd = queue_fd(queue);
	pfd[0].events = POLLIN;
	while (!stopping) {
		int ret = poll(pfd, (nfds_t)nfds, bpf != NULL ?
		    NULL_QUEUE_DRAIN_MS : -1);

		if (ret < 0) {
			if (errno == EINTR)
				continue;
			log_err("poll: %s", strerror(errno));
			break;
		}
#ifdef HAVE_BPF
		if (bpf != NULL && (ret == 0 || pfd[1].revents != 0))
			bpfclient_drain(bpf);
#endif
		/* Drain what is waiting, a batch at a time, as dnsmark does. */
		do {
			ret = queue_process(queue);
		} while (ret > 0);
		if (ret < 0)
			log_warn("receiving from queue: %s", strerror(-ret));
		if (nflog != NULL && (pfd[1].revents & POLLIN) &&
		    (ret = nflog_receive(nflog)) < 0)
			log_warn("receiving from NFLOG: %s", strerror(-ret));
	}
	drained = queue_drain(queue, 100);
	if (drained < 0)
		log_warn("draining queue %lu: %s", num, strerror(-drained));
	queue_close(queue);
	if (nflog != NULL)
		log_info("NFLOG: %llu copies, %llu lost, %llu flushes (%llu us)",
		    (unsigned long long)stats.counter[STATS_NFLOG_COPIES],
		    (unsigned long long)stats.counter[STATS_NFLOG_LOST],
		    (unsigned long long)stats.counter[STATS_NFLOG_FLUSHES],
		    (unsigned long long)stats.counter[STATS_NFLOG_FLUSH_US]);
	nflog_close(nflog);
#ifdef HAVE_BPF
	if (bpf != NULL)
		log_info("ring: %llu records read, %llu lost",
		    (unsigned long long)stats.counter[STATS_BPF_RECORDS],
		    (unsigned long long)bpfclient_lost(bpf));
	bpfclient_close(bpf);
#endif
	return 0;
}
