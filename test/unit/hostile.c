/*
 * The hostile packets of hostile.h.  DNS messages up to 4 KiB are written
 * with wire.h; the few larger ones (pointer chains) byte by byte here.
 * Every packet is framed by wire_udp_packet()/wire_tcp_packet() with an
 * empty message and its payload appended, so any size up to 64 KiB works.
 */
#include <stdio.h>
#include <string.h>

#include "hostile.h"
#include "judge.h"
#include "wire.h"

#define CLIENT4 "192.0.2.10"
#define RESOLVER4 "192.0.2.1"
#define WAN4 "198.51.100.1"
#define SERVER4 "203.0.113.53"
#define SPOOFER4 "203.0.113.99"
#define CLIENT6 "2001:db8:1::10"
#define RESOLVER6 "2001:db8:1::1"
#define WAN6 "2001:db8:ffff::1"
#define SERVER6 "2001:db8:53::53"
#define CLIENT_PORT 40000
#define WAN_PORT 33333

#define TYPE_A 1
#define TYPE_CNAME 5
#define TYPE_OPT 41
#define TYPE_TSIG 250
#define TYPE_PRIVATE 65280
#define FLAGS_QUERY 0x0100	/* RD */
#define FLAGS_RESPONSE 0x8180	/* QR RD RA */

#define CLIENT_ID 0x1234
#define TCP_PSH_ACK 0x18

#define IPV6_HOPOPTS 0
#define IPV6_ROUTING 43
#define IPV6_FRAGMENT 44
#define IPV6_DSTOPTS 60

/* "victim.example.test" at offset 12: where the question's name ends. */
#define VICTIM_NAME_LEN 21
#define QUESTION_END (12 + VICTIM_NAME_LEN + 4)

enum direction {
	CLIENT_TO_RESOLVER,	/* a client's query, on LOCAL_IN */
	RESOLVER_TO_SERVER,	/* the resolver's upstream query, on LOCAL_OUT */
	SERVER_TO_RESOLVER,	/* an upstream response, on LOCAL_IN */
};

static void
put16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static size_t
ip_header_len(const uint8_t *pkt)
{
	return (pkt[0] >> 4) == 4 ? (size_t)(pkt[0] & 0x0f) * 4 : 40;
}

/* Makes the IP length field describe a packet of len octets. */
static void
set_ip_length(uint8_t *pkt, size_t len)
{
	if ((pkt[0] >> 4) == 4)
		put16(pkt + 2, len);
	else
		put16(pkt + 4, len - 40);
}

static void
endpoints(enum direction dir, int family, const char **src, uint16_t *sport,
    const char **dst, uint16_t *dport)
{
	switch (dir) {
	case CLIENT_TO_RESOLVER:
		*src = family == 4 ? CLIENT4 : CLIENT6;
		*sport = CLIENT_PORT;
		*dst = family == 4 ? RESOLVER4 : RESOLVER6;
		*dport = 53;
		break;
	case RESOLVER_TO_SERVER:
		*src = family == 4 ? WAN4 : WAN6;
		*sport = WAN_PORT;
		*dst = family == 4 ? SERVER4 : SERVER6;
		*dport = 53;
		break;
	case SERVER_TO_RESOLVER:
		*src = family == 4 ? SERVER4 : SERVER6;
		*sport = 53;
		*dst = family == 4 ? WAN4 : WAN6;
		*dport = WAN_PORT;
		break;
	}
}

/* A UDP datagram carrying payload between the given endpoints. */
static size_t
udp_between(int family, const char *src, uint16_t sport, const char *dst,
    uint16_t dport, const void *payload, size_t payload_len, uint8_t *out,
    size_t cap)
{
	struct wire empty = { .len = 0 };
	size_t len;

	len = wire_udp_packet(family, src, sport, dst, dport, &empty, out, cap);
	if (len + payload_len > cap || 8 + payload_len > 65535)
		return 0;
	memcpy(out + len, payload, payload_len);
	put16(out + len - 4, 8 + payload_len);
	len += payload_len;
	set_ip_length(out, len);
	return len;
}

static size_t
udp(enum direction dir, int family, const void *payload, size_t payload_len,
    uint8_t *out, size_t cap)
{
	const char *src, *dst;
	uint16_t sport, dport;

	endpoints(dir, family, &src, &sport, &dst, &dport);
	return udp_between(family, src, sport, dst, dport, payload,
	    payload_len, out, cap);
}

/* A TCP segment whose payload is the raw bytes given (no length added). */
static size_t
tcp(enum direction dir, int family, uint8_t flags, const void *payload,
    size_t payload_len, uint8_t *out, size_t cap)
{
	const char *src, *dst;
	uint16_t sport, dport;
	size_t len;

	endpoints(dir, family, &src, &sport, &dst, &dport);
	len = wire_tcp_packet(family, src, sport, dst, dport, flags, NULL, out,
	    cap);
	if (len + payload_len > cap)
		return 0;
	memcpy(out + len, payload, payload_len);
	len += payload_len;
	set_ip_length(out, len);
	return len;
}

/* A TCP segment carrying one length-prefixed message, whole. */
static size_t
tcp_message(enum direction dir, int family, const struct wire *msg,
    uint8_t *out, size_t cap)
{
	struct wire stream = { .len = 0 };

	wire_u16(&stream, (uint16_t)msg->len);
	wire_bytes(&stream, msg->buf, msg->len);
	return tcp(dir, family, TCP_PSH_ACK, stream.buf, stream.len, out, cap);
}

/*
 * The first segment of a TCP stream whose message is msg: its length
 * prefix says msg->len, the segment holds only its first keep octets.
 */
static size_t
tcp_message_cut(enum direction dir, const struct wire *msg, size_t keep,
    uint8_t *out, size_t cap)
{
	struct wire stream = { .len = 0 };

	wire_u16(&stream, (uint16_t)msg->len);
	wire_bytes(&stream, msg->buf, keep < msg->len ? keep : msg->len);
	return tcp(dir, 4, TCP_PSH_ACK, stream.buf, stream.len, out, cap);
}

/* Writes a dotted name whose labels have the given lengths, in letters. */
static void
long_name(char *dotted, const unsigned int *labels, size_t count)
{
	size_t pos = 0;

	for (size_t i = 0; i < count; i++) {
		if (i > 0)
			dotted[pos++] = '.';
		for (unsigned int j = 0; j < labels[i]; j++)
			dotted[pos++] = (char)('a' + (i + j) % 26);
	}
	dotted[pos] = '\0';
}

/* 3 + 63 * 3 + 1 + 61 + 1 = 255 octets, the longest name there is. */
static void
name_255(char *dotted)
{
	static const unsigned int labels[] = { 63, 63, 63, 61 };

	long_name(dotted, labels, 4);
}

/* One octet too long. */
static void
name_256(char *dotted)
{
	static const unsigned int labels[] = { 63, 63, 63, 62 };

	long_name(dotted, labels, 4);
}

