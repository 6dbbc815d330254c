/*
 * Unit tests for src/response.c: what an upstream response teaches (CNAME
 * targets, referral name servers) and how it refuses hostile wire:
 * forward and looping compression pointers, overruns, too many records.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "response.h"
#include "wire.h"

#define TYPE_A 1
#define TYPE_NS 2
#define TYPE_CNAME 5
#define TYPE_SOA 6
#define TYPE_TXT 16
#define TYPE_TSIG 250
#define FLAGS_RESPONSE 0x8180	/* QR RD RA */
#define FLAGS_REFERRAL 0x8000

static struct response_facts facts;

/* Compares a learned name with a dotted name by building its wire form. */
static void
expect_name(unsigned int i, enum response_name_kind kind, const char *dotted)
{
	struct wire want = { .len = 0 };

	wire_name(&want, dotted);
	cr_assert_lt(i, facts.name_count);
	cr_expect_eq(facts.names[i].kind, kind);
	cr_assert_eq(facts.names[i].len, want.len, "name %u: %u octets, want %zu",
	    i, facts.names[i].len, want.len);
	cr_expect_arr_eq(facts.names[i].name, want.buf, want.len);
}

Test(response, learns_cname_chain_targets)
{
	struct wire w = { .len = 0 };
	size_t rr, cdn;

	wire_header(&w, 0x1234, FLAGS_RESPONSE, 1, 3, 0, 0);
	wire_question(&w, "www.C1.test", TYPE_A);
	wire_pointer(&w, 12);
	rr = wire_rr_begin(&w, TYPE_CNAME);
	cdn = w.len + 4;	/* "C1-cdn.test" after the label "Www" */
	wire_name(&w, "Www.C1-cdn.test");
	wire_rr_end(&w, rr);
	wire_name(&w, "www.c1-cdn.test");
	rr = wire_rr_begin(&w, TYPE_CNAME);
	wire_u8(&w, 4);
	wire_bytes(&w, "edge", 4);
	wire_pointer(&w, (uint16_t)cdn);
	wire_rr_end(&w, rr);
	wire_name(&w, "edge.c1-cdn.test");
	rr = wire_rr_begin(&w, TYPE_A);
	wire_u32(&w, 0xcb007101);
	wire_rr_end(&w, rr);

	cr_assert_eq(response_parse(w.buf, w.len, 0, &facts), RESPONSE_OK);
	cr_assert_eq(facts.question.id, 0x1234);
	cr_assert_eq(facts.question.qtype, TYPE_A);
	cr_assert_eq(facts.rcode, 0);
	cr_assert_eq(facts.truncated, 0);
	cr_assert_eq(facts.answers, 3);
	cr_assert_eq(facts.answers_of_qtype, 1, "two CNAMEs and one A");
	cr_assert_eq(facts.authority_soa, 0);
	cr_assert_eq(facts.names_dropped, 0);
	cr_assert_eq(facts.name_count, 2);
	expect_name(0, RESPONSE_CNAME_TARGET, "www.c1-cdn.test");
	expect_name(1, RESPONSE_CNAME_TARGET, "edge.c1-cdn.test");
	cr_assert_eq(response_is_final(&facts), 1, "the chain ends in an A");
}

Test(response, learns_referral_name_servers_only_without_answer)
{
	struct wire w = { .len = 0 };
	size_t rr;

	wire_header(&w, 7, FLAGS_REFERRAL, 1, 0, 2, 1);
	wire_question(&w, "www.sub.c1.test", TYPE_A);
	wire_name(&w, "sub.c1.test");
	rr = wire_rr_begin(&w, TYPE_NS);
	wire_name(&w, "ns.c1-dns.test");
	wire_rr_end(&w, rr);
	wire_name(&w, "sub.c1.test");
	rr = wire_rr_begin(&w, TYPE_NS);
	wire_name(&w, "NS2.sub.c1.test");
	wire_rr_end(&w, rr);
	wire_name(&w, "ns2.sub.c1.test");
	rr = wire_rr_begin(&w, TYPE_A);
	wire_u32(&w, 0xcb007102);
	wire_rr_end(&w, rr);

	cr_assert_eq(response_parse(w.buf, w.len, 0, &facts), RESPONSE_OK);
	cr_assert_eq(facts.answers, 0);
	cr_assert_eq(facts.answers_of_qtype, 0);
	cr_assert_eq(facts.authority_soa, 0);
	cr_assert_eq(facts.name_count, 2);
	expect_name(0, RESPONSE_NS_NAME, "ns.c1-dns.test");
	expect_name(1, RESPONSE_NS_NAME, "ns2.sub.c1.test");
	cr_assert_eq(response_is_final(&facts), 0, "a referral goes on");
}

