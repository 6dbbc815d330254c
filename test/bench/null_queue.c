/*
 * The null program of test/bench/qps.sh: binds an NFQUEUE with dnsmark's
 * own queue code (src/queue.c: one acknowledged bind with fail-open,
 * recvmmsg batches of 32, one sendmsg of verdicts per batch) and accepts
 * every packet unchanged.  It reads nothing and judges nothing, so the
 * difference between it and dnsmark is dnsmark's own work per packet.
 * With --bpf-cgroup DIR it also loads and attaches bpf mode's program and
 * drains its ring as dnsmark does (before each batch, on a timer and when
 * the program asks), without judging the records.
 */
#include <errno.h>
#include <getopt.h>
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
#include "queue.h"
#include "stats.h"

#define NULL_QUEUE_MAXLEN 1024	/* dnsmark's default --queue-maxlen */
#define NULL_QUEUE_DRAIN_MS 1000	/* dnsmark's timer */

static volatile sig_atomic_t stopping;

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

	(void)packet;
	(void)arg;
	return verdict;
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

static void
usage(FILE *stream, const char *progname)
{
#ifndef HAVE_BPF
	fprintf(stream, "usage: %s QUEUE_NUMBER\n", progname);
#else
	fprintf(stream, "usage: %s [--bpf-cgroup DIR] QUEUE_NUMBER\n",
	    progname);
	fprintf(stream, "  --bpf-cgroup DIR  also load bpf mode's program on "
	    "the cgroup v2 directory DIR\n                    and drain its "
	    "ring without judging\n");
#endif
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "bpf-cgroup", required_argument, NULL, 'G' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct stats stats;
	const char *bpf_cgroup = NULL;
	struct bpfclient *bpf = NULL;
	struct pollfd pfd[2];
	struct sigaction sa;
	struct queue *queue;
	unsigned long num;
	int c, drained, nfds = 1;
	char *end;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'G':
			bpf_cgroup = optarg;
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr, argv[0]);
		return 2;
	}
	errno = 0;
	num = strtoul(argv[optind], &end, 10);
	if (errno != 0 || *end != '\0' || end == argv[optind] || num > 65535) {
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
	queue = queue_open((uint16_t)num, NULL_QUEUE_MAXLEN, &stats, on_packet,
	    NULL);
	if (queue == NULL)
		return 1;
#ifdef HAVE_BPF
	if (bpf != NULL)
		queue_set_batch_hook(queue, on_batch, bpf);
#endif
	log_info("queue %lu bound: accepting every packet unchanged", num);
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
	}
	drained = queue_drain(queue, 100);
	if (drained < 0)
		log_warn("draining queue %lu: %s", num, strerror(-drained));
	queue_close(queue);
#ifdef HAVE_BPF
	if (bpf != NULL)
		log_info("ring: %llu records read, %llu lost",
		    (unsigned long long)stats.counter[STATS_BPF_RECORDS],
		    (unsigned long long)bpfclient_lost(bpf));
	bpfclient_close(bpf);
#endif
	return 0;
}
