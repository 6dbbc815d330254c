/*
 * What each queued packet is and which mark its verdict carries: the
 * dispatcher.  The hook tells the role (DESIGN.md, fact 7): on LOCAL_IN a
 * query is a client's and a response is an upstream server's; on LOCAL_OUT
 * a query is the resolver's, going upstream; on POST_ROUTING only the
 * resolver's TCP segments to servers come.  Only upstream queries (and the
 * SYNs and segments of upstream TCP connections) ever get a new mark;
 * everything else, understood or not, is accepted unchanged and counted.
 * Who caused a query is the evidence's business (evidence.c), TCP's own
 * ways are tcp.c's.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "judge.h"
#include "log.h"
#include "packet.h"
#include "tcp.h"

static const enum stats_counter dns_counters[DNS_STATUS_COUNT] = {
	[DNS_OK] = STATS_BAD_DNS,
	[DNS_SHORT] = STATS_BAD_DNS_SHORT,
	[DNS_NOT_QUERY] = STATS_BAD_DNS_NOT_QUERY,
	[DNS_QDCOUNT] = STATS_BAD_DNS_QDCOUNT,
	[DNS_COMPRESSED] = STATS_BAD_DNS_COMPRESSED,
	[DNS_BAD_NAME] = STATS_BAD_DNS_NAME,
	[DNS_LDNS] = STATS_BAD_DNS_LDNS,
};

static const enum stats_counter reason_counters[ATTRIB_REASON_COUNT] = {
	[ATTRIB_NONE] = STATS_ATTRIB_NONE,
	[ATTRIB_EXACT] = STATS_ATTRIB_EXACT,
	[ATTRIB_EXACT_ID] = STATS_ATTRIB_EXACT_ID,
	[ATTRIB_CONFLICT] = STATS_ATTRIB_CONFLICT,
	[ATTRIB_CONFLICT_UNMARKED] = STATS_ATTRIB_CONFLICT_UNMARKED,
	[ATTRIB_ANCESTOR] = STATS_ATTRIB_ANCESTOR,
	[ATTRIB_LEARNED] = STATS_ATTRIB_LEARNED,
	[ATTRIB_TCP] = STATS_ATTRIB_TCP,
	[ATTRIB_RECENT] = STATS_ATTRIB_RECENT,
	[ATTRIB_SINGLE] = STATS_ATTRIB_SINGLE,
};

int
judge_init(struct judge *judge, const struct judge_config *config,
    struct stats *stats)
{
	int ret;

	memset(judge, 0, sizeof(*judge));
	judge->stats = stats;
	judge->mask = config->mask;
	hold_init(&judge->hold, config->hold_ms);
	ret = evidence_init(&judge->evidence, config->max_pending,
	    config->timeout_ms, config->recent_ms, &config->policy,
	    config->key, stats);
	judge->flows = malloc(sizeof(*judge->flows));
	if (judge->flows == NULL)
		return -ENOMEM;
	flows_init(judge->flows, config->key);
	if (ret == 0)
		ret = early_init(&judge->early, config->key);
	return ret;
}

void
judge_free(struct judge *judge)
{
	evidence_free(&judge->evidence);
	free(judge->flows);
	judge->flows = NULL;
	early_free(&judge->early);
}

size_t
judge_memory(const struct judge *judge)
{
	return evidence_memory(&judge->evidence) + sizeof(*judge->flows) +
	    early_memory(&judge->early);
}

/* The hold counts for itself; its counts are copied into the stats after
 * every packet (judge_packet()) and every release. */
static void
sync_hold_counts(struct judge *judge)
{
	const struct hold_counts *counts = &judge->hold.counts;

	judge->stats->counter[STATS_HOLD_HELD] = counts->held;
	judge->stats->counter[STATS_HOLD_EXPIRED] = counts->expired;
	judge->stats->counter[STATS_HOLD_NAMED] = counts->named;
	judge->stats->counter[STATS_HOLD_OVERFLOW] = counts->overflow;
}

int
judge_next_release(struct judge *judge, uint64_t now_ms, uint32_t *id)
{
	int ret = hold_next_release(&judge->hold, now_ms, id);

	sync_hold_counts(judge);
	return ret;
}

