/*
 * Unit tests for src/packet.c: IPv4/IPv6 and UDP/TCP decoding down to the
 * DNS message.  Every packet is built here byte by byte by small helpers, so
 * each test shows what it feeds; nothing touches a socket.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <criterion/criterion.h>

#include "packet.h"
#include "wire.h"

#define PACKET_BUF 2048

static const uint8_t dns_payload[] = {
	0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o',
	'm', 0, 0x00, 0x01, 0x00, 0x01,
};

static uint16_t
ipv4_checksum(const uint8_t *header, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(header[i] << 8 | header[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Writes a UDP header and payload at seg; returns the segment length. */
static size_t
build_udp(uint8_t *seg, uint16_t sport, uint16_t dport,
    const uint8_t *payload, size_t payload_len)
{
	wire_put16(seg, sport);
	wire_put16(seg + 2, dport);
	wire_put16(seg + 4, (uint16_t)(8 + payload_len));
	wire_put16(seg + 6, 0);
	memcpy(seg + 8, payload, payload_len);
	return 8 + payload_len;
}

/*
 * Writes a TCP header with option_len bytes of options (a multiple of 4:
 * NOPs, then a timestamp when there is room) and the payload at seg; returns
 * the segment length.
 */
static size_t
build_tcp(uint8_t *seg, uint16_t sport, uint16_t dport, uint8_t flags,
    size_t option_len, const uint8_t *payload, size_t payload_len)
{
	size_t header = 20 + option_len;

	cr_assert(option_len % 4 == 0 && option_len <= 40);
	wire_put16(seg, sport);
	wire_put16(seg + 2, dport);
	wire_put32(seg + 4, 0x01020304);
	wire_put32(seg + 8, 0x05060708);
	seg[12] = (uint8_t)((header / 4) << 4);
	seg[13] = flags;
	wire_put16(seg + 14, 64240);
	wire_put16(seg + 16, 0);
	wire_put16(seg + 18, 0);
	memset(seg + 20, 1, option_len);
	if (option_len >= 12) {
		seg[22] = 8;
		seg[23] = 10;
		wire_put32(seg + 24, 0xaabbccdd);
		wire_put32(seg + 28, 0);
	}
	if (payload_len > 0)
		memcpy(seg + header, payload, payload_len);
	return header + payload_len;
}

/*
 * Writes an IPv4 header with option_len bytes of options (NOPs), then the
 * transport segment, at pkt; returns the packet length.
 */
static size_t
build_ipv4(uint8_t *pkt, const char *src, const char *dst, uint8_t protocol,
    size_t option_len, const uint8_t *segment, size_t segment_len)
{
	size_t header = 20 + option_len;

	cr_assert(option_len % 4 == 0 && option_len <= 40);
	pkt[0] = (uint8_t)(0x40 | (header / 4));
	pkt[1] = 0;
	wire_put16(pkt + 2, (uint16_t)(header + segment_len));
	wire_put16(pkt + 4, 0x4242);
	wire_put16(pkt + 6, 0x4000);	/* DF */
	pkt[8] = 64;
	pkt[9] = protocol;
	wire_put16(pkt + 10, 0);
	cr_assert(inet_pton(AF_INET, src, pkt + 12) == 1);
	cr_assert(inet_pton(AF_INET, dst, pkt + 16) == 1);
	memset(pkt + 20, 1, option_len);
	wire_put16(pkt + 10, ipv4_checksum(pkt, header));
	memcpy(pkt + header, segment, segment_len);
	return header + segment_len;
}

/* Writes an IPv6 header and what follows it at pkt; returns the length. */
static size_t
build_ipv6(uint8_t *pkt, const char *src, const char *dst, uint8_t next,
    const uint8_t *rest, size_t rest_len)
{
	wire_put32(pkt, 0x60000000);
	wire_put16(pkt + 4, (uint16_t)rest_len);
	pkt[6] = next;
	pkt[7] = 64;
	cr_assert(inet_pton(AF_INET6, src, pkt + 8) == 1);
	cr_assert(inet_pton(AF_INET6, dst, pkt + 24) == 1);
	memcpy(pkt + 40, rest, rest_len);
	return 40 + rest_len;
}

static size_t
build_ipv4_udp(uint8_t *pkt, const uint8_t *payload, size_t payload_len)
{
	uint8_t seg[PACKET_BUF];
	size_t seg_len;

	seg_len = build_udp(seg, 40000, 53, payload, payload_len);
	return build_ipv4(pkt, "192.0.2.10", "192.0.2.1", IPPROTO_UDP, 0, seg,
	    seg_len);
}

