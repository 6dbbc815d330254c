/*
 * What each queued packet is and which mark its verdict carries.  The hook
 * tells the role (DESIGN.md, fact 7): on LOCAL_IN a query is a client's and
 * a response is an upstream server's; on LOCAL_OUT a query is the
 * resolver's, going upstream.  Only upstream queries (and the SYNs that open
 * upstream TCP connections) ever get a new mark; everything else, understood
 * or not, is accepted unchanged and counted.
 *
 * An upstream query's mark comes from the strongest evidence that names
 * any client, in this order: the question a client is waiting on; a name on
 * the way to one (qname minimisation, DS); a name an upstream response to a
 * marked query pointed to (CNAME target, referral name server); the
 * question a client asked recently (prefetch, late retries); the only mark
 * among all waiting clients.  The first evidence that names clients
 * decides, conflict policy included: weaker evidence never overrides it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "judge.h"
#include "log.h"
#include "packet.h"

/* Pseudo question types for the keys that stand for a kind of evidence. */
#define JUDGE_TYPE_KEY 0xff00

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
	size_t max = config->max_pending;
	size_t servers = max / 16 + 16;

	memset(judge, 0, sizeof(*judge));
	judge->stats = stats;
	judge->policy = config->policy;
	judge->mask = config->mask;
	judge->timeout_ms = config->timeout_ms;
	judge->pending = pending_new(max, config->timeout_ms,
	    PENDING_IDS | PENDING_REFS, config->key);
	/*
	 * Sized to what each holds for the pending questions, so that all
	 * tables take at most 128 bytes per question (doc/performance.md).
	 * A question files its own name under ancestors, and ancestors (zone,
	 * TLD) it mostly shares with other questions of its mark: about one
	 * new entry a question, the least recently asked evicted first.
	 */
	judge->ancestors = pending_new(max, config->timeout_ms, PENDING_REFS,
	    config->key);
	/*
	 * Lessons and upstream queries are never released, only expired or
	 * evicted oldest first, and what a resolver still needs is the newest:
	 * it follows a lesson (CNAME target, name server) and reads an answer
	 * within the round trip.  Half the cap for lessons; a quarter for the
	 * upstream queries, which keep a server's address each (52 bytes).
	 */
	judge->learned = pending_new((max + 1) / 2, config->timeout_ms, 0,
	    config->key);
	judge->inflight = pending_new((max + 3) / 4, config->timeout_ms,
	    PENDING_IDS | PENDING_CLIENTS, config->key);
	judge->truncated = pending_new(servers, config->timeout_ms <
	    JUDGE_TRUNCATED_MS ? config->timeout_ms : JUDGE_TRUNCATED_MS, 0,
	    config->key);
	judge->tcp_clients = pending_new(servers, config->timeout_ms <
	    JUDGE_TCP_CLIENT_MS ? config->timeout_ms : JUDGE_TCP_CLIENT_MS, 0,
	    config->key);
	judge->askers = pending_new(servers, config->timeout_ms <
	    JUDGE_ASKERS_MS ? config->timeout_ms : JUDGE_ASKERS_MS, 0,
	    config->key);
	/* Prefetches and late retries come for the questions asked last. */
	if (config->recent_ms > 0)
		judge->recent = pending_new((max + 1) / 2, config->recent_ms,
		    0, config->key);
	hold_init(&judge->hold, config->hold_ms);
	judge->flows = malloc(sizeof(*judge->flows));
	if (judge->flows != NULL)
		flows_init(judge->flows, config->key);
	if (judge->flows == NULL)
		return -ENOMEM;
	if (judge->pending == NULL || judge->ancestors == NULL ||
	    judge->learned == NULL || judge->inflight == NULL ||
	    judge->truncated == NULL || judge->tcp_clients == NULL ||
	    judge->askers == NULL ||
	    (config->recent_ms > 0 && judge->recent == NULL))
		return -ENOMEM;
	return 0;
}

void
judge_free(struct judge *judge)
{
	pending_free(judge->pending);
	pending_free(judge->ancestors);
	pending_free(judge->learned);
	pending_free(judge->inflight);
	pending_free(judge->truncated);
	pending_free(judge->tcp_clients);
	pending_free(judge->askers);
	pending_free(judge->recent);
	free(judge->flows);
	judge->flows = NULL;
	judge->pending = judge->ancestors = judge->learned = NULL;
	judge->inflight = judge->truncated = judge->recent = NULL;
	judge->tcp_clients = judge->askers = NULL;
}

