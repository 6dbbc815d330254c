/*
 * The null program of test/bench/qps.sh: binds an NFQUEUE with dnsmark's
 * own queue code (src/queue.c: one acknowledged bind with fail-open,
 * recvmmsg batches of 32, one sendmsg of verdicts per batch) and accepts
 * every packet unchanged.  It reads nothing and judges nothing, so the
 * difference between it and dnsmark is dnsmark's own work per packet.
 * With --nflog GROUP it is the null program of observe mode: it also binds
 * the NFLOG group with dnsmark's code (src/nflog.c), reads the copies as
 * they come and flushes once per queue batch, exactly as dnsmark does, and
 * ignores every copy.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "options.h"
#include "nflog.h"
#include "queue.h"
#include "stats.h"

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

static int
parse_number(const char *text, unsigned long *value)
{
	char *end;

	errno = 0;
	*value = strtoul(text, &end, 10);
	return errno != 0 || *end != '\0' || end == text || *value > 65535 ?
	    -1 : 0;
}

int
main(int argc, char *argv[])
{
	static struct stats stats;
	struct sigaction sa;
	struct queue *queue;
	struct nflog *nflog = NULL;
	struct pollfd pfd[2];
	unsigned long num, group = 0;
	int drained, use_nflog = 0, nfds = 1;

	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		printf("usage: %s [--nflog GROUP] QUEUE_NUMBER\n"
		    "  --nflog GROUP  observe mode's null program: also read the "
		    "NFLOG group\n"
		    "                 (rules/observe-v*.rules), flushing once per "
		    "batch\n", argv[0]);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "--nflog") == 0) {
		if (parse_number(argv[2], &group) < 0) {
			fprintf(stderr, "%s: bad NFLOG group '%s'\n", argv[0],
			    argv[2]);
			return 2;
		}
		use_nflog = 1;
		argv += 2;
		argc -= 2;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: %s [--nflog GROUP] QUEUE_NUMBER\n",
		    argv[0]);
		return 2;
	}
	if (parse_number(argv[1], &num) < 0) {
		fprintf(stderr, "%s: bad queue number '%s'\n", argv[0], argv[1]);
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
		nflog = nflog_open((uint16_t)group, &stats, on_copy, NULL);
		if (nflog == NULL)
			return 1;
		pfd[1].fd = nflog_fd(nflog);
		pfd[1].events = POLLIN;
		nfds = 2;
	}
	queue = queue_open((uint16_t)num, OPTIONS_DEFAULT_QUEUE_MAXLEN, &stats, on_packet,
	    NULL);
	if (queue == NULL) {
		nflog_close(nflog);
		return 1;
	}
	if (nflog != NULL)
		queue_set_batch_hook(queue, before_batch, nflog);
	log_info("queue %lu bound: accepting every packet unchanged%s", num,
	    nflog != NULL ? "; NFLOG copies read and ignored" : "");
	pfd[0].fd = queue_fd(queue);
	pfd[0].events = POLLIN;
	while (!stopping) {
		int ret;

		if (poll(pfd, (nfds_t)nfds, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_err("poll: %s", strerror(errno));
			break;
		}
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
	return 0;
}