static size_t
build_ipv6_udp(uint8_t *pkt, const uint8_t *payload, size_t payload_len)
{
	uint8_t seg[PACKET_BUF];
	size_t seg_len;

	seg_len = build_udp(seg, 40000, 53, payload, payload_len);
	return build_ipv6(pkt, "2001:db8::10", "2001:db8::1", IPPROTO_UDP, seg,
	    seg_len);
}

static void
assert_addr(const struct packet_endpoint *ep, int family, const char *text)
{
	uint8_t expect[16] = { 0 };

	cr_assert_eq(ep->family, family);
	cr_assert_eq(inet_pton(family, text, expect), 1);
	cr_assert_arr_eq(ep->addr, expect, family == AF_INET ? 4 : 16,
	    "address is not %s", text);
}

Test(packet, decodes_ipv4_udp)
{
	uint8_t pkt[PACKET_BUF];
	struct packet_info info;
	size_t len;

	len = build_ipv4_udp(pkt, dns_payload, sizeof(dns_payload));
	cr_assert_eq(len, 20 + 8 + sizeof(dns_payload));
	cr_assert_eq(packet_parse(pkt, len, &info), PACKET_OK);
	cr_assert_eq(info.protocol, IPPROTO_UDP);
	assert_addr(&info.src, AF_INET, "192.0.2.10");
	assert_addr(&info.dst, AF_INET, "192.0.2.1");
	cr_assert_eq(info.src.port, 40000);
	cr_assert_eq(info.dst.port, 53);
	cr_assert_eq(info.payload, pkt + 28);
	cr_assert_eq(info.payload_len, sizeof(dns_payload));
}

Test(packet, decodes_ipv4_tcp_with_options)
{
	uint8_t pkt[PACKET_BUF], seg[PACKET_BUF];
	struct packet_info info;
	size_t len, seg_len;

	/* Data offset 8: twelve bytes of options (NOP, NOP, timestamp). */
	seg_len = build_tcp(seg, 53, 51000, 0x18, 12, dns_payload,
	    sizeof(dns_payload));
	len = build_ipv4(pkt, "198.51.100.7", "192.0.2.1", IPPROTO_TCP, 0, seg,
	    seg_len);
	cr_assert_eq(packet_parse(pkt, len, &info), PACKET_OK);
	cr_assert_eq(info.protocol, IPPROTO_TCP);
	cr_assert_eq(info.tcp_flags, 0x18);
	assert_addr(&info.src, AF_INET, "198.51.100.7");
	assert_addr(&info.dst, AF_INET, "192.0.2.1");
	cr_assert_eq(info.src.port, 53);
	cr_assert_eq(info.dst.port, 51000);
	cr_assert_eq(info.payload, pkt + 20 + 32);
	cr_assert_eq(info.payload_len, sizeof(dns_payload));
}

Test(packet, decodes_tcp_syn_without_payload)
{
	uint8_t pkt[PACKET_BUF], seg[PACKET_BUF];
	struct packet_info info;
	size_t len, seg_len;

	seg_len = build_tcp(seg, 51000, 53, PACKET_TCP_SYN, 20, NULL, 0);
	len = build_ipv4(pkt, "192.0.2.10", "192.0.2.1", IPPROTO_TCP, 0, seg,
	    seg_len);
	cr_assert_eq(packet_parse(pkt, len, &info), PACKET_OK);
	cr_assert_eq(info.tcp_flags, PACKET_TCP_SYN);
	cr_assert_eq(info.payload_len, 0);
}

Test(packet, decodes_ipv6_udp)
{
	uint8_t pkt[PACKET_BUF];
	struct packet_info info;
	size_t len;

	len = build_ipv6_udp(pkt, dns_payload, sizeof(dns_payload));
	cr_assert_eq(len, 40 + 8 + sizeof(dns_payload));
	cr_assert_eq(packet_parse(pkt, len, &info), PACKET_OK);
	cr_assert_eq(info.protocol, IPPROTO_UDP);
	assert_addr(&info.src, AF_INET6, "2001:db8::10");
	assert_addr(&info.dst, AF_INET6, "2001:db8::1");
	cr_assert_eq(info.src.port, 40000);
	cr_assert_eq(info.dst.port, 53);
	cr_assert_eq(info.payload, pkt + 48);
	cr_assert_eq(info.payload_len, sizeof(dns_payload));
}

