/*
 * Unit tests for src/dns.c: the header and single question of a DNS message,
 * the name in canonical wire form, and its presentation.  Messages are built
 * here from their parts, so each test shows the bytes it feeds.
 */
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "dns.h"
#include "wire.h"

#define MSG_BUF 1024

#define TYPE_A 1
#define TYPE_AAAA 28
#define TYPE_OPT 41
#define CLASS_IN 1
#define CLASS_CH 3

/* Writes a header with the given id, flags and counts; returns 12. */
static size_t
put_header(uint8_t *msg, uint16_t id, uint16_t flags, uint16_t qdcount,
    uint16_t ancount, uint16_t nscount, uint16_t arcount)
{
	wire_put16(msg, id);
	wire_put16(msg + 2, flags);
	wire_put16(msg + 4, qdcount);
	wire_put16(msg + 6, ancount);
	wire_put16(msg + 8, nscount);
	wire_put16(msg + 10, arcount);
	return DNS_HEADER_LEN;
}

/* Writes a question (wire name, type, class) at p; returns its length. */
static size_t
put_question(uint8_t *p, const uint8_t *wire, size_t wire_len, uint16_t qtype,
    uint16_t qclass)
{
	memcpy(p, wire, wire_len);
	wire_put16(p + wire_len, qtype);
	wire_put16(p + wire_len + 2, qclass);
	return wire_len + 4;
}

/* Builds a one-question message for the dotted name; returns its length. */
static size_t
build_query(uint8_t *msg, uint16_t id, uint16_t flags, const char *name,
    uint16_t qtype, uint16_t qclass)
{
	uint8_t wire[MSG_BUF];
	size_t len, wire_len;

	wire_len = wire_put_name(wire, name);
	len = put_header(msg, id, flags, 1, 0, 0, 0);
	return len + put_question(msg + len, wire, wire_len, qtype, qclass);
}

static const uint8_t www_example_com[] = {
	3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o',
	'm', 0,
};

Test(dns, parses_plain_a_query)
{
	uint8_t msg[MSG_BUF];
	struct dns_question q;
	size_t len;

	len = build_query(msg, 0xbeef, 0x0100, "www.example.com", TYPE_A,
	    CLASS_IN);
	cr_assert_eq(len, 12 + 17 + 4);
	cr_assert_eq(dns_parse_question(msg, len, &q), DNS_OK);
	cr_assert_eq(q.id, 0xbeef);
	cr_assert_eq(q.flags, 0x0100);
	cr_assert_eq(q.qtype, TYPE_A);
	cr_assert_eq(q.qclass, CLASS_IN);
	cr_assert_eq(q.name_len, sizeof(www_example_com));
	cr_assert_arr_eq(q.name, www_example_com, sizeof(www_example_com));
	cr_assert_not(dns_is_response(&q));
}

Test(dns, keeps_type_and_class)
{
	static const struct {
		uint16_t qtype, qclass;
	} cases[] = {
		{ TYPE_AAAA, CLASS_IN }, { 16, CLASS_CH }, { 255, 255 },
		{ 0xffff, 0xfffe }, { 0, 0 },
	};
	uint8_t msg[MSG_BUF];
	struct dns_question q;
	size_t len;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = build_query(msg, 1, 0, "example.com", cases[i].qtype,
		    cases[i].qclass);
		cr_assert_eq(dns_parse_question(msg, len, &q), DNS_OK);
		cr_assert_eq(q.qtype, cases[i].qtype);
		cr_assert_eq(q.qclass, cases[i].qclass);
	}
}

Test(dns, lower_cases_mixed_case_name)
{
	static const char *const spellings[] = {
		"wWw.ExAmPlE.cOm", "WWW.EXAMPLE.COM", "www.example.com",
		"Www.examplE.Com",
	};
	uint8_t msg[MSG_BUF];
	struct dns_question q;
	size_t len;

	for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]);
	    i++) {
		len = build_query(msg, 7, 0x0100, spellings[i], TYPE_A,
		    CLASS_IN);
		cr_assert_eq(dns_parse_question(msg, len, &q), DNS_OK);
		cr_assert_eq(q.name_len, sizeof(www_example_com));
		cr_assert_arr_eq(q.name, www_example_com,
		    sizeof(www_example_com), "%s", spellings[i]);
	}
}