size_t
judge_memory(const struct judge *judge)
{
	return pending_memory(judge->pending) +
	    pending_memory(judge->ancestors) + pending_memory(judge->learned) +
	    pending_memory(judge->inflight) + pending_memory(judge->truncated) +
	    pending_memory(judge->tcp_clients) + pending_memory(judge->askers) +
	    (judge->recent ? pending_memory(judge->recent) : 0) +
	    sizeof(*judge->flows);
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
	judge->stats->counter[STATS_PENDING_EXPIRED] +=
	    pending_expire(judge->pending, now_ms);
	pending_expire(judge->ancestors, now_ms);
	pending_expire(judge->learned, now_ms);
	pending_expire(judge->inflight, now_ms);
	pending_expire(judge->truncated, now_ms);
	pending_expire(judge->tcp_clients, now_ms);
	pending_expire(judge->askers, now_ms);
	if (judge->recent != NULL)
		pending_expire(judge->recent, now_ms);
}

/*
 * Returns non-zero when the response info comes from the server a marked
 * query went to and goes to the port it left from (held in query).
 */
static int
answers(const struct packet_endpoint *query, const struct packet_info *info)
{
	return query->family == info->src.family &&
	    query->port == info->dst.port &&
	    memcmp(query->addr, info->src.addr, sizeof(query->addr)) == 0;
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

/* Makes the type-less key under which a name is filed. */
static void
name_key(const uint8_t *name, size_t len, struct dns_question *key)
{
	memset(key, 0, sizeof(*key) - sizeof(key->name));
	key->name_len = (uint8_t)len;
	memcpy(key->name, name, len);
}

/* A key that stands for a kind of evidence, not a name or a server. */
static void
fixed_key(uint16_t kind, struct dns_question *key)
{
	memset(key, 0, sizeof(*key) - sizeof(key->name));
	key->qtype = kind;
	key->name_len = 1;
	key->name[0] = 0;
}

/* The one key under which clients asking over TCP are filed. */
static void
tcp_client_key(struct dns_question *key)
{
	fixed_key(JUDGE_TYPE_KEY + 1, key);
}

/* The one key under which every client who asked is filed. */
static void
asker_key(struct dns_question *key)
{
	fixed_key(JUDGE_TYPE_KEY + 3, key);
}

/* The one key under which any server that answered truncated is filed. */
static void
any_truncated_key(struct dns_question *key)
{
	fixed_key(JUDGE_TYPE_KEY + 2, key);
}

/*
 * The final answer to a marked question came in: the question, and the
 * ancestors it brought, no longer speak for mark (the client is answered),
 * unless the same mark asked them again.
 */
static void
release_question(struct judge *judge, const struct dns_question *q,
    uint32_t mark)
{
	struct dns_question key;

	if (pending_release(judge->pending, q, mark))
		stats_inc(judge->stats, STATS_PENDING_ANSWERED);
	for (size_t offset = 0; offset < q->name_len && q->name[offset] != 0;
	    offset += (size_t)q->name[offset] + 1) {
		name_key(q->name + offset, q->name_len - offset, &key);
		pending_release(judge->ancestors, &key, mark);
	}
}

/*
 * Counts an eviction from a full table.  For a timeout after it, a missing
 * entry no longer means that nobody asked: the only mark left may be the
 * flooder's, so the single-mark fallback is off (single_mark()).
 */
static void
note_eviction(struct judge *judge, enum stats_counter counter,
    uint64_t now_ms)
{
	stats_inc(judge->stats, counter);
	judge->evicted_ms = now_ms;
}

/*
 * Counts an eviction from a table the single-mark fallback never reads
 * (recent questions, learned names, inflight queries, TCP clients): it
 * stays on.
 */
static void
count_eviction(struct judge *judge)
{
	stats_inc(judge->stats, STATS_EVIDENCE_EVICTED);
}

/* Files the name and each of its ancestors but the root under mark. */
static void
add_name_and_ancestors(struct judge *judge, struct pending_table *table,
    const uint8_t *name, size_t len, const struct pending_client *client,
    uint64_t now_ms)
{
	struct dns_question key;

	for (size_t offset = 0; offset < len && name[offset] != 0;
	    offset += (size_t)name[offset] + 1) {
		name_key(name + offset, len - offset, &key);
		if (!pending_add(table, &key, client, now_ms))
			continue;
		if (table == judge->ancestors)
			note_eviction(judge, STATS_EVIDENCE_EVICTED, now_ms);
		else
			count_eviction(judge);
	}
}

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
	struct dns_question key;

	judge_expire(judge, now_ms);
	if (pending_add(judge->pending, q, &client, now_ms))
		note_eviction(judge, STATS_PENDING_EVICTED, now_ms);
	if (judge->recent != NULL &&
	    pending_add(judge->recent, q, &client, now_ms))
		count_eviction(judge);
	add_name_and_ancestors(judge, judge->ancestors, q->name, q->name_len,
	    &client, now_ms);
	asker_key(&key);
	if (pending_add(judge->askers, &key, &client, now_ms))
		note_eviction(judge, STATS_EVIDENCE_EVICTED, now_ms);
	if (info->protocol == IPPROTO_TCP) {
		tcp_client_key(&key);
		if (pending_add(judge->tcp_clients, &key, &client, now_ms))
			count_eviction(judge);
	}
	stats_inc(judge->stats, STATS_CLIENT_QUERIES);
	log_question("client", info, q, client.mark, NULL);
}