Test(packet, decodes_ipv6_tcp)
{
	uint8_t pkt[PACKET_BUF], seg[PACKET_BUF];
	struct packet_info info;
	size_t len, seg_len;

	seg_len = build_tcp(seg, 51000, 53, 0x18, 0, dns_payload,
	    sizeof(dns_payload));
	len = build_ipv6(pkt, "2001:db8::10", "2001:db8::1", IPPROTO_TCP, seg,
	    seg_len);
	cr_assert_eq(packet_parse(pkt, len, &info), PACKET_OK);
	cr_assert_eq(info.protocol, IPPROTO_TCP);
	cr_assert_eq(info.tcp_flags, 0x18);
	assert_addr(&info.src, AF_INET6, "2001:db8::10");
	assert_addr(&info.dst, AF_INET6, "2001:db8::1");
	cr_assert_eq(info.src.port, 51000);
	cr_assert_eq(info.dst.port, 53);
	cr_assert_eq(info.payload, pkt + 60);
	cr_assert_eq(info.payload_len, sizeof(dns_payload));
}

Test(packet, reads_ports_in_host_order)
{
	uint8_t pkt[PACKET_BUF], seg[PACKET_BUF];
	struct packet_info info;
	size_t len, seg_len;

	seg_len = build_udp(seg, 0x1234, 0xfedc, dns_payload,
	    sizeof(dns_payload));
	len = build_ipv4(pkt, "192.0.2.10", "192.0.2.1", IPPROTO_UDP, 0, seg,
	    seg_len);
	cr_assert_eq(packet_parse(pkt, len, &info), PACKET_OK);
	cr_assert_eq(info.src.port, 0x1234);
	cr_assert_eq(info.dst.port, 0xfedc);
}

Test(packet, decodes_ipv4_header_options)
{
	static const size_t option_lens[] = { 4, 12, 40 };
	uint8_t pkt[PACKET_BUF], seg[PACKET_BUF];
	struct packet_info info;
	size_t seg_len, len;

	seg_len = build_udp(seg, 40000, 53, dns_payload, sizeof(dns_payload));
	for (size_t i = 0; i < sizeof(option_lens) / sizeof(option_lens[0]);
	    i++) {
		size_t opt = option_lens[i];

		len = build_ipv4(pkt, "192.0.2.10", "192.0.2.1", IPPROTO_UDP,
		    opt, seg, seg_len);
		cr_assert_eq(packet_parse(pkt, len, &info), PACKET_OK,
		    "IHL %zu", (20 + opt) / 4);
		cr_assert_eq(info.src.port, 40000);
		cr_assert_eq(info.dst.port, 53);
		cr_assert_eq(info.payload, pkt + 20 + opt + 8,
		    "IHL %zu: payload at the wrong offset", (20 + opt) / 4);
		cr_assert_eq(info.payload_len, sizeof(dns_payload));
	}
}

Test(packet, rejects_ipv4_ihl_below_five)
{
	uint8_t pkt[PACKET_BUF];
	struct packet_info info;
	size_t len;

	len = build_ipv4_udp(pkt, dns_payload, sizeof(dns_payload));
	for (uint8_t ihl = 0; ihl < 5; ihl++) {
		pkt[0] = (uint8_t)(0x40 | ihl);
		cr_assert_eq(packet_parse(pkt, len, &info), PACKET_BAD_HEADER,
		    "IHL %u", ihl);
	}
}

Test(packet, rejects_ipv4_total_length_below_header)
{
	uint8_t pkt[PACKET_BUF];
	struct packet_info info;
	size_t len;

	len = build_ipv4_udp(pkt, dns_payload, sizeof(dns_payload));
	wire_put16(pkt + 2, 19);
	cr_assert_eq(packet_parse(pkt, len, &info), PACKET_BAD_HEADER);
}

/* Every prefix of a whole packet is shorter than its headers say. */
static void
assert_prefixes_truncated(const uint8_t *pkt, size_t len, const char *what)
{
	struct packet_info info;

	for (size_t cut = 1; cut < len; cut++)
		cr_assert_eq(packet_parse(pkt, cut, &info), PACKET_TRUNCATED,
		    "%s cut to %zu of %zu bytes: %s", what, cut, len,
		    packet_status_name(packet_parse(pkt, cut, &info)));
	cr_assert_neq(packet_parse(pkt, 0, &info), PACKET_OK,
	    "%s cut to 0 bytes", what);
}

