/*
 * dnsmark: start-up, signals and the event loop.  Start-up failures are
 * fatal; once the queue is bound nothing exits but a signal, and every
 * packet goes through judge_packet() for exactly one verdict.  In observe
 * mode client queries and upstream responses arrive as NFLOG copies, which
 * go through judge_packet() too, their verdict unused.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "bpfclient.h"
#include "judge.h"
#include "log.h"
#include "notify.h"
#include "metrics.h"
#include "nflog.h"
#include "options.h"
#include "privs.h"
#include "queue.h"
#include "source.h"
#include "stats.h"

struct daemon {
	struct queue *queue;
	/* What is read beside the queue: observe mode's NFLOG copies, queue
	 * mode's answers to clients, bpf mode's ring; not open in queue mode
	 * when the answers' group cannot be bound. */
	struct source copies;
	uint64_t copy_late_ms;		/* how late NFLOG copies may come */
	uint64_t judged_ms;		/* the latest time the judge was given */
	struct judge judge;
	struct stats stats;
	uint64_t now_ms;
	uint16_t queue_num;
	const char *stats_file;
	uint64_t stats_interval_ms;
	uint64_t stats_due_ms;
	int stats_failed;	/* logged once until it works again */
};

static uint64_t
monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct judge_verdict
on_packet(const struct queue_packet *packet, void *arg)
{
	struct daemon *daemon = arg;

	daemon->judged_ms = daemon->now_ms;
	return judge_packet(&daemon->judge, &packet->pkt, daemon->now_ms);
}

/*
 * A client query or an answer to a client from the BPF ring.  It is timed when it reached the
 * resolver, but the judge's tables want times that never go back: no
 * earlier than what the judge last saw, no later than now.
 */
static void
on_bpf_record(const struct bpfrecord_client *client, void *arg)
{
	struct daemon *daemon = arg;
	uint64_t ms = client->time_ms;

	if (ms < daemon->judged_ms)
		ms = daemon->judged_ms;
	if (ms > daemon->now_ms)
		ms = daemon->now_ms;
	daemon->judged_ms = ms;
	if (client->kind == BPFRECORD_UPSTREAM)
		judge_upstream_marked(&daemon->judge, &client->info,
		    client->mark, client->info.payload,
		    client->info.payload_len, ms);
	else if (client->kind == BPFRECORD_QUEUED)
		judge_upstream_queued(&daemon->judge, &client->info,
		    client->info.payload, client->info.payload_len, ms);
	else if (client->kind == BPFRECORD_RESPONSE)
		judge_upstream_record(&daemon->judge, &client->info,
		    client->info.payload, client->info.payload_len,
		    client->partial, ms);
	else
		judge_client_message(&daemon->judge, &client->info,
		    client->mark, client->info.payload,
		    client->info.payload_len, ms);
}

/* A TCP client's question, from the queue: bpf mode's kernel fast path
 * must stand aside for it. */
static void
on_tcp_question(void *arg, const struct dns_question *q)
{
	struct daemon *daemon = arg;

	source_question(&daemon->copies, q);
}

/*
 * Reads the copies the moment asks for, the clock read before (what is
 * read is judged as of now) and after (for what comes next).
 */
static void
read_copies(struct daemon *daemon, enum source_moment moment)
{
	int ret;

	daemon->now_ms = monotonic_ms();
	ret = source_read(&daemon->copies, moment);
	if (ret < 0)
		log_warn("reading %s: %s", daemon->copies.what, strerror(-ret));
	daemon->now_ms = monotonic_ms();
}

/*
 * Before a batch of queued packets is judged, what caused them is read:
 * a client query's record or copy is written as it reaches the resolver,
 * and an answer's as it leaves, before the resolver sends what follows.
 * Observe mode flushes the kernel's NFLOG buffer (copies of client
 * queries may still sit there; only upstream queries are queued, so cache
 * hits never get here).  Queue mode reads the answers' copies, each sent
 * up as its answer left (NFLOG_IMMEDIATE): batched, an answer came up to
 * NFLOG_TIMEOUT_MS late, its client still counted as waiting meanwhile,
 * and Knot Resolver's and dnsmasq's refreshes of a name another client
 * had just been answered went unmarked (5.2 % and 4.8 % where one client
 * waited, against 3.5 % and 0.0 % in bpf mode).  bpf mode drains the ring.
 */
static void
before_batch(void *arg)
{
	read_copies(arg, SOURCE_BEFORE_BATCH);
}

