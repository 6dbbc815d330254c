/*
 * Unit tests for src/judge.c: whole IPv4/IPv6 packets carrying DNS, fed on
 * the hooks the kernel would queue them from, and the verdicts and counters
 * that come out.  Packets are built here by small helpers; the judge's tables
 * are real ones, time a plain number.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <criterion/criterion.h>

#include "judge.h"
#include "options.h"
#include "wire.h"

#define PACKET_BUF 2048
#define HOOK_FORWARD 2

#define TYPE_A 1
#define TYPE_AAAA 28
#define CLASS_IN 1

#define FLAGS_QUERY 0x0100	/* RD */
#define FLAGS_RESPONSE 0x8180	/* QR RD RA */

#define CLIENT4 "192.0.2.10"
#define CLIENT4_B "192.0.2.11"
#define RESOLVER4 "192.0.2.1"
#define WAN4 "198.51.100.1"
#define SERVER4 "203.0.113.53"
#define CLIENT6 "2001:db8:1::10"
#define RESOLVER6 "2001:db8:1::1"
#define WAN6 "2001:db8:ffff::1"
#define SERVER6 "2001:db8:53::53"

static const uint8_t test_key[SIPHASH_KEY_LEN] = {
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
};

struct bed {
	struct judge judge;
	struct stats stats;
};

/* A judge with its tables, counting into bed->stats. */
static void
bed_init_recent(struct bed *bed, size_t max_pending, uint64_t timeout_ms,
    uint64_t recent_ms, enum attrib_conflict conflict, uint32_t mask)
{
	struct judge_config config;

	memset(bed, 0, sizeof(*bed));
	memset(&config, 0, sizeof(config));
	config.max_pending = max_pending;
	config.timeout_ms = timeout_ms;
	config.recent_ms = recent_ms;
	config.policy.conflict = conflict;
	config.policy.conflict_mark = 0xc0ff;
	config.mask = mask;
	memcpy(config.key, test_key, sizeof(config.key));
	cr_assert_eq(judge_init(&bed->judge, &config, &bed->stats), 0);
	cr_assert_not_null(bed->judge.evidence.pending);
}

/* The same without the table of recent questions. */
static void
bed_init(struct bed *bed, size_t max_pending, uint64_t timeout_ms,
    enum attrib_conflict conflict, uint32_t mask)
{
	bed_init_recent(bed, max_pending, timeout_ms, 0, conflict, mask);
}

static void
bed_fini(struct bed *bed)
{
	judge_free(&bed->judge);
}

static uint64_t
count(const struct bed *bed, enum stats_counter counter)
{
	return bed->stats.counter[counter];
}

/* A resource record of a response; records go in section order. */
struct record {
	int section;		/* 0 answer, 1 authority, 2 additional */
	const char *owner;	/* NULL: a pointer to the question's name */
	uint16_t type;
	const char *target;	/* name data (CNAME, NS); NULL: an address */
};

/* Writes a DNS message: header, one question, then the records. */
static size_t
build_message(uint8_t *msg, uint16_t id, uint16_t flags, const char *name,
    uint16_t qtype, const struct record *records, size_t count)
{
	uint16_t counts[3] = { 0, 0, 0 };
	size_t len = 12;

	memset(msg, 0, 12);
	wire_put16(msg, id);
	wire_put16(msg + 2, flags);
	wire_put16(msg + 4, 1);
	len += wire_put_name(msg + len, name);
	wire_put16(msg + len, qtype);
	wire_put16(msg + len + 2, CLASS_IN);
	len += 4;
	for (size_t i = 0; i < count; i++) {
		size_t rdlength_at;

		counts[records[i].section]++;
		if (records[i].owner == NULL) {
			msg[len++] = 0xc0;
			msg[len++] = 12;
		} else {
			len += wire_put_name(msg + len, records[i].owner);
		}
		wire_put16(msg + len, records[i].type);
		wire_put16(msg + len + 2, CLASS_IN);
		wire_put32(msg + len + 4, 300);
		rdlength_at = len + 8;
		len += 10;
		if (records[i].target != NULL) {
			size_t n = wire_put_name(msg + len, records[i].target);

			wire_put16(msg + rdlength_at, (uint16_t)n);
			len += n;
		} else {
			wire_put16(msg + rdlength_at, 4);
			wire_put32(msg + len, 0xc0000263);	/* 192.0.2.99 */
			len += 4;
		}
	}
	wire_put16(msg + 6, counts[0]);
	wire_put16(msg + 8, counts[1]);
	wire_put16(msg + 10, counts[2]);
	return len;
}

/* Writes a DNS message with one question for the dotted name. */
static size_t
build_dns(uint8_t *msg, uint16_t id, uint16_t flags, const char *name,
    uint16_t qtype)
{
	return build_message(msg, id, flags, name, qtype, NULL, 0);
}

/* Writes the transport segment (UDP, or TCP with tcp_flags) at seg. */
static size_t
build_segment(uint8_t *seg, uint8_t protocol, uint16_t sport, uint16_t dport,
    uint8_t tcp_flags, const uint8_t *payload, size_t payload_len)
{
	size_t header = protocol == IPPROTO_UDP ? 8 : 20;

	wire_put16(seg, sport);
	wire_put16(seg + 2, dport);
	if (protocol == IPPROTO_UDP) {
		wire_put16(seg + 4, (uint16_t)(8 + payload_len));
		wire_put16(seg + 6, 0);
	} else {
		wire_put32(seg + 4, 1000);
		wire_put32(seg + 8, 2000);
		seg[12] = 5 << 4;
		seg[13] = tcp_flags;
		wire_put16(seg + 14, 65535);
		wire_put32(seg + 16, 0);
	}
	if (payload_len > 0)
		memcpy(seg + header, payload, payload_len);
	return header + payload_len;
}

/* Writes an IPv4 or IPv6 packet (by the address's family) at pkt. */
static size_t
build_ip(uint8_t *pkt, const char *src, const char *dst, uint8_t protocol,
    const uint8_t *segment, size_t segment_len)
{
	if (strchr(src, ':') == NULL) {
		memset(pkt, 0, 20);
		pkt[0] = 0x45;
		wire_put16(pkt + 2, (uint16_t)(20 + segment_len));
		wire_put16(pkt + 6, 0x4000);
		pkt[8] = 64;
		pkt[9] = protocol;
		cr_assert_eq(inet_pton(AF_INET, src, pkt + 12), 1);
		cr_assert_eq(inet_pton(AF_INET, dst, pkt + 16), 1);
		memcpy(pkt + 20, segment, segment_len);
		return 20 + segment_len;
	}
	memset(pkt, 0, 40);
	pkt[0] = 0x60;
	wire_put16(pkt + 4, (uint16_t)segment_len);
	pkt[6] = protocol;
	pkt[7] = 64;
	cr_assert_eq(inet_pton(AF_INET6, src, pkt + 8), 1);
	cr_assert_eq(inet_pton(AF_INET6, dst, pkt + 24), 1);
	memcpy(pkt + 40, segment, segment_len);
	return 40 + segment_len;
}

/* A whole UDP packet carrying a DNS message with one question. */
static size_t
build_udp_dns(uint8_t *pkt, const char *src, uint16_t sport, const char *dst,
    uint16_t dport, uint16_t id, uint16_t flags, const char *name)
{
	uint8_t msg[512], seg[PACKET_BUF];
	size_t msg_len, seg_len;

	msg_len = build_dns(msg, id, flags, name, TYPE_A);
	seg_len = build_segment(seg, IPPROTO_UDP, sport, dport, 0, msg,
	    msg_len);
	return build_ip(pkt, src, dst, IPPROTO_UDP, seg, seg_len);
}

/* A whole UDP packet carrying the DNS message msg. */
static size_t
build_udp_message(uint8_t *pkt, const char *src, uint16_t sport,
    const char *dst, uint16_t dport, const uint8_t *msg, size_t msg_len)
{
	uint8_t seg[PACKET_BUF];
	size_t seg_len;

	seg_len = build_segment(seg, IPPROTO_UDP, sport, dport, 0, msg,
	    msg_len);
	return build_ip(pkt, src, dst, IPPROTO_UDP, seg, seg_len);
}

/* A whole TCP segment carrying one length-prefixed DNS query. */
static size_t
build_tcp_dns(uint8_t *pkt, const char *src, uint16_t sport, const char *dst,
    uint16_t dport, uint16_t id, const char *name)
{
	uint8_t stream[514], seg[PACKET_BUF];
	size_t msg_len, seg_len;

	msg_len = build_dns(stream + 2, id, FLAGS_QUERY, name, TYPE_A);
	wire_put16(stream, (uint16_t)msg_len);
	seg_len = build_segment(seg, IPPROTO_TCP, sport, dport, 0x18, stream,
	    2 + msg_len);
	return build_ip(pkt, src, dst, IPPROTO_TCP, seg, seg_len);
}

static struct judge_verdict
feed(struct bed *bed, unsigned int hook, const uint8_t *pkt, size_t len,
    uint32_t mark, uint64_t now_ms)
{
	struct judge_packet packet = {
		.hook = hook,
		.data = pkt,
		.len = len,
		.mark = mark,
	};

	return judge_packet(&bed->judge, &packet, now_ms);
}

/* A client's query to the resolver, seen on LOCAL_IN. */
static struct judge_verdict
client_query(struct bed *bed, const char *client, uint16_t id,
    const char *name, uint32_t mark, uint64_t now_ms)
{
	uint8_t pkt[PACKET_BUF];
	const char *resolver = strchr(client, ':') ? RESOLVER6 : RESOLVER4;
	size_t len;

	len = build_udp_dns(pkt, client, 40000, resolver, 53, id, FLAGS_QUERY,
	    name);
	return feed(bed, JUDGE_HOOK_LOCAL_IN, pkt, len, mark, now_ms);
}

/* The resolver's query to an upstream server, seen on LOCAL_OUT. */
static struct judge_verdict
upstream_query(struct bed *bed, const char *wan, uint16_t id,
    const char *name, uint32_t mark, uint64_t now_ms)
{
	uint8_t pkt[PACKET_BUF];
	const char *server = strchr(wan, ':') ? SERVER6 : SERVER4;
	size_t len;

	len = build_udp_dns(pkt, wan, 33333, server, 53, id, 0, name);
	return feed(bed, JUDGE_HOOK_LOCAL_OUT, pkt, len, mark, now_ms);
}

static void
assert_unchanged(struct judge_verdict v, const char *what)
{
	cr_assert_eq(v.set_mark, 0, "%s: verdict sets mark 0x%x", what,
	    v.mark);
}

Test(judge, marks_upstream_query_with_client_mark)
{
	struct bed bed;
	struct judge_verdict v;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xff);
	v = client_query(&bed, CLIENT4, 0x1111, "www.example.com", 0x5, 1000);
	assert_unchanged(v, "client query");
	cr_assert_eq(count(&bed, STATS_CLIENT_QUERIES), 1);
	cr_assert_eq(asks_count(bed.judge.evidence.pending), 1);

	v = upstream_query(&bed, WAN4, 0xabcd, "wWw.ExAmPlE.cOm", 0x100, 1010);
	cr_assert_eq(v.set_mark, 1);
	cr_assert_eq(v.mark, 0x105, "mark 0x%x", v.mark);
	cr_assert_eq(count(&bed, STATS_PACKETS), 2);
	cr_assert_eq(count(&bed, STATS_UPSTREAM_QUERIES), 1);
	cr_assert_eq(count(&bed, STATS_UPSTREAM_MARKED), 1);
	cr_assert_eq(count(&bed, STATS_UPSTREAM_UNMARKED), 0);
	cr_assert_eq(count(&bed, STATS_ATTRIB_EXACT), 1);
	cr_assert_eq(count(&bed, STATS_ATTRIB_NONE), 0);
	bed_fini(&bed);
}

Test(judge, keeps_packet_bits_outside_mask)
{
	struct bed bed;
	struct judge_verdict v;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xff00);
	client_query(&bed, CLIENT4, 1, "example.net", 0xabcd, 0);
	v = upstream_query(&bed, WAN4, 2, "example.net", 0x12345678, 1);
	cr_assert_eq(v.set_mark, 1);
	cr_assert_eq(v.mark, 0x1234ab78, "mark 0x%x", v.mark);
	bed_fini(&bed);
}

Test(judge, leaves_query_unmarked_when_nobody_waits)
{
	struct bed bed;
	struct judge_verdict v;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_FIRST, 0xffffffff);
	v = upstream_query(&bed, WAN4, 2, "www.example.com", 0x100, 1);
	assert_unchanged(v, "upstream query with no client waiting");
	cr_assert_eq(count(&bed, STATS_UPSTREAM_QUERIES), 1);
	cr_assert_eq(count(&bed, STATS_ATTRIB_NONE), 1);
	cr_assert_eq(count(&bed, STATS_UPSTREAM_UNMARKED), 1);
	cr_assert_eq(count(&bed, STATS_UPSTREAM_MARKED), 0);
	bed_fini(&bed);
}

Test(judge, leaves_unrelated_query_unmarked_among_several_marks)
{
	struct bed bed;
	struct judge_verdict v;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_FIRST, 0xffffffff);
	client_query(&bed, CLIENT4, 1, "www.example.com", 0x5, 0);
	client_query(&bed, CLIENT4_B, 2, "mail.example.org", 0x6, 0);
	v = upstream_query(&bed, WAN4, 3, "other.example.net", 0x100, 1);
	assert_unchanged(v, "unasked upstream query");
	cr_assert_eq(count(&bed, STATS_UPSTREAM_QUERIES), 1);
	cr_assert_eq(count(&bed, STATS_ATTRIB_NONE), 1);
	cr_assert_eq(count(&bed, STATS_UPSTREAM_UNMARKED), 1);
	cr_assert_eq(count(&bed, STATS_UPSTREAM_MARKED), 0);
	bed_fini(&bed);
}

Test(judge, prefers_conntrack_mark)
{
	uint8_t pkt[PACKET_BUF];
	struct judge_packet packet;
	struct bed bed;
	struct judge_verdict v;
	size_t len;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	len = build_udp_dns(pkt, CLIENT4, 40000, RESOLVER4, 53, 1,
	    FLAGS_QUERY, "ct.example");
	packet = (struct judge_packet){
		.hook = JUDGE_HOOK_LOCAL_IN, .data = pkt, .len = len,
		.mark = 0x5, .has_ct_mark = 1, .ct_mark = 0x7,
	};
	assert_unchanged(judge_packet(&bed.judge, &packet, 0), "client");
	v = upstream_query(&bed, WAN4, 2, "ct.example", 0, 1);
	cr_assert_eq(v.set_mark, 1);
	cr_assert_eq(v.mark, 0x7, "mark 0x%x", v.mark);
	bed_fini(&bed);
}