uint64_t
judge_wake_ms(const struct judge *judge)
{
	return hold_deadline(&judge->hold);
}

void
judge_stop_holding(struct judge *judge)
{
	hold_stop(&judge->hold);
}

void
judge_expire(struct judge *judge, uint64_t now_ms)
{
	evidence_expire(&judge->evidence, now_ms);
}

/*
 * A response sent to port 53 is not an answer to the resolver's own query
 * (those leave from random ports), and a query from port 53 to another port
 * is no client's: both are accepted and counted, never learned from.
 */
static int
misdirected(const struct packet_info *info, const struct dns_question *q)
{
	if (dns_is_response(q))
		return info->dst.port == 53;
	return info->src.port == 53 && info->dst.port != 53;
}

void
judge_log_question(const char *what, const struct packet_info *info,
    const struct dns_question *q, uint32_t mark, const char *reason)
{
	char name[4 * DNS_NAME_MAX + 1], src[64], dst[64];

	if (!log_enabled(LOG_LEVEL_DEBUG))
		return;
	log_debug("%s %s -> %s id %u %s type %u class %u mark 0x%x%s%s", what,
	    packet_endpoint_format(&info->src, src, sizeof(src)),
	    packet_endpoint_format(&info->dst, dst, sizeof(dst)), q->id,
	    dns_name_format(q->name, q->name_len, name, sizeof(name)),
	    q->qtype, q->qclass, mark, reason ? " " : "",
	    reason ? reason : "");
}

/*
 * Returns 1 when the response q, from info's source to its destination, is
 * the resolver's answer to a client: from port 53 to another port.
 */
static int
client_answer(const struct packet_info *info, const struct dns_question *q)
{
	return dns_is_response(q) && info->src.port == 53 &&
	    info->dst.port != 53;
}

/*
 * When the answer in pkt left, as far as dnsmark can tell: a batched copy
 * counts as sent as early as it may have been, so that its client's grace
 * (EVIDENCE_ANSWERED_GRACE_MS) is not the batching delay's on top.
 */
static uint64_t
answered_at(const struct judge_packet *pkt, uint64_t now_ms)
{
	return pkt->late_ms < now_ms ? now_ms - pkt->late_ms : 0;
}

/* Settles the question of the client a resolver's answer goes to. */
static void
judge_client_answer(struct judge *judge, const struct packet_info *info,
    const struct dns_question *q, uint64_t now_ms)
{
	evidence_client_answer(&judge->evidence, info, q, now_ms);
	judge_log_question("answer", info, q, 0, NULL);
}

/*
 * A copy of a TCP segment the resolver sends a client: each answer it
 * starts with (length, header, question) settles its client's question.  A
 * resolver writes the answers to one client's pipelined queries as they
 * come, so one segment may carry several (BIND sent A's alone, then AAAA's
 * and HTTPS's together): at most JUDGE_MAX_PIPELINED are read, and the
 * last may be cut.  The segments in between (acknowledgements, the rest of
 * a long answer) are only counted.
 */
static struct judge_verdict
judge_answer_segment(struct judge *judge, const struct packet_info *info,
    uint64_t now_ms)
{
	struct judge_verdict verdict = { 0 };
	const uint8_t *next = info->payload;
	const uint8_t *end = info->payload + info->payload_len;
	struct dns_question q;
	int answers = 0;

	while (answers < JUDGE_MAX_PIPELINED &&
	    end - next >= 2 + DNS_HEADER_LEN) {
		size_t len = (size_t)(next[0] << 8 | next[1]);
		size_t present = (size_t)(end - next) - 2;

		if (len < DNS_HEADER_LEN ||
		    dns_parse_question(next + 2, len < present ? len : present,
		    &q) != DNS_OK || !client_answer(info, &q))
			break;
		judge_client_answer(judge, info, &q, now_ms);
		answers++;
		if (len >= present)
			break;
		next += 2 + len;
	}
	if (answers == 0)
		stats_inc(judge->stats, STATS_IGNORED_NO_PAYLOAD);
	return verdict;
}

