/*
 * The kernel fast path's decisions, shared by the BPF programs of
 * src/bpf/client.bpf.c and a unit test that runs them natively: the key a
 * question is filed under (its name in lower case, type and class), the
 * state word kept for each key (who asked it, whether anyone still waits)
 * and the verdict a resolver's upstream query gets from it.  Pure: no map,
 * no packet, no clock; the caller passes all three in.
 * The kernel marks an upstream query only where dnsmark would give the same
 * mark: its exact question is waited for by clients of one mark alone, not
 * yet answered, and no client of another mark asked it in the window
 * (dnsmark decides among the clients waiting for the exact question before
 * any other evidence).  Everything else goes to dnsmark on the queue.
 */
#ifndef DNSMARK_BPF_FAST_H
#define DNSMARK_BPF_FAST_H

#include <linux/types.h>

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* A name in wire format, root label included, at most 255 bytes. */
#define FAST_NAME_MAX 255
/* The bytes of a question read from a packet: name, type and class. */
#define FAST_QUESTION_MAX (FAST_NAME_MAX + 4)
#define FAST_DNS_HEADER 12
/* The most labels of a name of 255 bytes (each a length byte and one). */
#define FAST_LABELS_MAX 128
/* The most labels the programs walk (an ip6.arpa name has 34): a name of
 * more is one they cannot file, and the fast path stands aside. */
#define FAST_WALK_LABELS 40

/* A question's key: the name lowercased and zero-padded, then type and
 * class in network byte order, as they were on the wire. */
struct fast_key {
	__u8 name[FAST_NAME_MAX + 1];
	__u8 qtype[2];
	__u8 qclass[2];
	__u8 pad[4];		/* zero: the map's key is all 264 bytes */
} __attribute__((aligned(8)));

/*
 * The state word of a key, changed only by compare-and-swap so that two
 * CPUs filing the same question at once lose neither:
 *   bits  0-31  the mark of the clients who asked (the whole packet mark)
 *   bits 32-59  when the last of them asked, in FAST_TIME_SHIFT units
 *   bits 60-62  how many of its askers wait for their answer; FAST_MANY
 *               once the count is lost (more than FAST_MANY - 1)
 *   bit  63     ambiguous: a client of another mark asked while one waited
 * A word older than the timeout is as good as none.
 */
#define FAST_TIME_SHIFT 20		/* units of 2^20 ns, about 1.05 ms */
#define FAST_TIME_BITS 28		/* wraps after 78 hours */
#define FAST_TIME_MASK ((1ull << FAST_TIME_BITS) - 1)
#define FAST_WAIT_SHIFT 60
#define FAST_MANY 7ull
#define FAST_AMBIGUOUS (1ull << 63)
/* The word of an entry the sweeper is deleting: no program changes it,
 * and it marks nothing (a filer waits for the entry to go, or doubts). */
#define FAST_DEAD (~0ull)

/* Why an upstream query was, or was not, marked by the kernel: the
 * counters' indexes (dnsmark's fastpath_* metrics). */
enum fast_reason {
	FAST_MARKED = 0,	/* marked in the kernel */
	FAST_ABSENT,		/* no client asked this question */
	FAST_STALE,		/* asked longer ago than the timeout */
	FAST_ANSWERED,		/* every asker has its answer */
	FAST_AMBIGUOUS_MARKS,	/* clients of two marks asked */
	FAST_MANY_WAITING,	/* too many waiting askers to count */
	FAST_UNMARKED,		/* the askers' mark has no bit in --mask */
	FAST_PACKET,		/* not a query the kernel reads (options,
				 * fragments, several questions, ...) */
	FAST_PREMARKED,		/* the query has --mask bits set already */
	FAST_DOUBT,		/* dnsmark knows of askers the kernel does not
				 * (TCP clients), or the map was full */
	FAST_OFF,		/* dnsmark is not running */
	FAST_FILED,		/* a client question filed (not a query) */
	FAST_FILE_FAILED,	/* a client question the map had no room for */
	FAST_UNDONE,		/* a mark built, then undone: its scratch
				 * was overwritten between the rules */
	FAST_REASONS
};

