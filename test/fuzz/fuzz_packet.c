/*
 * libFuzzer target: bytes as a queued IP packet, judged by judge_packet()
 * on LOCAL_IN, LOCAL_OUT or both, then maybe answered, against one judge
 * made at start with small tables, so that state accumulates across inputs
 * as in the daemon.  The first byte is the control byte of fuzz.h, so a
 * client query, the resolver's query and the response that teaches names
 * can come from one input.  Besides the sanitizers, it
 * checks what must hold for any input: only upstream packets get a mark,
 * the mark keeps the bits outside the mask, every packet is counted in
 * exactly one disposition, and the tables stay within their caps.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz.h"
#include "judge.h"
#include "packet.h"

#define FUZZ_MAX_PENDING 64
#define FUZZ_MASK 0x0000ffffu
#define HOOK_FORWARD 2

static const uint32_t fuzz_marks[4] = { 0, 1, 2, 0xabcd0003u };
static const uint64_t fuzz_steps_ms[4] = { 0, 100, 1000, 6000 };

/* Every packet is counted in exactly one of these. */
static const enum stats_counter dispositions[] = {
	STATS_IGNORED_HOOK,
	STATS_BAD_PACKET,
	STATS_UPSTREAM_SYN,
	STATS_IGNORED_NO_PAYLOAD,
	STATS_BAD_DNS,
	STATS_IGNORED_CLIENT_RESPONSE,
	STATS_UPSTREAM_RESPONSES,
	STATS_CLIENT_QUERIES,
	STATS_UPSTREAM_QUERIES,
	STATS_CLIENT_ANSWERS,
};

/* The reasons a DNS message was refused; they add up to STATS_BAD_DNS. */
static const enum stats_counter dns_refusals[] = {
	STATS_BAD_DNS_SHORT,
	STATS_BAD_DNS_NOT_QUERY,
	STATS_BAD_DNS_QDCOUNT,
	STATS_BAD_DNS_COMPRESSED,
	STATS_BAD_DNS_NAME,
	STATS_BAD_DNS_LDNS,
};

/* What became of an upstream query or SYN; each is counted in one. */
static const enum stats_counter upstream_outcomes[] = {
	STATS_UPSTREAM_MARKED,
	STATS_UPSTREAM_UNMARKED,
	STATS_UPSTREAM_TCP_KEPT,
};

static struct judge judge;
static struct stats stats;
static uint64_t now_ms = 1000000;
static uint8_t answer[40 + 20 + 65535];

static void
check(int holds, const char *what)
{
	if (!holds) {
		fprintf(stderr, "fuzz_packet: invariant broken: %s\n", what);
		abort();
	}
}

static uint64_t
sum(const struct stats *s, const enum stats_counter *counters, size_t n)
{
	uint64_t total = 0;

	for (size_t i = 0; i < n; i++)
		total += s->counter[counters[i]];
	return total;
}

/*
 * Returns how many dispositions counted the packet.  Each counts it once,
 * but for client queries and the resolver's answers to clients: a TCP
 * segment may carry several, pipelined, and each is counted.
 */
static unsigned int
dispositions_changed(const struct stats *before, const struct stats *after)
{
	unsigned int changed = 0;

	for (size_t i = 0; i < sizeof(dispositions) / sizeof(dispositions[0]);
	    i++) {
		uint64_t delta = after->counter[dispositions[i]] -
		    before->counter[dispositions[i]];

		if (delta == 0)
			continue;
		changed++;
		if (delta > 1 && dispositions[i] != STATS_CLIENT_QUERIES &&
		    dispositions[i] != STATS_CLIENT_ANSWERS)
			changed++;
	}
	return changed;
}

static void
judge_make(void)
{
	struct judge_config config;

	memset(&config, 0, sizeof(config));
	config.max_pending = FUZZ_MAX_PENDING;
	config.timeout_ms = 5000;
	config.recent_ms = 10000;
	config.policy.conflict = ATTRIB_CONFLICT_NONE;
	config.mask = FUZZ_MASK;
	for (size_t i = 0; i < sizeof(config.key); i++)
		config.key[i] = (uint8_t)(i * 7 + 1);
	if (judge_init(&judge, &config, &stats) != 0) {
		fprintf(stderr, "fuzz_packet: judge_init failed\n");
		abort();
	}
}

/* Judges one packet and checks the invariants around it. */
static void
judge_once(unsigned int hook, const uint8_t *data, size_t len, uint32_t mark,
    int has_ct_mark, uint32_t ct_mark)
{
	struct judge_packet pkt = {
		.hook = hook,
		.data = data,
		.len = len,
		.mark = mark,
		.has_ct_mark = has_ct_mark,
		.ct_mark = ct_mark,
	};
	struct stats before = stats;
	struct judge_verdict verdict;

	verdict = judge_packet(&judge, &pkt, now_ms);
	check(stats.counter[STATS_PACKETS] == before.counter[STATS_PACKETS] + 1,
	    "packets counted once");
	check(dispositions_changed(&before, &stats) == 1,
	    "one disposition per packet");
	check(sum(&stats, dns_refusals, sizeof(dns_refusals) /
	    sizeof(dns_refusals[0])) - sum(&before, dns_refusals,
	    sizeof(dns_refusals) / sizeof(dns_refusals[0])) ==
	    stats.counter[STATS_BAD_DNS] - before.counter[STATS_BAD_DNS],
	    "one reason per refused DNS message");
	check(sum(&stats, upstream_outcomes, sizeof(upstream_outcomes) /
	    sizeof(upstream_outcomes[0])) - sum(&before, upstream_outcomes,
	    sizeof(upstream_outcomes) / sizeof(upstream_outcomes[0])) ==
	    stats.counter[STATS_UPSTREAM_QUERIES] +
	    stats.counter[STATS_UPSTREAM_SYN] -
	    before.counter[STATS_UPSTREAM_QUERIES] -
	    before.counter[STATS_UPSTREAM_SYN],
	    "every upstream query or SYN has one outcome");
	if (verdict.set_mark) {
		check(hook == JUDGE_HOOK_LOCAL_OUT, "marks on LOCAL_OUT only");
		check((verdict.mark & ~FUZZ_MASK) == (mark & ~FUZZ_MASK),
		    "bits outside the mask kept");
		check(stats.counter[STATS_UPSTREAM_MARKED] ==
		    before.counter[STATS_UPSTREAM_MARKED] + 1,
		    "a marked verdict is counted");
	}
	check(asks_count(judge.evidence.pending) <= FUZZ_MAX_PENDING &&
	    asks_count(judge.evidence.ancestors) <= 2 * FUZZ_MAX_PENDING &&
	    asks_count(judge.evidence.learned) <= FUZZ_MAX_PENDING &&
	    asks_count(judge.evidence.inflight) <= FUZZ_MAX_PENDING,
	    "tables within their caps");
}