/* Files a client's question (queued on LOCAL_IN, or read from elsewhere). */
static void
judge_client_query(struct judge *judge, uint32_t mark,
    const struct packet_info *info, const struct dns_question *q,
    uint64_t now_ms)
{
	evidence_client_question(&judge->evidence, info, q, mark, now_ms);
	if (info->protocol == IPPROTO_TCP && judge->tcp_question != NULL)
		judge->tcp_question(judge->tcp_question_arg, q);
	judge_log_question("client", info, q, mark, NULL);
}

void
judge_count(struct judge *judge, const struct attrib_result *result)
{
	stats_inc(judge->stats, reason_counters[result->reason]);
	stats_inc(judge->stats, result->marked ? STATS_UPSTREAM_MARKED :
	    STATS_UPSTREAM_UNMARKED);
}

struct judge_verdict
judge_apply(struct judge *judge, const struct judge_packet *pkt,
    const struct attrib_result *result)
{
	struct judge_verdict verdict = { 0 };

	judge_count(judge, result);
	if (result->marked) {
		verdict.set_mark = 1;
		verdict.mark = attrib_merge_mark(pkt->mark, result->mark,
		    judge->mask);
	}
	return verdict;
}

static struct judge_verdict
judge_upstream_query(struct judge *judge, const struct judge_packet *pkt,
    const struct packet_info *info, const struct dns_question *q,
    uint64_t now_ms)
{
	struct attrib_result result;
	struct judge_verdict verdict;
	int early;

	judge_expire(judge, now_ms);
	/* Judged already, as it was queued (bpf mode), and learned from
	 * then: that result, not what things look like now. */
	early = info->protocol == IPPROTO_UDP &&
	    early_take(&judge->early, info, q, now_ms, &result);
	if (early)
		stats_inc(judge->stats, STATS_UPSTREAM_EARLY);
	else
		result = evidence_attribute(&judge->evidence, q, now_ms);
	stats_inc(judge->stats, STATS_UPSTREAM_QUERIES);
	if (info->protocol == IPPROTO_TCP) {
		hold_query(&judge->hold, q, now_ms);
		/*
		 * The shipped rules queue a TCP query here only when its
		 * connection has no mark (a marked one keeps its SYN's): a new
		 * mark now would route the segment away from its connection,
		 * whose source address and NAT belong to the first route.
		 * Learn from the answer, but leave the segment as it is.
		 */
		stats_inc(judge->stats, reason_counters[result.reason]);
		stats_inc(judge->stats, STATS_UPSTREAM_TCP_KEPT);
		verdict = (struct judge_verdict){ 0 };
	} else {
		verdict = judge_apply(judge, pkt, &result);
	}
	if (result.marked && !early)
		evidence_sent(&judge->evidence, info, q, result.mark, now_ms);
	judge_log_question("upstream", info, q, verdict.set_mark ?
	    verdict.mark : pkt->mark, attrib_reason_name(result.reason));
	return verdict;
}

/*
 * Learns from a response to a query dnsmark marked.  A truncated one is a
 * SYN cause: its verdict may be deferred (hold.h).
 */
static struct judge_verdict
judge_upstream_response(struct judge *judge, const struct judge_packet *pkt,
    const struct packet_info *info, const struct dns_question *q,
    const uint8_t *msg, size_t msg_len, int partial, uint64_t now_ms)
{
	struct judge_verdict verdict = { 0 };
	uint32_t mark = 0;
	int truncated = 0;

	stats_inc(judge->stats, STATS_UPSTREAM_RESPONSES);
	switch (evidence_response(&judge->evidence, info, q, msg, msg_len,
	    partial, now_ms, &mark, &truncated)) {
	case EVIDENCE_UNMATCHED:
		stats_inc(judge->stats, STATS_RESPONSES_UNMATCHED);
		break;
	case EVIDENCE_BAD:
		stats_inc(judge->stats, STATS_BAD_RESPONSE);
		break;
	case EVIDENCE_LEARNED:
		if (truncated && pkt->can_defer)
			verdict.defer = hold_cause(&judge->hold,
			    HOLD_TRUNCATED, pkt->id, mark, q, &info->src,
			    now_ms);
		break;
	}
	return verdict;
}

