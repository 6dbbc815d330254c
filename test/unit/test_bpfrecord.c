/*
 * Unit tests for bpf mode's pure parts: the BPF programs' packet walk
 * (src/bpf/client_parse.h, compiled here with memcpy for the kernel's
 * bpf_skb_load_bytes) for client queries on ingress and the resolver's
 * answers (over UDP and TCP) on egress, the records it writes, their decoding
 * (src/bpfrecord.c) and the judge's entry for them (judge_client_message):
 * a client query recorded this way gives its mark to the upstream query
 * that asks the same question.
 */
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <criterion/criterion.h>

#include "bpfrecord.h"
#include "judge.h"
#include "wire.h"

#define PACKET_BUF 4096
#define MAX_EMITTED 32
#define TYPE_A 1
#define TYPE_AAAA 28

/* The packet the walk reads, and the records it wrote. */
struct skb {
	const uint8_t *data;
	uint32_t len;
	uint32_t mark;
	struct bpfparse_stream *stream;	/* its socket's, or NULL */
	int emitted;
	struct bpfrecord records[MAX_EMITTED];
};

static int
skb_load(void *ctx, uint32_t offset, void *to, uint32_t len)
{
	const struct skb *skb = ctx;

	if (offset > skb->len || len > skb->len - offset)
		return -14;	/* -EFAULT, as bpf_skb_load_bytes */
	memcpy(to, skb->data + offset, len);
	return 0;
}

struct bpfparse_flow;
static void skb_emit(void *ctx, const struct bpfparse_flow *flow,
    uint32_t offset, uint32_t len, uint32_t present);

#define BPFPARSE_LOAD(ctx, offset, to, len) skb_load((ctx), (offset), (to), (len))
#define BPFPARSE_EMIT(ctx, flow, offset, len, present) \
	skb_emit((ctx), (flow), (offset), (len), (present))
#define BPFPARSE_STREAM(ctx) (((struct skb *)(ctx))->stream)
#include "client_parse.h"

/* What client_emit() in src/bpf/client.bpf.c writes. */
static void
skb_emit(void *ctx, const struct bpfparse_flow *flow, uint32_t offset,
    uint32_t len, uint32_t present)
{
	struct skb *skb = ctx;
	struct bpfrecord *record;
	uint32_t copy = present < BPFRECORD_MSG_MAX ? present :
	    BPFRECORD_MSG_MAX;

	cr_assert_leq(present, len, "%u bytes present of a %u-byte message",
	    present, len);
	cr_assert_lt(skb->emitted, MAX_EMITTED);
	record = &skb->records[skb->emitted++];
	memset(record, 0xee, sizeof(*record));
	cr_assert_eq(skb_load(skb, offset, record->msg, copy), 0,
	    "message at %u+%u beyond the packet's %u bytes", offset, copy,
	    skb->len);
	bpfparse_fill(record, flow, skb->mark, 7000000, len, copy);
}

static struct skb *
skb_new(const uint8_t *packet, size_t len, uint32_t mark)
{
	static struct skb skb;

	memset(&skb, 0, sizeof(skb));
	skb.data = packet;
	skb.len = (uint32_t)len;
	skb.mark = mark;
	return &skb;
}

/* The ingress program's walk: client queries. */
static struct skb *
walk(const uint8_t *packet, size_t len, uint32_t mark)
{
	struct skb *skb = skb_new(packet, len, mark);

	cr_assert_eq(bpfparse_packet(skb, skb->len), skb->emitted);
	return skb;
}

/* The egress program's walk: the resolver's answers. */
static struct skb *
walk_egress(const uint8_t *packet, size_t len, uint32_t mark)
{
	struct skb *skb = skb_new(packet, len, mark);

	cr_assert_eq(bpfparse_answer(skb, skb->len), skb->emitted);
	return skb;
}

static void
query(struct wire *w, uint16_t id, const char *name, uint16_t qtype)
{
	w->len = 0;
	wire_header(w, id, 0x0100, 1, 0, 0, 0);
	wire_question(w, name, qtype);
}

/* An answer from the cache: QR, RD and RA set, one A record. */
static void
answer(struct wire *w, uint16_t id, const char *name)
{
	static const uint8_t addr[4] = { 192, 0, 2, 80 };
	size_t rdlength;

	w->len = 0;
	wire_header(w, id, 0x8180, 1, 1, 0, 0);
	wire_question(w, name, TYPE_A);
	wire_pointer(w, 12);
	rdlength = wire_rr_begin(w, TYPE_A);
	wire_bytes(w, addr, sizeof(addr));
	wire_rr_end(w, rdlength);
}

/* Appends bytes to the packet's transport payload, fixing the IP length. */
static void
append(uint8_t *packet, size_t *len, const void *bytes, size_t n)
{
	memcpy(packet + *len, bytes, n);
	*len += n;
	if (packet[0] >> 4 == 4)
		wire_put16(packet + 2, (uint16_t)*len);
	else
		wire_put16(packet + 4, (uint16_t)(*len - 40));
}

/* Appends a whole TCP-framed message (length, then the message). */
static void
append_framed(uint8_t *packet, size_t *len, const struct wire *msg)
{
	uint8_t prefix[2];

	wire_put16(prefix, (uint16_t)msg->len);
	append(packet, len, prefix, 2);
	append(packet, len, msg->buf, msg->len);
}

Test(bpfparse, records_an_ipv4_udp_query_with_its_mark)
{
	uint8_t packet[PACKET_BUF];
	struct wire msg;
	struct skb *skb;
	size_t len;

	query(&msg, 0x1234, "www.example.test", TYPE_A);
	len = wire_udp_packet(4, "192.0.2.10", 40000, "192.0.2.1", 53, &msg,
	    packet, sizeof(packet));
	skb = walk(packet, len, 0x2a);
	cr_assert_eq(skb->emitted, 1);
	cr_assert_eq(skb->records[0].family, 4);
	cr_assert_eq(skb->records[0].protocol, IPPROTO_UDP);
	cr_assert_eq(skb->records[0].mark, 0x2a);
	cr_assert_eq(skb->records[0].src_port, 40000);
	cr_assert_eq(skb->records[0].dst_port, 53);
	cr_assert_eq(skb->records[0].msg_len, msg.len);
	cr_assert_eq(skb->records[0].copy_len, msg.len);
	cr_assert_arr_eq(skb->records[0].msg, msg.buf, msg.len);
	cr_assert_arr_eq(skb->records[0].src_addr,
	    ((uint8_t[16]){ 192, 0, 2, 10 }), 16);
	cr_assert_arr_eq(skb->records[0].dst_addr,
	    ((uint8_t[16]){ 192, 0, 2, 1 }), 16);
}

Test(bpfparse, walks_ipv6_extension_headers)
{
	uint8_t packet[PACKET_BUF], moved[PACKET_BUF];
	const uint8_t hop_by_hop[8] = { IPPROTO_UDP, 0, 1, 4, 0, 0, 0, 0 };
	struct wire msg;
	struct skb *skb;
	size_t len;

	query(&msg, 7, "v6.example.test", TYPE_AAAA);
	len = wire_udp_packet(6, "2001:db8:1::10", 5353, "2001:db8:1::1", 53,
	    &msg, packet, sizeof(packet));
	/* Insert a hop-by-hop options header before the UDP header. */
	memcpy(moved, packet + 40, len - 40);
	packet[6] = 0;
	memcpy(packet + 40, hop_by_hop, 8);
	memcpy(packet + 48, moved, len - 40);
	len += 8;
	wire_put16(packet + 4, (uint16_t)(len - 40));
	skb = walk(packet, len, 0);
	cr_assert_eq(skb->emitted, 1);
	cr_assert_eq(skb->records[0].family, 6);
	cr_assert_eq(skb->records[0].src_port, 5353);
	cr_assert_eq(skb->records[0].src_addr[0], 0x20);
	cr_assert_eq(skb->records[0].src_addr[15], 0x10);
	cr_assert_arr_eq(skb->records[0].msg, msg.buf, msg.len);
}

