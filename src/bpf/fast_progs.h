/*
 * The kernel fast path, included by client.bpf.c after its ring and packet
 * walk: the cgroup programs file each client question (ingress) and each
 * answer to one (egress) in a map, and socket-filter programs that
 * iptables runs through the xt_bpf match in mangle OUTPUT (rules/bpf-fast-
 * v4.rules) let an upstream query take its client's mark without waiting
 * for dnsmark: classify finds the mark (src/bpf/fast.h decides), one
 * program per bit of it matches where a MARK --or-mark rule sets that bit,
 * and verify checks the mark built and tells dnsmark through the ring.
 * Every doubt (a map full, a buffer two runs shared, dnsmark gone) makes
 * them match nothing, and the query goes to the queue as before.
 */
#ifndef DNSMARK_BPF_FAST_PROGS_H
#define DNSMARK_BPF_FAST_PROGS_H

#include "fast.h"
#include "fastconf.h"

/* Who asked what: the state word of src/bpf/fast.h by question.  Its size
 * is set by dnsmark (--max-pending) before loading. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	/* Allocated as questions come, not all at the load: about 330
	 * bytes each. */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct fast_key);
	__type(value, __u64);
} fast_questions SEC(".maps");

/* Questions dnsmark knows clients wait for that the programs never see
 * (TCP client queries, held on the queue): until when (ns), by the
 * question's hash.  Written by dnsmark through its memory mapping; two
 * questions of one slot both stand aside, which costs a mark, never
 * gives one. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FASTCONF_DOUBTS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
} fast_doubts SEC(".maps");

/* The sweeper's timer (below). */
struct fast_timer {
	struct bpf_timer timer;
	__u64 idle;		/* ticks since the last walk */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fast_timer);
} fast_timers SEC(".maps");

/* dnsmark's side of the conversation, mapped into its memory: whether it
 * runs, the timeout and mask, and the counters. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct fastconf);
} fast_conf SEC(".maps");

/* A question's key is built here, not on the stack (reading it at a
 * variable offset there needs CAP_PERFMON): one slot for each kind of
 * program, so that ingress in a softirq never shares one with a program
 * it interrupted; seq tells a run that another used its slot meanwhile. */
struct fast_slot {
	__u64 seq;
	struct fast_key key;
};

enum fast_slots { FAST_SLOT_INGRESS, FAST_SLOT_EGRESS, FAST_SLOT_OUTPUT,
	FAST_SLOTS };

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FAST_SLOTS);
	__type(key, __u32);
	__type(value, struct fast_slot);
} fast_slots SEC(".maps");

/* What classify found for the packet it matched, for the rules after it:
 * the packet's fingerprint and the mark to build. */
struct fast_scratch {
	__u64 fingerprint;
	__u32 mark;		/* the bits to set: the mark within --mask */
	__u32 undo;
	__u32 client_mark;	/* the askers' whole mark, for dnsmark */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fast_scratch);
} fast_scratch SEC(".maps");

/*
 * The lookups with a key on the stack are functions of their own, here
 * and below: inlined into a larger function, clang put the 4-byte key in a
 * stack slot that had held a spilled pointer, which Linux 6.1's verifier
 * refuses to a loader without CAP_PERFMON (dnsmark-bpf@.service).
 */
static __noinline struct fastconf *
fast_config(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&fast_conf, &zero);
}

/*
 * A global function, checked once for any reason: inlined, or a static
 * function checked at each call, the counter's address came from several
 * paths, and the verifier refuses that arithmetic to a loader without
 * CAP_PERFMON (dnsmark-bpf@.service).
 */
__noinline int fast_count(__u32 reason);

__noinline int
fast_count(__u32 reason)
{
	struct fastconf *conf = fast_config();

	if (conf != NULL && reason < FAST_REASONS)
		__sync_fetch_and_add(&conf->counters[reason], 1);
	return 0;
}

/* Nothing the kernel knows is to be trusted for a timeout. */
static __always_inline void
fast_doubt(struct fastconf *conf, __u64 now)
{
	if (conf != NULL)
		conf->doubt_until_ns = now + conf->timeout_ns;
}