Test(dns, lower_cases_only_ascii_letters)
{
	/* '@' and '[' sit beside 'A' and 'Z'; 0xc4 is not ASCII. */
	static const uint8_t wire[] = {
		6, '@', 'A', 'Z', '[', 0xc4, '_', 3, 'X', '-', '9', 0,
	};
	static const uint8_t expect[] = {
		6, '@', 'a', 'z', '[', 0xc4, '_', 3, 'x', '-', '9', 0,
	};
	uint8_t msg[MSG_BUF];
	struct dns_question q;
	size_t len;

	len = put_header(msg, 1, 0, 1, 0, 0, 0);
	len += put_question(msg + len, wire, sizeof(wire), TYPE_A, CLASS_IN);
	cr_assert_eq(dns_parse_question(msg, len, &q), DNS_OK);
	cr_assert_eq(q.name_len, sizeof(expect));
	cr_assert_arr_eq(q.name, expect, sizeof(expect));
}

Test(dns, lowers_every_octet_as_ascii_says)
{
	uint8_t name[256];

	for (int i = 0; i < 256; i++)
		name[i] = (uint8_t)i;
	dns_name_lower(name, sizeof(name));
	for (int i = 0; i < 256; i++)
		cr_assert_eq(name[i], i >= 'A' && i <= 'Z' ? i + 32 : i,
		    "octet 0x%02x became 0x%02x", i, name[i]);
}

Test(dns, parses_root_name)
{
	uint8_t msg[MSG_BUF];
	struct dns_question q;
	size_t len;

	len = build_query(msg, 2, 0, ".", 2, CLASS_IN);
	cr_assert_eq(len, 12 + 1 + 4);
	cr_assert_eq(dns_parse_question(msg, len, &q), DNS_OK);
	cr_assert_eq(q.name_len, 1);
	cr_assert_eq(q.name[0], 0);
	cr_assert_eq(q.qtype, 2);
}

Test(dns, rejects_compression_pointer)
{
	static const uint8_t pointer_after_label[] = {
		3, 'w', 'w', 'w', 0xc0, 0x0c,
	};
	static const uint8_t pointer_first[] = { 0xc0, 0x0c };
	static const uint8_t pointer_to_self[] = { 0xc0, 12 };
	static const struct {
		const uint8_t *wire;
		size_t len;
	} cases[] = {
		{ pointer_after_label, sizeof(pointer_after_label) },
		{ pointer_first, sizeof(pointer_first) },
		{ pointer_to_self, sizeof(pointer_to_self) },
	};
	uint8_t msg[MSG_BUF];
	struct dns_question q;
	size_t len;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = put_header(msg, 1, 0x0100, 1, 0, 0, 0);
		len += put_question(msg + len, cases[i].wire, cases[i].len,
		    TYPE_A, CLASS_IN);
		cr_assert_eq(dns_parse_question(msg, len, &q), DNS_COMPRESSED,
		    "case %zu: %s", i,
		    dns_status_name(dns_parse_question(msg, len, &q)));
	}
}

Test(dns, rejects_question_counts_other_than_one)
{
	static const uint16_t counts[] = { 0, 2, 0xffff };
	uint8_t msg[MSG_BUF];
	struct dns_question q;
	size_t len;

	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		/* Two whole questions follow, whatever the count says. */
		len = build_query(msg, 1, 0x0100, "example.com", TYPE_A,
		    CLASS_IN);
		len += put_question(msg + len, www_example_com,
		    sizeof(www_example_com), TYPE_AAAA, CLASS_IN);
		wire_put16(msg + 4, counts[i]);
		cr_assert_eq(dns_parse_question(msg, len, &q), DNS_QDCOUNT,
		    "QDCOUNT %u", counts[i]);
	}
}