Test(bpfparse, ignores_what_is_no_client_query_to_port_53)
{
	uint8_t packet[PACKET_BUF];
	struct wire msg;
	size_t len;

	query(&msg, 1, "a.example.test", TYPE_A);
	/* An upstream response reaches the resolver's own port. */
	len = wire_udp_packet(4, "203.0.113.53", 53, "198.51.100.1", 33000,
	    &msg, packet, sizeof(packet));
	cr_assert_eq(walk(packet, len, 1)->emitted, 0);
	/* Shorter than its IP header says. */
	len = wire_udp_packet(4, "192.0.2.10", 1000, "192.0.2.1", 53, &msg,
	    packet, sizeof(packet));
	cr_assert_eq(walk(packet, len - 1, 1)->emitted, 0);
	/* A fragment. */
	wire_put16(packet + 6, 0x2000);
	cr_assert_eq(walk(packet, len, 1)->emitted, 0);
	/* Less than a DNS header. */
	msg.len = 11;
	len = wire_udp_packet(4, "192.0.2.10", 1000, "192.0.2.1", 53, &msg,
	    packet, sizeof(packet));
	cr_assert_eq(walk(packet, len, 1)->emitted, 0);
	/* Not an IP packet at all. */
	packet[0] = 0x50;
	cr_assert_eq(walk(packet, len, 1)->emitted, 0);
	cr_assert_eq(walk(packet, 0, 1)->emitted, 0);
}

Test(bpfparse, leaves_tcp_queries_to_the_queue)
{
	uint8_t packet[PACKET_BUF];
	struct wire first, second;
	size_t len;

	/* Whole queries to port 53, pipelined or not: the rules hold TCP
	 * client queries on the queue, so the program records none. */
	query(&first, 1, "one.example.test", TYPE_A);
	query(&second, 2, "two.example.test", TYPE_A);
	len = wire_tcp_packet(6, "2001:db8:1::11", 41000, "2001:db8:1::1", 53,
	    0x18, &first, packet, sizeof(packet));
	cr_assert_eq(walk(packet, len, 2)->emitted, 0);
	append_framed(packet, &len, &second);
	cr_assert_eq(walk(packet, len, 2)->emitted, 0);
	len = wire_tcp_packet(4, "192.0.2.12", 42000, "192.0.2.1", 53, 0x18,
	    &first, packet, sizeof(packet));
	cr_assert_eq(walk(packet, len, 3)->emitted, 0);
}

Test(bpfparse, copies_at_most_a_header_and_the_longest_question)
{
	uint8_t packet[PACKET_BUF];
	struct wire msg;
	struct skb *skb;
	uint8_t opt[300];
	size_t len;

	query(&msg, 4, "big.example.test", TYPE_A);
	memset(opt, 0, sizeof(opt));
	wire_bytes(&msg, opt, sizeof(opt));
	len = wire_udp_packet(4, "192.0.2.10", 1000, "192.0.2.1", 53, &msg,
	    packet, sizeof(packet));
	skb = walk(packet, len, 1);
	cr_assert_eq(skb->emitted, 1);
	cr_assert_eq(skb->records[0].msg_len, msg.len);
	cr_assert_eq(skb->records[0].copy_len, BPFRECORD_MSG_MAX);
	cr_assert_geq(BPFRECORD_MSG_MAX, 12 + 255 + 4);
}

/*
 * The walk emitted one record: the answer msg from 192.0.2.1 port 53 to
 * 192.0.2.10 port port over protocol, with mark, copied whole.
 */
static void
assert_answer_v4(const struct skb *skb, uint8_t protocol, uint32_t mark,
    uint16_t port, const struct wire *msg)
{
	const struct bpfrecord *r = &skb->records[0];

	cr_assert_eq(skb->emitted, 1);
	cr_assert_eq(r->family, 4);
	cr_assert_eq(r->protocol, protocol);
	cr_assert_eq(r->mark, mark);
	cr_assert_eq(r->src_port, 53);
	cr_assert_eq(r->dst_port, port);
	cr_assert_eq(r->msg_len, msg->len);
	cr_assert_eq(r->copy_len, msg->len);
	cr_assert_arr_eq(r->msg, msg->buf, msg->len);
	cr_assert_arr_eq(r->src_addr, ((uint8_t[16]){ 192, 0, 2, 1 }), 16);
	cr_assert_arr_eq(r->dst_addr, ((uint8_t[16]){ 192, 0, 2, 10 }), 16);
}

Test(bpfparse, records_the_resolvers_ipv4_answer_on_egress)
{
	uint8_t packet[PACKET_BUF];
	struct wire msg;
	struct skb *skb;
	size_t len;

	answer(&msg, 0x1234, "www.example.test");
	len = wire_udp_packet(4, "192.0.2.1", 53, "192.0.2.10", 40000, &msg,
	    packet, sizeof(packet));
	skb = walk_egress(packet, len, 0x2a);
	assert_answer_v4(skb, IPPROTO_UDP, 0x2a, 40000, &msg);
	/* The ingress program never takes it for a query. */
	cr_assert_eq(walk(packet, len, 0x2a)->emitted, 0);
}

Test(bpfparse, records_the_resolvers_ipv6_answer_on_egress)
{
	uint8_t packet[PACKET_BUF];
	struct wire msg;
	struct skb *skb;
	size_t len;

	answer(&msg, 7, "v6.example.test");
	len = wire_udp_packet(6, "2001:db8:1::1", 53, "2001:db8:1::10", 5353,
	    &msg, packet, sizeof(packet));
	skb = walk_egress(packet, len, 0);
	cr_assert_eq(skb->emitted, 1);
	cr_assert_eq(skb->records[0].family, 6);
	cr_assert_eq(skb->records[0].src_port, 53);
	cr_assert_eq(skb->records[0].dst_port, 5353);
	cr_assert_eq(skb->records[0].src_addr[15], 0x01);
	cr_assert_eq(skb->records[0].dst_addr[0], 0x20);
	cr_assert_eq(skb->records[0].dst_addr[15], 0x10);
	cr_assert_arr_eq(skb->records[0].msg, msg.buf, msg.len);
	cr_assert_eq(walk(packet, len, 0)->emitted, 0);
}

Test(bpfparse, ignores_on_egress_what_is_no_answer_to_a_client)
{
	uint8_t packet[PACKET_BUF];
	struct wire msg;
	size_t len;

	/* The resolver's query upstream, and a client's query. */
	query(&msg, 1, "a.example.test", TYPE_A);
	len = wire_udp_packet(4, "198.51.100.1", 33000, "203.0.113.53", 53,
	    &msg, packet, sizeof(packet));
	cr_assert_eq(walk_egress(packet, len, 1)->emitted, 0);
	len = wire_udp_packet(6, "2001:db8:1::10", 5353, "2001:db8:1::1", 53,
	    &msg, packet, sizeof(packet));
	cr_assert_eq(walk_egress(packet, len, 1)->emitted, 0);
	/* A query sent from port 53, to a server or to any other port. */
	len = wire_udp_packet(4, "198.51.100.1", 53, "203.0.113.53", 53, &msg,
	    packet, sizeof(packet));
	cr_assert_eq(walk_egress(packet, len, 1)->emitted, 0);
	len = wire_udp_packet(4, "198.51.100.1", 53, "203.0.113.53", 5300,
	    &msg, packet, sizeof(packet));
	cr_assert_eq(walk_egress(packet, len, 1)->emitted, 0);
	/* A response from port 53 to port 53: between servers, no client's,
	 * over UDP or TCP. */
	answer(&msg, 1, "a.example.test");
	len = wire_udp_packet(4, "198.51.100.1", 53, "203.0.113.53", 53, &msg,
	    packet, sizeof(packet));
	cr_assert_eq(walk_egress(packet, len, 1)->emitted, 0);
	len = wire_tcp_packet(4, "198.51.100.1", 53, "203.0.113.53", 53, 0x18,
	    &msg, packet, sizeof(packet));
	cr_assert_eq(walk_egress(packet, len, 1)->emitted, 0);
}

