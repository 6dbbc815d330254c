/*
 * The packet walk of bpf mode's BPF programs: from an IPv4 or IPv6 packet
 * of the resolver, down to the DNS message of each UDP datagram a client
 * sent to port 53 or an upstream server answered from port 53 (on
 * ingress), or of the UDP datagram or TCP segment the resolver answered a
 * client with from port 53 (on egress).  Client
 * queries over TCP are not read here: the rules hold them on the queue,
 * where dnsmark can let concurrent TCP retries through one at a time (a SYN
 * upstream carries no question); their answers are, or those questions
 * would look unanswered.
 * Written for the verifier (fixed-size reads, bounded loops, no pointers
 * into the packet) and compiled twice: into the BPF program, and into a
 * unit test that feeds it packets.  The includer defines
 *   BPFPARSE_LOAD(ctx, offset, to, len)  copy len bytes at offset, 0 or < 0
 *   BPFPARSE_EMIT(ctx, flow, offset, len, present)  a message of len bytes
 *       found at offset, of which present (at most len) are in the packet
 *   BPFPARSE_STREAM(ctx)  the struct bpfparse_stream of the TCP connection
 *       the packet belongs to (the socket's storage), or NULL
 * It decides nothing about DNS beyond a header's length and an answer's QR
 * bit: dnsmark parses the copied message as it parses a queued one.
 */
#ifndef DNSMARK_BPF_CLIENT_PARSE_H
#define DNSMARK_BPF_CLIENT_PARSE_H

#include <linux/types.h>

#include "bpfrecord.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#ifndef __noinline
#define __noinline __attribute__((noinline))
#endif

#define BPFPARSE_IPV4_HEADER 20
#define BPFPARSE_IPV6_HEADER 40
#define BPFPARSE_UDP_HEADER 8
#define BPFPARSE_TCP_HEADER 20
/* A DNS message over TCP starts with its length, two bytes. */
#define BPFPARSE_TCP_PREFIX 2
#define BPFPARSE_DNS_HEADER 12
#define BPFPARSE_IPV6_MAX_EXTENSIONS 8
#define BPFPARSE_PROTO_HOPOPTS 0
#define BPFPARSE_PROTO_TCP 6
#define BPFPARSE_PROTO_UDP 17
#define BPFPARSE_PROTO_ROUTING 43
#define BPFPARSE_PROTO_DSTOPTS 60
/* The QR and TC bits, in the DNS header's third byte. */
#define BPFPARSE_DNS_FLAGS 2
#define BPFPARSE_DNS_QR 0x80
#define BPFPARSE_DNS_TC 0x02
/* The most messages recorded of one TCP segment. */
#define BPFPARSE_TCP_MESSAGES 8
/*
 * Loops unrolled whole: Debian 12's 6.1 kernel refused the loop over a
 * segment's messages as clang left it (a back-edge, its counter on the
 * stack) with EFAULT when loaded with CAP_BPF alone (dnsmark-bpf@.service),
 * though not as root.
 */
#ifdef __clang__
#define BPFPARSE_UNROLL _Pragma("clang loop unroll(full)")
#else
#define BPFPARSE_UNROLL
#endif

/* Which datagrams a walk emits, by the side of the resolver it runs on. */
enum bpfparse_direction {
	BPFPARSE_QUERIES,	/* ingress: a client's query to port 53 */
	BPFPARSE_ANSWERS,	/* egress: an answer from port 53 to a client */
	BPFPARSE_RESPONSES,	/* ingress: an upstream server's response from
				 * port 53 to the resolver, over UDP, not
				 * truncated (those stay on the queue) */
};

/* Who sent a packet to whom, as the record carries it. */
struct bpfparse_flow {
	__u8 family;		/* 4 or 6 */
	__u8 protocol;
	__u8 direction;		/* enum bpfparse_direction of the walk */
	__u16 src_port;		/* host byte order */
	__u16 dst_port;
	__u32 seq;		/* a TCP segment's sequence number, host order */
	__u8 src_addr[16];
	__u8 dst_addr[16];
};

