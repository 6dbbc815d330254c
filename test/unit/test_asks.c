/*
 * Unit tests for src/asks.c: the tables of who asked what with which mark.
 * Questions are built as DNS messages and parsed by dns_parse_question(), so
 * the table sees what the daemon feeds it; time is a plain number.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <criterion/criterion.h>

#include "dns.h"
#include "asks.h"
#include "wire.h"

#define TYPE_A 1
#define TYPE_AAAA 28
#define CLASS_IN 1
#define CLASS_CH 3

#define WRAP_MS (1ULL << 32)	/* times are kept modulo 2^32 ms */

static const uint8_t test_key[SIPHASH_KEY_LEN] = {
	0x6b, 0x65, 0x79, 0x20, 0x66, 0x6f, 0x72, 0x20,
	0x70, 0x65, 0x6e, 0x64, 0x69, 0x6e, 0x67, 0x21,
};

/* Builds the query message for name and parses it, as the daemon does. */
static struct dns_question
question(const char *name, uint16_t qtype, uint16_t qclass, uint16_t id)
{
	uint8_t msg[512];
	struct dns_question q;
	size_t len = 12;

	memset(msg, 0, 12);
	wire_put16(msg, id);
	wire_put16(msg + 2, 0x0100);
	wire_put16(msg + 4, 1);
	len += wire_put_name(msg + len, name);
	wire_put16(msg + len, qtype);
	wire_put16(msg + len + 2, qclass);
	len += 4;
	memset(&q, 0, sizeof(q));
	cr_assert_eq(dns_parse_question(msg, len, &q), DNS_OK, "%s", name);
	return q;
}

static struct dns_question
question_a(const char *name, uint16_t id)
{
	return question(name, TYPE_A, CLASS_IN, id);
}

/* A client at 192.0.2.<host>:40000+host with the given id and mark. */
static struct asks_client
client(unsigned int host, uint16_t id, uint32_t mark)
{
	struct asks_client c;
	char addr[32];

	memset(&c, 0, sizeof(c));
	snprintf(addr, sizeof(addr), "192.0.2.%u", host % 256);
	c.addr.family = AF_INET;
	cr_assert_eq(inet_pton(AF_INET, addr, c.addr.addr), 1);
	c.addr.port = (uint16_t)(40000 + host);
	c.id = id;
	c.mark = mark;
	return c;
}

static struct asks *
table_new(size_t max_entries, uint64_t timeout_ms)
{
	struct asks *table;

	table = asks_new(max_entries, timeout_ms, ASKS_ALL, test_key);
	cr_assert_not_null(table);
	return table;
}

static unsigned int
match_at(struct asks *table, const struct dns_question *q,
    uint64_t now_ms, struct asks_match *match)
{
	memset(match, 0xa5, sizeof(*match));
	return asks_match(table, q, now_ms, match);
}

Test(asks, matches_added_question)
{
	struct asks *table = table_new(16, 5000);
	struct dns_question asked = question_a("www.example.com", 0x1111);
	struct dns_question upstream = question_a("www.example.com", 0x9999);
	struct asks_client c = client(10, 0x1111, 0x5);
	struct asks_match m;

	cr_assert_eq(asks_add(table, &asked, &c, 1000), 0);
	cr_assert_eq(asks_count(table), 1);
	cr_assert_eq(match_at(table, &upstream, 1001, &m), 1);
	cr_assert_eq(m.all.count, 1);
	cr_assert_eq(m.all.distinct_marks, 1);
	cr_assert_eq(m.all.first_mark, 0x5);
	cr_assert_eq(m.all.last_mark, 0x5);
	cr_assert_eq(m.all.id_matched, 0);
	asks_free(table);
}

Test(asks, finds_nothing_in_empty_table)
{
	struct asks *table = table_new(16, 5000);
	struct dns_question q = question_a("www.example.com", 1);
	struct asks_match m;

	cr_assert_eq(match_at(table, &q, 0, &m), 0);
	cr_assert_eq(m.all.count, 0);
	cr_assert_eq(m.all.distinct_marks, 0);
	cr_assert_eq(m.all.id_matched, 0);
	cr_assert_eq(asks_count(table), 0);
	asks_free(table);
}

Test(asks, matches_regardless_of_case)
{
	struct asks *table = table_new(16, 5000);
	struct dns_question asked = question_a("www.example.com", 1);
	struct dns_question upstream = question_a("wWw.ExAmPlE.cOm", 2);
	struct dns_question shouted = question_a("WWW.EXAMPLE.COM", 3);
	struct asks_client c = client(10, 1, 0x7);
	struct asks_match m;

	cr_assert_eq(asks_add(table, &asked, &c, 0), 0);
	cr_assert_eq(match_at(table, &upstream, 1, &m), 1);
	cr_assert_eq(m.all.first_mark, 0x7);
	cr_assert_eq(match_at(table, &shouted, 1, &m), 1);

	/* The other way round: a mixed-case client, a lower-case upstream. */
	asked = question_a("MiXeD.ExAmPlE.NeT", 4);
	upstream = question_a("mixed.example.net", 5);
	cr_assert_eq(asks_add(table, &asked, &c, 2), 0);
	cr_assert_eq(match_at(table, &upstream, 3, &m), 1);
	asks_free(table);
}

Test(asks, tells_questions_apart)
{
	static const struct {
		const char *name;
		uint16_t qtype, qclass;
	} others[] = {
		{ "www.example.com", TYPE_AAAA, CLASS_IN },	/* type */
		{ "www.example.com", TYPE_A, CLASS_CH },	/* class */
		{ "example.com", TYPE_A, CLASS_IN },		/* ancestor */
		{ "ww.example.com", TYPE_A, CLASS_IN },
		{ "www.example.co", TYPE_A, CLASS_IN },
		{ "www.example.com.example.com", TYPE_A, CLASS_IN },
		{ "wwwexample.com", TYPE_A, CLASS_IN },
		{ ".", TYPE_A, CLASS_IN },
	};
	struct asks *table = table_new(16, 5000);
	struct dns_question asked = question_a("www.example.com", 1);
	struct asks_client c = client(10, 1, 0x7);
	struct asks_match m;

	cr_assert_eq(asks_add(table, &asked, &c, 0), 0);
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		struct dns_question q = question(others[i].name,
		    others[i].qtype, others[i].qclass, 1);

		cr_assert_eq(match_at(table, &q, 1, &m), 0,
		    "%s type %u class %u matched", others[i].name,
		    others[i].qtype, others[i].qclass);
		cr_assert_eq(m.all.count, 0);
		cr_assert_eq(m.all.distinct_marks, 0);
		cr_assert_eq(m.all.id_matched, 0);
	}
	asks_free(table);
}

/*
 * "each living timeout_ms after it was added", whatever the clock says:
 * times are kept in 32 bits of milliseconds, which wrap every 2^32 ms
 * (about 49.7 days).
 */
Test(asks, lives_for_timeout_after_add)
{
	static const uint64_t added[] = { 1000, WRAP_MS - 2500, 1ULL << 40 };

	for (size_t i = 0; i < sizeof(added) / sizeof(added[0]); i++) {
		struct asks *table = table_new(16, 5000);
		struct dns_question q = question_a("www.example.com", 1);
		struct asks_client c = client(10, 1, 0x7);
		uint64_t at = added[i];
		struct asks_match m;

		cr_assert_eq(asks_add(table, &q, &c, at), 0);
		cr_assert_eq(match_at(table, &q, at, &m), 1);
		cr_assert_eq(match_at(table, &q, at + 5000 - 1, &m), 1);
		cr_assert_eq(m.all.last_ms, at);
		cr_assert_eq(match_at(table, &q, at + 5000 + 1, &m), 0);
		cr_assert_eq(m.all.distinct_marks, 0);
		cr_assert_eq(match_at(table, &q, at + 1000000, &m), 0);
		asks_free(table);
	}
}

Test(asks, expires_and_counts)
{
	struct asks *table = table_new(16, 1000);
	struct asks_match m;
	char name[64];

	for (unsigned int i = 0; i < 3; i++) {
		struct dns_question q;
		struct asks_client c = client(i, (uint16_t)i, i);

		snprintf(name, sizeof(name), "early%u.example", i);
		q = question_a(name, (uint16_t)i);
		cr_assert_eq(asks_add(table, &q, &c, 0), 0);
	}
	for (unsigned int i = 0; i < 2; i++) {
		struct dns_question q;
		struct asks_client c = client(i, (uint16_t)i, i);

		snprintf(name, sizeof(name), "late%u.example", i);
		q = question_a(name, (uint16_t)i);
		cr_assert_eq(asks_add(table, &q, &c, 100), 0);
	}
	cr_assert_eq(asks_count(table), 5);
	cr_assert_eq(asks_expire(table, 999), 0);
	cr_assert_eq(asks_count(table), 5);
	cr_assert_eq(asks_expire(table, 1050), 3);
	cr_assert_eq(asks_count(table), 2);
	cr_assert_eq(asks_expire(table, 1050), 0);
	{
		struct dns_question late = question_a("late1.example", 9);
		struct dns_question early = question_a("early1.example", 9);

		cr_assert_eq(match_at(table, &late, 1050, &m), 1);
		cr_assert_eq(match_at(table, &early, 1050, &m), 0);
	}
	cr_assert_eq(asks_expire(table, 1150), 2);
	cr_assert_eq(asks_count(table), 0);
	cr_assert_eq(asks_expire(table, 5000), 0);
	asks_free(table);
}

