/*
 * Unit tests for src/nflog_msg.c: NFLOG messages read as packets for the
 * judge (hook, payload, mark, sequence number), copies cut by the rules'
 * copy length mended for the decoder, the flush marker told apart, and the
 * sequence numbers turned into a count of lost copies.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>

#include "dns.h"
#include "nflog_msg.h"
#include "packet.h"
#include "wire.h"

/* Room for a netlink message holding a copy, aligned for nlmsghdr. */
static uint64_t msg_space[4096 / 8];

/*
 * Builds an NFULNL_MSG_PACKET for packet (len bytes) seen on hook, with the
 * mark attribute when has_mark and the sequence number when has_seq.
 */
static struct nlmsghdr *
build_copy(uint8_t hook, const uint8_t *packet, size_t len, int has_mark,
    uint32_t mark, int has_seq, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(msg_space);
	struct nfulnl_msg_packet_hdr ph = { .hw_protocol = htons(0x0800),
		.hook = hook };
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_INET;
	nfg->res_id = htons(53);
	mnl_attr_put(nlh, NFULA_PACKET_HDR, sizeof(ph), &ph);
	if (has_mark)
		mnl_attr_put_u32(nlh, NFULA_MARK, htonl(mark));
	if (has_seq)
		mnl_attr_put_u32(nlh, NFULA_SEQ, htonl(seq));
	mnl_attr_put(nlh, NFULA_PAYLOAD, len, packet);
	return nlh;
}

/* A client query for name from 192.0.2.10 (or 2001:db8:1::10) to port 53. */
static size_t
client_query(int family, const char *name, uint8_t *out, size_t out_len)
{
	struct wire dns = { .len = 0 };

	wire_header(&dns, 0x1234, 0x0100, 1, 0, 0, 0);
	wire_question(&dns, name, 1);
	if (family == 4)
		return wire_udp_packet(4, "192.0.2.10", 40000, "192.0.2.1", 53,
		    &dns, out, out_len);
	return wire_udp_packet(6, "2001:db8:1::10", 40000, "2001:db8:1::1", 53,
	    &dns, out, out_len);
}

Test(nflog_msg, reads_hook_payload_mark_and_sequence)
{
	uint8_t packet[512];
	size_t len = client_query(4, "www.example.test", packet, sizeof(packet));
	struct nflog_copy copy;

	cr_assert_eq(nflog_msg_parse(build_copy(JUDGE_HOOK_LOCAL_IN, packet,
	    len, 1, 0x2a, 1, 7), &copy), NFLOG_MSG_OK);
	cr_assert_eq(copy.pkt.hook, JUDGE_HOOK_LOCAL_IN);
	cr_assert_eq(copy.pkt.len, len);
	cr_assert(memcmp(copy.pkt.data, packet, len) == 0);
	cr_assert_eq(copy.pkt.mark, 0x2a);
	cr_assert_not(copy.pkt.has_ct_mark);
	cr_assert(copy.has_seq);
	cr_assert_eq(copy.seq, 7);
}

Test(nflog_msg, reads_absent_mark_as_zero)
{
	uint8_t packet[512];
	size_t len = client_query(6, "www.example.test", packet, sizeof(packet));
	struct nflog_copy copy;

	/* The kernel leaves NFULA_MARK out when the mark is 0. */
	cr_assert_eq(nflog_msg_parse(build_copy(JUDGE_HOOK_LOCAL_IN, packet,
	    len, 0, 0, 0, 0), &copy), NFLOG_MSG_OK);
	cr_assert_eq(copy.pkt.mark, 0);
	cr_assert_not(copy.has_seq);
}

Test(nflog_msg, refuses_copy_without_payload_or_header)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(msg_space);
	struct nfulnl_msg_packet_hdr ph = { .hook = JUDGE_HOOK_LOCAL_IN };
	struct nflog_copy copy;
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_INET;
	mnl_attr_put(nlh, NFULA_PACKET_HDR, sizeof(ph), &ph);
	cr_assert_eq(nflog_msg_parse(nlh, &copy), NFLOG_MSG_BAD);

	nlh = mnl_nlmsg_put_header(msg_space);
	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	mnl_attr_put(nlh, NFULA_PAYLOAD, 4, "abcd");
	cr_assert_eq(nflog_msg_parse(nlh, &copy), NFLOG_MSG_BAD);
}

