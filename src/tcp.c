/*
 * The TCP path (tcp.h).  A SYN carries no question: the hold names it
 * (the one truncated answer or client TCP query let through), else the
 * evidence of who just had a truncated answer or asked over TCP.  A
 * segment after the SYN, queued after routing where a new mark moves
 * nothing, is marked query by query: a resolver may carry several
 * clients' queries over one connection, even in one segment.  A segment
 * whose queries name nobody, or name several clients, carries none of
 * their marks and not the connection's either (the SYN's client's):
 * at worst unmarked, never another client's.
 */
#include <netinet/in.h>
#include <string.h>

#include "judge.h"
#include "log.h"
#include "tcp.h"

int
tcp_client_query(struct judge *judge, const struct judge_packet *pkt,
    const struct dns_question *q, uint64_t now_ms)
{
	if (!pkt->can_defer)
		return 0;	/* a copy: it went on its way already */
	return hold_cause(&judge->hold, HOLD_TCP_CLIENT, pkt->id,
	    judge_client_mark(pkt), q, NULL, now_ms);
}

void
tcp_client_pipelined(struct judge *judge, const struct judge_packet *pkt,
    const struct packet_info *info, const uint8_t *next, uint64_t now_ms)
{
	const uint8_t *end = info->payload + info->payload_len;
	struct dns_question q;

	/* At most JUDGE_MAX_PIPELINED in all: a 64 KB loopback segment could
	 * carry some 1700 small queries, and work per packet stays bounded. */
	for (int more = 1; more < JUDGE_MAX_PIPELINED &&
	    end - next >= 2 + DNS_HEADER_LEN; more++) {
		size_t len = (size_t)(next[0] << 8 | next[1]);

		if (len > (size_t)(end - next) - 2)
			return;
		if (dns_parse_question(next + 2, len, &q) == DNS_OK &&
		    !dns_is_response(&q))
			judge_client_question(judge, info,
			    judge_client_mark(pkt), &q, now_ms);
		next += 2 + len;
	}
}

struct judge_verdict
tcp_upstream_syn(struct judge *judge, const struct judge_packet *pkt,
    const struct packet_info *info, uint64_t now_ms)
{
	struct attrib_result result = { .reason = ATTRIB_NONE };
	struct judge_verdict verdict;
	char dst[64];

	judge_expire(judge, now_ms);
	switch (hold_syn(&judge->hold, &info->dst, now_ms, &result.mark)) {
	case 1:
		/* The one truncated answer or TCP retry let through names it. */
		result.marked = 1;
		result.reason = ATTRIB_TCP;
		break;
	case -1:
		/* Several causes' SYNs in doubt: weaker evidence would only
		 * guess among them. */
		result.reason = ATTRIB_CONFLICT_UNMARKED;
		break;
	default: {
		uint32_t open_mark;
		int open = hold_open_mark(&judge->hold, &open_mark);

		log_debug("SYN not named by the hold: open %d mark 0x%x "
		    "ambiguous %d kind %d age %llu ms, %zu held, scores %d %d",
		    judge->hold.open, judge->hold.current.mark,
		    judge->hold.current.ambiguous,
		    (int)judge->hold.current.kind,
		    (unsigned long long)(now_ms - judge->hold.current.since_ms),
		    judge->hold.count, judge->hold.score[0],
		    judge->hold.score[1]);
		result = evidence_syn(&judge->evidence, &info->dst,
		    judge->hold.score[HOLD_TCP_CLIENT] >= 0,
		    open ? &open_mark : NULL, now_ms);
		break;
	}
	}
	stats_inc(judge->stats, STATS_UPSTREAM_SYN);
	verdict = judge_apply(judge, pkt, &result);
	/* A new connection on these addresses: until its first query, its
	 * segments (the handshake's end) are its SYN's. */
	if (result.marked)
		flows_set(judge->flows, &info->src, &info->dst, result.mark,
		    now_ms);
	else
		flows_set_unmarked(judge->flows, &info->src, &info->dst, now_ms);
	if (log_enabled(LOG_LEVEL_DEBUG))
		log_debug("upstream SYN -> %s mark 0x%x %s",
		    packet_endpoint_format(&info->dst, dst, sizeof(dst)),
		    verdict.set_mark ? verdict.mark : pkt->mark,
		    attrib_reason_name(result.reason));
	return verdict;
}

/* What the queries of one segment name, together. */
struct segment_marks {
	unsigned int queries;	/* queries judged */
	int unnamed;		/* a query, or part of one, names nobody */
	int several;		/* queries name different marks */
	uint32_t first_mark;
	uint32_t last_mark;
};

