/*
 * What each queued packet is and which mark its verdict carries.  The hook
 * tells the role (DESIGN.md, fact 7): on LOCAL_IN a query is a client's and
 * a response is an upstream server's; on LOCAL_OUT a query is the
 * resolver's, going upstream.  Only upstream queries ever get a new mark;
 * everything else, understood or not, is accepted unchanged and counted.
 */
#include "judge.h"
#include "log.h"
#include "packet.h"

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
};

static void
log_question(const char *what, const struct packet_info *info,
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

static void
judge_client_query(struct judge *judge, const struct judge_packet *pkt,
    const struct packet_info *info, const struct dns_question *q,
    uint64_t now_ms)
{
	struct pending_client client = {
		.addr = info->src,
		.id = q->id,
		.mark = pkt->has_ct_mark ? pkt->ct_mark : pkt->mark,
	};

	judge_expire(judge, now_ms);
	if (pending_add(judge->pending, q, &client, now_ms))
		stats_inc(judge->stats, STATS_PENDING_EVICTED);
	stats_inc(judge->stats, STATS_CLIENT_QUERIES);
	log_question("client", info, q, client.mark, NULL);
}

static struct judge_verdict
judge_upstream_query(struct judge *judge, const struct judge_packet *pkt,
    const struct packet_info *info, const struct dns_question *q,
    uint64_t now_ms)
{
	struct judge_verdict verdict = { 0 };
	struct pending_match match;
	struct attrib_result result;

	pending_match(judge->pending, q, now_ms, &match);
	result = attrib_decide(&judge->policy, &match);
	stats_inc(judge->stats, STATS_UPSTREAM_QUERIES);
	stats_inc(judge->stats, reason_counters[result.reason]);
	if (result.marked) {
		verdict.set_mark = 1;
		verdict.mark = attrib_merge_mark(pkt->mark, result.mark,
		    judge->mask);
		stats_inc(judge->stats, STATS_UPSTREAM_MARKED);
	} else {
		stats_inc(judge->stats, STATS_UPSTREAM_UNMARKED);
	}
	log_question("upstream", info, q, verdict.set_mark ? verdict.mark :
	    pkt->mark, attrib_reason_name(result.reason));
	return verdict;
}

struct judge_verdict
judge_packet(struct judge *judge, const struct judge_packet *pkt,
    uint64_t now_ms)
{
	struct judge_verdict verdict = { 0 };
	struct packet_info info;
	struct dns_question q;
	enum packet_status packet_status;
	enum dns_status dns_status;
	const uint8_t *msg;
	size_t msg_len;

	stats_inc(judge->stats, STATS_PACKETS);
	if (pkt->hook != JUDGE_HOOK_LOCAL_IN && pkt->hook != JUDGE_HOOK_LOCAL_OUT) {
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
	if (packet_dns_message(&info, &msg, &msg_len) < 0) {
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
	if (pkt->hook == JUDGE_HOOK_LOCAL_IN) {
		if (dns_is_response(&q))
			stats_inc(judge->stats, STATS_UPSTREAM_RESPONSES);
		else
			judge_client_query(judge, pkt, &info, &q, now_ms);
		return verdict;
	}
	if (dns_is_response(&q)) {
		stats_inc(judge->stats, STATS_IGNORED_CLIENT_RESPONSE);
		return verdict;
	}
	return judge_upstream_query(judge, pkt, &info, &q, now_ms);
}

void
judge_expire(struct judge *judge, uint64_t now_ms)
{
	size_t expired = pending_expire(judge->pending, now_ms);

	judge->stats->counter[STATS_PENDING_EXPIRED] += expired;
}
