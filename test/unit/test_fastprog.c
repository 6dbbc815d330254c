/*
 * Tests of the kernel fast path's BPF programs themselves (src/bpf/
 * client.bpf.c and fast_progs.h), loaded from the skeleton and run by the
 * kernel on crafted packets with BPF_PROG_TEST_RUN: a client's query filed
 * on ingress, an answer counted on egress, and an upstream query taken
 * through the rules of rules/bpf-fast-v4.rules as iptables would take it.
 * Needs root; touches no network namespace, rule, cgroup or pin.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "bpfrecord.h"
#include "client.skel.h"
#include "dns.h"
#include "fastconf.h"
#include "fastkey.h"
#include "wire.h"

#define TYPE_A 1
#define TYPE_AAAA 28
#define FLAGS_QUERY 0x0100	/* RD */
#define FLAGS_ANSWER 0x8180	/* QR, RD, RA */
#define DNS_PORT 53
#define CLIENT_PORT 5353
#define UPSTREAM_PORT 40000
#define TIMEOUT_MS 5000
#define SECOND_NS 1000000000ull
#define BITS 32
#define ETH_HEADER 14
#define FRAME_MAX 1024
#define RECORDS_MAX 16
#define RING_BYTES (1u << 16)

/* Who talks to whom, in one address family. */
struct hosts {
	int family;
	const char *client;	/* a client of the resolver */
	const char *client2;	/* another one */
	const char *resolver;	/* the address the clients ask */
	const char *resolver_out;	/* its address towards servers */
	const char *server;	/* an upstream server */
};

static const struct hosts hosts_v4 = { 4, "192.0.2.10", "192.0.2.11",
	"192.0.2.1", "198.51.100.1", "203.0.113.53" };
static const struct hosts hosts_v6 = { 6, "2001:db8::10", "2001:db8::11",
	"2001:db8::1", "2001:db8:1::1", "2001:db8:2::53" };

/* An Ethernet frame, as BPF_PROG_TEST_RUN takes a packet. */
struct frame {
	uint8_t bytes[FRAME_MAX];
	size_t len;
};

/* What chain_mark() returns for a query left to dnsmark. */
#define QUEUED (-1)

/* Asserts that the chain_mark() of expr, run once, is want. */
#define assert_mark(expr, want) do {					\
	int64_t got_ = (expr), want_ = (want);				\
									\
	cr_assert_eq(got_, want_, "%s: %s 0x%x, expected %s 0x%x", #expr, \
	    got_ == QUEUED ? "queued" : "mark", (unsigned)got_,		\
	    want_ == QUEUED ? "queued" : "mark", (unsigned)want_);	\
} while (0)

static struct dnsmark_client *skel;
static struct bpf_program *bit_prog[BITS];
static struct fastconf *conf;
static size_t conf_len;
static struct ring_buffer *ring;
static struct bpfrecord records[RECORDS_MAX];
static int nrecords;

static const char *const reason_names[FAST_REASONS] = {
	"MARKED", "ABSENT", "STALE", "ANSWERED", "AMBIGUOUS_MARKS",
	"MANY_WAITING", "UNMARKED", "PACKET", "PREMARKED", "DOUBT", "OFF",
	"FILED", "FILE_FAILED", "UNDONE",
};

static uint64_t
monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SECOND_NS + (uint64_t)ts.tv_nsec;
}

static int
ring_record(void *ctx, void *data, size_t size)
{
	(void)ctx;
	cr_assert_eq(size, sizeof(struct bpfrecord));
	cr_assert_lt(nrecords, RECORDS_MAX);
	memcpy(&records[nrecords++], data, sizeof(struct bpfrecord));
	return 0;
}

/* Reads the records written since the last call into records[]. */
static int
ring_read(void)
{
	nrecords = 0;
	cr_assert_geq(ring_buffer__consume(ring), 0);
	return nrecords;
}

static void
fixture_setup(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	cpu_set_t one;
	int ret;

	cr_assert_eq(geteuid(), 0, "test_fastprog loads BPF programs and "
	    "runs them in the kernel (BPF_PROG_TEST_RUN): run it as root");
	/* classify leaves its mark in a per-CPU array for the bit programs
	 * and verify, as the rules all run on the CPU that sends the query:
	 * the test runs must not migrate between them either. */
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	cr_assert_eq(sched_setaffinity(0, sizeof(one), &one), 0);
	skel = dnsmark_client__open();
	cr_assert_not_null(skel, "opening the skeleton: %s", strerror(errno));
	/* A test writes a few records: no need for the default 16 MiB. */
	cr_assert_eq(bpf_map__set_max_entries(skel->maps.clients, RING_BYTES),
	    0);
	ret = dnsmark_client__load(skel);
	cr_assert_eq(ret, 0, "loading the BPF programs: %s", strerror(-ret));
	for (int bit = 0; bit < BITS; bit++) {
		char name[32];

		snprintf(name, sizeof(name), "dnsmark_fast_bit%d", bit);
		bit_prog[bit] = bpf_object__find_program_by_name(skel->obj,
		    name);
		cr_assert_not_null(bit_prog[bit], "no program %s", name);
	}
	/* As dnsmark sets it up (fastpath.c): through its mapping. */
	conf_len = (sizeof(*conf) + page - 1) / page * page;
	conf = mmap(NULL, conf_len, PROT_READ | PROT_WRITE, MAP_SHARED,
	    bpf_map__fd(skel->maps.fast_conf), 0);
	cr_assert_neq(conf, MAP_FAILED, "mapping fast_conf: %s",
	    strerror(errno));
	conf->timeout_ns = TIMEOUT_MS * 1000000ull;
	conf->timeout_units = fast_timeout_units(TIMEOUT_MS);
	conf->mask = 0xffffffffu;
	conf->version = FASTCONF_VERSION;
	conf->alive_until_ns = monotonic_ns() + 3600 * SECOND_NS;
	conf->doubt_until_ns = 0;
	ring = ring_buffer__new(bpf_map__fd(skel->maps.clients), ring_record,
	    NULL, NULL);
	cr_assert_not_null(ring, "reading the ring: %s", strerror(errno));
}

