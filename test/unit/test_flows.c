/*
 * Unit tests for src/flows.c: the mark of the last query on each upstream
 * TCP connection.
 */
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <criterion/criterion.h>

#include "flows.h"

static const uint8_t test_key[SIPHASH_KEY_LEN] = "flows test key!";

static struct packet_endpoint
endpoint(uint8_t family, uint8_t last, uint16_t port)
{
	struct packet_endpoint e;

	memset(&e, 0, sizeof(e));
	e.family = family;
	e.addr[0] = family == AF_INET ? 192 : 0x20;
	e.addr[15] = last;
	e.port = port;
	return e;
}

static struct flows flows;

/* A mark no test sets: flows_get() must not write it when it finds
 * nothing. */
#define UNSET 0xdeadbeefu

/* flows_get() finds the connection src -> dst and its mark is want. */
#define EXPECT_MARK(src, dst, now, want, what)				\
	do {								\
		uint32_t mark_ = UNSET;					\
									\
		cr_assert_eq(flows_get(&flows, (src), (dst), &mark_, (now)), \
		    1, "not found: %s", (what));			\
		cr_assert_eq(mark_, (want), "mark %u, want %u: %s",	\
		    mark_, (uint32_t)(want), (what));			\
	} while (0)

/* flows_get() does not know the connection, and leaves the mark alone. */
#define EXPECT_UNKNOWN(src, dst, now, what)				\
	do {								\
		uint32_t mark_ = UNSET;					\
									\
		cr_assert_eq(flows_get(&flows, (src), (dst), &mark_, (now)), \
		    0, "found: %s", (what));				\
		cr_assert_eq(mark_, UNSET, "mark written: %s", (what));	\
	} while (0)

Test(flows, remembers_the_last_query_mark_per_connection)
{
	struct packet_endpoint res = endpoint(AF_INET, 1, 40000);
	struct packet_endpoint res2 = endpoint(AF_INET, 1, 40001);
	struct packet_endpoint srv = endpoint(AF_INET, 53, 53);

	flows_init(&flows, test_key);
	EXPECT_UNKNOWN(&res, &srv, 0, "nothing set yet");
	flows_set(&flows, &res, &srv, 1, 0);
	flows_set(&flows, &res2, &srv, 2, 0);
	EXPECT_MARK(&res, &srv, 10, 1, "the first connection");
	EXPECT_MARK(&res2, &srv, 10, 2, "the second connection");
	flows_set(&flows, &res, &srv, 3, 20);
	EXPECT_MARK(&res, &srv, 30, 3,
	    "the next query on the connection decides");
	EXPECT_MARK(&res2, &srv, 30, 2, "the other connection keeps its own");
	EXPECT_UNKNOWN(&srv, &res, 30, "direction matters");
}

Test(flows, forgets_on_request_and_when_idle)
{
	struct packet_endpoint res = endpoint(AF_INET6, 1, 40000);
	struct packet_endpoint srv = endpoint(AF_INET6, 53, 53);
	/* The same address octets and ports as IPv4. */
	struct packet_endpoint res_v4 = res, srv_v4 = srv;

	res_v4.family = AF_INET;
	srv_v4.family = AF_INET;
	flows_init(&flows, test_key);
	flows_set(&flows, &res, &srv, 5, 1000);
	EXPECT_UNKNOWN(&res_v4, &srv_v4, 1000,
	    "the family is part of the connection");
	flows_forget(&flows, &res, &srv);
	EXPECT_UNKNOWN(&res, &srv, 1000, "forgotten");
	flows_set(&flows, &res, &srv, 5, 1000);
	EXPECT_MARK(&res, &srv, 1000 + FLOWS_IDLE_MS - 1, 5,
	    "not idle for long enough");
	EXPECT_MARK(&res, &srv, 1000 + 2 * FLOWS_IDLE_MS - 2, 5,
	    "a connection in use stays");
	EXPECT_UNKNOWN(&res, &srv, 1000 + 3 * FLOWS_IDLE_MS - 2,
	    "idle connections are forgotten");
	flows_set(&flows, &res, &srv, 6, 0);
	EXPECT_UNKNOWN(&res, &srv, FLOWS_IDLE_MS,
	    "idle for exactly FLOWS_IDLE_MS");
}