/*
 * Remembers the further whole queries a client pipelined into the same TCP
 * segment after the first, which ends at next; the rest of a segment beyond
 * JUDGE_MAX_PIPELINED queries is accepted unread.
 */
static void
judge_pipelined(struct judge *judge, const struct judge_packet *pkt,
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
			judge_client_query(judge, pkt, info, &q, now_ms);
		next += 2 + len;
	}
}

/*
 * A client's TCP query (a retry of a truncated answer, or not): a forwarder
 * forwards it over a new TCP connection at once, so it is a SYN cause
 * (hold.h); for a resolver that answers it otherwise, the kind stops being
 * held after its first wait in vain.  Returns 1 when its verdict is
 * deferred.
 */
static int
judge_tcp_client(struct judge *judge, const struct judge_packet *pkt,
    const struct dns_question *q, uint64_t now_ms)
{
	if (!pkt->can_defer)
		return 0;	/* a copy: it went on its way already */
	return hold_cause(&judge->hold, HOLD_TCP_CLIENT, pkt->id,
	    pkt->has_ct_mark ? pkt->ct_mark : pkt->mark, q, now_ms);
}

/*
 * Looks key up in one table of evidence.  Returns 0 when no client is
 * filed there, else 1 with the decision in *result, named after reason.
 * The DNS id tells clients apart only where it is the client's own.
 */
static int
evidence(struct judge *judge, struct pending_table *table,
    const struct dns_question *key, int use_id, enum attrib_reason reason,
    uint64_t now_ms, struct attrib_result *result)
{
	struct pending_match match;

	if (table == NULL || pending_match(table, key, now_ms, &match) == 0)
		return 0;
	if (!use_id)
		match.id_matched = 0;
	/*
	 * Several marks, but only one of them asked in the last moment: the
	 * others are from questions already answered (from the cache, or
	 * long enough ago), and the one that just asked is what the resolver
	 * works for now.
	 */
	if (match.distinct_marks > 1 && !match.id_matched &&
	    now_ms - match.last_ms < JUDGE_ASKERS_MS &&
	    now_ms - match.other_last_ms >= JUDGE_ASKERS_MS) {
		match.distinct_marks = 1;
		match.first_mark = match.last_mark;
	}
	*result = attrib_decide(&judge->policy, &match);
	if (result->reason == ATTRIB_EXACT)
		result->reason = reason;
	return 1;
}

/*
 * The last resort: one mark among every client waiting, or else one mark
 * among the clients who asked in the last JUDGE_ASKERS_MS (the others'
 * questions were answered from the cache, or long ago).  Not while the
 * tables overflow: then the only mark left may be a flooder's.
 */
static struct attrib_result
single_mark(struct judge *judge, uint64_t now_ms)
{
	struct attrib_result result = { .reason = ATTRIB_NONE };

	if (judge->evicted_ms != 0 &&
	    now_ms - judge->evicted_ms < judge->timeout_ms)
		return result;
	if (pending_single_mark(judge->pending, &result.mark) ||
	    pending_single_mark(judge->askers, &result.mark)) {
		result.reason = ATTRIB_SINGLE;
		result.marked = 1;
	}
	return result;
}