static void
query(struct wire *w, uint16_t id, uint16_t flags, const char *name)
{
	w->len = 0;
	wire_header(w, id, flags, 1, 0, 0, 0);
	wire_question(w, name, TYPE_A);
}

static void
client_query_message(struct wire *w, const char *name)
{
	query(w, CLIENT_ID, FLAGS_QUERY, name);
}

static void
upstream_query_message(struct wire *w, const char *name)
{
	query(w, HOSTILE_VICTIM_ID, 0, name);
}

/* The header and question of a response to the victim's upstream query. */
static void
victim_response(struct wire *w, uint16_t an, uint16_t ns, uint16_t ar)
{
	w->len = 0;
	wire_header(w, HOSTILE_VICTIM_ID, FLAGS_RESPONSE, 1, an, ns, ar);
	wire_question(w, HOSTILE_VICTIM_NAME, TYPE_A);
}

static void
a_record(struct wire *w)
{
	size_t rr;

	wire_pointer(w, 12);
	rr = wire_rr_begin(w, TYPE_A);
	wire_u32(w, 0xcb007150);
	wire_rr_end(w, rr);
}

/* A CNAME for the question's name, its target the dotted name. */
static void
cname_record(struct wire *w, const char *target)
{
	size_t rr;

	wire_pointer(w, 12);
	rr = wire_rr_begin(w, TYPE_CNAME);
	wire_name(w, target);
	wire_rr_end(w, rr);
}

static void
tsig_record(struct wire *w)
{
	size_t rr;

	wire_name(w, "transfer-key");
	wire_u16(w, TYPE_TSIG);
	wire_u16(w, 255);
	wire_u32(w, 0);
	rr = w->len;
	wire_u16(w, 0);
	wire_name(w, "hmac-sha256");
	wire_u16(w, 0);
	wire_u32(w, 0x65a1b2c3);
	wire_u16(w, 300);
	wire_u16(w, 32);
	for (int i = 0; i < 32; i++)
		wire_u8(w, (uint8_t)(0x5a ^ i));
	wire_u16(w, HOSTILE_VICTIM_ID);
	wire_u16(w, 0);
	wire_u16(w, 0);
	wire_rr_end(w, rr);
}

size_t
hostile_victim_client_query(uint8_t *out, size_t cap)
{
	struct wire w;

	client_query_message(&w, HOSTILE_VICTIM_NAME);
	return udp(CLIENT_TO_RESOLVER, 4, w.buf, w.len, out, cap);
}

size_t
hostile_victim_upstream_query(uint8_t *out, size_t cap)
{
	struct wire w;

	upstream_query_message(&w, HOSTILE_VICTIM_NAME);
	return udp(RESOLVER_TO_SERVER, 4, w.buf, w.len, out, cap);
}

size_t
hostile_normal_client_query(const char *name, uint8_t *out, size_t cap)
{
	struct wire w;

	client_query_message(&w, name);
	return udp(CLIENT_TO_RESOLVER, 4, w.buf, w.len, out, cap);
}

size_t
hostile_normal_upstream_query(const char *name, uint8_t *out, size_t cap)
{
	struct wire w;

	query(&w, 0x4242, 0, name);
	return udp(RESOLVER_TO_SERVER, 4, w.buf, w.len, out, cap);
}

/* --- Compression pointers in questions --- */

static size_t
question_pointer(uint16_t target, enum direction dir, uint8_t *out,
    size_t cap)
{
	struct wire w = { .len = 0 };

	wire_header(&w, CLIENT_ID, FLAGS_QUERY, 1, 0, 0, 0);
	wire_pointer(&w, target);
	wire_u16(&w, TYPE_A);
	wire_u16(&w, 1);
	wire_name(&w, "after.example.test");
	return udp(dir, 4, w.buf, w.len, out, cap);
}

static size_t
client_question_loop(unsigned int variant, uint8_t *out, size_t cap)
{
	(void)variant;
	return question_pointer(12, CLIENT_TO_RESOLVER, out, cap);
}

static size_t
upstream_question_loop(unsigned int variant, uint8_t *out, size_t cap)
{
	(void)variant;
	return question_pointer(12, RESOLVER_TO_SERVER, out, cap);
}

static size_t
client_question_forward_pointer(unsigned int variant, uint8_t *out,
    size_t cap)
{
	(void)variant;
	return question_pointer(18, CLIENT_TO_RESOLVER, out, cap);
}

/* --- Compression pointers in responses --- */

static size_t
response_owner_self_pointer(unsigned int variant, uint8_t *out, size_t cap)
{
	struct wire w;
	size_t rr;

	(void)variant;
	victim_response(&w, 1, 0, 0);
	wire_pointer(&w, (uint16_t)w.len);
	rr = wire_rr_begin(&w, TYPE_A);
	wire_u32(&w, 0xcb007150);
	wire_rr_end(&w, rr);
	return udp(SERVER_TO_RESOLVER, 4, w.buf, w.len, out, cap);
}

static size_t
response_owner_label_loop(unsigned int variant, uint8_t *out, size_t cap)
{
	struct wire w;
	size_t rr, start;

	(void)variant;
	victim_response(&w, 1, 0, 0);
	start = w.len;
	wire_u8(&w, 1);
	wire_u8(&w, 'a');
	wire_pointer(&w, (uint16_t)start);
	rr = wire_rr_begin(&w, TYPE_A);
	wire_u32(&w, 0xcb007150);
	wire_rr_end(&w, rr);
	return udp(SERVER_TO_RESOLVER, 4, w.buf, w.len, out, cap);
}

static size_t
response_cname_self_pointer(unsigned int variant, uint8_t *out, size_t cap)
{
	struct wire w;
	size_t rr;

	(void)variant;
	victim_response(&w, 1, 0, 0);
	wire_pointer(&w, 12);
	rr = wire_rr_begin(&w, TYPE_CNAME);
	wire_pointer(&w, (uint16_t)w.len);
	wire_rr_end(&w, rr);
	return udp(SERVER_TO_RESOLVER, 4, w.buf, w.len, out, cap);
}

/* Two CNAME targets, each a label and a pointer to the other. */
static size_t
response_cname_pair_loop(unsigned int variant, uint8_t *out, size_t cap)
{
	struct wire w;
	size_t rr, first, second;

	(void)variant;
	victim_response(&w, 2, 0, 0);
	wire_pointer(&w, 12);
	rr = wire_rr_begin(&w, TYPE_CNAME);
	first = w.len;
	wire_u8(&w, 1);
	wire_u8(&w, 'x');
	wire_pointer(&w, 0);	/* patched below */
	wire_rr_end(&w, rr);
	wire_pointer(&w, 12);
	rr = wire_rr_begin(&w, TYPE_CNAME);
	second = w.len;
	wire_u8(&w, 1);
	wire_u8(&w, 'y');
	wire_pointer(&w, (uint16_t)first);
	wire_rr_end(&w, rr);
	wire_set16(&w, first + 2, (uint16_t)(0xc000 | second));
	return udp(SERVER_TO_RESOLVER, 4, w.buf, w.len, out, cap);
}

