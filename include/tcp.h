/*
 * The TCP path of the judge: SYNs that open upstream connections (named by
 * the hold, hold.h, or by the evidence), the segments after them, each given
 * the mark of the queries it carries or none, never the connection's by
 * default, and the client TCP queries that cause SYNs.  Pure like the
 * judge: it reads packets and the judge's tables, and writes no socket.
 */
#ifndef DNSMARK_TCP_H
#define DNSMARK_TCP_H

#include <stdint.h>

#include "dns.h"
#include "packet.h"

struct judge;
struct judge_packet;
struct judge_verdict;

/*
 * A client's TCP query q arrived in pkt: a forwarder forwards it over a
 * new TCP connection at once, so it is a SYN cause (hold.h).  Returns 1
 * when its verdict is deferred.
 */
int tcp_client_query(struct judge *judge, const struct judge_packet *pkt,
    const struct dns_question *q, uint64_t now_ms);

/*
 * Files the further whole queries a client pipelined into the TCP segment
 * of info after the first, which ends at next, as client questions; the
 * rest beyond JUDGE_MAX_PIPELINED queries is accepted unread.
 */
void tcp_client_pipelined(struct judge *judge, const struct judge_packet *pkt,
    const struct packet_info *info, const uint8_t *next, uint64_t now_ms);

/* Judges a SYN opening a TCP connection upstream (LOCAL_OUT). */
struct judge_verdict tcp_upstream_syn(struct judge *judge,
    const struct judge_packet *pkt, const struct packet_info *info,
    uint64_t now_ms);

/*
 * Judges an upstream TCP segment after the SYN (POST_ROUTING): the mark of
 * the queries it carries when they all name one client, else none (the
 * conflict policy for several clients); a segment without a query of its
 * own, that of the last query on its connection.
 */
struct judge_verdict tcp_upstream_segment(struct judge *judge,
    const struct judge_packet *pkt, const struct packet_info *info,
    uint64_t now_ms);

#endif