Test(packet, rejects_every_truncation)
{
	uint8_t pkt[PACKET_BUF], seg[PACKET_BUF];
	size_t len, seg_len;

	len = build_ipv4_udp(pkt, dns_payload, sizeof(dns_payload));
	assert_prefixes_truncated(pkt, len, "IPv4 UDP");

	len = build_ipv6_udp(pkt, dns_payload, sizeof(dns_payload));
	assert_prefixes_truncated(pkt, len, "IPv6 UDP");

	seg_len = build_tcp(seg, 51000, 53, 0x18, 12, dns_payload,
	    sizeof(dns_payload));
	len = build_ipv4(pkt, "192.0.2.10", "192.0.2.1", IPPROTO_TCP, 8, seg,
	    seg_len);
	assert_prefixes_truncated(pkt, len, "IPv4 (IHL 7) TCP (offset 8)");

	len = build_ipv6(pkt, "2001:db8::10", "2001:db8::1", IPPROTO_TCP, seg,
	    seg_len);
	assert_prefixes_truncated(pkt, len, "IPv6 TCP (offset 8)");
}

/*
 * The IP header says the packet is whole but the transport header does not
 * fit in it: the lengths agree with the buffer, the headers do not.
 */
Test(packet, rejects_transport_header_cut_by_ip_length)
{
	static const size_t udp_cuts[] = { 0, 1, 4, 7 };
	static const size_t tcp_cuts[] = { 0, 8, 19, 20, 31 };
	uint8_t pkt[PACKET_BUF], seg[PACKET_BUF];
	struct packet_info info;
	size_t len, seg_len;

	seg_len = build_udp(seg, 40000, 53, dns_payload, sizeof(dns_payload));
	cr_assert_gt(seg_len, 8);
	for (size_t i = 0; i < sizeof(udp_cuts) / sizeof(udp_cuts[0]); i++) {
		len = build_ipv4(pkt, "192.0.2.10", "192.0.2.1", IPPROTO_UDP,
		    0, seg, udp_cuts[i]);
		cr_assert_eq(packet_parse(pkt, len, &info), PACKET_TRUNCATED,
		    "IPv4 with %zu bytes of UDP header", udp_cuts[i]);
		len = build_ipv6(pkt, "2001:db8::10", "2001:db8::1",
		    IPPROTO_UDP, seg, udp_cuts[i]);
		cr_assert_neq(packet_parse(pkt, len, &info), PACKET_OK,
		    "IPv6 with %zu bytes of UDP header", udp_cuts[i]);
	}

	/* Data offset 8 (32 bytes): cuts inside the header or its options. */
	seg_len = build_tcp(seg, 51000, 53, 0x18, 12, dns_payload,
	    sizeof(dns_payload));
	cr_assert_gt(seg_len, 32);
	for (size_t i = 0; i < sizeof(tcp_cuts) / sizeof(tcp_cuts[0]); i++) {
		len = build_ipv4(pkt, "192.0.2.10", "192.0.2.1", IPPROTO_TCP,
		    0, seg, tcp_cuts[i]);
		cr_assert_eq(packet_parse(pkt, len, &info), PACKET_TRUNCATED,
		    "IPv4 with %zu bytes of a 32-byte TCP header", tcp_cuts[i]);
	}
	for (size_t i = 1; i < sizeof(tcp_cuts) / sizeof(tcp_cuts[0]); i++) {
		len = build_ipv6(pkt, "2001:db8::10", "2001:db8::1",
		    IPPROTO_TCP, seg, tcp_cuts[i]);
		cr_assert_eq(packet_parse(pkt, len, &info), PACKET_TRUNCATED,
		    "IPv6 with %zu bytes of a 32-byte TCP header", tcp_cuts[i]);
	}
}

Test(packet, rejects_ipv4_total_length_beyond_buffer)
{
	uint8_t pkt[PACKET_BUF];
	struct packet_info info;
	size_t len;

	len = build_ipv4_udp(pkt, dns_payload, sizeof(dns_payload));
	wire_put16(pkt + 2, (uint16_t)(len + 1));
	wire_put16(pkt + 10, 0);
	wire_put16(pkt + 10, ipv4_checksum(pkt, 20));
	cr_assert_eq(packet_parse(pkt, len, &info), PACKET_TRUNCATED);
}

Test(packet, rejects_ipv6_payload_length_beyond_buffer)
{
	uint8_t pkt[PACKET_BUF];
	struct packet_info info;
	size_t len;

	len = build_ipv6_udp(pkt, dns_payload, sizeof(dns_payload));
	wire_put16(pkt + 4, (uint16_t)(len - 40 + 1));
	cr_assert_eq(packet_parse(pkt, len, &info), PACKET_TRUNCATED);
}