static __always_inline __u64
fast_time_units(__u64 now_ns)
{
	return (now_ns >> FAST_TIME_SHIFT) & FAST_TIME_MASK;
}

/* Converts a timeout in milliseconds to time units, rounded up. */
static __always_inline __u64
fast_timeout_units(__u64 timeout_ms)
{
	return (timeout_ms * 1000000ull + (1ull << FAST_TIME_SHIFT) - 1) >>
	    FAST_TIME_SHIFT;
}

static __always_inline __u32
fast_state_mark(__u64 state)
{
	return (__u32)state;
}

static __always_inline __u64
fast_state_waiting(__u64 state)
{
	return (state >> FAST_WAIT_SHIFT) & FAST_MANY;
}

static __always_inline __u64
fast_state_make(__u32 mark, __u64 units, __u64 waiting)
{
	return (__u64)mark | (units & FAST_TIME_MASK) << 32 |
	    waiting << FAST_WAIT_SHIFT;
}

static __always_inline __u64
fast_state_time(__u64 state)
{
	return (state >> 32) & FAST_TIME_MASK;
}

/*
 * Returns 1 when state was written less than timeout units before now, or
 * less than that after it: another CPU may stamp a word later than the
 * clock its reader took before reading it.
 */
static __always_inline int
fast_state_live(__u64 state, __u64 now_units, __u64 timeout_units)
{
	__u64 then = fast_state_time(state);

	return state != 0 && state != FAST_DEAD &&
	    (((now_units - then) & FAST_TIME_MASK) < timeout_units ||
	    ((then - now_units) & FAST_TIME_MASK) < timeout_units);
}

/* The later of now and the time of a live state. */
static __always_inline __u64
fast_state_later(__u64 state, __u64 now_units)
{
	__u64 then = fast_state_time(state);

	return ((then - now_units) & FAST_TIME_MASK) <
	    ((now_units - then) & FAST_TIME_MASK) ? then : now_units;
}

/*
 * The state after a client with mark asked, at now_units, the question of
 * state old (0: never asked).  A new asker of the same mark waits too; one
 * of another mark takes the key over once nobody waits (its asker is the
 * only one dnsmark counts as waiting) and makes it ambiguous while someone
 * does, until no client asked it for a whole timeout.
 */
static __always_inline __u64
fast_state_ask(__u64 old, __u32 mark, __u64 now_units, __u64 timeout_units)
{
	__u64 waiting = fast_state_waiting(old);

	if (old == FAST_DEAD)
		return old;
	if (!fast_state_live(old, now_units, timeout_units))
		return fast_state_make(mark, now_units, 1);
	now_units = fast_state_later(old, now_units);
	if (old & FAST_AMBIGUOUS)
		return fast_state_make(fast_state_mark(old), now_units,
		    waiting) | FAST_AMBIGUOUS;
	if (fast_state_mark(old) == mark)
		return fast_state_make(mark, now_units,
		    waiting < FAST_MANY ? waiting + 1 : FAST_MANY);
	if (waiting == 0)
		return fast_state_make(mark, now_units, 1);
	return fast_state_make(fast_state_mark(old), now_units, waiting) |
	    FAST_AMBIGUOUS;
}

/*
 * The state after the resolver answered a client the question of state
 * old: one asker fewer waits.  A lost count stays lost; an ambiguous or
 * stale word is left as it is.
 */
static __always_inline __u64
fast_state_answer(__u64 old, __u64 now_units, __u64 timeout_units)
{
	__u64 waiting = fast_state_waiting(old);

	if (old == FAST_DEAD ||
	    !fast_state_live(old, now_units, timeout_units) ||
	    (old & FAST_AMBIGUOUS) || waiting == 0 || waiting == FAST_MANY)
		return old;
	return old - (1ull << FAST_WAIT_SHIFT);
}

/*
 * The verdict for an upstream query whose question has state (0: none),
 * at now_units: FAST_MARKED and the askers' mark in *mark, or why not.
 */