Test(asks, evicts_oldest_when_full)
{
	struct asks *table = table_new(4, 60000);
	struct dns_question q[5];
	struct asks_match m;
	char name[64];

	for (unsigned int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "host%u.example.org", i);
		q[i] = question_a(name, (uint16_t)(100 + i));
	}
	for (unsigned int i = 0; i < 4; i++) {
		struct asks_client c = client(i, (uint16_t)(100 + i),
		    0x10 + i);

		cr_assert_eq(asks_add(table, &q[i], &c, i), 0,
		    "add %u evicted", i);
		cr_assert_eq(asks_count(table), i + 1);
	}
	{
		struct asks_client c = client(4, 104, 0x14);

		cr_assert_eq(asks_add(table, &q[4], &c, 4), 1);
	}
	cr_assert_eq(asks_count(table), 4);
	cr_assert_eq(match_at(table, &q[0], 5, &m), 0, "oldest still there");
	for (unsigned int i = 1; i < 5; i++) {
		cr_assert_eq(match_at(table, &q[i], 5, &m), 1, "host%u lost",
		    i);
		cr_assert_eq(m.all.first_mark, 0x10 + i);
	}
	asks_free(table);
}

Test(asks, never_holds_more_than_cap)
{
	struct asks *table = table_new(4, 60000);
	char name[64];

	for (unsigned int i = 0; i < 40; i++) {
		struct asks_client c = client(i, (uint16_t)i, i);
		struct dns_question q;
		int evicted;

		snprintf(name, sizeof(name), "n%u.example", i);
		q = question_a(name, (uint16_t)i);
		evicted = asks_add(table, &q, &c, i);
		cr_assert_eq(evicted, i >= 4 ? 1 : 0, "add %u", i);
		cr_assert_eq(asks_count(table), i < 4 ? i + 1 : 4,
		    "after add %u", i);
	}
	asks_free(table);
}

/* Expired entries make room before anything live is evicted. */
Test(asks, expires_before_evicting)
{
	struct asks *table = table_new(4, 100);
	struct asks_match m;
	char name[64];

	for (unsigned int i = 0; i < 4; i++) {
		struct asks_client c = client(i, (uint16_t)i, i);
		struct dns_question q;

		snprintf(name, sizeof(name), "old%u.example", i);
		q = question_a(name, (uint16_t)i);
		cr_assert_eq(asks_add(table, &q, &c, 0), 0);
	}
	{
		struct asks_client c = client(9, 9, 9);
		struct dns_question q = question_a("new.example", 9);

		cr_assert_eq(asks_add(table, &q, &c, 200), 0,
		    "evicted an expired entry and called it live");
		cr_assert_eq(match_at(table, &q, 201, &m), 1);
		cr_assert_eq(m.all.first_mark, 9);
	}
	cr_assert_leq(asks_count(table), 4);
	asks_free(table);
}

/*
 * The same client asks the same question again after its first entry
 * expired: the table must stay whole, with room for as many entries as
 * before.
 */
Test(asks, stays_whole_when_question_returns_after_expiry)
{
	struct asks *table = table_new(8, 100);
	struct dns_question q = question_a("again.example", 1);
	struct asks_client c = client(1, 1, 0x42);
	struct asks_match m;
	char name[64];

	cr_assert_eq(asks_add(table, &q, &c, 0), 0);
	cr_assert_eq(asks_add(table, &q, &c, 500), 0);
	cr_assert_eq(asks_count(table), 1, "%zu entries after asking again",
	    asks_count(table));
	cr_assert_eq(match_at(table, &q, 550, &m), 1);
	cr_assert_eq(m.all.first_mark, 0x42);
	for (unsigned int i = 0; i < 7; i++) {
		struct asks_client other = client(10 + i, (uint16_t)i,
		    0x100 + i);
		struct dns_question oq;

		snprintf(name, sizeof(name), "other%u.example", i);
		oq = question_a(name, (uint16_t)i);
		cr_assert_eq(asks_add(table, &oq, &other, 510 + i), 0,
		    "add %u of 7 evicted with room for 8", i);
	}
	cr_assert_eq(asks_count(table), 8);
	cr_assert_eq(match_at(table, &q, 550, &m), 1,
	    "lost the returning question");
	cr_assert_eq(m.all.first_mark, 0x42);
	for (unsigned int i = 0; i < 7; i++) {
		struct dns_question oq;

		snprintf(name, sizeof(name), "other%u.example", i);
		oq = question_a(name, 0);
		cr_assert_eq(match_at(table, &oq, 550, &m), 1, "%s lost",
		    name);
		cr_assert_eq(m.all.first_mark, 0x100 + i);
	}
	cr_assert_eq(asks_expire(table, 10000), 8);
	cr_assert_eq(asks_count(table), 0);
	asks_free(table);
}

/* Expiry and reuse many times over: the table neither leaks nor shrinks. */
Test(asks, keeps_capacity_through_expiry_cycles)
{
	struct asks *table = table_new(16, 10);
	struct asks_match m;
	char name[64];
	uint64_t now = 0;

	for (unsigned int round = 0; round < 50; round++) {
		for (unsigned int i = 0; i < 16; i++) {
			struct asks_client c = client(i, (uint16_t)i,
			    i % 2 ? round : 0x7);
			struct dns_question q;

			/* Half the names come back every round, same mark. */
			snprintf(name, sizeof(name), "r%u-n%u.example",
			    i % 2 ? round : 0, i);
			q = question_a(name, (uint16_t)i);
			cr_assert_eq(asks_add(table, &q, &c, now), 0,
			    "round %u add %u evicted", round, i);
		}
		cr_assert_eq(asks_count(table), 16, "round %u: %zu entries",
		    round, asks_count(table));
		for (unsigned int i = 0; i < 16; i++) {
			struct dns_question q;

			snprintf(name, sizeof(name), "r%u-n%u.example",
			    i % 2 ? round : 0, i);
			q = question_a(name, 0);
			cr_assert_eq(match_at(table, &q, now, &m), 1,
			    "round %u: %s", round, name);
			cr_assert_eq(m.all.last_mark, i % 2 ? round : 0x7);
		}
		now += 100;
	}
	asks_free(table);
}

Test(asks, counts_distinct_marks_in_time_order)
{
	struct asks *table = table_new(16, 5000);
	struct dns_question q = question_a("shared.example", 0x4444);
	struct asks_client alice = client(1, 0x1111, 0x1);
	struct asks_client bob = client(2, 0x2222, 0x2);
	struct asks_match m;

	cr_assert_eq(asks_add(table, &q, &alice, 100), 0);
	cr_assert_eq(asks_add(table, &q, &bob, 200), 0);
	cr_assert_eq(match_at(table, &q, 300, &m), 2);
	cr_assert_eq(m.all.count, 2);
	cr_assert_eq(m.all.distinct_marks, 2);
	cr_assert_eq(m.all.first_mark, 0x1);
	cr_assert_eq(m.all.last_mark, 0x2);
	cr_assert_eq(m.all.id_matched, 0);
	asks_free(table);

	/* The same two, the other way round. */
	table = table_new(16, 5000);
	cr_assert_eq(asks_add(table, &q, &bob, 100), 0);
	cr_assert_eq(asks_add(table, &q, &alice, 200), 0);
	cr_assert_eq(match_at(table, &q, 300, &m), 2);
	cr_assert_eq(m.all.first_mark, 0x2);
	cr_assert_eq(m.all.last_mark, 0x1);
	asks_free(table);
}

Test(asks, counts_one_mark_shared_by_clients)
{
	struct asks *table = table_new(16, 5000);
	struct dns_question q = question_a("shared.example", 0x4444);
	struct asks_match m;

	for (unsigned int i = 0; i < 3; i++) {
		struct asks_client c = client(i, (uint16_t)(0x100 + i), 0x9);

		cr_assert_eq(asks_add(table, &q, &c, 100 + i), 0);
	}
	cr_assert_geq(match_at(table, &q, 200, &m), 1);
	cr_assert_eq(m.all.distinct_marks, 1);
	cr_assert_eq(m.all.first_mark, 0x9);
	cr_assert_eq(m.all.last_mark, 0x9);
	asks_free(table);
}

Test(asks, counts_three_marks_as_two_or_more)
{
	struct asks *table = table_new(16, 5000);
	struct dns_question q = question_a("shared.example", 0x4444);
	struct asks_match m;

	for (unsigned int i = 0; i < 3; i++) {
		struct asks_client c = client(i, (uint16_t)(0x100 + i),
		    0x10 * (i + 1));

		cr_assert_eq(asks_add(table, &q, &c, 100 + i), 0);
	}
	cr_assert_eq(match_at(table, &q, 200, &m), 3);
	cr_assert_eq(m.all.distinct_marks, 2);
	cr_assert_eq(m.all.first_mark, 0x10);
	cr_assert_eq(m.all.last_mark, 0x30);
	asks_free(table);
}

Test(asks, treats_mark_zero_as_a_mark)
{
	struct asks *table = table_new(16, 5000);
	struct dns_question q = question_a("zero.example", 1);
	struct asks_client unmarked = client(1, 1, 0);
	struct asks_client marked = client(2, 2, 0x5);
	struct asks_match m;

	cr_assert_eq(asks_add(table, &q, &unmarked, 0), 0);
	cr_assert_eq(match_at(table, &q, 1, &m), 1);
	cr_assert_eq(m.all.distinct_marks, 1);
	cr_assert_eq(m.all.first_mark, 0);
	cr_assert_eq(asks_add(table, &q, &marked, 2), 0);
	cr_assert_eq(match_at(table, &q, 3, &m), 2);
	cr_assert_eq(m.all.distinct_marks, 2);
	cr_assert_eq(m.all.first_mark, 0);
	cr_assert_eq(m.all.last_mark, 0x5);
	asks_free(table);
}

Test(asks, only_live_entries_count_among_marks)
{
	struct asks *table = table_new(16, 1000);
	struct dns_question q = question_a("shared.example", 1);
	struct asks_client early = client(1, 1, 0x1);
	struct asks_client late = client(2, 2, 0x2);
	struct asks_match m;

	cr_assert_eq(asks_add(table, &q, &early, 0), 0);
	cr_assert_eq(asks_add(table, &q, &late, 800), 0);
	cr_assert_eq(match_at(table, &q, 900, &m), 2);
	cr_assert_eq(match_at(table, &q, 1500, &m), 1);
	cr_assert_eq(m.all.distinct_marks, 1);
	cr_assert_eq(m.all.first_mark, 0x2);
	cr_assert_eq(m.all.last_mark, 0x2);
	asks_free(table);
}