Test(bpfparse, records_nothing_of_short_or_cut_answers)
{
	uint8_t packet[PACKET_BUF];
	struct wire msg;
	size_t len;

	answer(&msg, 1, "a.example.test");
	len = wire_udp_packet(4, "192.0.2.1", 53, "192.0.2.10", 1000, &msg,
	    packet, sizeof(packet));
	cr_assert_eq(walk_egress(packet, len, 1)->emitted, 1);
	/* Shorter than its IP header says, or than its UDP header says. */
	cr_assert_eq(walk_egress(packet, len - 1, 1)->emitted, 0);
	wire_put16(packet + 20 + 4, (uint16_t)(len - 20 + 1));
	cr_assert_eq(walk_egress(packet, len, 1)->emitted, 0);
	/* Cut inside the UDP header, or the IP header. */
	cr_assert_eq(walk_egress(packet, 20 + 4, 1)->emitted, 0);
	cr_assert_eq(walk_egress(packet, 10, 1)->emitted, 0);
	cr_assert_eq(walk_egress(packet, 0, 1)->emitted, 0);
	/* Less than a DNS header: no QR bit to read. */
	msg.len = 11;
	len = wire_udp_packet(4, "192.0.2.1", 53, "192.0.2.10", 1000, &msg,
	    packet, sizeof(packet));
	cr_assert_eq(walk_egress(packet, len, 1)->emitted, 0);
	msg.len = 2;
	len = wire_udp_packet(6, "2001:db8:1::1", 53, "2001:db8:1::10", 1000,
	    &msg, packet, sizeof(packet));
	cr_assert_eq(walk_egress(packet, len, 1)->emitted, 0);
	/* A fragment. */
	answer(&msg, 1, "a.example.test");
	len = wire_udp_packet(4, "192.0.2.1", 53, "192.0.2.10", 1000, &msg,
	    packet, sizeof(packet));
	wire_put16(packet + 6, 0x2000);
	cr_assert_eq(walk_egress(packet, len, 1)->emitted, 0);
}

/*
 * Widens the TCP header of the segment (after an IP header of ip_len bytes)
 * by options bytes of NOPs, setting its data offset to match.
 */
static void
tcp_options(uint8_t *packet, size_t *len, size_t ip_len, size_t options)
{
	uint8_t payload[PACKET_BUF];
	size_t tcp = ip_len + 20;
	size_t rest = *len - tcp;

	memcpy(payload, packet + tcp, rest);
	memset(packet + tcp, 1, options);
	*len = tcp + options;
	packet[ip_len + 12] = (uint8_t)((20 + options) / 4 << 4);
	append(packet, len, payload, rest);
}

Test(bpfparse, records_the_resolvers_ipv4_tcp_answer_on_egress)
{
	uint8_t packet[PACKET_BUF];
	struct wire msg;
	struct skb *skb;
	size_t len;

	answer(&msg, 0x4321, "tcp.example.test");
	len = wire_tcp_packet(4, "192.0.2.1", 53, "192.0.2.10", 41000, 0x18,
	    &msg, packet, sizeof(packet));
	skb = walk_egress(packet, len, 0x2b);
	/* The message without its length prefix. */
	assert_answer_v4(skb, IPPROTO_TCP, 0x2b, 41000, &msg);
	/* The ingress program reads no TCP at all. */
	cr_assert_eq(walk(packet, len, 0x2b)->emitted, 0);
}

Test(bpfparse, records_the_resolvers_ipv6_tcp_answer_after_its_options)
{
	uint8_t packet[PACKET_BUF];
	struct wire msg, second;
	struct skb *skb;
	size_t len;

	answer(&msg, 9, "v6tcp.example.test");
	len = wire_tcp_packet(6, "2001:db8:1::1", 53, "2001:db8:1::10", 42000,
	    0x18, &msg, packet, sizeof(packet));
	/* A timestamp option's worth: the payload starts at doff * 4. */
	tcp_options(packet, &len, 40, 12);
	skb = walk_egress(packet, len, 0);
	cr_assert_eq(skb->emitted, 1);
	cr_assert_eq(skb->records[0].family, 6);
	cr_assert_eq(skb->records[0].protocol, IPPROTO_TCP);
	cr_assert_eq(skb->records[0].src_port, 53);
	cr_assert_eq(skb->records[0].dst_port, 42000);
	cr_assert_eq(skb->records[0].src_addr[15], 0x01);
	cr_assert_eq(skb->records[0].dst_addr[0], 0x20);
	cr_assert_eq(skb->records[0].dst_addr[15], 0x10);
	cr_assert_eq(skb->records[0].msg_len, msg.len);
	cr_assert_eq(skb->records[0].copy_len, msg.len);
	cr_assert_arr_eq(skb->records[0].msg, msg.buf, msg.len);
	cr_assert_eq(walk(packet, len, 0)->emitted, 0);
	/* Two answers in one segment (pipelined queries): both. */
	answer(&second, 10, "second.example.test");
	append_framed(packet, &len, &second);
	skb = walk_egress(packet, len, 0);
	cr_assert_eq(skb->emitted, 2);
	cr_assert_eq(skb->records[0].msg_len, msg.len);
	cr_assert_arr_eq(skb->records[0].msg, msg.buf, msg.len);
	cr_assert_eq(skb->records[1].msg_len, second.len);
	cr_assert_eq(skb->records[1].copy_len, second.len);
	cr_assert_eq(skb->records[1].dst_port, 42000);
	cr_assert_arr_eq(skb->records[1].msg, second.buf, second.len);
}

/*
 * A segment with several answers: each is recorded, the last one cut if
 * the segment ends inside it, up to BPFPARSE_TCP_MESSAGES; a message that
 * is no answer, or too short for a header, ends the walk.
 */
Test(bpfparse, records_each_answer_of_a_tcp_segment)
{
	uint8_t packet[PACKET_BUF], prefix[2];
	struct wire msg;
	struct skb *skb;
	size_t len, first;

	answer(&msg, 1, "a.example.test");
	len = wire_tcp_packet(4, "192.0.2.1", 53, "192.0.2.10", 41000, 0x18,
	    &msg, packet, sizeof(packet));
	first = len;
	for (int i = 2; i <= BPFPARSE_TCP_MESSAGES + 2; i++) {
		answer(&msg, (uint16_t)i, "a.example.test");
		append_framed(packet, &len, &msg);
	}
	skb = walk_egress(packet, len, 0);
	cr_assert_eq(skb->emitted, BPFPARSE_TCP_MESSAGES);
	for (int i = 0; i < BPFPARSE_TCP_MESSAGES; i++)
		cr_assert_eq(skb->records[i].msg[0] << 8 | skb->records[i].msg[1],
		    i + 1);
	/* The second cut: its length says more than the segment holds. */
	len = first;
	answer(&msg, 2, "a.example.test");
	wire_put16(prefix, (uint16_t)(msg.len + 300));
	append(packet, &len, prefix, 2);
	append(packet, &len, msg.buf, msg.len);
	skb = walk_egress(packet, len, 0);
	cr_assert_eq(skb->emitted, 2);
	cr_assert_eq(skb->records[1].msg_len, msg.len + 300);
	cr_assert_eq(skb->records[1].copy_len, msg.len);
	/* The second a query, or shorter than a header: the first alone. */
	len = first;
	query(&msg, 2, "a.example.test", TYPE_A);
	append_framed(packet, &len, &msg);
	answer(&msg, 3, "a.example.test");
	append_framed(packet, &len, &msg);
	cr_assert_eq(walk_egress(packet, len, 0)->emitted, 1);
	len = first;
	msg.len = 11;
	append_framed(packet, &len, &msg);
	cr_assert_eq(walk_egress(packet, len, 0)->emitted, 1);
}