/*
 * A response whose first answer's data is a chain of pointers, each to the
 * one before and the first to the question's name; a CNAME's target then
 * points at the chain's last link.  Too big for struct wire: byte by byte.
 */
static size_t
response_pointer_chain(unsigned int links, uint8_t *out, size_t cap)
{
	static uint8_t msg[65535];
	struct wire head;
	size_t len, chain, last;

	victim_response(&head, 2, 0, 0);
	len = head.len;
	if (len + 12 + 2 * (size_t)links + 14 > sizeof(msg))
		return 0;
	memcpy(msg, head.buf, len);
	put16(msg + len, 0xc00c);
	put16(msg + len + 2, TYPE_PRIVATE);
	put16(msg + len + 4, 1);
	memset(msg + len + 6, 0, 4);
	put16(msg + len + 10, 2 * (size_t)links);
	len += 12;
	chain = len;
	for (unsigned int i = 0; i < links; i++) {
		put16(msg + len, 0xc000 | (i == 0 ? 12 : chain + 2 * (i - 1)));
		len += 2;
	}
	last = chain + 2 * ((size_t)links - 1);
	put16(msg + len, 0xc00c);
	put16(msg + len + 2, TYPE_CNAME);
	put16(msg + len + 4, 1);
	memset(msg + len + 6, 0, 4);
	put16(msg + len + 10, 2);
	put16(msg + len + 12, 0xc000 | last);
	len += 14;
	return udp(SERVER_TO_RESOLVER, 4, msg, len, out, cap);
}

static size_t
response_chain_8000(unsigned int variant, uint8_t *out, size_t cap)
{
	(void)variant;
	return response_pointer_chain(8000, out, cap);
}

/* 1 + 250 + 4 steps: the longest walk refused... */
static size_t
response_chain_251(unsigned int variant, uint8_t *out, size_t cap)
{
	(void)variant;
	return response_pointer_chain(251, out, cap);
}

/* ... and the longest accepted. */
static size_t
response_chain_250(unsigned int variant, uint8_t *out, size_t cap)
{
	(void)variant;
	return response_pointer_chain(250, out, cap);
}

/*
 * The most work a response may ask for and still be accepted: 512
 * records, every owner and every CNAME target through 250 pointers.
 * Variant 1 comes from an address the victim's query did not go to.
 */
static size_t
response_worst_accepted(unsigned int variant, uint8_t *out, size_t cap)
{
	static uint8_t msg[65535];
	struct wire head;
	size_t len, chain, last;
	const unsigned int links = 250, records = 512;

	victim_response(&head, (uint16_t)records, 0, 0);
	len = head.len;
	memcpy(msg, head.buf, len);
	put16(msg + len, 0xc00c);
	put16(msg + len + 2, TYPE_PRIVATE);
	put16(msg + len + 4, 1);
	memset(msg + len + 6, 0, 4);
	put16(msg + len + 10, 2 * (size_t)links);
	len += 12;
	chain = len;
	for (unsigned int i = 0; i < links; i++) {
		put16(msg + len, 0xc000 | (i == 0 ? 12 : chain + 2 * (i - 1)));
		len += 2;
	}
	last = chain + 2 * ((size_t)links - 1);
	for (unsigned int i = 1; i < records; i++) {
		if (len + 14 > sizeof(msg))
			return 0;
		put16(msg + len, 0xc000 | last);
		put16(msg + len + 2, TYPE_CNAME);
		put16(msg + len + 4, 1);
		memset(msg + len + 6, 0, 4);
		put16(msg + len + 10, 2);
		put16(msg + len + 12, 0xc000 | last);
		len += 14;
	}
	if (variant == 1)
		return udp_between(4, SPOOFER4, 53, WAN4, WAN_PORT, msg, len,
		    out, cap);
	return udp(SERVER_TO_RESOLVER, 4, msg, len, out, cap);
}

/* --- Name and label lengths --- */

static size_t
client_name_255(unsigned int variant, uint8_t *out, size_t cap)
{
	char name[300];
	struct wire w;

	(void)variant;
	name_255(name);
	client_query_message(&w, name);
	return udp(CLIENT_TO_RESOLVER, 4, w.buf, w.len, out, cap);
}

static size_t
upstream_name_255(unsigned int variant, uint8_t *out, size_t cap)
{
	char name[300];
	struct wire w;

	(void)variant;
	name_255(name);
	upstream_query_message(&w, name);
	return udp(RESOLVER_TO_SERVER, 4, w.buf, w.len, out, cap);
}

static size_t
client_name_256(unsigned int variant, uint8_t *out, size_t cap)
{
	char name[300];
	struct wire w;

	(void)variant;
	name_256(name);
	client_query_message(&w, name);
	return udp(CLIENT_TO_RESOLVER, 4, w.buf, w.len, out, cap);
}

static size_t
upstream_name_256(unsigned int variant, uint8_t *out, size_t cap)
{
	char name[300];
	struct wire w;

	(void)variant;
	name_256(name);
	upstream_query_message(&w, name);
	return udp(RESOLVER_TO_SERVER, 4, w.buf, w.len, out, cap);
}

static size_t
response_cname_255(unsigned int variant, uint8_t *out, size_t cap)
{
	char name[300];
	struct wire w;

	(void)variant;
	name_255(name);
	victim_response(&w, 1, 0, 0);
	cname_record(&w, name);
	return udp(SERVER_TO_RESOLVER, 4, w.buf, w.len, out, cap);
}

static size_t
response_cname_256(unsigned int variant, uint8_t *out, size_t cap)
{
	char name[300];
	struct wire w;

	(void)variant;
	name_256(name);
	victim_response(&w, 1, 0, 0);
	cname_record(&w, name);
	return udp(SERVER_TO_RESOLVER, 4, w.buf, w.len, out, cap);
}

/* Three 63-octet labels, then a pointer to a 64-octet name: 256 octets. */
static size_t
response_cname_256_compressed(unsigned int variant, uint8_t *out, size_t cap)
{
	static const unsigned int labels[] = { 63, 63, 63 };
	static const unsigned int tail_labels[] = { 62 };
	char name[300], tail[80];
	struct wire w;
	size_t rr, tail_at;

	(void)variant;
	long_name(name, labels, 3);
	long_name(tail, tail_labels, 1);
	victim_response(&w, 2, 0, 0);
	wire_pointer(&w, 12);
	rr = wire_rr_begin(&w, TYPE_PRIVATE);
	tail_at = w.len;
	wire_name(&w, tail);
	wire_rr_end(&w, rr);
	wire_pointer(&w, 12);
	rr = wire_rr_begin(&w, TYPE_CNAME);
	w.len--;	/* drop the root label wire_name() ends with... */
	wire_name(&w, name);
	w.len--;
	wire_pointer(&w, (uint16_t)tail_at);	/* ... for the pointer */
	wire_rr_end(&w, rr);
	return udp(SERVER_TO_RESOLVER, 4, w.buf, w.len, out, cap);
}