Test(packet, rejects_udp_length_beyond_packet)
{
	uint8_t pkt[PACKET_BUF];
	struct packet_info info;
	size_t len;

	len = build_ipv4_udp(pkt, dns_payload, sizeof(dns_payload));
	wire_put16(pkt + 20 + 4, (uint16_t)(8 + sizeof(dns_payload) + 1));
	cr_assert_eq(packet_parse(pkt, len, &info), PACKET_TRUNCATED);

	len = build_ipv6_udp(pkt, dns_payload, sizeof(dns_payload));
	wire_put16(pkt + 40 + 4, 0xffff);
	cr_assert_eq(packet_parse(pkt, len, &info), PACKET_TRUNCATED);
}

Test(packet, rejects_udp_length_below_header)
{
	uint8_t pkt[PACKET_BUF];
	struct packet_info info;
	size_t len;

	len = build_ipv4_udp(pkt, dns_payload, sizeof(dns_payload));
	wire_put16(pkt + 20 + 4, 7);
	cr_assert_eq(packet_parse(pkt, len, &info), PACKET_BAD_HEADER);
}

Test(packet, rejects_tcp_data_offset_below_five)
{
	uint8_t pkt[PACKET_BUF], seg[PACKET_BUF];
	struct packet_info info;
	size_t len, seg_len;

	seg_len = build_tcp(seg, 51000, 53, 0x18, 0, dns_payload,
	    sizeof(dns_payload));
	seg[12] = 4 << 4;
	len = build_ipv4(pkt, "192.0.2.10", "192.0.2.1", IPPROTO_TCP, 0, seg,
	    seg_len);
	cr_assert_eq(packet_parse(pkt, len, &info), PACKET_BAD_HEADER);
}

/* Bytes after the IP total length (link-layer padding) are not payload. */
Test(packet, ignores_bytes_after_ip_total_length)
{
	uint8_t pkt[PACKET_BUF], seg[PACKET_BUF];
	struct packet_info info;
	size_t len, seg_len;

	len = build_ipv4_udp(pkt, dns_payload, sizeof(dns_payload));
	memset(pkt + len, 0xee, 6);
	cr_assert_eq(packet_parse(pkt, len + 6, &info), PACKET_OK);
	cr_assert_eq(info.payload_len, sizeof(dns_payload));

	seg_len = build_tcp(seg, 51000, 53, 0x18, 0, dns_payload,
	    sizeof(dns_payload));
	len = build_ipv4(pkt, "192.0.2.10", "192.0.2.1", IPPROTO_TCP, 0, seg,
	    seg_len);
	memset(pkt + len, 0xee, 6);
	cr_assert_eq(packet_parse(pkt, len + 6, &info), PACKET_OK);
	cr_assert_eq(info.payload_len, sizeof(dns_payload));

	len = build_ipv6(pkt, "2001:db8::10", "2001:db8::1", IPPROTO_TCP, seg,
	    seg_len);
	memset(pkt + len, 0xee, 6);
	cr_assert_eq(packet_parse(pkt, len + 6, &info), PACKET_OK);
	cr_assert_eq(info.payload_len, sizeof(dns_payload));
}

Test(packet, reports_ipv4_fragments)
{
	static const struct {
		uint16_t flags_offset;
		enum packet_status expect;
	} cases[] = {
		{ 0x0000, PACKET_OK },		/* no flags */
		{ 0x4000, PACKET_OK },		/* DF only */
		{ 0x2000, PACKET_FRAGMENT },	/* MF, first fragment */
		{ 0x2000 | 185, PACKET_FRAGMENT },	/* MF, middle */
		{ 0x0000 | 185, PACKET_FRAGMENT },	/* last fragment */
		{ 0x0001, PACKET_FRAGMENT },	/* smallest offset */
		{ 0x1fff, PACKET_FRAGMENT },	/* largest offset */
	};
	uint8_t pkt[PACKET_BUF];
	struct packet_info info;
	size_t len;

	len = build_ipv4_udp(pkt, dns_payload, sizeof(dns_payload));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		wire_put16(pkt + 6, cases[i].flags_offset);
		wire_put16(pkt + 10, 0);
		wire_put16(pkt + 10, ipv4_checksum(pkt, 20));
		cr_assert_eq(packet_parse(pkt, len, &info), cases[i].expect,
		    "flags/offset 0x%04x: %s", cases[i].flags_offset,
		    packet_status_name(packet_parse(pkt, len, &info)));
	}
}

Test(packet, reports_ipv6_fragment_header)
{
	uint8_t pkt[PACKET_BUF], rest[PACKET_BUF];
	struct packet_info info;
	size_t len, seg_len;

	/* Fragment header: next UDP, reserved, offset 0 with M set, id. */
	rest[0] = IPPROTO_UDP;
	rest[1] = 0;
	wire_put16(rest + 2, 0x0001);
	wire_put32(rest + 4, 0xdeadbeef);
	seg_len = build_udp(rest + 8, 40000, 53, dns_payload,
	    sizeof(dns_payload));
	len = build_ipv6(pkt, "2001:db8::10", "2001:db8::1", 44, rest,
	    8 + seg_len);
	cr_assert_eq(packet_parse(pkt, len, &info), PACKET_FRAGMENT);
}