Test(bpfparse, copies_of_a_tcp_answer_what_its_segment_holds)
{
	uint8_t packet[PACKET_BUF], opt[1000];
	struct wire msg;
	struct skb *skb;
	size_t len;

	answer(&msg, 11, "long.example.test");
	memset(opt, 0, sizeof(opt));
	wire_bytes(&msg, opt, sizeof(opt));
	len = wire_tcp_packet(4, "192.0.2.1", 53, "192.0.2.10", 41000, 0x18,
	    &msg, packet, sizeof(packet));
	skb = walk_egress(packet, len, 0);
	cr_assert_eq(skb->emitted, 1);
	cr_assert_eq(skb->records[0].msg_len, msg.len);
	cr_assert_eq(skb->records[0].copy_len, BPFRECORD_MSG_MAX);
	cr_assert_arr_eq(skb->records[0].msg, msg.buf, BPFRECORD_MSG_MAX);
	/* The rest of the answer in later segments: only the first 100
	 * bytes of it are here, and only those are copied. */
	len = 20 + 20 + 2 + 100;
	wire_put16(packet + 2, (uint16_t)len);
	skb = walk_egress(packet, len, 0);
	cr_assert_eq(skb->emitted, 1);
	cr_assert_eq(skb->records[0].msg_len, msg.len);
	cr_assert_eq(skb->records[0].copy_len, 100);
	cr_assert_arr_eq(skb->records[0].msg, msg.buf, 100);
}

/*
 * The segment of the resolver's answers to 192.0.2.10 that carries the
 * stream's bytes [from, to) at sequence number isn + from, read with the
 * socket's stream (NULL: none).
 */
static struct skb *
walk_stream(const struct wire *stream, size_t from, size_t to, uint32_t isn,
    struct bpfparse_stream *state)
{
	static uint8_t packet[PACKET_BUF];
	struct skb *skb;
	size_t len;

	len = wire_tcp_packet(4, "192.0.2.1", 53, "192.0.2.10", 41000, 0x18,
	    NULL, packet, sizeof(packet));
	wire_put16(packet + 20 + 4, (uint16_t)((isn + from) >> 16));
	wire_put16(packet + 20 + 6, (uint16_t)(isn + from));
	append(packet, &len, stream->buf + from, to - from);
	skb = skb_new(packet, len, 0);
	skb->stream = state;
	cr_assert_eq(bpfparse_answer(skb, skb->len), skb->emitted);
	return skb;
}

static uint16_t
record_id(const struct skb *skb, int i)
{
	return (uint16_t)(skb->records[i].msg[0] << 8 | skb->records[i].msg[1]);
}

/* Appends answer id for name, framed, to the stream; with pad zero bytes
 * after its record (a long answer).  Returns where it starts. */
static size_t
stream_answer(struct wire *stream, uint16_t id, const char *name, size_t pad)
{
	static const uint8_t zeros[1200];
	size_t start = stream->len;
	struct wire msg;

	answer(&msg, id, name);
	wire_bytes(&msg, zeros, pad);
	wire_u16(stream, (uint16_t)msg.len);
	wire_bytes(stream, msg.buf, msg.len);
	return start;
}

/*
 * Over one TCP connection a long answer's end and the start of the next
 * share a segment (BIND's 60-record AAAA, then the HTTPS answer): with the
 * socket's stream the next answer is found where it starts, and the middle
 * of a long answer is never read as one, at any sequence number (across
 * the wrap too); a retransmission records nothing again.  Without a
 * stream (a connection older than the program) each segment is read as
 * starting with a message, and those answers are missed.
 */
Test(bpfparse, finds_tcp_answers_where_the_stream_starts_them)
{
	static const uint32_t isns[] = { 1, 0x7fffff00, 0xfffffc00 };
	struct bpfparse_stream state;
	struct wire stream = { .len = 0 };
	size_t second, third;
	struct skb *skb;

	stream_answer(&stream, 1, "big.pop.test", 1000);
	second = stream_answer(&stream, 2, "big.pop.test", 0);
	third = stream_answer(&stream, 3, "big.pop.test", 0);
	for (size_t i = 0; i < sizeof(isns) / sizeof(isns[0]); i++) {
		memset(&state, 0, sizeof(state));
		skb = walk_stream(&stream, 0, 700, isns[i], &state);
		cr_assert_eq(skb->emitted, 1);
		cr_assert_eq(record_id(skb, 0), 1);
		cr_assert_eq(skb->records[0].copy_len, BPFRECORD_MSG_MAX);
		cr_assert_eq(state.known, 1);
		cr_assert_eq(state.next_seq, isns[i] + (uint32_t)second);
		/* The long answer's end and 30 bytes of the second. */
		skb = walk_stream(&stream, 700, second + 30, isns[i], &state);
		cr_assert_eq(skb->emitted, 1, "isn %#x: %d emitted", isns[i],
		    skb->emitted);
		cr_assert_eq(record_id(skb, 0), 2);
		cr_assert_eq(skb->records[0].copy_len, 30 - 2);
		cr_assert_eq(state.next_seq, isns[i] + (uint32_t)third);
		/* The second's rest and the third. */
		skb = walk_stream(&stream, second + 30, stream.len, isns[i],
		    &state);
		cr_assert_eq(skb->emitted, 1);
		cr_assert_eq(record_id(skb, 0), 3);
		cr_assert_arr_eq(skb->records[0].msg, stream.buf + third + 2,
		    stream.len - third - 2);
		cr_assert_eq(state.next_seq, isns[i] + (uint32_t)stream.len);
		/* A retransmission of the middle: nothing, nothing changed. */
		cr_assert_eq(walk_stream(&stream, 700, second + 30, isns[i],
		    &state)->emitted, 0);
		cr_assert_eq(state.next_seq, isns[i] + (uint32_t)stream.len);
		cr_assert_eq(state.known, 1);
	}
	/* Without the stream, the second and third are missed. */
	cr_assert_eq(walk_stream(&stream, 700, second + 30, 1, NULL)->emitted,
	    0);
	cr_assert_eq(walk_stream(&stream, second + 30, stream.len, 1,
	    NULL)->emitted, 0);
}

/*
 * Where the walk loses the framing (more answers in a segment than it
 * reads, bytes that are no answer, a segment that ends inside a length),
 * the stream no longer holds, and the next segment is read as starting
 * with a message, as without one.
 */