Test(judge, uses_packet_mark_without_conntrack)
{
	uint8_t pkt[PACKET_BUF];
	struct judge_packet packet;
	struct bed bed;
	struct judge_verdict v;
	size_t len;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	len = build_udp_dns(pkt, CLIENT4, 40000, RESOLVER4, 53, 1,
	    FLAGS_QUERY, "ct.example");
	packet = (struct judge_packet){
		.hook = JUDGE_HOOK_LOCAL_IN, .data = pkt, .len = len,
		.mark = 0x5, .has_ct_mark = 0, .ct_mark = 0x7,
	};
	judge_packet(&bed.judge, &packet, 0);
	v = upstream_query(&bed, WAN4, 2, "ct.example", 0, 1);
	cr_assert_eq(v.set_mark, 1);
	cr_assert_eq(v.mark, 0x5, "mark 0x%x", v.mark);
	bed_fini(&bed);
}

Test(judge, accepts_garbage_unchanged)
{
	static const uint8_t garbage[] = {
		0xde, 0xad, 0xbe, 0xef, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
		0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
	};
	static const uint8_t truncated_ipv4[] = { 0x45, 0x00, 0x00, 0x40 };
	static const unsigned int hooks[] = {
		JUDGE_HOOK_LOCAL_IN, JUDGE_HOOK_LOCAL_OUT,
	};
	struct bed bed;
	uint64_t fed = 0;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_FIRST, 0xffffffff);
	for (size_t h = 0; h < 2; h++) {
		assert_unchanged(feed(&bed, hooks[h], garbage,
		    sizeof(garbage), 0x5, 0), "garbage");
		assert_unchanged(feed(&bed, hooks[h], truncated_ipv4,
		    sizeof(truncated_ipv4), 0x5, 0), "truncated IPv4");
		assert_unchanged(feed(&bed, hooks[h], garbage, 0, 0x5, 0),
		    "empty packet");
		fed += 3;
	}
	cr_assert_eq(count(&bed, STATS_BAD_PACKET), fed);
	cr_assert_eq(count(&bed, STATS_PACKETS), fed);
	cr_assert_eq(count(&bed, STATS_CLIENT_QUERIES), 0);
	cr_assert_eq(count(&bed, STATS_UPSTREAM_QUERIES), 0);
	cr_assert_eq(asks_count(bed.judge.evidence.pending), 0);
	bed_fini(&bed);
}

Test(judge, accepts_non_dns_payload_unchanged)
{
	static const uint8_t not_dns[] = { 'h', 'e', 'l', 'l', 'o' };
	uint8_t pkt[PACKET_BUF], seg[PACKET_BUF];
	struct bed bed;
	size_t len, seg_len;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_FIRST, 0xffffffff);
	seg_len = build_segment(seg, IPPROTO_UDP, 40000, 53, 0, not_dns,
	    sizeof(not_dns));
	len = build_ip(pkt, CLIENT4, RESOLVER4, IPPROTO_UDP, seg, seg_len);
	assert_unchanged(feed(&bed, JUDGE_HOOK_LOCAL_IN, pkt, len, 5, 0),
	    "short UDP payload");
	assert_unchanged(feed(&bed, JUDGE_HOOK_LOCAL_OUT, pkt, len, 5, 0),
	    "short UDP payload");
	cr_assert_eq(count(&bed, STATS_BAD_DNS_SHORT), 2);
	cr_assert_eq(count(&bed, STATS_CLIENT_QUERIES), 0);
	cr_assert_eq(asks_count(bed.judge.evidence.pending), 0);
	bed_fini(&bed);
}

/* A DNS message of the given shape inside a whole client UDP packet. */
static size_t
build_bad_dns_packet(uint8_t *pkt, int shape)
{
	uint8_t msg[512], seg[PACKET_BUF];
	size_t msg_len, seg_len;

	msg_len = build_dns(msg, 1, FLAGS_QUERY, "www.example.com", TYPE_A);
	switch (shape) {
	case DNS_COMPRESSED:
		/* "www" then a pointer to offset 12. */
		msg[16] = 0xc0;
		msg[17] = 12;
		msg_len = 18 + 4;
		wire_put16(msg + 18, TYPE_A);
		wire_put16(msg + 20, CLASS_IN);
		break;
	case DNS_QDCOUNT:
		wire_put16(msg + 4, 2);
		break;
	case DNS_NOT_QUERY:
		wire_put16(msg + 2, 5 << 11);	/* UPDATE */
		break;
	case DNS_SHORT:
		msg_len -= 2;
		break;
	case DNS_BAD_NAME:
		msg[16] = 0x40;
		break;
	}
	seg_len = build_segment(seg, IPPROTO_UDP, 40000, 53, 0, msg, msg_len);
	return build_ip(pkt, CLIENT4, RESOLVER4, IPPROTO_UDP, seg, seg_len);
}

Test(judge, counts_each_dns_failure)
{
	static const struct {
		int shape;
		enum stats_counter counter;
	} cases[] = {
		{ DNS_COMPRESSED, STATS_BAD_DNS_COMPRESSED },
		{ DNS_QDCOUNT, STATS_BAD_DNS_QDCOUNT },
		{ DNS_NOT_QUERY, STATS_BAD_DNS_NOT_QUERY },
		{ DNS_SHORT, STATS_BAD_DNS_SHORT },
		{ DNS_BAD_NAME, STATS_BAD_DNS_NAME },
	};
	static const unsigned int hooks[] = {
		JUDGE_HOOK_LOCAL_IN, JUDGE_HOOK_LOCAL_OUT,
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t pkt[PACKET_BUF];
		struct bed bed;
		size_t len = build_bad_dns_packet(pkt, cases[i].shape);

		bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_FIRST, 0xffffffff);
		/* Someone asked the name; a bad message still gets no mark. */
		client_query(&bed, CLIENT4_B, 9, "www.example.com", 0x5, 0);
		for (size_t h = 0; h < 2; h++)
			assert_unchanged(feed(&bed, hooks[h], pkt, len, 0x5,
			    1), stats_name(cases[i].counter));
		cr_assert_eq(count(&bed, cases[i].counter), 2, "%s: %llu",
		    stats_name(cases[i].counter),
		    (unsigned long long)count(&bed, cases[i].counter));
		cr_assert_eq(count(&bed, STATS_BAD_PACKET), 0);
		cr_assert_eq(count(&bed, STATS_CLIENT_QUERIES), 1);
		cr_assert_eq(count(&bed, STATS_UPSTREAM_QUERIES), 0);
		cr_assert_eq(count(&bed, STATS_PACKETS), 3);
		cr_assert_eq(asks_count(bed.judge.evidence.pending), 1);
		bed_fini(&bed);
	}
}

Test(judge, ignores_other_hooks)
{
	static const unsigned int hooks[] = { 0, HOOK_FORWARD, 4, 5, 99 };
	uint8_t pkt[PACKET_BUF];
	struct bed bed;
	size_t len;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_FIRST, 0xffffffff);
	len = build_udp_dns(pkt, CLIENT4, 40000, RESOLVER4, 53, 1,
	    FLAGS_QUERY, "fwd.example");
	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++)
		assert_unchanged(feed(&bed, hooks[i], pkt, len, 0x5, 0),
		    "other hook");
	cr_assert_eq(count(&bed, STATS_IGNORED_HOOK),
	    sizeof(hooks) / sizeof(hooks[0]));
	cr_assert_eq(count(&bed, STATS_CLIENT_QUERIES), 0);
	cr_assert_eq(asks_count(bed.judge.evidence.pending), 0);
	/* Forwarded, not asked of the resolver: nothing to carry. */
	assert_unchanged(upstream_query(&bed, WAN4, 2, "fwd.example", 0, 1),
	    "upstream after forward");
	bed_fini(&bed);
}

Test(judge, counts_upstream_response)
{
	uint8_t pkt[PACKET_BUF];
	struct bed bed;
	size_t len;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_FIRST, 0xffffffff);
	len = build_udp_dns(pkt, SERVER4, 53, WAN4, 33333, 0xabcd,
	    FLAGS_RESPONSE, "www.example.com");
	assert_unchanged(feed(&bed, JUDGE_HOOK_LOCAL_IN, pkt, len, 0x5, 0),
	    "upstream response");
	cr_assert_eq(count(&bed, STATS_UPSTREAM_RESPONSES), 1);
	cr_assert_eq(count(&bed, STATS_RESPONSES_UNMATCHED), 1);
	cr_assert_eq(count(&bed, STATS_CLIENT_QUERIES), 0);
	cr_assert_eq(asks_count(bed.judge.evidence.pending), 0);
	assert_unchanged(upstream_query(&bed, WAN4, 2, "www.example.com", 0,
	    1), "a response is not a client's question");
	bed_fini(&bed);
}

Test(judge, takes_a_response_on_local_out_for_an_answer)
{
	uint8_t pkt[PACKET_BUF];
	struct bed bed;
	size_t len;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_FIRST, 0xffffffff);
	client_query(&bed, CLIENT4, 1, "www.example.com", 0x5, 0);
	/* The resolver answering its client (copied, or queued by a broad
	 * rule): learned from as that, never judged as an upstream query. */
	len = build_udp_dns(pkt, RESOLVER4, 53, CLIENT4, 40000, 1,
	    FLAGS_RESPONSE, "www.example.com");
	assert_unchanged(feed(&bed, JUDGE_HOOK_LOCAL_OUT, pkt, len, 0, 1),
	    "resolver's answer");
	cr_assert_eq(count(&bed, STATS_CLIENT_ANSWERS), 1);
	cr_assert_eq(count(&bed, STATS_CLIENT_ANSWERS_MATCHED), 1);
	cr_assert_eq(count(&bed, STATS_UPSTREAM_QUERIES), 0);
	bed_fini(&bed);
}

/*
 * stats.h: STATS_IGNORED_CLIENT_RESPONSE counts "QR=1 on the client side,
 * or QR=0 from port 53".  On LOCAL_IN the client side is port 53 of the
 * resolver; a query from port 53 to another port is not a client's.
 */
Test(judge, ignores_misdirected_messages_on_local_in)
{
	uint8_t pkt[PACKET_BUF];
	struct bed bed;
	size_t len;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_FIRST, 0xffffffff);
	len = build_udp_dns(pkt, CLIENT4, 40000, RESOLVER4, 53, 1,
	    FLAGS_RESPONSE, "to-port-53.example");
	assert_unchanged(feed(&bed, JUDGE_HOOK_LOCAL_IN, pkt, len, 0x5, 0),
	    "response to port 53");
	len = build_udp_dns(pkt, SERVER4, 53, WAN4, 33333, 1, FLAGS_QUERY,
	    "from-port-53.example");
	assert_unchanged(feed(&bed, JUDGE_HOOK_LOCAL_IN, pkt, len, 0x5, 0),
	    "query from port 53");
	cr_assert_eq(count(&bed, STATS_IGNORED_CLIENT_RESPONSE), 2,
	    "ignored_client_response %llu, upstream_responses %llu, "
	    "client_queries %llu",
	    (unsigned long long)count(&bed, STATS_IGNORED_CLIENT_RESPONSE),
	    (unsigned long long)count(&bed, STATS_UPSTREAM_RESPONSES),
	    (unsigned long long)count(&bed, STATS_CLIENT_QUERIES));
	cr_assert_eq(count(&bed, STATS_CLIENT_QUERIES), 0);
	cr_assert_eq(count(&bed, STATS_UPSTREAM_RESPONSES), 0);
	cr_assert_eq(asks_count(bed.judge.evidence.pending), 0);
	bed_fini(&bed);
}

Test(judge, reads_tcp_client_query_like_udp)
{
	uint8_t pkt[PACKET_BUF];
	struct bed bed;
	struct judge_verdict v;
	size_t len;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	len = build_tcp_dns(pkt, CLIENT4, 51000, RESOLVER4, 53, 0x2222,
	    "tcp.example.org");
	assert_unchanged(feed(&bed, JUDGE_HOOK_LOCAL_IN, pkt, len, 0x9, 0),
	    "TCP client query");
	cr_assert_eq(count(&bed, STATS_CLIENT_QUERIES), 1);
	v = upstream_query(&bed, WAN4, 0x3333, "TCP.example.org", 0, 1);
	cr_assert_eq(v.set_mark, 1);
	cr_assert_eq(v.mark, 0x9, "mark 0x%x", v.mark);

	/*
	 * The resolver's query on a TCP connection that opened unmarked
	 * (the shipped rules queue only those): attributed and learned
	 * from, but left unmarked so the connection keeps its route.
	 */
	len = build_tcp_dns(pkt, WAN4, 52000, SERVER4, 53, 0x4444,
	    "tcp.EXAMPLE.org");
	assert_unchanged(feed(&bed, JUDGE_HOOK_LOCAL_OUT, pkt, len, 0, 2),
	    "query on an unmarked TCP connection");
	cr_assert_eq(count(&bed, STATS_UPSTREAM_MARKED), 1);
	cr_assert_eq(count(&bed, STATS_UPSTREAM_TCP_KEPT), 1);
	cr_assert_eq(count(&bed, STATS_ATTRIB_EXACT), 2);
	bed_fini(&bed);
}

Test(judge, ignores_tcp_segment_without_message)
{
	uint8_t pkt[PACKET_BUF], seg[PACKET_BUF];
	struct bed bed;
	size_t len, seg_len;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	client_query(&bed, CLIENT4_B, 1, "pending.example", 0x9, 0);
	seg_len = build_segment(seg, IPPROTO_TCP, 51000, 53, PACKET_TCP_SYN,
	    NULL, 0);
	len = build_ip(pkt, CLIENT4, RESOLVER4, IPPROTO_TCP, seg, seg_len);
	assert_unchanged(feed(&bed, JUDGE_HOOK_LOCAL_IN, pkt, len, 0x9, 0),
	    "client SYN");
	seg_len = build_segment(seg, IPPROTO_TCP, 52000, 53, PACKET_TCP_ACK,
	    NULL, 0);
	len = build_ip(pkt, WAN4, SERVER4, IPPROTO_TCP, seg, seg_len);
	assert_unchanged(feed(&bed, JUDGE_HOOK_LOCAL_OUT, pkt, len, 0, 0),
	    "upstream ACK");
	cr_assert_eq(count(&bed, STATS_IGNORED_NO_PAYLOAD), 2);
	cr_assert_eq(count(&bed, STATS_UPSTREAM_QUERIES), 0);
	cr_assert_eq(count(&bed, STATS_BAD_PACKET), 0);
	cr_assert_eq(count(&bed, STATS_PACKETS), 3);
	bed_fini(&bed);
}