Test(nflog_msg, refuses_short_mark_and_header)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(msg_space);
	struct nflog_copy copy;
	uint8_t two[2] = { 0 };

	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET;
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct nfgenmsg));
	mnl_attr_put(nlh, NFULA_PACKET_HDR, sizeof(two), two);
	mnl_attr_put(nlh, NFULA_PAYLOAD, 4, "abcd");
	cr_assert_eq(nflog_msg_parse(nlh, &copy), NFLOG_MSG_BAD);
}

Test(nflog_msg, passes_over_batch_end)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(msg_space);
	struct nflog_copy copy;

	/* A batch of copies ends with NLMSG_DONE. */
	nlh->nlmsg_type = NLMSG_DONE;
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct nfgenmsg));
	cr_assert_eq(nflog_msg_parse(nlh, &copy), NFLOG_MSG_NOT_PACKET);
}

/* The copy of packet cut at cut bytes decodes, once mended, to the
 * question it carries. */
static void
assert_cut_copy_reads(int family, size_t cut)
{
	static const char name[] =
	    "a-rather-long-label-for-a-client-question-000000000000000000000."
	    "b-rather-long-label-for-a-client-question-000000000000000000000."
	    "c-rather-long-label-for-a-client-question-000000000000000000000."
	    "example.test";
	uint8_t packet[1024], scratch[1024];
	struct judge_packet pkt = { .hook = JUDGE_HOOK_LOCAL_IN };
	struct packet_info info;
	struct dns_question q;
	const uint8_t *msg;
	size_t msg_len, len;
	struct wire dns = { .len = 0 };

	/* EDNS padding makes the query longer than the copy. */
	wire_header(&dns, 0x1234, 0x0100, 1, 0, 0, 1);
	wire_question(&dns, name, 1);
	wire_u8(&dns, 0);
	wire_u16(&dns, 41);
	wire_u16(&dns, 1232);
	wire_u32(&dns, 0);
	wire_u16(&dns, 304);
	wire_u16(&dns, 12);
	wire_u16(&dns, 300);
	for (int i = 0; i < 300; i++)
		wire_u8(&dns, 0);
	len = family == 4 ?
	    wire_udp_packet(4, "192.0.2.10", 40000, "192.0.2.1", 53, &dns,
	    packet, sizeof(packet)) :
	    wire_udp_packet(6, "2001:db8:1::10", 40000, "2001:db8:1::1", 53,
	    &dns, packet, sizeof(packet));
	cr_assert_gt(len, cut);
	pkt.data = packet;
	pkt.len = cut;
	cr_assert_eq(packet_parse(pkt.data, pkt.len, &info), PACKET_TRUNCATED);
	cr_assert_eq(nflog_msg_fit_cut(&pkt, scratch, sizeof(scratch)), 1);
	cr_assert_eq(pkt.data, scratch);
	cr_assert_eq(pkt.len, cut);
	cr_assert_eq(packet_parse(pkt.data, pkt.len, &info), PACKET_OK);
	cr_assert_eq(packet_dns_message(&info, &msg, &msg_len), 0);
	cr_assert_eq(dns_parse_question(msg, msg_len, &q), DNS_OK);
	cr_assert_eq(q.id, 0x1234);
	cr_assert_eq(q.qtype, 1);
}

Test(nflog_msg, mends_udp_copies_cut_at_the_rules_length)
{
	assert_cut_copy_reads(4, NFLOG_QUERY_COPY);
	assert_cut_copy_reads(6, NFLOG_QUERY_COPY);
}