/* asks_match() takes the upstream query, whose id is the resolver's. */
Test(asks, reports_id_match)
{
	struct asks *table = table_new(16, 5000);
	struct dns_question alice_q = question_a("shared.example", 0x1111);
	struct dns_question bob_q = question_a("shared.example", 0x2222);
	struct asks_client alice = client(1, 0x1111, 0x1);
	struct asks_client bob = client(2, 0x2222, 0x2);
	struct asks_match m;
	struct dns_question upstream;

	cr_assert_eq(asks_add(table, &alice_q, &alice, 100), 0);
	cr_assert_eq(asks_add(table, &bob_q, &bob, 200), 0);

	upstream = question_a("SHARED.example", 0x2222);
	cr_assert_eq(match_at(table, &upstream, 300, &m), 2);
	cr_assert_eq(m.all.id_matched, 1);
	cr_assert_eq(m.all.id_mark, 0x2);

	upstream = question_a("shared.EXAMPLE", 0x1111);
	cr_assert_eq(match_at(table, &upstream, 300, &m), 2);
	cr_assert_eq(m.all.id_matched, 1);
	cr_assert_eq(m.all.id_mark, 0x1);

	upstream = question_a("shared.example", 0x3333);
	cr_assert_eq(match_at(table, &upstream, 300, &m), 2);
	cr_assert_eq(m.all.id_matched, 0);
	asks_free(table);
}

Test(asks, reports_newest_entry_with_matching_id)
{
	struct asks *table = table_new(16, 5000);
	struct dns_question q = question_a("shared.example", 0x1111);
	struct asks_client alice = client(1, 0x1111, 0x1);
	struct asks_client bob = client(2, 0x2222, 0x2);
	struct asks_client carol = client(3, 0x1111, 0x3);
	struct asks_match m;

	cr_assert_eq(asks_add(table, &q, &alice, 100), 0);
	cr_assert_eq(asks_add(table, &q, &bob, 200), 0);
	cr_assert_eq(asks_add(table, &q, &carol, 300), 0);
	cr_assert_eq(match_at(table, &q, 400, &m), 3);
	cr_assert_eq(m.all.id_matched, 1);
	cr_assert_eq(m.all.id_mark, 0x3);
	cr_assert_eq(m.all.first_mark, 0x1);
	cr_assert_eq(m.all.last_mark, 0x3);
	asks_free(table);
}

/* ASKS_BY_ID: one mark's two queries of a question are two entries, each
 * found by its own id with its own address. */
Test(asks, keeps_each_id_apart_by_id)
{
	struct asks *table = asks_new(16, 5000, ASKS_IDS | ASKS_CLIENTS |
	    ASKS_BY_ID, test_key);
	struct dns_question to_v4 = question_a("www.example", 0x1111);
	struct dns_question to_v6 = question_a("www.example", 0x2222);
	struct dns_question other = question_a("www.example", 0x3333);
	struct asks_client server4 = client(11, 0x1111, 0x1);
	struct asks_client server6 = client(12, 0x2222, 0x1);
	struct asks_match m;

	cr_assert_not_null(table);
	cr_assert_eq(asks_add(table, &to_v4, &server4, 100), 0);
	cr_assert_eq(asks_add(table, &to_v6, &server6, 101), 0);
	cr_assert_eq(asks_count(table), 2);
	cr_assert_eq(match_at(table, &to_v4, 102, &m), 1);
	cr_assert_eq(m.all.id_matched, 1);
	cr_assert_eq(m.all.id_mark, 0x1);
	cr_assert_eq(memcmp(&m.all.id_client, &server4.addr,
	    sizeof(server4.addr)), 0);
	cr_assert_eq(match_at(table, &to_v6, 102, &m), 1);
	cr_assert_eq(m.all.id_matched, 1);
	cr_assert_eq(memcmp(&m.all.id_client, &server6.addr,
	    sizeof(server6.addr)), 0);
	cr_assert_eq(match_at(table, &other, 102, &m), 0);
	/* The same id again is the same entry. */
	cr_assert_eq(asks_add(table, &to_v4, &server4, 103), 0);
	cr_assert_eq(asks_count(table), 2);
	asks_free(table);
}

Test(asks, does_not_match_id_of_other_question)
{
	struct asks *table = table_new(16, 5000);
	struct dns_question asked = question_a("one.example", 0x1111);
	struct dns_question other = question_a("two.example", 0x2222);
	struct asks_client alice = client(1, 0x1111, 0x1);
	struct asks_client bob = client(2, 0x2222, 0x2);
	struct dns_question upstream = question_a("one.example", 0x2222);
	struct asks_match m;

	cr_assert_eq(asks_add(table, &asked, &alice, 100), 0);
	cr_assert_eq(asks_add(table, &other, &bob, 100), 0);
	cr_assert_eq(match_at(table, &upstream, 200, &m), 1);
	cr_assert_eq(m.all.id_matched, 0);
	cr_assert_eq(m.all.first_mark, 0x1);
	asks_free(table);
}

Test(asks, frees_null)
{
	asks_free(NULL);
}

Test(asks, refuses_zero_entries)
{
	cr_assert_null(asks_new(0, 5000, ASKS_ALL, test_key));
}

Test(asks, matches_each_of_many_questions)
{
	struct asks *table = table_new(2048, 60000);
	struct asks_match m;
	char name[64];

	for (unsigned int i = 0; i < 2000; i++) {
		struct asks_client c = client(i, (uint16_t)i, i * 3);
		struct dns_question q;

		snprintf(name, sizeof(name), "q%u.example", i);
		q = question_a(name, (uint16_t)i);
		cr_assert_eq(asks_add(table, &q, &c, i), 0);
	}
	cr_assert_eq(asks_count(table), 2000);
	for (unsigned int i = 0; i < 2000; i++) {
		struct dns_question q;

		snprintf(name, sizeof(name), "Q%u.EXAMPLE", i);
		q = question_a(name, 0xffff);
		cr_assert_eq(match_at(table, &q, 3000, &m), 1, "%s", name);
		cr_assert_eq(m.all.distinct_marks, 1);
		cr_assert_eq(m.all.first_mark, i * 3, "%s", name);
	}
	asks_free(table);
}

Test(asks, stays_bounded_under_flood)
{
	const size_t cap = 65536, adds = 100000;
	struct asks *table = table_new(cap, 60000);
	struct asks_match m;
	size_t memory, evictions = 0;
	char name[64];

	memory = asks_memory(table);
	cr_assert_gt(memory, 0);
	for (size_t i = 0; i < adds; i++) {
		struct asks_client c = client((unsigned int)i, (uint16_t)i,
		    (uint32_t)i);
		struct dns_question q;

		snprintf(name, sizeof(name), "flood%zu.example.com", i);
		q = question_a(name, (uint16_t)i);
		evictions += (size_t)asks_add(table, &q, &c, i / 100);
		cr_assert_leq(asks_count(table), cap);
	}
	cr_assert_eq(asks_count(table), cap);
	cr_assert_eq(evictions, adds - cap);
	cr_assert_eq(asks_memory(table), memory, "memory grew from %zu",
	    memory);
	{
		struct dns_question first = question_a("flood0.example.com", 0);
		struct dns_question last = question_a("flood99999.example.com",
		    0);
		struct dns_question oldest_kept = question_a(
		    "flood34464.example.com", 0);
		struct dns_question newest_gone = question_a(
		    "flood34463.example.com", 0);

		cr_assert_eq(match_at(table, &first, 1000, &m), 0);
		cr_assert_eq(match_at(table, &last, 1000, &m), 1);
		cr_assert_eq(m.all.first_mark, 99999);
		cr_assert_eq(match_at(table, &oldest_kept, 1000, &m), 1);
		cr_assert_eq(match_at(table, &newest_gone, 1000, &m), 0);
	}
	asks_free(table);
}

Test(asks, reports_memory_that_does_not_grow)
{
	struct asks *small = table_new(16, 5000);
	struct asks *large = table_new(4096, 5000);
	size_t before = asks_memory(small);
	struct asks_client c = client(1, 1, 1);
	char name[64];

	cr_assert_gt(before, 0);
	cr_assert_gt(asks_memory(large), before);
	for (unsigned int i = 0; i < 100; i++) {
		struct dns_question q;

		snprintf(name, sizeof(name), "m%u.example", i);
		q = question_a(name, 1);
		asks_add(small, &q, &c, i);
	}
	cr_assert_eq(asks_memory(small), before);
	asks_free(small);
	asks_free(large);
}

Test(asks, reports_single_mark_among_all_entries)
{
	struct asks *table = table_new(16, 1000);
	struct dns_question a = question_a("a.example", 1);
	struct dns_question b = question_a("b.example", 2);
	struct dns_question c = question_a("c.example", 3);
	struct asks_client five = client(1, 1, 0x5);
	struct asks_client five_too = client(2, 2, 0x5);
	struct asks_client six = client(3, 3, 0x6);
	uint32_t mark = 0;

	cr_assert_eq(asks_single_mark(table, &mark), 0, "empty table");
	cr_assert_eq(asks_add(table, &a, &five, 0), 0);
	cr_assert_eq(asks_single_mark(table, &mark), 1);
	cr_assert_eq(mark, 0x5);
	cr_assert_eq(asks_add(table, &b, &five_too, 100), 0);
	mark = 0;
	cr_assert_eq(asks_single_mark(table, &mark), 1);
	cr_assert_eq(mark, 0x5);
	cr_assert_eq(asks_add(table, &c, &six, 200), 0);
	cr_assert_eq(asks_single_mark(table, &mark), 0, "marks 5 and 6");
	/* a and b expire; only c, with mark 6, is left. */
	cr_assert_eq(asks_expire(table, 1150), 2);
	mark = 0;
	cr_assert_eq(asks_single_mark(table, &mark), 1);
	cr_assert_eq(mark, 0x6);
	cr_assert_eq(asks_expire(table, 5000), 1);
	cr_assert_eq(asks_single_mark(table, &mark), 0, "emptied table");
	asks_free(table);
}