Test(judge, marks_ipv6_and_across_families)
{
	struct bed bed;
	struct judge_verdict v;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	assert_unchanged(client_query(&bed, CLIENT6, 1, "six.example", 0x6,
	    0), "IPv6 client query");
	v = upstream_query(&bed, WAN6, 2, "SIX.example", 0, 1);
	cr_assert_eq(v.set_mark, 1);
	cr_assert_eq(v.mark, 0x6);
	v = upstream_query(&bed, WAN4, 3, "six.EXAMPLE", 0, 2);
	cr_assert_eq(v.set_mark, 1, "IPv6 client, IPv4 upstream");
	cr_assert_eq(v.mark, 0x6);

	client_query(&bed, CLIENT4, 4, "four.example", 0x4, 3);
	v = upstream_query(&bed, WAN6, 5, "four.example", 0, 4);
	cr_assert_eq(v.set_mark, 1, "IPv4 client, IPv6 upstream");
	cr_assert_eq(v.mark, 0x4);
	cr_assert_eq(count(&bed, STATS_UPSTREAM_MARKED), 3);
	bed_fini(&bed);
}

Test(judge, applies_conflict_policy)
{
	static const struct {
		enum attrib_conflict conflict;
		int marked;
		uint32_t mark;
		enum stats_counter reason;
	} cases[] = {
		{ ATTRIB_CONFLICT_NONE, 0, 0, STATS_ATTRIB_CONFLICT_UNMARKED },
		{ ATTRIB_CONFLICT_FIRST, 1, 0x1, STATS_ATTRIB_CONFLICT },
		{ ATTRIB_CONFLICT_LAST, 1, 0x2, STATS_ATTRIB_CONFLICT },
		{ ATTRIB_CONFLICT_FIXED, 1, 0xc0ff, STATS_ATTRIB_CONFLICT },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bed bed;
		struct judge_verdict v;

		bed_init(&bed, 64, 5000, cases[i].conflict, 0xffffffff);
		client_query(&bed, CLIENT4, 0x1111, "merged.example", 0x1, 0);
		client_query(&bed, CLIENT4_B, 0x2222, "merged.example", 0x2,
		    10);
		v = upstream_query(&bed, WAN4, 0x9999, "merged.example", 0, 20);
		cr_assert_eq(!!v.set_mark, cases[i].marked, "policy %d",
		    cases[i].conflict);
		if (cases[i].marked)
			cr_assert_eq(v.mark, cases[i].mark, "policy %d: 0x%x",
			    cases[i].conflict, v.mark);
		cr_assert_eq(count(&bed, cases[i].reason), 1, "policy %d",
		    cases[i].conflict);
		cr_assert_eq(count(&bed, cases[i].marked ?
		    STATS_UPSTREAM_MARKED : STATS_UPSTREAM_UNMARKED), 1);
		bed_fini(&bed);
	}
}

Test(judge, tells_merged_clients_apart_by_id)
{
	struct bed bed;
	struct judge_verdict v;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	client_query(&bed, CLIENT4, 0x1111, "merged.example", 0x1, 0);
	client_query(&bed, CLIENT4_B, 0x2222, "merged.example", 0x2, 10);
	/* A forwarder that keeps its client's id. */
	v = upstream_query(&bed, WAN4, 0x1111, "merged.example", 0, 20);
	cr_assert_eq(v.set_mark, 1);
	cr_assert_eq(v.mark, 0x1);
	cr_assert_eq(count(&bed, STATS_ATTRIB_EXACT_ID), 1);
	bed_fini(&bed);
}