static struct attrib_result
attribute_question(struct judge *judge, const struct dns_question *q,
    uint64_t now_ms)
{
	struct attrib_result result;
	struct dns_question key;

	if (evidence(judge, judge->pending, q, 1, ATTRIB_EXACT, now_ms,
	    &result))
		return result;
	name_key(q->name, q->name_len, &key);
	if (evidence(judge, judge->ancestors, &key, 0, ATTRIB_ANCESTOR, now_ms,
	    &result))
		return result;
	/* BIND minimises as "_.example.test": the rest is the ancestor. */
	if (q->name_len > 2 && q->name[0] == 1 && q->name[1] == '_') {
		name_key(q->name + 2, q->name_len - 2u, &key);
		if (evidence(judge, judge->ancestors, &key, 0, ATTRIB_ANCESTOR,
		    now_ms, &result))
			return result;
		name_key(q->name, q->name_len, &key);
	}
	if (evidence(judge, judge->learned, &key, 0, ATTRIB_LEARNED, now_ms,
	    &result))
		return result;
	if (evidence(judge, judge->recent, q, 0, ATTRIB_RECENT, now_ms,
	    &result))
		return result;
	return single_mark(judge, now_ms);
}

static struct judge_verdict
apply(struct judge *judge, const struct judge_packet *pkt,
    const struct attrib_result *result)
{
	struct judge_verdict verdict = { 0 };

	stats_inc(judge->stats, reason_counters[result->reason]);
	if (result->marked) {
		verdict.set_mark = 1;
		verdict.mark = attrib_merge_mark(pkt->mark, result->mark,
		    judge->mask);
		stats_inc(judge->stats, STATS_UPSTREAM_MARKED);
	} else {
		stats_inc(judge->stats, STATS_UPSTREAM_UNMARKED);
	}
	return verdict;
}

/*
 * Remembers a marked upstream query, to learn from its response: the
 * server's address with the resolver's port, as the answer must show.
 */
static void
remember_inflight(struct judge *judge, const struct packet_info *info,
    const struct dns_question *q, uint32_t mark, uint64_t now_ms)
{
	struct pending_client client = {
		.addr = info->dst, .id = q->id, .mark = mark,
	};

	client.addr.port = info->src.port;
	if (pending_add(judge->inflight, q, &client, now_ms))
		count_eviction(judge);
}

static struct judge_verdict
judge_upstream_query(struct judge *judge, const struct judge_packet *pkt,
    const struct packet_info *info, const struct dns_question *q,
    uint64_t now_ms)
{
	struct attrib_result result;
	struct judge_verdict verdict;

	judge_expire(judge, now_ms);
	result = attribute_question(judge, q, now_ms);
	stats_inc(judge->stats, STATS_UPSTREAM_QUERIES);
	if (info->protocol == IPPROTO_TCP) {
		hold_query(&judge->hold, q, now_ms);
		/*
		 * The shipped rules queue a TCP query only when its connection
		 * has no mark (a marked one keeps its SYN's): a new mark now
		 * would route the segment away from its connection, whose
		 * source address and NAT belong to the first route.  Learn from
		 * the answer, but leave the segment as it is.
		 */
		stats_inc(judge->stats, reason_counters[result.reason]);
		stats_inc(judge->stats, STATS_UPSTREAM_TCP_KEPT);
		verdict = (struct judge_verdict){ 0 };
	} else {
		verdict = apply(judge, pkt, &result);
	}
	if (result.marked)
		remember_inflight(judge, info, q, result.mark, now_ms);
	log_question("upstream", info, q, verdict.set_mark ? verdict.mark :
	    pkt->mark, attrib_reason_name(result.reason));
	return verdict;
}

/*
 * A SYN opening a TCP connection upstream: no question yet to go by.  The
 * evidence: the one truncated answer or TCP retry let through (hold.h); an
 * answer to a marked query just came truncated (the resolver retries over
 * TCP), or a client just asked over TCP (a forwarder forwards over TCP
 * too), or only one mark is pending.
 */