Test(asks, reports_single_mark_after_eviction)
{
	struct asks *table = table_new(2, 60000);
	struct dns_question a = question_a("a.example", 1);
	struct dns_question b = question_a("b.example", 2);
	struct dns_question c = question_a("c.example", 3);
	struct asks_client six = client(1, 1, 0x6);
	struct asks_client seven = client(2, 2, 0x7);
	uint32_t mark = 0;

	cr_assert_eq(asks_add(table, &a, &six, 0), 0);
	cr_assert_eq(asks_add(table, &b, &seven, 1), 0);
	cr_assert_eq(asks_single_mark(table, &mark), 0);
	cr_assert_eq(asks_add(table, &c, &seven, 2), 1);
	cr_assert_eq(asks_single_mark(table, &mark), 1,
	    "the only mark-6 entry was evicted");
	cr_assert_eq(mark, 0x7);
	asks_free(table);
}

Test(asks, counts_mark_zero_as_the_single_mark)
{
	struct asks *table = table_new(16, 1000);
	struct dns_question a = question_a("a.example", 1);
	struct dns_question b = question_a("b.example", 2);
	struct asks_client unmarked = client(1, 1, 0);
	struct asks_client marked = client(2, 2, 0x5);
	uint32_t mark = 0x77;

	cr_assert_eq(asks_add(table, &a, &unmarked, 0), 0);
	cr_assert_eq(asks_single_mark(table, &mark), 1);
	cr_assert_eq(mark, 0);
	cr_assert_eq(asks_add(table, &b, &marked, 1), 0);
	cr_assert_eq(asks_single_mark(table, &mark), 0);
	asks_free(table);
}

Test(asks, keeps_time_across_32_bits)
{
	struct asks *table = table_new(16, 5000);
	struct dns_question q = question_a("wrap.example", 1);
	struct asks_client alice = client(1, 1, 0x1);
	struct asks_client bob = client(2, 2, 0x2);
	struct asks_match m;
	uint32_t mark;

	cr_assert_eq(asks_add(table, &q, &alice, WRAP_MS - 100), 0);
	cr_assert_eq(asks_add(table, &q, &bob, WRAP_MS + 100), 0);
	cr_assert_eq(match_at(table, &q, WRAP_MS + 200, &m), 2);
	cr_assert_eq(m.all.first_mark, 0x1);
	cr_assert_eq(m.all.last_mark, 0x2);
	cr_assert_eq(m.all.last_ms, WRAP_MS + 100);
	cr_assert_eq(m.all.other_last_ms, WRAP_MS - 100);
	cr_assert_eq(match_at(table, &q, WRAP_MS - 100 + 4999, &m), 2);
	cr_assert_eq(match_at(table, &q, WRAP_MS - 100 + 5000, &m), 1);
	cr_assert_eq(m.all.first_mark, 0x2);
	cr_assert_eq(asks_expire(table, WRAP_MS + 100 + 4999), 1);
	cr_assert_eq(asks_expire(table, WRAP_MS + 100 + 5000), 1);
	cr_assert_eq(asks_count(table), 0);

	/*
	 * Nothing asked for 2^32 ms exactly: the 32-bit age of the old entry
	 * is 0 again, but it is long dead, and asking again makes a new one.
	 */
	cr_assert_eq(asks_add(table, &q, &alice, 2 * WRAP_MS), 0);
	cr_assert_eq(asks_add(table, &q, &alice, 2 * WRAP_MS + 1), 0);
	cr_assert_eq(match_at(table, &q, 3 * WRAP_MS, &m), 0);
	cr_assert_eq(match_at(table, &q, 5 * WRAP_MS + 1, &m), 0);
	cr_assert_eq(asks_single_mark(table, &mark), 1, "not expired yet");
	cr_assert_eq(asks_add(table, &q, &alice, 3 * WRAP_MS + 1), 0);
	cr_assert_eq(asks_count(table), 1);
	cr_assert_eq(match_at(table, &q, 3 * WRAP_MS + 2, &m), 1);
	cr_assert_eq(m.all.last_ms, 3 * WRAP_MS + 1);
	/* A new entry, asked once: one release removes it. */
	cr_assert_eq(asks_release(table, &q, 0x1), 1);
	cr_assert_eq(asks_add(table, &q, &alice, 4 * WRAP_MS), 0);
	cr_assert_eq(asks_expire(table, 5 * WRAP_MS), 1);
	cr_assert_eq(asks_count(table), 0);
	asks_free(table);
}

/* The longest timeout: ages up to two of them, 2^31 ms, stay exact. */
Test(asks, keeps_the_longest_timeout_exact)
{
	const uint64_t timeout = ASKS_MAX_TIMEOUT_MS;
	struct asks *table = table_new(16, timeout);
	struct dns_question early = question_a("early.example", 1);
	struct dns_question late = question_a("late.example", 2);
	struct asks_client c = client(1, 1, 0x1);
	struct asks_match m;

	cr_assert_eq(asks_add(table, &early, &c, 0), 0);
	cr_assert_eq(asks_add(table, &late, &c, timeout - 1), 0);
	cr_assert_eq(match_at(table, &early, timeout - 1, &m), 1);
	cr_assert_eq(match_at(table, &early, timeout, &m), 0);
	cr_assert_eq(match_at(table, &early, 2 * timeout - 2, &m), 0,
	    "an age just under 2^31 ms looked live");
	cr_assert_eq(match_at(table, &late, 2 * timeout - 2, &m), 1);
	cr_assert_eq(m.all.last_ms, timeout - 1);
	cr_assert_eq(asks_expire(table, 2 * timeout - 2), 1);
	cr_assert_eq(match_at(table, &late, 2 * timeout - 1, &m), 0);
	cr_assert_eq(asks_expire(table, 2 * timeout - 1), 1);
	asks_free(table);
}

Test(asks, refuses_what_it_cannot_number)
{
	cr_assert_null(asks_new(ASKS_MAX_ENTRIES + 1, 5000, ASKS_ALL,
	    test_key));
	cr_assert_null(asks_new(16, ASKS_MAX_TIMEOUT_MS + 1,
	    ASKS_ALL, test_key));
}

/* Full to the last entry without evicting; one more evicts the oldest. */
Test(asks, holds_exactly_its_cap)
{
	const unsigned int cap = 1000;
	struct asks *table = table_new(cap, 60000);
	size_t memory = asks_memory(table);
	struct asks_match m;
	uint32_t mark;
	char name[64];

	for (unsigned int i = 0; i < cap; i++) {
		struct asks_client c = client(i, (uint16_t)i, 0x7);
		struct dns_question q;

		snprintf(name, sizeof(name), "cap%u.example", i);
		q = question_a(name, (uint16_t)i);
		cr_assert_eq(asks_add(table, &q, &c, i), 0, "add %u", i);
	}
	cr_assert_eq(asks_count(table), cap);
	cr_assert_eq(asks_single_mark(table, &mark), 1);
	cr_assert_eq(mark, 0x7);
	for (unsigned int i = 0; i < cap; i++) {
		struct dns_question q;

		snprintf(name, sizeof(name), "cap%u.example", i);
		q = question_a(name, (uint16_t)i);
		cr_assert_eq(match_at(table, &q, cap, &m), 1, "%s lost", name);
		cr_assert_eq(m.all.id_matched, 1);
	}
	{
		struct dns_question q = question_a("over.example", 1);
		struct dns_question oldest = question_a("cap0.example", 1);
		struct dns_question second = question_a("cap1.example", 1);
		struct asks_client c = client(1, 1, 0x8);

		cr_assert_eq(asks_add(table, &q, &c, cap), 1);
		cr_assert_eq(asks_count(table), cap);
		cr_assert_eq(match_at(table, &oldest, cap, &m), 0);
		cr_assert_eq(match_at(table, &second, cap, &m), 1);
		cr_assert_eq(asks_single_mark(table, &mark), 0);
		/* A released entry makes room: no eviction for the next. */
		cr_assert_eq(asks_release(table, &second, 0x7), 1);
		q = question_a("room.example", 2);
		cr_assert_eq(asks_add(table, &q, &c, cap + 1), 0);
		cr_assert_eq(asks_count(table), cap);
	}
	cr_assert_eq(asks_memory(table), memory);
	asks_free(table);
}

/*
 * Who asked first counts from each mark's latest ask: a mark that asks
 * again is the newest asker, not the first (chains run by last activity).
 */
Test(asks, counts_first_asker_from_the_latest_ask)
{
	/* Alice, bob, carol, then alice again, 50 ms apart. */
	static const uint32_t marks[] = { 0x1, 0x2, 0x3, 0x1 };
	struct asks *table = table_new(16, 5000);
	struct dns_question q = question_a("again.example", 1);
	struct asks_match m;

	for (unsigned int i = 0; i < 4; i++) {
		struct asks_client c = client(i, (uint16_t)i, marks[i]);

		cr_assert_eq(asks_add(table, &q, &c, 100 + 50 * i), 0);
	}
	cr_assert_eq(match_at(table, &q, 400, &m), 3);
	cr_assert_eq(m.all.first_mark, 0x2);
	cr_assert_eq(m.all.first_ms, 150);
	cr_assert_eq(m.all.last_mark, 0x1);
	cr_assert_eq(m.all.last_ms, 250);
	cr_assert_eq(m.all.other_last_ms, 200);
	/* Bob answered: carol asked first of those left. */
	cr_assert_eq(asks_release(table, &q, 0x2), 1);
	cr_assert_eq(match_at(table, &q, 400, &m), 2);
	cr_assert_eq(m.all.first_mark, 0x3);
	cr_assert_eq(m.all.last_mark, 0x1);
	/* Alice answered twice: carol alone. */
	cr_assert_eq(asks_release(table, &q, 0x1), 0, "asked twice");
	cr_assert_eq(asks_release(table, &q, 0x1), 1);
	cr_assert_eq(match_at(table, &q, 400, &m), 1);
	cr_assert_eq(m.all.first_mark, 0x3);
	cr_assert_eq(m.all.last_mark, 0x3);
	asks_free(table);
}