Test(judge, forgets_client_after_timeout)
{
	struct bed bed;
	struct judge_verdict v;

	bed_init(&bed, 64, 1000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	client_query(&bed, CLIENT4, 1, "slow.example", 0x5, 0);
	v = upstream_query(&bed, WAN4, 2, "slow.example", 0, 999);
	cr_assert_eq(v.set_mark, 1, "still pending just before the timeout");
	/* Another mark asks: no single mark to fall back on. */
	client_query(&bed, CLIENT4_B, 4, "other.example", 0x6, 1000);
	v = upstream_query(&bed, WAN4, 3, "slow.example", 0, 1001);
	assert_unchanged(v, "after the timeout");
	cr_assert_eq(count(&bed, STATS_ATTRIB_NONE), 1);
	bed_fini(&bed);
}

Test(judge, counts_expired_questions)
{
	struct bed bed;

	bed_init(&bed, 64, 1000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	client_query(&bed, CLIENT4, 1, "a.example", 0x5, 0);
	client_query(&bed, CLIENT4, 2, "b.example", 0x5, 0);
	client_query(&bed, CLIENT4, 3, "c.example", 0x5, 500);
	judge_expire(&bed.judge, 999);
	cr_assert_eq(count(&bed, STATS_PENDING_EXPIRED), 0);
	judge_expire(&bed.judge, 1200);
	cr_assert_eq(count(&bed, STATS_PENDING_EXPIRED), 2);
	cr_assert_eq(asks_count(bed.judge.evidence.pending), 1);
	judge_expire(&bed.judge, 5000);
	cr_assert_eq(count(&bed, STATS_PENDING_EXPIRED), 3);
	cr_assert_eq(asks_count(bed.judge.evidence.pending), 0);
	bed_fini(&bed);
}

Test(judge, counts_evictions)
{
	struct bed bed;
	struct judge_verdict v;

	bed_init(&bed, 2, 60000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	client_query(&bed, CLIENT4, 1, "a.example", 0x5, 0);
	client_query(&bed, CLIENT4, 2, "b.example", 0x5, 1);
	cr_assert_eq(count(&bed, STATS_PENDING_EVICTED), 0);
	client_query(&bed, CLIENT4, 3, "c.example", 0x5, 2);
	cr_assert_eq(count(&bed, STATS_PENDING_EVICTED), 1);
	cr_assert_eq(asks_count(bed.judge.evidence.pending), 2);
	v = upstream_query(&bed, WAN4, 9, "c.example", 0, 3);
	cr_assert_eq(v.set_mark, 1);
	cr_assert_eq(v.mark, 0x5);
	cr_assert_eq(count(&bed, STATS_ATTRIB_EXACT), 1);
	bed_fini(&bed);
}

Test(judge, does_not_remember_upstream_queries)
{
	struct bed bed;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	assert_unchanged(upstream_query(&bed, WAN4, 1, "self.example", 0x5,
	    0), "first upstream query");
	assert_unchanged(upstream_query(&bed, WAN4, 1, "self.example", 0x5,
	    1), "second upstream query");
	cr_assert_eq(asks_count(bed.judge.evidence.pending), 0);
	cr_assert_eq(count(&bed, STATS_CLIENT_QUERIES), 0);
	cr_assert_eq(count(&bed, STATS_ATTRIB_NONE), 2);
	bed_fini(&bed);
}

Test(judge, counts_every_packet)
{
	static const uint8_t garbage[] = { 0x00, 0x01, 0x02 };
	uint8_t pkt[PACKET_BUF];
	struct bed bed;
	size_t len;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	client_query(&bed, CLIENT4, 1, "a.example", 0x5, 0);
	client_query(&bed, CLIENT6, 2, "b.example", 0x6, 0);
	upstream_query(&bed, WAN4, 3, "a.example", 0, 1);
	upstream_query(&bed, WAN4, 4, "nobody.example", 0, 1);
	feed(&bed, JUDGE_HOOK_LOCAL_IN, garbage, sizeof(garbage), 0, 2);
	len = build_udp_dns(pkt, CLIENT4, 40000, RESOLVER4, 53, 1,
	    FLAGS_QUERY, "fwd.example");
	feed(&bed, HOOK_FORWARD, pkt, len, 0, 2);
	len = build_udp_dns(pkt, SERVER4, 53, WAN4, 33333, 3, FLAGS_RESPONSE,
	    "a.example");
	feed(&bed, JUDGE_HOOK_LOCAL_IN, pkt, len, 0, 3);
	len = build_bad_dns_packet(pkt, DNS_COMPRESSED);
	feed(&bed, JUDGE_HOOK_LOCAL_IN, pkt, len, 0, 4);
	cr_assert_eq(count(&bed, STATS_PACKETS), 8);
	cr_assert_eq(count(&bed, STATS_CLIENT_QUERIES), 2);
	cr_assert_eq(count(&bed, STATS_UPSTREAM_QUERIES), 2);
	cr_assert_eq(count(&bed, STATS_UPSTREAM_MARKED), 1);
	cr_assert_eq(count(&bed, STATS_UPSTREAM_UNMARKED), 1);
	cr_assert_eq(count(&bed, STATS_BAD_PACKET), 1);
	cr_assert_eq(count(&bed, STATS_IGNORED_HOOK), 1);
	cr_assert_eq(count(&bed, STATS_UPSTREAM_RESPONSES), 1);
	cr_assert_eq(count(&bed, STATS_BAD_DNS_COMPRESSED), 1);
	bed_fini(&bed);
}

Test(judge, marks_with_the_only_waiting_mark)
{
	struct bed bed;
	struct judge_verdict v;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	client_query(&bed, CLIENT4, 1, "www.example.com", 0x5, 0);
	client_query(&bed, CLIENT4_B, 2, "mail.example.org", 0x5, 0);
	/* A nameserver address lookup nothing else ties to a client. */
	v = upstream_query(&bed, WAN4, 3, "ns7.unrelated.net", 0, 1);
	cr_assert_eq(v.set_mark, 1);
	cr_assert_eq(v.mark, 0x5);
	cr_assert_eq(count(&bed, STATS_ATTRIB_SINGLE), 1);
	cr_assert_eq(count(&bed, STATS_UPSTREAM_MARKED), 1);
	bed_fini(&bed);
}

Test(judge, marks_ancestors_of_pending_names)
{
	static const struct {
		const char *name;
		uint16_t qtype;
		int marked;
		uint32_t mark;
		enum stats_counter reason;
	} cases[] = {
		{ "example.com", 2, 1, 0x5, STATS_ATTRIB_ANCESTOR },
		{ "EXAMPLE.com", 43, 1, 0x5, STATS_ATTRIB_ANCESTOR },	/* DS */
		{ "com", 2, 1, 0x5, STATS_ATTRIB_ANCESTOR },
		{ "_.example.com", TYPE_A, 1, 0x5, STATS_ATTRIB_ANCESTOR },
		{ "example.org", 2, 1, 0x6, STATS_ATTRIB_ANCESTOR },
		{ "org", 2, 1, 0x6, STATS_ATTRIB_ANCESTOR },
		/* Not ancestors: the root, a suffix inside a label, a child. */
		{ ".", 2, 0, 0, STATS_ATTRIB_NONE },
		{ "ample.com", 2, 0, 0, STATS_ATTRIB_NONE },
		{ "a.www.example.com", TYPE_A, 0, 0, STATS_ATTRIB_NONE },
		{ "net", 2, 0, 0, STATS_ATTRIB_NONE },
	};
	uint8_t pkt[PACKET_BUF], msg[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bed bed;
		struct judge_verdict v;
		size_t len;

		bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
		client_query(&bed, CLIENT4, 1, "www.example.com", 0x5, 0);
		client_query(&bed, CLIENT4_B, 2, "mail.example.org", 0x6, 0);
		len = build_dns(msg, 0x7000, 0, cases[i].name, cases[i].qtype);
		len = build_udp_message(pkt, WAN4, 33333, SERVER4, 53, msg,
		    len);
		v = feed(&bed, JUDGE_HOOK_LOCAL_OUT, pkt, len, 0, 1);
		cr_assert_eq(!!v.set_mark, cases[i].marked, "%s type %u",
		    cases[i].name, cases[i].qtype);
		if (cases[i].marked)
			cr_assert_eq(v.mark, cases[i].mark, "%s: 0x%x",
			    cases[i].name, v.mark);
		cr_assert_eq(count(&bed, cases[i].reason), 1, "%s: not %s",
		    cases[i].name, stats_name(cases[i].reason));
		bed_fini(&bed);
	}
}

Test(judge, applies_conflict_policy_to_shared_ancestors)
{
	struct bed bed;
	struct judge_verdict v;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	client_query(&bed, CLIENT4, 1, "www.example.com", 0x5, 0);
	client_query(&bed, CLIENT4_B, 2, "mail.example.com", 0x6, 10);
	v = upstream_query(&bed, WAN4, 3, "example.com", 0, 20);
	assert_unchanged(v, "ancestor of two marks, policy none");
	cr_assert_eq(count(&bed, STATS_ATTRIB_CONFLICT_UNMARKED), 1);
	bed_fini(&bed);

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_LAST, 0xffffffff);
	client_query(&bed, CLIENT4, 1, "www.example.com", 0x5, 0);
	client_query(&bed, CLIENT4_B, 2, "mail.example.com", 0x6, 10);
	v = upstream_query(&bed, WAN4, 3, "example.com", 0, 20);
	cr_assert_eq(v.set_mark, 1);
	cr_assert_eq(v.mark, 0x6);
	cr_assert_eq(count(&bed, STATS_ATTRIB_CONFLICT), 1);
	bed_fini(&bed);
}

/* The resolver's query for www.example.com, marked 0x5, id 0x7777. */
static void
ask_marked_upstream(struct bed *bed)
{
	struct judge_verdict v;

	client_query(bed, CLIENT4, 0x1111, "www.example.com", 0x5, 0);
	client_query(bed, CLIENT4_B, 0x2222, "mail.example.org", 0x6, 0);
	v = upstream_query(bed, WAN4, 0x7777, "www.example.com", 0, 10);
	cr_assert_eq(v.set_mark, 1);
	cr_assert_eq(v.mark, 0x5);
}

/* An upstream server's response, seen on LOCAL_IN. */
static void
upstream_response(struct bed *bed, uint16_t id, uint16_t flags,
    const struct record *records, size_t count_records, uint64_t now_ms)
{
	uint8_t pkt[PACKET_BUF], msg[1024];
	size_t len;

	len = build_message(msg, id, flags, "www.example.com", TYPE_A, records,
	    count_records);
	len = build_udp_message(pkt, SERVER4, 53, WAN4, 33333, msg, len);
	assert_unchanged(feed(bed, JUDGE_HOOK_LOCAL_IN, pkt, len, 0, now_ms),
	    "upstream response");
}

Test(judge, learns_cname_target_of_marked_query)
{
	static const struct record cname[] = {
		{ 0, NULL, 5, "cdn.Example.NET" },
	};
	struct bed bed;
	struct judge_verdict v;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	ask_marked_upstream(&bed);
	upstream_response(&bed, 0x7777, FLAGS_RESPONSE, cname, 1, 20);
	cr_assert_eq(count(&bed, STATS_UPSTREAM_RESPONSES), 1);
	cr_assert_eq(count(&bed, STATS_NAMES_LEARNED), 1);
	v = upstream_query(&bed, WAN4, 0x7778, "cdn.example.net", 0, 30);
	cr_assert_eq(v.set_mark, 1, "CNAME target");
	cr_assert_eq(v.mark, 0x5);
	cr_assert_eq(count(&bed, STATS_ATTRIB_LEARNED), 1);
	v = upstream_query(&bed, WAN4, 0x7779, "example.net", 2, 31);
	cr_assert_eq(v.set_mark, 1, "ancestor of the CNAME target");
	cr_assert_eq(v.mark, 0x5);
	cr_assert_eq(count(&bed, STATS_ATTRIB_LEARNED), 2);
	bed_fini(&bed);
}

/*
 * A resolver holds a CNAME longer than its target: a client asking the name
 * again, long after the answer that taught it, is answered the CNAME from
 * the cache and the resolver asks upstream for the target alone.  The
 * remembered CNAME names that client, not the one whose query taught it.
 */
Test(judge, names_the_target_of_a_cached_cname_for_the_client_asking_now)
{
	static const struct record cname[] = {
		{ 0, NULL, 5, "cdn.Example.NET" },
	};
	struct judge_verdict v;
	struct bed bed;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	ask_marked_upstream(&bed);	/* www.example.com, mark 0x5 */
	upstream_response(&bed, 0x7777, FLAGS_RESPONSE, cname, 1, 20);
	/* Long after, another client asks the name; its A is asked too. */
	client_query(&bed, CLIENT6, 0x3333, "www.example.com", 0x7, 60000);
	client_query(&bed, CLIENT4_B, 0x3334, "other.example.org", 0x6,
	    60001);
	cr_assert_eq(count(&bed, STATS_CNAMES_FOLLOWED), 1);
	v = upstream_query(&bed, WAN4, 0x3001, "cdn.example.net", 0, 60002);
	cr_assert_eq(v.set_mark, 1, "the cached CNAME's target");
	cr_assert_eq(v.mark, 0x7, "mark 0x%x", v.mark);
	cr_assert_eq(count(&bed, STATS_ATTRIB_LEARNED), 1);
	/* Beyond what dnsmark remembers, nothing names it. */
	client_query(&bed, CLIENT6, 0x3335, "www.example.com", 0x7,
	    20 + CNAMES_KEEP_MS);
	client_query(&bed, CLIENT4_B, 0x3336, "more.example.org", 0x6,
	    21 + CNAMES_KEEP_MS);
	assert_unchanged(upstream_query(&bed, WAN4, 0x3002, "cdn.example.net",
	    0, 22 + CNAMES_KEEP_MS), "a CNAME forgotten");
	bed_fini(&bed);
}

Test(judge, learns_referral_name_servers)
{
	static const struct record referral[] = {
		{ 1, "example.com", 2, "ns1.dnshost.net" },
		{ 1, "example.com", 2, "ns2.dnshost.net" },
	};
	uint8_t pkt[PACKET_BUF], msg[512];
	struct bed bed;
	struct judge_verdict v;
	size_t len;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	ask_marked_upstream(&bed);
	upstream_response(&bed, 0x7777, 0x8000, referral, 2, 20);
	cr_assert_eq(count(&bed, STATS_NAMES_LEARNED), 2);
	v = upstream_query(&bed, WAN4, 0x7001, "NS2.dnshost.net", 0, 30);
	cr_assert_eq(v.set_mark, 1, "referral name server");
	cr_assert_eq(v.mark, 0x5);
	len = build_dns(msg, 0x7002, 0, "ns1.dnshost.net", TYPE_AAAA);
	len = build_udp_message(pkt, WAN4, 33333, SERVER4, 53, msg, len);
	v = feed(&bed, JUDGE_HOOK_LOCAL_OUT, pkt, len, 0, 31);
	cr_assert_eq(v.set_mark, 1, "its address, any type");
	cr_assert_eq(v.mark, 0x5);
	cr_assert_eq(count(&bed, STATS_ATTRIB_LEARNED), 2);
	bed_fini(&bed);
}

Test(judge, learns_nothing_from_unmatched_response)
{
	static const struct record cname[] = {
		{ 0, NULL, 5, "cdn.example.net" },
	};
	struct bed bed;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	ask_marked_upstream(&bed);
	/* Another id: not the response to the marked query. */
	upstream_response(&bed, 0x7778, FLAGS_RESPONSE, cname, 1, 20);
	cr_assert_eq(count(&bed, STATS_RESPONSES_UNMATCHED), 1);
	cr_assert_eq(count(&bed, STATS_NAMES_LEARNED), 0);
	assert_unchanged(upstream_query(&bed, WAN4, 0x7779, "cdn.example.net",
	    0, 30), "CNAME target of an unmatched response");
	cr_assert_eq(count(&bed, STATS_ATTRIB_NONE), 1);
	bed_fini(&bed);
}

Test(judge, learns_nothing_from_response_to_unmarked_query)
{
	static const struct record cname[] = {
		{ 0, NULL, 5, "cdn.example.net" },
	};
	struct bed bed;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	client_query(&bed, CLIENT4, 1, "a.example.org", 0x5, 0);
	client_query(&bed, CLIENT4_B, 2, "b.example.org", 0x6, 0);
	assert_unchanged(upstream_query(&bed, WAN4, 0x7777, "www.example.com",
	    0, 10), "nobody asked");
	upstream_response(&bed, 0x7777, FLAGS_RESPONSE, cname, 1, 20);
	cr_assert_eq(count(&bed, STATS_NAMES_LEARNED), 0);
	assert_unchanged(upstream_query(&bed, WAN4, 0x7778, "cdn.example.net",
	    0, 30), "CNAME target of an unmarked query");
	bed_fini(&bed);
}

Test(judge, counts_unwalkable_response)
{
	uint8_t pkt[PACKET_BUF], msg[512];
	struct bed bed;
	size_t len;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	ask_marked_upstream(&bed);
	/* ANCOUNT 1 and no record behind the question. */
	len = build_dns(msg, 0x7777, FLAGS_RESPONSE, "www.example.com",
	    TYPE_A);
	wire_put16(msg + 6, 1);
	len = build_udp_message(pkt, SERVER4, 53, WAN4, 33333, msg, len);
	assert_unchanged(feed(&bed, JUDGE_HOOK_LOCAL_IN, pkt, len, 0, 20),
	    "bad response");
	cr_assert_eq(count(&bed, STATS_BAD_RESPONSE), 1);
	cr_assert_eq(count(&bed, STATS_NAMES_LEARNED), 0);
	bed_fini(&bed);
}

/* The first segment of a TCP response too large for it. */
Test(judge, learns_from_first_segment_of_tcp_response)
{
	static const struct record cname[] = {
		{ 0, NULL, 5, "cdn.example.net" },
		{ 0, "cdn.example.net", 1, NULL },
	};
	uint8_t pkt[PACKET_BUF], stream[1024], seg[PACKET_BUF];
	struct bed bed;
	struct judge_verdict v;
	size_t msg_len, seg_len, len;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	ask_marked_upstream(&bed);
	msg_len = build_message(stream + 2, 0x7777, FLAGS_RESPONSE,
	    "www.example.com", TYPE_A, cname, 2);
	/* The length says 600 bytes; this segment holds the first part. */
	wire_put16(stream, 600);
	/* To the port the query left from (33333, see upstream_query). */
	seg_len = build_segment(seg, IPPROTO_TCP, 53, 33333, 0x18, stream,
	    2 + msg_len);
	len = build_ip(pkt, SERVER4, WAN4, IPPROTO_TCP, seg, seg_len);
	assert_unchanged(feed(&bed, JUDGE_HOOK_LOCAL_IN, pkt, len, 0, 20),
	    "partial TCP response");
	cr_assert_eq(count(&bed, STATS_NAMES_LEARNED), 1);
	v = upstream_query(&bed, WAN4, 0x7778, "cdn.example.net", 0, 30);
	cr_assert_eq(v.set_mark, 1);
	cr_assert_eq(v.mark, 0x5);
	bed_fini(&bed);
}

Test(judge, ignores_partial_tcp_query)
{
	uint8_t pkt[PACKET_BUF], stream[600], seg[PACKET_BUF];
	struct bed bed;
	size_t msg_len, seg_len, len;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	msg_len = build_dns(stream + 2, 1, FLAGS_QUERY, "part.example",
	    TYPE_A);
	wire_put16(stream, (uint16_t)(msg_len + 100));
	seg_len = build_segment(seg, IPPROTO_TCP, 51000, 53, 0x18, stream,
	    2 + msg_len);
	len = build_ip(pkt, CLIENT4, RESOLVER4, IPPROTO_TCP, seg, seg_len);
	assert_unchanged(feed(&bed, JUDGE_HOOK_LOCAL_IN, pkt, len, 0x5, 0),
	    "partial TCP query");
	cr_assert_eq(count(&bed, STATS_IGNORED_NO_PAYLOAD), 1);
	cr_assert_eq(count(&bed, STATS_CLIENT_QUERIES), 0);
	cr_assert_eq(asks_count(bed.judge.evidence.pending), 0);
	bed_fini(&bed);
}

/* A SYN from the resolver to an upstream server, seen on LOCAL_OUT. */
static struct judge_verdict
upstream_syn(struct bed *bed, const char *server, uint64_t now_ms)
{
	uint8_t pkt[PACKET_BUF], seg[PACKET_BUF];
	size_t len, seg_len;

	seg_len = build_segment(seg, IPPROTO_TCP, 52000, 53, PACKET_TCP_SYN,
	    NULL, 0);
	len = build_ip(pkt, WAN4, server, IPPROTO_TCP, seg, seg_len);
	return feed(bed, JUDGE_HOOK_LOCAL_OUT, pkt, len, 0, now_ms);
}

Test(judge, marks_tcp_connection_after_truncated_answer)
{
	struct bed bed;
	struct judge_verdict v;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	ask_marked_upstream(&bed);
	upstream_response(&bed, 0x7777, FLAGS_RESPONSE | DNS_FLAG_TC, NULL, 0,
	    20);
	cr_assert_eq(count(&bed, STATS_RESPONSES_TRUNCATED), 1);
	v = upstream_syn(&bed, SERVER4, 21);
	cr_assert_eq(v.set_mark, 1, "SYN to the server that truncated");
	cr_assert_eq(v.mark, 0x5);
	cr_assert_eq(count(&bed, STATS_UPSTREAM_SYN), 1);
	cr_assert_eq(count(&bed, STATS_ATTRIB_TCP), 1);
	/* Another address, which truncated nothing: a connection the
	 * resolver opens for some other reason, not the retry.  (One that
	 * retries at another address of the server leaves it unmarked.) */
	v = upstream_syn(&bed, "203.0.113.99", 22);
	assert_unchanged(v, "SYN to another address, two marks asked");
	cr_assert_eq(count(&bed, STATS_ATTRIB_TCP), 1);
	/* Later than resolvers retry: two marks wait (the truncated question
	 * itself is done with), nothing ties the SYN to one. */
	client_query(&bed, CLIENT6, 0x3333, "other.example.net", 0x7, 23);
	v = upstream_syn(&bed, SERVER4, 21 + EVIDENCE_TRUNCATED_MS);
	assert_unchanged(v, "SYN long after the truncated answer");
	cr_assert_eq(count(&bed, STATS_UPSTREAM_SYN), 3);
	bed_fini(&bed);
}


Test(judge, leaves_syn_unmarked_without_evidence)
{
	struct bed bed;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	assert_unchanged(upstream_syn(&bed, SERVER4, 0), "SYN, nobody waits");
	client_query(&bed, CLIENT4, 1, "a.example.org", 0x5, 1);
	client_query(&bed, CLIENT4_B, 2, "b.example.org", 0x6, 1);
	assert_unchanged(upstream_syn(&bed, SERVER4, 2), "SYN, two marks");
	cr_assert_eq(count(&bed, STATS_UPSTREAM_SYN), 2);
	cr_assert_eq(count(&bed, STATS_UPSTREAM_MARKED), 0);
	bed_fini(&bed);
}

Test(judge, remembers_recent_questions)
{
	struct bed bed;
	struct judge_verdict v;

	bed_init_recent(&bed, 64, 1000, 30000, ATTRIB_CONFLICT_NONE,
	    0xffffffff);
	client_query(&bed, CLIENT4, 1, "www.example.com", 0x5, 0);
	client_query(&bed, CLIENT4_B, 2, "mail.example.org", 0x6, 0);
	/* A prefetch long after the client was answered. */
	v = upstream_query(&bed, WAN4, 3, "WWW.example.com", 0, 20000);
	cr_assert_eq(v.set_mark, 1, "recent question");
	cr_assert_eq(v.mark, 0x5);
	cr_assert_eq(count(&bed, STATS_ATTRIB_RECENT), 1);
	v = upstream_query(&bed, WAN4, 4, "www.example.com", 0, 30001);
	assert_unchanged(v, "after the recent window");
	bed_fini(&bed);
}

Test(judge, keeps_memory_constant)
{
	struct bed bed;
	size_t memory;
	char name[64];

	bed_init_recent(&bed, 256, 5000, 30000, ATTRIB_CONFLICT_NONE,
	    0xffffffff);
	memory = judge_memory(&bed.judge);
	cr_assert_gt(memory, 0);
	for (unsigned int i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "q%u.zone%u.example", i, i % 7);
		client_query(&bed, CLIENT4, (uint16_t)i, name, i % 3, i);
		upstream_query(&bed, WAN4, (uint16_t)(i + 1), name, 0, i);
	}
	cr_assert_eq(judge_memory(&bed.judge), memory);
	cr_assert_leq(asks_count(bed.judge.evidence.pending), 256);
	bed_fini(&bed);
}

/*
 * At most 265 bytes a pending question, all tables counted, at the default
 * cap and at a large one (doc/performance.md, "Memory per pending
 * question"): 52 bytes an entry of ancestors and recent, 56 of pending
 * (when its oldest open ask was made), less for the smaller tables.
 */
Test(judge, spends_at_most_265_bytes_a_pending_question)
{
	static const size_t caps[] = {
		OPTIONS_DEFAULT_MAX_PENDING, 16384, 100000, 1000000,
	};

	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		struct bed bed;
		size_t memory;

		bed_init_recent(&bed, caps[i], OPTIONS_DEFAULT_TIMEOUT_MS,
		    OPTIONS_DEFAULT_RECENT_MS, ATTRIB_CONFLICT_NONE,
		    0xffffffff);
		memory = judge_memory(&bed.judge);
		cr_assert_leq(memory, 265 * caps[i],
		    "--max-pending %zu: %zu bytes, %.1f a question", caps[i],
		    memory, (double)memory / (double)caps[i]);
		bed_fini(&bed);
	}
}

Test(judge, frees_after_failed_init)
{
	struct judge_config config;
	struct stats stats;
	struct judge judge;

	memset(&config, 0, sizeof(config));
	memset(&stats, 0, sizeof(stats));
	config.max_pending = 0;
	config.timeout_ms = 5000;
	config.mask = 0xffffffff;
	cr_assert_lt(judge_init(&judge, &config, &stats), 0,
	    "a judge without room for one question");
	judge_free(&judge);
	judge_free(&judge);
}