Test(dns, rejects_opcodes_other_than_query)
{
	static const uint16_t opcodes[] = {
		1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
	};
	uint8_t msg[MSG_BUF];
	struct dns_question q;
	size_t len;

	for (size_t i = 0; i < sizeof(opcodes) / sizeof(opcodes[0]); i++) {
		len = build_query(msg, 1,
		    (uint16_t)(opcodes[i] << 11 | 0x0100), "example.com",
		    TYPE_A, CLASS_IN);
		cr_assert_eq(dns_parse_question(msg, len, &q), DNS_NOT_QUERY,
		    "opcode %u", opcodes[i]);
	}
	len = build_query(msg, 1, 0x0100, "example.com", TYPE_A, CLASS_IN);
	cr_assert_eq(dns_parse_question(msg, len, &q), DNS_OK);
}

Test(dns, rejects_message_shorter_than_header)
{
	uint8_t msg[MSG_BUF];
	struct dns_question q;
	size_t len;

	len = build_query(msg, 1, 0x0100, "example.com", TYPE_A, CLASS_IN);
	cr_assert_gt(len, DNS_HEADER_LEN);
	for (size_t cut = 0; cut < DNS_HEADER_LEN; cut++)
		cr_assert_eq(dns_parse_question(msg, cut, &q), DNS_SHORT,
		    "%zu bytes", cut);
}

/* Every cut inside the question: mid-label, before the root, in the type. */
Test(dns, rejects_every_truncated_question)
{
	uint8_t msg[MSG_BUF];
	struct dns_question q;
	size_t len;

	len = build_query(msg, 1, 0x0100, "www.example.com", TYPE_A,
	    CLASS_IN);
	for (size_t cut = DNS_HEADER_LEN; cut < len; cut++)
		cr_assert_eq(dns_parse_question(msg, cut, &q), DNS_SHORT,
		    "cut to %zu of %zu bytes: %s", cut, len,
		    dns_status_name(dns_parse_question(msg, cut, &q)));
	cr_assert_eq(dns_parse_question(msg, len, &q), DNS_OK);
}

/* Builds a name of the given label lengths, every octet a letter. */
static size_t
build_long_name(uint8_t *wire, const size_t *labels, size_t count)
{
	size_t out = 0;

	for (size_t i = 0; i < count; i++) {
		wire[out++] = (uint8_t)labels[i];
		for (size_t j = 0; j < labels[i]; j++)
			wire[out++] = (uint8_t)('A' + (i + j) % 26);
	}
	wire[out++] = 0;
	return out;
}

Test(dns, accepts_63_octet_label)
{
	static const size_t labels[] = { 63, 3 };
	uint8_t wire[MSG_BUF], msg[MSG_BUF];
	struct dns_question q;
	size_t len, wire_len;

	wire_len = build_long_name(wire, labels, 2);
	len = put_header(msg, 1, 0x0100, 1, 0, 0, 0);
	len += put_question(msg + len, wire, wire_len, TYPE_A, CLASS_IN);
	cr_assert_eq(dns_parse_question(msg, len, &q), DNS_OK);
	cr_assert_eq(q.name_len, wire_len);
	cr_assert_eq(q.name[0], 63);
	cr_assert_eq(q.name[1], 'a');
}

Test(dns, rejects_reserved_label_types)
{
	/* 0x40 (label length 64) and 0x80 are reserved label types. */
	static const uint8_t first_bytes[] = { 0x40, 0x41, 0x7f, 0x80, 0xbf };
	uint8_t wire[MSG_BUF], msg[MSG_BUF];
	struct dns_question q;
	size_t len;

	for (size_t i = 0; i < sizeof(first_bytes); i++) {
		/* The label's octets are all there, so only its type is bad. */
		wire[0] = 3;
		memcpy(wire + 1, "www", 3);
		wire[4] = first_bytes[i];
		memset(wire + 5, 'a', first_bytes[i] & 0x3f);
		wire[5 + (first_bytes[i] & 0x3f)] = 0;
		len = put_header(msg, 1, 0x0100, 1, 0, 0, 0);
		len += put_question(msg + len, wire,
		    6 + (size_t)(first_bytes[i] & 0x3f), TYPE_A, CLASS_IN);
		memset(msg + len, 0, 80);
		cr_assert_eq(dns_parse_question(msg, len + 80, &q),
		    DNS_BAD_NAME, "label byte 0x%02x: %s", first_bytes[i],
		    dns_status_name(dns_parse_question(msg, len + 80, &q)));
	}
}