Test(bpfparse, reads_a_segment_from_its_start_once_the_framing_is_lost)
{
	struct bpfparse_stream state;
	struct wire stream = { .len = 0 };
	struct wire msg;
	size_t cut, after, second;
	struct skb *skb;

	for (int i = 1; i <= BPFPARSE_TCP_MESSAGES + 1; i++)
		stream_answer(&stream, (uint16_t)i, "a.example.test", 0);
	after = stream.len;
	stream_answer(&stream, 100, "a.example.test", 0);
	memset(&state, 0, sizeof(state));
	skb = walk_stream(&stream, 0, after, 1, &state);
	cr_assert_eq(skb->emitted, BPFPARSE_TCP_MESSAGES);
	/* Where the ninth starts: behind the next segment. */
	cr_assert_eq(state.known, 1);
	skb = walk_stream(&stream, after, stream.len, 1, &state);
	cr_assert_eq(skb->emitted, 1);
	cr_assert_eq(record_id(skb, 0), 100);
	cr_assert_eq(state.next_seq, 1 + (uint32_t)stream.len);

	/* A query in the stream: lost; the next segment from its start. */
	stream.len = 0;
	stream_answer(&stream, 1, "a.example.test", 0);
	query(&msg, 2, "a.example.test", TYPE_A);
	wire_u16(&stream, (uint16_t)msg.len);
	wire_bytes(&stream, msg.buf, msg.len);
	after = stream.len;
	stream_answer(&stream, 3, "a.example.test", 0);
	memset(&state, 0, sizeof(state));
	cr_assert_eq(walk_stream(&stream, 0, after, 1, &state)->emitted, 1);
	cr_assert_eq(state.known, 0);
	skb = walk_stream(&stream, after, stream.len, 1, &state);
	cr_assert_eq(skb->emitted, 1);
	cr_assert_eq(record_id(skb, 0), 3);
	cr_assert_eq(state.known, 1);

	/* A segment that ends after one byte of the next length: lost. */
	stream.len = 0;
	stream_answer(&stream, 1, "a.example.test", 0);
	second = stream_answer(&stream, 2, "a.example.test", 0);
	cut = second + 1;
	memset(&state, 0, sizeof(state));
	cr_assert_eq(walk_stream(&stream, 0, cut, 1, &state)->emitted, 1);
	cr_assert_eq(state.known, 0);
	/* Ends after the length and 5 bytes of the header: known, nothing
	 * recorded of it (its header is not there). */
	cut = second + 2 + 5;
	memset(&state, 0, sizeof(state));
	cr_assert_eq(walk_stream(&stream, 0, cut, 1, &state)->emitted, 1);
	cr_assert_eq(state.known, 1);
	cr_assert_eq(state.next_seq, 1 + (uint32_t)stream.len);
}

Test(bpfparse, ignores_tcp_queries_on_either_side)
{
	uint8_t packet[PACKET_BUF];
	struct wire msg;
	size_t len;

	query(&msg, 1, "q.example.test", TYPE_A);
	/* A client's query to the resolver, over IPv4 and IPv6. */
	len = wire_tcp_packet(4, "192.0.2.10", 41000, "192.0.2.1", 53, 0x18,
	    &msg, packet, sizeof(packet));
	cr_assert_eq(walk_egress(packet, len, 1)->emitted, 0);
	cr_assert_eq(walk(packet, len, 1)->emitted, 0);
	len = wire_tcp_packet(6, "2001:db8:1::10", 41000, "2001:db8:1::1", 53,
	    0x18, &msg, packet, sizeof(packet));
	cr_assert_eq(walk_egress(packet, len, 1)->emitted, 0);
	cr_assert_eq(walk(packet, len, 1)->emitted, 0);
	/* The resolver's query upstream. */
	len = wire_tcp_packet(4, "198.51.100.1", 33000, "203.0.113.53", 53,
	    0x18, &msg, packet, sizeof(packet));
	cr_assert_eq(walk_egress(packet, len, 1)->emitted, 0);
	cr_assert_eq(walk(packet, len, 1)->emitted, 0);
	/* A query (QR clear) from port 53 to another port. */
	len = wire_tcp_packet(4, "192.0.2.1", 53, "192.0.2.10", 41000, 0x18,
	    &msg, packet, sizeof(packet));
	cr_assert_eq(walk_egress(packet, len, 1)->emitted, 0);
	/* An upstream server's answer, on the resolver's ingress. */
	answer(&msg, 1, "q.example.test");
	len = wire_tcp_packet(4, "203.0.113.53", 53, "198.51.100.1", 33000,
	    0x18, &msg, packet, sizeof(packet));
	cr_assert_eq(walk(packet, len, 1)->emitted, 0);
}

Test(bpfparse, records_nothing_of_tcp_segments_without_an_answer)
{
	static const uint8_t flags[] = { 0x10, 0x12, 0x11, 0x19, 0x04 };
	uint8_t packet[PACKET_BUF];
	struct wire msg;
	size_t len;

	/* ACK, SYN-ACK, FIN-ACK, FIN-PSH-ACK, RST: no payload. */
	for (size_t i = 0; i < sizeof(flags); i++) {
		len = wire_tcp_packet(4, "192.0.2.1", 53, "192.0.2.10", 41000,
		    flags[i], NULL, packet, sizeof(packet));
		cr_assert_eq(walk_egress(packet, len, 1)->emitted, 0,
		    "flags 0x%02x", flags[i]);
		len = wire_tcp_packet(6, "2001:db8:1::1", 53, "2001:db8:1::10",
		    41000, flags[i], NULL, packet, sizeof(packet));
		cr_assert_eq(walk_egress(packet, len, 1)->emitted, 0,
		    "flags 0x%02x", flags[i]);
	}
	/* 13 bytes of payload: the prefix and less than a DNS header. */
	answer(&msg, 1, "a.example.test");
	msg.len = 11;
	len = wire_tcp_packet(4, "192.0.2.1", 53, "192.0.2.10", 41000, 0x18,
	    &msg, packet, sizeof(packet));
	cr_assert_eq(len, 20 + 20 + 13);
	cr_assert_eq(walk_egress(packet, len, 1)->emitted, 0);
	/* 14 bytes, a bare header with QR set: the least that is recorded. */
	msg.len = 12;
	len = wire_tcp_packet(4, "192.0.2.1", 53, "192.0.2.10", 41000, 0x18,
	    &msg, packet, sizeof(packet));
	cr_assert_eq(walk_egress(packet, len, 1)->emitted, 1);
	/* The same bytes behind a prefix of less than a DNS header. */
	wire_put16(packet + 40, 11);
	cr_assert_eq(walk_egress(packet, len, 1)->emitted, 0);
	wire_put16(packet + 40, 0);
	cr_assert_eq(walk_egress(packet, len, 1)->emitted, 0);
	/* A whole answer, cut inside the TCP header or shorter than the IP
	 * header says. */
	answer(&msg, 1, "a.example.test");
	len = wire_tcp_packet(4, "192.0.2.1", 53, "192.0.2.10", 41000, 0x18,
	    &msg, packet, sizeof(packet));
	cr_assert_eq(walk_egress(packet, len, 1)->emitted, 1);
	cr_assert_eq(walk_egress(packet, len - 1, 1)->emitted, 0);
	wire_put16(packet + 2, 20 + 19);
	cr_assert_eq(walk_egress(packet, 20 + 19, 1)->emitted, 0);
}

Test(bpfparse, records_nothing_of_a_tcp_segment_with_a_bad_data_offset)
{
	uint8_t packet[PACKET_BUF];
	struct wire msg;
	size_t len;

	answer(&msg, 1, "a.example.test");
	len = wire_tcp_packet(4, "192.0.2.1", 53, "192.0.2.10", 41000, 0x18,
	    &msg, packet, sizeof(packet));
	/* A sequence number with its top bit set, where a data offset of 0
	 * would find the QR bit (the ports read as prefix and id). */
	packet[20 + 4] = 0x80;
	cr_assert_eq(walk_egress(packet, len, 1)->emitted, 1);
	/* Less than the fixed header: 0 and 16 bytes. */
	packet[20 + 12] = 0 << 4;
	cr_assert_eq(walk_egress(packet, len, 1)->emitted, 0);
	packet[20 + 12] = 4 << 4;
	cr_assert_eq(walk_egress(packet, len, 1)->emitted, 0);
	/* Beyond the packet: 60 bytes of header in a packet of 20 + 20 + 2
	 * + 12. */
	msg.len = 12;
	len = wire_tcp_packet(4, "192.0.2.1", 53, "192.0.2.10", 41000, 0x18,
	    &msg, packet, sizeof(packet));
	packet[20 + 12] = 15 << 4;
	cr_assert_eq(walk_egress(packet, len, 1)->emitted, 0);
	/* An offset within the packet but past where the payload starts:
	 * what is read there as prefix and header has QR clear. */
	answer(&msg, 1, "a.example.test");
	len = wire_tcp_packet(6, "2001:db8:1::1", 53, "2001:db8:1::10", 41000,
	    0x18, &msg, packet, sizeof(packet));
	cr_assert_eq(walk_egress(packet, len, 1)->emitted, 1);
	packet[40 + 12] = 6 << 4;
	cr_assert_eq(walk_egress(packet, len, 1)->emitted, 0);
	/* Up to the packet's end: no payload left. */
	len = wire_tcp_packet(6, "2001:db8:1::1", 53, "2001:db8:1::10", 41000,
	    0x18, NULL, packet, sizeof(packet));
	tcp_options(packet, &len, 40, 40);
	cr_assert_eq(walk_egress(packet, len, 1)->emitted, 0);
	packet[40 + 12] = 14 << 4;
	append_framed(packet, &len, &msg);
	cr_assert_eq(walk_egress(packet, len, 1)->emitted, 0,
	    "4 bytes of options taken for the prefix and the header");
	packet[40 + 12] = 15 << 4;
	cr_assert_eq(walk_egress(packet, len, 1)->emitted, 1);
}