/* A client asking again after its question expired: nothing else is lost. */
Test(judge, keeps_capacity_when_a_client_asks_again)
{
	struct bed bed;
	char name[64];

	bed_init(&bed, 64, 1000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	client_query(&bed, CLIENT4, 1, "again.example", 0x5, 0);
	client_query(&bed, CLIENT4, 2, "again.example", 0x5, 2000);
	for (unsigned int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "q%u.example", i);
		client_query(&bed, CLIENT4_B, (uint16_t)(10 + i), name,
		    0x10 + i, 2001 + i);
	}
	cr_assert_eq(count(&bed, STATS_PENDING_EVICTED), 0,
	    "%llu evicted from a table of 64",
	    (unsigned long long)count(&bed, STATS_PENDING_EVICTED));
	for (unsigned int i = 0; i < 10; i++) {
		struct judge_verdict v;

		snprintf(name, sizeof(name), "q%u.example", i);
		v = upstream_query(&bed, WAN4, (uint16_t)(100 + i), name, 0,
		    2100);
		cr_assert_eq(v.set_mark, 1, "%s unmarked", name);
		cr_assert_eq(v.mark, 0x10 + i, "%s: 0x%x", name, v.mark);
	}
	cr_assert_eq(count(&bed, STATS_ATTRIB_EXACT), 10);
	bed_fini(&bed);
}

/*
 * A name learned again just after its first lesson expired, before
 * anything else expired the table: every later lesson still holds.
 */