Test(response, ignores_authority_ns_beside_an_answer)
{
	struct wire w = { .len = 0 };
	size_t rr;

	wire_header(&w, 7, FLAGS_RESPONSE, 1, 1, 1, 0);
	wire_question(&w, "c1.test", TYPE_A);
	wire_pointer(&w, 12);
	rr = wire_rr_begin(&w, TYPE_A);
	wire_u32(&w, 0xcb007101);
	wire_rr_end(&w, rr);
	wire_pointer(&w, 12);
	rr = wire_rr_begin(&w, TYPE_NS);
	wire_name(&w, "ns.c1.test");
	wire_rr_end(&w, rr);

	cr_assert_eq(response_parse(w.buf, w.len, 0, &facts), RESPONSE_OK);
	cr_assert_eq(facts.answers, 1);
	cr_assert_eq(facts.answers_of_qtype, 1);
	cr_assert_eq(facts.name_count, 0);
}

Test(response, reports_truncation_and_rcode)
{
	struct wire w = { .len = 0 };

	wire_header(&w, 9, FLAGS_RESPONSE | 0x0200 | 3, 1, 0, 0, 0);
	wire_question(&w, "big.c1.test", TYPE_TXT);
	cr_assert_eq(response_parse(w.buf, w.len, 0, &facts), RESPONSE_OK);
	cr_assert_eq(facts.truncated, 1);
	cr_assert_eq(facts.rcode, 3);
	cr_assert_eq(facts.answers, 0);
	cr_assert_eq(facts.name_count, 0);
	/* Without TC: the same flags say no truncation. */
	wire_set16(&w, 2, FLAGS_RESPONSE | 3);
	cr_assert_eq(response_parse(w.buf, w.len, 0, &facts), RESPONSE_OK);
	cr_assert_eq(facts.truncated, 0);
	cr_assert_eq(facts.rcode, 3);
}

Test(response, refuses_queries)
{
	struct wire w = { .len = 0 };

	wire_header(&w, 9, 0x0100, 1, 0, 0, 0);
	wire_question(&w, "c1.test", TYPE_A);
	cr_assert_eq(response_parse(w.buf, w.len, 0, &facts),
	    RESPONSE_NOT_RESPONSE);
	cr_assert_eq(facts.name_count, 0);
}

/* Builds a one-CNAME answer whose target is a pointer to target_offset,
 * placed at the end of the message; returns the offset of the pointer. */
static size_t
answer_with_pointer(struct wire *w, uint16_t target_offset)
{
	size_t rr, at;

	wire_header(w, 1, FLAGS_RESPONSE, 1, 1, 0, 0);
	wire_question(w, "a.test", TYPE_A);
	wire_pointer(w, 12);
	rr = wire_rr_begin(w, TYPE_CNAME);
	at = w->len;
	wire_pointer(w, target_offset);
	wire_rr_end(w, rr);
	return at;
}

Test(response, refuses_pointer_to_itself)
{
	struct wire w = { .len = 0 };
	size_t at = answer_with_pointer(&w, 0);

	wire_set16(&w, at, (uint16_t)(0xc000 | at));
	cr_assert_eq(response_parse(w.buf, w.len, 0, &facts),
	    RESPONSE_BAD_RECORD);
	cr_assert_eq(facts.name_count, 0);
}

Test(response, refuses_forward_pointer)
{
	struct wire w = { .len = 0 };
	size_t at = answer_with_pointer(&w, 0);

	wire_set16(&w, at, (uint16_t)(0xc000 | (at + 2)));
	wire_name(&w, "x.test");
	cr_assert_eq(response_parse(w.buf, w.len, 0, &facts),
	    RESPONSE_BAD_RECORD);
	cr_assert_eq(facts.name_count, 0);
}

Test(response, refuses_loop_through_labels)
{
	/* A label followed by a pointer back to the label: each pointer
	 * points backwards, yet the walk would never end. */
	struct wire w = { .len = 0 };
	size_t rr, loop;

	wire_header(&w, 1, FLAGS_RESPONSE, 1, 1, 0, 0);
	wire_question(&w, "a.test", TYPE_A);
	wire_pointer(&w, 12);
	rr = wire_rr_begin(&w, TYPE_CNAME);
	loop = w.len;
	wire_u8(&w, 1);
	wire_u8(&w, 'x');
	wire_pointer(&w, (uint16_t)loop);
	wire_rr_end(&w, rr);
	cr_assert_eq(response_parse(w.buf, w.len, 0, &facts),
	    RESPONSE_BAD_RECORD);
	cr_assert_eq(facts.name_count, 0);
}