Test(packet, rejects_other_transports)
{
	uint8_t pkt[PACKET_BUF];
	static const uint8_t icmp[] = { 8, 0, 0xf7, 0xff, 0, 0, 0, 0 };
	static const uint8_t icmp6[] = { 128, 0, 0, 0, 0, 1, 0, 1 };
	struct packet_info info;
	size_t len;

	len = build_ipv4(pkt, "192.0.2.10", "192.0.2.1", IPPROTO_ICMP, 0, icmp,
	    sizeof(icmp));
	cr_assert_eq(packet_parse(pkt, len, &info), PACKET_NOT_UDP_TCP);
	len = build_ipv4(pkt, "192.0.2.10", "192.0.2.1", 132, 0, icmp,
	    sizeof(icmp));	/* SCTP */
	cr_assert_eq(packet_parse(pkt, len, &info), PACKET_NOT_UDP_TCP);
	len = build_ipv6(pkt, "2001:db8::10", "2001:db8::1", IPPROTO_ICMPV6,
	    icmp6, sizeof(icmp6));
	cr_assert_eq(packet_parse(pkt, len, &info), PACKET_NOT_UDP_TCP);
}

/*
 * The header lets the parser either walk a hop-by-hop options header or
 * refuse it; when it walks it, what it finds behind must be right.
 */
Test(packet, walks_or_refuses_ipv6_hop_by_hop)
{
	uint8_t pkt[PACKET_BUF], rest[PACKET_BUF];
	struct packet_info info;
	enum packet_status status;
	size_t len, seg_len;

	/* Hop-by-hop: next UDP, length 0 (8 octets), router alert, PadN. */
	rest[0] = IPPROTO_UDP;
	rest[1] = 0;
	rest[2] = 5;
	rest[3] = 2;
	rest[4] = 0;
	rest[5] = 0;
	rest[6] = 1;
	rest[7] = 0;
	seg_len = build_udp(rest + 8, 40000, 53, dns_payload,
	    sizeof(dns_payload));
	len = build_ipv6(pkt, "2001:db8::10", "2001:db8::1", IPPROTO_HOPOPTS,
	    rest, 8 + seg_len);
	status = packet_parse(pkt, len, &info);
	/* It walks it (up to IPV6_MAX_EXTENSIONS headers). */
	cr_assert_eq(status, PACKET_OK, "hop-by-hop then UDP: %s",
	    packet_status_name(status));
	cr_assert_eq(info.protocol, IPPROTO_UDP);
	cr_assert_eq(info.src.port, 40000);
	cr_assert_eq(info.dst.port, 53);
	cr_assert_eq(info.payload, pkt + 40 + 8 + 8);
	cr_assert_eq(info.payload_len, sizeof(dns_payload));
}

Test(packet, rejects_other_ip_versions)
{
	uint8_t pkt[PACKET_BUF];
	struct packet_info info;
	size_t len;

	len = build_ipv4_udp(pkt, dns_payload, sizeof(dns_payload));
	for (unsigned int version = 0; version < 16; version++) {
		if (version == 4 || version == 6)
			continue;
		pkt[0] = (uint8_t)(version << 4 | 5);
		cr_assert_eq(packet_parse(pkt, len, &info), PACKET_BAD_VERSION,
		    "version %u", version);
	}
}

Test(packet, names_every_status)
{
	for (int i = 0; i < PACKET_STATUS_COUNT; i++) {
		const char *name = packet_status_name((enum packet_status)i);

		cr_assert_not_null(name, "status %d", i);
		cr_assert_gt(strlen(name), 0, "status %d", i);
		for (int j = 0; j < i; j++)
			cr_assert_str_neq(name,
			    packet_status_name((enum packet_status)j),
			    "statuses %d and %d share a name", i, j);
	}
}

static struct packet_info
info_with_payload(uint8_t protocol, const uint8_t *payload, size_t len)
{
	struct packet_info info;

	memset(&info, 0, sizeof(info));
	info.protocol = protocol;
	info.payload = payload;
	info.payload_len = len;
	return info;
}

Test(packet, finds_dns_message_in_udp_payload)
{
	struct packet_info info;
	const uint8_t *msg = NULL;
	size_t msg_len = 0;

	info = info_with_payload(IPPROTO_UDP, dns_payload, sizeof(dns_payload));
	cr_assert_eq(packet_dns_message(&info, &msg, &msg_len), 0);
	cr_assert_eq(msg, dns_payload);
	cr_assert_eq(msg_len, sizeof(dns_payload));
}