/* Gives the held packets whose turn came their verdicts (accept). */
static void
release_held(struct daemon *daemon)
{
	static const struct judge_verdict accept = { 0 };
	uint32_t id;
	int any = 0;

	while (judge_next_release(&daemon->judge, daemon->now_ms, &id)) {
		queue_verdict(daemon->queue, id, &accept);
		any = 1;
	}
	if (any)
		queue_flush(daemon->queue);
}

/* How long epoll may sleep: until a held packet's wait ends, or forever. */
static int
wait_ms(struct daemon *daemon)
{
	uint64_t wake = judge_wake_ms(&daemon->judge);
	uint64_t now = monotonic_ms();

	if (wake == 0)
		return -1;
	return wake > now ? (int)(wake - now) : 0;
}

/*
 * A copy of a client query, an upstream response or an answer to a client:
 * learn, nothing to answer.  A batched copy was sent up to
 * NFLOG_TIMEOUT_MS after its packet passed (copy_late_ms); an immediate
 * one as it passed, and it is read before the next queued packet.
 */
static void
on_copy(const struct judge_packet *pkt, void *arg)
{
	struct daemon *daemon = arg;
	struct judge_packet copy = *pkt;

	copy.late_ms = daemon->copy_late_ms;
	judge_packet(&daemon->judge, &copy, daemon->now_ms);
}

/* Brings the counters the kernel keeps into the stats. */
static void
update_kernel_counters(struct daemon *daemon)
{
	long long drops;

	source_counters(&daemon->copies, &daemon->stats);
	if (daemon->queue == NULL)
		return;
	drops = queue_socket_drops(daemon->queue);
	if (drops >= 0)
		daemon->stats.counter[STATS_SOCKET_DROPS] = (uint64_t)drops;
}

static void
log_stats(struct daemon *daemon)
{
	char line[4096];

	update_kernel_counters(daemon);
	stats_format(&daemon->stats, line, sizeof(line));
	log_info("pending=%zu %s", asks_count(daemon->judge.evidence.pending), line);
}

/* Writes the metrics file; a failure is logged once, not every time. */
static void
write_metrics(struct daemon *daemon)
{
	static char text[32768];
	char proc[4096];
	struct metrics_gauges gauges = {
		.pending = asks_count(daemon->judge.evidence.pending),
		.table_bytes = judge_memory(&daemon->judge),
	};
	FILE *f;
	int len, err;

	update_kernel_counters(daemon);
	f = fopen("/proc/net/netfilter/nfnetlink_queue", "re");
	if (f != NULL) {
		size_t n = fread(proc, 1, sizeof(proc) - 1, f);

		proc[n] = '\0';
		fclose(f);
		metrics_parse_kernel_queue(proc, daemon->queue_num,
		    &gauges.kernel);
	}
	len = metrics_format(&daemon->stats, &gauges, text, sizeof(text));
	err = len < 0 ? len : metrics_write(daemon->stats_file, text,
	    (size_t)len);
	if (err < 0 && !daemon->stats_failed)
		log_warn("writing %s: %s", daemon->stats_file, strerror(-err));
	else if (err == 0 && daemon->stats_failed)
		log_info("writing %s works again", daemon->stats_file);
	daemon->stats_failed = err < 0;
}

static int
signals_open(void)
{
	sigset_t mask;
	int fd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		fatal("blocking signals: %s", strerror(errno));
	fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		fatal("signalfd: %s", strerror(errno));
	return fd;
}

static int
expiry_timer_open(void)
{
	struct itimerspec every_second = {
		.it_interval = { .tv_sec = 1 },
		.it_value = { .tv_sec = 1 },
	};
	int fd;

	fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd < 0 || timerfd_settime(fd, 0, &every_second, NULL) < 0)
		fatal("timerfd: %s", strerror(errno));
	return fd;
}

static void
epoll_watch(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		fatal("epoll_ctl: %s", strerror(errno));
}

/* Returns non-zero when the daemon is to stop. */
static int
on_signal(int sigfd, struct daemon *daemon)
{
	struct signalfd_siginfo info;

	while (read(sigfd, &info, sizeof(info)) == sizeof(info)) {
		switch (info.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			log_info("signal %u: stopping", info.ssi_signo);
			return 1;
		case SIGUSR1:
			/* Counters as of now, cache hits included. */
			read_copies(daemon, SOURCE_NOW);
			log_stats(daemon);
			if (daemon->stats_file != NULL)
				write_metrics(daemon);
			break;
		default:
			break;
		}
	}
	return 0;
}