Test(judge, keeps_learning_after_a_lesson_expires)
{
	struct bed bed;
	struct judge_verdict v;
	char target[64], name[64];

	bed_init(&bed, 64, 1000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	ask_marked_upstream(&bed);
	{
		static const struct record cname[] = {
			{ 0, NULL, 5, "cdn.example.net" },
		};

		upstream_response(&bed, 0x7777, FLAGS_RESPONSE, cname, 1, 20);
		/* The clients ask again; the lesson of t=20 lives to 1020. */
		client_query(&bed, CLIENT4, 0x1112, "www.example.com", 0x5,
		    1005);
		client_query(&bed, CLIENT4_B, 0x2223, "mail.example.org", 0x6,
		    1005);
		v = upstream_query(&bed, WAN4, 0x8888, "www.example.com", 0,
		    1010);
		cr_assert_eq(v.mark, 0x5);
		upstream_response(&bed, 0x8888, FLAGS_RESPONSE, cname, 1,
		    1030);
	}
	for (unsigned int i = 0; i < 8; i++) {
		struct record cname[] = { { 0, NULL, 5, target } };

		snprintf(name, sizeof(name), "www%u.example.com", i);
		snprintf(target, sizeof(target), "edge%u.cdn%u.test", i, i);
		client_query(&bed, CLIENT4, (uint16_t)(0x300 + i), name, 0x5,
		    1040 + i);
		v = upstream_query(&bed, WAN4, (uint16_t)(0x900 + i), name, 0,
		    1040 + i);
		cr_assert_eq(v.mark, 0x5);
		/* The response names the client's question. */
		{
			uint8_t pkt[PACKET_BUF], msg[1024];
			size_t len;

			len = build_message(msg, (uint16_t)(0x900 + i),
			    FLAGS_RESPONSE, name, TYPE_A, cname, 1);
			len = build_udp_message(pkt, SERVER4, 53, WAN4, 33333,
			    msg, len);
			feed(&bed, JUDGE_HOOK_LOCAL_IN, pkt, len, 0, 1050 + i);
		}
	}
	cr_assert_eq(count(&bed, STATS_PENDING_EVICTED), 0,
	    "%llu evicted from tables of 64",
	    (unsigned long long)count(&bed, STATS_PENDING_EVICTED));
	for (unsigned int i = 0; i < 8; i++) {
		snprintf(target, sizeof(target), "edge%u.cdn%u.test", i, i);
		v = upstream_query(&bed, WAN4, (uint16_t)(0xa00 + i), target, 0,
		    1100);
		cr_assert_eq(v.mark, 0x5, "%s: 0x%x", target, v.mark);
	}
	cr_assert_eq(count(&bed, STATS_ATTRIB_LEARNED), 8,
	    "%llu of 8 CNAME targets attributed as learned",
	    (unsigned long long)count(&bed, STATS_ATTRIB_LEARNED));
	bed_fini(&bed);
}

/*
 * Only the server a marked query went to can answer it (RFC 5452 matches a
 * response by server address, port, id and question): anyone else who
 * guesses the id must not teach names under a client's mark.
 */
Test(judge, learns_nothing_from_response_by_another_server)
{
	static const struct record cname[] = {
		{ 0, NULL, 5, "cdn.example.net" },
	};
	uint8_t pkt[PACKET_BUF], msg[1024];
	struct bed bed;
	size_t len;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	ask_marked_upstream(&bed);
	len = build_message(msg, 0x7777, FLAGS_RESPONSE, "www.example.com",
	    TYPE_A, cname, 1);
	len = build_udp_message(pkt, "203.0.113.99", 53, WAN4, 33333, msg,
	    len);
	assert_unchanged(feed(&bed, JUDGE_HOOK_LOCAL_IN, pkt, len, 0, 20),
	    "response from another server");
	cr_assert_eq(count(&bed, STATS_NAMES_LEARNED), 0,
	    "learned %llu names from a server never asked",
	    (unsigned long long)count(&bed, STATS_NAMES_LEARNED));
	assert_unchanged(upstream_query(&bed, WAN4, 0x7778, "cdn.example.net",
	    0, 30), "name taught by another server");
	bed_fini(&bed);
}

Test(judge, learns_nothing_from_client_posing_as_server)
{
	static const struct record cname[] = {
		{ 0, NULL, 5, "cdn.example.net" },
	};
	uint8_t pkt[PACKET_BUF], msg[1024];
	struct bed bed;
	size_t len;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	ask_marked_upstream(&bed);
	/* A client sends a "response" to the resolver's port 53. */
	len = build_message(msg, 0x7777, FLAGS_RESPONSE, "www.example.com",
	    TYPE_A, cname, 1);
	len = build_udp_message(pkt, CLIENT4_B, 40000, RESOLVER4, 53, msg,
	    len);
	assert_unchanged(feed(&bed, JUDGE_HOOK_LOCAL_IN, pkt, len, 0x6, 20),
	    "client's forged response");
	cr_assert_eq(count(&bed, STATS_NAMES_LEARNED), 0,
	    "learned %llu names from a client",
	    (unsigned long long)count(&bed, STATS_NAMES_LEARNED));
	assert_unchanged(upstream_query(&bed, WAN4, 0x7778, "cdn.example.net",
	    0, 30), "name taught by a client");
	bed_fini(&bed);
}

/* A client pipelining two queries into one TCP segment: both are waiting. */
Test(judge, remembers_queries_pipelined_in_one_segment)
{
	uint8_t stream[1100], seg[PACKET_BUF], pkt[PACKET_BUF];
	size_t first, second, seg_len, len;
	struct judge_verdict v;
	struct bed bed;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	first = build_dns(stream + 2, 0x1001, FLAGS_QUERY, "one.example.org",
	    TYPE_A);
	wire_put16(stream, (uint16_t)first);
	second = build_dns(stream + 4 + first, 0x1002, FLAGS_QUERY,
	    "two.example.org", TYPE_A);
	wire_put16(stream + 2 + first, (uint16_t)second);
	seg_len = build_segment(seg, IPPROTO_TCP, 51000, 53, 0x18, stream,
	    4 + first + second);
	len = build_ip(pkt, CLIENT4, RESOLVER4, IPPROTO_TCP, seg, seg_len);
	assert_unchanged(feed(&bed, JUDGE_HOOK_LOCAL_IN, pkt, len, 0x7, 0),
	    "pipelined client queries");
	cr_assert_eq(count(&bed, STATS_CLIENT_QUERIES), 2);
	/* A second mark waits too, so only the question itself can decide. */
	client_query(&bed, CLIENT4_B, 0x2001, "other.example.org", 0x8, 1);
	v = upstream_query(&bed, WAN4, 0x3001, "two.example.org", 0, 2);
	cr_assert_eq(v.mark, 0x7, "mark 0x%x", v.mark);
	cr_assert_eq(count(&bed, STATS_ATTRIB_EXACT), 1);
	bed_fini(&bed);
}

/*
 * A forwarder answers a client that asked over TCP through a TCP connection
 * of its own, opened at once: the SYN goes with the client who just asked
 * over TCP, and only for EVIDENCE_TCP_CLIENT_MS.
 */
Test(judge, marks_syn_after_a_client_asked_over_tcp)
{
	uint8_t pkt[PACKET_BUF];
	struct judge_verdict v;
	struct bed bed;
	size_t len;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	client_query(&bed, CLIENT4_B, 2, "b.example.org", 0x6, 0);
	len = build_tcp_dns(pkt, CLIENT4, 51000, RESOLVER4, 53, 0x2222,
	    "tcp.example.org");
	feed(&bed, JUDGE_HOOK_LOCAL_IN, pkt, len, 0x5, 10);
	v = upstream_syn(&bed, SERVER4, 11);
	cr_assert_eq(v.set_mark, 1, "SYN after a TCP client");
	cr_assert_eq(v.mark, 0x5, "mark 0x%x", v.mark);
	cr_assert_eq(count(&bed, STATS_ATTRIB_TCP), 1);
	/* Later, the other client asks over TCP: its SYN is its own. */
	len = build_tcp_dns(pkt, CLIENT4_B, 51001, RESOLVER4, 53, 0x3333,
	    "tcp2.example.org");
	feed(&bed, JUDGE_HOOK_LOCAL_IN, pkt, len, 0x6, 10 + EVIDENCE_TCP_CLIENT_MS);
	v = upstream_syn(&bed, SERVER4, 11 + EVIDENCE_TCP_CLIENT_MS);
	cr_assert_eq(v.mark, 0x6, "mark 0x%x", v.mark);
	/* Both asked over TCP within the window: the conflict policy. */
	len = build_tcp_dns(pkt, CLIENT4, 51002, RESOLVER4, 53, 0x4444,
	    "tcp3.example.org");
	feed(&bed, JUDGE_HOOK_LOCAL_IN, pkt, len, 0x5, 20 + EVIDENCE_TCP_CLIENT_MS);
	assert_unchanged(upstream_syn(&bed, SERVER4, 21 + EVIDENCE_TCP_CLIENT_MS),
	    "SYN, two TCP clients");
	bed_fini(&bed);
}

/* An upstream query of type qtype for name, from the resolver. */
static struct judge_verdict
upstream_query_type(struct bed *bed, uint16_t id, const char *name,
    uint16_t qtype, uint64_t now_ms)
{
	uint8_t pkt[PACKET_BUF], msg[512], seg[PACKET_BUF];
	size_t len;

	len = build_dns(msg, id, 0, name, qtype);
	len = build_segment(seg, IPPROTO_UDP, 33333, 53, 0, msg, len);
	len = build_ip(pkt, WAN4, SERVER4, IPPROTO_UDP, seg, len);
	return feed(bed, JUDGE_HOOK_LOCAL_OUT, pkt, len, 0, now_ms);
}

/*
 * The final answer to a client's question releases the question; its name
 * and ancestors name the client for their DS and DNSKEY a second longer: a
 * validating resolver asks them before the client has its answer.
 */
Test(judge, releases_question_when_its_answer_comes)
{
	static const struct record answer[] = { { 0, NULL, TYPE_A, NULL } };
	struct judge_verdict v;
	struct bed bed;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	ask_marked_upstream(&bed);	/* www.example.com, mark 0x5 */
	client_query(&bed, CLIENT6, 0x3333, "ftp.example.com", 0x7, 0);
	upstream_response(&bed, 0x7777, FLAGS_RESPONSE, answer, 1, 400);
	cr_assert_eq(count(&bed, STATS_PENDING_ANSWERED), 1);
	v = upstream_query_type(&bed, 0x3001, "example.com", 43, 401);
	cr_assert_eq(v.set_mark, 1);
	cr_assert_eq(v.mark, 0x5, "DS after the answer: 0x%x", v.mark);
	cr_assert_eq(count(&bed, STATS_ATTRIB_ANCESTOR), 1);
	v = upstream_query_type(&bed, 0x3002, "www.example.com", 48, 402);
	cr_assert_eq(v.mark, 0x5, "DNSKEY of the name: 0x%x", v.mark);
	/* Other types: in the moment after the answer, 0x5's (its ask is
	 * over: the grace of an answered client, which the query it was
	 * worked for renews); then nobody waits, 0x5 and 0x7 asked alike. */
	v = upstream_query_type(&bed, 0x3006, "example.com", TYPE_A, 403);
	cr_assert_eq(v.mark, 0x5, "A of the ancestor in the grace: 0x%x",
	    v.mark);
	assert_unchanged(upstream_query_type(&bed, 0x3003, "example.com",
	    TYPE_A, 403 + EVIDENCE_ANSWERED_GRACE_MS),
	    "A of the ancestor after the answer");
	/* Past the grace, within the validation's second: the DS is
	 * still 0x5's. */
	v = upstream_query_type(&bed, 0x3007, "example.com", 43,
	    403 + EVIDENCE_ANSWERED_GRACE_MS + 1);
	cr_assert_eq(v.mark, 0x5, "DS after the grace: 0x%x", v.mark);
	/* The validation's second is over. */
	assert_unchanged(upstream_query_type(&bed, 0x3004, "example.com", 43,
	    400 + EVIDENCE_VALIDATING_MS), "DS a second after the answer");
	/* A client waiting below the name decides before the validating. */
	client_query(&bed, CLIENT4_B, 0x2002, "mail.example.com", 0x6, 1500);
	upstream_response(&bed, 0x7777, FLAGS_RESPONSE, answer, 1, 1501);
	v = upstream_query_type(&bed, 0x3005, "example.com", 43, 1502);
	cr_assert_eq(v.mark, 0x6, "DS, a client waiting: 0x%x", v.mark);
	bed_fini(&bed);
}

/* A referral or a CNAME alone does not end the client's question. */
Test(judge, keeps_question_after_referral_or_cname)
{
	static const struct record referral[] = {
		{ 1, "example.com", 2, "ns.example.net" },
	};
	static const struct record cname[] = {
		{ 0, NULL, 5, "cdn.example.net" },
	};
	struct bed bed;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	ask_marked_upstream(&bed);
	upstream_response(&bed, 0x7777, 0x8000, referral, 1, 20);
	upstream_response(&bed, 0x7777, FLAGS_RESPONSE, cname, 1, 21);
	cr_assert_eq(count(&bed, STATS_PENDING_ANSWERED), 0);
	cr_assert_eq(upstream_query(&bed, WAN4, 0x7778, "www.example.com", 0,
	    22).mark, 0x5);
	bed_fini(&bed);
}

/*
 * A query nobody asked (root priming) right after one client asked, while
 * another's older question still waits: only the recent asker is in view.
 */
Test(judge, marks_with_the_only_recent_asker)
{
	struct bed bed;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	client_query(&bed, CLIENT4, 1, "old.example.com", 0x5, 0);
	client_query(&bed, CLIENT4_B, 2, "new.example.org", 0x6, 3000);
	cr_assert_eq(upstream_query(&bed, WAN4, 3, ".", 0, 3001).mark, 0x6);
	cr_assert_eq(count(&bed, STATS_ATTRIB_SINGLE), 1);
	/* Both asked within the window: no single mark. */
	client_query(&bed, CLIENT4, 4, "again.example.com", 0x5, 3100);
	assert_unchanged(upstream_query(&bed, WAN4, 5, ".", 0, 3101),
	    "two recent askers");
	/* Later, the window passed and both still wait: nothing. */
	assert_unchanged(upstream_query(&bed, WAN4, 6, ".", 0,
	    3100 + EVIDENCE_ASKERS_MS), "no recent asker");
	bed_fini(&bed);
}

/*
 * Two marks under one ancestor, but only one asked in the last moment: the
 * other's question is from before (answered from the cache or long ago).
 */
Test(judge, breaks_ancestor_tie_by_the_only_recent_asker)
{
	struct bed bed;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	client_query(&bed, CLIENT4, 1, "www.example.com", 0x5, 0);
	client_query(&bed, CLIENT4_B, 2, "mail.example.com", 0x6, 3000);
	cr_assert_eq(upstream_query(&bed, WAN4, 3, "example.com", 0, 3001).mark,
	    0x6);
	cr_assert_eq(count(&bed, STATS_ATTRIB_ANCESTOR), 1);
	/* Both asked in the last moment: a conflict, left unmarked. */
	client_query(&bed, CLIENT4, 4, "ftp.example.com", 0x5, 3200);
	assert_unchanged(upstream_query(&bed, WAN4, 5, "example.com", 0, 3201),
	    "two recent askers");
	cr_assert_eq(count(&bed, STATS_ATTRIB_CONFLICT_UNMARKED), 1);
	bed_fini(&bed);
}

/* A response to another port of the resolver than the query left from is
 * not its answer, whatever its id (RFC 5452). */
Test(judge, learns_nothing_from_response_to_another_port)
{
	static const struct record cname[] = {
		{ 0, NULL, 5, "cdn.example.net" },
	};
	uint8_t pkt[PACKET_BUF], msg[1024];
	struct bed bed;
	size_t len;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	ask_marked_upstream(&bed);
	len = build_message(msg, 0x7777, FLAGS_RESPONSE, "www.example.com",
	    TYPE_A, cname, 1);
	len = build_udp_message(pkt, SERVER4, 53, WAN4, 44444, msg, len);
	feed(&bed, JUDGE_HOOK_LOCAL_IN, pkt, len, 0, 20);
	cr_assert_eq(count(&bed, STATS_NAMES_LEARNED), 0);
	cr_assert_eq(count(&bed, STATS_RESPONSES_UNMATCHED), 1);
	bed_fini(&bed);
}

/*
 * While the table overflows (a flood), a missing entry no longer means that
 * nobody asked: the only mark left may be the flooder's.  No single-mark
 * fallback for a timeout after an eviction.
 */
Test(judge, no_single_mark_while_the_table_overflows)
{
	char name[64];
	struct bed bed;

	bed_init(&bed, 4, 1000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	client_query(&bed, CLIENT4_B, 1, "victim.example.org", 0x6, 0);
	for (int i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "flood%d.example.com", i);
		client_query(&bed, CLIENT4, (uint16_t)(10 + i), name, 0x5, 10);
	}
	cr_assert_gt(count(&bed, STATS_PENDING_EVICTED), 0);
	assert_unchanged(upstream_query(&bed, WAN4, 99, "victim.example.org",
	    0, 20), "victim's query during a flood");
	/* A timeout after the last eviction, the fallback is back. */
	client_query(&bed, CLIENT4, 50, "late.example.com", 0x5, 1500);
	cr_assert_eq(upstream_query(&bed, WAN4, 98, "unasked.example.net", 0,
	    1600).mark, 0x5);
	bed_fini(&bed);
}

/* A response from SERVER4 to the resolver's port 33333, with packet id. */
static struct judge_verdict
response_for(struct bed *bed, uint32_t packet_id, uint16_t dns_id,
    uint16_t flags, const char *name, uint64_t now_ms)
{
	uint8_t pkt[PACKET_BUF], msg[1024];
	struct judge_packet packet = { .id = packet_id,
	    .hook = JUDGE_HOOK_LOCAL_IN, .data = pkt,
	    .can_defer = packet_id != 0 };

	packet.len = build_message(msg, dns_id, flags, name, TYPE_A, NULL, 0);
	packet.len = build_udp_message(pkt, SERVER4, 53, WAN4, 33333, msg,
	    packet.len);
	return judge_packet(&bed->judge, &packet, now_ms);
}

/*
 * A judge holding SYN causes for 2 ms, and two clients (0x5, 0x6) whose big
 * questions went upstream marked, ids 0x7777 and 0x7778.
 */
static void
two_big_questions(struct bed *bed)
{
	bed_init(bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	hold_init(&bed->judge.hold, 2);
	client_query(bed, CLIENT4, 0x1111, "big.example.com", 0x5, 0);
	client_query(bed, CLIENT4_B, 0x2222, "big.example.org", 0x6, 0);
	cr_assert_eq(upstream_query(bed, WAN4, 0x7777, "big.example.com", 0,
	    1).mark, 0x5);
	cr_assert_eq(upstream_query(bed, WAN4, 0x7778, "big.example.org", 0,
	    1).mark, 0x6);
}

/*
 * Two clients' answers come back truncated at once: the second waits
 * until the SYN of the first has left, so each SYN is one client's.
 */
Test(judge, holds_concurrent_truncated_answers_one_at_a_time)
{
	struct judge_verdict v;
	struct bed bed;
	uint32_t id;

	two_big_questions(&bed);
	v = response_for(&bed, 100, 0x7777, FLAGS_RESPONSE | DNS_FLAG_TC,
	    "big.example.com", 2);
	cr_assert_eq(v.defer, 0, "the first truncated answer passes");
	v = response_for(&bed, 101, 0x7778, FLAGS_RESPONSE | DNS_FLAG_TC,
	    "big.example.org", 2);
	cr_assert_eq(v.defer, 1, "the second waits for the first one's SYN");
	cr_assert_eq(judge_wake_ms(&bed.judge), 4);
	cr_assert_eq(judge_next_release(&bed.judge, 2, &id), 0);
	v = upstream_syn(&bed, SERVER4, 2);
	cr_assert_eq(v.mark, 0x5, "first SYN: mark 0x%x", v.mark);
	cr_assert_eq(judge_next_release(&bed.judge, 2, &id), 1);
	cr_assert_eq(id, 101);
	v = upstream_syn(&bed, SERVER4, 3);
	cr_assert_eq(v.mark, 0x6, "second SYN: mark 0x%x", v.mark);
	cr_assert_eq(count(&bed, STATS_HOLD_HELD), 1);
	cr_assert_eq(count(&bed, STATS_HOLD_NAMED), 2);
	/* Without the hold both SYNs would have found two marks. */
	bed_fini(&bed);
}

/* A copy (observe mode's NFLOG, bpf mode's ring) has gone on its way:
 * never deferred, whatever it is. */
Test(judge, never_defers_a_copy)
{
	struct judge_verdict v;
	struct bed bed;

	two_big_questions(&bed);
	v = response_for(&bed, 0, 0x7777, FLAGS_RESPONSE | DNS_FLAG_TC,
	    "big.example.com", 2);
	cr_assert_eq(v.defer, 0);
	v = response_for(&bed, 0, 0x7778, FLAGS_RESPONSE | DNS_FLAG_TC,
	    "big.example.org", 2);
	cr_assert_eq(v.defer, 0);
	cr_assert_eq(count(&bed, STATS_HOLD_HELD), 0);
	cr_assert_eq(judge_wake_ms(&bed.judge), 0);
	bed_fini(&bed);
}

/* A segment on POSTROUTING from the resolver's port 52000 to SERVER4. */
static struct judge_verdict
upstream_segment(struct bed *bed, uint16_t sport, const char *name,
    uint32_t conn_mark, uint64_t now_ms)
{
	uint8_t pkt[PACKET_BUF], seg[PACKET_BUF];
	size_t len;

	if (name != NULL) {
		len = build_tcp_dns(pkt, WAN4, sport, SERVER4, 53, 0x4242, name);
	} else {
		len = build_segment(seg, IPPROTO_TCP, sport, 53, PACKET_TCP_ACK,
		    NULL, 0);
		len = build_ip(pkt, WAN4, SERVER4, IPPROTO_TCP, seg, len);
	}
	return feed(bed, JUDGE_HOOK_POST_ROUTING, pkt, len, conn_mark, now_ms);
}

/* Asserts that v gives a segment exactly mark (the client's, or 0). */
static void
assert_segment_mark(struct judge_verdict v, uint32_t mark, const char *what)
{
	cr_assert_eq(v.set_mark, 1, "%s: verdict leaves the mark", what);
	cr_assert_eq(v.mark, mark, "%s: mark 0x%x, not 0x%x", what, v.mark,
	    mark);
}

/*
 * One connection, opened for one client, carries another's query: the
 * segments get the mark of the query they carry (or followed), never the
 * connection's (its SYN's client's) by default; the connection's own mark
 * stays what its SYN got.
 */
Test(judge, marks_tcp_segments_by_their_query)
{
	struct judge_verdict v;
	struct bed bed;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	client_query(&bed, CLIENT4, 0x1111, "a.example.com", 0x5, 0);
	client_query(&bed, CLIENT4_B, 0x2222, "b.example.org", 0x6, 0);
	assert_segment_mark(upstream_segment(&bed, 52000, NULL, 0x5, 1), 0,
	    "handshake ACK of a connection whose SYN was not seen");
	v = upstream_segment(&bed, 52000, "a.example.com", 0x5, 2);
	assert_segment_mark(v, 0x5, "first query");
	v = upstream_segment(&bed, 52000, "b.example.org", 0x5, 3);
	assert_segment_mark(v, 0x6, "second query");
	v = upstream_segment(&bed, 52000, NULL, 0x5, 4);
	assert_segment_mark(v, 0x6, "ACK after it");
	assert_segment_mark(upstream_segment(&bed, 52001, NULL, 0x5, 4), 0,
	    "another connection's ACK");
	/* A query nobody asked: no client's mark, not the connection's
	 * either (it is client 0x5's), for what follows too. */
	assert_segment_mark(upstream_segment(&bed, 52000, "nobody.example.net",
	    0x5, 5), 0, "query without evidence");
	assert_segment_mark(upstream_segment(&bed, 52000, NULL, 0x5, 6), 0,
	    "ACK after a query without evidence");
	cr_assert_eq(count(&bed, STATS_UPSTREAM_SEGMENTS), 7);
	cr_assert_eq(count(&bed, STATS_SEGMENTS_MARKED), 3);
	cr_assert_eq(count(&bed, STATS_SEGMENTS_CLEARED), 4);
	/* A SYN on the same addresses starts afresh: named by nobody (two
	 * marks wait), its connection's segments carry no mark until a
	 * query names one. */
	upstream_segment(&bed, 52000, "b.example.org", 0x5, 7);
	assert_unchanged(upstream_syn(&bed, SERVER4, 8), "SYN, two marks wait");
	assert_unchanged(upstream_segment(&bed, 52000, NULL, 0, 9),
	    "ACK of a new unmarked connection");
	bed_fini(&bed);
}

/* Bits outside the mask are the user's: a segment keeps them. */
Test(judge, clears_only_the_masks_bits_of_an_unnamed_segment)
{
	struct bed bed;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xff);
	client_query(&bed, CLIENT4, 0x1111, "a.example.com", 0x5, 0);
	client_query(&bed, CLIENT4_B, 0x2222, "b.example.org", 0x6, 0);
	assert_segment_mark(upstream_segment(&bed, 52000, "nobody.example.net",
	    0x1205, 1), 0x1200, "query without evidence");
	assert_segment_mark(upstream_segment(&bed, 52000, "a.example.com",
	    0x1207, 2), 0x1205, "query of client 0x5");
	/* Nothing to clear: left as it is. */
	assert_unchanged(upstream_segment(&bed, 52002, "nobody.example.net",
	    0x1200, 3), "no client bits");
	bed_fini(&bed);
}

/* A segment carrying two clients' whole queries, as the resolver wrote them. */
static struct judge_verdict
upstream_segment_of_two(struct bed *bed, uint16_t sport, const char *first,
    const char *second, uint32_t conn_mark, uint64_t now_ms)
{
	uint8_t pkt[PACKET_BUF], tcp[PACKET_BUF], seg[PACKET_BUF];
	uint8_t msg[PACKET_BUF];
	size_t len = 0, msg_len;
	const char *names[2] = { first, second };

	for (int i = 0; i < 2; i++) {
		msg_len = build_dns(msg, (uint16_t)(0x4242 + i), 0, names[i],
		    TYPE_A);
		seg[len] = (uint8_t)(msg_len >> 8);
		seg[len + 1] = (uint8_t)msg_len;
		memcpy(seg + len + 2, msg, msg_len);
		len += 2 + msg_len;
	}
	len = build_segment(tcp, IPPROTO_TCP, sport, 53, PACKET_TCP_ACK, seg,
	    len);
	len = build_ip(pkt, WAN4, SERVER4, IPPROTO_TCP, tcp, len);
	return feed(bed, JUDGE_HOOK_POST_ROUTING, pkt, len, conn_mark, now_ms);
}

/*
 * Knot Resolver writes two clients' queries on its one connection in the
 * same millisecond: one segment, two marks.  It carries neither (with the
 * default policy), never the first one's; one client's two queries carry
 * its mark; a query nobody asked beside a client's leaves it unmarked.
 */
Test(judge, gives_a_segment_of_several_clients_no_mark)
{
	struct bed bed;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	client_query(&bed, CLIENT4, 0x1111, "a.example.com", 0x5, 0);
	client_query(&bed, CLIENT4_B, 0x2222, "b.example.org", 0x6, 0);
	client_query(&bed, CLIENT4_B, 0x2223, "c.example.org", 0x6, 0);
	assert_segment_mark(upstream_segment_of_two(&bed, 52000,
	    "a.example.com", "b.example.org", 0x5, 1), 0, "two clients");
	cr_assert_eq(count(&bed, STATS_SEGMENTS_SEVERAL), 1);
	cr_assert_eq(count(&bed, STATS_UPSTREAM_QUERIES), 2);
	assert_segment_mark(upstream_segment(&bed, 52000, NULL, 0x5, 2), 0,
	    "ACK after them");
	assert_segment_mark(upstream_segment_of_two(&bed, 52000,
	    "b.example.org", "c.example.org", 0x5, 3), 0x6, "one client");
	assert_segment_mark(upstream_segment_of_two(&bed, 52000,
	    "c.example.org", "nobody.example.net", 0x6, 4), 0,
	    "a client's and nobody's");
	cr_assert_eq(count(&bed, STATS_SEGMENTS_SEVERAL), 1);
	bed_fini(&bed);
}

/* The conflict policy decides for a segment of several clients too. */
Test(judge, applies_the_conflict_policy_to_a_segment_of_several_clients)
{
	static const struct {
		enum attrib_conflict conflict;
		uint32_t mark;
	} cases[] = {
		{ ATTRIB_CONFLICT_FIRST, 0x5 },
		{ ATTRIB_CONFLICT_LAST, 0x6 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bed bed;

		bed_init(&bed, 64, 5000, cases[i].conflict, 0xffffffff);
		client_query(&bed, CLIENT4, 0x1111, "a.example.com", 0x5, 0);
		client_query(&bed, CLIENT4_B, 0x2222, "b.example.org", 0x6, 0);
		assert_segment_mark(upstream_segment_of_two(&bed, 52000,
		    "a.example.com", "b.example.org", 0x7, 1), cases[i].mark,
		    "policy");
		bed_fini(&bed);
	}
}

/* Only the resolver's TCP segments to port 53 are judged on POSTROUTING. */
Test(judge, ignores_other_postrouting_packets)
{
	uint8_t pkt[PACKET_BUF];
	struct bed bed;
	size_t len;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	client_query(&bed, CLIENT4, 0x1111, "a.example.com", 0x5, 0);
	len = build_udp_dns(pkt, WAN4, 33333, SERVER4, 53, 1, 0,
	    "a.example.com");
	assert_unchanged(feed(&bed, JUDGE_HOOK_POST_ROUTING, pkt, len, 0, 1),
	    "UDP on POSTROUTING");
	len = build_tcp_dns(pkt, SERVER4, 53, WAN4, 52000, 1, "a.example.com");
	assert_unchanged(feed(&bed, JUDGE_HOOK_POST_ROUTING, pkt, len, 0, 1),
	    "from port 53");
	cr_assert_eq(count(&bed, STATS_IGNORED_HOOK), 2);
	bed_fini(&bed);
}

/* Asserts that v marks an upstream query with exactly mark. */
static void
assert_marked(struct judge_verdict v, uint32_t mark, const char *what)
{
	cr_assert_eq(v.set_mark, 1, "%s: unmarked", what);
	cr_assert_eq(v.mark, mark, "%s: mark 0x%x, not 0x%x", what, v.mark,
	    mark);
}

/*
 * Who is waiting decides.  A popular name: client 0xa asked it first (its
 * query went upstream), 0xb asked later and was answered from the cache,
 * and when the cache entry expires 0xc's question sends it upstream
 * again.  Only 0xc waits: its mark, though 0xa and 0xb asked within the
 * question timeout (and 0xb 200 ms ago).
 */
Test(judge, gives_the_one_waiting_client_the_mark)
{
	struct bed bed;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	client_query(&bed, CLIENT4, 0x1111, "popular.example", 0xa, 0);
	assert_marked(upstream_query(&bed, WAN4, 0x7777, "popular.example", 0,
	    1), 0xa, "first ask");
	client_query(&bed, CLIENT4_B, 0x2222, "popular.example", 0xb, 3800);
	client_query(&bed, CLIENT6, 0x3333, "popular.example", 0xc, 4000);
	assert_marked(upstream_query(&bed, WAN4, 0x7778, "popular.example", 0,
	    4001), 0xc, "the cache entry expired");
	cr_assert_eq(count(&bed, STATS_ATTRIB_EXACT), 2);
	bed_fini(&bed);
}

/* Two clients waiting for the same question: a conflict among them. */
Test(judge, leaves_a_query_two_waiting_clients_share_unmarked)
{
	struct bed bed;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	client_query(&bed, CLIENT4_B, 0x2222, "popular.example", 0xb, 0);
	client_query(&bed, CLIENT4, 0x1111, "popular.example", 0xa, 3950);
	client_query(&bed, CLIENT6, 0x3333, "popular.example", 0xc, 4000);
	assert_unchanged(upstream_query(&bed, WAN4, 0x7778, "popular.example",
	    0, 4001), "0xa and 0xc wait");
	cr_assert_eq(count(&bed, STATS_ATTRIB_CONFLICT_UNMARKED), 1);
	bed_fini(&bed);
}

/*
 * A client whose question went upstream keeps waiting while the resolver
 * works on it (a retry after a timeout, 900 ms later); a client who asked
 * the same meanwhile and joined it does not make it a conflict.
 */
Test(judge, keeps_a_client_waiting_while_its_query_is_upstream)
{
	struct bed bed;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	client_query(&bed, CLIENT4, 0x1111, "slow.example", 0xa, 0);
	assert_marked(upstream_query(&bed, WAN4, 0x7777, "slow.example", 0, 1),
	    0xa, "first try");
	client_query(&bed, CLIENT4_B, 0x2222, "slow.example", 0xb, 500);
	assert_marked(upstream_query(&bed, WAN4, 0x7778, "slow.example", 0,
	    900), 0xa, "retry");
	/* Nobody waits any more (prefetch): every asker counts. */
	assert_unchanged(upstream_query(&bed, WAN4, 0x7779, "slow.example", 0,
	    3000), "prefetch, two marks asked");
	bed_fini(&bed);
}

/*
 * A waiting client below a name wins over clients who only asked the name
 * itself earlier: the name leads to its question.
 */
Test(judge, prefers_a_client_waiting_below_over_earlier_askers)
{
	struct bed bed;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	client_query(&bed, CLIENT4, 0x1111, "pop.example", 0xa, 0);
	client_query(&bed, CLIENT4_B, 0x2222, "pop.example", 0xb, 1000);
	client_query(&bed, CLIENT6, 0x3333, "www.pop.example", 0xc, 2000);
	assert_marked(upstream_query(&bed, WAN4, 0x7777, "pop.example", 0,
	    2001), 0xc, "minimised ancestor");
	cr_assert_eq(count(&bed, STATS_ATTRIB_ANCESTOR), 1);
	bed_fini(&bed);
}

/* The resolver's TCP retry of a truncated answer, as one segment. */
static struct judge_verdict
upstream_tcp_query(struct bed *bed, uint16_t sport, const char *name,
    uint32_t conn_mark, uint64_t now_ms)
{
	return upstream_segment(bed, sport, name, conn_mark, now_ms);
}

/*
 * A truncated answer does not end the question: the TCP retry, on a
 * connection the resolver opened earlier for another client (no SYN of
 * its own), carries the mark of the client whose question it is, not the
 * connection's.
 */
Test(judge, marks_a_tcp_retry_on_another_clients_connection)
{
	struct bed bed;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	ask_marked_upstream(&bed);
	upstream_response(&bed, 0x7777, FLAGS_RESPONSE | DNS_FLAG_TC, NULL, 0,
	    20);
	cr_assert_eq(count(&bed, STATS_RESPONSES_TRUNCATED), 1);
	cr_assert_eq(asks_count(bed.judge.evidence.pending), 2);
	assert_segment_mark(upstream_tcp_query(&bed, 52000, "www.example.com",
	    0x6, 25), 0x5, "retry on 0x6's connection");
	/* Its final answer, over TCP, ends it. */
	bed_fini(&bed);
}

/*
 * Once the retry of a truncated answer left on a connection already open,
 * neither the hold nor the truncated answer names a later SYN: Knot
 * Resolver then opened a connection to the same server for another
 * client's question, sent over TCP at once, and the SYN took the mark of
 * the client whose retry was out (accuracy phase B, queue mode).
 */
Test(judge, names_no_syn_after_the_retry_left_on_an_open_connection)
{
	struct bed bed;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	ask_marked_upstream(&bed);
	upstream_response(&bed, 0x7777, FLAGS_RESPONSE | DNS_FLAG_TC, NULL, 0,
	    20);
	assert_segment_mark(upstream_tcp_query(&bed, 52000, "www.example.com",
	    0x6, 21), 0x5, "the retry, on a connection already open");
	assert_unchanged(upstream_syn(&bed, SERVER4, 22),
	    "a SYN after it: 0x5's retry is out, two marks asked");
	cr_assert_eq(count(&bed, STATS_ATTRIB_TCP), 0);
	bed_fini(&bed);
}

/*
 * Thousands of marks, one per client: each asks its own name below a
 * shared zone and a shared popular name within a second.  Nothing is
 * evicted at the default cap, each own name is marked for its client, and
 * the shared zone's ancestors, asked by every mark, never get one mark.
 */
Test(judge, holds_a_thousand_marks_without_eviction)
{
	struct bed bed;
	char name[64], addr[64];

	bed_init_recent(&bed, OPTIONS_DEFAULT_MAX_PENDING,
	    OPTIONS_DEFAULT_TIMEOUT_MS, OPTIONS_DEFAULT_RECENT_MS,
	    ATTRIB_CONFLICT_NONE, 0xffffffff);
	for (uint32_t k = 1; k <= 1000; k++) {
		uint8_t pkt[PACKET_BUF];
		size_t len;

		snprintf(addr, sizeof(addr), "2001:db8:1::%x", k);
		snprintf(name, sizeof(name), "c%u.clients.example", k);
		len = build_udp_dns(pkt, addr, 40000, RESOLVER6, 53,
		    (uint16_t)k, FLAGS_QUERY, name);
		feed(&bed, JUDGE_HOOK_LOCAL_IN, pkt, len, k, k);
		len = build_udp_dns(pkt, addr, 40001, RESOLVER6, 53,
		    (uint16_t)k, FLAGS_QUERY, "popular.example");
		feed(&bed, JUDGE_HOOK_LOCAL_IN, pkt, len, k, k);
	}
	cr_assert_eq(count(&bed, STATS_CLIENT_QUERIES), 2000);
	cr_assert_eq(count(&bed, STATS_PENDING_EVICTED), 0);
	cr_assert_eq(count(&bed, STATS_EVIDENCE_EVICTED), 0);
	for (uint32_t k = 1; k <= 1000; k += 37) {
		snprintf(name, sizeof(name), "c%u.clients.example", k);
		assert_marked(upstream_query(&bed, WAN4, (uint16_t)k, name, 0,
		    1500), k, name);
	}
	assert_unchanged(upstream_query(&bed, WAN4, 1, "clients.example", 0,
	    1500), "the shared zone");
	assert_unchanged(upstream_query(&bed, WAN4, 1, "example", 0, 1500),
	    "the shared TLD");
	bed_fini(&bed);
}

/*
 * The resolver's answer to a client (an NFLOG copy on LOCAL_OUT, or a
 * ring record through judge_client_message()) settles that client's
 * question: a name on the way to another client's question is then that
 * client's alone.  A copy cut short (the rules copy answers whole) is
 * counted and settles nothing.
 */
Test(judge, settles_a_question_on_the_answer_to_its_client)
{
	uint8_t pkt[PACKET_BUF], msg[512];
	struct packet_info info;
	struct judge_verdict v;
	struct bed bed;
	size_t len, msg_len;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xff);
	client_query(&bed, "192.0.2.10", 0x1010, "www.pop.example", 0x1, 0);
	client_query(&bed, "192.0.2.11", 0x1111, "mail.pop.example", 0x2, 1);
	client_query(&bed, "192.0.2.12", 0x1212, "ftp.pop.example", 0x3, 2);
	/* The answer to 192.0.2.10, copied whole. */
	len = build_udp_dns(pkt, RESOLVER4, 53, "192.0.2.10", 40000, 0x1010,
	    FLAGS_RESPONSE, "www.pop.example");
	assert_unchanged(feed(&bed, JUDGE_HOOK_LOCAL_OUT, pkt, len, 0, 3),
	    "an answer to a client");
	/* The answer to 192.0.2.12, cut short: nothing. */
	msg_len = build_dns(msg, 0x1212, FLAGS_RESPONSE, "ftp.pop.example",
	    TYPE_A);
	len = build_udp_message(pkt, RESOLVER4, 53, "192.0.2.12", 40000, msg,
	    msg_len);
	assert_unchanged(feed(&bed, JUDGE_HOOK_LOCAL_OUT, pkt, len - 3, 0, 3),
	    "a cut answer");
	cr_assert_eq(count(&bed, STATS_BAD_PACKET), 1);
	cr_assert_eq(count(&bed, STATS_CLIENT_ANSWERS), 1);
	cr_assert_eq(count(&bed, STATS_IGNORED_CLIENT_RESPONSE), 0);
	/* Whole: settled. */
	assert_unchanged(feed(&bed, JUDGE_HOOK_LOCAL_OUT, pkt, len, 0, 3),
	    "the whole answer");
	cr_assert_eq(count(&bed, STATS_CLIENT_ANSWERS), 2);
	cr_assert_eq(count(&bed, STATS_CLIENT_ANSWERS_MATCHED), 2);
	v = upstream_query(&bed, WAN4, 0xabcd, "pop.example", 0,
	    3 + EVIDENCE_ANSWERED_GRACE_MS);
	cr_assert_eq(v.set_mark, 1);
	cr_assert_eq(v.mark, 0x2, "mark 0x%x", v.mark);
	/* The same through the ring: 192.0.2.11 is answered, and nobody
	 * waits any more. */
	len = build_udp_dns(pkt, RESOLVER4, 53, "192.0.2.11", 40000, 0x1111,
	    FLAGS_RESPONSE, "mail.pop.example");
	cr_assert_eq(packet_parse(pkt, len, &info), PACKET_OK);
	judge_client_message(&bed.judge, &info, 0, info.payload,
	    info.payload_len, 20);
	cr_assert_eq(count(&bed, STATS_CLIENT_ANSWERS_MATCHED), 3);
	cr_assert_eq(count(&bed, STATS_CLIENT_QUERIES), 3);
	v = upstream_query(&bed, WAN4, 0xabce, "pop.example", 0, 2000);
	assert_unchanged(v, "nobody waits, three askers");
	/* A response to port 53 is nobody's answer. */
	len = build_udp_dns(pkt, RESOLVER4, 53, "192.0.2.13", 53, 0x1313,
	    FLAGS_RESPONSE, "www.pop.example");
	feed(&bed, JUDGE_HOOK_LOCAL_OUT, pkt, len, 0, 2001);
	cr_assert_eq(count(&bed, STATS_CLIENT_ANSWERS), 3);
	bed_fini(&bed);
}

/*
 * The resolver's TCP segment (flags, payload) to the client at
 * 192.0.2.10:40000, copied on LOCAL_OUT at now_ms: never held or marked.
 */
static void
resolver_segment(struct bed *bed, uint8_t flags, const uint8_t *payload,
    size_t payload_len, uint64_t now_ms, const char *what)
{
	uint8_t pkt[PACKET_BUF], seg[PACKET_BUF];
	size_t len, seg_len;

	seg_len = build_segment(seg, IPPROTO_TCP, 53, 40000, flags, payload,
	    payload_len);
	len = build_ip(pkt, RESOLVER4, "192.0.2.10", IPPROTO_TCP, seg,
	    seg_len);
	assert_unchanged(feed(bed, JUDGE_HOOK_LOCAL_OUT, pkt, len, 0, now_ms),
	    what);
}

/*
 * Over TCP: a segment the resolver sends a client that starts with an
 * answer settles the client's question; the other segments (an
 * acknowledgement, the rest of a long answer) are only counted.
 */
Test(judge, settles_a_question_on_an_answer_over_tcp)
{
	uint8_t pkt[PACKET_BUF], stream[514];
	struct bed bed;
	size_t len, msg_len;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xff);
	len = build_tcp_dns(pkt, "192.0.2.10", 40000, RESOLVER4, 53, 0x1010,
	    "big.pop.example");
	feed(&bed, JUDGE_HOOK_LOCAL_IN, pkt, len, 0x1, 0);
	client_query(&bed, "192.0.2.11", 0x1111, "www.pop.example", 0x2, 1);
	/* An acknowledgement, then a segment in the middle of an answer. */
	resolver_segment(&bed, 0x10, NULL, 0, 2,
	    "an acknowledgement to a client");
	memset(stream, 0x41, 40);
	resolver_segment(&bed, 0x18, stream, 40, 2,
	    "the middle of an answer");
	cr_assert_eq(count(&bed, STATS_IGNORED_NO_PAYLOAD), 2);
	cr_assert_eq(count(&bed, STATS_BAD_DNS), 0);
	cr_assert_eq(count(&bed, STATS_CLIENT_ANSWERS), 0);
	/* The answer's first segment: its length says more follows. */
	msg_len = build_dns(stream + 2, 0x1010, FLAGS_RESPONSE,
	    "big.pop.example", TYPE_A);
	wire_put16(stream, (uint16_t)(msg_len + 1000));
	resolver_segment(&bed, 0x18, stream, 2 + msg_len, 3,
	    "an answer over TCP");
	cr_assert_eq(count(&bed, STATS_CLIENT_ANSWERS), 1);
	cr_assert_eq(count(&bed, STATS_CLIENT_ANSWERS_MATCHED), 1);
	cr_assert_eq(count(&bed, STATS_UPSTREAM_QUERIES), 0);
	/* 0x2 alone waits below pop.example. */
	cr_assert_eq(upstream_query(&bed, WAN4, 0xabcd, "pop.example", 0,
	    3 + EVIDENCE_ANSWERED_GRACE_MS).mark, 0x2);
	bed_fini(&bed);
}