Test(bpfrecord, decodes_what_the_program_writes)
{
	uint8_t packet[PACKET_BUF];
	struct bpfrecord_client client;
	struct wire msg;
	struct skb *skb;
	size_t len;

	query(&msg, 5, "d.example.test", TYPE_A);
	len = wire_udp_packet(6, "2001:db8:1::12", 999, "2001:db8:1::1", 53,
	    &msg, packet, sizeof(packet));
	skb = walk(packet, len, 3);
	cr_assert_eq(bpfrecord_decode(&skb->records[0],
	    sizeof(skb->records[0]), &client), 0);
	cr_assert_eq(client.info.src.family, AF_INET6);
	cr_assert_eq(client.info.dst.family, AF_INET6);
	cr_assert_eq(client.info.protocol, IPPROTO_UDP);
	cr_assert_eq(client.info.src.port, 999);
	cr_assert_eq(client.info.dst.port, 53);
	cr_assert_arr_eq(client.info.src.addr, packet + 8, 16);
	cr_assert_eq(client.info.payload_len, msg.len);
	cr_assert_arr_eq(client.info.payload, msg.buf, msg.len);
	cr_assert_eq(client.mark, 3);
	cr_assert_eq(client.time_ms, 7);

	len = wire_udp_packet(4, "192.0.2.10", 999, "192.0.2.1", 53, &msg,
	    packet, sizeof(packet));
	skb = walk(packet, len, 1);
	cr_assert_eq(bpfrecord_decode(&skb->records[0],
	    sizeof(skb->records[0]), &client), 0);
	cr_assert_eq(client.info.src.family, AF_INET);
	cr_assert_arr_eq(client.info.src.addr,
	    ((uint8_t[16]){ 192, 0, 2, 10 }), 16);
}

Test(bpfrecord, decodes_an_answer_from_port_53)
{
	uint8_t packet[PACKET_BUF];
	struct bpfrecord_client client;
	struct wire msg;
	struct skb *skb;
	size_t len;

	answer(&msg, 5, "d.example.test");
	len = wire_udp_packet(4, "192.0.2.1", 53, "192.0.2.10", 999, &msg,
	    packet, sizeof(packet));
	skb = walk_egress(packet, len, 0);
	cr_assert_eq(bpfrecord_decode(&skb->records[0],
	    sizeof(skb->records[0]), &client), 0);
	cr_assert_eq(client.info.src.family, AF_INET);
	cr_assert_eq(client.info.protocol, IPPROTO_UDP);
	cr_assert_eq(client.info.src.port, 53);
	cr_assert_eq(client.info.dst.port, 999);
	cr_assert_arr_eq(client.info.src.addr,
	    ((uint8_t[16]){ 192, 0, 2, 1 }), 16);
	cr_assert_arr_eq(client.info.dst.addr,
	    ((uint8_t[16]){ 192, 0, 2, 10 }), 16);
	cr_assert_eq(client.info.payload_len, msg.len);
	cr_assert_arr_eq(client.info.payload, msg.buf, msg.len);
	cr_assert_neq(client.info.payload[2] & 0x80, 0, "QR is set");

	len = wire_udp_packet(6, "2001:db8:1::1", 53, "2001:db8:1::12", 999,
	    &msg, packet, sizeof(packet));
	skb = walk_egress(packet, len, 0);
	cr_assert_eq(bpfrecord_decode(&skb->records[0],
	    sizeof(skb->records[0]), &client), 0);
	cr_assert_eq(client.info.dst.family, AF_INET6);
	cr_assert_eq(client.info.src.port, 53);
	cr_assert_arr_eq(client.info.dst.addr, packet + 24, 16);
}

Test(bpfrecord, decodes_a_tcp_answer)
{
	uint8_t packet[PACKET_BUF];
	struct bpfrecord_client client;
	struct wire msg;
	struct skb *skb;
	size_t len;

	answer(&msg, 6, "t.example.test");
	len = wire_tcp_packet(6, "2001:db8:1::1", 53, "2001:db8:1::12", 4999,
	    0x18, &msg, packet, sizeof(packet));
	skb = walk_egress(packet, len, 0);
	cr_assert_eq(skb->emitted, 1);
	cr_assert_eq(bpfrecord_decode(&skb->records[0],
	    sizeof(skb->records[0]), &client), 0);
	cr_assert_eq(client.info.src.family, AF_INET6);
	cr_assert_eq(client.info.protocol, IPPROTO_TCP);
	cr_assert_eq(client.info.tcp_flags, 0);
	cr_assert_eq(client.info.src.port, 53);
	cr_assert_eq(client.info.dst.port, 4999);
	cr_assert_arr_eq(client.info.dst.addr, packet + 24, 16);
	cr_assert_eq(client.info.payload_len, msg.len);
	cr_assert_arr_eq(client.info.payload, msg.buf, msg.len,
	    "the message, without its length prefix");
}

Test(bpfrecord, refuses_inconsistent_records)
{
	struct bpfrecord_client client;
	struct bpfrecord record;

	memset(&record, 0, sizeof(record));
	record.family = 4;
	record.protocol = IPPROTO_UDP;
	record.msg_len = 40;
	record.copy_len = 40;
	cr_assert_eq(bpfrecord_decode(&record, sizeof(record), &client), 0);
	cr_assert_lt(bpfrecord_decode(&record, sizeof(record) - 1, &client), 0);
	record.family = 5;
	cr_assert_lt(bpfrecord_decode(&record, sizeof(record), &client), 0);
	record.family = 6;
	cr_assert_eq(bpfrecord_decode(&record, sizeof(record), &client), 0);
	/* The programs record UDP and TCP only (TCP for answers). */
	record.protocol = IPPROTO_TCP;
	cr_assert_eq(bpfrecord_decode(&record, sizeof(record), &client), 0);
	cr_assert_eq(client.info.protocol, IPPROTO_TCP);
	record.protocol = IPPROTO_ICMPV6;
	cr_assert_lt(bpfrecord_decode(&record, sizeof(record), &client), 0);
	record.protocol = 0;
	cr_assert_lt(bpfrecord_decode(&record, sizeof(record), &client), 0);
	record.protocol = IPPROTO_SCTP;
	cr_assert_lt(bpfrecord_decode(&record, sizeof(record), &client), 0);
	record.protocol = IPPROTO_UDP;
	cr_assert_eq(bpfrecord_decode(&record, sizeof(record), &client), 0);
	cr_assert_eq(client.info.protocol, IPPROTO_UDP);
	record.copy_len = 41;
	cr_assert_lt(bpfrecord_decode(&record, sizeof(record), &client), 0);
	record.msg_len = 1000;
	record.copy_len = BPFRECORD_MSG_MAX + 1;
	cr_assert_lt(bpfrecord_decode(&record, sizeof(record), &client), 0);
}

static const uint8_t test_key[SIPHASH_KEY_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8 };