static size_t
client_label_63(unsigned int variant, uint8_t *out, size_t cap)
{
	static const unsigned int labels[] = { 63, 7, 4 };
	char name[100];
	struct wire w;

	(void)variant;
	long_name(name, labels, 3);
	client_query_message(&w, name);
	return udp(CLIENT_TO_RESOLVER, 4, w.buf, w.len, out, cap);
}

static size_t
client_label_64(unsigned int variant, uint8_t *out, size_t cap)
{
	static const unsigned int labels[] = { 64, 7, 4 };
	char name[100];
	struct wire w;

	(void)variant;
	long_name(name, labels, 3);
	client_query_message(&w, name);
	return udp(CLIENT_TO_RESOLVER, 4, w.buf, w.len, out, cap);
}

static size_t
response_cname_label_64(unsigned int variant, uint8_t *out, size_t cap)
{
	static const unsigned int labels[] = { 64, 7, 4 };
	char name[100];
	struct wire w;

	(void)variant;
	long_name(name, labels, 3);
	victim_response(&w, 1, 0, 0);
	cname_record(&w, name);
	return udp(SERVER_TO_RESOLVER, 4, w.buf, w.len, out, cap);
}

/* --- Question counts --- */

static size_t
client_qdcount_0(unsigned int variant, uint8_t *out, size_t cap)
{
	struct wire w = { .len = 0 };

	(void)variant;
	wire_header(&w, CLIENT_ID, FLAGS_QUERY, 0, 0, 0, 0);
	return udp(CLIENT_TO_RESOLVER, 4, w.buf, w.len, out, cap);
}

static size_t
qdcount_2(enum direction dir, uint8_t *out, size_t cap)
{
	struct wire w = { .len = 0 };

	wire_header(&w, CLIENT_ID, dir == SERVER_TO_RESOLVER ?
	    FLAGS_RESPONSE : FLAGS_QUERY, 2, 0, 0, 0);
	wire_question(&w, HOSTILE_VICTIM_NAME, TYPE_A);
	wire_question(&w, "other.example.test", TYPE_A);
	return udp(dir, 4, w.buf, w.len, out, cap);
}

static size_t
client_qdcount_2(unsigned int variant, uint8_t *out, size_t cap)
{
	(void)variant;
	return qdcount_2(CLIENT_TO_RESOLVER, out, cap);
}

static size_t
upstream_qdcount_2(unsigned int variant, uint8_t *out, size_t cap)
{
	(void)variant;
	return qdcount_2(RESOLVER_TO_SERVER, out, cap);
}

static size_t
response_qdcount_0(unsigned int variant, uint8_t *out, size_t cap)
{
	struct wire w = { .len = 0 };
	size_t rr;

	(void)variant;
	wire_header(&w, HOSTILE_VICTIM_ID, FLAGS_RESPONSE, 0, 1, 0, 0);
	wire_name(&w, HOSTILE_VICTIM_NAME);
	rr = wire_rr_begin(&w, TYPE_CNAME);
	wire_name(&w, "cdn.example.net");
	wire_rr_end(&w, rr);
	return udp(SERVER_TO_RESOLVER, 4, w.buf, w.len, out, cap);
}

/* --- Truncated headers --- */

/* The victim's client query cut to variant octets, lengths unchanged. */
static size_t
cut(int family, int over_tcp, unsigned int variant, uint8_t *out, size_t cap)
{
	struct wire w;
	size_t len;

	client_query_message(&w, HOSTILE_VICTIM_NAME);
	if (over_tcp)
		len = tcp_message(CLIENT_TO_RESOLVER, family, &w, out, cap);
	else
		len = udp(CLIENT_TO_RESOLVER, family, w.buf, w.len, out, cap);
	return variant < len ? variant : len;
}

static size_t
cut_ipv4_udp(unsigned int variant, uint8_t *out, size_t cap)
{
	return cut(4, 0, variant, out, cap);
}

static size_t
cut_ipv6_udp(unsigned int variant, uint8_t *out, size_t cap)
{
	return cut(6, 0, variant, out, cap);
}

static size_t
cut_ipv4_tcp(unsigned int variant, uint8_t *out, size_t cap)
{
	return cut(4, 1, variant, out, cap);
}

/* The same cut with the IP and UDP lengths saying so: a short datagram. */
static size_t
short_datagram(unsigned int variant, uint8_t *out, size_t cap)
{
	size_t len = cut(4, 0, variant, out, cap);

	if (len >= 4)
		set_ip_length(out, len);
	if (len >= 26)
		put16(out + 24, len - 20);
	return len;
}

/* --- IPv4 options --- */

/* Inserts IPv4 options (a multiple of 4 octets) after the fixed header. */
static size_t
ipv4_options(uint8_t *pkt, size_t len, size_t cap, const uint8_t *options,
    size_t options_len)
{
	if (len + options_len > cap)
		return 0;
	memmove(pkt + 20 + options_len, pkt + 20, len - 20);
	memcpy(pkt + 20, options, options_len);
	pkt[0] = (uint8_t)(0x40 | (5 + options_len / 4));
	set_ip_length(pkt, len + options_len);
	return len + options_len;
}

/* Router alert, then record route with room for one address. */
static const uint8_t some_options[12] = {
	0x94, 0x04, 0x00, 0x00, 0x07, 0x07, 0x04, 0, 0, 0, 0, 0x00,
};

static size_t
client_ipv4_options(unsigned int variant, uint8_t *out, size_t cap)
{
	struct wire w;
	size_t len;

	(void)variant;
	client_query_message(&w, "options.example.test");
	len = udp(CLIENT_TO_RESOLVER, 4, w.buf, w.len, out, cap);
	return ipv4_options(out, len, cap, some_options, sizeof(some_options));
}

static size_t
upstream_ipv4_options(unsigned int variant, uint8_t *out, size_t cap)
{
	struct wire w;
	size_t len;

	(void)variant;
	upstream_query_message(&w, "options.example.test");
	len = udp(RESOLVER_TO_SERVER, 4, w.buf, w.len, out, cap);
	return ipv4_options(out, len, cap, some_options, sizeof(some_options));
}

/* Variant 0: header length 60 over a short packet; 1: 16 (IHL 4); 2: total
 * length past the packet; 3: total length below the header's. */
static size_t
ipv4_bad_lengths(unsigned int variant, uint8_t *out, size_t cap)
{
	size_t len = cut(4, 0, 1000, out, cap);

	switch (variant) {
	case 0:
		out[0] = 0x4f;
		break;
	case 1:
		out[0] = 0x44;
		break;
	case 2:
		set_ip_length(out, len + 1);
		break;
	default:
		set_ip_length(out, 19);
		break;
	}
	return len;
}