static void
fixture_teardown(void)
{
	ring_buffer__free(ring);
	if (conf != NULL && conf != MAP_FAILED)
		munmap(conf, conf_len);
	dnsmark_client__destroy(skel);
}

TestSuite(fastprog, .init = fixture_setup, .fini = fixture_teardown);

/* Frames the IP packet of dns from src:sport to dst:dport. */
static void
frame_udp(struct frame *f, int family, const char *src, uint16_t sport,
    const char *dst, uint16_t dport, const struct wire *dns)
{
	/* Destination and source MAC (zeros), then the EtherType: the
	 * kernel pulls these 14 bytes, and the program sees the IP header
	 * at offset 0, as in the cgroup and in mangle OUTPUT. */
	memset(f->bytes, 0, ETH_HEADER);
	wire_put16(f->bytes + 12, family == 4 ? 0x0800 : 0x86dd);
	f->len = ETH_HEADER + wire_udp_packet(family, src, sport, dst, dport,
	    dns, f->bytes + ETH_HEADER, sizeof(f->bytes) - ETH_HEADER);
}

/*
 * Runs prog on the frame with the packet mark set; returns its retval.
 * The kernel copies a struct __sk_buff in ctx_in to the skb for socket
 * filters and cgroup_skb alike (bpf_prog_test_run_skb), accepting a
 * non-zero mark since Linux 5.6; every field it does not take must be 0.
 */
static uint32_t
prog_run(struct bpf_program *prog, const struct frame *f, uint32_t mark)
{
	struct __sk_buff ctx = { .mark = mark };
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = f->bytes,
	    .data_size_in = (uint32_t)f->len, .ctx_in = &ctx,
	    .ctx_size_in = sizeof(ctx), .repeat = 1);

	cr_assert_eq(bpf_prog_test_run_opts(bpf_program__fd(prog), &run), 0,
	    "running %s: %s", bpf_program__name(prog), strerror(errno));
	return run.retval;
}

/*
 * Runs the rules of rules/bpf-fast-v4.rules on the upstream query of f,
 * marked mark when it reaches them.  Returns the mark verify accepts it
 * with, or QUEUED when it returns to DNSMARK_OUT and the queue, which it
 * must do with the mark it came with.
 */
static int64_t
chain_mark(const struct frame *f, uint32_t mark)
{
	uint32_t built = mark;

	if (prog_run(skel->progs.dnsmark_fast_classify, f, mark) != 1)
		return QUEUED;
	/* MARK --or-mark after each bit's match: the next bit sees it. */
	for (int bit = 0; bit < BITS; bit++)
		if (prog_run(bit_prog[bit], f, built) == 1)
			built |= 1u << bit;
	if (prog_run(skel->progs.dnsmark_fast_verify, f, built) == 1)
		return built;
	for (int bit = 0; bit < BITS; bit++)
		if (prog_run(bit_prog[bit], f, built) == 1)
			built &= ~(1u << bit);
	cr_assert_eq(built, mark, "undone to 0x%x, not to the 0x%x it came "
	    "with", built, mark);
	return QUEUED;
}

static void
dns_message(struct wire *w, uint16_t flags, const char *name, uint16_t qtype)
{
	w->len = 0;
	wire_header(w, 0x1234, flags, 1, 0, 0, 0);
	wire_question(w, name, qtype);
}

/* A client at client of h asks name; ingress sees it with mark. */
static void
client_asks(const struct hosts *h, const char *client, const char *name,
    uint16_t qtype, uint32_t mark)
{
	struct wire w;
	struct frame f;

	dns_message(&w, FLAGS_QUERY, name, qtype);
	frame_udp(&f, h->family, client, CLIENT_PORT, h->resolver, DNS_PORT,
	    &w);
	cr_assert_eq(prog_run(skel->progs.dnsmark_client_ingress, &f, mark),
	    1, "ingress must let every packet through");
}