/* judge_packet() but for the hold's counts. */
static struct judge_verdict
judge_one(struct judge *judge, const struct judge_packet *pkt,
    uint64_t now_ms)
{
	struct judge_verdict verdict = { 0 };
	struct packet_info info;
	struct dns_question q;
	enum packet_status packet_status;
	enum dns_status dns_status;
	const uint8_t *msg;
	size_t msg_len;
	int partial;

	stats_inc(judge->stats, STATS_PACKETS);
	if (pkt->hook != JUDGE_HOOK_LOCAL_IN && pkt->hook != JUDGE_HOOK_LOCAL_OUT &&
	    pkt->hook != JUDGE_HOOK_POST_ROUTING) {
		stats_inc(judge->stats, STATS_IGNORED_HOOK);
		return verdict;
	}
	packet_status = packet_parse(pkt->data, pkt->len, &info);
	if (packet_status != PACKET_OK) {
		stats_inc(judge->stats, STATS_BAD_PACKET);
		log_debug("undecodable packet (%s) on hook %u",
		    packet_status_name(packet_status), pkt->hook);
		return verdict;
	}
	if (pkt->hook == JUDGE_HOOK_POST_ROUTING) {
		/* Only the resolver's TCP segments to servers come here. */
		if (info.protocol != IPPROTO_TCP || info.dst.port != 53 ||
		    (info.tcp_flags & PACKET_TCP_SYN)) {
			stats_inc(judge->stats, STATS_IGNORED_HOOK);
			return verdict;
		}
		return tcp_upstream_segment(judge, pkt, &info, now_ms);
	}
	if (pkt->hook == JUDGE_HOOK_LOCAL_OUT && info.protocol == IPPROTO_TCP &&
	    (info.tcp_flags & (PACKET_TCP_SYN | PACKET_TCP_ACK)) ==
	    PACKET_TCP_SYN)
		return tcp_upstream_syn(judge, pkt, &info, now_ms);
	if (pkt->hook == JUDGE_HOOK_LOCAL_OUT &&
	    info.protocol == IPPROTO_TCP && info.src.port == 53 &&
	    info.dst.port != 53)
		return judge_answer_segment(judge, &info,
		    answered_at(pkt, now_ms));
	if (packet_dns_prefix(&info, &msg, &msg_len, &partial) < 0) {
		stats_inc(judge->stats, STATS_IGNORED_NO_PAYLOAD);
		return verdict;
	}
	dns_status = dns_parse_question(msg, msg_len, &q);
	if (dns_status != DNS_OK) {
		stats_inc(judge->stats, STATS_BAD_DNS);
		stats_inc(judge->stats, dns_counters[dns_status]);
		log_debug("unparsable DNS (%s) on hook %u",
		    dns_status_name(dns_status), pkt->hook);
		return verdict;
	}
	if (pkt->hook == JUDGE_HOOK_LOCAL_IN && misdirected(&info, &q)) {
		stats_inc(judge->stats, STATS_IGNORED_CLIENT_RESPONSE);
		return verdict;
	}
	if (pkt->hook == JUDGE_HOOK_LOCAL_IN && dns_is_response(&q)) {
		return judge_upstream_response(judge, pkt, &info, &q, msg,
		    msg_len, partial, now_ms);
	}
	/* The resolver's answer to a client (an NFLOG copy): its question
	 * is all that is read, so a cut copy will do. */
	if (pkt->hook == JUDGE_HOOK_LOCAL_OUT && client_answer(&info, &q)) {
		judge_client_answer(judge, &info, &q, answered_at(pkt, now_ms));
		return verdict;
	}
	/* A query is judged only whole: the question alone is not enough to
	 * know that a client really sent it. */
	if (partial) {
		stats_inc(judge->stats, STATS_IGNORED_NO_PAYLOAD);
		return verdict;
	}
	if (pkt->hook == JUDGE_HOOK_LOCAL_IN) {
		judge_client_query(judge, judge_client_mark(pkt), &info, &q,
		    now_ms);
		if (info.protocol == IPPROTO_TCP) {
			tcp_client_pipelined(judge, pkt, &info, msg + msg_len,
			    now_ms);
			verdict.defer = tcp_client_query(judge, pkt, &q, now_ms);
		}
		return verdict;
	}
	if (dns_is_response(&q)) {
		stats_inc(judge->stats, STATS_IGNORED_CLIENT_RESPONSE);
		return verdict;
	}
	return judge_upstream_query(judge, pkt, &info, &q, now_ms);
}