/*
 * Where the resolver's answers on one TCP connection stand: the sequence
 * number at which the next message (its length prefix) starts.  Kept with
 * the socket, so that an answer that starts inside a segment, after the end
 * of a longer one, is found where it starts, and the middle of a long answer
 * is not read as one.  Without it (a connection older than dnsmark, a walk
 * that lost the framing) a segment is read as starting with a message.
 */
struct bpfparse_stream {
	__u32 next_seq;
	__u32 known;		/* next_seq holds */
};

static __always_inline __u16
bpfparse_read16(const __u8 *p)
{
	return (__u16)(p[0] << 8 | p[1]);
}

static __always_inline void
bpfparse_copy_addr(__u8 *to, const __u8 *from, int len)
{
	for (int i = 0; i < 16; i++)
		to[i] = i < len ? from[i] : 0;
}

/*
 * Reads the IP header of the packet of len bytes into *flow and finds the
 * IPv6 extension headers' end.  Returns the transport header's offset and
 * sets *next (the transport protocol) and *total (the IP packet's length),
 * or returns 0 for a packet that is no whole datagram.
 */
static __always_inline __u32
bpfparse_ip(void *ctx, __u32 len, struct bpfparse_flow *flow, __u8 *next,
    __u32 *total)
{
	__u8 ip[BPFPARSE_IPV6_HEADER];
	__u32 offset;

	if (BPFPARSE_LOAD(ctx, 0, ip, 1) < 0)
		return 0;
	if (ip[0] >> 4 == 4) {
		if (BPFPARSE_LOAD(ctx, 0, ip, BPFPARSE_IPV4_HEADER) < 0)
			return 0;
		offset = (__u32)(ip[0] & 0x0f) * 4;
		*total = bpfparse_read16(ip + 2);
		if (offset < BPFPARSE_IPV4_HEADER || *total < offset ||
		    *total > len)
			return 0;
		/* More-fragments flag or an offset: no whole datagram. */
		if ((bpfparse_read16(ip + 6) & 0x3fff) != 0)
			return 0;
		flow->family = 4;
		*next = ip[9];
		bpfparse_copy_addr(flow->src_addr, ip + 12, 4);
		bpfparse_copy_addr(flow->dst_addr, ip + 16, 4);
		return offset;
	}
	if (ip[0] >> 4 != 6 ||
	    BPFPARSE_LOAD(ctx, 0, ip, BPFPARSE_IPV6_HEADER) < 0)
		return 0;
	*total = BPFPARSE_IPV6_HEADER + (__u32)bpfparse_read16(ip + 4);
	if (*total == BPFPARSE_IPV6_HEADER || *total > len)
		return 0;
	flow->family = 6;
	*next = ip[6];
	bpfparse_copy_addr(flow->src_addr, ip + 8, 16);
	bpfparse_copy_addr(flow->dst_addr, ip + 24, 16);
	offset = BPFPARSE_IPV6_HEADER;
	/* Hop-by-hop, routing and destination options share one layout; a
	 * fragment header (or anything else) ends the walk. */
	for (int i = 0; i < BPFPARSE_IPV6_MAX_EXTENSIONS; i++) {
		__u8 ext[2];

		if (*next != BPFPARSE_PROTO_HOPOPTS &&
		    *next != BPFPARSE_PROTO_ROUTING &&
		    *next != BPFPARSE_PROTO_DSTOPTS)
			return offset;
		if (offset + 8 > *total ||
		    BPFPARSE_LOAD(ctx, offset, ext, 2) < 0)
			return 0;
		*next = ext[0];
		offset += ((__u32)ext[1] + 1) * 8;
	}
	return 0;
}

/*
 * Reads the UDP header at offset of an IP packet of total bytes into
 * *flow.  Returns 1 and the payload [*off, *end), or 0 for a datagram
 * longer than the packet.
 */
