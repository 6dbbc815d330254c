/*
 * Writes the seed corpora of the fuzz targets: a few small, real-looking
 * DNS messages and the IPv4/IPv6 UDP/TCP packets carrying them, each file
 * named after what it holds.  Run by `make fuzz-corpus`; the files it writes
 * are kept in the source tree, so it must stay deterministic.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "wire.h"

#define TYPE_A 1
#define TYPE_NS 2
#define TYPE_CNAME 5
#define TYPE_SOA 6
#define TYPE_AAAA 28
#define TYPE_OPT 41
#define TYPE_TSIG 250

#define FLAGS_QUERY 0x0100	/* RD */
#define FLAGS_UPSTREAM 0x0000	/* what a recursive resolver sends */
#define FLAGS_RESPONSE 0x8180	/* QR RD RA */
#define FLAGS_REFERRAL 0x8000	/* QR only */
#define FLAGS_TRUNCATED 0x8380	/* QR TC RD RA */
#define FLAGS_NXDOMAIN 0x8183

#define CLIENT4 "192.0.2.10"
#define RESOLVER4 "192.0.2.1"
#define WAN4 "198.51.100.1"
#define SERVER4 "203.0.113.53"
#define CLIENT6 "2001:db8:1::10"
#define RESOLVER6 "2001:db8:1::1"
#define WAN6 "2001:db8:ffff::1"
#define SERVER6 "2001:db8:53::53"

#define TCP_PSH_ACK 0x18
#define TCP_SYN 0x02

static const char *corpus_dir;