static void
put16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/*
 * Writes to answer the packet that answers data: addresses and ports
 * swapped, the same transport payload with the QR bit set.  Returns its
 * length, 0 when data does not decode.
 */
static size_t
answer_build(const uint8_t *data, size_t size)
{
	struct packet_info info;
	size_t ip, transport, len, dns;

	if (packet_parse(data, size, &info) != PACKET_OK)
		return 0;
	ip = info.src.family == AF_INET ? 20 : 40;
	transport = info.protocol == IPPROTO_UDP ? 8 : 20;
	len = ip + transport + info.payload_len;
	if (len > sizeof(answer) || (ip == 20 ? len : len - 40) > 65535)
		return 0;
	memset(answer, 0, ip + transport);
	if (ip == 20) {
		answer[0] = 0x45;
		put16(answer + 2, len);
		answer[8] = 64;
		answer[9] = info.protocol;
		memcpy(answer + 12, info.dst.addr, 4);
		memcpy(answer + 16, info.src.addr, 4);
	} else {
		answer[0] = 0x60;
		put16(answer + 4, len - 40);
		answer[6] = info.protocol;
		answer[7] = 64;
		memcpy(answer + 8, info.dst.addr, 16);
		memcpy(answer + 24, info.src.addr, 16);
	}
	put16(answer + ip, info.dst.port);
	put16(answer + ip + 2, info.src.port);
	if (info.protocol == IPPROTO_UDP) {
		put16(answer + ip + 4, 8 + info.payload_len);
	} else {
		answer[ip + 12] = 5 << 4;
		answer[ip + 13] = 0x18;		/* PSH ACK */
	}
	memcpy(answer + ip + transport, info.payload, info.payload_len);
	dns = ip + transport + (info.protocol == IPPROTO_TCP ? 2 : 0);
	if (dns + 2 < len)
		answer[dns + 2] |= 0x80;
	return len;
}

/* The endpoint formatting the debug log uses, on whatever decodes. */
static void
format_endpoints(const uint8_t *data, size_t len)
{
	struct packet_info info;
	char small[8], full[64];

	if (packet_parse(data, len, &info) != PACKET_OK)
		return;
	packet_endpoint_format(&info.src, full, sizeof(full));
	packet_endpoint_format(&info.dst, small, sizeof(small));
	check(strlen(small) < sizeof(small), "endpoint text bounded");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	unsigned int control;
	uint32_t mark, ct_mark;
	int has_ct_mark;

	if (!ready) {
		judge_make();
		ready = 1;
	}
	if (size < 1)
		return 0;
	control = data[0];
	data++;
	size--;
	now_ms += fuzz_steps_ms[FUZZ_TIME_INDEX(control)];
	mark = fuzz_marks[FUZZ_MARK_INDEX(control)];
	has_ct_mark = (control & FUZZ_CT_MARK) != 0;
	ct_mark = fuzz_marks[(FUZZ_MARK_INDEX(control) + 1) & 3];

	switch (FUZZ_PLAN(control)) {
	case FUZZ_PLAN_IN_OUT:
	case FUZZ_PLAN_IN_OUT_ANSWER:
		judge_once(JUDGE_HOOK_LOCAL_IN, data, size, mark, has_ct_mark,
		    ct_mark);
		judge_once(JUDGE_HOOK_LOCAL_OUT, data, size, 0, 0, 0);
		break;
	case FUZZ_PLAN_OUT:
	case FUZZ_PLAN_OUT_ANSWER:
	case FUZZ_PLAN_OUT + 6:
		judge_once(JUDGE_HOOK_LOCAL_OUT, data, size, mark, has_ct_mark,
		    ct_mark);
		break;
	case FUZZ_PLAN_OTHER:
		judge_once(HOOK_FORWARD, data, size, mark, has_ct_mark,
		    ct_mark);
		break;
	default:
		judge_once(JUDGE_HOOK_LOCAL_IN, data, size, mark, has_ct_mark,
		    ct_mark);
		break;
	}
	if (FUZZ_PLAN(control) == FUZZ_PLAN_OUT_ANSWER ||
	    FUZZ_PLAN(control) == FUZZ_PLAN_IN_OUT_ANSWER) {
		size_t len = answer_build(data, size);

		if (len > 0)
			judge_once(JUDGE_HOOK_LOCAL_IN, answer, len, 0, 0, 0);
	}
	format_endpoints(data, size);
	return 0;
}