Test(dns, accepts_255_octet_name)
{
	/* 3 * (1 + 63) + (1 + 61) + 1 = 255 octets. */
	static const size_t labels[] = { 63, 63, 63, 61 };
	uint8_t wire[MSG_BUF], msg[MSG_BUF];
	struct dns_question q;
	size_t len, wire_len;

	wire_len = build_long_name(wire, labels, 4);
	cr_assert_eq(wire_len, 255);
	len = put_header(msg, 1, 0x0100, 1, 0, 0, 0);
	len += put_question(msg + len, wire, wire_len, TYPE_AAAA, CLASS_IN);
	cr_assert_eq(dns_parse_question(msg, len, &q), DNS_OK);
	cr_assert_eq(q.name_len, 255);
	cr_assert_eq(q.qtype, TYPE_AAAA);
	for (size_t i = 0; i < wire_len; i++) {
		uint8_t c = wire[i];

		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c - 'A' + 'a');
		cr_assert_eq(q.name[i], c, "octet %zu", i);
	}
}

Test(dns, rejects_256_octet_name)
{
	static const size_t too_long[][5] = {
		{ 63, 63, 63, 62 },	/* 256 */
		{ 63, 63, 63, 63 },	/* 257 */
		{ 63, 63, 63, 63, 63 },	/* 321: runs past the limit */
	};
	static const size_t counts[] = { 4, 4, 5 };
	uint8_t wire[MSG_BUF], msg[MSG_BUF];
	struct dns_question q;
	size_t len, wire_len;

	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		wire_len = build_long_name(wire, too_long[i], counts[i]);
		len = put_header(msg, 1, 0x0100, 1, 0, 0, 0);
		len += put_question(msg + len, wire, wire_len, TYPE_A,
		    CLASS_IN);
		cr_assert_eq(dns_parse_question(msg, len, &q), DNS_BAD_NAME,
		    "name of %zu octets: %s", wire_len,
		    dns_status_name(dns_parse_question(msg, len, &q)));
	}
}

Test(dns, parses_response_and_says_so)
{
	uint8_t msg[MSG_BUF];
	struct dns_question q;
	size_t len;

	/* QR, RD, RA, NOERROR, with one answer the parser need not read. */
	len = build_query(msg, 0x4242, 0x8180, "www.example.com", TYPE_A,
	    CLASS_IN);
	wire_put16(msg + 6, 1);
	memcpy(msg + len, (const uint8_t[]){ 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0,
	    60, 0, 4, 192, 0, 2, 1 }, 16);
	len += 16;
	cr_assert_eq(dns_parse_question(msg, len, &q), DNS_OK);
	cr_assert(dns_is_response(&q));
	cr_assert_eq(q.flags, 0x8180);
	cr_assert_eq(q.id, 0x4242);
	cr_assert_arr_eq(q.name, www_example_com, sizeof(www_example_com));
}

Test(dns, says_truncated_response_is_response)
{
	uint8_t msg[MSG_BUF];
	struct dns_question q;
	size_t len;

	len = build_query(msg, 9, DNS_FLAG_QR | DNS_FLAG_TC | 0x0100,
	    "example.com", TYPE_A, CLASS_IN);
	cr_assert_eq(dns_parse_question(msg, len, &q), DNS_OK);
	cr_assert(dns_is_response(&q));
	cr_assert(q.flags & DNS_FLAG_TC);
}

Test(dns, parses_query_with_edns_opt)
{
	uint8_t msg[MSG_BUF];
	struct dns_question q;
	size_t len;

	len = build_query(msg, 0x1234, 0x0120, "WwW.example.COM", TYPE_AAAA,
	    CLASS_IN);
	wire_put16(msg + 10, 1);
	/* OPT: root owner, type 41, payload size 1232, DO bit, no options. */
	msg[len++] = 0;
	wire_put16(msg + len, TYPE_OPT);
	wire_put16(msg + len + 2, 1232);
	wire_put16(msg + len + 4, 0);
	wire_put16(msg + len + 6, 0x8000);
	wire_put16(msg + len + 8, 0);
	len += 10;
	cr_assert_eq(dns_parse_question(msg, len, &q), DNS_OK);
	cr_assert_eq(q.id, 0x1234);
	cr_assert_eq(q.flags, 0x0120);
	cr_assert_eq(q.qtype, TYPE_AAAA);
	cr_assert_eq(q.qclass, CLASS_IN);
	cr_assert_eq(q.name_len, sizeof(www_example_com));
	cr_assert_arr_eq(q.name, www_example_com, sizeof(www_example_com));
}