/* Parses the question of a message dnsmark was told of (not queued);
 * returns 0, or -1 with it counted as bad DNS, reason and all. */
static int
parse_question(struct judge *judge, const uint8_t *msg, size_t msg_len,
    struct dns_question *q)
{
	enum dns_status dns_status = dns_parse_question(msg, msg_len, q);

	if (dns_status == DNS_OK)
		return 0;
	stats_inc(judge->stats, STATS_BAD_DNS);
	stats_inc(judge->stats, dns_counters[dns_status]);
	return -1;
}

void
judge_client_message(struct judge *judge, const struct packet_info *info,
    uint32_t mark, const uint8_t *msg, size_t msg_len, uint64_t now_ms)
{
	struct dns_question q;

	if (parse_question(judge, msg, msg_len, &q) < 0)
		return;
	if (client_answer(info, &q)) {
		judge_client_answer(judge, info, &q, now_ms);
		return;
	}
	if (dns_is_response(&q) || misdirected(info, &q)) {
		stats_inc(judge->stats, STATS_IGNORED_CLIENT_RESPONSE);
		return;
	}
	judge_client_query(judge, mark, info, &q, now_ms);
}

void
judge_upstream_record(struct judge *judge, const struct packet_info *info,
    const uint8_t *msg, size_t msg_len, int partial, uint64_t now_ms)
{
	/* A copy, never held: nothing to defer. */
	const struct judge_packet pkt = { .hook = JUDGE_HOOK_LOCAL_IN };
	struct dns_question q;

	if (parse_question(judge, msg, msg_len, &q) < 0)
		return;
	if (!dns_is_response(&q) || misdirected(info, &q)) {
		stats_inc(judge->stats, STATS_IGNORED_CLIENT_RESPONSE);
		return;
	}
	judge_expire(judge, now_ms);
	(void)judge_upstream_response(judge, &pkt, info, &q, msg, msg_len,
	    partial, now_ms);
}

void
judge_upstream_marked(struct judge *judge, const struct packet_info *info,
    uint32_t mark, const uint8_t *msg, size_t msg_len, uint64_t now_ms)
{
	struct attrib_result result = {
		.reason = ATTRIB_EXACT, .marked = 1, .mark = mark,
	};
	struct dns_question q;

	if (parse_question(judge, msg, msg_len, &q) < 0)
		return;
	/* classify takes queries alone: a response here is the kernel's
	 * reading and dnsmark's apart, counted, never learned from. */
	if (dns_is_response(&q)) {
		stats_inc(judge->stats, STATS_BAD_DNS);
		return;
	}
	judge_expire(judge, now_ms);
	stats_inc(judge->stats, STATS_UPSTREAM_QUERIES);
	judge_count(judge, &result);
	evidence_marked_by_kernel(&judge->evidence, info, &q, mark, now_ms);
	judge_log_question("upstream", info, &q, mark, "kernel");
}

void
judge_upstream_queued(struct judge *judge, const struct packet_info *info,
    const uint8_t *msg, size_t msg_len, uint64_t now_ms)
{
	struct attrib_result result;
	struct dns_question q;

	/* Not counted: its packet is, when judged. */
	if (info->protocol != IPPROTO_UDP ||
	    dns_parse_question(msg, msg_len, &q) != DNS_OK ||
	    dns_is_response(&q))
		return;
	judge_expire(judge, now_ms);
	result = evidence_attribute(&judge->evidence, &q, now_ms);
	if (result.marked)
		evidence_sent(&judge->evidence, info, &q, result.mark, now_ms);
	if (early_put(&judge->early, info, &q, &result, now_ms))
		stats_inc(judge->stats, STATS_EARLY_DISPLACED);
}

void
judge_client_question(struct judge *judge, const struct packet_info *info,
    uint32_t mark, const struct dns_question *q, uint64_t now_ms)
{
	judge_client_query(judge, mark, info, q, now_ms);
}

struct judge_verdict
judge_packet(struct judge *judge, const struct judge_packet *pkt,
    uint64_t now_ms)
{
	struct judge_verdict verdict = judge_one(judge, pkt, now_ms);

	sync_hold_counts(judge);
	return verdict;
}