/* A judge with 64 pending questions of 5 s, counting into stats. */
static void
judge_bed(struct judge *judge, struct stats *stats)
{
	struct judge_config config = { .max_pending = 64, .timeout_ms = 5000,
		.mask = 0xffffffff };

	memset(stats, 0, sizeof(*stats));
	memcpy(config.key, test_key, sizeof(config.key));
	cr_assert_eq(judge_init(judge, &config, stats), 0);
}

/* Feeds one recorded client packet to the judge, as dnsmark does. */
static void
record_client(struct judge *judge, const uint8_t *packet, size_t len,
    uint32_t mark, uint64_t now_ms)
{
	struct bpfrecord_client client;
	struct skb *skb = walk(packet, len, mark);

	for (int i = 0; i < skb->emitted; i++) {
		cr_assert_eq(bpfrecord_decode(&skb->records[i],
		    sizeof(skb->records[i]), &client), 0);
		judge_client_message(judge, &client.info, client.mark,
		    client.info.payload, client.info.payload_len, now_ms);
	}
}

/* The verdict for the resolver's upstream query of name, on LOCAL_OUT. */
static struct judge_verdict
upstream(struct judge *judge, const char *name, uint64_t now_ms)
{
	struct judge_packet pkt = { .hook = JUDGE_HOOK_LOCAL_OUT };
	uint8_t packet[PACKET_BUF];
	struct wire msg;

	query(&msg, 0xbeef, name, TYPE_A);
	pkt.len = wire_udp_packet(4, "198.51.100.1", 33333, "203.0.113.53",
	    53, &msg, packet, sizeof(packet));
	pkt.data = packet;
	return judge_packet(judge, &pkt, now_ms);
}

Test(bpfrecord, recorded_client_queries_mark_upstream_queries)
{
	uint8_t packet[PACKET_BUF];
	struct judge_verdict verdict;
	struct stats stats;
	struct judge judge;
	struct wire a, b, c;
	size_t len;

	judge_bed(&judge, &stats);
	query(&a, 1, "Mixed.Example.TEST", TYPE_A);
	len = wire_udp_packet(4, "192.0.2.10", 1000, "192.0.2.1", 53, &a,
	    packet, sizeof(packet));
	record_client(&judge, packet, len, 1, 100);
	query(&b, 2, "b.example.test", TYPE_A);
	len = wire_udp_packet(6, "2001:db8:1::11", 2000, "2001:db8:1::1", 53,
	    &b, packet, sizeof(packet));
	record_client(&judge, packet, len, 2, 110);
	/* A TCP query is not recorded: it reaches the judge on the queue. */
	query(&c, 3, "c.example.test", TYPE_A);
	len = wire_tcp_packet(6, "2001:db8:1::11", 2001, "2001:db8:1::1", 53,
	    0x18, &c, packet, sizeof(packet));
	record_client(&judge, packet, len, 3, 110);
	cr_assert_eq(stats.counter[STATS_CLIENT_QUERIES], 2);

	verdict = upstream(&judge, "mixed.example.test", 120);
	cr_assert(verdict.set_mark);
	cr_assert_eq(verdict.mark, 1);
	verdict = upstream(&judge, "B.example.TEST", 120);
	cr_assert(verdict.set_mark);
	cr_assert_eq(verdict.mark, 2, "the IPv6 query was recorded");
	cr_assert_eq(stats.counter[STATS_ATTRIB_EXACT], 2);
	judge_free(&judge);
}

/*
 * A client's question over TCP comes through the queue; the resolver's
 * answer to it, recorded on egress, tells the judge it was answered.
 */
Test(bpfrecord, recorded_tcp_answers_settle_queued_tcp_questions)
{
	struct judge_packet pkt = { .hook = JUDGE_HOOK_LOCAL_IN, .mark = 4 };
	uint8_t packet[PACKET_BUF];
	struct bpfrecord_client client;
	struct stats stats;
	struct judge judge;
	struct wire msg;
	struct skb *skb;

	judge_bed(&judge, &stats);
	query(&msg, 0x7777, "tcp.example.test", TYPE_A);
	pkt.len = wire_tcp_packet(4, "192.0.2.10", 41000, "192.0.2.1", 53,
	    0x18, &msg, packet, sizeof(packet));
	pkt.data = packet;
	judge_packet(&judge, &pkt, 100);
	cr_assert_eq(stats.counter[STATS_CLIENT_QUERIES], 1);
	answer(&msg, 0x7777, "tcp.example.test");
	skb = walk_egress(packet, wire_tcp_packet(4, "192.0.2.1", 53,
	    "192.0.2.10", 41000, 0x18, &msg, packet, sizeof(packet)), 0);
	cr_assert_eq(skb->emitted, 1);
	cr_assert_eq(bpfrecord_decode(&skb->records[0],
	    sizeof(skb->records[0]), &client), 0);
	judge_client_message(&judge, &client.info, client.mark,
	    client.info.payload, client.info.payload_len, 110);
	cr_assert_eq(stats.counter[STATS_CLIENT_ANSWERS], 1);
	cr_assert_eq(stats.counter[STATS_CLIENT_ANSWERS_MATCHED], 1);
	cr_assert_eq(stats.counter[STATS_CLIENT_QUERIES], 1);
	judge_free(&judge);
}

Test(bpfrecord, mark_zero_clients_count_for_conflicts)
{
	uint8_t packet[PACKET_BUF];
	struct judge_verdict verdict;
	struct stats stats;
	struct judge judge;
	struct wire a;
	size_t len;

	judge_bed(&judge, &stats);
	query(&a, 1, "shared.example.test", TYPE_A);
	len = wire_udp_packet(4, "192.0.2.10", 1000, "192.0.2.1", 53, &a,
	    packet, sizeof(packet));
	record_client(&judge, packet, len, 1, 100);
	len = wire_udp_packet(4, "192.0.2.20", 1000, "192.0.2.1", 53, &a,
	    packet, sizeof(packet));
	record_client(&judge, packet, len, 0, 100);
	verdict = upstream(&judge, "shared.example.test", 101);
	cr_assert_not(verdict.set_mark,
	    "an unmarked client asked too: a conflict, left unmarked");
	judge_free(&judge);
}

Test(bpfrecord, counts_what_is_no_client_question)
{
	uint8_t packet[PACKET_BUF];
	struct stats stats;
	struct judge judge;
	struct wire msg;
	size_t len;

	judge_bed(&judge, &stats);
	msg.len = 0;
	wire_header(&msg, 1, 0x8180, 1, 0, 0, 0);	/* a response */
	wire_question(&msg, "r.example.test", TYPE_A);
	len = wire_udp_packet(4, "192.0.2.10", 1000, "192.0.2.1", 53, &msg,
	    packet, sizeof(packet));
	record_client(&judge, packet, len, 1, 100);
	cr_assert_eq(stats.counter[STATS_IGNORED_CLIENT_RESPONSE], 1);
	msg.len = 0;
	wire_header(&msg, 1, 0x0100, 2, 0, 0, 0);	/* two questions */
	wire_question(&msg, "q.example.test", TYPE_A);
	len = wire_udp_packet(4, "192.0.2.10", 1000, "192.0.2.1", 53, &msg,
	    packet, sizeof(packet));
	record_client(&judge, packet, len, 1, 100);
	cr_assert_eq(stats.counter[STATS_BAD_DNS_QDCOUNT], 1);
	cr_assert_eq(stats.counter[STATS_CLIENT_QUERIES], 0);
	judge_free(&judge);
}

/* The ingress program's other walk: upstream servers' responses. */
static struct skb *
walk_response(const uint8_t *packet, size_t len)
{
	struct skb *skb = skb_new(packet, len, 0);

	cr_assert_eq(bpfparse_response(skb, skb->len), skb->emitted);
	return skb;
}

/* An upstream server's answer: www.example.test is a CNAME for
 * target.other.test. */