/* The resolver answers name to the client at client (egress). */
static void
resolver_answers(const struct hosts *h, const char *client, const char *name,
    uint16_t qtype, uint32_t mark)
{
	static const uint8_t addr[4] = { 192, 0, 2, 80 };
	struct wire w;
	struct frame f;
	size_t length;

	dns_message(&w, FLAGS_ANSWER, name, qtype);
	wire_set16(&w, 6, 1);
	wire_pointer(&w, FAST_DNS_HEADER);
	length = wire_rr_begin(&w, TYPE_A);
	wire_bytes(&w, addr, sizeof(addr));
	wire_rr_end(&w, length);
	frame_udp(&f, h->family, h->resolver, DNS_PORT, client, CLIENT_PORT,
	    &w);
	cr_assert_eq(prog_run(skel->progs.dnsmark_client_egress, &f, mark),
	    1, "egress must let every packet through");
}

/* The resolver's query upstream for name, in f (its message in w). */
static void
upstream_query(struct frame *f, struct wire *w, const struct hosts *h,
    const char *name, uint16_t qtype)
{
	dns_message(w, 0, name, qtype);
	frame_udp(f, h->family, h->resolver_out, UPSTREAM_PORT, h->server,
	    DNS_PORT, w);
}

/* The chain's end for the upstream query of name (chain_mark()). */
static int64_t
upstream_mark(const struct hosts *h, const char *name, uint16_t qtype,
    uint32_t mark)
{
	struct wire w;
	struct frame f;

	upstream_query(&f, &w, h, name, qtype);
	return chain_mark(&f, mark);
}

#define COUNTERS(...) ((const uint64_t[FAST_REASONS]){ __VA_ARGS__ })

/* Asserts every counter of fast_conf: those not named in expected are 0. */
static void
assert_counters(const uint64_t expected[FAST_REASONS])
{
	for (int i = 0; i < FAST_REASONS; i++)
		cr_assert_eq(conf->counters[i], expected[i],
		    "counter FAST_%s is %llu, expected %llu", reason_names[i],
		    (unsigned long long)conf->counters[i],
		    (unsigned long long)expected[i]);
}

/* The key dnsmark builds for the lower-case name (src/fastkey.c). */
static void
question_key(const char *name, uint16_t qtype, struct fast_key *key)
{
	struct dns_question q = { .qtype = qtype, .qclass = 1 };

	q.name_len = (uint8_t)wire_put_name(q.name, name);
	fastkey_from_question(&q, key);
}

/* The state word of name's question in fast_questions (0: none). */
static uint64_t
question_state(const char *name, uint16_t qtype)
{
	struct fast_key key;
	uint64_t state = 0;

	question_key(name, qtype, &key);
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.fast_questions), &key,
	    &state) != 0)
		return 0;
	return state;
}

static int
questions_filed(void)
{
	int fd = bpf_map__fd(skel->maps.fast_questions);
	struct fast_key key, next;
	int count = 0;

	for (void *prev = NULL; bpf_map_get_next_key(fd, prev, &next) == 0;
	    prev = &key) {
		key = next;
		count++;
	}
	return count;
}

static void
assert_record(const struct bpfrecord *r, enum bpfrecord_kind kind,
    uint32_t mark, int family, const char *src, uint16_t sport,
    const char *dst, uint16_t dport, const struct wire *dns)
{
	uint8_t addr[16] = { 0 };
	int af = family == 4 ? AF_INET : AF_INET6;

	cr_assert_eq(r->kind, kind);
	cr_assert_eq(r->mark, mark, "record's mark 0x%x, expected 0x%x",
	    r->mark, mark);
	cr_assert_eq(r->family, family);
	cr_assert_eq(r->protocol, 17);
	cr_assert_eq(r->src_port, sport);
	cr_assert_eq(r->dst_port, dport);
	cr_assert_eq(inet_pton(af, src, addr), 1);
	cr_assert_arr_eq(r->src_addr, addr, sizeof(addr));
	memset(addr, 0, sizeof(addr));
	cr_assert_eq(inet_pton(af, dst, addr), 1);
	cr_assert_arr_eq(r->dst_addr, addr, sizeof(addr));
	cr_assert_eq(r->msg_len, dns->len);
	cr_assert_eq(r->copy_len, dns->len);
	cr_assert_arr_eq(r->msg, dns->buf, dns->len);
}

/* A client's question filed, then the 0x20-cased upstream query marked. */
static void
assert_marks_upstream(const struct hosts *h)
{
	struct wire client, upstream;
	struct frame f;
	uint64_t state;

	dns_message(&client, FLAGS_QUERY, "WwW.ExAmPle.TeSt", TYPE_A);
	frame_udp(&f, h->family, h->client, CLIENT_PORT, h->resolver,
	    DNS_PORT, &client);
	cr_assert_eq(prog_run(skel->progs.dnsmark_client_ingress, &f, 0x11),
	    1);
	assert_counters(COUNTERS([FAST_FILED] = 1));
	cr_assert_eq(questions_filed(), 1);
	state = question_state("www.example.test", TYPE_A);
	cr_assert_eq(fast_state_mark(state), 0x11);
	cr_assert_eq(fast_state_waiting(state), 1);
	cr_assert_eq(state & FAST_AMBIGUOUS, 0);
	cr_assert_eq(ring_read(), 1);
	assert_record(&records[0], BPFRECORD_CLIENT, 0x11, h->family,
	    h->client, CLIENT_PORT, h->resolver, DNS_PORT, &client);

	upstream_query(&f, &upstream, h, "www.EXAMPLE.test", TYPE_A);
	assert_mark(chain_mark(&f, 0), 0x11);
	assert_counters(COUNTERS([FAST_FILED] = 1, [FAST_MARKED] = 1));
	cr_assert_eq(ring_read(), 1);
	assert_record(&records[0], BPFRECORD_UPSTREAM, 0x11, h->family,
	    h->resolver_out, UPSTREAM_PORT, h->server, DNS_PORT, &upstream);
}