static void
write_file(const char *target, const char *name, uint8_t control,
    int with_control, const uint8_t *data, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", corpus_dir, target);
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", corpus_dir, target, name);
	f = fopen(path, "wb");
	if (f == NULL) {
		perror(path);
		exit(1);
	}
	if ((with_control && fwrite(&control, 1, 1, f) != 1) ||
	    fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* A raw DNS message, for the question and response targets. */
static void
write_message(const char *target, const char *name, const struct wire *w)
{
	write_file(target, name, 0, 0, w->buf, w->len);
}

/* An IP packet behind its control byte, for the packet target. */
static void
write_packet(const char *name, uint8_t control, const uint8_t *pkt,
    size_t len)
{
	write_file("packet", name, control, 1, pkt, len);
}

static void
a_query(struct wire *w, uint16_t id, uint16_t flags, const char *name)
{
	wire_header(w, id, flags, 1, 0, 0, 0);
	wire_question(w, name, TYPE_A);
}

/* An EDNS OPT record: 1232-byte UDP size, DO bit, a client cookie. */
static void
opt_record(struct wire *w)
{
	wire_u8(w, 0);
	wire_u16(w, TYPE_OPT);
	wire_u16(w, 1232);
	wire_u32(w, 0x00008000);
	wire_u16(w, 12);
	wire_u16(w, 10);	/* COOKIE */
	wire_u16(w, 8);
	wire_bytes(w, "\x5e\x1f\x8a\x03\xc2\x77\x19\xd4", 8);
}

static void
aaaa_query_edns(struct wire *w, uint16_t id, uint16_t flags)
{
	wire_header(w, id, flags, 1, 0, 0, 1);
	wire_question(w, "www.example.test", TYPE_AAAA);
	opt_record(w);
}

/* www.example.test CNAME www.example-cdn.test CNAME edge.example-cdn.test
 * A 203.0.113.80, with the names compressed as a server writes them. */
static void
response_cname_chain(struct wire *w, uint16_t id)
{
	size_t rr, cdn, edge;

	wire_header(w, id, FLAGS_RESPONSE, 1, 3, 0, 0);
	wire_question(w, "www.example.test", TYPE_A);
	wire_pointer(w, 12);
	rr = wire_rr_begin(w, TYPE_CNAME);
	cdn = w->len;
	wire_name(w, "www.example-cdn.test");
	wire_rr_end(w, rr);
	wire_pointer(w, (uint16_t)cdn);
	rr = wire_rr_begin(w, TYPE_CNAME);
	edge = w->len;
	wire_u8(w, 4);
	wire_bytes(w, "edge", 4);
	wire_pointer(w, (uint16_t)(cdn + 4));
	wire_rr_end(w, rr);
	wire_pointer(w, (uint16_t)edge);
	rr = wire_rr_begin(w, TYPE_A);
	wire_u32(w, 0xcb007150);
	wire_rr_end(w, rr);
}

/* example.test NS ns1/ns2.provider.test, no glue: what a TLD answers. */
static void
referral_no_glue(struct wire *w, uint16_t id)
{
	size_t rr, ns1;

	wire_header(w, id, FLAGS_REFERRAL, 1, 0, 2, 0);
	wire_question(w, "www.example.test", TYPE_A);
	wire_pointer(w, 16);	/* "example.test" inside the question */
	rr = wire_rr_begin(w, TYPE_NS);
	ns1 = w->len;
	wire_name(w, "ns1.provider.test");
	wire_rr_end(w, rr);
	wire_pointer(w, 16);
	rr = wire_rr_begin(w, TYPE_NS);
	wire_u8(w, 3);
	wire_bytes(w, "ns2", 3);
	wire_pointer(w, (uint16_t)(ns1 + 4));
	wire_rr_end(w, rr);
}

static void
response_truncated(struct wire *w, uint16_t id)
{
	wire_header(w, id, FLAGS_TRUNCATED, 1, 0, 0, 0);
	wire_question(w, "big.example.test", TYPE_A);
}

static void
response_nxdomain_soa(struct wire *w, uint16_t id)
{
	size_t rr;

	wire_header(w, id, FLAGS_NXDOMAIN, 1, 0, 1, 0);
	wire_question(w, "nope.example.test", TYPE_A);
	wire_pointer(w, 17);	/* "example.test" */
	rr = wire_rr_begin(w, TYPE_SOA);
	wire_name(w, "ns1.provider.test");
	wire_name(w, "hostmaster.example.test");
	wire_u32(w, 2024010101);
	wire_u32(w, 7200);
	wire_u32(w, 3600);
	wire_u32(w, 1209600);
	wire_u32(w, 300);
	wire_rr_end(w, rr);
}

/* A signed response: one TSIG record at the end of the additional section. */
static void
response_tsig(struct wire *w, uint16_t id)
{
	size_t rr;

	wire_header(w, id, FLAGS_RESPONSE, 1, 1, 0, 1);
	wire_question(w, "www.example.test", TYPE_A);
	wire_pointer(w, 12);
	rr = wire_rr_begin(w, TYPE_A);
	wire_u32(w, 0xcb007150);
	wire_rr_end(w, rr);
	wire_name(w, "transfer-key");
	wire_u16(w, TYPE_TSIG);
	wire_u16(w, 255);	/* class ANY */
	wire_u32(w, 0);
	rr = w->len;
	wire_u16(w, 0);
	wire_name(w, "hmac-sha256");
	wire_u16(w, 0);
	wire_u32(w, 0x65a1b2c3);	/* time signed */
	wire_u16(w, 300);	/* fudge */
	wire_u16(w, 32);
	for (int i = 0; i < 32; i++)
		wire_u8(w, (uint8_t)(0xa5 ^ i));
	wire_u16(w, id);	/* original id */
	wire_u16(w, 0);		/* error */
	wire_u16(w, 0);		/* other length */
	wire_rr_end(w, rr);
}

/* Seventeen CNAMEs: one more target than a response may teach. */
static void
response_cname_17(struct wire *w, uint16_t id)
{
	char target[32];
	size_t rr;

	wire_header(w, id, FLAGS_RESPONSE, 1, 17, 0, 0);
	wire_question(w, "www.example.test", TYPE_A);
	for (int i = 0; i < 17; i++) {
		wire_pointer(w, 12);
		rr = wire_rr_begin(w, TYPE_CNAME);
		snprintf(target, sizeof(target), "c%02d.example-cdn.test", i);
		wire_name(w, target);
		wire_rr_end(w, rr);
	}
}

/*
 * A CNAME whose target runs through a chain of links pointers, each to the
 * one before, the first to the question's name: with 251 links, one step
 * more than a name may take.
 */
static void
response_pointer_chain(struct wire *w, uint16_t id, unsigned int links)
{
	size_t rr, chain;

	wire_header(w, id, FLAGS_RESPONSE, 1, 2, 0, 0);
	wire_question(w, "www.example.test", TYPE_A);
	wire_pointer(w, 12);
	rr = wire_rr_begin(w, 65280);
	chain = w->len;
	for (unsigned int i = 0; i < links; i++)
		wire_pointer(w, (uint16_t)(i == 0 ? 12 : chain + 2 * (i - 1)));
	wire_rr_end(w, rr);
	wire_pointer(w, 12);
	rr = wire_rr_begin(w, TYPE_CNAME);
	wire_pointer(w, (uint16_t)(chain + 2 * (links - 1)));
	wire_rr_end(w, rr);
}

/* Sets the TCP length prefix of a packet built by wire_tcp_packet(). */
static void
set_tcp_length(uint8_t *pkt, size_t ip_header, uint16_t length)
{
	pkt[ip_header + 20] = (uint8_t)(length >> 8);
	pkt[ip_header + 21] = (uint8_t)length;
}

static void
write_question_corpus(void)
{
	struct wire w;

	w.len = 0;
	a_query(&w, 0x1234, FLAGS_QUERY, "www.example.test");
	write_message("question", "a_query.bin", &w);
	w.len = 0;
	a_query(&w, 0xbeef, FLAGS_UPSTREAM, "wWw.ExAmPlE.tEsT");
	write_message("question", "a_query_0x20.bin", &w);
	w.len = 0;
	aaaa_query_edns(&w, 0x2345, FLAGS_QUERY);
	write_message("question", "aaaa_query_edns.bin", &w);
	w.len = 0;
	response_cname_chain(&w, 0x3456);
	write_message("question", "response_cname_chain.bin", &w);
	w.len = 0;
	referral_no_glue(&w, 0x4567);
	write_message("question", "referral_no_glue.bin", &w);
}

static void
write_response_corpus(void)
{
	struct wire w;

	w.len = 0;
	response_cname_chain(&w, 0x3456);
	write_message("response", "response_cname_chain.bin", &w);
	/* The same as the first TCP segment of a longer stream holds it. */
	w.len -= 9;
	write_message("response", "response_cname_chain_cut_short.bin", &w);
	w.len = 0;
	referral_no_glue(&w, 0x4567);
	write_message("response", "referral_no_glue.bin", &w);
	w.len = 0;
	response_truncated(&w, 0x5678);
	write_message("response", "response_truncated.bin", &w);
	w.len = 0;
	response_nxdomain_soa(&w, 0x6789);
	write_message("response", "response_nxdomain_soa.bin", &w);
	w.len = 0;
	response_tsig(&w, 0x789a);
	write_message("response", "response_tsig.bin", &w);
	w.len = 0;
	aaaa_query_edns(&w, 0x2345, FLAGS_QUERY);
	write_message("response", "aaaa_query_edns.bin", &w);
	w.len = 0;
	response_cname_17(&w, 0x89ab);
	write_message("response", "response_17_cnames.bin", &w);
	w.len = 0;
	response_pointer_chain(&w, 0x9abc, 251);
	write_message("response", "response_pointer_chain_251.bin", &w);
}

static void
write_packet_corpus(void)
{
	uint8_t pkt[4200];
	struct wire w;
	size_t len;

	w.len = 0;
	a_query(&w, 0x1234, FLAGS_QUERY, "www.example.test");
	len = wire_udp_packet(4, CLIENT4, 40000, RESOLVER4, 53, &w, pkt,
	    sizeof(pkt));
	write_packet("in_ipv4_udp_a_query.bin", FUZZ_PLAN_IN | FUZZ_MARK(1),
	    pkt, len);
	len = wire_tcp_packet(4, CLIENT4, 40001, RESOLVER4, 53, TCP_PSH_ACK,
	    &w, pkt, sizeof(pkt));
	write_packet("in_ipv4_tcp_a_query.bin", FUZZ_PLAN_IN | FUZZ_MARK(2),
	    pkt, len);
	w.len = 0;
	a_query(&w, 0xbeef, FLAGS_UPSTREAM, "wWw.ExAmPlE.tEsT");
	len = wire_udp_packet(4, WAN4, 33333, SERVER4, 53, &w, pkt,
	    sizeof(pkt));
	write_packet("out_ipv4_udp_a_query_0x20.bin", FUZZ_PLAN_OUT, pkt, len);
	write_packet("inout_ipv4_udp_a_query_0x20.bin",
	    FUZZ_PLAN_IN_OUT | FUZZ_MARK(1) | FUZZ_CT_MARK, pkt, len);
	len = wire_tcp_packet(4, WAN4, 33334, SERVER4, 53, TCP_SYN, NULL, pkt,
	    sizeof(pkt));
	write_packet("out_ipv4_tcp_syn.bin", FUZZ_PLAN_OUT | FUZZ_TIME(1), pkt,
	    len);

	w.len = 0;
	aaaa_query_edns(&w, 0x2345, FLAGS_QUERY);
	len = wire_udp_packet(6, CLIENT6, 40002, RESOLVER6, 53, &w, pkt,
	    sizeof(pkt));
	write_packet("in_ipv6_udp_aaaa_query_edns.bin",
	    FUZZ_PLAN_IN | FUZZ_MARK(3), pkt, len);
	len = wire_udp_packet(6, WAN6, 33335, SERVER6, 53, &w, pkt,
	    sizeof(pkt));
	write_packet("out_ipv6_udp_aaaa_query_edns.bin", FUZZ_PLAN_OUT, pkt,
	    len);
	len = wire_tcp_packet(6, WAN6, 33336, SERVER6, 53, TCP_PSH_ACK, &w,
	    pkt, sizeof(pkt));
	write_packet("out_ipv6_tcp_aaaa_query_edns.bin", FUZZ_PLAN_OUT, pkt,
	    len);

	w.len = 0;
	response_cname_chain(&w, 0xbeef);
	len = wire_udp_packet(4, SERVER4, 53, WAN4, 33333, &w, pkt,
	    sizeof(pkt));
	write_packet("in_ipv4_udp_response_cname_chain.bin", FUZZ_PLAN_IN,
	    pkt, len);
	/* The first segment of a response that continues in the next one. */
	len = wire_tcp_packet(4, SERVER4, 53, WAN4, 33334, TCP_PSH_ACK, &w,
	    pkt, sizeof(pkt));
	set_tcp_length(pkt, 20, (uint16_t)(w.len + 200));
	write_packet("in_ipv4_tcp_response_cut_short.bin", FUZZ_PLAN_IN, pkt,
	    len);
	w.len = 0;
	response_truncated(&w, 0xbeef);
	len = wire_udp_packet(4, SERVER4, 53, WAN4, 33333, &w, pkt,
	    sizeof(pkt));
	write_packet("in_ipv4_udp_response_truncated.bin", FUZZ_PLAN_IN, pkt,
	    len);
	w.len = 0;
	referral_no_glue(&w, 0x2345);
	len = wire_udp_packet(6, SERVER6, 53, WAN6, 33335, &w, pkt,
	    sizeof(pkt));
	write_packet("in_ipv6_udp_referral_no_glue.bin", FUZZ_PLAN_IN, pkt,
	    len);

	/*
	 * Whole exchanges: a query carrying the records of its answer, asked
	 * by a client, sent upstream, then answered (fuzz.h).
	 */
	w.len = 0;
	response_cname_chain(&w, 0x3456);
	wire_set16(&w, 2, FLAGS_QUERY);
	len = wire_udp_packet(4, WAN4, 33337, SERVER4, 53, &w, pkt,
	    sizeof(pkt));
	write_packet("inoutanswer_ipv4_udp_cname_chain.bin",
	    FUZZ_PLAN_IN_OUT_ANSWER | FUZZ_MARK(1), pkt, len);
	len = wire_tcp_packet(4, WAN4, 33338, SERVER4, 53, TCP_PSH_ACK, &w,
	    pkt, sizeof(pkt));
	write_packet("inoutanswer_ipv4_tcp_cname_chain.bin",
	    FUZZ_PLAN_IN_OUT_ANSWER | FUZZ_MARK(2), pkt, len);
	w.len = 0;
	referral_no_glue(&w, 0x4567);
	wire_set16(&w, 2, FLAGS_UPSTREAM);
	len = wire_udp_packet(6, WAN6, 33339, SERVER6, 53, &w, pkt,
	    sizeof(pkt));
	write_packet("inoutanswer_ipv6_udp_referral_no_glue.bin",
	    FUZZ_PLAN_IN_OUT_ANSWER | FUZZ_MARK(3), pkt, len);
	w.len = 0;
	response_truncated(&w, 0x5678);
	wire_set16(&w, 2, FLAGS_TRUNCATED & ~0x8000);
	len = wire_udp_packet(4, WAN4, 33340, SERVER4, 53, &w, pkt,
	    sizeof(pkt));
	write_packet("outanswer_ipv4_udp_truncated.bin",
	    FUZZ_PLAN_OUT_ANSWER, pkt, len);
}

/*
 * A packet for fuzz_bpfparse, after its stream: control (bit 0 a stream,
 * bit 1 known) and the sequence number where the next answer starts.
 */
static void
write_walk(const char *name, uint8_t control, uint32_t next_seq,
    const uint8_t *pkt, size_t len)
{
	uint8_t buf[4200 + 5];

	buf[0] = control;
	buf[1] = (uint8_t)(next_seq >> 24);
	buf[2] = (uint8_t)(next_seq >> 16);
	buf[3] = (uint8_t)(next_seq >> 8);
	buf[4] = (uint8_t)next_seq;
	memcpy(buf + 5, pkt, len);
	write_file("bpfparse", name, 0, 0, buf, len + 5);
}

/* Appends msg to the TCP packet of *len bytes (IPv4), framed. */
static void
append_framed(uint8_t *pkt, size_t *len, const struct wire *msg)
{
	pkt[*len] = (uint8_t)(msg->len >> 8);
	pkt[*len + 1] = (uint8_t)msg->len;
	memcpy(pkt + *len + 2, msg->buf, msg->len);
	*len += 2 + msg->len;
	pkt[2] = (uint8_t)(*len >> 8);
	pkt[3] = (uint8_t)*len;
}

static void
write_bpfparse_corpus(void)
{
	uint8_t pkt[4200];
	struct wire w, w2;
	size_t len, first;

	w.len = 0;
	a_query(&w, 0x1234, FLAGS_QUERY, "www.example.test");
	len = wire_udp_packet(4, CLIENT4, 40000, RESOLVER4, 53, &w, pkt,
	    sizeof(pkt));
	write_walk("in_ipv4_udp_query.bin", 0, 0, pkt, len);
	w.len = 0;
	response_cname_chain(&w, 0x1234);
	len = wire_udp_packet(4, RESOLVER4, 53, CLIENT4, 40000, &w, pkt,
	    sizeof(pkt));
	write_walk("out_ipv4_udp_answer.bin", 0, 0, pkt, len);
	len = wire_udp_packet(4, SERVER4, 53, WAN4, 33333, &w, pkt,
	    sizeof(pkt));
	write_walk("in_ipv4_udp_response.bin", 0, 0, pkt, len);
	w.len = 0;
	response_truncated(&w, 0x1234);
	len = wire_udp_packet(4, SERVER4, 53, WAN4, 33333, &w, pkt,
	    sizeof(pkt));
	write_walk("in_ipv4_udp_response_truncated.bin", 0, 0, pkt, len);
	/* Two answers in one segment, a stream new (first answer first). */
	w.len = 0;
	response_cname_chain(&w, 0x1111);
	w2.len = 0;
	response_nxdomain_soa(&w2, 0x2222);
	len = wire_tcp_packet(4, RESOLVER4, 53, CLIENT4, 40001, TCP_PSH_ACK,
	    &w, pkt, sizeof(pkt));
	first = len;
	append_framed(pkt, &len, &w2);
	write_walk("out_ipv4_tcp_two_answers_new_stream.bin", 1, 0, pkt, len);
	write_walk("out_ipv4_tcp_two_answers_no_stream.bin", 0, 0, pkt, len);
	/* The stream says the second starts where the first ends (the
	 * packet's sequence number is 1): read from there. */
	write_walk("out_ipv4_tcp_answer_inside_segment.bin", 3,
	    1 + (uint32_t)(first - 40), pkt, len);
	/* A retransmission: the stream is past it. */
	write_walk("out_ipv4_tcp_retransmission.bin", 3,
	    1 + (uint32_t)(len - 40), pkt, len);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	corpus_dir = argv[1];
	if (mkdir(corpus_dir, 0755) < 0 && errno != EEXIST) {
		perror(corpus_dir);
		return 1;
	}
	write_question_corpus();
	write_response_corpus();
	write_packet_corpus();
	write_bpfparse_corpus();
	return 0;
}