/* Removing or refreshing entries anywhere keeps the single-mark count. */
Test(asks, reports_single_mark_after_removal_in_the_middle)
{
	static const struct {
		int release;		/* else add */
		const char *name;
		uint32_t mark;
		int single;		/* asks_single_mark() after the step */
		uint32_t single_mark;
	} steps[] = {
		{ 0, "a.example", 0x5, 1, 0x5 },
		{ 0, "b.example", 0x6, 0, 0 },
		{ 0, "c.example", 0x5, 0, 0 },	/* a b c */
		{ 1, "b.example", 0x6, 1, 0x5 },	/* a c */
		{ 0, "b.example", 0x6, 0, 0 },	/* a c b */
		{ 0, "a.example", 0x5, 0, 0 },	/* c b a, a asked twice */
		{ 1, "b.example", 0x6, 1, 0x5 },	/* c a */
		{ 1, "c.example", 0x5, 1, 0x5 },	/* a */
		{ 0, "d.example", 0x6, 0, 0 },	/* a d */
		{ 1, "a.example", 0x5, 0, 0 },	/* still asked once */
		{ 1, "a.example", 0x5, 1, 0x6 },	/* d */
	};
	struct asks *table = table_new(16, 1000);

	for (unsigned int i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct dns_question q = question_a(steps[i].name, 1);
		struct asks_client c = client(1, 1, steps[i].mark);
		uint32_t mark = 0;

		if (steps[i].release)
			asks_release(table, &q, steps[i].mark);
		else
			cr_assert_eq(asks_add(table, &q, &c, i), 0);
		cr_assert_eq(asks_single_mark(table, &mark),
		    steps[i].single, "step %u", i);
		cr_assert_eq(mark, steps[i].single_mark, "step %u", i);
	}
	asks_free(table);
}

/* A table keeps only the fields it was made with. */
Test(asks, keeps_only_its_fields)
{
	struct asks *bare = asks_new(16, 5000, 0, test_key);
	struct asks *ids = asks_new(16, 5000, ASKS_IDS,
	    test_key);
	struct asks *all = table_new(16, 5000);
	struct dns_question q = question_a("fields.example", 0x1111);
	struct asks_client c = client(7, 0x1111, 0x5);
	struct packet_endpoint none;
	struct asks_match m;

	cr_assert_not_null(bare);
	cr_assert_not_null(ids);
	memset(&none, 0, sizeof(none));
	cr_assert_eq(asks_add(bare, &q, &c, 0), 0);
	cr_assert_eq(asks_add(bare, &q, &c, 1), 0);
	cr_assert_eq(match_at(bare, &q, 2, &m), 1);
	cr_assert_eq(m.all.id_matched, 0, "no ids kept, yet one matched");
	cr_assert_eq(memcmp(&m.all.id_client, &none, sizeof(none)), 0);
	cr_assert_eq(asks_release(bare, &q, 0x5), 1,
	    "no ask count: the first release removes it");

	cr_assert_eq(asks_add(ids, &q, &c, 0), 0);
	cr_assert_eq(match_at(ids, &q, 1, &m), 1);
	cr_assert_eq(m.all.id_matched, 1);
	cr_assert_eq(m.all.id_mark, 0x5);
	cr_assert_eq(memcmp(&m.all.id_client, &none, sizeof(none)), 0);

	cr_assert_eq(asks_add(all, &q, &c, 0), 0);
	cr_assert_eq(match_at(all, &q, 1, &m), 1);
	cr_assert_eq(m.all.id_matched, 1);
	cr_assert_eq(memcmp(&m.all.id_client, &c.addr, sizeof(c.addr)), 0);

	cr_assert_lt(asks_memory(bare), asks_memory(ids));
	cr_assert_lt(asks_memory(ids), asks_memory(all));
	asks_free(bare);
	asks_free(ids);
	asks_free(all);
}

/*
 * An entry with its share of the buckets, in a table with no extra field:
 * 44 bytes (a doubly linked chain, so that moving or removing an entry
 * among a thousand marks' asks of one name costs no walk) and up to 8.
 */
Test(asks, spends_at_most_52_bytes_an_entry)
{
	static const size_t sizes[] = { 1000, 16384, 100000, 1000000 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct asks *table = asks_new(sizes[i], 5000, 0,
		    test_key);

		cr_assert_not_null(table);
		cr_assert_leq(asks_memory(table), 52 * sizes[i],
		    "%zu entries: %zu bytes", sizes[i], asks_memory(table));
		asks_free(table);
	}
}

/*
 * Per-user marking: many marks ask the same name (an ancestor such as
 * "com.").  The same mark asking again finds its own entry however deep in
 * the question's chain it stands: no second entry, and a match sees them
 * all (the unit-level repro of 70 marks and a repeat).
 */
Test(asks, keeps_one_entry_a_mark_however_many_marks_ask)
{
	struct asks *table = table_new(1024, 5000);
	struct dns_question q = question_a("com", 0);
	struct asks_match m;

	for (uint32_t mark = 1; mark <= 70; mark++) {
		struct asks_client c = client(mark, 0, mark);

		cr_assert_eq(asks_add(table, &q, &c, 1000 + mark), 0);
	}
	{
		struct asks_client again = client(1, 0, 1);

		cr_assert_eq(asks_add(table, &q, &again, 2000), 0);
	}
	cr_assert_eq(asks_count(table), 70);
	cr_assert_eq(match_at(table, &q, 2001, &m), 70);
	cr_assert_eq(m.all.count, 70);
	cr_assert_eq(m.all.distinct_marks, 2);
	cr_assert_eq(m.all.first_mark, 2);
	cr_assert_eq(m.all.last_mark, 1);
	cr_assert_eq(m.all.last_ms, 2000);
	cr_assert_eq(m.all.other_last_ms, 1070);
	/* Released by its mark, wherever it stands. */
	cr_assert_eq(asks_release(table, &q, 35), 1);
	cr_assert_eq(asks_count(table), 69);
	cr_assert_eq(match_at(table, &q, 2001, &m), 69);
	asks_free(table);
}

/*
 * Past ASKS_MAX_WALK marks on one question, a match cannot check them
 * all: it says several marks and no DNS id, never one mark it saw.
 */
Test(asks, says_several_marks_past_the_walk)
{
	struct asks *table = table_new(4096, 5000);
	struct dns_question q = question_a("com", 0x7777);
	struct asks_match m;

	/* Every one of them waiting: none can be left out. */
	asks_set_waiting(table, 500, 0);
	for (uint32_t mark = 1; mark <= ASKS_MAX_WALK + 10; mark++) {
		/* Each its own mark; the one whose id matches is the oldest,
		 * past the walk. */
		struct asks_client c = client(mark, mark == 1 ? 0x7777 : 0,
		    mark);

		asks_add(table, &q, &c, 1000);
	}
	cr_assert_eq(asks_count(table), ASKS_MAX_WALK + 10);
	cr_assert_eq(match_at(table, &q, 1001, &m), ASKS_MAX_WALK);
	cr_assert_eq(m.all.distinct_marks, 2);
	cr_assert_eq(m.all.id_matched, 0);
	cr_assert_eq(m.waiting.distinct_marks, 2);
	cr_assert_eq(m.waiting.id_matched, 0);
	asks_free(table);
}

/*
 * A shared ancestor such as test. asked by a thousand marks over the
 * timeout: the one client waiting for it is met first (chains run by last
 * activity), so the waiting sets are whole past the walk and name it,
 * whether it asks anew, asks again or was engaged; the set of all askers
 * is still cut.  Before, every match past the walk said several marks and
 * BIND's test. NS, asked for one waiting client, left unmarked (73 % of
 * the shared messages one client waited for, accuracy --many).
 */
Test(asks, names_the_one_waiting_mark_among_a_thousand_askers)
{
	struct asks *table = table_new(4096, 30000);
	struct dns_question q = question_a("test", 0);
	struct asks_match m;

	asks_set_waiting(table, 200, 1000);
	for (uint32_t mark = 1; mark <= 1000; mark++) {
		struct asks_client c = client(mark, 0, mark);

		asks_add(table, &q, &c, 1000 + 10 * mark);
	}
	/* At 13000 mark 1000 asked 3000 ms ago: nobody waits. */
	cr_assert_eq(match_at(table, &q, 13000, &m), ASKS_MAX_WALK);
	cr_assert_eq(m.all.distinct_marks, 2);
	cr_assert_eq(m.waiting.count, 0);
	cr_assert_eq(m.unanswered.count, 0);
	/* A new mark asks: it alone waits. */
	{
		struct asks_client c = client(7, 0, 0x7777);

		asks_add(table, &q, &c, 13000);
	}
	cr_assert_eq(match_at(table, &q, 13050, &m), ASKS_MAX_WALK);
	cr_assert_eq(m.all.distinct_marks, 2);
	cr_assert_eq(m.waiting.count, 1);
	cr_assert_eq(m.waiting.distinct_marks, 1);
	cr_assert_eq(m.waiting.first_mark, 0x7777);
	cr_assert_eq(m.unanswered.first_mark, 0x7777);
	/* Past its wait, mark 5 (deep in the chain) asks again. */
	{
		struct asks_client c = client(5, 0, 5);

		asks_add(table, &q, &c, 14500);
	}
	cr_assert_eq(match_at(table, &q, 14550, &m), ASKS_MAX_WALK);
	cr_assert_eq(m.waiting.count, 1);
	cr_assert_eq(m.waiting.first_mark, 5);
	/* Past that, a query for mark 9 went upstream: engaged, it waits. */
	cr_assert_eq(asks_engage(table, &q, 9, 16000), 1);
	cr_assert_eq(match_at(table, &q, 16500, &m), ASKS_MAX_WALK);
	cr_assert_eq(m.waiting.count, 1);
	cr_assert_eq(m.waiting.first_mark, 9);
	cr_assert_eq(m.unanswered.count, 1);
	/* Two wait: several marks. */
	{
		struct asks_client c = client(11, 0, 11);

		asks_add(table, &q, &c, 16600);
	}
	cr_assert_eq(match_at(table, &q, 16650, &m), ASKS_MAX_WALK);
	cr_assert_eq(m.waiting.count, 2);
	cr_assert_eq(m.waiting.distinct_marks, 2);
	asks_free(table);
}