Test(fastprog, marks_ipv4_upstream_query_with_its_client_mark)
{
	assert_marks_upstream(&hosts_v4);
}

Test(fastprog, marks_ipv6_upstream_query_with_its_client_mark)
{
	assert_marks_upstream(&hosts_v6);
}

/*
 * What classify leaves to the queue it writes to the ring as it goes there
 * (BPFRECORD_QUEUED), with the packet's mark, in order with the client
 * queries and answers around it: dnsmark judges it as things stood then.
 */
static void
assert_leaves_to_dnsmark(const struct hosts *h)
{
	static const char *const names[] = {
		"www.example.test", "mail.example.test", "example.test",
	};
	static const uint16_t types[] = { TYPE_AAAA, TYPE_A, TYPE_A };
	struct wire upstream[3];
	struct frame f;

	/* The user's own bits, outside the mask, stay in the packet's mark. */
	conf->mask = 0xff;
	client_asks(h, h->client, "www.example.test", TYPE_A, 0x11);
	/* Another type, another name; and a minimised ancestor: dnsmark may
	 * give it the mark, from its evidence; the kernel knows only exact
	 * questions. */
	for (int i = 0; i < 3; i++) {
		upstream_query(&f, &upstream[i], h, names[i], types[i]);
		assert_mark(chain_mark(&f, 0x100), QUEUED);
	}
	assert_counters(COUNTERS([FAST_FILED] = 1, [FAST_ABSENT] = 3));
	cr_assert_eq(ring_read(), 4, "the client's query and the 3 queued");
	cr_assert_eq(records[0].kind, BPFRECORD_CLIENT);
	for (int i = 0; i < 3; i++) {
		assert_record(&records[1 + i], BPFRECORD_QUEUED, 0x100,
		    h->family, h->resolver_out, UPSTREAM_PORT, h->server,
		    DNS_PORT, &upstream[i]);
		cr_assert_geq(records[1 + i].time_ns, records[i].time_ns);
	}
}

Test(fastprog, leaves_other_types_names_and_ancestors_to_dnsmark)
{
	assert_leaves_to_dnsmark(&hosts_v4);
}

Test(fastprog, leaves_ipv6_queries_it_cannot_mark_to_dnsmark)
{
	assert_leaves_to_dnsmark(&hosts_v6);
}

Test(fastprog, two_marks_asking_one_question_mark_nothing)
{
	const struct hosts *h = &hosts_v4;

	client_asks(h, h->client, "www.example.test", TYPE_A, 0x11);
	client_asks(h, h->client2, "www.example.test", TYPE_A, 0x22);
	cr_assert_neq(question_state("www.example.test", TYPE_A) &
	    FAST_AMBIGUOUS, 0);
	assert_mark(upstream_mark(h, "www.example.test", TYPE_A, 0), QUEUED);
	assert_counters(COUNTERS([FAST_FILED] = 2,
	    [FAST_AMBIGUOUS_MARKS] = 1));
}

Test(fastprog, answer_to_its_only_asker_unmarks_a_question)
{
	const struct hosts *h = &hosts_v4;

	client_asks(h, h->client, "www.example.test", TYPE_A, 0x11);
	resolver_answers(h, h->client, "www.example.test", TYPE_A, 0x11);
	cr_assert_eq(fast_state_waiting(question_state("www.example.test",
	    TYPE_A)), 0);
	assert_mark(upstream_mark(h, "www.example.test", TYPE_A, 0), QUEUED);
	assert_counters(COUNTERS([FAST_FILED] = 1, [FAST_ANSWERED] = 1));
	cr_assert_eq(ring_read(), 3, "the query, its answer, the queued");
	cr_assert_eq(records[1].kind, BPFRECORD_CLIENT);
	cr_assert_eq(records[1].src_port, DNS_PORT);
	cr_assert_eq(records[2].kind, BPFRECORD_QUEUED);
}

Test(fastprog, asker_still_waiting_keeps_the_mark)
{
	const struct hosts *h = &hosts_v4;

	client_asks(h, h->client, "www.example.test", TYPE_A, 0x11);
	client_asks(h, h->client2, "www.example.test", TYPE_A, 0x11);
	resolver_answers(h, h->client, "www.example.test", TYPE_A, 0x11);
	cr_assert_eq(fast_state_waiting(question_state("www.example.test",
	    TYPE_A)), 1);
	assert_mark(upstream_mark(h, "www.example.test", TYPE_A, 0), 0x11);
	assert_counters(COUNTERS([FAST_FILED] = 2, [FAST_MARKED] = 1));
}