/*
 * The question of key stands aside for a timeout (its slot of the table
 * dnsmark writes TCP clients' questions to); everything does when the
 * table cannot be read.
 */
static __noinline void
fast_doubt_question(struct fastconf *conf, const struct fast_key *key,
    __u64 now)
{
	__u32 index = fast_key_hash(key) % FASTCONF_DOUBTS;
	__u64 *until = bpf_map_lookup_elem(&fast_doubts, &index);

	if (until == NULL)
		fast_doubt(conf, now);
	else
		*until = now + conf->timeout_ns;
}

/*
 * fast_key_close() as a global function, which the verifier checks once,
 * for any end: inlined after the label walk, it was checked again for
 * every state the walk can end in, past the verifier's limit.
 */
__noinline int fast_key_set(struct fast_key *key, __u32 end,
    __u32 type_class);

__noinline int
fast_key_set(struct fast_key *key, __u32 end, __u32 type_class)
{
	if (key == NULL)
		return 0;
	return fast_key_close(key, end, type_class);
}

/*
 * Copies the question of the DNS message at off (len bytes, present in
 * the packet) into the slot's key and finishes it.  Returns the question's
 * length, 0 when it is no question dnsmark reads (QR as asked, opcode
 * QUERY, one question, a name it parses), or -1 for a name of more labels
 * than the programs walk (dnsmark reads it: the kernel must not decide).
 * A function of its own for the verifier: inlined, clang reused a stack
 * slot of its caller's spilled pointers for a 32-bit value, which is
 * refused without CAP_PERFMON.
 */
static __noinline int
fast_question(struct __sk_buff *skb, __u64 off, __u64 present, __u64 qr,
    struct fast_slot *slot)
{
	/* The header's first six bytes (id, flags, question count), then
	 * type and class: one buffer, for egress's stack of 512 bytes. */
	__u8 bytes[8];
	/* 64 bits, these: clang spills a 32-bit value with a 4-byte store,
	 * and Linux 6.1's verifier refuses a second narrow store into a
	 * slot that holds a spilled value to a loader without CAP_PERFMON. */
	__u64 name = off + FAST_DNS_HEADER;
	__u32 pos = 0, end = 0;
	__u64 have;
	int done = 0;

	if (present < FAST_DNS_HEADER + 5 ||
	    bpf_skb_load_bytes(skb, off, bytes, 6) < 0)
		return 0;
	if ((bytes[2] & 0x80) != qr || (bytes[2] & 0x78) != 0 ||
	    bytes[4] != 0 || bytes[5] != 1)
		return 0;
	have = present - FAST_DNS_HEADER;
	if (have > FAST_QUESTION_MAX)
		have = FAST_QUESTION_MAX;
	if (have < 5)
		return 0;
	/* After the check, not before: clang spilled have before it and
	 * passed the copy it reloaded, whose lower bound Linux 6.1's
	 * verifier did not know (a length of 0, refused). */
	barrier_var(have);
	if (bpf_skb_load_bytes(skb, name, &slot->key, have) < 0)
		return 0;
	/*
	 * The labels, read from the packet at a scalar offset (no pointer
	 * moved by a value the verifier cannot bound alike on every path),
	 * unrolled: bpf_loop()'s callback writing its state into this
	 * frame was refused by Linux 6.1 without CAP_PERFMON, or did not
	 * converge on later kernels.  A name of more labels than
	 * FAST_WALK_LABELS is not read: the caller stands aside.
	 */
#pragma clang loop unroll(full)
	for (int i = 0; i < FAST_WALK_LABELS; i++) {
		__u8 label = 0xff;

		if (done)
			break;
		if (pos < FAST_NAME_MAX &&
		    bpf_skb_load_bytes(skb, name + pos, &label, 1) < 0)
			label = 0xff;
		done = fast_label_step(label, &pos, &end);
	}
	if (!done)
		return -1;
	if (end == 0 || end > FAST_NAME_MAX || end + 4 > have ||
	    bpf_skb_load_bytes(skb, name + end, bytes, 4) < 0)
		return 0;
	return fast_key_set(&slot->key, end,
	    (__u32)bytes[0] << 24 | (__u32)bytes[1] << 16 |
	    (__u32)bytes[2] << 8 | bytes[3]);
}