Test(dns, formats_printable_names)
{
	static const struct {
		const char *name;
		const char *expect;
	} cases[] = {
		{ "www.example.com", "www.example.com." },
		{ ".", "." },
		{ "com", "com." },
		{ "_dns.resolver.arpa", "_dns.resolver.arpa." },
		{ "xn--bcher-kva.example", "xn--bcher-kva.example." },
	};
	uint8_t wire[MSG_BUF];
	char buf[1024];
	size_t wire_len;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		wire_len = wire_put_name(wire, cases[i].name);
		cr_assert_eq(dns_name_format(wire, wire_len, buf, sizeof(buf)),
		    buf);
		cr_assert_str_eq(buf, cases[i].expect);
	}
}

Test(dns, formats_parsed_question_name)
{
	uint8_t msg[MSG_BUF];
	struct dns_question q;
	char buf[DNS_NAME_MAX * 4 + 1];
	size_t len;

	len = build_query(msg, 1, 0x0100, "wWw.ExAmPlE.cOm", TYPE_A,
	    CLASS_IN);
	cr_assert_eq(dns_parse_question(msg, len, &q), DNS_OK);
	dns_name_format(q.name, q.name_len, buf, sizeof(buf));
	cr_assert_str_eq(buf, "www.example.com.");
}

Test(dns, escapes_unprintable_octets)
{
	static const uint8_t wire[] = {
		8, 'a', 0x00, 0x07, 0x0a, 0x1f, 0x7f, 0xff, 'z', 3, 'c', 'o',
		'm', 0,
	};
	char buf[256];

	memset(buf, 'X', sizeof(buf));
	dns_name_format(wire, sizeof(wire), buf, sizeof(buf));
	cr_assert_lt(strnlen(buf, sizeof(buf)), sizeof(buf),
	    "not NUL-terminated");
	/* Eight octets can only be shown in more than eight characters. */
	cr_assert_gt(strlen(buf), strlen("a......z.com."), "%s", buf);
	for (size_t i = 0; buf[i] != '\0'; i++)
		cr_assert((unsigned char)buf[i] >= 0x20 &&
		    (unsigned char)buf[i] < 0x7f,
		    "raw octet 0x%02x at %zu", (unsigned char)buf[i], i);
	cr_assert_eq(buf[0], 'a');
	cr_assert_str_eq(buf + strlen(buf) - 6, "z.com.", "%s", buf);
}

Test(dns, formats_within_small_buffer)
{
	char buf[64];

	for (size_t len = 1; len < 20; len++) {
		memset(buf, 'X', sizeof(buf));
		dns_name_format(www_example_com, sizeof(www_example_com), buf,
		    len);
		cr_assert_lt(strnlen(buf, len), len,
		    "not terminated within %zu bytes", len);
		cr_assert_eq(strncmp(buf, "www.example.com.", strlen(buf)), 0,
		    "size %zu gave \"%s\"", len, buf);
		for (size_t i = len; i < sizeof(buf); i++)
			cr_assert_eq(buf[i], 'X',
			    "wrote byte %zu of a %zu-byte buffer", i, len);
	}
}

Test(dns, names_every_status)
{
	for (int i = 0; i < DNS_STATUS_COUNT; i++) {
		const char *name = dns_status_name((enum dns_status)i);

		cr_assert_not_null(name, "status %d", i);
		cr_assert_gt(strlen(name), 0, "status %d", i);
		for (int j = 0; j < i; j++)
			cr_assert_str_neq(name,
			    dns_status_name((enum dns_status)j),
			    "statuses %d and %d share a name", i, j);
	}
}