Test(fastprog, mask_limits_the_bits_the_rules_set)
{
	const struct hosts *h = &hosts_v4;

	conf->mask = 0xff00;
	client_asks(h, h->client, "www.example.test", TYPE_A, 0x1234);
	cr_assert_eq(ring_read(), 1);
	assert_mark(upstream_mark(h, "www.example.test", TYPE_A, 0), 0x1200);
	cr_assert_eq(ring_read(), 1);
	cr_assert_eq(records[0].kind, BPFRECORD_UPSTREAM);
	cr_assert_eq(records[0].mark, 0x1234, "dnsmark learns the whole mark");
	/* Bits outside --mask that the query has stay as they are. */
	assert_mark(upstream_mark(h, "www.example.test", TYPE_A, 0x1), 0x1201);
	assert_counters(COUNTERS([FAST_FILED] = 1, [FAST_MARKED] = 2));
}

Test(fastprog, query_with_mask_bits_set_is_premarked)
{
	const struct hosts *h = &hosts_v4;

	conf->mask = 0xff00;
	client_asks(h, h->client, "www.example.test", TYPE_A, 0x1234);
	assert_mark(upstream_mark(h, "www.example.test", TYPE_A, 0x100),
	    QUEUED);
	assert_counters(COUNTERS([FAST_FILED] = 1, [FAST_PREMARKED] = 1));
}

Test(fastprog, client_mark_without_mask_bits_is_unmarked)
{
	const struct hosts *h = &hosts_v4;

	conf->mask = 0xff00;
	client_asks(h, h->client, "www.example.test", TYPE_A, 0x11);
	assert_mark(upstream_mark(h, "www.example.test", TYPE_A, 0), QUEUED);
	assert_counters(COUNTERS([FAST_FILED] = 1, [FAST_UNMARKED] = 1));
}

Test(fastprog, marks_nothing_once_dnsmark_is_gone)
{
	const struct hosts *h = &hosts_v4;

	client_asks(h, h->client, "www.example.test", TYPE_A, 0x11);
	conf->alive_until_ns = monotonic_ns() - SECOND_NS;
	assert_mark(upstream_mark(h, "www.example.test", TYPE_A, 0), QUEUED);
	assert_counters(COUNTERS([FAST_FILED] = 1, [FAST_OFF] = 1));
}

Test(fastprog, marks_nothing_while_in_doubt)
{
	const struct hosts *h = &hosts_v4;

	client_asks(h, h->client, "www.example.test", TYPE_A, 0x11);
	conf->doubt_until_ns = monotonic_ns() + 60 * SECOND_NS;
	assert_mark(upstream_mark(h, "www.example.test", TYPE_A, 0), QUEUED);
	assert_counters(COUNTERS([FAST_FILED] = 1, [FAST_DOUBT] = 1));
}

Test(fastprog, doubt_slot_holds_back_its_question_only)
{
	const struct hosts *h = &hosts_v4;
	struct fast_key www, mail;
	uint32_t slot;
	uint64_t until = monotonic_ns() + 60 * SECOND_NS;

	question_key("www.example.test", TYPE_A, &www);
	question_key("mail.example.test", TYPE_A, &mail);
	slot = (uint32_t)(fast_key_hash(&www) % FASTCONF_DOUBTS);
	cr_assert_neq(slot, fast_key_hash(&mail) % FASTCONF_DOUBTS,
	    "the two questions must not share a slot");
	/* What dnsmark writes for a TCP client's question (fastpath.c). */
	cr_assert_eq(bpf_map_update_elem(bpf_map__fd(skel->maps.fast_doubts),
	    &slot, &until, BPF_ANY), 0);
	client_asks(h, h->client, "www.example.test", TYPE_A, 0x11);
	client_asks(h, h->client, "mail.example.test", TYPE_A, 0x11);
	assert_mark(upstream_mark(h, "www.example.test", TYPE_A, 0), QUEUED);
	assert_mark(upstream_mark(h, "mail.example.test", TYPE_A, 0), 0x11);
	assert_counters(COUNTERS([FAST_FILED] = 2, [FAST_DOUBT] = 1,
	    [FAST_MARKED] = 1));
}

/* The dotted name of four labels of 'a' whose wire form is len bytes. */
static void
long_name(char *name, size_t len)
{
	size_t last = len - 1 - 3 * 64 - 1;

	memset(name, 'a', 63 * 3 + 3 + last);
	name[63] = name[127] = name[191] = '.';
	name[63 * 3 + 3 + last] = '\0';
}

Test(fastprog, marks_a_name_of_255_bytes)
{
	const struct hosts *h = &hosts_v4;
	char name[300];

	long_name(name, FAST_NAME_MAX);
	client_asks(h, h->client, name, TYPE_A, 0x11);
	assert_mark(upstream_mark(h, name, TYPE_A, 0), 0x11);
	assert_counters(COUNTERS([FAST_FILED] = 1, [FAST_MARKED] = 1));
}