static __noinline struct fast_slot *
fast_slot(__u32 which, __u64 *seq)
{
	struct fast_slot *slot = bpf_map_lookup_elem(&fast_slots, &which);

	if (slot != NULL)
		*seq = ++slot->seq;
	return slot;
}

/*
 * One try at filing that a client of mark asked key at units: 1 when done,
 * 0 when another CPU changed the entry meanwhile (or the sweeper is
 * deleting it) or the map is full.
 */
static __always_inline int
fast_file_once(struct fastconf *conf, struct fast_key *key, __u32 mark,
    __u64 units, __u64 timeout)
{
	__u64 *state = bpf_map_lookup_elem(&fast_questions, key);
	__u64 old, next;

	if (state == NULL) {
		next = fast_state_ask(0, mark, units, timeout);
		if (bpf_map_update_elem(&fast_questions, key, &next,
		    BPF_NOEXIST) != 0)
			return 0;
		__sync_fetch_and_add(&conf->entries, 1);
		return 1;
	}
	old = *state;
	if (old == FAST_DEAD)
		return 0;
	next = fast_state_ask(old, mark, units, timeout);
	return __sync_val_compare_and_swap(state, old, next) == old;
}

/*
 * Files a client's question (ingress): its mark asked, and waits.  Global
 * functions, these two: the verifier checks each once, not at each of the
 * unrolled walk's calls.
 */
__noinline int fast_file(struct __sk_buff *skb, __u32 off, __u32 present);
__noinline int fast_answered(struct __sk_buff *skb, __u32 off, __u32 present);

__noinline int
fast_file(struct __sk_buff *skb, __u32 off, __u32 present)
{
	struct fastconf *conf = fast_config();
	struct fast_slot *slot;
	__u64 now = bpf_ktime_get_ns(), seq = 0, units, timeout;
	int filed = 0, question;

	if (conf == NULL)
		return 0;
	slot = fast_slot(FAST_SLOT_INGRESS, &seq);
	if (slot == NULL) {
		fast_doubt(conf, now);
		return 0;
	}
	question = fast_question(skb, off, present, 0, slot);
	if (question == 0)
		return 0;
	if (question < 0) {
		/* A question dnsmark reads and the programs cannot file. */
		fast_count(FAST_FILE_FAILED);
		fast_doubt(conf, now);
		return 0;
	}
	units = fast_time_units(now);
	timeout = conf->timeout_units;
	/* Four tries, written out: a loop clang left with a back-edge
	 * looked infinite to the verifier. */
	filed = fast_file_once(conf, &slot->key, skb->mark, units, timeout) ||
	    fast_file_once(conf, &slot->key, skb->mark, units, timeout) ||
	    fast_file_once(conf, &slot->key, skb->mark, units, timeout) ||
	    fast_file_once(conf, &slot->key, skb->mark, units, timeout);
	if (slot->seq != seq) {
		/* The key may be another run's: nothing is to be trusted. */
		fast_count(FAST_FILE_FAILED);
		fast_doubt(conf, now);
		return 0;
	}
	if (!filed) {
		/* This question only (the map full, or four races lost): it
		 * stands aside until its askers are no longer waiting, so
		 * that a later ask by another mark cannot take it. */
		fast_count(FAST_FILE_FAILED);
		fast_doubt_question(conf, &slot->key, now);
		return 0;
	}
	fast_count(FAST_FILED);
	return 0;
}

/* One try at counting an answer in *state: 1 when done (or nothing to
 * do), 0 when another CPU changed it meanwhile. */
static __always_inline int
fast_answer_once(__u64 *state, __u64 units, __u64 timeout)
{
	__u64 old = *state;
	__u64 next = fast_state_answer(old, units, timeout);

	return next == old ||
	    __sync_val_compare_and_swap(state, old, next) == old;
}