static struct judge_verdict
judge_upstream_syn(struct judge *judge, const struct judge_packet *pkt,
    const struct packet_info *info, uint64_t now_ms)
{
	struct attrib_result result;
	struct judge_verdict verdict;
	struct dns_question key;
	char dst[64];

	judge_expire(judge, now_ms);
	/* A new connection on these addresses: what the last one carried is
	 * over. */
	flows_forget(judge->flows, &info->src, &info->dst);
	/* The one truncated answer or TCP retry let through names it. */
	switch (hold_syn(&judge->hold, now_ms, &result.mark)) {
	case 1:
		result.marked = 1;
		result.reason = ATTRIB_TCP;
		goto decided;
	case -1:
		/* Several causes' SYNs in doubt: weaker evidence would only
		 * guess among them. */
		result = (struct attrib_result){ .reason = ATTRIB_CONFLICT_UNMARKED };
		goto decided;
	default:
		break;
	}
	log_debug("SYN not named by the hold: open %d ambiguous %d kind %d "
	    "age %llu ms, %zu held, scores %d %d", judge->hold.open,
	    judge->hold.current.ambiguous, (int)judge->hold.current.kind,
	    (unsigned long long)(now_ms - judge->hold.current.since_ms),
	    judge->hold.count, judge->hold.score[0], judge->hold.score[1]);
	/*
	 * Not by server address: a resolver may retry at another address of
	 * the server (IPv6 after IPv4), and one address's single mark among
	 * several clients truncated at once would be a wrong mark.
	 */
	any_truncated_key(&key);
	if (evidence(judge, judge->truncated, &key, 0, ATTRIB_TCP, now_ms,
	    &result))
		goto decided;
	tcp_client_key(&key);
	if (evidence(judge, judge->tcp_clients, &key, 0, ATTRIB_TCP, now_ms,
	    &result))
		goto decided;
	result = single_mark(judge, now_ms);
decided:
	stats_inc(judge->stats, STATS_UPSTREAM_SYN);
	verdict = apply(judge, pkt, &result);
	if (log_enabled(LOG_LEVEL_DEBUG))
		log_debug("upstream SYN -> %s mark 0x%x %s",
		    packet_endpoint_format(&info->dst, dst, sizeof(dst)),
		    verdict.set_mark ? verdict.mark : pkt->mark,
		    attrib_reason_name(result.reason));
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
	struct response_facts *facts = &judge->facts;
	struct pending_client client = { .addr = info->src };
	struct pending_match match;
	enum response_status status;
	struct dns_question key;

	stats_inc(judge->stats, STATS_UPSTREAM_RESPONSES);
	/* Only the server the query went to answers it, to the port it left
	 * from (RFC 5452): anyone else guessing the id must not teach names
	 * under a client's mark, nor make dnsmark walk its records. */
	pending_match(judge->inflight, q, now_ms, &match);
	if (!match.id_matched || !answers(&match.id_client, info)) {
		stats_inc(judge->stats, STATS_RESPONSES_UNMATCHED);
		return verdict;
	}
	status = response_parse(msg, msg_len, partial, facts);
	if (status != RESPONSE_OK) {
		stats_inc(judge->stats, STATS_BAD_RESPONSE);
		log_debug("unparsable upstream response (%s)",
		    response_status_name(status));
		return verdict;
	}
	client.mark = match.id_mark;
	if (facts->truncated) {
		any_truncated_key(&key);
		pending_add(judge->truncated, &key, &client, now_ms);
		stats_inc(judge->stats, STATS_RESPONSES_TRUNCATED);
		if (pkt->can_defer)
			verdict.defer = hold_cause(&judge->hold,
			    HOLD_TRUNCATED, pkt->id, client.mark, q, now_ms);
	}
	/* A truncated answer ends the question's part on this path too: the
	 * resolver asks again over TCP, which the truncated table ties. */
	if (response_is_final(facts) || facts->truncated)
		release_question(judge, &facts->question, client.mark);
	for (unsigned int i = 0; i < facts->name_count; i++) {
		add_name_and_ancestors(judge, judge->learned,
		    facts->names[i].name, facts->names[i].len, &client, now_ms);
		stats_inc(judge->stats, STATS_NAMES_LEARNED);
		if (log_enabled(LOG_LEVEL_DEBUG)) {
			char name[4 * DNS_NAME_MAX + 1];

			log_debug("learned %s %s for mark 0x%x",
			    facts->names[i].kind == RESPONSE_CNAME_TARGET ?
			    "CNAME target" : "name server",
			    dns_name_format(facts->names[i].name,
			    facts->names[i].len, name, sizeof(name)),
			    client.mark);
		}
	}
	return verdict;
}