Test(response, bounds_long_backward_pointer_chains)
{
	/* 200 pointers each pointing to the one before: a legal-looking
	 * chain that must still end within the name length bound. */
	struct wire w = { .len = 0 };
	size_t rr, first;

	wire_header(&w, 1, FLAGS_RESPONSE, 1, 1, 0, 0);
	wire_question(&w, "a.test", TYPE_A);
	first = w.len;
	wire_u8(&w, 0);
	for (int i = 0; i < 200; i++)
		wire_pointer(&w, (uint16_t)(first + (i == 0 ? 0 : 2 * i - 1)));
	wire_pointer(&w, 12);
	rr = wire_rr_begin(&w, TYPE_CNAME);
	wire_pointer(&w, (uint16_t)(w.len - 12));
	wire_rr_end(&w, rr);
	/* Whatever it decides, it decides quickly and learns nothing odd. */
	response_parse(w.buf, w.len, 0, &facts);
	cr_expect_leq(facts.name_count, 1);
}

Test(response, refuses_record_overrunning_message)
{
	struct wire w = { .len = 0 };
	size_t rr;

	wire_header(&w, 1, FLAGS_RESPONSE, 1, 1, 0, 0);
	wire_question(&w, "a.test", TYPE_A);
	wire_pointer(&w, 12);
	rr = wire_rr_begin(&w, TYPE_A);
	wire_u32(&w, 1);
	wire_rr_end(&w, rr);
	wire_set16(&w, rr, 200);
	cr_assert_eq(response_parse(w.buf, w.len, 0, &facts),
	    RESPONSE_BAD_RECORD);
	/* The same cut short in a TCP segment is not an error. */
	cr_assert_eq(response_parse(w.buf, w.len, 1, &facts), RESPONSE_OK);
	cr_assert_eq(facts.answers, 0, "the record cut short is not read");
	cr_assert_eq(facts.name_count, 0);
}

Test(response, refuses_too_many_records)
{
	struct wire w = { .len = 0 };

	wire_header(&w, 1, FLAGS_RESPONSE, 1, 400, 200, 0);
	wire_question(&w, "a.test", TYPE_A);
	cr_assert_eq(response_parse(w.buf, w.len, 0, &facts),
	    RESPONSE_TOO_MANY);
	cr_assert_eq(response_parse(w.buf, w.len, 1, &facts),
	    RESPONSE_TOO_MANY, "cut short or not");
	cr_assert_eq(facts.name_count, 0);
}

/*
 * The first segment of a long TCP response with exactly
 * RESPONSE_MAX_RECORDS records: read as far as it goes.  One record more
 * is too many.
 */
Test(response, reads_max_records_and_refuses_one_more)
{
	struct wire w = { .len = 0 };
	size_t rr;

	wire_header(&w, 1, FLAGS_RESPONSE, 1, 1, RESPONSE_MAX_RECORDS - 1, 0);
	wire_question(&w, "a.test", TYPE_A);
	wire_pointer(&w, 12);
	rr = wire_rr_begin(&w, TYPE_CNAME);
	wire_name(&w, "b.test");
	wire_rr_end(&w, rr);
	wire_pointer(&w, 12);
	rr = wire_rr_begin(&w, TYPE_SOA);
	wire_bytes(&w, "\0\0", 2);	/* cut short: the segment ends */
	cr_assert_eq(response_parse(w.buf, w.len, 1, &facts), RESPONSE_OK);
	cr_assert_eq(facts.answers, 1);
	cr_assert_eq(facts.name_count, 1);
	expect_name(0, RESPONSE_CNAME_TARGET, "b.test");
	wire_set16(&w, 8, RESPONSE_MAX_RECORDS);
	cr_assert_eq(response_parse(w.buf, w.len, 1, &facts),
	    RESPONSE_TOO_MANY);
	cr_assert_eq(facts.name_count, 0);
}

Test(response, cname_data_must_fill_the_record)
{
	struct wire w = { .len = 0 };
	size_t rr;

	wire_header(&w, 1, FLAGS_RESPONSE, 1, 1, 0, 0);
	wire_question(&w, "a.test", TYPE_A);
	wire_pointer(&w, 12);
	rr = wire_rr_begin(&w, TYPE_CNAME);
	wire_name(&w, "b.test");
	wire_u8(&w, 0xff);	/* junk after the name */
	wire_rr_end(&w, rr);
	cr_assert_eq(response_parse(w.buf, w.len, 0, &facts), RESPONSE_OK);
	cr_assert_eq(facts.answers, 1);
	cr_assert_eq(facts.name_count, 0);
}