/* Counts an answer to a client (egress): one asker fewer waits. */
__noinline int
fast_answered(struct __sk_buff *skb, __u32 off, __u32 present)
{
	struct fastconf *conf = fast_config();
	struct fast_slot *slot;
	__u64 now = bpf_ktime_get_ns(), seq = 0, units, timeout;
	__u64 *state;

	if (conf == NULL)
		return 0;
	slot = fast_slot(FAST_SLOT_EGRESS, &seq);
	if (slot == NULL) {
		fast_doubt(conf, now);
		return 0;
	}
	if (fast_question(skb, off, present, 0x80, slot) <= 0)
		return 0;
	units = fast_time_units(now);
	timeout = conf->timeout_units;
	state = bpf_map_lookup_elem(&fast_questions, &slot->key);
	if (state == NULL)
		return 0;
	if (slot->seq != seq) {
		fast_doubt(conf, now);
		return 0;
	}
	/* An answer not counted leaves an asker "waiting" the kernel would
	 * mark for; dnsmark would not: the question stands aside. */
	if (!(fast_answer_once(state, units, timeout) ||
	    fast_answer_once(state, units, timeout) ||
	    fast_answer_once(state, units, timeout) ||
	    fast_answer_once(state, units, timeout)))
		fast_doubt_question(conf, &slot->key, now);
	return 0;
}

/*
 * An upstream query's fingerprint: its ports, DNS id, length and
 * destination, read at the offsets classify checked.  Returns 0 for a
 * packet classify would not match.
 */
static __always_inline __u64
fast_fingerprint(struct __sk_buff *skb, __u32 *dns_off)
{
	__u8 ip[FASTCONF_IPV6_HEADER];
	__u8 l4[FASTCONF_UDP_HEADER + 2];
	__u32 off;
	__u64 fp;

	if (bpf_skb_load_bytes(skb, 0, ip, 1) < 0)
		return 0;
	if (ip[0] == 0x45) {
		if (bpf_skb_load_bytes(skb, 0, ip, 20) < 0 ||
		    ip[9] != FASTCONF_PROTO_UDP ||
		    ((ip[6] << 8 | ip[7]) & 0x3fff) != 0 ||
		    (__u32)(ip[2] << 8 | ip[3]) != skb->len)
			return 0;
		off = 20;
		fp = (__u64)ip[16] << 24 | ip[17] << 16 | ip[18] << 8 | ip[19];
	} else if ((ip[0] >> 4) == 6) {
		if (bpf_skb_load_bytes(skb, 0, ip, 40) < 0 ||
		    ip[6] != FASTCONF_PROTO_UDP ||
		    (__u32)(ip[4] << 8 | ip[5]) + 40 != skb->len)
			return 0;
		off = 40;
		fp = (__u64)(ip[36] ^ ip[28]) << 24 | (ip[37] ^ ip[29]) << 16 |
		    (ip[38] ^ ip[30]) << 8 | (ip[39] ^ ip[31]);
	} else {
		return 0;
	}
	/* The datagram must fill the packet, as dnsmark's parser and
	 * fast_tell() read it: a length that says otherwise is left to the
	 * queue. */
	if (bpf_skb_load_bytes(skb, off, l4, sizeof(l4)) < 0 ||
	    l4[2] != 0 || l4[3] != 53 ||
	    (__u32)(l4[4] << 8 | l4[5]) != skb->len - off)
		return 0;
	*dns_off = off + FASTCONF_UDP_HEADER;
	fp ^= (__u64)(l4[0] << 8 | l4[1]) << 48 | (__u64)(l4[8] << 8 | l4[9])
	    << 32 | (__u64)(skb->len & 0xff) << 56;
	return fp | 1;
}

static __noinline struct fast_scratch *
fast_scratch_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&fast_scratch, &zero);
}

int dnsmark_fast_classify(struct __sk_buff *skb);
int dnsmark_fast_verify(struct __sk_buff *skb);

/* Copies the source address (len bytes at offset) and the destination's
 * after it into record: constant lengths, for the verifier. */
static __always_inline int
fast_addrs(struct __sk_buff *skb, struct bpfrecord *record, __u32 offset,
    __u32 len)
{
	if (bpf_skb_load_bytes(skb, offset, record->src_addr, len) < 0)
		return -1;
	return bpf_skb_load_bytes(skb, offset + len, record->dst_addr, len);
}