/* Ethernet pads short frames: octets after the IP total length. */
static size_t
client_trailing_padding(unsigned int variant, uint8_t *out, size_t cap)
{
	size_t len = cut(4, 0, 1000, out, cap);

	(void)variant;
	if (len + 18 > cap)
		return 0;
	memset(out + len, 0, 18);
	return len + 18;
}

/* --- IPv6 extension headers --- */

/* Inserts an extension header of type right after the fixed header. */
static size_t
ipv6_extension(uint8_t *pkt, size_t len, size_t cap, uint8_t type,
    const uint8_t *ext, size_t ext_len)
{
	if (len + ext_len > cap)
		return 0;
	memmove(pkt + 40 + ext_len, pkt + 40, len - 40);
	memcpy(pkt + 40, ext, ext_len);
	pkt[40] = pkt[6];
	pkt[6] = type;
	set_ip_length(pkt, len + ext_len);
	return len + ext_len;
}

/* An options header of 8 octets: next header, length 0, PadN of 4. */
static const uint8_t pad_options[8] = { 0, 0, 1, 4, 0, 0, 0, 0 };

static size_t
ipv6_with_options(enum direction dir, const char *name, uint8_t *out,
    size_t cap)
{
	struct wire w;
	size_t len;

	if (dir == CLIENT_TO_RESOLVER)
		client_query_message(&w, name);
	else
		upstream_query_message(&w, name);
	len = udp(dir, 6, w.buf, w.len, out, cap);
	len = ipv6_extension(out, len, cap, IPV6_DSTOPTS, pad_options, 8);
	return ipv6_extension(out, len, cap, IPV6_HOPOPTS, pad_options, 8);
}

static size_t
client_ipv6_options(unsigned int variant, uint8_t *out, size_t cap)
{
	(void)variant;
	return ipv6_with_options(CLIENT_TO_RESOLVER, "ext.example.test", out,
	    cap);
}

static size_t
upstream_ipv6_options(unsigned int variant, uint8_t *out, size_t cap)
{
	(void)variant;
	return ipv6_with_options(RESOLVER_TO_SERVER, "ext.example.test", out,
	    cap);
}

/* A hop-by-hop header whose length runs past the packet. */
static size_t
ipv6_options_overrun(unsigned int variant, uint8_t *out, size_t cap)
{
	size_t len;

	(void)variant;
	len = ipv6_with_options(CLIENT_TO_RESOLVER, HOSTILE_VICTIM_NAME, out,
	    cap);
	out[41] = 200;
	return len;
}

/* Nine destination options headers: more than dnsmark walks. */
static size_t
ipv6_nine_extensions(unsigned int variant, uint8_t *out, size_t cap)
{
	struct wire w;
	size_t len;

	(void)variant;
	client_query_message(&w, HOSTILE_VICTIM_NAME);
	len = udp(CLIENT_TO_RESOLVER, 6, w.buf, w.len, out, cap);
	for (int i = 0; i < 9; i++)
		len = ipv6_extension(out, len, cap, IPV6_DSTOPTS, pad_options,
		    8);
	return len;
}

/* Variant 0: payload length past the packet; 1: zero (a jumbogram). */
static size_t
ipv6_bad_lengths(unsigned int variant, uint8_t *out, size_t cap)
{
	size_t len = cut(6, 0, 1000, out, cap);

	put16(out + 4, variant == 0 ? len - 40 + 1 : 0);
	return len;
}

/* --- Fragments --- */

/* Variant 0: the first fragment (more fragments); 1: a later one. */
static size_t
ipv4_fragment(unsigned int variant, uint8_t *out, size_t cap)
{
	size_t len = cut(4, 0, 1000, out, cap);

	put16(out + 6, variant == 0 ? 0x2000 : 0x00b9);
	return len;
}

static size_t
upstream_ipv4_fragment(unsigned int variant, uint8_t *out, size_t cap)
{
	struct wire w;
	size_t len;

	upstream_query_message(&w, HOSTILE_VICTIM_NAME);
	len = udp(RESOLVER_TO_SERVER, 4, w.buf, w.len, out, cap);
	put16(out + 6, variant == 0 ? 0x2000 : 0x00b9);
	return len;
}

/* Variant 0: a first fragment; 1: an atomic fragment (offset 0, no more). */
static size_t
ipv6_fragment(unsigned int variant, uint8_t *out, size_t cap)
{
	uint8_t fragment[8] = { 0, 0, 0, variant == 0 ? 1 : 0, 0x12, 0x34,
		0x56, 0x78 };
	size_t len = cut(6, 0, 1000, out, cap);

	return ipv6_extension(out, len, cap, IPV6_FRAGMENT, fragment, 8);
}

static size_t
upstream_ipv6_hopopts_fragment(unsigned int variant, uint8_t *out,
    size_t cap)
{
	uint8_t fragment[8] = { 0, 0, 0, 1, 0x12, 0x34, 0x56, 0x78 };
	struct wire w;
	size_t len;

	(void)variant;
	upstream_query_message(&w, HOSTILE_VICTIM_NAME);
	len = udp(RESOLVER_TO_SERVER, 6, w.buf, w.len, out, cap);
	len = ipv6_extension(out, len, cap, IPV6_FRAGMENT, fragment, 8);
	return ipv6_extension(out, len, cap, IPV6_HOPOPTS, pad_options, 8);
}

/* --- TCP --- */

/* The first segment of a query whose length prefix says 20 more octets. */
static size_t
tcp_partial_query(enum direction dir, uint8_t *out, size_t cap)
{
	struct wire w, stream = { .len = 0 };

	if (dir == CLIENT_TO_RESOLVER)
		client_query_message(&w, HOSTILE_VICTIM_NAME);
	else
		upstream_query_message(&w, HOSTILE_VICTIM_NAME);
	wire_u16(&stream, (uint16_t)(w.len + 20));
	wire_bytes(&stream, w.buf, w.len);
	return tcp(dir, 4, TCP_PSH_ACK, stream.buf, stream.len, out, cap);
}

static size_t
client_tcp_partial(unsigned int variant, uint8_t *out, size_t cap)
{
	(void)variant;
	return tcp_partial_query(CLIENT_TO_RESOLVER, out, cap);
}

static size_t
upstream_tcp_partial(unsigned int variant, uint8_t *out, size_t cap)
{
	(void)variant;
	return tcp_partial_query(RESOLVER_TO_SERVER, out, cap);
}

/* Variant 0: nothing but a length prefix; 1: one octet; 2: prefix 0. */
static size_t
tcp_scraps(unsigned int variant, uint8_t *out, size_t cap)
{
	static const uint8_t scraps[3][14] = {
		{ 0x00, 0x21 },
		{ 0x00 },
		{ 0 },
	};
	static const size_t lengths[3] = { 2, 1, 14 };

	return tcp(CLIENT_TO_RESOLVER, 4, TCP_PSH_ACK, scraps[variant],
	    lengths[variant], out, cap);
}