static __always_inline int
bpfparse_udp(void *ctx, __u32 offset, __u32 total, struct bpfparse_flow *flow,
    __u32 *off, __u32 *end)
{
	__u8 l4[BPFPARSE_UDP_HEADER];
	__u32 length;

	if (offset + BPFPARSE_UDP_HEADER > total ||
	    BPFPARSE_LOAD(ctx, offset, l4, BPFPARSE_UDP_HEADER) < 0)
		return 0;
	length = bpfparse_read16(l4 + 4);
	if (length < BPFPARSE_UDP_HEADER || offset + length > total)
		return 0;
	*off = offset + BPFPARSE_UDP_HEADER;
	*end = offset + length;
	flow->protocol = BPFPARSE_PROTO_UDP;
	flow->src_port = bpfparse_read16(l4);
	flow->dst_port = bpfparse_read16(l4 + 2);
	return 1;
}

/*
 * Reads the TCP header at offset of an IP packet of total bytes into
 * *flow.  Returns 1 and the segment's payload [*off, *end) (empty for a
 * bare ACK, SYN or FIN), or 0 when the header's data offset is less than
 * its fixed part or beyond the packet.
 */
static __always_inline int
bpfparse_tcp(void *ctx, __u32 offset, __u32 total, struct bpfparse_flow *flow,
    __u32 *off, __u32 *end)
{
	__u8 l4[BPFPARSE_TCP_HEADER];
	__u32 length;

	if (offset + BPFPARSE_TCP_HEADER > total ||
	    BPFPARSE_LOAD(ctx, offset, l4, BPFPARSE_TCP_HEADER) < 0)
		return 0;
	length = (__u32)(l4[12] >> 4) * 4;
	if (length < BPFPARSE_TCP_HEADER || offset + length > total)
		return 0;
	*off = offset + length;
	*end = total;
	flow->protocol = BPFPARSE_PROTO_TCP;
	flow->src_port = bpfparse_read16(l4);
	flow->dst_port = bpfparse_read16(l4 + 2);
	flow->seq = (__u32)bpfparse_read16(l4 + 4) << 16 |
	    bpfparse_read16(l4 + 6);
	return 1;
}

/*
 * Decodes the headers of the IP packet of len bytes into *flow.  Returns 1
 * and the transport payload [*off, *end) for a UDP datagram, or for a TCP
 * segment when direction is BPFPARSE_ANSWERS; else 0.
 */
static __always_inline int
bpfparse_headers(void *ctx, __u32 len, struct bpfparse_flow *flow, __u32 *off,
    __u32 *end, enum bpfparse_direction direction)
{
	__u32 offset, total = 0;
	__u8 next = 0;

	offset = bpfparse_ip(ctx, len, flow, &next, &total);
	if (offset == 0 || offset > total)
		return 0;
	if (next == BPFPARSE_PROTO_UDP)
		return bpfparse_udp(ctx, offset, total, flow, off, end);
	if (next == BPFPARSE_PROTO_TCP && direction == BPFPARSE_ANSWERS)
		return bpfparse_tcp(ctx, offset, total, flow, off, end);
	return 0;
}

/*
 * Returns 1 when the packet of flow goes the way direction records: to
 * port 53 for a query; from port 53 to another port for an answer (the
 * resolver's exchanges with servers on port 53 are no client's).
 */
static __always_inline int
bpfparse_ports(const struct bpfparse_flow *flow,
    enum bpfparse_direction direction)
{
	if (direction == BPFPARSE_QUERIES)
		return flow->dst_port == BPFRECORD_DNS_PORT;
	return flow->src_port == BPFRECORD_DNS_PORT &&
	    flow->dst_port != BPFRECORD_DNS_PORT;
}

/*
 * Emits the DNS message at off, of the payload [off, end) of flow, when it
 * is at least a DNS header long and, for an answer, has QR set (a query
 * the resolver sends from port 53 is none).  A UDP payload is the whole
 * message; a TCP one starts with the length of its message, which may go
 * on in later segments.  Sets *next to where the message after it starts
 * (for TCP, possibly at or beyond end).  Returns 1 when it emitted the
 * message; 0 for a TCP message whose header is not in the segment (its
 * length is, and *next holds); -1 when the bytes at off are no message the
 * walk records, and *next is unknown (end).
 */