/*
 * Writes a BPFRECORD_QUEUED record of the upstream query whose DNS message
 * starts at dns_off, a datagram fast_fingerprint() checked (an IPv4 header
 * of 20 bytes or an IPv6 one of 40, then UDP).  Straight into the ring,
 * not through a walk on the stack: classify's stack and this one's must
 * fit in 512 bytes.  Returns 1 when written.
 */
static __always_inline int
fast_queued(struct __sk_buff *skb, __u32 dns_off)
{
	struct bpfrecord *record;
	__u64 len = skb->len - dns_off, copy = len;
	__u32 ip6 = dns_off == FASTCONF_IPV6_HEADER + FASTCONF_UDP_HEADER;
	__u8 ports[4];

	record = client_reserve();
	if (record == NULL)
		return 0;
	if (copy > BPFRECORD_MSG_MAX)
		copy = BPFRECORD_MSG_MAX;
	barrier_var(copy);
	__builtin_memset(record->src_addr, 0, sizeof(record->src_addr));
	__builtin_memset(record->dst_addr, 0, sizeof(record->dst_addr));
	if (copy < BPFPARSE_DNS_HEADER || len > 0xffff ||
	    bpf_skb_load_bytes(skb, dns_off, record->msg, copy) < 0 ||
	    bpf_skb_load_bytes(skb, dns_off - FASTCONF_UDP_HEADER, ports,
	    sizeof(ports)) < 0 ||
	    (ip6 ? fast_addrs(skb, record, 8, 16) :
	    fast_addrs(skb, record, 12, 4)) < 0) {
		bpf_ringbuf_discard(record, BPF_RB_NO_WAKEUP);
		return 0;
	}
	record->time_ns = bpf_ktime_get_ns();
	record->mark = skb->mark;
	record->family = ip6 ? 6 : 4;
	record->protocol = FASTCONF_PROTO_UDP;
	record->src_port = (__u16)(ports[0] << 8 | ports[1]);
	record->dst_port = (__u16)(ports[2] << 8 | ports[3]);
	record->msg_len = (__u16)len;
	record->copy_len = (__u16)copy;
	record->kind = BPFRECORD_QUEUED;
	bpf_ringbuf_submit(record, client_wakeup());
	return 1;
}

/*
 * classify leaves the query to the queue for reason: counted, and written
 * to the ring as it goes there (when it is a query classify could read:
 * dns_off not 0), so that dnsmark judges it as things stand now, not when
 * it reads the queued packet (the resolver may have answered the client it
 * asks for meanwhile).  Returns 0, classify's answer.
 */
static __noinline int
fast_miss(struct __sk_buff *skb, __u32 reason, __u32 dns_off)
{
	fast_count(reason);
	if (dns_off != 0 && dns_off < skb->len)
		fast_queued(skb, dns_off);
	return 0;
}

/* mangle OUTPUT, an upstream query: 1 when the kernel marks it. */
SEC("socket")
int
dnsmark_fast_classify(struct __sk_buff *skb)
{
	struct fastconf *conf = fast_config();
	struct fast_scratch *scratch = fast_scratch_get();
	enum fast_reason reason;
	struct fast_slot *slot;
	__u64 now = bpf_ktime_get_ns(), seq = 0, fp, *state, *doubt;
	__u32 dns_off = 0, mark = 0;

	if (conf == NULL || scratch == NULL)
		return 0;
	if (now > conf->alive_until_ns) {
		fast_count(FAST_OFF);
		return 0;
	}
	if (now < conf->doubt_until_ns) {
		fast_count(FAST_DOUBT);
		return 0;
	}
	if ((skb->mark & conf->mask) != 0) {
		fast_count(FAST_PREMARKED);
		return 0;
	}
	fp = fast_fingerprint(skb, &dns_off);
	slot = fast_slot(FAST_SLOT_OUTPUT, &seq);
	if (fp == 0 || dns_off >= skb->len)
		return fast_miss(skb, FAST_PACKET, 0);
	if (slot == NULL ||
	    fast_question(skb, dns_off, skb->len - dns_off, 0, slot) <= 0)
		return fast_miss(skb, FAST_PACKET, dns_off);
	state = bpf_map_lookup_elem(&fast_questions, &slot->key);
	reason = fast_state_verdict(state != NULL ? *state : 0,
	    fast_time_units(now), conf->timeout_units, conf->mask, &mark);
	if (reason == FAST_MARKED) {
		__u32 index = fast_key_hash(&slot->key) % FASTCONF_DOUBTS;

		doubt = bpf_map_lookup_elem(&fast_doubts, &index);
		if (doubt == NULL || *doubt > now)
			reason = FAST_DOUBT;
	}
	if (reason == FAST_MARKED && slot->seq != seq)
		reason = FAST_UNDONE;
	if (reason != FAST_MARKED)
		return fast_miss(skb, reason, dns_off);
	scratch->fingerprint = fp;
	scratch->mark = mark & conf->mask;
	scratch->client_mark = mark;
	scratch->undo = 0;
	return 1;
}