Test(flows, a_full_table_forgets_but_never_confuses)
{
	struct packet_endpoint srv = endpoint(AF_INET, 53, 53);
	uint32_t mark;
	unsigned int found = 0;

	flows_init(&flows, test_key);
	for (uint32_t port = 0; port < 4 * FLOWS_SLOTS; port++) {
		struct packet_endpoint res = endpoint(AF_INET, 1,
		    (uint16_t)(1024 + port));

		flows_set(&flows, &res, &srv, port, 0);
	}
	for (uint32_t port = 0; port < 4 * FLOWS_SLOTS; port++) {
		struct packet_endpoint res = endpoint(AF_INET, 1,
		    (uint16_t)(1024 + port));

		mark = UNSET;
		if (flows_get(&flows, &res, &srv, &mark, 0)) {
			cr_assert_eq(mark, port, "a slot never answers for "
			    "another connection");
			found++;
		} else {
			cr_assert_eq(mark, UNSET);
		}
	}
	cr_assert(found > 0 && found <= FLOWS_SLOTS, "found %u", found);
}

/*
 * Finds n connections from the resolver's address, other than res, whose
 * slots are in the set of res -> srv.
 */
static void
set_rivals(const struct packet_endpoint *res,
    const struct packet_endpoint *srv, struct packet_endpoint *rivals,
    size_t n)
{
	size_t want = flows_set_index(&flows, res, srv), found = 0;

	for (uint32_t port = 1024; port < 65536 && found < n; port++) {
		struct packet_endpoint rival = endpoint(AF_INET, 1,
		    (uint16_t)port);

		if (port != res->port &&
		    flows_set_index(&flows, &rival, srv) == want)
			rivals[found++] = rival;
	}
	cr_assert_eq(found, n, "only %zu connections share a set", found);
}

Test(flows, forgets_only_the_connection_it_is_told)
{
	struct packet_endpoint res = endpoint(AF_INET, 1, 40000);
	struct packet_endpoint srv = endpoint(AF_INET, 53, 53);
	struct packet_endpoint rival;

	flows_init(&flows, test_key);
	set_rivals(&res, &srv, &rival, 1);
	flows_set(&flows, &res, &srv, 1, 0);
	EXPECT_UNKNOWN(&rival, &srv, 0, "a set answers for its own only");
	flows_forget(&flows, &rival, &srv);
	EXPECT_MARK(&res, &srv, 0, 1,
	    "forgetting another connection of its set forgets nothing");
	flows_set(&flows, &rival, &srv, 2, 0);
	EXPECT_MARK(&res, &srv, 0, 1, "both have a slot of the set");
	EXPECT_MARK(&rival, &srv, 0, 2, "and each answers for itself");
	flows_forget(&flows, &rival, &srv);
	EXPECT_UNKNOWN(&rival, &srv, 0, "forgotten");
	EXPECT_MARK(&res, &srv, 0, 1, "the other one of its set stays");
	flows_forget(&flows, &res, &srv);
	EXPECT_UNKNOWN(&res, &srv, 0, "forgotten too");
}

/*
 * A set full of connections gives the slot used least recently to a new
 * one: a connection in use outlives those closed long ago, however many
 * came after it.
 */
Test(flows, a_full_set_gives_up_the_connection_used_least_recently)
{
	struct packet_endpoint res = endpoint(AF_INET, 1, 40000);
	struct packet_endpoint srv = endpoint(AF_INET, 53, 53);
	struct packet_endpoint rivals[2 * FLOWS_WAYS];
	uint64_t t = 0;

	flows_init(&flows, test_key);
	set_rivals(&res, &srv, rivals, 2 * FLOWS_WAYS);
	flows_set(&flows, &res, &srv, 7, t++);
	for (size_t k = 0; k < FLOWS_WAYS - 1; k++)
		flows_set(&flows, &rivals[k], &srv, (uint32_t)k, t++);
	EXPECT_MARK(&res, &srv, t++, 7, "the set is just full");
	/* Each new connection takes the slot of the least recently used;
	 * res is used between them. */
	for (size_t k = FLOWS_WAYS - 1; k < 2 * FLOWS_WAYS; k++) {
		flows_set(&flows, &rivals[k], &srv, (uint32_t)k, t++);
		EXPECT_MARK(&res, &srv, t++, 7, "in use: kept");
		EXPECT_UNKNOWN(&rivals[k - (FLOWS_WAYS - 1)], &srv, t,
		    "the least recently used went");
	}
	/* Not used: the next FLOWS_WAYS - 1 connections leave it its slot,
	 * the one after takes it. */
	for (size_t k = 0; k < FLOWS_WAYS - 1; k++)
		flows_set(&flows, &rivals[k], &srv, 100, t++);
	EXPECT_MARK(&res, &srv, t++, 7, "used last before them");
	for (size_t k = 0; k < FLOWS_WAYS; k++)
		flows_set(&flows, &rivals[FLOWS_WAYS + k], &srv, 200, t++);
	EXPECT_UNKNOWN(&res, &srv, t, "used least recently: gone");
}