static __always_inline int
bpfparse_message(void *ctx, const struct bpfparse_flow *flow, __u32 off,
    __u32 end, enum bpfparse_direction direction, __u32 *next)
{
	__u8 prefix[BPFPARSE_TCP_PREFIX];
	__u32 len, present;
	__u8 flags;

	*next = end;
	if (off > end)
		return -1;
	if (flow->protocol == BPFPARSE_PROTO_TCP) {
		if (end - off < BPFPARSE_TCP_PREFIX ||
		    BPFPARSE_LOAD(ctx, off, prefix, BPFPARSE_TCP_PREFIX) < 0)
			return -1;
		len = bpfparse_read16(prefix);
		if (len < BPFPARSE_DNS_HEADER)
			return -1;
		off += BPFPARSE_TCP_PREFIX;
		*next = off + len;
		present = end - off < len ? end - off : len;
		if (present < BPFPARSE_DNS_HEADER)
			return 0;
	} else {
		len = end - off;
		present = len;
	}
	if (len < BPFPARSE_DNS_HEADER)
		return -1;
	if (direction != BPFPARSE_QUERIES &&
	    (BPFPARSE_LOAD(ctx, off + BPFPARSE_DNS_FLAGS, &flags, 1) < 0 ||
	    (flags & BPFPARSE_DNS_QR) == 0)) {
		*next = end;
		return -1;
	}
	/* A truncated response stays on the queue, where dnsmark may hold
	 * it until the TCP connection it leads to is tied to its client. */
	if (direction == BPFPARSE_RESPONSES && (flags & BPFPARSE_DNS_TC) != 0)
		return -1;
	BPFPARSE_EMIT(ctx, flow, off, len, present);
	return 1;
}

/*
 * Emits the messages of the payload [off, end) of flow: a UDP datagram's
 * one, or those a TCP segment starts, up to BPFPARSE_TCP_MESSAGES (a
 * resolver writes the answers to a client's pipelined queries as it has
 * them, and one segment may carry several).  Sets *stop to where the
 * message after the last one walked starts (for TCP, at or beyond end
 * when the walk reached the segment's end), or to 0 when the framing was
 * lost.  Returns how many it emitted.
 */
static __always_inline int
bpfparse_messages(void *ctx, const struct bpfparse_flow *flow, __u32 off,
    __u32 end, enum bpfparse_direction direction, __u32 *stop)
{
	__u32 next = end;
	int emitted = 0;

	*stop = 0;
	BPFPARSE_UNROLL
	for (int i = 0; i < BPFPARSE_TCP_MESSAGES; i++) {
		int ret = bpfparse_message(ctx, flow, off, end, direction,
		    &next);

		if (ret < 0) {
			*stop = 0;
			return emitted;
		}
		emitted += ret;
		*stop = next;
		if (next >= end)
			break;
		off = next;
	}
	return emitted;
}

/*
 * Fills a reserved record for the message of len bytes found in flow, of
 * which the caller copies copy bytes (at most those in the packet) to
 * record->msg.
 */
static __always_inline void
bpfparse_fill(struct bpfrecord *record, const struct bpfparse_flow *flow,
    __u32 mark, __u64 time_ns, __u32 len, __u32 copy)
{
	record->time_ns = time_ns;
	record->mark = mark;
	record->family = flow->family;
	record->protocol = flow->protocol;
	record->src_port = flow->src_port;
	record->dst_port = flow->dst_port;
	record->msg_len = (__u16)len;
	record->copy_len = (__u16)copy;
	record->kind = BPFRECORD_CLIENT;
	__builtin_memcpy(record->src_addr, flow->src_addr, 16);
	__builtin_memcpy(record->dst_addr, flow->dst_addr, 16);
}

/*
 * Where to read the TCP segment at sequence number seq, of len payload
 * bytes, from: the offset into its payload where the connection's next
 * answer starts, when that is known and not behind the segment (len when
 * the segment lies inside one answer, a retransmission too), else 0.  A
 * function of its own, as bpfparse_stream_keep(): no pointer to the stream
 * lives on the walk's stack, where the verifier of a program loaded
 * without CAP_PERFMON refuses a spilled pointer's slot reused.
 */
