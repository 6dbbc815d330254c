/*
 * The packet stream of test/bench/qps.sh's packet-rate benchmark: what a
 * forwarding resolver's gateway sees on a cache miss, a client's query to
 * the resolver and the resolver's upstream query for the same question
 * (0x20 mixed case, its own DNS id), sent in sendmmsg batches.  Both land
 * on sockets of its own (the "resolver" and the "upstream server"), which
 * only count them: a window of packets in flight keeps the queue under
 * test the bottleneck without ever filling it.  Prints one line of counts
 * and its own CPU time.  IPv4 only; it answers nothing and listens only on
 * the addresses it is given.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "wire.h"

#define PAIRS_BATCH_MAX 64
#define PAIRS_RECV_BATCH 64
#define PAIRS_RCVBUF (4 * 1024 * 1024)
/* In flight this long without a packet arriving: count them lost. */
#define PAIRS_SILENCE_MS 100

struct pairs_options {
	const char *client_netns;
	const char *upstream_netns;
	const char *client;
	const char *resolver;
	const char *upstream;
	const char *label;
	double seconds;
	unsigned window;
	unsigned batch;
	int clients_only;
};

struct pairs_stream {
	int client_tx;		/* client namespace: client -> resolver:53 */
	int resolver_rx;	/* this namespace: resolver:53 */
	int upstream_tx;	/* this namespace: -> upstream:53 */
	int upstream_rx;	/* upstream namespace: upstream:53 */
	struct sockaddr_in resolver_addr;
	struct sockaddr_in upstream_addr;
	unsigned long long next_name;
	uint64_t random_state;
	unsigned long long sent;
	unsigned long long received;
	unsigned long long lost;
};

static volatile sig_atomic_t stopping;

static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

static void
usage(FILE *out, const char *argv0)
{
	fprintf(out,
	    "Usage: %s [OPTION]...\n"
	    "Send DNS query pairs (client query, matching upstream query)\n"
	    "through this network namespace's netfilter hooks and count them\n"
	    "back; prints one line of counts.\n\n"
	    "  --client-netns PATH    namespace of the client's socket\n"
	    "                         (/run/netns/NAME; default: this one)\n"
	    "  --upstream-netns PATH  namespace of the upstream server's socket\n"
	    "  --client ADDR          the client's source address (192.0.2.10)\n"
	    "  --resolver ADDR        the resolver's address here, bound on port 53\n"
	    "                         (192.0.2.1)\n"
	    "  --upstream ADDR        the upstream server's address, bound on\n"
	    "                         port 53 in its namespace (198.51.100.99)\n"
	    "  --label LABEL          names are qN.LABEL (pairs.example.test)\n"
	    "  --seconds S            how long to send (5)\n"
	    "  --window N             packets in flight at most (512)\n"
	    "  --batch N              queries per sendmmsg, at most %d (32)\n"
	    "  --clients-only         client queries only (fills a table of\n"
	    "                         pending questions with unique names)\n"
	    "  --help                 this text\n", argv0, PAIRS_BATCH_MAX);
}

/*
 * Fills opts from the command line.  The options that take text are
 * numbered 0 to 5 (their getopt value) in the order of the table of
 * fields below.  Returns 0, or -EINVAL after printing the usage.
 */
static int
parse_options(int argc, char *argv[], struct pairs_options *opts)
{
	static const struct option longopts[] = {
		{ "client-netns", required_argument, NULL, 0 },
		{ "upstream-netns", required_argument, NULL, 1 },
		{ "client", required_argument, NULL, 2 },
		{ "resolver", required_argument, NULL, 3 },
		{ "upstream", required_argument, NULL, 4 },
		{ "label", required_argument, NULL, 5 },
		{ "seconds", required_argument, NULL, 's' },
		{ "window", required_argument, NULL, 'w' },
		{ "batch", required_argument, NULL, 'b' },
		{ "clients-only", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char **text[] = {
		&opts->client_netns, &opts->upstream_netns, &opts->client,
		&opts->resolver, &opts->upstream, &opts->label,
	};
	int c;

	opts->client = "192.0.2.10";
	opts->resolver = "192.0.2.1";
	opts->upstream = "198.51.100.99";
	opts->label = "pairs.example.test";
	opts->seconds = 5;
	opts->window = 512;
	opts->batch = 32;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c >= 0 && c < (int)(sizeof(text) / sizeof(text[0]))) {
			*text[c] = optarg;
			continue;
		}
		switch (c) {
		case 's':
			opts->seconds = strtod(optarg, NULL);
			break;
		case 'w':
			opts->window = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'b':
			opts->batch = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'o':
			opts->clients_only = 1;
			break;
		case 'h':
			usage(stdout, argv[0]);
			exit(0);
		default:
			usage(stderr, argv[0]);
			return -EINVAL;
		}
	}
	if (optind != argc || opts->seconds <= 0 || opts->batch == 0 ||
	    opts->batch > PAIRS_BATCH_MAX || opts->window < 2 * opts->batch) {
		usage(stderr, argv[0]);
		return -EINVAL;
	}
	return 0;
}