/*
 * One program per bit: 1 when the mark classify found for the packet has
 * it.  No check that the scratch is still this packet's: verify checks
 * the mark built against it, and undoes it otherwise.  And one per byte,
 * 1 when the mark has a bit there: the rules test the bits of that byte
 * only then (a small mark passes four byte rules and eight bit rules, not
 * thirty-two).
 */
static __always_inline int
fast_bits(__u32 mask)
{
	struct fast_scratch *scratch = fast_scratch_get();

	return scratch != NULL && (scratch->mark & mask) != 0;
}

#define FAST_BIT(n)							\
	int dnsmark_fast_bit##n(struct __sk_buff *skb);			\
	SEC("socket")							\
	int								\
	dnsmark_fast_bit##n(struct __sk_buff *skb)			\
	{								\
		(void)skb;						\
		return fast_bits(1u << (n));				\
	}

#define FAST_BYTE(n)							\
	int dnsmark_fast_byte##n(struct __sk_buff *skb);		\
	SEC("socket")							\
	int								\
	dnsmark_fast_byte##n(struct __sk_buff *skb)			\
	{								\
		(void)skb;						\
		return fast_bits(0xffu << (8 * (n)));			\
	}

FAST_BYTE(0) FAST_BYTE(1) FAST_BYTE(2) FAST_BYTE(3)
FAST_BIT(0) FAST_BIT(1) FAST_BIT(2) FAST_BIT(3)
FAST_BIT(4) FAST_BIT(5) FAST_BIT(6) FAST_BIT(7)
FAST_BIT(8) FAST_BIT(9) FAST_BIT(10) FAST_BIT(11)
FAST_BIT(12) FAST_BIT(13) FAST_BIT(14) FAST_BIT(15)
FAST_BIT(16) FAST_BIT(17) FAST_BIT(18) FAST_BIT(19)
FAST_BIT(20) FAST_BIT(21) FAST_BIT(22) FAST_BIT(23)
FAST_BIT(24) FAST_BIT(25) FAST_BIT(26) FAST_BIT(27)
FAST_BIT(28) FAST_BIT(29) FAST_BIT(30) FAST_BIT(31)


static __always_inline int fast_tell(struct __sk_buff *skb, __u32 dns_off,
    __u32 mark);

/*
 * After the bits: 1 when the packet's mark is the one classify found and
 * dnsmark was told through the ring what went upstream for whom (the rule
 * accepts it).  Else the mark built is undone by the rules after it, with
 * every bit of the mask.
 */
SEC("socket")
int
dnsmark_fast_verify(struct __sk_buff *skb)
{
	struct fastconf *conf = fast_config();
	struct fast_scratch *scratch = fast_scratch_get();
	__u32 dns_off = 0;
	__u64 fp;

	if (conf == NULL || scratch == NULL)
		return 0;
	fp = fast_fingerprint(skb, &dns_off);
	/* dnsmark must learn of every query the kernel marks: one it
	 * cannot be told of (the ring full) is undone and queued. */
	if (fp != 0 && scratch->fingerprint == fp && scratch->undo == 0 &&
	    (skb->mark & conf->mask) == scratch->mark &&
	    fast_tell(skb, dns_off, scratch->client_mark)) {
		scratch->fingerprint = 0;
		fast_count(FAST_MARKED);
		return 1;
	}
	fast_count(FAST_UNDONE);
	scratch->fingerprint = fp;
	scratch->mark = conf->mask;
	scratch->undo = 1;
	return 0;
}

