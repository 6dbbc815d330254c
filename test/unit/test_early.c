/*
 * Unit tests for src/early.c: the results of upstream queries judged as
 * the kernel queued them, kept for their packet.
 */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <criterion/criterion.h>

#include "early.h"

static const uint8_t key[SIPHASH_KEY_LEN] = { 7 };

static struct packet_info
info(uint16_t port)
{
	struct packet_info i;

	memset(&i, 0, sizeof(i));
	i.protocol = IPPROTO_UDP;
	i.src.family = i.dst.family = AF_INET;
	memcpy(i.src.addr, "\xc6\x33\x64\x01", 4);	/* 198.51.100.1 */
	memcpy(i.dst.addr, "\xcb\x00\x71\x35", 4);	/* 203.0.113.53 */
	i.src.port = port;
	i.dst.port = 53;
	return i;
}

static struct dns_question
question(uint16_t id, const char *label, uint16_t qtype)
{
	struct dns_question q;
	size_t len = strlen(label);

	memset(&q, 0, sizeof(q));
	q.id = id;
	q.qtype = qtype;
	q.qclass = 1;
	q.name[0] = (uint8_t)len;
	memcpy(q.name + 1, label, len);
	q.name_len = (uint8_t)(len + 2);
	return q;
}

static struct attrib_result
marked(uint32_t mark)
{
	return (struct attrib_result){ .reason = ATTRIB_ANCESTOR, .marked = 1,
	    .mark = mark };
}

/* The packet that carries the query filed gets its result, once. */
Test(early, gives_the_packet_its_result_once)
{
	struct early early;
	struct packet_info i = info(40000);
	struct dns_question q = question(1234, "test", 2);
	struct attrib_result r = marked(0x95), got = { 0 };

	cr_assert_eq(early_init(&early, key), 0);
	cr_assert_eq(early_memory(&early),
	    EARLY_SLOTS * sizeof(struct early_entry));
	cr_assert_eq(early_put(&early, &i, &q, &r, 1000), 0);
	cr_assert_eq(early_take(&early, &i, &q, 1001, &got), 1);
	cr_assert_eq(got.mark, 0x95);
	cr_assert_eq(got.marked, 1);
	cr_assert_eq(got.reason, ATTRIB_ANCESTOR);
	cr_assert_eq(early_take(&early, &i, &q, 1001, &got), 0);
	early_free(&early);
	cr_assert_eq(early_memory(&early), 0);
}

/* Another port, id, server, type or name is another query's packet. */
Test(early, gives_no_other_query_the_result)
{
	struct early early;
	struct packet_info i = info(40000), other;
	struct dns_question q = question(1234, "test", 2), oq;
	struct attrib_result r = marked(0x95), got;

	cr_assert_eq(early_init(&early, key), 0);
	early_put(&early, &i, &q, &r, 1000);
	other = info(40001);
	cr_assert_eq(early_take(&early, &other, &q, 1000, &got), 0);
	other = info(40000);
	other.dst.addr[3] ^= 1;
	cr_assert_eq(early_take(&early, &other, &q, 1000, &got), 0);
	other = info(40000);
	other.src.addr[0] ^= 1;
	cr_assert_eq(early_take(&early, &other, &q, 1000, &got), 0);
	oq = question(1235, "test", 2);
	cr_assert_eq(early_take(&early, &i, &oq, 1000, &got), 0);
	oq = question(1234, "test", 1);
	cr_assert_eq(early_take(&early, &i, &oq, 1000, &got), 0);
	oq = question(1234, "tesu", 2);
	cr_assert_eq(early_take(&early, &i, &oq, 1000, &got), 0);
	oq = q;
	oq.qclass = 3;
	cr_assert_eq(early_take(&early, &i, &oq, 1000, &got), 0);
	/* None of those took it. */
	cr_assert_eq(early_take(&early, &i, &q, 1000, &got), 1);
	early_free(&early);
}

/* A result not claimed within EARLY_MAX_AGE_MS is no packet's. */
Test(early, forgets_a_result_its_packet_never_claimed)
{
	struct early early;
	struct packet_info i = info(40000);
	struct dns_question q = question(1, "test", 2);
	struct attrib_result r = marked(3), got;

	cr_assert_eq(early_init(&early, key), 0);
	early_put(&early, &i, &q, &r, 1000);
	cr_assert_eq(early_take(&early, &i, &q, 1000 + EARLY_MAX_AGE_MS + 1,
	    &got), 0);
	early_put(&early, &i, &q, &r, 5000);
	cr_assert_eq(early_take(&early, &i, &q, 5000 + EARLY_MAX_AGE_MS, &got),
	    1);
	early_free(&early);
}

/*
 * The table is fixed: more queries than slots displace older live ones
 * (counted by the caller), whose packets are then judged when read; a
 * stale one is displaced without a word.
 */
Test(early, displaces_older_results_when_full)
{
	struct early early;
	struct dns_question q;
	struct attrib_result r = marked(1), got;
	int displaced = 0, found = 0;

	cr_assert_eq(early_init(&early, key), 0);
	for (uint32_t n = 0; n < 2 * EARLY_SLOTS; n++) {
		struct packet_info i = info((uint16_t)(1024 + n % 60000));

		q = question((uint16_t)n, "test", 2);
		displaced += early_put(&early, &i, &q, &r, 1000);
	}
	for (uint32_t n = 0; n < 2 * EARLY_SLOTS; n++) {
		struct packet_info i = info((uint16_t)(1024 + n % 60000));

		q = question((uint16_t)n, "test", 2);
		found += early_take(&early, &i, &q, 1000, &got);
	}
	/* Every put either kept its slot or displaced a live one. */
	cr_assert_eq(found + displaced, 2 * EARLY_SLOTS);
	cr_assert_gt(displaced, EARLY_SLOTS / 2);
	cr_assert_leq(found, EARLY_SLOTS);
	/* Stale entries are taken over silently (a few new ones, in slots
	 * of their own). */
	for (uint32_t n = 0; n < 4 * EARLY_SLOTS; n++) {
		struct packet_info i = info((uint16_t)(1024 + n));

		q = question((uint16_t)n, "test", 2);
		early_put(&early, &i, &q, &r, 1000);
	}
	displaced = 0;
	for (uint32_t n = 0; n < 8; n++) {
		struct packet_info i = info((uint16_t)(30000 + n));

		q = question((uint16_t)n, "test", 2);
		displaced += early_put(&early, &i, &q, &r,
		    1000 + EARLY_MAX_AGE_MS + 1);
	}
	cr_assert_eq(displaced, 0);
	early_free(&early);
}