static int
address_parse(const char *text, uint16_t port, struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	if (inet_pton(AF_INET, text, &sin->sin_addr) != 1)
		return -EINVAL;
	return 0;
}

/*
 * Returns a UDP socket bound to addr:port, made in the network namespace
 * at netns_path (NULL: this one), or -1 with a message.  A socket keeps
 * the namespace it was made in, so the process returns to its own.
 */
static int
socket_in(const char *netns_path, const char *addr, uint16_t port)
{
	struct sockaddr_in sin;
	int self = -1, other = -1, fd = -1;
	int size = PAIRS_RCVBUF;

	if (address_parse(addr, port, &sin) < 0) {
		fprintf(stderr, "query_pairs: bad address '%s'\n", addr);
		return -1;
	}
	if (netns_path != NULL) {
		self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		other = open(netns_path, O_RDONLY | O_CLOEXEC);
		if (self < 0 || other < 0 || setns(other, CLONE_NEWNET) < 0) {
			fprintf(stderr, "query_pairs: namespace %s: %s\n",
			    netns_path, strerror(errno));
			goto out;
		}
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		fprintf(stderr, "query_pairs: socket on %s:%u: %s\n", addr,
		    port, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
		goto out;
	}
	/* Root: past net.core.rmem_max, so that a window's burst fits. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size,
	    sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
out:
	if (netns_path != NULL && self >= 0 && setns(self, CLONE_NEWNET) < 0) {
		fprintf(stderr, "query_pairs: back to own namespace: %s\n",
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	if (self >= 0)
		close(self);
	if (other >= 0)
		close(other);
	return fd;
}

static uint64_t
random_next(uint64_t *state)
{
	/* xorshift64: fast, and good enough for ids and letter case. */
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Writes one query for name into w: a client's (recursion desired, the
 * name as asked) or the resolver's upstream one (a new id, 0x20 mixed
 * case, as unbound's use-caps-for-id sends it).
 */
static void
query_build(struct wire *w, const char *name, int upstream, uint64_t *random)
{
	char mixed[256];
	size_t i;

	w->len = 0;
	wire_header(w, (uint16_t)random_next(random), 0x0100, 1, 0, 0, 0);
	if (!upstream) {
		wire_question(w, name, 1);
		return;
	}
	for (i = 0; name[i] != '\0' && i < sizeof(mixed) - 1; i++) {
		mixed[i] = name[i];
		if (name[i] >= 'a' && name[i] <= 'z' &&
		    (random_next(random) & 1))
			mixed[i] = (char)(name[i] - 'a' + 'A');
	}
	mixed[i] = '\0';
	wire_question(w, mixed, 1);
}

/* Sends count messages on fd to to, all of them (the socket blocks). */
static int
batch_send(int fd, const struct sockaddr_in *to, struct wire *messages,
    unsigned count)
{
	struct mmsghdr msgs[PAIRS_BATCH_MAX];
	struct iovec iovs[PAIRS_BATCH_MAX];
	unsigned done = 0;

	for (unsigned i = 0; i < count; i++) {
		iovs[i].iov_base = messages[i].buf;
		iovs[i].iov_len = messages[i].len;
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_name = (void *)to;
		msgs[i].msg_hdr.msg_namelen = sizeof(*to);
		msgs[i].msg_hdr.msg_iov = &iovs[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	while (done < count) {
		int n = sendmmsg(fd, msgs + done, count - done, 0);

		if (n < 0) {
			/* An ICMP error for an earlier datagram: go on. */
			if (errno == EINTR || errno == ECONNREFUSED)
				continue;
			return -errno;
		}
		done += (unsigned)n;
	}
	return 0;
}

/* Returns how many datagrams fd held (read without blocking). */
static unsigned long long
drain(int fd)
{
	static uint8_t bufs[PAIRS_RECV_BATCH][512];
	struct mmsghdr msgs[PAIRS_RECV_BATCH];
	struct iovec iovs[PAIRS_RECV_BATCH];
	unsigned long long total = 0;
	int n;

	if (fd < 0)
		return 0;
	for (unsigned i = 0; i < PAIRS_RECV_BATCH; i++) {
		iovs[i].iov_base = bufs[i];
		iovs[i].iov_len = sizeof(bufs[i]);
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iovs[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	while ((n = recvmmsg(fd, msgs, PAIRS_RECV_BATCH, MSG_DONTWAIT,
	    NULL)) > 0)
		total += (unsigned)n;
	return total;
}

/* Sends one batch of client queries, and their upstream twins. */
static int
stream_send_batch(struct pairs_stream *s, const struct pairs_options *opts)
{
	static struct wire client[PAIRS_BATCH_MAX], upstream[PAIRS_BATCH_MAX];
	char name[256];
	int ret;

	for (unsigned i = 0; i < opts->batch; i++) {
		snprintf(name, sizeof(name), "q%llu.%s", s->next_name++,
		    opts->label);
		query_build(&client[i], name, 0, &s->random_state);
		if (!opts->clients_only)
			query_build(&upstream[i], name, 1, &s->random_state);
	}
	ret = batch_send(s->client_tx, &s->resolver_addr, client, opts->batch);
	if (ret == 0 && !opts->clients_only)
		ret = batch_send(s->upstream_tx, &s->upstream_addr, upstream,
		    opts->batch);
	if (ret < 0)
		return ret;
	s->sent += opts->batch * (opts->clients_only ? 1U : 2U);
	return 0;
}

static int
stream_run(struct pairs_stream *s, const struct pairs_options *opts)
{
	struct pollfd pfd[2] = {
		{ .fd = s->resolver_rx, .events = POLLIN },
		{ .fd = s->upstream_rx, .events = POLLIN },
	};
	unsigned per_batch = opts->batch * (opts->clients_only ? 1U : 2U);
	unsigned long long in_flight = 0;
	double end = now_seconds() + opts->seconds;

	while (!stopping && now_seconds() < end) {
		unsigned long long got;
		int ret;

		while (in_flight + per_batch <= opts->window) {
			ret = stream_send_batch(s, opts);
			if (ret < 0) {
				fprintf(stderr, "query_pairs: send: %s\n",
				    strerror(-ret));
				return ret;
			}
			in_flight += per_batch;
		}
		ret = poll(pfd, opts->clients_only ? 1 : 2, PAIRS_SILENCE_MS);
		if (ret < 0 && errno != EINTR)
			return -errno;
		got = drain(s->resolver_rx) + drain(s->upstream_rx);
		s->received += got;
		if (ret == 0 && got == 0) {
			s->lost += in_flight;
			in_flight = 0;
			continue;
		}
		in_flight = got < in_flight ? in_flight - got : 0;
	}
	/* The last window: what still arrives is not lost. */
	while (in_flight > 0 &&
	    poll(pfd, opts->clients_only ? 1 : 2, PAIRS_SILENCE_MS) > 0) {
		unsigned long long got = drain(s->resolver_rx) +
		    drain(s->upstream_rx);

		s->received += got;
		in_flight = got < in_flight ? in_flight - got : 0;
	}
	s->lost += in_flight;
	return 0;
}

int
main(int argc, char *argv[])
{
	struct pairs_options opts = { 0 };
	struct pairs_stream s = { 0 };
	struct sigaction sa;
	struct rusage usage;
	double t0, elapsed;
	int ret;

	if (parse_options(argc, argv, &opts) < 0)
		return 2;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	s.upstream_rx = -1;
	s.upstream_tx = -1;
	s.random_state = (uint64_t)getpid() * 0x9e3779b97f4a7c15ULL + 1;
	if (address_parse(opts.resolver, 53, &s.resolver_addr) < 0 ||
	    address_parse(opts.upstream, 53, &s.upstream_addr) < 0) {
		fprintf(stderr, "query_pairs: bad resolver or upstream address\n");
		return 2;
	}
	s.resolver_rx = socket_in(NULL, opts.resolver, 53);
	s.client_tx = socket_in(opts.client_netns, opts.client, 0);
	if (s.resolver_rx < 0 || s.client_tx < 0)
		return 1;
	if (!opts.clients_only) {
		s.upstream_rx = socket_in(opts.upstream_netns, opts.upstream,
		    53);
		s.upstream_tx = socket_in(NULL, "0.0.0.0", 0);
		if (s.upstream_rx < 0 || s.upstream_tx < 0)
			return 1;
	}

	t0 = now_seconds();
	ret = stream_run(&s, &opts);
	elapsed = now_seconds() - t0;
	getrusage(RUSAGE_SELF, &usage);
	printf("sent %llu received %llu lost %llu seconds %.3f cpu %.3f\n",
	    s.sent, s.received, s.lost, elapsed,
	    (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
	    (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6);
	return ret < 0 ? 1 : 0;
}