/* Two whole queries in one segment, as a pipelining peer sends them. */
static size_t
tcp_two_messages(enum direction dir, uint8_t *out, size_t cap)
{
	struct wire w, stream = { .len = 0 };

	if (dir == CLIENT_TO_RESOLVER)
		client_query_message(&w, "first.example.test");
	else
		upstream_query_message(&w, HOSTILE_VICTIM_NAME);
	wire_u16(&stream, (uint16_t)w.len);
	wire_bytes(&stream, w.buf, w.len);
	if (dir == CLIENT_TO_RESOLVER)
		client_query_message(&w, "second.example.test");
	else
		upstream_query_message(&w, "second.example.test");
	wire_u16(&stream, (uint16_t)w.len);
	wire_bytes(&stream, w.buf, w.len);
	return tcp(dir, 4, TCP_PSH_ACK, stream.buf, stream.len, out, cap);
}

static size_t
client_tcp_two(unsigned int variant, uint8_t *out, size_t cap)
{
	(void)variant;
	return tcp_two_messages(CLIENT_TO_RESOLVER, out, cap);
}

static size_t
upstream_tcp_two(unsigned int variant, uint8_t *out, size_t cap)
{
	(void)variant;
	return tcp_two_messages(RESOLVER_TO_SERVER, out, cap);
}

/* One full-sized segment (1460 octets) of distinct pipelined queries. */
#define MSS 1460
#define PACKED_QUERY 38		/* "qNNNN.example.test": 2 + 12 + 20 + 4 */
#define PACKED_QUERIES (MSS / PACKED_QUERY)

static size_t
client_tcp_packed(unsigned int variant, uint8_t *out, size_t cap)
{
	struct wire w, stream = { .len = 0 };
	char name[32];

	(void)variant;
	for (unsigned int i = 0; i < PACKED_QUERIES; i++) {
		snprintf(name, sizeof(name), "q%04u.example.test", i);
		client_query_message(&w, name);
		wire_u16(&stream, (uint16_t)w.len);
		wire_bytes(&stream, w.buf, w.len);
	}
	return tcp(CLIENT_TO_RESOLVER, 4, TCP_PSH_ACK, stream.buf, stream.len,
	    out, cap);
}

/* Variant 0: data offset 4 (16 octets); 1: data offset 15 past the end. */
static size_t
tcp_bad_offset(unsigned int variant, uint8_t *out, size_t cap)
{
	size_t len = cut(4, 1, 1000, out, cap);

	out[ip_header_len(out) + 12] = variant == 0 ? 0x40 : 0xf0;
	if (variant == 1) {
		len = 20 + 40;
		set_ip_length(out, len);
	}
	return len;
}

/* --- Not DNS --- */

static size_t
http_over_udp(unsigned int variant, uint8_t *out, size_t cap)
{
	static const char http[] =
	    "GET / HTTP/1.1\r\nHost: 192.0.2.1:53\r\nUser-Agent: curl/7.88.1\r\n"
	    "Accept: */*\r\n\r\n";

	(void)variant;
	return udp(CLIENT_TO_RESOLVER, 4, http, sizeof(http) - 1, out, cap);
}

static size_t
empty_udp(unsigned int variant, uint8_t *out, size_t cap)
{
	(void)variant;
	return udp(CLIENT_TO_RESOLVER, 4, "", 0, out, cap);
}

static size_t
nuls_upstream(unsigned int variant, uint8_t *out, size_t cap)
{
	static const uint8_t nuls[64];

	(void)variant;
	return udp(RESOLVER_TO_SERVER, 4, nuls, sizeof(nuls), out, cap);
}

/* The start of a TLS ClientHello: DNS over TLS sent to port 53. */
static size_t
tls_over_tcp(unsigned int variant, uint8_t *out, size_t cap)
{
	uint8_t hello[80] = { 0x16, 0x03, 0x01, 0x00, 0xf8, 0x01, 0x00, 0x00,
		0xf4, 0x03, 0x03 };

	(void)variant;
	for (size_t i = 11; i < sizeof(hello); i++)
		hello[i] = (uint8_t)(i * 37);
	return tcp(CLIENT_TO_RESOLVER, 4, TCP_PSH_ACK, hello, sizeof(hello),
	    out, cap);
}

static size_t
ssh_over_tcp(unsigned int variant, uint8_t *out, size_t cap)
{
	static const char banner[] = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n";

	(void)variant;
	return tcp(CLIENT_TO_RESOLVER, 4, TCP_PSH_ACK, banner,
	    sizeof(banner) - 1, out, cap);
}

static size_t
not_ip(unsigned int variant, uint8_t *out, size_t cap)
{
	size_t len = cut(4, 0, 1000, out, cap);

	(void)variant;
	out[0] = 0x55;
	return len;
}

static size_t
icmp_echo(unsigned int variant, uint8_t *out, size_t cap)
{
	size_t len = cut(4, 0, 1000, out, cap);

	(void)variant;
	out[9] = 1;
	return len;
}

/* --- Responses --- */

static size_t
response_two_tsig(unsigned int variant, uint8_t *out, size_t cap)
{
	struct wire w;

	(void)variant;
	victim_response(&w, 1, 0, 2);
	a_record(&w);
	tsig_record(&w);
	tsig_record(&w);
	return udp(SERVER_TO_RESOLVER, 4, w.buf, w.len, out, cap);
}

/* Variant 0: 65535 in all four counts; 1: one question, 65535 records. */
static size_t
response_counts_65535(unsigned int variant, uint8_t *out, size_t cap)
{
	struct wire w;

	victim_response(&w, 1, 0, 0);
	cname_record(&w, "cdn.example.net");
	wire_set16(&w, 4, variant == 0 ? 65535 : 1);
	wire_set16(&w, 6, 65535);
	wire_set16(&w, 8, 65535);
	wire_set16(&w, 10, 65535);
	return udp(SERVER_TO_RESOLVER, 4, w.buf, w.len, out, cap);
}

static size_t
tcp_response_counts_65535(unsigned int variant, uint8_t *out, size_t cap)
{
	struct wire w;

	(void)variant;
	victim_response(&w, 1, 0, 0);
	cname_record(&w, "cdn.example.net");
	wire_set16(&w, 6, 65535);
	wire_set16(&w, 8, 65535);
	wire_set16(&w, 10, 65535);
	return tcp_message_cut(SERVER_TO_RESOLVER, &w, w.len, out, cap);
}

/* A response with a CNAME, an A record and EDNS, as the first segment of
 * a TCP stream holds it: the CNAME whole, the A record cut. */
static size_t
tcp_response_cut_after_cname(unsigned int variant, uint8_t *out, size_t cap)
{
	struct wire w;
	size_t cname_end;

	(void)variant;
	victim_response(&w, 2, 0, 1);
	cname_record(&w, "cdn.example.net");
	cname_end = w.len;
	a_record(&w);
	wire_u8(&w, 0);
	wire_u16(&w, TYPE_OPT);
	wire_u16(&w, 1232);
	wire_u32(&w, 0);
	wire_u16(&w, 0);
	return tcp_message_cut(SERVER_TO_RESOLVER, &w, cname_end + 5, out,
	    cap);
}