/* How a query for www.example.test A is malformed. */
enum malformed_kind {
	MALFORMED_COMPRESSED,
	MALFORMED_TWO_QUESTIONS,
	MALFORMED_OPCODE,
	MALFORMED_QR,
	MALFORMED_SHORT,
	MALFORMED_LONG_NAME,
	MALFORMED_CUT,
	MALFORMED_IP_OPTIONS,
	MALFORMED_FRAGMENT,
	MALFORMED_UDP_LONG,
	MALFORMED_UDP_SHORT,
};

/* Builds the malformed query, sent upstream or by a client, into f. */
static void
malformed_build(struct frame *f, enum malformed_kind kind, int upstream)
{
	const struct hosts *h = &hosts_v4;
	uint8_t *ip = f->bytes + ETH_HEADER;
	struct wire w = { .len = 0 };
	char name[300];

	wire_header(&w, 0x1234, kind == MALFORMED_OPCODE ? 4 << 11 /* NOTIFY */
	    : kind == MALFORMED_QR ? 0x8000 : 0,
	    kind == MALFORMED_TWO_QUESTIONS ? 2 : 1, 0, 0, 0);
	if (kind == MALFORMED_COMPRESSED) {
		wire_u8(&w, 3);
		wire_bytes(&w, "www", 3);
		wire_pointer(&w, FAST_DNS_HEADER);
		wire_u32(&w, TYPE_A << 16 | 1);
	} else if (kind == MALFORMED_LONG_NAME) {
		long_name(name, FAST_NAME_MAX + 1);
		wire_question(&w, name, TYPE_A);
	} else {
		wire_question(&w, "www.example.test", TYPE_A);
	}
	if (kind == MALFORMED_TWO_QUESTIONS)
		wire_question(&w, "www.example.test", TYPE_AAAA);
	if (kind == MALFORMED_SHORT)
		w.len = FAST_DNS_HEADER - 1;
	if (kind == MALFORMED_CUT)
		w.len -= 2;	/* the class */
	if (upstream)
		frame_udp(f, 4, h->resolver_out, UPSTREAM_PORT, h->server,
		    DNS_PORT, &w);
	else
		frame_udp(f, 4, h->client, CLIENT_PORT, h->resolver,
		    DNS_PORT, &w);
	switch (kind) {
	case MALFORMED_IP_OPTIONS:
		/* Four bytes of options: NOPs, then the end of the list. */
		memmove(ip + 24, ip + 20, f->len - ETH_HEADER - 20);
		memcpy(ip + 20, "\x01\x01\x01\x00", 4);
		ip[0] = 0x46;
		wire_put16(ip + 2, (uint16_t)(f->len - ETH_HEADER + 4));
		f->len += 4;
		break;
	case MALFORMED_FRAGMENT:
		wire_put16(ip + 6, 0x2000);	/* more fragments */
		break;
	case MALFORMED_UDP_LONG:
		wire_put16(ip + 24, (uint16_t)(8 + w.len + 10));
		break;
	case MALFORMED_UDP_SHORT:
		/* The datagram ends inside the DNS header; the rest of the
		 * packet is padding. */
		wire_put16(ip + 24, 8 + FAST_DNS_HEADER - 1);
		break;
	default:
		break;
	}
}

static const struct malformed {
	const char *what;
	enum malformed_kind kind;
	int filed;		/* a client's such query is filed anyway */
} malformed_cases[] = {
	{ "compression pointer", MALFORMED_COMPRESSED, 0 },
	{ "two questions", MALFORMED_TWO_QUESTIONS, 0 },
	{ "opcode NOTIFY", MALFORMED_OPCODE, 0 },
	{ "QR set", MALFORMED_QR, 0 },
	{ "shorter than a header", MALFORMED_SHORT, 0 },
	{ "name of 256 bytes", MALFORMED_LONG_NAME, 0 },
	{ "class cut", MALFORMED_CUT, 0 },
	/* A client's query with IP options is still one dnsmark reads;
	 * only the upstream side is kept simple. */
	{ "IPv4 options", MALFORMED_IP_OPTIONS, 1 },
	{ "IPv4 fragment", MALFORMED_FRAGMENT, 0 },
	{ "UDP length beyond the packet", MALFORMED_UDP_LONG, 0 },
	{ "UDP length short of a header", MALFORMED_UDP_SHORT, 0 },
};
#define MALFORMED_CASES (sizeof(malformed_cases) / sizeof(malformed_cases[0]))

/* Indexes, not the cases: Criterion runs each in a new process, where
 * pointers of this one need not hold. */
ParameterizedTestParameters(fastprog,
    malformed_query_is_neither_marked_nor_filed)
{
	static int indexes[MALFORMED_CASES];

	for (size_t i = 0; i < MALFORMED_CASES; i++)
		indexes[i] = (int)i;
	return cr_make_param_array(int, indexes, MALFORMED_CASES);
}