/*
 * A resolver answers a client's pipelined TCP queries as it has them: one
 * segment may carry several answers, the last of them cut, and each
 * settles its question.  Seen with BIND: the A answer alone, then AAAA's
 * and HTTPS's in one segment; the HTTPS question kept its mark waiting.
 */
Test(judge, settles_every_answer_of_a_tcp_segment)
{
	uint8_t pkt[PACKET_BUF], stream[1024], seg[PACKET_BUF];
	static const uint16_t types[] = { TYPE_A, TYPE_AAAA, 65 };
	size_t len, msg_len, seg_len, at = 0;
	struct bed bed;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xff);
	for (int i = 0; i < 3; i++) {
		msg_len = build_dns(stream + at + 2, (uint16_t)(0x1010 + i),
		    FLAGS_QUERY, "big.pop.example", types[i]);
		wire_put16(stream + at, (uint16_t)msg_len);
		at += 2 + msg_len;
	}
	seg_len = build_segment(seg, IPPROTO_TCP, 40000, 53, 0x18, stream, at);
	len = build_ip(pkt, "192.0.2.10", RESOLVER4, IPPROTO_TCP, seg,
	    seg_len);
	feed(&bed, JUDGE_HOOK_LOCAL_IN, pkt, len, 0x1, 0);
	cr_assert_eq(count(&bed, STATS_CLIENT_QUERIES), 3);
	client_query(&bed, "192.0.2.11", 0x1111, "www.pop.example", 0x2, 1);
	/* The A answer alone. */
	msg_len = build_dns(stream + 2, 0x1010, FLAGS_RESPONSE,
	    "big.pop.example", TYPE_A);
	wire_put16(stream, (uint16_t)msg_len);
	resolver_segment(&bed, 0x18, stream, 2 + msg_len, 2,
	    "one answer");
	cr_assert_eq(count(&bed, STATS_CLIENT_ANSWERS_MATCHED), 1);
	/* AAAA's whole, then HTTPS's, whose length says more follows. */
	msg_len = build_dns(stream + 2, 0x1011, FLAGS_RESPONSE,
	    "big.pop.example", TYPE_AAAA);
	wire_put16(stream, (uint16_t)msg_len);
	at = 2 + msg_len;
	msg_len = build_dns(stream + at + 2, 0x1012, FLAGS_RESPONSE,
	    "big.pop.example", 65);
	wire_put16(stream + at, (uint16_t)(msg_len + 400));
	at += 2 + msg_len;
	resolver_segment(&bed, 0x18, stream, at, 3,
	    "two answers");
	cr_assert_eq(count(&bed, STATS_CLIENT_ANSWERS), 3);
	cr_assert_eq(count(&bed, STATS_CLIENT_ANSWERS_MATCHED), 3);
	cr_assert_eq(count(&bed, STATS_IGNORED_NO_PAYLOAD), 0);
	/* 0x1 is answered: 0x2 alone waits below pop.example. */
	cr_assert_eq(upstream_query(&bed, WAN4, 0xabcd, "pop.example", 0,
	    3 + EVIDENCE_ANSWERED_GRACE_MS).mark, 0x2);
	bed_fini(&bed);
}