static size_t
tcp_response_cut_in_question(unsigned int variant, uint8_t *out, size_t cap)
{
	struct wire w;

	(void)variant;
	victim_response(&w, 1, 0, 0);
	cname_record(&w, "cdn.example.net");
	return tcp_message_cut(SERVER_TO_RESOLVER, &w, 20, out, cap);
}

static size_t
tcp_response_cut_in_header(unsigned int variant, uint8_t *out, size_t cap)
{
	struct wire w;

	(void)variant;
	victim_response(&w, 1, 0, 0);
	cname_record(&w, "cdn.example.net");
	return tcp_message_cut(SERVER_TO_RESOLVER, &w, 11, out, cap);
}

/* The victim's id and question from an address the query did not go to. */
static size_t
spoofed_response(unsigned int variant, uint8_t *out, size_t cap)
{
	struct wire w;

	(void)variant;
	victim_response(&w, 1, 0, 0);
	cname_record(&w, "attacker.example.net");
	return udp_between(4, SPOOFER4, 53, WAN4, WAN_PORT, w.buf, w.len, out,
	    cap);
}

/* Variant 0: a response sent to port 53; 1: a query from port 53. */
static size_t
misdirected(unsigned int variant, uint8_t *out, size_t cap)
{
	struct wire w;

	if (variant == 0) {
		victim_response(&w, 1, 0, 0);
		cname_record(&w, "cdn.example.net");
		return udp_between(4, SERVER4, 53, RESOLVER4, 53, w.buf, w.len,
		    out, cap);
	}
	client_query_message(&w, HOSTILE_VICTIM_NAME);
	return udp_between(4, SERVER4, 53, RESOLVER4, 5353, w.buf, w.len, out,
	    cap);
}

/* A response on LOCAL_OUT: the resolver answering, queued by mistake. */
static size_t
response_going_out(unsigned int variant, uint8_t *out, size_t cap)
{
	struct wire w;

	(void)variant;
	victim_response(&w, 1, 0, 0);
	cname_record(&w, "cdn.example.net");
	return udp(RESOLVER_TO_SERVER, 4, w.buf, w.len, out, cap);
}

#define IN JUDGE_HOOK_LOCAL_IN
#define OUT JUDGE_HOOK_LOCAL_OUT