static __always_inline enum fast_reason
fast_state_verdict(__u64 state, __u64 now_units, __u64 timeout_units,
    __u32 mask, __u32 *mark)
{
	__u64 waiting = fast_state_waiting(state);

	if (state == 0 || state == FAST_DEAD)
		return FAST_ABSENT;
	if (!fast_state_live(state, now_units, timeout_units))
		return FAST_STALE;
	if (state & FAST_AMBIGUOUS)
		return FAST_AMBIGUOUS_MARKS;
	if (waiting == 0)
		return FAST_ANSWERED;
	if (waiting == FAST_MANY)
		return FAST_MANY_WAITING;
	if ((fast_state_mark(state) & mask) == 0)
		return FAST_UNMARKED;
	*mark = fast_state_mark(state);
	return FAST_MARKED;
}

/* Lowercases the ASCII letters of the 8 bytes of word, and nothing else
 * (a label's length byte is at most 63, never a letter). */
static __always_inline __u64
fast_lower8(__u64 word)
{
	__u64 high = 0x8080808080808080ull;
	__u64 ones = 0x0101010101010101ull;
	/* Per byte: 0x80 set when the byte (below 0x80) is >= 'A' and
	 * <= 'Z'; bytes of 0x80 and up are left alone. */
	__u64 low7 = word & ~high;
	__u64 ge_a = (low7 + ones * (0x80 - 'A')) & high;
	__u64 le_z = ~(low7 + ones * (0x7f - 'Z')) & high;
	__u64 upper = ge_a & le_z & ~word;

	return word | upper >> 2;
}

/*
 * One step of the walk over the labels of a name: label is the byte at
 * *pos, the name's first byte at 0.  Returns 0 to go on, or 1 when the
 * walk ends: *end is then the name's length, root label included, or 0
 * for a name dnsmark's own parser rejects too (a compressed label, a name
 * over FAST_NAME_MAX bytes).  A step, not a loop: the BPF programs run it
 * at most FAST_WALK_LABELS times, unrolled, reading each label byte from
 * the packet.
 */
static __always_inline int
fast_label_step(__u8 label, __u32 *pos, __u32 *end)
{
	__u32 at = *pos;

	if (at > FAST_NAME_MAX - 1) {
		*end = 0;
		return 1;
	}
	if (label == 0) {
		*end = at + 1;
		return 1;
	}
	if (label > 63) {
		*end = 0;
		return 1;
	}
	*pos = at + 1u + label;
	return 0;
}

/*
 * Finishes the key whose name the label walk found end bytes long in
 * key's first bytes: zeroes what follows the name, lowercases it and sets
 * type and class from type_class (type in the high half).  Returns end, or
 * 0 when end is no name's length.  No pointer arithmetic on end: the BPF
 * programs read type and class from the packet at an offset instead (the
 * verifier refuses a pointer moved by a value whose bounds differ between
 * paths to a loader without CAP_PERFMON).
 */
static __always_inline int
fast_key_close(struct fast_key *key, __u32 end, __u32 type_class)
{
	if (end == 0 || end > FAST_NAME_MAX)
		return 0;
#ifdef __clang__
#pragma clang loop unroll(full)
#endif
	for (int i = 0; i < (int)sizeof(key->name) / 8; i++) {
		__u32 first = (__u32)i * 8;
		__u64 word, keep;

		if (end >= first + 8)
			keep = ~0ull;
		else if (end <= first)
			keep = 0;
		else
			keep = (1ull << ((end - first) * 8)) - 1;
		/* Bytes in memory order: the first is the lowest on a
		 * little-endian machine, as BPF and x86 are. */
		word = ((__u64 *)key->name)[i];
		((__u64 *)key->name)[i] = fast_lower8(word & keep);
	}
	key->qtype[0] = (__u8)(type_class >> 24);
	key->qtype[1] = (__u8)(type_class >> 16);
	key->qclass[0] = (__u8)(type_class >> 8);
	key->qclass[1] = (__u8)type_class;
	((__u32 *)key->pad)[0] = 0;
	return (int)end;
}

