/*
 * Names and descriptions of the counters, and their one-line text form for
 * the log.  The names are an interface: exports and dashboards use them.
 */
#include <stdio.h>

#include "stats.h"

static const struct {
	const char *name;
	const char *help;
} counters[STATS_COUNT] = {
	[STATS_PACKETS] = { "packets", "Packets judged: received from the queue, and in observe mode copied by NFLOG." },
	[STATS_CLIENT_QUERIES] = { "client_queries", "Client questions remembered." },
	[STATS_UPSTREAM_QUERIES] = { "upstream_queries", "Resolver upstream queries judged." },
	[STATS_UPSTREAM_MARKED] = { "upstream_marked", "Upstream queries and TCP SYNs given a client's mark." },
	[STATS_UPSTREAM_UNMARKED] = { "upstream_unmarked", "Upstream queries and TCP SYNs left unmarked." },
	[STATS_UPSTREAM_RESPONSES] = { "upstream_responses", "Responses from upstream servers seen." },
	[STATS_ATTRIB_EXACT] = { "attrib_exact", "Upstream queries matched to one mark by their question." },
	[STATS_ATTRIB_EXACT_ID] = { "attrib_exact_id", "Upstream queries matched among several marks by DNS id." },
	[STATS_ATTRIB_CONFLICT] = { "attrib_conflict", "Upstream queries several marks waited on, marked by the conflict policy." },
	[STATS_ATTRIB_CONFLICT_UNMARKED] = { "attrib_conflict_unmarked", "Upstream queries several marks waited on, left unmarked by the conflict policy." },
	[STATS_ATTRIB_NONE] = { "attrib_none", "Upstream queries no pending client asked." },
	[STATS_PENDING_EVICTED] = { "pending_evicted", "Live client questions evicted because the table was full." },
	[STATS_PENDING_EXPIRED] = { "pending_expired", "Client questions expired." },
	[STATS_IGNORED_HOOK] = { "ignored_hook", "Packets queued from a hook dnsmark does not use." },
	[STATS_IGNORED_NO_PAYLOAD] = { "ignored_no_payload", "TCP segments without a whole DNS message." },
	[STATS_IGNORED_CLIENT_RESPONSE] = { "ignored_misdirected", "DNS messages in the wrong direction for their hook." },
	[STATS_BAD_NETLINK] = { "bad_netlink", "Queue messages that could not be read whole (malformed, without a payload, cut short): accepted unchanged when their packet id could be read." },
	[STATS_BAD_PACKET] = { "bad_packet", "Packets whose IP or transport header could not be decoded." },
	[STATS_BAD_DNS] = { "bad_dns", "DNS messages that could not be parsed." },
	[STATS_BAD_DNS_SHORT] = { "bad_dns_short", "DNS messages too short for a header and question." },
	[STATS_BAD_DNS_NOT_QUERY] = { "bad_dns_not_query", "DNS messages with an opcode other than QUERY." },
	[STATS_BAD_DNS_QDCOUNT] = { "bad_dns_qdcount", "DNS messages without exactly one question." },
	[STATS_BAD_DNS_COMPRESSED] = { "bad_dns_compressed", "DNS questions with a compression pointer." },
	[STATS_BAD_DNS_NAME] = { "bad_dns_name", "DNS questions with a bad label or an overlong name." },
	[STATS_BAD_DNS_LDNS] = { "bad_dns_ldns", "DNS questions ldns refused after the pre-check." },
	[STATS_VERDICT_ERRORS] = { "verdict_errors", "Verdicts the kernel refused." },
	[STATS_ENOBUFS] = { "enobufs", "Receive errors ENOBUFS (NETLINK_NO_ENOBUFS keeps them away: socket_drops counts the overruns)." },
	[STATS_ATTRIB_ANCESTOR] = { "attrib_ancestor", "Upstream queries for a name on the way to a pending client's name." },
	[STATS_ATTRIB_LEARNED] = { "attrib_learned", "Upstream queries for a CNAME target or name server a response named." },
	[STATS_ATTRIB_TCP] = { "attrib_tcp", "TCP connections to a server that answered a client's question truncated." },
	[STATS_ATTRIB_RECENT] = { "attrib_recent", "Upstream queries for a question a client asked recently." },
	[STATS_ATTRIB_SINGLE] = { "attrib_single", "Upstream queries marked because only one mark was pending." },
	[STATS_NAMES_LEARNED] = { "names_learned", "CNAME targets and name server names learned from responses." },
	[STATS_RESPONSES_TRUNCATED] = { "responses_truncated", "Truncated responses to marked upstream queries." },
	[STATS_RESPONSES_UNMATCHED] = { "responses_unmatched", "Responses to upstream queries dnsmark did not mark." },
	[STATS_BAD_RESPONSE] = { "bad_response", "Upstream responses that could not be walked." },
	[STATS_UPSTREAM_TCP_KEPT] = { "upstream_tcp_kept", "Queries on upstream TCP connections that opened unmarked, left unmarked so the connection keeps its route." },
	[STATS_PENDING_ANSWERED] = { "pending_answered", "Client questions released because their answer was seen: the resolver's answer to the client where dnsmark sees those, else the final answer from upstream." },
	[STATS_EVIDENCE_EVICTED] = { "evidence_evicted", "Ancestors, learned names and other evidence evicted because their table was full." },
	[STATS_SOCKET_DROPS] = { "socket_drops", "Packets the kernel could not deliver to dnsmark's full socket: passed unmarked by fail-open (SO_MEMINFO drops)." },
	[STATS_UPSTREAM_SEGMENTS] = { "upstream_tcp_segments", "Upstream TCP segments after the SYN, queued on POSTROUTING to carry their query's mark." },
	[STATS_SEGMENTS_MARKED] = { "upstream_tcp_segments_marked", "Upstream TCP segments given the mark of the query they (or the last query on their connection) carry." },
	[STATS_SEGMENTS_CLEARED] = { "upstream_tcp_segments_cleared", "Upstream TCP segments that name no client (no evidence, or several clients) and carried a mark restored from their connection: the mask's bits cleared, never another client's mark." },
	[STATS_SEGMENTS_SEVERAL] = { "upstream_tcp_segments_several", "Upstream TCP segments carrying queries of clients with different marks (the conflict policy decides)." },
	[STATS_HOLD_HELD] = { "syn_causes_held", "Truncated answers and TCP retries held back (for the wait the SYNs of their kind lately took, at most --syn-hold) while another client's SYN was awaited." },
	[STATS_HOLD_EXPIRED] = { "syn_causes_expired", "Truncated answers and TCP retries let through that no SYN followed within their wait." },
	[STATS_HOLD_NAMED] = { "syn_causes_named", "SYNs (or queries on reused connections) named by the one truncated answer or TCP retry let through." },
	[STATS_HOLD_OVERFLOW] = { "syn_causes_overflow", "Truncated answers and TCP retries let through at once because the hold was full." },
	[STATS_BPF_RECORDS] = { "bpf_records", "Client queries and the resolver's answers read from the BPF ring buffer (bpf mode)." },
	[STATS_BPF_LOST] = { "bpf_ring_lost", "Client queries and answers the BPF programs could not record because the ring buffer was full: their questions, or that they were answered, are unknown to dnsmark." },
	[STATS_BPF_RESPONSES] = { "bpf_responses", "Upstream servers' UDP responses read from the BPF ring buffer (bpf mode; truncated ones come through the queue), among bpf_records." },
	[STATS_BPF_QUEUED] = { "bpf_queued", "Upstream UDP queries the kernel fast path left to the queue, read from the BPF ring buffer as they went there (bpf mode), among bpf_records." },
	[STATS_FAST_MARKED] = { "fastpath_marked", "Upstream queries the kernel marked itself (the fast path, bpf mode): the clients of one mark alone waited for the question; dnsmark learned of them from the ring." },
	[STATS_FAST_ABSENT] = { "fastpath_absent", "Upstream queries the fast path left to dnsmark because no client asked their question (minimised ancestors, name servers, CNAME targets, validation)." },
	[STATS_FAST_STALE] = { "fastpath_stale", "Upstream queries the fast path left to dnsmark because their question was asked longer ago than --timeout (prefetch, serve-stale refreshes)." },
	[STATS_FAST_ANSWERED] = { "fastpath_answered", "Upstream queries the fast path left to dnsmark because every client who asked had its answer." },
	[STATS_FAST_AMBIGUOUS] = { "fastpath_ambiguous", "Upstream queries the fast path left to dnsmark because clients of two marks asked the question while one waited." },
	[STATS_FAST_MANY_WAITING] = { "fastpath_many_waiting", "Upstream queries the fast path left to dnsmark because more clients waited for the question than it counts." },
	[STATS_FAST_UNMARKED] = { "fastpath_unmarked", "Upstream queries the fast path left to dnsmark because their askers' mark has no bit in --mask." },
	[STATS_FAST_PACKET] = { "fastpath_packet", "Upstream packets the fast path does not read (IP options or extension headers, fragments, not one question)." },
	[STATS_FAST_PREMARKED] = { "fastpath_premarked", "Upstream queries the fast path left to dnsmark because they had --mask bits set already." },
	[STATS_FAST_DOUBT] = { "fastpath_doubt", "Upstream queries the fast path left to dnsmark because a TCP client asked the question, or the kernel's tables could not be trusted for a timeout (a map full, dnsmark restarted)." },
	[STATS_FAST_OFF] = { "fastpath_off", "Upstream queries the fast path left to the queue because dnsmark had not said it runs in the last 3 s." },
	[STATS_FAST_FILED] = { "fastpath_filed", "Client questions the kernel filed for the fast path." },
	[STATS_FAST_FILE_FAILED] = { "fastpath_file_failed", "Client questions the kernel could not file (its map full, or a slot shared): the fast path stood aside for a timeout." },
	[STATS_FAST_UNDONE] = { "fastpath_undone", "Marks the fast path's rules built and then undid because another packet used the programs' scratch meanwhile: those queries went to dnsmark." },
	[STATS_FAST_SWEPT] = { "fastpath_swept", "Questions the kernel's sweeper deleted from the fast path's map, a timeout after their last ask." },
	[STATS_FAST_SWEEPS] = { "fastpath_sweeps", "Walks of the fast path's map the kernel's sweeper made: each second while the map is more than half full, else once a minute." },
	[STATS_FAST_SWEEP_TIME] = { "fastpath_sweep_time", "Microseconds the kernel's sweeper of the fast path's map took, in all (in softirq context)." },
	[STATS_NETLINK_TRUNCATED] = { "netlink_truncated", "Queue datagrams longer than the receive buffer (MSG_TRUNC): their whole messages are judged, the cut one accepted unchanged when its id is there." },
	[STATS_NETLINK_NO_ID] = { "netlink_no_id", "Queue messages whose packet id could not be read: their packets wait for the final sweep at the stop." },
	[STATS_VERDICT_SEND_RETRIES] = { "verdict_send_retries", "Sends of verdicts tried again after EINTR, ENOBUFS, ENOMEM or EAGAIN." },
	[STATS_VERDICTS_UNSENT] = { "verdicts_unsent", "Verdicts still unsent after the retries: their packets wait for the final sweep at the stop." },
	[STATS_VERDICTS_SWEPT] = { "verdicts_swept", "Packets still queued without a verdict when dnsmark stopped, accepted unchanged by a final sweep." },
	[STATS_CNAMES_FOLLOWED] = { "cnames_followed", "CNAME targets filed for a client's question from the CNAMEs upstream answers showed earlier (a resolver follows a cached CNAME and asks only for its target)." },
	[STATS_CLIENT_ANSWERS] = { "client_answers", "The resolver's answers to its clients seen (NFLOG copies in queue and observe mode, ring records in bpf mode)." },
	[STATS_CLIENT_ANSWERS_MATCHED] = { "client_answers_matched", "Answers to clients that settled a pending question of theirs: the client no longer counts as waiting." },
	[STATS_UPSTREAM_EARLY] = { "upstream_early", "Queued upstream queries judged as the kernel queued them (bpf mode: the fast path's classify program recorded them in the ring, in order with the client queries and answers around them)." },
	[STATS_EARLY_DISPLACED] = { "upstream_early_displaced", "Upstream queries judged from the ring whose result a newer one displaced before their packet was read: judged again when read." },
	[STATS_UPSTREAM_SYN] = { "upstream_syn", "TCP connections the resolver opened upstream (SYN)." },
	[STATS_NFLOG_COPIES] = { "nflog_copies", "Observe mode: client queries and upstream responses read from NFLOG (not held)." },
	[STATS_NFLOG_LOST] = { "nflog_lost", "Observe mode: NFLOG copies the kernel could not deliver (gaps in their sequence numbers)." },
	[STATS_NFLOG_ENOBUFS] = { "nflog_enobufs", "Observe mode: NFLOG receive errors ENOBUFS (nflog_lost counts the copies)." },
	[STATS_NFLOG_FLUSHES] = { "nflog_flushes", "Observe mode: NFLOG buffer flushes on demand, one per batch of upstream queries." },
	[STATS_NFLOG_FLUSH_TIMEOUTS] = { "nflog_flush_timeouts", "Observe mode: flushes whose marker did not come back in time." },
	[STATS_NFLOG_FLUSH_US] = { "nflog_flush_wait", "Observe mode: time spent in flushes on demand, reading and judging the copies they bring, in microseconds." },
};

const char *
stats_name(enum stats_counter counter)
{
	if ((unsigned int)counter >= STATS_COUNT)
		return "unknown";
	return counters[counter].name;
}

const char *
stats_help(enum stats_counter counter)
{
	if ((unsigned int)counter >= STATS_COUNT)
		return "Unknown counter.";
	return counters[counter].help;
}

int
stats_format(const struct stats *stats, char *buf, size_t len)
{
	size_t total = 0;

	if (len > 0)
		buf[0] = '\0';
	for (int i = 0; i < STATS_COUNT; i++) {
		int n = snprintf(total < len ? buf + total : NULL,
		    total < len ? len - total : 0, "%s%s=%llu",
		    i == 0 ? "" : " ", counters[i].name,
		    (unsigned long long)stats->counter[i]);

		if (n < 0)
			return n;
		total += (size_t)n;
	}
	return (int)total;
}