/*
 * The sweeper: a timer the programs run every second, in the kernel, that
 * deletes the entries no client asked for a whole timeout, so that the map
 * has room for new questions whether dnsmark runs or not.  An entry is
 * first made FAST_DEAD by compare-and-swap, so that a client asking at
 * that very moment either refreshed it first (and it stays) or finds it
 * dead and files its question anew once it is gone: a deletion never
 * loses an ask.
 * It walks the map only while it holds more than conf->sweep_above
 * entries (half of them: a full map would keep questions out), and once
 * every FAST_SWEEP_IDLE ticks whatever it holds: a walk visits every
 * bucket of the map, 65 536 at the default, and took 0.7 ms or more in
 * softirq context with a thousand entries, a delay to the packets of its
 * CPU each second (doc/performance.md).  An entry no client asked is read
 * as stale, not as an ask, so a later walk costs no decision; the walk
 * every minute keeps the times of the words from wrapping round
 * (FAST_TIME_BITS: 78 hours) to look live again.
 */
#define FAST_SWEEP_NS 1000000000ull
#define FAST_SWEEP_IDLE 60

struct fast_sweep {
	__u64 now_units;
	__u64 timeout_units;
	__u64 deleted;
};

static long
fast_sweep_question(void *map, struct fast_key *key, __u64 *state,
    struct fast_sweep *sweep)
{
	__u64 old = *state;

	if (old != FAST_DEAD &&
	    fast_state_live(old, sweep->now_units, sweep->timeout_units))
		return 0;
	if ((old == FAST_DEAD ||
	    __sync_val_compare_and_swap(state, old, FAST_DEAD) == old) &&
	    bpf_map_delete_elem(map, key) == 0)
		sweep->deleted++;
	return 0;
}

static int
fast_sweep(void *map, __u32 *key, struct fast_timer *timer)
{
	struct fastconf *conf = fast_config();
	struct fast_sweep sweep = { 0 };

	(void)map;
	(void)key;
	if (conf != NULL &&
	    ((__s64)conf->entries > (__s64)conf->sweep_above ||
	    ++timer->idle >= FAST_SWEEP_IDLE)) {
		__u64 start = bpf_ktime_get_ns();

		sweep.now_units = fast_time_units(start);
		sweep.timeout_units = conf->timeout_units;
		bpf_for_each_map_elem(&fast_questions, fast_sweep_question,
		    &sweep, 0);
		__sync_fetch_and_sub(&conf->entries, sweep.deleted);
		__sync_fetch_and_add(&conf->swept, sweep.deleted);
		__sync_fetch_and_add(&conf->sweeps, 1);
		timer->idle = 0;
		__sync_fetch_and_add(&conf->sweep_ns,
		    bpf_ktime_get_ns() - start);
	}
	bpf_timer_start(&timer->timer, FAST_SWEEP_NS, 0);
	return 0;
}

int dnsmark_fast_start(struct __sk_buff *skb);

/*
 * Starts the sweeper: dnsmark runs this once after loading (BPF_PROG_RUN,
 * any packet).  Returns 0, or 1 when it was running already (the maps
 * outlived an earlier dnsmark).
 */
SEC("socket")
int
dnsmark_fast_start(struct __sk_buff *skb)
{
	struct fast_timer *timer;
	__u32 zero = 0;

	(void)skb;
	timer = bpf_map_lookup_elem(&fast_timers, &zero);
	if (timer == NULL)
		return 2;
	if (bpf_timer_init(&timer->timer, &fast_timers, 1 /* MONOTONIC */)
	    != 0)
		return 1;
	bpf_timer_set_callback(&timer->timer, fast_sweep);
	bpf_timer_start(&timer->timer, FAST_SWEEP_NS, 0);
	return 0;
}

#endif