/* Marks 1 and 2 are still waiting for some answer; the others are not. */
static int
marks_one_and_two_wait(void *arg, uint32_t mark, uint64_t now_ms)
{
	(void)arg;
	(void)now_ms;
	return mark == 1 || mark == 2;
}

/*
 * Past the walk, a client that may still wait is not left out: the one
 * waiting client met in the walk is not the only one while the last entry
 * walked was active within the waits.
 */
Test(asks, cuts_the_waiting_set_while_an_unseen_client_may_wait)
{
	struct asks *table = table_new(4096, 30000);
	struct dns_question q = question_a("com", 0);
	struct asks_match m;

	asks_set_waiting(table, 500, 0);
	asks_set_waiting_check(table, marks_one_and_two_wait, NULL);
	/* Mark 2 first, then 300 marks that no longer wait, then mark 1:
	 * all within the ask window. */
	for (uint32_t mark = 2; mark <= 302; mark++) {
		struct asks_client c = client(mark, 0, mark);

		asks_add(table, &q, &c, 1000);
	}
	{
		struct asks_client c = client(1, 0, 1);

		asks_add(table, &q, &c, 1001);
	}
	cr_assert_eq(match_at(table, &q, 1002, &m), ASKS_MAX_WALK);
	cr_assert_eq(m.waiting.distinct_marks, 2, "mark 2 may wait, unseen");
	/* Past the ask window the walk's waiting set is whole: none. */
	cr_assert_eq(match_at(table, &q, 1600, &m), ASKS_MAX_WALK);
	cr_assert_eq(m.waiting.count, 0);
	asks_free(table);
}

/*
 * Past the walk, the set of all askers cannot say that only its newest mark
 * asked in the last moment: one not seen may have asked as late as the
 * last entry walked was active.
 */
Test(asks, cut_set_keeps_the_unseen_askers_time)
{
	struct asks *table = table_new(4096, 30000);
	struct dns_question q = question_a("com", 0);
	struct asks_match m;

	for (uint32_t mark = 1; mark <= ASKS_MAX_WALK + 10; mark++) {
		struct asks_client c = client(mark, 0, mark);

		asks_add(table, &q, &c, 1000);
	}
	/* All but the newest engaged later, one by one, asking nothing. */
	for (uint32_t mark = 2; mark <= ASKS_MAX_WALK + 10; mark++)
		cr_assert_eq(asks_engage(table, &q, mark, 2000 + mark), 1);
	{
		struct asks_client c = client(1, 0, 1);

		asks_add(table, &q, &c, 5000);
	}
	cr_assert_eq(match_at(table, &q, 5010, &m), ASKS_MAX_WALK);
	cr_assert_eq(m.all.last_mark, 1);
	cr_assert_eq(m.all.last_ms, 5000);
	/* The last walked was engaged at 2000 + 12: another mark may have
	 * asked then. */
	cr_assert_eq(m.all.other_last_ms, 2000 + 11 + 1);
	asks_free(table);
}

/* Forgetting a question removes every mark's entry of it, and no other. */
Test(asks, forgets_every_mark_of_a_question)
{
	struct asks *table = table_new(64, 5000);
	struct dns_question q = question_a("big.example", 1);
	struct dns_question other = question_a("other.example", 2);
	struct asks_match m;

	for (uint32_t mark = 1; mark <= 3; mark++) {
		struct asks_client c = client(mark, 0, mark);

		asks_add(table, &q, &c, 10);
		asks_add(table, &other, &c, 10);
	}
	/* Asked twice by mark 2: forgotten all the same. */
	{
		struct asks_client c = client(2, 0, 2);

		asks_add(table, &q, &c, 11);
	}
	cr_assert_eq(asks_forget(table, &q), 3);
	cr_assert_eq(match_at(table, &q, 12, &m), 0);
	cr_assert_eq(match_at(table, &other, 12, &m), 3);
	cr_assert_eq(asks_count(table), 3);
	cr_assert_eq(asks_forget(table, &q), 0);
	asks_free(table);
}

/*
 * Who is waiting: a client that asked less than ask_ms ago, or whose entry
 * was engaged (a query went upstream for it with its mark) less than
 * engaged_ms ago.  Others only asked earlier.
 */
Test(asks, tells_waiting_clients_from_earlier_askers)
{
	struct asks *table = table_new(64, 5000);
	struct dns_question q = question_a("popular.example", 0);
	struct asks_client a = client(1, 0, 0xa), b = client(2, 0, 0xb);
	struct asks_client c = client(3, 0, 0xc);
	struct asks_match m;

	asks_set_waiting(table, 100, 1000);
	cr_assert_eq(asks_add(table, &q, &a, 0), 0);
	cr_assert_eq(asks_engage(table, &q, 0xa, 1), 1);
	cr_assert_eq(asks_add(table, &q, &b, 600), 0);
	cr_assert_eq(asks_add(table, &q, &c, 950), 0);
	/* At 960: a engaged 959 ms ago, c asked 10 ms ago; b asked 360 ms
	 * ago and nothing went upstream for it: answered from the cache. */
	cr_assert_eq(match_at(table, &q, 960, &m), 3);
	cr_assert_eq(m.all.count, 3);
	cr_assert_eq(m.waiting.count, 2);
	cr_assert_eq(m.waiting.distinct_marks, 2);
	cr_assert_eq(m.waiting.first_mark, 0xa);
	cr_assert_eq(m.waiting.last_mark, 0xc);
	/* At 1010: a's engagement is over, c is still within its 100 ms. */
	cr_assert_eq(match_at(table, &q, 1010, &m), 3);
	cr_assert_eq(m.waiting.count, 1);
	cr_assert_eq(m.waiting.distinct_marks, 1);
	cr_assert_eq(m.waiting.first_mark, 0xc);
	/* At 1100: nobody waits; all three still asked. */
	cr_assert_eq(match_at(table, &q, 1100, &m), 3);
	cr_assert_eq(m.waiting.count, 0);
	cr_assert_eq(m.waiting.distinct_marks, 0);
	/* Engaging a mark that did not ask it does nothing. */
	cr_assert_eq(asks_engage(table, &q, 0xd, 1100), 0);
	cr_assert_eq(asks_engage(table, &q, 0xb, 1100), 1);
	cr_assert_eq(match_at(table, &q, 1101, &m), 3);
	cr_assert_eq(m.waiting.count, 1);
	cr_assert_eq(m.waiting.first_mark, 0xb);
	asks_free(table);
}

/* Without asks_set_waiting() nobody counts as waiting. */
Test(asks, has_nobody_waiting_by_default)
{
	struct asks *table = table_new(64, 5000);
	struct dns_question q = question_a("popular.example", 0);
	struct asks_client a = client(1, 0, 0xa);
	struct asks_match m;

	cr_assert_eq(asks_add(table, &q, &a, 10), 0);
	cr_assert_eq(asks_engage(table, &q, 0xa, 10), 1);
	cr_assert_eq(match_at(table, &q, 10, &m), 1);
	cr_assert_eq(m.waiting.count, 0);
	asks_free(table);
}

/* The summary of a whole table: one entry a mark, oldest and newest. */
Test(asks, summarises_the_whole_table)
{
	struct asks *table = table_new(64, 1000);
	struct asks_marks s;
	struct dns_question k1 = question_a("one", 0), k2 = question_a("two", 0);
	struct asks_client a = client(1, 0, 0xa), b = client(2, 0, 0xb);

	asks_summary(table, 0, &s);
	cr_assert_eq(s.count, 0);
	cr_assert_eq(s.distinct_marks, 0);
	cr_assert_eq(asks_add(table, &k1, &a, 100), 0);
	asks_summary(table, 150, &s);
	cr_assert_eq(s.count, 1);
	cr_assert_eq(s.distinct_marks, 1);
	cr_assert_eq(s.first_mark, 0xa);
	cr_assert_eq(s.last_mark, 0xa);
	cr_assert_eq(s.last_ms, 100);
	cr_assert_eq(s.other_last_ms, 0);
	cr_assert_eq(asks_add(table, &k2, &b, 200), 0);
	asks_summary(table, 250, &s);
	cr_assert_eq(s.count, 2);
	cr_assert_eq(s.distinct_marks, 2);
	cr_assert_eq(s.first_mark, 0xa);
	cr_assert_eq(s.last_mark, 0xb);
	cr_assert_eq(s.last_ms, 200);
	cr_assert_eq(s.other_last_ms, 100);
	/* a's entry expires at 1100: b alone. */
	asks_summary(table, 1150, &s);
	cr_assert_eq(s.count, 1);
	cr_assert_eq(s.distinct_marks, 1);
	cr_assert_eq(s.first_mark, 0xb);
	asks_free(table);
}

/*
 * An answered client no longer waits: settling every ask of an entry takes
 * it out of the waiting set (not out of the table), and asking again puts
 * it back.
 */