static __noinline __u32
bpfparse_stream_start(void *ctx, __u32 seq, __u32 len)
{
	struct bpfparse_stream *stream = BPFPARSE_STREAM(ctx);
	__s32 ahead;

	if (stream == NULL || !stream->known)
		return 0;
	/* Signed: a next answer before the segment's start means the
	 * framing was lost (more answers than the walk reads); the segment
	 * is then read as starting with one. */
	ahead = (__s32)(stream->next_seq - seq);
	if (ahead < 0)
		return 0;
	return (__u32)ahead < len ? (__u32)ahead : len;
}

/* Keeps where the connection's next answer starts: consumed bytes after
 * seq, when known (else the framing is lost). */
static __noinline void
bpfparse_stream_keep(void *ctx, __u32 seq, __u32 known, __u32 consumed)
{
	struct bpfparse_stream *stream = BPFPARSE_STREAM(ctx);

	if (stream == NULL)
		return;
	stream->known = known;
	stream->next_seq = seq + consumed;
}

/*
 * Emits the answers of the TCP segment of flow whose payload is
 * [off, end), from where the connection's next message starts when that
 * is known (nothing when the segment lies inside one message, a
 * retransmission too), else from the segment's start; and keeps where the
 * message after the last one starts.  Returns how many it emitted.
 */
static __always_inline int
bpfparse_stream_walk(void *ctx, const struct bpfparse_flow *flow, __u32 off,
    __u32 end)
{
	__u32 skip = bpfparse_stream_start(ctx, flow->seq, end - off);
	__u32 stop = 0;
	int emitted;

	if (skip >= end - off)
		return 0;
	emitted = bpfparse_messages(ctx, flow, off + skip, end,
	    BPFPARSE_ANSWERS, &stop);
	bpfparse_stream_keep(ctx, flow->seq, stop != 0, stop - off);
	return emitted;
}

/*
 * The whole walk in direction: emits the messages of the packet of len
 * bytes that direction records, and returns how many.
 */
static __always_inline int
bpfparse_walk(void *ctx, __u32 len, enum bpfparse_direction direction)
{
	struct bpfparse_flow flow = { 0 };
	__u32 off = 0, end = 0, stop = 0;

	flow.direction = (__u8)direction;
	if (!bpfparse_headers(ctx, len, &flow, &off, &end, direction) ||
	    !bpfparse_ports(&flow, direction))
		return 0;
	/* Only answers are read over TCP (bpfparse_headers); the test on
	 * direction leaves the stream out of the ingress programs. */
	if (direction == BPFPARSE_ANSWERS &&
	    flow.protocol == BPFPARSE_PROTO_TCP) {
		/* A bare ACK, SYN or FIN moves no message. */
		if (end <= off)
			return 0;
		return bpfparse_stream_walk(ctx, &flow, off, end);
	}
	return bpfparse_messages(ctx, &flow, off, end, direction, &stop);
}

/*
 * The ingress walk: emits the client query over UDP of the packet of len
 * bytes, if it is one, and returns how many (0 or 1).
 */
static __always_inline int
bpfparse_packet(void *ctx, __u32 len)
{
	return bpfparse_walk(ctx, len, BPFPARSE_QUERIES);
}

/*
 * The other ingress walk: emits the upstream server's response over UDP in
 * the packet of len bytes, if it is one and not truncated, and returns how
 * many (0 or 1).
 */
static __always_inline int
bpfparse_response(void *ctx, __u32 len)
{
	return bpfparse_walk(ctx, len, BPFPARSE_RESPONSES);
}

/*
 * The egress walk: emits the resolver's answers to a client in the packet
 * of len bytes (one over UDP, up to BPFPARSE_TCP_MESSAGES in a TCP
 * segment), and returns how many.
 */
static __always_inline int
bpfparse_answer(void *ctx, __u32 len)
{
	return bpfparse_walk(ctx, len, BPFPARSE_ANSWERS);
}

#endif
