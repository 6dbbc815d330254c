/*
 * Hostile packets for judge_packet(), one table shared by the unit test
 * that checks each is accepted and counted (test_hostile.c) and by the
 * benchmark that times them (test/bench/hostile.c).  Test code only.
 */
#ifndef DNSMARK_TEST_HOSTILE_H
#define DNSMARK_TEST_HOSTILE_H

#include <stddef.h>
#include <stdint.h>

#include "stats.h"

/* Room for the largest IP packet a case builds. */
#define HOSTILE_PACKET_MAX 65600

/*
 * The bed every case runs in: a client with HOSTILE_CLIENT_MARK asked
 * HOSTILE_VICTIM_NAME, and the resolver asked it upstream with
 * HOSTILE_VICTIM_ID; hostile responses answer that query, so whatever a
 * response managed to teach would be learned under the client's mark.
 */
#define HOSTILE_CLIENT_MARK 0x7
#define HOSTILE_VICTIM_NAME "victim.example.test"
#define HOSTILE_VICTIM_ID 0x5151

struct hostile_case {
	const char *name;	/* what the packet is */
	unsigned int hook;	/* JUDGE_HOOK_LOCAL_IN or _OUT */
	unsigned int first;	/* variants first..last (a cut length, ...) */
	unsigned int last;
	enum stats_counter counter;	/* what must count it */
	unsigned int count;	/* by how much */
	int marked;		/* a legitimate upstream query of the client's */
	unsigned int learned;	/* names it legitimately teaches */
	size_t (*build)(unsigned int variant, uint8_t *out, size_t cap);
};

extern const struct hostile_case hostile_cases[];
extern const size_t hostile_case_count;

/* The victim client's query (LOCAL_IN, to be fed with the client's mark). */
size_t hostile_victim_client_query(uint8_t *out, size_t cap);

/* The resolver's query for it (LOCAL_OUT). */
size_t hostile_victim_upstream_query(uint8_t *out, size_t cap);

/* A plain client query (LOCAL_IN) and the resolver's query for the same
 * name (LOCAL_OUT): the normal traffic hostile packets are measured against. */
size_t hostile_normal_client_query(const char *name, uint8_t *out,
    size_t cap);
size_t hostile_normal_upstream_query(const char *name, uint8_t *out,
    size_t cap);

#endif