Test(asks, settles_answered_asks_out_of_waiting)
{
	struct asks *table = table_new(64, 5000);
	struct dns_question q = question_a("popular.example", 0);
	struct dns_question other = question_a("other.example", 0);
	struct asks_client a = client(1, 0, 0xa), b = client(2, 0, 0xb);
	struct asks_match m;

	asks_set_waiting(table, 100, 1000);
	cr_assert_eq(asks_add(table, &q, &a, 0), 0);
	cr_assert_eq(asks_add(table, &q, &a, 5), 0);
	cr_assert_eq(asks_add(table, &q, &b, 10), 0);
	cr_assert_eq(match_at(table, &q, 20, &m), 2);
	cr_assert_eq(m.waiting.distinct_marks, 2);
	/* Two asks of 0xa: one answer leaves it waiting. */
	cr_assert_eq(asks_settle(table, &q, 0xa, 20), 0);
	cr_assert_eq(match_at(table, &q, 20, &m), 2);
	cr_assert_eq(m.waiting.distinct_marks, 2);
	cr_assert_eq(asks_settle(table, &q, 0xa, 20), 1);
	cr_assert_eq(match_at(table, &q, 20, &m), 2);
	cr_assert_eq(m.all.distinct_marks, 2);
	cr_assert_eq(m.waiting.count, 1);
	cr_assert_eq(m.waiting.first_mark, 0xb);
	/* Engaged or not, a settled entry does not wait. */
	cr_assert_eq(asks_engage(table, &q, 0xa, 30), 1);
	cr_assert_eq(match_at(table, &q, 31, &m), 2);
	cr_assert_eq(m.waiting.count, 1);
	/* Settled already, never asked, another mark: nothing to settle. */
	cr_assert_eq(asks_settle(table, &q, 0xa, 20), 0);
	cr_assert_eq(asks_settle(table, &other, 0xa, 20), 0);
	cr_assert_eq(asks_settle(table, &q, 0xc, 20), 0);
	/* Asking again: waiting again. */
	cr_assert_eq(asks_add(table, &q, &a, 40), 0);
	cr_assert_eq(match_at(table, &q, 41, &m), 2);
	cr_assert_eq(m.waiting.distinct_marks, 2);
	asks_free(table);
}

/*
 * A settled entry waits for the table's grace after its answer, and then
 * only among the waiting, not among the unanswered.
 */
Test(asks, keeps_answered_asks_waiting_for_the_grace_only)
{
	struct asks *table = table_new(64, 5000);
	struct dns_question q = question_a("popular.example", 0);
	struct asks_client a = client(1, 0, 0xa), b = client(2, 0, 0xb);
	struct asks_match m;

	asks_set_waiting(table, 100, 1000);
	asks_set_grace(table, 10);
	cr_assert_eq(asks_add(table, &q, &a, 0), 0);
	cr_assert_eq(asks_add(table, &q, &b, 1), 0);
	cr_assert_eq(asks_settle(table, &q, 0xa, 5), 1);
	cr_assert_eq(match_at(table, &q, 14, &m), 2);
	cr_assert_eq(m.waiting.count, 2);
	cr_assert_eq(m.waiting.distinct_marks, 2);
	cr_assert_eq(m.unanswered.count, 1);
	cr_assert_eq(m.unanswered.first_mark, 0xb);
	cr_assert_eq(m.unanswered.last_mark, 0xb);
	cr_assert_eq(match_at(table, &q, 15, &m), 2);
	cr_assert_eq(m.waiting.count, 1, "the grace is over");
	cr_assert_eq(m.unanswered.count, 1);
	cr_assert_eq(asks_settle(table, &q, 0xb, 16), 1);
	cr_assert_eq(match_at(table, &q, 17, &m), 2);
	cr_assert_eq(m.waiting.count, 1);
	cr_assert_eq(m.waiting.first_mark, 0xb);
	cr_assert_eq(m.unanswered.count, 0);
	asks_free(table);
}

/*
 * Of the entries in their grace, the waiting set says which mark was
 * answered last, when, and when any other mark was last answered; the
 * entries not answered yet count in none of it.
 */
Test(asks, tells_which_mark_was_answered_last)
{
	struct asks *table = table_new(64, 5000);
	struct dns_question q = question_a("popular.example", 0);
	struct asks_client a = client(1, 0, 0xa), b = client(2, 0, 0xb);
	struct asks_client c = client(3, 0, 0xc);
	struct asks_match m;

	asks_set_waiting(table, 100, 1000);
	asks_set_grace(table, 10);
	cr_assert_eq(asks_add(table, &q, &a, 0), 0);
	cr_assert_eq(asks_add(table, &q, &b, 1), 0);
	cr_assert_eq(asks_add(table, &q, &c, 2), 0);
	cr_assert_eq(match_at(table, &q, 3, &m), 3);
	cr_assert_eq(m.waiting.answered_count, 0);
	cr_assert_eq(m.waiting.other_answered_ms, 0);
	/* b answered at 4, a at 7: a last, b before it. */
	cr_assert_eq(asks_settle(table, &q, 0xb, 4), 1);
	cr_assert_eq(asks_settle(table, &q, 0xa, 7), 1);
	cr_assert_eq(match_at(table, &q, 8, &m), 3);
	cr_assert_eq(m.waiting.count, 3);
	cr_assert_eq(m.waiting.answered_count, 2);
	cr_assert_eq(m.waiting.answered_mark, 0xa);
	cr_assert_eq(m.waiting.answered_ms, 7);
	cr_assert_eq(m.waiting.other_answered_ms, 4);
	cr_assert_eq(m.unanswered.count, 1);
	cr_assert_eq(m.unanswered.answered_count, 0);
	/* b worked for at 9: it is the last now. */
	cr_assert_eq(asks_engage(table, &q, 0xb, 9), 1);
	cr_assert_eq(match_at(table, &q, 10, &m), 3);
	cr_assert_eq(m.waiting.answered_mark, 0xb);
	cr_assert_eq(m.waiting.answered_ms, 9);
	cr_assert_eq(m.waiting.other_answered_ms, 7);
	asks_free(table);
}

/* Without ASKS_REFS there is nothing to settle: waiting goes by time. */
Test(asks, settles_nothing_without_refs)
{
	struct asks *table = asks_new(64, 5000, 0, test_key);
	struct dns_question q = question_a("popular.example", 0);
	struct asks_client a = client(1, 0, 0xa);
	struct asks_match m;

	cr_assert_not_null(table);
	asks_set_waiting(table, 100, 1000);
	cr_assert_eq(asks_add(table, &q, &a, 0), 0);
	cr_assert_eq(asks_settle(table, &q, 0xa, 20), 0);
	cr_assert_eq(match_at(table, &q, 1, &m), 1);
	cr_assert_eq(m.waiting.count, 1);
	asks_free(table);
}

/*
 * An answer goes to one client: its question (any case), its DNS id and
 * its address and port name the entry, and so the mark.
 */
Test(asks, finds_the_client_an_answer_goes_to)
{
	struct asks *table = table_new(64, 5000);
	struct dns_question q = question_a("www.example.com", 0);
	struct dns_question upper = question_a("WWW.Example.COM", 0);
	struct dns_question aaaa = question("www.example.com", TYPE_AAAA,
	    CLASS_IN, 0);
	struct asks_client a = client(1, 0x1111, 0xa);
	struct asks_client b = client(2, 0x2222, 0xb);
	struct asks_client elsewhere = client(1, 0x1111, 0);
	struct asks *plain;
	uint32_t mark = 0;

	cr_assert_eq(asks_add(table, &q, &a, 0), 0);
	cr_assert_eq(asks_add(table, &q, &b, 1), 0);
	cr_assert_eq(asks_find_client(table, &upper, &a.addr, 0x1111, 2,
	    &mark), 1);
	cr_assert_eq(mark, 0xa);
	cr_assert_eq(asks_find_client(table, &q, &b.addr, 0x2222, 2, &mark),
	    1);
	cr_assert_eq(mark, 0xb);
	/* The wrong id, port, address or type: no client. */
	cr_assert_eq(asks_find_client(table, &q, &a.addr, 0x2222, 2, &mark),
	    0);
	elsewhere.addr.port++;
	cr_assert_eq(asks_find_client(table, &q, &elsewhere.addr, 0x1111, 2,
	    &mark), 0);
	elsewhere = client(3, 0x1111, 0);
	cr_assert_eq(asks_find_client(table, &q, &elsewhere.addr, 0x1111, 2,
	    &mark), 0);
	cr_assert_eq(asks_find_client(table, &aaaa, &a.addr, 0x1111, 2,
	    &mark), 0);
	/* Timed out: no client either. */
	cr_assert_eq(asks_find_client(table, &q, &a.addr, 0x1111, 5000,
	    &mark), 0);
	asks_free(table);
	/* A table without ids and tags cannot tell clients apart. */
	plain = asks_new(64, 5000, ASKS_REFS, test_key);
	cr_assert_not_null(plain);
	cr_assert_eq(asks_add(plain, &q, &a, 0), 0);
	cr_assert_eq(asks_find_client(plain, &q, &a.addr, 0x1111, 1, &mark),
	    0);
	asks_free(plain);
}

/* What asks_set_on_drop() and asks_set_waiting_check() hear of. */
struct watch {
	unsigned int drops;
	uint32_t last_mark;
	unsigned int last_asks;
	uint32_t quiet_mark;	/* the check says this mark waits nowhere */
};

static void
watch_drop(void *arg, uint32_t mark, unsigned int asks)
{
	struct watch *w = arg;

	w->drops++;
	w->last_mark = mark;
	w->last_asks = asks;
}

static int
watch_check(void *arg, uint32_t mark, uint64_t now_ms)
{
	struct watch *w = arg;

	(void)now_ms;
	return mark != w->quiet_mark;
}

/*
 * The owner hears of every entry that expires or is evicted, with the
 * asks it still counts, and never of one released; asks_open() counts
 * what is not released or settled.
 */