Test(response, walks_two_tsig_records_record_by_record)
{
	/* ldns_wire2pkt leaks on this; the walk never hands it over. */
	struct wire w = { .len = 0 };
	size_t rr;

	wire_header(&w, 1, FLAGS_RESPONSE, 1, 1, 0, 2);
	wire_question(&w, "a.test", TYPE_A);
	wire_pointer(&w, 12);
	rr = wire_rr_begin(&w, TYPE_CNAME);
	wire_name(&w, "b.test");
	wire_rr_end(&w, rr);
	for (int i = 0; i < 2; i++) {
		wire_name(&w, "key.test");
		rr = wire_rr_begin(&w, TYPE_TSIG);
		wire_name(&w, "hmac-sha256");
		wire_bytes(&w, "\0\0\0\0\0\0\0\0\0\0", 10);
		wire_rr_end(&w, rr);
	}
	cr_assert_eq(response_parse(w.buf, w.len, 0, &facts), RESPONSE_OK);
	cr_assert_eq(facts.name_count, 1);
	expect_name(0, RESPONSE_CNAME_TARGET, "b.test");
}

Test(response, caps_names_learned)
{
	struct wire w = { .len = 0 };
	char name[32];
	size_t rr;

	wire_header(&w, 1, FLAGS_REFERRAL, 1, 0, RESPONSE_MAX_NAMES + 4, 0);
	wire_question(&w, "a.test", TYPE_A);
	for (int i = 0; i < RESPONSE_MAX_NAMES + 4; i++) {
		wire_pointer(&w, 14);	/* "test" */
		rr = wire_rr_begin(&w, TYPE_NS);
		snprintf(name, sizeof(name), "ns%d.test", i);
		wire_name(&w, name);
		wire_rr_end(&w, rr);
	}
	cr_assert_eq(response_parse(w.buf, w.len, 0, &facts), RESPONSE_OK);
	cr_assert_eq(facts.name_count, RESPONSE_MAX_NAMES);
	cr_assert_eq(facts.names_dropped, 4);
	expect_name(0, RESPONSE_NS_NAME, "ns0.test");
	expect_name(RESPONSE_MAX_NAMES - 1, RESPONSE_NS_NAME, "ns15.test");
}

Test(response, learns_cnames_of_the_answer_section_only)
{
	struct wire w = { .len = 0 };
	size_t rr;

	/* A CNAME in the authority and in the additional section: no
	 * resolver follows those. */
	wire_header(&w, 1, FLAGS_RESPONSE, 1, 0, 1, 1);
	wire_question(&w, "a.test", TYPE_A);
	wire_pointer(&w, 12);
	rr = wire_rr_begin(&w, TYPE_CNAME);
	wire_name(&w, "authority.test");
	wire_rr_end(&w, rr);
	wire_pointer(&w, 12);
	rr = wire_rr_begin(&w, TYPE_CNAME);
	wire_name(&w, "additional.test");
	wire_rr_end(&w, rr);
	cr_assert_eq(response_parse(w.buf, w.len, 0, &facts), RESPONSE_OK);
	cr_assert_eq(facts.answers, 0);
	cr_assert_eq(facts.name_count, 0);
}

/* A CNAME answer whose target has name_len octets (wire form). */
static void
cname_of_length(struct wire *w, size_t name_len)
{
	size_t rr, left = name_len - 1;

	wire_header(w, 1, FLAGS_RESPONSE, 1, 1, 0, 0);
	wire_question(w, "a.test", TYPE_A);
	wire_pointer(w, 12);
	rr = wire_rr_begin(w, TYPE_CNAME);
	while (left > 0) {
		size_t label = left - 1 > 63 ? 63 : left - 1;

		/* No label of length 0 before the end: 1 + 0 is left as 2. */
		if (left - (label + 1) == 1)
			label--;
		wire_u8(w, (uint8_t)label);
		for (size_t i = 0; i < label; i++)
			wire_u8(w, 'x');
		left -= label + 1;
	}
	wire_u8(w, 0);
	wire_rr_end(w, rr);
}