ParameterizedTest(int *index, fastprog,
    malformed_query_is_neither_marked_nor_filed)
{
	const struct malformed *m = &malformed_cases[*index];
	const struct hosts *h = &hosts_v4;
	struct frame f;
	uint64_t state;
	int64_t mark;
	int told, queued = 0;

	/* Filed well-formed first: a malformed query read as that question
	 * would take its mark. */
	client_asks(h, h->client, "www.example.test", TYPE_A, 0x11);
	cr_assert_eq(ring_read(), 1);
	malformed_build(&f, m->kind, 1);
	mark = chain_mark(&f, 0);
	told = ring_read();
	/* A datagram classify could read goes to the ring as queued, for
	 * dnsmark to judge (and count as bad) when it reads it. */
	for (int i = 0; i < told; i++)
		queued += records[i].kind == BPFRECORD_QUEUED;
	cr_assert_leq(queued, 1, "%s", m->what);
	told -= queued;
	cr_assert(mark == QUEUED && conf->counters[FAST_PACKET] == 1 &&
	    conf->counters[FAST_MARKED] == 0 && told == 0,
	    "%s: %s 0x%x, FAST_PACKET %llu, FAST_MARKED %llu, %d records "
	    "told; expected queued, FAST_PACKET 1, none told", m->what,
	    mark == QUEUED ? "queued" : "mark", (unsigned)mark,
	    (unsigned long long)conf->counters[FAST_PACKET],
	    (unsigned long long)conf->counters[FAST_MARKED], told);

	malformed_build(&f, m->kind, 0);
	cr_assert_eq(prog_run(skel->progs.dnsmark_client_ingress, &f, 0x11),
	    1, "%s", m->what);
	cr_assert_eq(conf->counters[FAST_FILED], 1 + (uint64_t)m->filed,
	    "%s: FAST_FILED %llu", m->what,
	    (unsigned long long)conf->counters[FAST_FILED]);
	cr_assert_eq(questions_filed(), 1, "%s", m->what);
	state = question_state("www.example.test", TYPE_A);
	cr_assert_eq(fast_state_waiting(state), 1 + (uint64_t)m->filed,
	    "%s", m->what);
}

Test(fastprog, verify_undoes_a_mark_built_wrong)
{
	const struct hosts *h = &hosts_v4;
	struct wire w;
	struct frame f;
	uint32_t mark = 0, mask = 0x00ff00ffu;

	conf->mask = mask;
	client_asks(h, h->client, "www.example.test", TYPE_A, 0x11);
	cr_assert_eq(ring_read(), 1);
	upstream_query(&f, &w, h, "www.example.test", TYPE_A);
	cr_assert_eq(prog_run(skel->progs.dnsmark_fast_classify, &f, 0), 1);
	for (int bit = 0; bit < BITS; bit++) {
		uint32_t matched = prog_run(bit_prog[bit], &f, mark);

		cr_assert_eq(matched, (0x11u >> bit) & 1, "bit %d", bit);
		mark |= matched << bit;
	}
	/* Another rule changed the mark between the bits and verify. */
	cr_assert_eq(prog_run(skel->progs.dnsmark_fast_verify, &f, 0x13), 0);
	for (int bit = 0; bit < BITS; bit++)
		cr_assert_eq(prog_run(bit_prog[bit], &f, 0x13),
		    (mask >> bit) & 1, "undo, bit %d", bit);
	assert_counters(COUNTERS([FAST_FILED] = 1, [FAST_UNDONE] = 1));
	cr_assert_eq(ring_read(), 0, "dnsmark hears of no marked query");

	/* The scratch serves the next query as before. */
	assert_mark(chain_mark(&f, 0), 0x11);
	assert_counters(COUNTERS([FAST_FILED] = 1, [FAST_UNDONE] = 1,
	    [FAST_MARKED] = 1));
}

Test(fastprog, verify_refuses_a_query_whose_scratch_another_took)
{
	const struct hosts *h = &hosts_v4;
	struct wire w, other_w;
	struct frame f, other;
	uint32_t mark = 0;

	client_asks(h, h->client, "www.example.test", TYPE_A, 0x11);
	upstream_query(&f, &w, h, "www.example.test", TYPE_A);
	upstream_query(&other, &other_w, h, "www.example.test", TYPE_A);
	wire_put16(other.bytes + ETH_HEADER + 28, 0x5678);	/* DNS id */
	cr_assert_eq(prog_run(skel->progs.dnsmark_fast_classify, &f, 0), 1);
	for (int bit = 0; bit < BITS; bit++)
		mark |= prog_run(bit_prog[bit], &f, mark) << bit;
	cr_assert_eq(mark, 0x11);
	/* A query sent from an interrupt between the rules, on this CPU. */
	cr_assert_eq(prog_run(skel->progs.dnsmark_fast_classify, &other, 0),
	    1);
	cr_assert_eq(prog_run(skel->progs.dnsmark_fast_verify, &f, mark), 0);
	assert_counters(COUNTERS([FAST_FILED] = 1, [FAST_UNDONE] = 1));
}