Test(asks, tells_its_owner_what_leaves_unanswered)
{
	struct asks *table = table_new(2, 1000);
	struct dns_question p = question_a("p.example", 0);
	struct dns_question q = question_a("q.example", 0);
	struct dns_question r = question_a("r.example", 0);
	struct asks_client a = client(1, 0, 0xa), b = client(2, 0, 0xb);
	struct watch w = { 0 };

	asks_set_on_drop(table, watch_drop, &w);
	cr_assert_eq(asks_add(table, &p, &a, 0), 0);
	cr_assert_eq(asks_add(table, &p, &a, 1), 0);
	cr_assert_eq(asks_open(table, &p, 0xa, 2), 2);
	cr_assert_eq(asks_settle(table, &p, 0xa, 20), 0);
	cr_assert_eq(asks_open(table, &p, 0xa, 2), 1);
	cr_assert_eq(asks_open(table, &p, 0xb, 2), 0);
	cr_assert_eq(asks_add(table, &q, &b, 2), 0);
	/* Full: r evicts p, which still counts one ask. */
	cr_assert_eq(asks_add(table, &r, &b, 3), 1);
	cr_assert_eq(w.drops, 1);
	cr_assert_eq(w.last_mark, 0xa);
	cr_assert_eq(w.last_asks, 1);
	/* Released: not heard of.  Expired: heard of. */
	cr_assert_eq(asks_release(table, &q, 0xb), 1);
	cr_assert_eq(w.drops, 1);
	cr_assert_eq(asks_expire(table, 1003), 1);
	cr_assert_eq(w.drops, 2);
	cr_assert_eq(w.last_mark, 0xb);
	cr_assert_eq(asks_open(table, &r, 0xb, 1003), 0);
	asks_free(table);
}

/*
 * ASKS_SINCE: an entry kept alive by a mark asking again within the
 * timeout still ends asks older than the timeout (their answers went
 * unseen): asked again after it, the owner hears of them and the new ask
 * alone counts.  Without the field, they count on.
 */
Test(asks, ends_asks_older_than_the_timeout_when_asked_again)
{
	struct asks *table = table_new(16, 1000);
	struct asks *plain = asks_new(16, 1000, ASKS_REFS, test_key);
	struct dns_question q = question_a("big.example", 0);
	struct asks_client a = client(1, 0, 0xa);
	struct watch w = { 0 }, plain_w = { 0 };

	cr_assert_not_null(plain);
	cr_assert_gt(asks_memory(table), asks_memory(plain));
	asks_set_on_drop(table, watch_drop, &w);
	asks_set_on_drop(plain, watch_drop, &plain_w);
	/* Asked at 0 (never answered), again at 600 and answered. */
	cr_assert_eq(asks_add(table, &q, &a, 0), 0);
	cr_assert_eq(asks_add(plain, &q, &a, 0), 0);
	cr_assert_eq(asks_add(table, &q, &a, 600), 0);
	cr_assert_eq(asks_add(plain, &q, &a, 600), 0);
	cr_assert_eq(asks_release(table, &q, 0xa), 0);
	cr_assert_eq(asks_release(plain, &q, 0xa), 0);
	/* At 999 the first ask is not over yet: asked again, three open. */
	cr_assert_eq(asks_add(table, &q, &a, 999), 0);
	cr_assert_eq(asks_add(plain, &q, &a, 999), 0);
	cr_assert_eq(asks_open(table, &q, 0xa, 999), 2);
	cr_assert_eq(w.drops, 0);
	cr_assert_eq(asks_release(table, &q, 0xa), 0);
	cr_assert_eq(asks_release(plain, &q, 0xa), 0);
	/* At 1000 it is: asked again, the new ask alone counts, and the
	 * owner hears of the one left open. */
	cr_assert_eq(asks_add(table, &q, &a, 1000), 0);
	cr_assert_eq(asks_add(plain, &q, &a, 1000), 0);
	cr_assert_eq(w.drops, 1);
	cr_assert_eq(w.last_mark, 0xa);
	cr_assert_eq(w.last_asks, 1);
	cr_assert_eq(asks_open(table, &q, 0xa, 1000), 1);
	cr_assert_eq(plain_w.drops, 0);
	cr_assert_eq(asks_open(plain, &q, 0xa, 1000), 2);
	/* Its answer ends the entry; the plain table's counts on. */
	cr_assert_eq(asks_release(table, &q, 0xa), 1);
	cr_assert_eq(asks_release(plain, &q, 0xa), 0);
	/* The new oldest ask is the next one: 1500 opens, 2499 keeps it. */
	cr_assert_eq(asks_add(table, &q, &a, 1500), 0);
	cr_assert_eq(asks_add(table, &q, &a, 2499), 0);
	cr_assert_eq(asks_open(table, &q, 0xa, 2499), 2);
	cr_assert_eq(w.drops, 1);
	asks_free(table);
	asks_free(plain);
}

/* The owner's check takes a mark out of the waiting set, never out of
 * those who asked. */
Test(asks, lets_its_owner_say_who_waits_nowhere)
{
	struct asks *table = table_new(64, 5000);
	struct dns_question q = question_a("popular.example", 0);
	struct asks_client a = client(1, 0, 0xa), b = client(2, 0, 0xb);
	struct watch w = { .quiet_mark = 0xa };
	struct asks_match m;

	asks_set_waiting(table, 100, 1000);
	asks_set_waiting_check(table, watch_check, &w);
	cr_assert_eq(asks_add(table, &q, &a, 0), 0);
	cr_assert_eq(asks_add(table, &q, &b, 1), 0);
	cr_assert_eq(match_at(table, &q, 2, &m), 2);
	cr_assert_eq(m.all.distinct_marks, 2);
	cr_assert_eq(m.waiting.count, 1);
	cr_assert_eq(m.waiting.first_mark, 0xb);
	asks_free(table);
}

/* A settled entry waits for the grace after its last settle, then not. */
Test(asks, keeps_a_settled_entry_waiting_for_its_grace)
{
	struct asks *table = table_new(64, 5000);
	struct dns_question q = question_a("popular.example", 0);
	struct asks_client a = client(1, 0, 0xa);
	struct asks_match m;

	asks_set_waiting(table, 100, 1000);
	asks_set_grace(table, 10);
	cr_assert_eq(asks_add(table, &q, &a, 0), 0);
	cr_assert_eq(asks_engage(table, &q, 0xa, 1), 1);
	cr_assert_eq(asks_settle(table, &q, 0xa, 5), 1);
	cr_assert_eq(match_at(table, &q, 14, &m), 1);
	cr_assert_eq(m.waiting.count, 1);
	/* Past it, neither its ask nor its engagement counts. */
	cr_assert_eq(match_at(table, &q, 15, &m), 1);
	cr_assert_eq(m.waiting.count, 0);
	/* Asked again: waiting by its times, the old engagement gone. */
	cr_assert_eq(asks_add(table, &q, &a, 200), 0);
	cr_assert_eq(match_at(table, &q, 299, &m), 1);
	cr_assert_eq(m.waiting.count, 1);
	cr_assert_eq(match_at(table, &q, 300, &m), 1);
	cr_assert_eq(m.waiting.count, 0);
	asks_free(table);
}

/* Which marks have asks not answered yet, across every question. */
Test(asks, counts_the_marks_not_answered)
{
	struct asks *table = table_new(64, 5000);
	struct dns_question qa = question_a("a.example", 0);
	struct dns_question qb = question_a("b.example", 0);
	struct asks_client a = client(1, 0, 0xa), b = client(2, 0, 0xb);
	uint32_t mark = 0;

	cr_assert_eq(asks_open_marks(table, 0, &mark), 0);
	cr_assert_eq(asks_add(table, &qa, &a, 0), 0);
	cr_assert_eq(asks_open_marks(table, 1, &mark), 1);
	cr_assert_eq(mark, 0xa);
	cr_assert_eq(asks_add(table, &qb, &b, 2), 0);
	cr_assert_eq(asks_add(table, &qb, &a, 3), 0);
	cr_assert_eq(asks_open_marks(table, 4, &mark), 2);
	cr_assert_eq(asks_settle(table, &qb, 0xb, 5), 1);
	mark = 0;
	cr_assert_eq(asks_open_marks(table, 6, &mark), 1, "0xb answered");
	cr_assert_eq(mark, 0xa);
	cr_assert_eq(asks_settle(table, &qa, 0xa, 7), 1);
	mark = 0;
	cr_assert_eq(asks_open_marks(table, 8, &mark), 1,
	    "0xa still waits for b.example");
	cr_assert_eq(mark, 0xa);
	cr_assert_eq(asks_settle(table, &qb, 0xa, 9), 1);
	cr_assert_eq(asks_open_marks(table, 10, &mark), 0);
	/* An ask the timeout ended waits no more. */
	cr_assert_eq(asks_add(table, &qa, &b, 20), 0);
	cr_assert_eq(asks_open_marks(table, 21, &mark), 1);
	cr_assert_eq(asks_open_marks(table, 20 + 5000, &mark), 0);
	asks_free(table);
}

/* Past ASKS_OPEN_WALK entries it cannot tell: two or more, it says. */
Test(asks, says_several_marks_past_the_open_walk)
{
	struct asks *table = table_new(2 * ASKS_OPEN_WALK, 5000);
	struct asks *plain = asks_new(64, 5000, 0, test_key);
	struct dns_question q = question_a("waiting.example", 0);
	struct asks_client a = client(1, 0, 0xa), b = client(2, 0, 0xb);
	uint32_t mark = 0;
	char name[32];

	cr_assert_not_null(plain);
	cr_assert_eq(asks_add(table, &q, &a, 0), 0);
	for (unsigned int i = 0; i < ASKS_OPEN_WALK - 1; i++) {
		struct dns_question other;

		snprintf(name, sizeof(name), "n%u.example", i);
		other = question_a(name, 0);
		cr_assert_eq(asks_add(table, &other, &b, 1), 0);
		cr_assert_eq(asks_settle(table, &other, 0xb, 1), 1);
	}
	cr_assert_eq(asks_open_marks(table, 2, &mark), 1,
	    "the open one is the walk's last");
	cr_assert_eq(mark, 0xa);
	{
		struct dns_question other = question_a("last.example", 0);

		cr_assert_eq(asks_add(table, &other, &b, 1), 0);
		cr_assert_eq(asks_settle(table, &other, 0xb, 1), 1);
	}
	cr_assert_eq(asks_open_marks(table, 2, &mark), 2,
	    "one entry past the walk");
	/* Without ASKS_REFS nothing says who was answered. */
	cr_assert_eq(asks_add(plain, &q, &a, 0), 0);
	cr_assert_eq(asks_open_marks(plain, 1, &mark), 2);
	asks_free(plain);
	asks_free(table);
}