/*
 * A batched copy of an answer (late_ms) counts as sent that much earlier:
 * its client's grace is over as soon as the copy is read.
 */
Test(judge, takes_a_late_copy_for_an_earlier_answer)
{
	uint8_t pkt[PACKET_BUF];
	struct judge_packet packet = { .hook = JUDGE_HOOK_LOCAL_OUT };
	struct judge_verdict v;
	struct bed bed;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xff);
	client_query(&bed, "192.0.2.10", 0x1010, "www.pop.example", 0x1, 100);
	client_query(&bed, "192.0.2.11", 0x1111, "mail.pop.example", 0x2,
	    101);
	packet.data = pkt;
	packet.len = build_udp_dns(pkt, RESOLVER4, 53, "192.0.2.10", 40000,
	    0x1010, FLAGS_RESPONSE, "www.pop.example");
	packet.late_ms = EVIDENCE_ANSWERED_GRACE_MS;
	judge_packet(&bed.judge, &packet, 110);
	cr_assert_eq(count(&bed, STATS_CLIENT_ANSWERS_MATCHED), 1);
	v = upstream_query(&bed, WAN4, 0xabcd, "pop.example", 0, 110);
	cr_assert_eq(v.set_mark, 1);
	cr_assert_eq(v.mark, 0x2, "mark 0x%x", v.mark);
	bed_fini(&bed);
}

/*
 * Knot Resolver retried a client's truncated question on a connection it
 * held, then opened one to another address of the server for that
 * client's next question, over TCP at once.  Its SYN is that client's
 * where its clients alone are not answered yet, and nobody's while another
 * client waits too (it may be for that one's question); a SYN to an
 * address that truncated nothing is not the hold's to name, even before
 * the retry.
 */
Test(judge, names_a_syn_for_the_only_client_not_answered)
{
	uint8_t pkt[PACKET_BUF];
	struct bed bed;
	size_t len;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xffffffff);
	hold_init(&bed.judge.hold, 10);
	ask_marked_upstream(&bed);
	cr_assert_eq(response_for(&bed, 1, 0x7777,
	    FLAGS_RESPONSE | DNS_FLAG_TC, "www.example.com", 20).defer, 0,
	    "the truncated answer, let through: the hold's open cause");
	assert_unchanged(upstream_syn(&bed, "203.0.113.54", 21),
	    "a SYN elsewhere before the retry: 0x5 and 0x6 wait");
	assert_segment_mark(upstream_tcp_query(&bed, 52000, "www.example.com",
	    0x6, 22), 0x5, "the retry, on a connection already open");
	assert_unchanged(upstream_syn(&bed, "203.0.113.54", 23),
	    "0x6 is not answered yet");
	len = build_udp_dns(pkt, RESOLVER4, 53, CLIENT4_B, 40000, 0x2222,
	    FLAGS_RESPONSE, "mail.example.org");
	assert_unchanged(feed(&bed, JUDGE_HOOK_LOCAL_OUT, pkt, len, 0, 24),
	    "the answer to 0x6's client");
	assert_marked(upstream_syn(&bed, "203.0.113.54", 25), 0x5,
	    "0x5 alone waits, and the hold works for it");
	cr_assert_eq(count(&bed, STATS_ATTRIB_TCP), 1);
	bed_fini(&bed);
}

/*
 * Two clients wait below pop.example; the resolver answers one, then, a
 * millisecond later, sends pop.example's refresh for the other and answers
 * that one a fraction of a millisecond after (BIND refreshing data past its
 * TTL as it answers).  Read when dnsmark reads the queue, both answers are
 * in: two clients answered a moment ago, no clear last one, unmarked.
 * Recorded as it was queued (bpf mode's classify program), the query is
 * judged as things stood then: one client waiting, its mark.  Its packet
 * gets that result, once, and is counted then; another packet is judged
 * when read.
 */
static void
ring_answer(struct bed *bed, const char *client, uint16_t id,
    const char *name, uint64_t now_ms)
{
	uint8_t pkt[PACKET_BUF];
	struct packet_info info;
	size_t len;

	len = build_udp_dns(pkt, RESOLVER4, 53, client, 40000, id,
	    FLAGS_RESPONSE, name);
	cr_assert_eq(packet_parse(pkt, len, &info), PACKET_OK);
	judge_client_message(&bed->judge, &info, 0, info.payload,
	    info.payload_len, now_ms);
}

static void
two_answered_a_moment_apart(struct bed *bed, int queued_at_once)
{
	uint8_t pkt[PACKET_BUF];
	struct packet_info info;
	size_t len;

	bed_init(bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xff);
	client_query(bed, "192.0.2.10", 0x1010, "www.pop.example", 0x1, 60);
	client_query(bed, "192.0.2.11", 0x1111, "mail.pop.example", 0x2, 61);
	ring_answer(bed, "192.0.2.11", 0x1111, "mail.pop.example", 100);
	len = build_udp_dns(pkt, WAN4, 33333, SERVER4, 53, 0xabcd, 0,
	    "pop.example");
	cr_assert_eq(packet_parse(pkt, len, &info), PACKET_OK);
	if (queued_at_once) {
		judge_upstream_queued(&bed->judge, &info, info.payload,
		    info.payload_len, 101);
		cr_assert_eq(count(bed, STATS_UPSTREAM_QUERIES), 0,
		    "counted when its packet is");
	}
	ring_answer(bed, "192.0.2.10", 0x1010, "www.pop.example", 101);
	cr_assert_eq(count(bed, STATS_CLIENT_ANSWERS_MATCHED), 2);
}

Test(judge, judges_a_queued_query_as_things_stood_when_it_was_queued)
{
	uint8_t pkt[PACKET_BUF];
	struct judge_verdict v;
	struct bed bed;
	size_t len;

	/* Judged when read: a conflict. */
	two_answered_a_moment_apart(&bed, 0);
	assert_unchanged(upstream_query(&bed, WAN4, 0xabcd, "pop.example", 0,
	    101), "judged when read");
	cr_assert_eq(count(&bed, STATS_UPSTREAM_EARLY), 0);
	bed_fini(&bed);

	/* Judged as queued: the client waiting then. */
	two_answered_a_moment_apart(&bed, 1);
	v = upstream_query(&bed, WAN4, 0xabcd, "pop.example", 0, 101);
	cr_assert_eq(v.set_mark, 1);
	cr_assert_eq(v.mark, 0x1, "mark 0x%x", v.mark);
	cr_assert_eq(count(&bed, STATS_UPSTREAM_EARLY), 1);
	cr_assert_eq(count(&bed, STATS_UPSTREAM_QUERIES), 1);
	cr_assert_eq(count(&bed, STATS_UPSTREAM_MARKED), 1);
	/* Learned from as it was judged: its response is one to a query
	 * dnsmark marked. */
	len = build_udp_dns(pkt, SERVER4, 53, WAN4, 33333, 0xabcd,
	    FLAGS_RESPONSE, "pop.example");
	feed(&bed, JUDGE_HOOK_LOCAL_IN, pkt, len, 0, 102);
	cr_assert_eq(count(&bed, STATS_UPSTREAM_RESPONSES), 1);
	cr_assert_eq(count(&bed, STATS_RESPONSES_UNMATCHED), 0);
	/* Once: the same query sent again is judged when read. */
	assert_unchanged(upstream_query(&bed, WAN4, 0xabcd, "pop.example", 0,
	    101), "the same query again");
	cr_assert_eq(count(&bed, STATS_UPSTREAM_EARLY), 1);
	bed_fini(&bed);

	/* Another query (its DNS id) gets nothing of it. */
	two_answered_a_moment_apart(&bed, 1);
	assert_unchanged(upstream_query(&bed, WAN4, 0xabce, "pop.example", 0,
	    101), "another id");
	cr_assert_eq(count(&bed, STATS_UPSTREAM_EARLY), 0);
	bed_fini(&bed);
}

/* A record that is no query (a response, bytes that do not parse) is
 * left to its packet, and counted nowhere. */
Test(judge, leaves_a_queued_record_that_is_no_query_to_its_packet)
{
	uint8_t pkt[PACKET_BUF];
	struct packet_info info;
	struct bed bed;
	size_t len;

	bed_init(&bed, 64, 5000, ATTRIB_CONFLICT_NONE, 0xff);
	client_query(&bed, "192.0.2.10", 0x1010, "www.pop.example", 0x1, 0);
	len = build_udp_dns(pkt, WAN4, 33333, SERVER4, 53, 0xabcd,
	    FLAGS_RESPONSE, "pop.example");
	cr_assert_eq(packet_parse(pkt, len, &info), PACKET_OK);
	judge_upstream_queued(&bed.judge, &info, info.payload,
	    info.payload_len, 1);
	judge_upstream_queued(&bed.judge, &info, info.payload, 5, 1);
	cr_assert_eq(count(&bed, STATS_BAD_DNS), 0);
	cr_assert_eq(count(&bed, STATS_UPSTREAM_QUERIES), 0);
	bed_fini(&bed);
}