static void
run(struct queue *queue, struct daemon *daemon, int sigfd)
{
	int epfd, timerfd;
	int qfd = queue_fd(queue);
	int copyfd = source_fd(&daemon->copies);

	timerfd = expiry_timer_open();
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		fatal("epoll_create1: %s", strerror(errno));
	epoll_watch(epfd, qfd);
	epoll_watch(epfd, sigfd);
	epoll_watch(epfd, timerfd);
	/* Copies come without upstream queries too (cache hits): read them
	 * as they come, or the socket overflows (the ring: as the program
	 * says it is filling). */
	if (copyfd >= 0)
		epoll_watch(epfd, copyfd);

	for (;;) {
		struct epoll_event events[5];
		int n = epoll_wait(epfd, events, 5, wait_ms(daemon));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fatal("epoll_wait: %s", strerror(errno));
		}
		if (n == 0) {
			daemon->now_ms = monotonic_ms();
			release_held(daemon);
		}
		for (int i = 0; i < n; i++) {
			int fd = events[i].data.fd;

			if (fd == qfd) {
				int ret;

				/* Drain what is waiting, a batch at a time. */
				do {
					daemon->now_ms = monotonic_ms();
					ret = queue_process(queue);
					release_held(daemon);
				} while (ret > 0);
				if (ret < 0)
					log_warn("receiving from queue: %s",
					    strerror(-ret));
			} else if (fd == copyfd) {
				read_copies(daemon, SOURCE_READABLE);
			} else if (fd == timerfd) {
				uint64_t ticks;

				if (read(timerfd, &ticks, sizeof(ticks)) < 0 &&
				    errno != EAGAIN)
					log_warn("timer: %s", strerror(errno));
				/* Cache hits cause no queued packet: read
				 * their copies here too. */
				read_copies(daemon, SOURCE_TICK);
				daemon->judged_ms = daemon->now_ms;
				judge_expire(&daemon->judge, daemon->now_ms);
				if (daemon->stats_file != NULL &&
				    daemon->now_ms >= daemon->stats_due_ms) {
					write_metrics(daemon);
					daemon->stats_due_ms = daemon->now_ms +
					    daemon->stats_interval_ms;
				}
			} else if (fd == sigfd && on_signal(sigfd, daemon)) {
				close(epfd);
				close(timerfd);
				close(sigfd);
				return;
			}
		}
	}
}

