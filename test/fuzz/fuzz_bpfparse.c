/*
 * libFuzzer target: bytes as a packet for bpf mode's packet walk
 * (src/bpf/client_parse.h, compiled here as in test/unit/test_bpfrecord.c
 * with memcpy for bpf_skb_load_bytes): a client query or an upstream
 * response on ingress, the resolver's answers on egress, over TCP with the
 * connection's stream.  The first five bytes are the stream: a control
 * byte (bit 0: the socket has a stream; bit 1: it holds where the next
 * answer starts) and that sequence number; the rest is the IP packet.
 * Checks what the kernel relies on: every message emitted lies inside the
 * packet, at least a DNS header of it present and no more than it says,
 * an answer or response with QR set, a response not truncated, at most
 * BPFPARSE_TCP_MESSAGES of a segment; and the same segment walked again
 * with the stream it left (a retransmission) emits nothing when the stream
 * says the segment is behind it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfrecord.h"

struct ctx {
	const uint8_t *data;
	uint32_t len;
	struct bpfparse_stream *stream;
	int direction;
	int emitted;
};

static void
check(int holds, const char *what)
{
	if (!holds) {
		fprintf(stderr, "fuzz_bpfparse: invariant broken: %s\n", what);
		abort();
	}
}

static int
load(void *ctx, uint32_t offset, void *to, uint32_t len)
{
	const struct ctx *c = ctx;

	if (offset > c->len || len > c->len - offset)
		return -14;
	memcpy(to, c->data + offset, len);
	return 0;
}

struct bpfparse_flow;
static void emit(void *ctx, const struct bpfparse_flow *flow,
    uint32_t offset, uint32_t len, uint32_t present);

#define BPFPARSE_LOAD(ctx, offset, to, len) load((ctx), (offset), (to), (len))
#define BPFPARSE_EMIT(ctx, flow, offset, len, present) \
	emit((ctx), (flow), (offset), (len), (present))
#define BPFPARSE_STREAM(ctx) (((struct ctx *)(ctx))->stream)
#include "client_parse.h"

static void
emit(void *ctx, const struct bpfparse_flow *flow, uint32_t offset,
    uint32_t len, uint32_t present)
{
	struct ctx *c = ctx;
	uint8_t flags;

	c->emitted++;
	check(c->emitted <= BPFPARSE_TCP_MESSAGES, "at most 8 a segment");
	check(present <= len, "no more present than the message's length");
	check(present >= BPFPARSE_DNS_HEADER, "a header present");
	check(offset <= c->len && present <= c->len - offset,
	    "the message inside the packet");
	check(flow->family == 4 || flow->family == 6, "family");
	check(flow->protocol == BPFPARSE_PROTO_UDP ||
	    (flow->protocol == BPFPARSE_PROTO_TCP &&
	    c->direction == BPFPARSE_ANSWERS), "TCP on egress only");
	if (flow->protocol == BPFPARSE_PROTO_UDP)
		check(present == len, "a datagram's message whole");
	flags = c->data[offset + BPFPARSE_DNS_FLAGS];
	if (c->direction == BPFPARSE_QUERIES) {
		check(flow->dst_port == BPFRECORD_DNS_PORT, "a query to 53");
	} else {
		check((flags & BPFPARSE_DNS_QR) != 0, "an answer has QR");
		check(flow->src_port == BPFRECORD_DNS_PORT, "from 53");
	}
	if (c->direction == BPFPARSE_RESPONSES)
		check((flags & BPFPARSE_DNS_TC) == 0, "a response not cut");
	else if (c->direction == BPFPARSE_ANSWERS)
		check(flow->dst_port != BPFRECORD_DNS_PORT, "to a client");
}

static int
walk(const uint8_t *data, uint32_t len, struct bpfparse_stream *stream,
    int direction)
{
	struct ctx c = {
		.data = data, .len = len, .stream = stream,
		.direction = direction,
	};
	int ret;

	if (direction == BPFPARSE_QUERIES)
		ret = bpfparse_packet(&c, len);
	else if (direction == BPFPARSE_RESPONSES)
		ret = bpfparse_response(&c, len);
	else
		ret = bpfparse_answer(&c, len);
	check(ret == c.emitted, "the walk counts what it emitted");
	return ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bpfparse_stream stream, *with;
	struct bpfparse_flow flow = { 0 };
	uint32_t len, off = 0, end = 0;
	const uint8_t *packet;

	if (size < 5 || size - 5 > 65535)
		return 0;
	packet = data + 5;
	len = (uint32_t)(size - 5);
	stream.known = (data[0] & 2) != 0;
	stream.next_seq = (uint32_t)data[1] << 24 | (uint32_t)data[2] << 16 |
	    (uint32_t)data[3] << 8 | data[4];
	with = (data[0] & 1) ? &stream : NULL;
	walk(packet, len, NULL, BPFPARSE_QUERIES);
	walk(packet, len, NULL, BPFPARSE_RESPONSES);
	walk(packet, len, with, BPFPARSE_ANSWERS);
	/* Again, with the stream the first walk left: a segment the stream
	 * has passed is a retransmission, and records nothing. */
	if (with != NULL && stream.known &&
	    bpfparse_headers(&(struct ctx){ .data = packet, .len = len }, len,
	    &flow, &off, &end, BPFPARSE_ANSWERS) &&
	    flow.protocol == BPFPARSE_PROTO_TCP && end > off &&
	    (int32_t)(stream.next_seq - flow.seq) >= 0 &&
	    stream.next_seq - flow.seq >= end - off)
		check(walk(packet, len, with, BPFPARSE_ANSWERS) == 0,
		    "a segment behind the stream records nothing");
	return 0;
}