/* Judges one upstream query q of a segment and adds it to *marks. */
static void
segment_query(struct judge *judge, const struct packet_info *info,
    const struct dns_question *q, struct segment_marks *marks,
    uint64_t now_ms)
{
	struct attrib_result result;

	hold_query(&judge->hold, q, now_ms);
	result = evidence_attribute(&judge->evidence, q, now_ms);
	evidence_retried(&judge->evidence, q);
	stats_inc(judge->stats, STATS_UPSTREAM_QUERIES);
	judge_count(judge, &result);
	if (result.marked) {
		evidence_sent(&judge->evidence, info, q, result.mark, now_ms);
		if (marks->queries > 0 && !marks->unnamed &&
		    result.mark != marks->last_mark)
			marks->several = 1;
		if (marks->queries == 0)
			marks->first_mark = result.mark;
		marks->last_mark = result.mark;
	} else {
		marks->unnamed = 1;
	}
	marks->queries++;
	judge_log_question("upstream tcp", info, q, result.marked ?
	    result.mark : 0, attrib_reason_name(result.reason));
}

/*
 * Reads the queries a segment's payload starts with, each behind its
 * length: whole ones, and the question of one cut short at the end.
 * Returns 0 when the payload does not start with a query (the rest of one
 * from an earlier segment), else 1 with the queries judged into *marks;
 * anything after them that cannot be read names nobody.
 */
static int
segment_queries(struct judge *judge, const struct packet_info *info,
    struct segment_marks *marks, uint64_t now_ms)
{
	const uint8_t *next = info->payload;
	const uint8_t *end = info->payload + info->payload_len;
	struct dns_question q;

	while (next < end) {
		size_t len, have;

		if (marks->queries == JUDGE_MAX_PIPELINED || end - next < 2) {
			marks->unnamed = 1;
			break;
		}
		len = (size_t)(next[0] << 8 | next[1]);
		have = (size_t)(end - next) - 2;
		if (dns_parse_question(next + 2, len < have ? len : have,
		    &q) != DNS_OK || dns_is_response(&q)) {
			if (marks->queries == 0)
				return 0;
			marks->unnamed = 1;
			break;
		}
		segment_query(judge, info, &q, marks, now_ms);
		if (len > have)
			break;
		next += 2 + len;
	}
	return 1;
}

/*
 * The verdict for a segment: the client mark merged in, or with none, the
 * mask's bits cleared (the rules restored them from the connection, whose
 * mark is its SYN's client's, not this segment's).
 */
static struct judge_verdict
segment_verdict(struct judge *judge, const struct judge_packet *pkt,
    int marked, uint32_t mark)
{
	struct judge_verdict verdict = { 0 };

	if (marked) {
		verdict.set_mark = 1;
		verdict.mark = attrib_merge_mark(pkt->mark, mark, judge->mask);
		stats_inc(judge->stats, STATS_SEGMENTS_MARKED);
	} else if ((pkt->mark & judge->mask) != 0) {
		verdict.set_mark = 1;
		verdict.mark = pkt->mark & ~judge->mask;
		stats_inc(judge->stats, STATS_SEGMENTS_CLEARED);
	}
	return verdict;
}

struct judge_verdict
tcp_upstream_segment(struct judge *judge, const struct judge_packet *pkt,
    const struct packet_info *info, uint64_t now_ms)
{
	struct segment_marks marks = { 0 };
	struct attrib_result result = { .reason = ATTRIB_NONE };
	uint32_t mark = 0;

	stats_inc(judge->stats, STATS_UPSTREAM_SEGMENTS);
	judge_expire(judge, now_ms);
	if (info->payload_len == 0 || !segment_queries(judge, info, &marks,
	    now_ms)) {
		/* No query of its own: an acknowledgement, a FIN, the rest of
		 * a long query.  Its connection's last query names it. */
		int known = flows_get(judge->flows, &info->src, &info->dst,
		    &mark, now_ms);

		return segment_verdict(judge, pkt, known == 1, mark);
	}
	if (!marks.unnamed && !marks.several) {
		result.marked = 1;
		result.mark = marks.last_mark;
	} else if (!marks.unnamed) {
		/* Several clients' queries in one segment: the policy for
		 * several clients behind one query. */
		struct asks_marks set = {
			.count = 2, .distinct_marks = 2,
			.first_mark = marks.first_mark,
			.last_mark = marks.last_mark,
		};

		result = attrib_decide(&judge->evidence.policy, &set);
		stats_inc(judge->stats, STATS_SEGMENTS_SEVERAL);
	}
	if (result.marked)
		flows_set(judge->flows, &info->src, &info->dst, result.mark,
		    now_ms);
	else
		flows_set_unmarked(judge->flows, &info->src, &info->dst,
		    now_ms);
	return segment_verdict(judge, pkt, result.marked, result.mark);
}
