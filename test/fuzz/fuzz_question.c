/*
 * libFuzzer target: bytes as a DNS message for dns_parse_question(), and
 * the question it accepts through dns_name_format() as the debug log does.
 * Checks what an accepted question must be: one uncompressed, lower-case
 * name of at most 255 octets copied from the message, read by ldns exactly
 * where the pre-check walked (ldns never refuses what the pre-check took).
 * And that the kernel fast path reads the same messages the same way
 * (src/bpf/fast.h's fast_key_from_message(), what its BPF programs do):
 * a client question the kernel did not file, or filed under another key,
 * would let it mark a query dnsmark would not.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "fastkey.h"
#include "fuzz.h"

static void
check(int holds, const char *what)
{
	if (!holds) {
		fprintf(stderr, "fuzz_question: invariant broken: %s\n", what);
		abort();
	}
}

static uint16_t
read16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void
check_question(const uint8_t *msg, size_t len, const struct dns_question *q)
{
	char text[4 * DNS_NAME_MAX + 1], small[7];
	size_t name_len = q->name_len;

	check(name_len >= 1 && name_len <= DNS_NAME_MAX, "name length");
	check(DNS_HEADER_LEN + name_len + 4 <= len, "question inside message");
	check(fuzz_name_well_formed(q->name, name_len), "name well formed");
	for (size_t i = 0; i < name_len; i++) {
		check(!isupper(q->name[i]), "name lower case");
		check(q->name[i] == tolower(msg[DNS_HEADER_LEN + i]),
		    "name copied from the message");
	}
	check(q->id == read16(msg), "id");
	check(q->flags == read16(msg + 2), "flags");
	check(((q->flags >> 11) & 0x0f) == DNS_OPCODE_QUERY, "opcode");
	check(read16(msg + 4) == 1, "one question");
	check(q->qtype == read16(msg + DNS_HEADER_LEN + name_len), "qtype");
	check(q->qclass == read16(msg + DNS_HEADER_LEN + name_len + 2),
	    "qclass");

	dns_name_format(q->name, name_len, text, sizeof(text));
	check(strlen(text) < sizeof(text) && text[0] != '\0', "name text");
	check(text[strlen(text) - 1] == '.', "name text ends with a dot");
	dns_name_format(q->name, name_len, small, sizeof(small));
	check(strlen(small) < sizeof(small), "short name text bounded");
	check(strncmp(small, text, strlen(small)) == 0,
	    "short name text is a prefix");
}

/*
 * The fast path's programs file a question exactly when dnsmark parses one
 * (for a query: QR clear; for an answer: QR set), under the key dnsmark
 * would build from it.  A message longer than the 259 bytes the programs
 * copy may hold a question they cannot finish: never one dnsmark reads.
 */
static void
check_kernel(const uint8_t *msg, size_t len, enum dns_status status,
    const struct dns_question *q)
{
	struct fast_key kernel, parsed;
	uint8_t qr = len > 2 ? msg[2] & 0x80 : 0;
	int filed;

	if (len > UINT32_MAX)
		return;
	filed = fast_key_from_message(msg, (uint32_t)len, qr, &kernel);
	/* -1: a name of more labels than the programs walk; they stand
	 * aside for a timeout, which is safe whatever dnsmark reads. */
	if (filed < 0)
		return;
	check((filed > 0) == (status == DNS_OK),
	    "the kernel files what dnsmark reads");
	if (filed == 0)
		return;
	fastkey_from_question(q, &parsed);
	check(memcmp(&kernel, &parsed, sizeof(kernel)) == 0,
	    "the kernel's key is dnsmark's");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_question q;
	enum dns_status status;

	memset(&q, 0xa5, sizeof(q));
	status = dns_parse_question(data, size, &q);
	check((unsigned int)status < DNS_STATUS_COUNT, "status in range");
	check(strcmp(dns_status_name(status), "unknown") != 0, "status named");
	check(status != DNS_LDNS, "ldns agrees with the pre-check");
	if (status == DNS_OK)
		check_question(data, size, &q);
	check_kernel(data, size, status, &q);
	return 0;
}
