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

Test(flows, remembers_the_last_query_mark_per_connection)
{
	struct packet_endpoint res = endpoint(AF_INET, 1, 40000);
	struct packet_endpoint res2 = endpoint(AF_INET, 1, 40001);
	struct packet_endpoint srv = endpoint(AF_INET, 53, 53);
	uint32_t mark;

	flows_init(&flows, test_key);
	cr_assert_eq(flows_get(&flows, &res, &srv, &mark, 0), 0);
	flows_set(&flows, &res, &srv, 1, 0);
	flows_set(&flows, &res2, &srv, 2, 0);
	cr_assert(flows_get(&flows, &res, &srv, &mark, 10) && mark == 1);
	cr_assert(flows_get(&flows, &res2, &srv, &mark, 10) && mark == 2);
	flows_set(&flows, &res, &srv, 3, 20);
	cr_assert(flows_get(&flows, &res, &srv, &mark, 30) && mark == 3,
	    "the next query on the connection decides");
	cr_assert_eq(flows_get(&flows, &srv, &res, &mark, 30), 0,
	    "direction matters");
}

Test(flows, forgets_on_request_and_when_idle)
{
	struct packet_endpoint res = endpoint(AF_INET6, 1, 40000);
	struct packet_endpoint srv = endpoint(AF_INET6, 53, 53);
	struct packet_endpoint v4 = endpoint(AF_INET, 1, 40000);
	uint32_t mark;

	flows_init(&flows, test_key);
	flows_set(&flows, &res, &srv, 5, 1000);
	cr_assert_eq(flows_get(&flows, &v4, &srv, &mark, 1000), 0,
	    "the family is part of the connection");
	flows_forget(&flows, &res, &srv);
	cr_assert_eq(flows_get(&flows, &res, &srv, &mark, 1000), 0);
	flows_set(&flows, &res, &srv, 5, 1000);
	cr_assert(flows_get(&flows, &res, &srv, &mark,
	    1000 + FLOWS_IDLE_MS - 1));
	cr_assert_eq(flows_get(&flows, &res, &srv, &mark,
	    1000 + 2 * FLOWS_IDLE_MS), 0, "idle connections are forgotten");
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

		if (flows_get(&flows, &res, &srv, &mark, 0)) {
			cr_assert_eq(mark, port, "a slot never answers for "
			    "another connection");
			found++;
		}
	}
	cr_assert(found > 0 && found <= FLOWS_SLOTS, "found %u", found);
}
