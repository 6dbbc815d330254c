/*
 * bpf mode's kernel half: two cgroup skb programs, attached to the cgroup
 * of the resolver, that copy into one ring buffer for dnsmark, without
 * waking it, every client query over UDP to port 53 as it is delivered to
 * one of the resolver's sockets (ingress: after netfilter INPUT, so with
 * the mark the user's rules gave it), every upstream server's response
 * over UDP from port 53 that is not truncated (ingress too), and every
 * answer the resolver sends a client from port 53, over UDP or TCP
 * (egress: after netfilter POSTROUTING); and the kernel fast path
 * (fast_progs.h).  They read, never change, and always let the packet
 * through: a bug here must not break DNS.
 */
#include <linux/bpf.h>
#include <linux/types.h>

#include <bpf/bpf_helpers.h>

#include "bpfrecord.h"

/* The ring's size is set by dnsmark before loading; this is a default. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24);
} clients SEC(".maps");

/*
 * Records that found the ring full.  A plain global, not a per-CPU map:
 * dnsmark reads it through the data section's mmap, with no system call
 * (a process without CAP_BPF may not read maps on older kernels), and it
 * is written only when a record is lost.
 */
__u64 lost_records = 0;

static __always_inline int
client_load(struct __sk_buff *skb, __u32 offset, void *to, __u32 len)
{
	return bpf_skb_load_bytes(skb, offset, to, len);
}

/*
 * Wakes dnsmark only when a 64th of the ring is used (256 KiB of the
 * default 16 MiB, about 780 records): it reads the ring before each batch
 * of queued packets and on a timer, so waking it for every record would
 * only cost the resolver, and letting a quarter pile up made it read 12 000
 * records in one go, a burst of several milliseconds that delayed the
 * resolver's answers (measured: doc/performance.md).
 */
static __always_inline __u64
client_wakeup(void)
{
	__u64 used = bpf_ringbuf_query(&clients, BPF_RB_AVAIL_DATA);
	__u64 size = bpf_ringbuf_query(&clients, BPF_RB_RING_SIZE);

	return used > size / 64 ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

/*
 * Where the resolver's answers stand on each TCP connection to a client
 * (struct bpfparse_stream): socket storage, freed with the socket.
 */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct bpfparse_stream);
} streams SEC(".maps");

struct bpfparse_stream;
static __always_inline struct bpfparse_stream *client_stream(
    struct __sk_buff *skb);

struct bpfparse_flow;
static __noinline void client_emit(struct __sk_buff *skb,
    const struct bpfparse_flow *flow, __u32 offset, __u32 len, __u32 present);

#define BPFPARSE_LOAD(ctx, offset, to, len) \
	client_load((ctx), (offset), (to), (len))
#define BPFPARSE_EMIT(ctx, flow, offset, len, present) \
	client_emit((ctx), (flow), (offset), (len), (present))
#define BPFPARSE_STREAM(ctx) client_stream(ctx)
#include "client_parse.h"

/*
 * The stream of the TCP socket that sends skb, created on its first
 * answer; NULL for a socket that is no full one (a SYN-ACK's request) or
 * when the kernel has no memory for it (the walk then reads each segment
 * as starting with a message).
 */
static __always_inline struct bpfparse_stream *
client_stream(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;

	if (sk == NULL)
		return NULL;
	sk = bpf_sk_fullsock(sk);
	if (sk == NULL)
		return NULL;
	return bpf_sk_storage_get(&streams, sk, NULL,
	    BPF_SK_STORAGE_GET_F_CREATE);
}

/* A record reserved in the ring, or NULL with the loss counted. */
static __always_inline struct bpfrecord *
client_reserve(void)
{
	struct bpfrecord *record;

	record = bpf_ringbuf_reserve(&clients, sizeof(*record), 0);
	if (record == NULL)
		__sync_fetch_and_add(&lost_records, 1);
	return record;
}

/*
 * Writes a record of kind for the DNS message of len bytes at offset of the
 * packet of flow (present of them in it), with mark.  Returns 1 when
 * written.
 */
static __always_inline int
client_record(struct __sk_buff *skb, const struct bpfparse_flow *flow,
    __u32 offset, __u32 len, __u32 present, __u32 mark, __u16 kind)
{
	struct bpfrecord *record;
	/* 64 bits: without 32-bit subregisters clang compares a __u32 through
	 * a zero-extended copy, and the verifier then saw the bound on that
	 * copy, not on the length passed to bpf_skb_load_bytes(). */
	__u64 copy = present;

	record = client_reserve();
	if (record == NULL)
		return 0;
	if (copy > BPFRECORD_MSG_MAX)
		copy = BPFRECORD_MSG_MAX;
	/* Two checks the verifier can follow: clang would fold them into
	 * one on a copy of copy - 12, whose bounds are not copy's. */
	barrier_var(copy);
	if (copy < BPFPARSE_DNS_HEADER ||
	    bpf_skb_load_bytes(skb, offset, record->msg, copy) < 0) {
		bpf_ringbuf_discard(record, BPF_RB_NO_WAKEUP);
		return 0;
	}
	bpfparse_fill(record, flow, mark, bpf_ktime_get_ns(), len, copy);
	record->kind = kind;
	bpf_ringbuf_submit(record, client_wakeup());
	return 1;
}