Test(response, learns_a_255_octet_target_and_refuses_256)
{
	struct wire w = { .len = 0 };

	cname_of_length(&w, DNS_NAME_MAX);
	cr_assert_eq(response_parse(w.buf, w.len, 0, &facts), RESPONSE_OK);
	cr_assert_eq(facts.name_count, 1);
	cr_assert_eq(facts.names[0].len, DNS_NAME_MAX);
	w.len = 0;
	cname_of_length(&w, DNS_NAME_MAX + 1);
	cr_assert_eq(response_parse(w.buf, w.len, 0, &facts),
	    RESPONSE_BAD_RECORD);
	cr_assert_eq(facts.name_count, 0);
}

/*
 * Which responses end the resolution of their question: each row a
 * response (flags, then the records of each section) and the answer.
 */
Test(response, says_which_responses_end_the_question)
{
	static const struct {
		const char *what;
		uint16_t flags;
		uint16_t answer_types[2];	/* 0: no record */
		uint16_t authority_type;
		int final;
	} cases[] = {
		{ "an answer of the type", FLAGS_RESPONSE, { TYPE_A }, 0, 1 },
		{ "a CNAME and the answer", FLAGS_RESPONSE,
		    { TYPE_CNAME, TYPE_A }, 0, 1 },
		{ "a CNAME alone", FLAGS_RESPONSE, { TYPE_CNAME }, 0, 0 },
		{ "a CNAME alone, SOA in authority", FLAGS_RESPONSE,
		    { TYPE_CNAME }, TYPE_SOA, 0 },
		{ "no data: SOA, no answer", FLAGS_RESPONSE, { 0 }, TYPE_SOA,
		    1 },
		{ "a referral", FLAGS_REFERRAL, { 0 }, TYPE_NS, 0 },
		{ "an empty answer", FLAGS_RESPONSE, { 0 }, 0, 0 },
		{ "a name error", FLAGS_RESPONSE | 3, { 0 }, TYPE_SOA, 1 },
		{ "a name error without SOA", FLAGS_RESPONSE | 3, { 0 }, 0, 1 },
		{ "a server failure", FLAGS_RESPONSE | 2, { 0 }, 0, 0 },
		{ "a refusal", FLAGS_RESPONSE | 5, { 0 }, 0, 0 },
		{ "a truncated answer", FLAGS_RESPONSE | DNS_FLAG_TC,
		    { TYPE_A }, 0, 0 },
		{ "a truncated name error", FLAGS_RESPONSE | DNS_FLAG_TC | 3,
		    { 0 }, TYPE_SOA, 0 },
		{ "a truncated no data", FLAGS_RESPONSE | DNS_FLAG_TC, { 0 },
		    TYPE_SOA, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct wire w = { .len = 0 };
		uint16_t an = 0;
		size_t rr;

		while (an < 2 && cases[i].answer_types[an] != 0)
			an++;
		wire_header(&w, 1, cases[i].flags, 1, an,
		    cases[i].authority_type != 0, 0);
		wire_question(&w, "a.test", TYPE_A);
		for (uint16_t k = 0; k < an; k++) {
			wire_pointer(&w, 12);
			rr = wire_rr_begin(&w, cases[i].answer_types[k]);
			if (cases[i].answer_types[k] == TYPE_CNAME)
				wire_name(&w, "b.test");
			else
				wire_u32(&w, 0xcb007101);
			wire_rr_end(&w, rr);
		}
		if (cases[i].authority_type != 0) {
			wire_pointer(&w, 14);	/* "test" */
			rr = wire_rr_begin(&w, cases[i].authority_type);
			wire_name(&w, "ns.test");
			if (cases[i].authority_type == TYPE_SOA) {
				wire_name(&w, "hostmaster.test");
				for (int k = 0; k < 5; k++)
					wire_u32(&w, 300);
			}
			wire_rr_end(&w, rr);
		}
		cr_assert_eq(response_parse(w.buf, w.len, 0, &facts),
		    RESPONSE_OK, "%s", cases[i].what);
		cr_assert_eq(facts.answers, an, "%s", cases[i].what);
		cr_assert_eq(facts.authority_soa,
		    cases[i].authority_type == TYPE_SOA, "%s", cases[i].what);
		cr_assert_eq(response_is_final(&facts), cases[i].final,
		    "%s: final %d", cases[i].what, response_is_final(&facts));
	}
}

Test(response, status_names_are_distinct)
{
	for (int i = 0; i < RESPONSE_STATUS_COUNT; i++)
		for (int j = i + 1; j < RESPONSE_STATUS_COUNT; j++)
			cr_expect_str_neq(response_status_name(i),
			    response_status_name(j));
}