Test(nflog_msg, keeps_whole_copies_and_tcp_as_they_are)
{
	uint8_t packet[512], scratch[512];
	size_t len = client_query(4, "www.example.test", packet, sizeof(packet));
	struct judge_packet pkt = { .data = packet, .len = len };
	struct wire dns = { .len = 0 };

	cr_assert_eq(nflog_msg_fit_cut(&pkt, scratch, sizeof(scratch)), 0);
	cr_assert_eq(pkt.data, packet);

	/* A TCP query cut short stays cut: the judge reads queries whole. */
	wire_header(&dns, 1, 0x0100, 1, 0, 0, 0);
	wire_question(&dns, "www.example.test", 1);
	len = wire_tcp_packet(4, "192.0.2.10", 40000, "192.0.2.1", 53, 0x18,
	    &dns, packet, sizeof(packet));
	pkt.data = packet;
	pkt.len = len - 10;
	cr_assert_eq(nflog_msg_fit_cut(&pkt, scratch, sizeof(scratch)), 0);
	cr_assert_eq(pkt.data, packet);

	/* Less than the headers: nothing to mend. */
	len = client_query(6, "www.example.test", packet, sizeof(packet));
	pkt.data = packet;
	pkt.len = 44;
	cr_assert_eq(nflog_msg_fit_cut(&pkt, scratch, sizeof(scratch)), 0);
}

Test(nflog_msg, the_longest_question_fits_the_copy)
{
	cr_assert_geq(NFLOG_QUERY_COPY, NFLOG_QUERY_NEEDS);
	cr_assert_eq(NFLOG_QUERY_NEEDS, 60 + 8 + DNS_HEADER_LEN + 255 + 4);
}

Test(nflog_msg, tells_our_marker_from_others)
{
	static const uint8_t cookie[NFLOG_MARKER_COOKIE_LEN] = "dnsmark";
	static const uint8_t other[NFLOG_MARKER_COOKIE_LEN] = "someone";
	uint8_t packet[128];
	struct wire payload = { .len = 0 };
	struct judge_packet pkt = { .hook = JUDGE_HOOK_LOCAL_OUT };
	uint64_t serial = 0;

	nflog_msg_marker_payload(cookie, 0x0102030405060708ULL, payload.buf);
	payload.len = NFLOG_MARKER_LEN;
	pkt.data = packet;
	pkt.len = wire_udp_packet(4, NFLOG_MARKER_ADDR, 41000, NFLOG_MARKER_ADDR,
	    41000, &payload, packet, sizeof(packet));
	cr_assert_eq(nflog_msg_marker(&pkt, cookie, &serial),
	    NFLOG_MARKER_OURS);
	cr_assert_eq(serial, 0x0102030405060708ULL);
	cr_assert_eq(nflog_msg_marker(&pkt, other, &serial),
	    NFLOG_MARKER_FOREIGN);
	pkt.hook = JUDGE_HOOK_LOCAL_IN;
	cr_assert_eq(nflog_msg_marker(&pkt, cookie, &serial),
	    NFLOG_MARKER_NONE);

	pkt.hook = JUDGE_HOOK_LOCAL_OUT;
	pkt.len = client_query(4, "www.example.test", packet, sizeof(packet));
	cr_assert_eq(nflog_msg_marker(&pkt, cookie, &serial),
	    NFLOG_MARKER_NONE);
}

Test(nflog_msg, counts_gaps_in_sequence_numbers)
{
	struct nflog_seq track = { 0 };

	cr_assert_eq(nflog_seq_lost(&track, 0), 0);
	cr_assert_eq(nflog_seq_lost(&track, 1), 0);
	cr_assert_eq(nflog_seq_lost(&track, 5), 3);
	/* From the past: nothing counted, nothing forgotten. */
	cr_assert_eq(nflog_seq_lost(&track, 2), 0);
	cr_assert_eq(nflog_seq_lost(&track, 6), 0);
	/* Across the wrap of the 32-bit counter. */
	track.next = UINT32_MAX - 1;
	cr_assert_eq(nflog_seq_lost(&track, 1), 3);
	cr_assert_eq(nflog_seq_lost(&track, 2), 0);
}

Test(nflog_msg, counts_lost_first_copies)
{
	struct nflog_seq track = { 0 };

	/* The instance numbers from 0 when dnsmark binds it. */
	cr_assert_eq(nflog_seq_lost(&track, 4), 4);
}