int
main(int argc, char *argv[])
{
	static struct daemon daemon;
	struct judge_config config;
	struct options opts;
	struct queue *queue;
	char err[256];
	int drained, sigfd;

	options_defaults(&opts);
	if (options_parse(argc, argv, &opts, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\nTry '%s --help'.\n", PACKAGE, err,
		    argv[0]);
		return 2;
	}
	if (opts.action == OPTIONS_HELP) {
		options_usage(stdout, argv[0]);
		return 0;
	}
	if (opts.action == OPTIONS_VERSION) {
		printf("%s %s\n", PACKAGE, PACKAGE_VERSION);
		return 0;
	}
	log_init(PACKAGE, opts.log_level, opts.use_syslog);
	/* From here on a stop request waits for the loop, which drains the
	 * queue: a SIGTERM while the bind waits must not drop what the
	 * kernel queued meanwhile. */
	sigfd = signals_open();

	config.max_pending = opts.max_pending;
	config.timeout_ms = opts.timeout_ms;
	config.recent_ms = opts.recent_ms;
	config.policy = opts.policy;
	config.mask = opts.mask;
	/* Only packets held on the queue can wait (judge_packet.can_defer):
	 * observe mode's responses are copies, and bpf mode's client queries
	 * records, which went on their way already. */
	config.hold_ms = opts.syn_hold_ms;
	if (getrandom(config.key, sizeof(config.key), 0) !=
	    (ssize_t)sizeof(config.key))
		fatal("getrandom: %s", strerror(errno));
	if (judge_init(&daemon.judge, &config, &daemon.stats) < 0)
		fatal("cannot allocate the tables for %zu pending questions",
		    opts.max_pending);
	daemon.now_ms = monotonic_ms();

	daemon.queue_num = opts.queue;
	daemon.stats_file = opts.stats_file;
	daemon.stats_interval_ms = opts.stats_interval_ms;

	/* The copies first: a client query copied before the queue is bound
	 * may cause an upstream query queued just after. */
	if (opts.mode == OPTIONS_MODE_OBSERVE) {
		if (nflog_source(&daemon.copies, opts.nflog_group,
		    &daemon.stats, on_copy, &daemon, NFLOG_BATCHED) < 0)
			fatal("cannot bind NFLOG group %u", opts.nflog_group);
		daemon.copy_late_ms = NFLOG_TIMEOUT_MS;
		/* A marker that does not come back means the observe rules
		 * are missing: say so now, not at the first cache miss. */
		if (source_read(&daemon.copies, SOURCE_BEFORE_BATCH) >= 0 &&
		    daemon.stats.counter[STATS_NFLOG_FLUSH_TIMEOUTS] == 0)
			log_info("NFLOG group %u: flush marker seen",
			    opts.nflog_group);
	}
	/* Before the queue: no upstream query is judged without the client
	 * records.  And before dropping privileges: loading needs CAP_BPF. */
	if (opts.mode == OPTIONS_MODE_BPF) {
		struct fastpath_config fast = {
			.dir = opts.fast_path, .mask = opts.mask,
			.timeout_ms = opts.timeout_ms,
			.max_questions = (uint32_t)opts.max_pending,
		};

		if (bpfclient_source(&daemon.copies, opts.bpf_cgroup, &fast,
		    &daemon.stats, on_bpf_record, &daemon, err,
		    sizeof(err)) < 0)
			fatal("--mode bpf: %s", err);
		daemon.judge.tcp_question = on_tcp_question;
		daemon.judge.tcp_question_arg = &daemon;
		log_info("bpf mode: client queries recorded at delivery to "
		    "the sockets of their cgroup, from %s", daemon.copies.what);
	}
	queue = queue_open(opts.queue, opts.queue_maxlen, &daemon.stats,
	    on_packet, &daemon);
	if (queue == NULL)
		fatal("cannot bind NFQUEUE %u", opts.queue);
	daemon.queue = queue;
	/* Queue mode: the resolver's answers to its clients, copied by the
	 * rules, once the queue is bound (nothing waits for them).  Without
	 * them dnsmark works as before, and a client answered from the cache
	 * counts as waiting a moment longer. */
	if (opts.mode == OPTIONS_MODE_QUEUE &&
	    nflog_source(&daemon.copies, opts.nflog_group, &daemon.stats,
	    on_copy, &daemon, NFLOG_IMMEDIATE) < 0)
		log_warn("cannot bind NFLOG group %u: the resolver's answers "
		    "to clients stay unseen", opts.nflog_group);
	if (source_is_open(&daemon.copies))
		queue_set_batch_hook(queue, before_batch, &daemon);
	if (opts.user != NULL) {
		if (privs_drop(opts.user, err, sizeof(err)) < 0) {
			queue_drain(queue, 100);
			fatal("--user %s: %s", opts.user, err);
		}
		log_info("running as %s with CAP_NET_ADMIN only", opts.user);
	} else if (opts.mode == OPTIONS_MODE_BPF && getuid() != 0) {
		/* Started unprivileged with CAP_BPF for the load (the shipped
		 * dnsmark-bpf@.service): the ring is read through its memory
		 * mapping from now on, so CAP_BPF goes. */
		if (privs_keep_net_admin(err, sizeof(err)) < 0) {
			queue_drain(queue, 100);
			fatal("after loading the BPF program: %s", err);
		}
		log_info("program loaded: CAP_NET_ADMIN only from now on");
	}
	if (daemon.stats_file != NULL)
		write_metrics(&daemon);
	if (source_is_open(&daemon.copies) && opts.mode == OPTIONS_MODE_QUEUE)
		log_info("queue mode: the resolver's answers to clients from "
		    "%s", daemon.copies.what);
	else if (opts.mode == OPTIONS_MODE_OBSERVE)
		log_info("observe mode: client queries and upstream responses "
		    "from %s", daemon.copies.what);
	log_info("%s %s: queue %u, mask 0x%x, timeout %llu ms, recent %llu ms, "
	    "at most %zu pending (tables: %zu bytes), conntrack data %s",
	    PACKAGE, PACKAGE_VERSION, opts.queue, opts.mask,
	    (unsigned long long)opts.timeout_ms,
	    (unsigned long long)opts.recent_ms, opts.max_pending,
	    judge_memory(&daemon.judge),
	    queue_has_conntrack(queue) ? "on" : "off");
	/* A service manager waiting for us may now load what depends on
	 * the queue and the pins (dnsmark-bpf@.service: the fast path's
	 * rules). */
	if (notify_ready() < 0)
		log_warn("NOTIFY_SOCKET: cannot tell the service manager that "
		    "dnsmark is ready");

	run(queue, &daemon, sigfd);
	judge_stop_holding(&daemon.judge);
	release_held(&daemon);
	drained = queue_drain(queue, 100);
	if (drained < 0)
		log_warn("draining queue %u: %s; packets still queued are lost",
		    opts.queue, strerror(-drained));
	else
		log_info("queue %u drained (%d packets) before release",
		    opts.queue, drained);

	log_stats(&daemon);
	if (daemon.stats_file != NULL)
		write_metrics(&daemon);
	daemon.queue = NULL;
	queue_close(queue);
	source_close(&daemon.copies);
	judge_free(&daemon.judge);
	return 0;
}