/*
 * An upstream TCP segment after the SYN, queued on POSTROUTING, where a new
 * mark no longer routes it again: it gets the mark of the query it starts
 * with, or of the last query on its connection, and the connection keeps
 * the mark of its SYN (routing, NAT).  A query with no evidence leaves the
 * segment, and those after it, with the connection's mark.
 */
static struct judge_verdict
judge_upstream_segment(struct judge *judge, const struct judge_packet *pkt,
    const struct packet_info *info, uint64_t now_ms)
{
	struct judge_verdict verdict = { 0 };
	struct attrib_result result;
	struct dns_question q;
	const uint8_t *msg;
	size_t msg_len;
	uint32_t mark;

	stats_inc(judge->stats, STATS_UPSTREAM_SEGMENTS);
	if (packet_dns_message(info, &msg, &msg_len) == 0 &&
	    dns_parse_question(msg, msg_len, &q) == DNS_OK &&
	    !dns_is_response(&q)) {
		judge_expire(judge, now_ms);
		hold_query(&judge->hold, &q, now_ms);
		result = attribute_question(judge, &q, now_ms);
		stats_inc(judge->stats, STATS_UPSTREAM_QUERIES);
		verdict = apply(judge, pkt, &result);
		if (result.marked) {
			flows_set(judge->flows, &info->src, &info->dst,
			    result.mark, now_ms);
			remember_inflight(judge, info, &q, result.mark, now_ms);
			stats_inc(judge->stats, STATS_SEGMENTS_MARKED);
		} else {
			flows_forget(judge->flows, &info->src, &info->dst);
		}
		log_question("upstream tcp", info, &q, verdict.set_mark ?
		    verdict.mark : pkt->mark, attrib_reason_name(result.reason));
		return verdict;
	}
	if (flows_get(judge->flows, &info->src, &info->dst, &mark, now_ms)) {
		verdict.set_mark = 1;
		verdict.mark = attrib_merge_mark(pkt->mark, mark, judge->mask);
		stats_inc(judge->stats, STATS_SEGMENTS_MARKED);
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
		return judge_upstream_segment(judge, pkt, &info, now_ms);
	}
	if (pkt->hook == JUDGE_HOOK_LOCAL_OUT && info.protocol == IPPROTO_TCP &&
	    (info.tcp_flags & (PACKET_TCP_SYN | PACKET_TCP_ACK)) ==
	    PACKET_TCP_SYN)
		return judge_upstream_syn(judge, pkt, &info, now_ms);
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
	/* A query is judged only whole: the question alone is not enough to
	 * know that a client really sent it. */
	if (partial) {
		stats_inc(judge->stats, STATS_IGNORED_NO_PAYLOAD);
		return verdict;
	}
	if (pkt->hook == JUDGE_HOOK_LOCAL_IN) {
		judge_client_query(judge, pkt, &info, &q, now_ms);
		if (info.protocol == IPPROTO_TCP) {
			judge_pipelined(judge, pkt, &info, msg + msg_len, now_ms);
			verdict.defer = judge_tcp_client(judge, pkt, &q, now_ms);
		}
		return verdict;
	}
	if (dns_is_response(&q)) {
		stats_inc(judge->stats, STATS_IGNORED_CLIENT_RESPONSE);
		return verdict;
	}
	return judge_upstream_query(judge, pkt, &info, &q, now_ms);
}

void
judge_client_message(struct judge *judge, const struct packet_info *info,
    uint32_t mark, const uint8_t *msg, size_t msg_len, uint64_t now_ms)
{
	struct judge_packet pkt = { .hook = JUDGE_HOOK_LOCAL_IN, .mark = mark };
	enum dns_status dns_status;
	struct dns_question q;

	dns_status = dns_parse_question(msg, msg_len, &q);
	if (dns_status != DNS_OK) {
		stats_inc(judge->stats, STATS_BAD_DNS);
		stats_inc(judge->stats, dns_counters[dns_status]);
		return;
	}
	if (dns_is_response(&q) || misdirected(info, &q)) {
		stats_inc(judge->stats, STATS_IGNORED_CLIENT_RESPONSE);
		return;
	}
	judge_client_query(judge, &pkt, info, &q, now_ms);
}

struct judge_verdict
judge_packet(struct judge *judge, const struct judge_packet *pkt,
    uint64_t now_ms)
{
	struct judge_verdict verdict = judge_one(judge, pkt, now_ms);

	sync_hold_counts(judge);
	return verdict;
}