Test(packet, finds_dns_message_after_tcp_length_prefix)
{
	uint8_t segment[PACKET_BUF];
	struct packet_info info;
	const uint8_t *msg = NULL;
	size_t msg_len = 0;

	wire_put16(segment, sizeof(dns_payload));
	memcpy(segment + 2, dns_payload, sizeof(dns_payload));
	info = info_with_payload(IPPROTO_TCP, segment, 2 + sizeof(dns_payload));
	cr_assert_eq(packet_dns_message(&info, &msg, &msg_len), 0);
	cr_assert_eq(msg, segment + 2);
	cr_assert_eq(msg_len, sizeof(dns_payload));

	/* A second message behind the first: the first is whole. */
	wire_put16(segment + 2 + sizeof(dns_payload), sizeof(dns_payload));
	memcpy(segment + 4 + sizeof(dns_payload), dns_payload, 5);
	info = info_with_payload(IPPROTO_TCP, segment,
	    4 + sizeof(dns_payload) + 5);
	cr_assert_eq(packet_dns_message(&info, &msg, &msg_len), 0);
	cr_assert_eq(msg, segment + 2);
	cr_assert_eq(msg_len, sizeof(dns_payload));
}

Test(packet, refuses_partial_tcp_message)
{
	uint8_t segment[PACKET_BUF];
	struct packet_info info;
	const uint8_t *msg;
	size_t msg_len;

	wire_put16(segment, sizeof(dns_payload));
	memcpy(segment + 2, dns_payload, sizeof(dns_payload));
	for (size_t len = 0; len < 2 + sizeof(dns_payload); len++) {
		info = info_with_payload(IPPROTO_TCP, segment, len);
		cr_assert_eq(packet_dns_message(&info, &msg, &msg_len),
		    -EINVAL, "TCP payload of %zu bytes, message of %zu", len,
		    sizeof(dns_payload));
	}
	info = info_with_payload(IPPROTO_TCP, NULL, 0);
	cr_assert_eq(packet_dns_message(&info, &msg, &msg_len), -EINVAL);
}

Test(packet, decoded_tcp_packet_gives_its_message)
{
	uint8_t pkt[PACKET_BUF], seg[PACKET_BUF], stream[PACKET_BUF];
	struct packet_info info;
	const uint8_t *msg;
	size_t len, seg_len, msg_len;

	wire_put16(stream, sizeof(dns_payload));
	memcpy(stream + 2, dns_payload, sizeof(dns_payload));
	seg_len = build_tcp(seg, 51000, 53, 0x18, 12, stream,
	    2 + sizeof(dns_payload));
	len = build_ipv6(pkt, "2001:db8::10", "2001:db8::1", IPPROTO_TCP, seg,
	    seg_len);
	cr_assert_eq(packet_parse(pkt, len, &info), PACKET_OK);
	cr_assert_eq(packet_dns_message(&info, &msg, &msg_len), 0);
	cr_assert_eq(msg, pkt + 40 + 32 + 2);
	cr_assert_eq(msg_len, sizeof(dns_payload));
	cr_assert_arr_eq(msg, dns_payload, sizeof(dns_payload));
}

static struct packet_endpoint
endpoint(int family, const char *addr, uint16_t port)
{
	struct packet_endpoint ep;

	memset(&ep, 0, sizeof(ep));
	ep.family = (uint8_t)family;
	cr_assert_eq(inet_pton(family, addr, ep.addr), 1);
	ep.port = port;
	return ep;
}

Test(packet, formats_endpoints)
{
	static const struct {
		int family;
		const char *addr;
		uint16_t port;
		const char *expect;
	} cases[] = {
		{ AF_INET, "192.0.2.1", 53, "192.0.2.1:53" },
		{ AF_INET, "255.255.255.255", 65535, "255.255.255.255:65535" },
		{ AF_INET, "0.0.0.0", 0, "0.0.0.0:0" },
		{ AF_INET6, "2001:db8::1", 53, "[2001:db8::1]:53" },
		{ AF_INET6, "::1", 40000, "[::1]:40000" },
		{ AF_INET6, "fe80::1:2:3:4", 5353, "[fe80::1:2:3:4]:5353" },
	};
	char buf[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct packet_endpoint ep = endpoint(cases[i].family,
		    cases[i].addr, cases[i].port);

		cr_assert_eq(packet_endpoint_format(&ep, buf, sizeof(buf)),
		    buf);
		cr_assert_str_eq(buf, cases[i].expect);
	}
}