static void
cname_answer(struct wire *w, uint16_t id, uint16_t flags)
{
	size_t rdlength;

	w->len = 0;
	wire_header(w, id, flags, 1, 1, 0, 0);
	wire_question(w, "www.example.test", TYPE_A);
	wire_pointer(w, 12);
	rdlength = wire_rr_begin(w, 5);		/* CNAME */
	wire_name(w, "target.other.test");
	wire_rr_end(w, rdlength);
}

Test(bpfparse, records_upstream_udp_responses_on_ingress)
{
	uint8_t packet[PACKET_BUF];
	struct wire msg;
	struct skb *skb;
	size_t len;

	cname_answer(&msg, 0x4242, 0x8180);
	len = wire_udp_packet(4, "203.0.113.53", 53, "198.51.100.1", 40000,
	    &msg, packet, sizeof(packet));
	skb = walk_response(packet, len);
	cr_assert_eq(skb->emitted, 1);
	cr_assert_eq(skb->records[0].src_port, 53);
	cr_assert_eq(skb->records[0].dst_port, 40000);
	cr_assert_eq(skb->records[0].protocol, IPPROTO_UDP);
	cr_assert_eq(skb->records[0].msg_len, msg.len);
	cr_assert_arr_eq(skb->records[0].msg, msg.buf, msg.len);
	/* Not a client query. */
	cr_assert_eq(walk(packet, len, 0)->emitted, 0);

	len = wire_udp_packet(6, "2001:db8:2::53", 53, "2001:db8:1::1", 40001,
	    &msg, packet, sizeof(packet));
	skb = walk_response(packet, len);
	cr_assert_eq(skb->emitted, 1);
	cr_assert_eq(skb->records[0].family, 6);
	cr_assert_eq(skb->records[0].dst_port, 40001);
}

Test(bpfparse, leaves_truncated_responses_to_the_queue)
{
	uint8_t packet[PACKET_BUF];
	struct wire msg;
	size_t len;

	cname_answer(&msg, 0x4242, 0x8380);	/* QR, TC, RD, RA */
	len = wire_udp_packet(4, "203.0.113.53", 53, "198.51.100.1", 40000,
	    &msg, packet, sizeof(packet));
	cr_assert_eq(walk_response(packet, len)->emitted, 0);
}

Test(bpfparse, records_as_responses_only_answers_from_port_53_over_udp)
{
	uint8_t packet[PACKET_BUF];
	struct wire msg;
	size_t len;

	/* A query from port 53 is none. */
	query(&msg, 1, "q.example.test", TYPE_A);
	len = wire_udp_packet(4, "203.0.113.53", 53, "198.51.100.1", 40000,
	    &msg, packet, sizeof(packet));
	cr_assert_eq(walk_response(packet, len)->emitted, 0);
	/* Nor an answer to port 53 (a server's exchange with another). */
	cname_answer(&msg, 2, 0x8180);
	len = wire_udp_packet(4, "203.0.113.53", 53, "198.51.100.1", 53,
	    &msg, packet, sizeof(packet));
	cr_assert_eq(walk_response(packet, len)->emitted, 0);
	/* Nor one from another port. */
	len = wire_udp_packet(4, "203.0.113.53", 5353, "198.51.100.1", 40000,
	    &msg, packet, sizeof(packet));
	cr_assert_eq(walk_response(packet, len)->emitted, 0);
	/* Over TCP responses stay on the queue. */
	len = wire_tcp_packet(4, "203.0.113.53", 53, "198.51.100.1", 40000,
	    0x18, &msg, packet, sizeof(packet));
	cr_assert_eq(walk_response(packet, len)->emitted, 0);
}

Test(bpfrecord, decodes_a_response_record_as_long_as_its_copy)
{
	static struct bpfrecord_response record;
	size_t header = offsetof(struct bpfrecord_response, msg);
	struct bpfrecord_client client;

	memset(&record, 0, sizeof(record));
	record.family = 4;
	record.protocol = IPPROTO_UDP;
	record.kind = BPFRECORD_RESPONSE;
	record.src_port = 53;
	record.dst_port = 40000;
	record.msg_len = 1500;
	record.copy_len = 1000;
	cr_assert_eq(bpfrecord_decode(&record, header + 1000, &client), 0);
	cr_assert_eq(client.kind, BPFRECORD_RESPONSE);
	cr_assert_eq(client.info.payload_len, 1000);
	cr_assert_eq(client.partial, 1);
	cr_assert_lt(bpfrecord_decode(&record, header + 999, &client), 0);
	record.copy_len = 1500;
	cr_assert_eq(bpfrecord_decode(&record, header + 1500, &client), 0);
	cr_assert_eq(client.partial, 0);
	record.msg_len = BPFRECORD_RESPONSE_MAX + 10;
	record.copy_len = BPFRECORD_RESPONSE_MAX + 1;
	cr_assert_lt(bpfrecord_decode(&record, sizeof(record) + 1, &client), 0);
	/* Responses come over UDP only. */
	record.msg_len = record.copy_len = 100;
	record.protocol = IPPROTO_TCP;
	cr_assert_lt(bpfrecord_decode(&record, header + 100, &client), 0);
	/* A client record is never short. */
	record.protocol = IPPROTO_UDP;
	record.kind = BPFRECORD_CLIENT;
	cr_assert_lt(bpfrecord_decode(&record, header + 100, &client), 0);
	record.kind = BPFRECORD_QUEUED;
	cr_assert_eq(bpfrecord_decode(&record, sizeof(record), &client), 0);
	cr_assert_eq(client.kind, BPFRECORD_QUEUED);
	record.kind = 4;
	cr_assert_lt(bpfrecord_decode(&record, sizeof(record), &client), 0);
}

/*
 * A response read from the ring teaches as a queued one does: the CNAME
 * target the resolver asks next takes the mark of the client behind the
 * query it answers.
 */
Test(bpfrecord, recorded_responses_teach_cname_targets)
{
	static struct bpfrecord_response record;
	struct judge_packet pkt = { .hook = JUDGE_HOOK_LOCAL_OUT };
	uint8_t packet[PACKET_BUF];
	struct bpfrecord_client client;
	struct judge_verdict verdict;
	struct stats stats;
	struct judge judge;
	struct wire msg;
	struct skb *skb;
	size_t len;

	judge_bed(&judge, &stats);
	query(&msg, 1, "www.example.test", TYPE_A);
	len = wire_udp_packet(4, "192.0.2.10", 1000, "192.0.2.1", 53, &msg,
	    packet, sizeof(packet));
	record_client(&judge, packet, len, 5, 100);
	query(&msg, 0x4242, "www.example.test", TYPE_A);
	pkt.len = wire_udp_packet(4, "198.51.100.1", 40000, "203.0.113.53", 53,
	    &msg, packet, sizeof(packet));
	pkt.data = packet;
	verdict = judge_packet(&judge, &pkt, 101);
	cr_assert_eq(verdict.mark, 5);

	cname_answer(&msg, 0x4242, 0x8180);
	len = wire_udp_packet(4, "203.0.113.53", 53, "198.51.100.1", 40000,
	    &msg, packet, sizeof(packet));
	skb = walk_response(packet, len);
	cr_assert_eq(skb->emitted, 1);
	memcpy(&record, &skb->records[0], sizeof(skb->records[0]));
	record.kind = BPFRECORD_RESPONSE;
	cr_assert_eq(bpfrecord_decode(&record,
	    offsetof(struct bpfrecord_response, msg) + record.copy_len,
	    &client), 0);
	judge_upstream_record(&judge, &client.info, client.info.payload,
	    client.info.payload_len, client.partial, 102);
	cr_assert_eq(stats.counter[STATS_UPSTREAM_RESPONSES], 1);
	cr_assert_eq(stats.counter[STATS_NAMES_LEARNED], 1);

	verdict = upstream(&judge, "target.other.test", 103);
	cr_assert(verdict.set_mark);
	cr_assert_eq(verdict.mark, 5);
	cr_assert_eq(stats.counter[STATS_ATTRIB_LEARNED], 1);
	judge_free(&judge);
}