#include "fast_progs.h"

/* Where an upstream response is copied before it goes to the ring as long
 * as it is (ingress runs in softirq context: one at a time on a CPU). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bpfrecord_response);
} responses SEC(".maps");

/* The buffer: a function of its own, as fast_config(). */
static __noinline struct bpfrecord_response *
response_buffer(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&responses, &zero);
}

/*
 * Writes a BPFRECORD_RESPONSE record for the upstream response of len
 * bytes at offset of the packet of flow (present of them in it): the
 * fields, then as many bytes of it as are there, up to
 * BPFRECORD_RESPONSE_MAX.  A function of its own: the walk's stack is
 * nearly full.
 */
static __noinline int
response_record(struct __sk_buff *skb, const struct bpfparse_flow *flow,
    __u32 offset, __u32 len, __u32 present)
{
	struct bpfrecord_response *record;
	__u64 copy = present;

	record = response_buffer();
	if (record == NULL)
		return 0;
	if (copy > BPFRECORD_RESPONSE_MAX)
		copy = BPFRECORD_RESPONSE_MAX;
	barrier_var(copy);
	if (copy < BPFPARSE_DNS_HEADER ||
	    bpf_skb_load_bytes(skb, offset, record->msg, copy) < 0)
		return 0;
	bpfparse_fill((struct bpfrecord *)record, flow, skb->mark,
	    bpf_ktime_get_ns(), len, (__u32)copy);
	record->kind = BPFRECORD_RESPONSE;
	if (bpf_ringbuf_output(&clients, record,
	    __builtin_offsetof(struct bpfrecord_response, msg) + copy,
	    client_wakeup()) < 0) {
		__sync_fetch_and_add(&lost_records, 1);
		return 0;
	}
	return 1;
}

/*
 * A client's query (to port 53) or the resolver's answer to one: recorded
 * for dnsmark and, over UDP, filed for the fast path (a query) or counted
 * as answered (an answer, over UDP or TCP).  A function of its own: the
 * record's pointer, spilled, stays in its frame, which the verifier of a
 * program loaded without CAP_PERFMON needs (a released pointer's slot the
 * walk reused for a number was refused).
 */
static __noinline void
client_emit(struct __sk_buff *skb, const struct bpfparse_flow *flow,
    __u32 offset, __u32 len, __u32 present)
{
	if (flow->direction == BPFPARSE_RESPONSES) {
		response_record(skb, flow, offset, len, present);
		return;
	}
	(void)client_record(skb, flow, offset, len, present, skb->mark,
	    BPFRECORD_CLIENT);
	if (flow->dst_port == BPFRECORD_DNS_PORT) {
		if (flow->protocol == BPFPARSE_PROTO_UDP)
			fast_file(skb, offset, present);
	} else {
		fast_answered(skb, offset, present);
	}
}

/*
 * Tells dnsmark of an upstream query the fast path marked: what went to
 * which server for which mark, as if dnsmark had judged it.  Returns 1
 * when the record was written.
 */
static __always_inline int
fast_tell(struct __sk_buff *skb, __u32 dns_off, __u32 mark)
{
	struct bpfparse_flow flow = { 0 };
	__u32 off = 0, end = 0;

	if (!bpfparse_headers(skb, skb->len, &flow, &off, &end,
	    BPFPARSE_QUERIES) || off != dns_off || end <= off)
		return 0;
	return client_record(skb, &flow, off, end - off, end - off, mark,
	    BPFRECORD_UPSTREAM);
}

int dnsmark_client_ingress(struct __sk_buff *skb);
int dnsmark_client_egress(struct __sk_buff *skb);

SEC("cgroup_skb/ingress")
int
dnsmark_client_ingress(struct __sk_buff *skb)
{
	/* A client's query; else an upstream server's response, which
	 * dnsmark learns from (truncated ones stay on the NFQUEUE, and
	 * loopback is no upstream: a local resolver's answer to a local
	 * forwarder). */
	if (bpfparse_packet(skb, skb->len) == 0 && skb->ifindex != 1)
		bpfparse_response(skb, skb->len);
	return 1;
}

SEC("cgroup_skb/egress")
int
dnsmark_client_egress(struct __sk_buff *skb)
{
	/* The resolver's queries upstream pass here too, already judged on
	 * the NFQUEUE: they are to port 53.  An answer from the cache makes no
	 * upstream traffic at all: only here does dnsmark see it, over TCP
	 * too (the client's TCP query came through the queue). */
	bpfparse_answer(skb, skb->len);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
