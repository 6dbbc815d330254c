/*
 * The record the BPF programs of bpf mode (src/bpf/client.bpf.c) write to
 * their ring buffer for each client query over UDP delivered to the
 * resolver and each answer, over UDP or TCP, the resolver sends a client,
 * and its decoding in dnsmark.
 * The layout is shared by the BPF programs and the daemon, so it uses
 * fixed-size kernel types only.  Decoding is pure and trusts nothing in
 * the record: it is checked like any network input.
 */
#ifndef DNSMARK_BPFRECORD_H
#define DNSMARK_BPFRECORD_H

#include <linux/types.h>

/*
 * Bytes of the DNS message copied: the header, the longest question name
 * and its type and class (12 + 255 + 4), rounded up to 8.
 */
#define BPFRECORD_MSG_MAX 272
/* The resolver's port: of the client queries and answers recorded. */
#define BPFRECORD_DNS_PORT 53

/* What a record holds. */
enum bpfrecord_kind {
	BPFRECORD_CLIENT = 0,	/* a client's query, or the resolver's
				 * answer to one */
	BPFRECORD_UPSTREAM = 1,	/* an upstream query the kernel marked
				 * itself (the fast path): mark is its mark */
	BPFRECORD_RESPONSE = 2,	/* an upstream server's response over UDP,
				 * not truncated: a longer record (below) */
	BPFRECORD_QUEUED = 3,	/* an upstream query over UDP the fast
				 * path left to the queue, as it went there */
};

/*
 * Bytes of an upstream response copied: the whole of most (resolvers ask
 * for at most 1232 bytes over UDP by default; more are truncated), and of
 * a longer one as much as dnsmark's walk of its records can use.
 */
#define BPFRECORD_RESPONSE_MAX 4096

struct bpfrecord {
	__u64 time_ns;		/* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u32 mark;		/* a query's mark at delivery to the socket,
				 * an answer's as it leaves */
	__u8 family;		/* 4 or 6 */
	__u8 protocol;		/* IPPROTO_UDP, or IPPROTO_TCP for an answer
				 * only: TCP queries stay on the queue */
	__u16 src_port;		/* host byte order */
	__u16 dst_port;
	__u16 msg_len;		/* the whole DNS message's length (over
				 * TCP: from its prefix, which msg omits) */
	__u16 copy_len;		/* bytes of it in msg */
	__u16 kind;		/* enum bpfrecord_kind */
	__u8 src_addr[16];	/* IPv4: the first 4 bytes */
	__u8 dst_addr[16];
	__u8 msg[BPFRECORD_MSG_MAX];	/* the message's first copy_len bytes
					 * (over TCP: those in the segment) */
};

/*
 * A BPFRECORD_RESPONSE record: the same fields, a longer message, and only
 * copy_len bytes of it in the ring (the record ends with the message).
 */
struct bpfrecord_response {
	__u64 time_ns;
	__u32 mark;
	__u8 family;
	__u8 protocol;
	__u16 src_port;
	__u16 dst_port;
	__u16 msg_len;
	__u16 copy_len;
	__u16 kind;
	__u8 src_addr[16];
	__u8 dst_addr[16];
	__u8 msg[BPFRECORD_RESPONSE_MAX];
};

#ifndef __bpf__
#include <stddef.h>
#include <stdint.h>

#include "packet.h"

/* A record as the judge takes it: a client's query, or the resolver's
 * answer (src the resolver's port 53, dst the client's address and port;
 * info.protocol says UDP or TCP, info.tcp_flags is 0). */
struct bpfrecord_client {
	struct packet_info info;	/* payload: the copied DNS message */
	uint32_t mark;
	uint64_t time_ms;		/* CLOCK_MONOTONIC */
	enum bpfrecord_kind kind;
	int partial;			/* only the message's first bytes */
};

/*
 * Checks the record in data[0..size) (as the ring handed it over) and fills
 * *client, whose info.payload points into data.  Returns 0, or -EINVAL when
 * the record is short or inconsistent (it is then to be counted and
 * dropped).
 */
int bpfrecord_decode(const void *data, size_t size,
    struct bpfrecord_client *client);
#endif

#endif
