/*
 * libFuzzer target: bytes as an upstream DNS response for response_parse(),
 * whole (partial 0) and as the first TCP segment of a longer one (partial
 * 1).  Checks what must hold for any input: a refused message teaches
 * nothing, every learned name is a well-formed lower-case wire name, and
 * reading a message as partial only forgives a cut, never changes what a
 * whole message teaches.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "response.h"
#include "fuzz.h"

static struct response_facts whole, partial;

static void
check(int holds, const char *what)
{
	if (!holds) {
		fprintf(stderr, "fuzz_response: invariant broken: %s\n", what);
		abort();
	}
}

static void
check_facts(enum response_status status, const struct response_facts *facts)
{
	check((unsigned int)status < RESPONSE_STATUS_COUNT, "status in range");
	check(strcmp(response_status_name(status), "unknown") != 0,
	    "status named");
	check(facts->name_count <= RESPONSE_MAX_NAMES, "names bounded");
	if (status != RESPONSE_OK) {
		check(facts->name_count == 0, "a refused message teaches nothing");
		return;
	}
	check(dns_is_response(&facts->question), "QR set");
	check(!response_is_final(facts) || !facts->truncated,
	    "a truncated answer ends nothing");
	check(facts->rcode == (facts->question.flags & 0x0fu), "rcode");
	for (unsigned int i = 0; i < facts->name_count; i++) {
		const struct response_name *n = &facts->names[i];

		check(n->kind == RESPONSE_CNAME_TARGET ||
		    n->kind == RESPONSE_NS_NAME, "name kind");
		check(n->len >= 1 && n->len <= DNS_NAME_MAX, "name length");
		check(fuzz_name_well_formed(n->name, n->len), "name well formed");
		for (unsigned int j = 0; j < n->len; j++)
			check(!isupper(n->name[j]), "name lower case");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum response_status whole_status, partial_status;

	whole_status = response_parse(data, size, 0, &whole);
	partial_status = response_parse(data, size, 1, &partial);
	check_facts(whole_status, &whole);
	check_facts(partial_status, &partial);
	if (whole_status == RESPONSE_OK) {
		check(partial_status == RESPONSE_OK, "partial accepts the whole");
		check(memcmp(&whole, &partial, sizeof(whole)) == 0,
		    "partial learns what the whole teaches");
		check(response_is_final(&whole) == response_is_final(&partial),
		    "partial sees the same end of resolution");
	}
	if (whole_status != RESPONSE_BAD_RECORD)
		check(partial_status == whole_status,
		    "partial forgives only a cut");
	return 0;
}
