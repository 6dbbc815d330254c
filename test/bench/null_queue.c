/*
 * The null program of test/bench/qps.sh: binds an NFQUEUE with dnsmark's
 * own queue code (src/queue.c: one acknowledged bind with fail-open,
 * recvmmsg batches of 32, one sendmsg of verdicts per batch) and accepts
 * every packet unchanged.  It reads nothing and judges nothing, so the
 * difference between it and dnsmark is dnsmark's own work per packet.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "options.h"
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

int
main(int argc, char *argv[])
{
	static struct stats stats;
	struct sigaction sa;
	struct queue *queue;
	struct pollfd pfd;
	unsigned long num;
	char *end;
	int drained;

	if (argc != 2) {
		fprintf(stderr, "usage: %s QUEUE_NUMBER\n", argv[0]);
		return 2;
	}
	errno = 0;
	num = strtoul(argv[1], &end, 10);
	if (errno != 0 || *end != '\0' || end == argv[1] || num > 65535) {
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

	/* The queue length of dnsmark's default --queue-maxlen. */
	queue = queue_open((uint16_t)num, OPTIONS_DEFAULT_QUEUE_MAXLEN, &stats,
	    on_packet, NULL);
	if (queue == NULL)
		return 1;
	log_info("queue %lu bound: accepting every packet unchanged", num);
	pfd.fd = queue_fd(queue);
	pfd.events = POLLIN;
	while (!stopping) {
		int ret;

		if (poll(&pfd, 1, -1) < 0) {
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
	}
	drained = queue_drain(queue, 100);
	if (drained < 0)
		log_warn("draining queue %lu: %s", num, strerror(-drained));
	queue_close(queue);
	return 0;
}