Test(fastprog, start_starts_the_sweeper_once)
{
	struct frame any = { .len = 64 };

	cr_assert_eq(prog_run(skel->progs.dnsmark_fast_start, &any, 0), 0);
	cr_assert_eq(prog_run(skel->progs.dnsmark_fast_start, &any, 0), 1,
	    "the timer runs already");
}

Test(fastprog, question_asked_longer_ago_than_the_timeout_is_stale)
{
	const struct hosts *h = &hosts_v4;
	int fd = bpf_map__fd(skel->maps.fast_questions);
	uint64_t now = fast_time_units(monotonic_ns());
	uint64_t old = fast_state_make(0x11, now - conf->timeout_units - 16, 1);
	uint64_t fresh = fast_state_make(0x11, now, 1);
	struct fast_key key;

	cr_assert_eq(fast_state_live(old, now, conf->timeout_units), 0);
	cr_assert_eq(fast_state_live(fresh, now, conf->timeout_units), 1);
	/* The words the sweeper would find: it deletes the old one. */
	question_key("old.example.test", TYPE_A, &key);
	cr_assert_eq(bpf_map_update_elem(fd, &key, &old, BPF_NOEXIST), 0);
	question_key("new.example.test", TYPE_A, &key);
	cr_assert_eq(bpf_map_update_elem(fd, &key, &fresh, BPF_NOEXIST), 0);
	assert_mark(upstream_mark(h, "OLD.example.test", TYPE_A, 0), QUEUED);
	assert_mark(upstream_mark(h, "NEW.example.test", TYPE_A, 0), 0x11);
	assert_counters(COUNTERS([FAST_STALE] = 1, [FAST_MARKED] = 1));
}

Test(fastprog, filing_counts_the_entries_it_inserts)
{
	const struct hosts *h = &hosts_v4;

	cr_assert_eq(conf->entries, 0);
	client_asks(h, h->client, "one.example.test", TYPE_A, 0x11);
	client_asks(h, h->client2, "one.example.test", TYPE_A, 0x11);
	cr_assert_eq(conf->entries, 1, "a question asked again is no entry");
	client_asks(h, h->client, "one.example.test", TYPE_AAAA, 0x11);
	client_asks(h, h->client, "two.example.test", TYPE_A, 0x12);
	cr_assert_eq(conf->entries, 3);
}

/* The sweeper's ticks since its last walk (the timer's map value). */
static uint64_t
sweeper_idle(void)
{
	struct {
		struct bpf_timer timer;
		uint64_t idle;
	} value;
	uint32_t zero = 0;

	cr_assert_eq(bpf_map__lookup_elem(skel->maps.fast_timers, &zero,
	    sizeof(zero), &value, sizeof(value), 0), 0);
	return value.idle;
}

/* Waits (up to 10 s) until what() returns at least least. */
static int
wait_for(uint64_t (*what)(void), uint64_t least)
{
	struct timespec step = { 0, 50 * 1000 * 1000 };

	for (int i = 0; i < 200; i++) {
		if (what() >= least)
			return 1;
		nanosleep(&step, NULL);
	}
	return 0;
}

static uint64_t
sweeps(void)
{
	return __atomic_load_n(&conf->sweeps, __ATOMIC_ACQUIRE);
}

Test(fastprog, sweeper_walks_only_a_map_over_half_full, .timeout = 30)
{
	int fd = bpf_map__fd(skel->maps.fast_questions);
	uint64_t now = fast_time_units(monotonic_ns());
	uint64_t old = fast_state_make(0x11, now - conf->timeout_units - 16, 1);
	uint64_t fresh = fast_state_make(0x11, now, 1);
	struct frame any = { .len = 64 };
	struct fast_key key;
	uint64_t state;

	question_key("old.example.test", TYPE_A, &key);
	cr_assert_eq(bpf_map_update_elem(fd, &key, &old, BPF_NOEXIST), 0);
	question_key("new.example.test", TYPE_A, &key);
	cr_assert_eq(bpf_map_update_elem(fd, &key, &fresh, BPF_NOEXIST), 0);
	conf->entries = 2;
	conf->sweep_above = 2;
	cr_assert_eq(prog_run(skel->progs.dnsmark_fast_start, &any, 0), 0);
	cr_assert(wait_for(sweeper_idle, 1), "the sweeper never ticked");
	cr_assert_eq(sweeps(), 0, "a map at its threshold is not walked");
	question_key("old.example.test", TYPE_A, &key);
	cr_assert_eq(bpf_map_lookup_elem(fd, &key, &state), 0);
	/* One entry more than the threshold: the next tick walks, deletes
	 * the stale entry alone and counts it off. */
	conf->entries = 3;
	cr_assert(wait_for(sweeps, 1), "the sweeper never walked");
	cr_assert_eq(conf->swept, 1);
	cr_assert_eq(conf->entries, 2);
	cr_assert_eq(sweeper_idle(), 0);
	cr_assert_neq(bpf_map_lookup_elem(fd, &key, &state), 0,
	    "the stale entry is gone");
	question_key("new.example.test", TYPE_A, &key);
	cr_assert_eq(bpf_map_lookup_elem(fd, &key, &state), 0,
	    "the live one stays");
	cr_assert_eq(state, fresh);
}