const struct hostile_case hostile_cases[] = {
	{ "client question that points to itself", IN, 0, 0,
	    STATS_BAD_DNS_COMPRESSED, 1, 0, 0, client_question_loop },
	{ "upstream question that points to itself", OUT, 0, 0,
	    STATS_BAD_DNS_COMPRESSED, 1, 0, 0, upstream_question_loop },
	{ "client question that points forward", IN, 0, 0,
	    STATS_BAD_DNS_COMPRESSED, 1, 0, 0,
	    client_question_forward_pointer },
	{ "response owner that points to itself", IN, 0, 0,
	    STATS_BAD_RESPONSE, 1, 0, 0, response_owner_self_pointer },
	{ "response owner: a label, then a pointer back to it", IN, 0, 0,
	    STATS_BAD_RESPONSE, 1, 0, 0, response_owner_label_loop },
	{ "CNAME target that points to itself", IN, 0, 0, STATS_BAD_RESPONSE,
	    1, 0, 0, response_cname_self_pointer },
	{ "two CNAME targets pointing at each other", IN, 0, 0,
	    STATS_BAD_RESPONSE, 1, 0, 0, response_cname_pair_loop },
	{ "CNAME target through a chain of 8000 pointers", IN, 0, 0,
	    STATS_BAD_RESPONSE, 1, 0, 0, response_chain_8000 },
	{ "CNAME target through a chain of 251 pointers", IN, 0, 0,
	    STATS_BAD_RESPONSE, 1, 0, 0, response_chain_251 },
	{ "CNAME target through a chain of 250 pointers", IN, 0, 0,
	    STATS_UPSTREAM_RESPONSES, 1, 0, 1, response_chain_250 },
	/* More name steps than RESPONSE_MAX_STEPS: refused whole. */
	{ "512 CNAMEs, owners and targets through 250 pointers", IN, 0, 0,
	    STATS_BAD_RESPONSE, 1, 0, 0, response_worst_accepted },
	{ "the same from an address the query did not go to", IN, 1, 1,
	    STATS_RESPONSES_UNMATCHED, 1, 0, 0, response_worst_accepted },
	{ "client question of 255 octets", IN, 0, 0, STATS_CLIENT_QUERIES, 1,
	    0, 0, client_name_255 },
	{ "upstream question of 255 octets", OUT, 0, 0, STATS_UPSTREAM_MARKED,
	    1, 1, 0, upstream_name_255 },
	{ "client question of 256 octets", IN, 0, 0, STATS_BAD_DNS_NAME, 1, 0,
	    0, client_name_256 },
	{ "upstream question of 256 octets", OUT, 0, 0, STATS_BAD_DNS_NAME, 1,
	    0, 0, upstream_name_256 },
	{ "CNAME target of 255 octets", IN, 0, 0, STATS_UPSTREAM_RESPONSES, 1,
	    0, 1, response_cname_255 },
	{ "CNAME target of 256 octets", IN, 0, 0, STATS_BAD_RESPONSE, 1, 0, 0,
	    response_cname_256 },
	{ "CNAME target of 256 octets through a pointer", IN, 0, 0,
	    STATS_BAD_RESPONSE, 1, 0, 0, response_cname_256_compressed },
	{ "client question with a 63-octet label", IN, 0, 0,
	    STATS_CLIENT_QUERIES, 1, 0, 0, client_label_63 },
	{ "client question with a 64-octet label", IN, 0, 0,
	    STATS_BAD_DNS_NAME, 1, 0, 0, client_label_64 },
	{ "CNAME target with a 64-octet label", IN, 0, 0, STATS_BAD_RESPONSE,
	    1, 0, 0, response_cname_label_64 },
	{ "client query with QDCOUNT 0", IN, 0, 0, STATS_BAD_DNS_QDCOUNT, 1, 0,
	    0, client_qdcount_0 },
	{ "client query with QDCOUNT 2", IN, 0, 0, STATS_BAD_DNS_QDCOUNT, 1, 0,
	    0, client_qdcount_2 },
	{ "upstream query with QDCOUNT 2", OUT, 0, 0, STATS_BAD_DNS_QDCOUNT,
	    1, 0, 0, upstream_qdcount_2 },
	{ "response with QDCOUNT 0", IN, 0, 0, STATS_BAD_DNS_QDCOUNT, 1, 0, 0,
	    response_qdcount_0 },
	{ "IPv4 UDP query cut to 0..40 octets", IN, 0, 40, STATS_BAD_PACKET,
	    1, 0, 0, cut_ipv4_udp },
	{ "IPv6 UDP query cut to 0..40 octets", IN, 0, 40, STATS_BAD_PACKET,
	    1, 0, 0, cut_ipv6_udp },
	{ "IPv4 TCP query cut to 0..40 octets", IN, 0, 40, STATS_BAD_PACKET,
	    1, 0, 0, cut_ipv4_tcp },
	{ "IPv4 UDP datagram of 0..27 octets, lengths to match", IN, 0, 27,
	    STATS_BAD_PACKET, 1, 0, 0, short_datagram },
	{ "IPv4 UDP datagram of 28..40 octets, lengths to match", IN, 28, 40,
	    STATS_BAD_DNS_SHORT, 1, 0, 0, short_datagram },
	{ "client query in IPv4 with options", IN, 0, 0, STATS_CLIENT_QUERIES,
	    1, 0, 0, client_ipv4_options },
	{ "upstream query in IPv4 with options", OUT, 0, 0,
	    STATS_UPSTREAM_MARKED, 1, 1, 0, upstream_ipv4_options },
	{ "IPv4 header and total lengths that disagree", IN, 0, 3,
	    STATS_BAD_PACKET, 1, 0, 0, ipv4_bad_lengths },
	{ "client query with Ethernet padding after it", IN, 0, 0,
	    STATS_CLIENT_QUERIES, 1, 0, 0, client_trailing_padding },
	{ "client query in IPv6 behind hop-by-hop and destination options",
	    IN, 0, 0, STATS_CLIENT_QUERIES, 1, 0, 0, client_ipv6_options },
	{ "upstream query in IPv6 behind hop-by-hop and destination options",
	    OUT, 0, 0, STATS_UPSTREAM_MARKED, 1, 1, 0,
	    upstream_ipv6_options },
	{ "IPv6 hop-by-hop header running past the packet", IN, 0, 0,
	    STATS_BAD_PACKET, 1, 0, 0, ipv6_options_overrun },
	{ "IPv6 with nine destination options headers", IN, 0, 0,
	    STATS_BAD_PACKET, 1, 0, 0, ipv6_nine_extensions },
	{ "IPv6 payload length past the packet, or zero", IN, 0, 1,
	    STATS_BAD_PACKET, 1, 0, 0, ipv6_bad_lengths },
	{ "IPv4 fragments of a client query", IN, 0, 1, STATS_BAD_PACKET, 1, 0,
	    0, ipv4_fragment },
	{ "IPv4 fragments of an upstream query", OUT, 0, 1, STATS_BAD_PACKET,
	    1, 0, 0, upstream_ipv4_fragment },
	{ "IPv6 fragment header on a client query", IN, 0, 1,
	    STATS_BAD_PACKET, 1, 0, 0, ipv6_fragment },
	{ "IPv6 hop-by-hop and fragment headers on an upstream query", OUT, 0,
	    0, STATS_BAD_PACKET, 1, 0, 0, upstream_ipv6_hopopts_fragment },
	{ "client TCP segment with the start of a query", IN, 0, 0,
	    STATS_IGNORED_NO_PAYLOAD, 1, 0, 0, client_tcp_partial },
	{ "upstream TCP segment with the start of a query", OUT, 0, 0,
	    STATS_IGNORED_NO_PAYLOAD, 1, 0, 0, upstream_tcp_partial },
	{ "TCP segment with a bare or zero length prefix", IN, 0, 2,
	    STATS_IGNORED_NO_PAYLOAD, 1, 0, 0, tcp_scraps },
	{ "client TCP segment with two queries", IN, 0, 0,
	    STATS_CLIENT_QUERIES, 2, 0, 0, client_tcp_two },
	/* Only the first JUDGE_MAX_PIPELINED are read: bounded work. */
	{ "client TCP segment of 1460 octets packed with 38 queries", IN, 0,
	    0, STATS_CLIENT_QUERIES, JUDGE_MAX_PIPELINED, 0, 0,
	    client_tcp_packed },
	{ "upstream TCP segment with two queries", OUT, 0, 0,
	    STATS_UPSTREAM_TCP_KEPT, 1, 0, 0, upstream_tcp_two },
	{ "TCP data offset below 20 or past the segment", IN, 0, 1,
	    STATS_BAD_PACKET, 1, 0, 0, tcp_bad_offset },
	{ "HTTP request over UDP to port 53", IN, 0, 0,
	    STATS_BAD_DNS_NOT_QUERY, 1, 0, 0, http_over_udp },
	{ "TLS ClientHello over TCP to port 53", IN, 0, 0,
	    STATS_BAD_DNS_NOT_QUERY, 1, 0, 0, tls_over_tcp },
	{ "SSH banner over TCP to port 53", IN, 0, 0, STATS_BAD_DNS_NOT_QUERY,
	    1, 0, 0, ssh_over_tcp },
	{ "empty UDP datagram to port 53", IN, 0, 0, STATS_BAD_DNS_SHORT, 1, 0,
	    0, empty_udp },
	{ "NUL octets over UDP to an upstream port 53", OUT, 0, 0,
	    STATS_BAD_DNS_QDCOUNT, 1, 0, 0, nuls_upstream },
	{ "IP version 5", IN, 0, 0, STATS_BAD_PACKET, 1, 0, 0, not_ip },
	{ "ICMP", IN, 0, 0, STATS_BAD_PACKET, 1, 0, 0, icmp_echo },
	{ "response with two TSIG records", IN, 0, 0,
	    STATS_UPSTREAM_RESPONSES, 1, 0, 0, response_two_tsig },
	{ "response with 65535 in every count", IN, 0, 0,
	    STATS_BAD_DNS_QDCOUNT, 1, 0, 0, response_counts_65535 },
	{ "response with one question and 65535 records in each section",
	    IN, 1, 1, STATS_BAD_RESPONSE, 1, 0, 0, response_counts_65535 },
	{ "TCP response with 65535 records in each section", IN, 0, 0,
	    STATS_BAD_RESPONSE, 1, 0, 0, tcp_response_counts_65535 },
	{ "TCP response cut short after its CNAME", IN, 0, 0,
	    STATS_UPSTREAM_RESPONSES, 1, 0, 1, tcp_response_cut_after_cname },
	{ "TCP response cut short in its question", IN, 0, 0,
	    STATS_BAD_DNS_SHORT, 1, 0, 0, tcp_response_cut_in_question },
	{ "TCP response cut short in its header", IN, 0, 0,
	    STATS_IGNORED_NO_PAYLOAD, 1, 0, 0, tcp_response_cut_in_header },
	{ "response from an address the query did not go to", IN, 0, 0,
	    STATS_RESPONSES_UNMATCHED, 1, 0, 0, spoofed_response },
	{ "response to port 53, query from port 53", IN, 0, 1,
	    STATS_IGNORED_CLIENT_RESPONSE, 1, 0, 0, misdirected },
	{ "response queued on LOCAL_OUT", OUT, 0, 0,
	    STATS_IGNORED_CLIENT_RESPONSE, 1, 0, 0, response_going_out },
};

const size_t hostile_case_count =
    sizeof(hostile_cases) / sizeof(hostile_cases[0]);