Test(packet, formats_endpoint_within_small_buffer)
{
	struct packet_endpoint ep = endpoint(AF_INET6, "2001:db8::1", 53);
	char buf[32];

	memset(buf, 'X', sizeof(buf));
	packet_endpoint_format(&ep, buf, 8);
	cr_assert_lt(strnlen(buf, 8), 8, "not terminated within 8 bytes");
	for (size_t i = 8; i < sizeof(buf); i++)
		cr_assert_eq(buf[i], 'X', "wrote byte %zu of an 8-byte buffer",
		    i);
}

Test(packet, finds_dns_prefix_in_udp_payload)
{
	struct packet_info info;
	const uint8_t *msg = NULL;
	size_t msg_len = 0;
	int partial = -1;

	info = info_with_payload(IPPROTO_UDP, dns_payload, sizeof(dns_payload));
	cr_assert_eq(packet_dns_prefix(&info, &msg, &msg_len, &partial), 0);
	cr_assert_eq(msg, dns_payload);
	cr_assert_eq(msg_len, sizeof(dns_payload));
	cr_assert_eq(partial, 0);
}

Test(packet, finds_whole_dns_message_as_prefix)
{
	uint8_t segment[PACKET_BUF];
	struct packet_info info;
	const uint8_t *msg = NULL;
	size_t msg_len = 0;
	int partial = -1;

	wire_put16(segment, sizeof(dns_payload));
	memcpy(segment + 2, dns_payload, sizeof(dns_payload));
	info = info_with_payload(IPPROTO_TCP, segment, 2 + sizeof(dns_payload));
	cr_assert_eq(packet_dns_prefix(&info, &msg, &msg_len, &partial), 0);
	cr_assert_eq(msg, segment + 2);
	cr_assert_eq(msg_len, sizeof(dns_payload));
	cr_assert_eq(partial, 0);

	/* A second message behind the first does not make it partial. */
	wire_put16(segment + 2 + sizeof(dns_payload), 40);
	info = info_with_payload(IPPROTO_TCP, segment,
	    4 + sizeof(dns_payload) + 20);
	partial = -1;
	cr_assert_eq(packet_dns_prefix(&info, &msg, &msg_len, &partial), 0);
	cr_assert_eq(msg_len, sizeof(dns_payload));
	cr_assert_eq(partial, 0);
}

Test(packet, finds_start_of_long_tcp_message)
{
	uint8_t segment[PACKET_BUF];
	struct packet_info info;
	const uint8_t *msg;
	size_t msg_len;
	int partial;

	/* The length says 600; the segment holds the first 33 bytes. */
	wire_put16(segment, 600);
	memcpy(segment + 2, dns_payload, sizeof(dns_payload));
	for (size_t held = 12; held <= sizeof(dns_payload); held++) {
		info = info_with_payload(IPPROTO_TCP, segment, 2 + held);
		msg = NULL;
		msg_len = 0;
		partial = 0;
		cr_assert_eq(packet_dns_prefix(&info, &msg, &msg_len,
		    &partial), 0, "%zu bytes held", held);
		cr_assert_eq(msg, segment + 2);
		cr_assert_eq(msg_len, held);
		cr_assert_neq(partial, 0, "%zu of 600 bytes is partial", held);
	}
	/* packet_dns_message() still wants the whole message. */
	info = info_with_payload(IPPROTO_TCP, segment, 2 + sizeof(dns_payload));
	cr_assert_eq(packet_dns_message(&info, &msg, &msg_len), -EINVAL);
}

Test(packet, refuses_prefix_without_length_and_header)
{
	uint8_t segment[PACKET_BUF];
	struct packet_info info;
	const uint8_t *msg;
	size_t msg_len;
	int partial;

	wire_put16(segment, sizeof(dns_payload));
	memcpy(segment + 2, dns_payload, sizeof(dns_payload));
	for (size_t len = 0; len < 2 + 12; len++) {
		info = info_with_payload(IPPROTO_TCP, segment, len);
		cr_assert_eq(packet_dns_prefix(&info, &msg, &msg_len,
		    &partial), -EINVAL, "TCP payload of %zu bytes", len);
	}
	/* A length too small for a DNS header. */
	for (uint16_t length = 0; length < 12; length++) {
		wire_put16(segment, length);
		info = info_with_payload(IPPROTO_TCP, segment,
		    2 + sizeof(dns_payload));
		cr_assert_eq(packet_dns_prefix(&info, &msg, &msg_len,
		    &partial), -EINVAL, "length prefix %u", length);
	}
}