/*
 * Turns the bytes of a question copied into key (the name, then type and
 * class; have bytes of them, the rest undefined), whose name the label
 * walk found end bytes long, into the key: fast_key_close() with the type
 * and class that follow the name.  Returns end, or 0 when type and class
 * are cut short or end is no name's length.  Native code's way (the unit
 * tests'); the BPF programs do the same with the packet.
 */
static __always_inline int
fast_key_finish(struct fast_key *key, __u32 have, __u32 end)
{
	const __u8 *raw = (const __u8 *)key;
	__u32 type_class;

	if (end == 0 || end > FAST_NAME_MAX || end + 4 > have)
		return 0;
	type_class = (__u32)raw[end] << 24 | (__u32)raw[end + 1] << 16 |
	    (__u32)raw[end + 2] << 8 | raw[end + 3];
	return fast_key_close(key, end, type_class);
}

/*
 * A hash of a finished key, for the table of TCP clients' questions that
 * dnsmark writes and the programs read: both sides compute it.  Not keyed:
 * a client that makes two questions share a slot only keeps them from the
 * fast path.
 */
static __always_inline __u64
fast_key_hash(const struct fast_key *key)
{
	const __u8 *raw = (const __u8 *)key;
	__u64 hash = 0x243f6a8885a308d3ull;

#ifdef __clang__
#pragma clang loop unroll(full)
#endif
	for (int i = 0; i < (int)sizeof(key->name) / 8; i++) {
		__u64 word = ((const __u64 *)raw)[i];

		hash = (hash ^ word) * 0x9e3779b97f4a7c15ull;
		hash ^= hash >> 29;
	}
	hash ^= (__u64)key->qtype[0] << 24 | (__u64)key->qtype[1] << 16 |
	    (__u64)key->qclass[0] << 8 | key->qclass[1];
	hash *= 0x9e3779b97f4a7c15ull;
	return hash ^ hash >> 32;
}

/* The whole walk, as a plain loop (the unit tests use it). */
static __always_inline __u32
fast_name_length(const __u8 *raw)
{
	__u32 pos = 0, end = 0;

	for (int i = 0; i < FAST_LABELS_MAX; i++)
		if (fast_label_step(pos < FAST_NAME_MAX ? raw[pos] : 0xff, &pos,
		    &end))
			return end;
	return 0;
}

#ifndef __bpf__
/*
 * What the BPF programs' fast_question() does with a DNS message of len
 * bytes, in plain C, for the tests and the fuzz target that hold it
 * against dnsmark's own parser: the key of its question when the message
 * is one the programs read (QR as qr says, opcode QUERY, one question, a
 * name the walk takes, type and class inside the message), 0, or -1 for a
 * name of more than FAST_WALK_LABELS labels (the programs stand aside).
 * Bytes past the message read as 0xff, as a failed bpf_skb_load_bytes()
 * does.
 */
static inline int
fast_key_from_message(const __u8 *msg, __u32 len, __u8 qr,
    struct fast_key *key)
{
	__u32 have, pos = 0, end = 0, at;
	int done = 0;
	__u8 label;

	if (len < FAST_DNS_HEADER + 5 || (msg[2] & 0x80) != qr ||
	    (msg[2] & 0x78) != 0 || msg[4] != 0 || msg[5] != 1)
		return 0;
	have = len - FAST_DNS_HEADER;
	if (have > FAST_QUESTION_MAX)
		have = FAST_QUESTION_MAX;
	__builtin_memset(key, 0xa5, sizeof(*key));
	__builtin_memcpy(key, msg + FAST_DNS_HEADER, have);
	for (int i = 0; i < FAST_WALK_LABELS && !done; i++) {
		at = FAST_DNS_HEADER + pos;
		label = pos < FAST_NAME_MAX && at < len ? msg[at] : 0xff;
		done = fast_label_step(label, &pos, &end);
	}
	if (!done)
		return -1;
	if (end == 0 || end > FAST_NAME_MAX || end + 4 > have)
		return 0;
	at = FAST_DNS_HEADER + end;
	return fast_key_close(key, end, (__u32)msg[at] << 24 |
	    (__u32)msg[at + 1] << 16 | (__u32)msg[at + 2] << 8 | msg[at + 3]);
}
#endif

#endif
