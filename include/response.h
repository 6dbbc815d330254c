/*
 * What an upstream server's response teaches about the names a resolver
 * will ask next: CNAME targets in the answer, name server names in a
 * referral.  Responses come from arbitrary servers: the whole message is
 * walked and bounded here (every compression pointer must point before the
 * name run it interrupts, so chains end) before ldns reads the names we use,
 * one record at a time; ldns_wire2pkt is never called (ldns 1.8.3 leaks on
 * two TSIG records).  Pure: no sockets, no allocation of its own.
 */
#ifndef DNSMARK_RESPONSE_H
#define DNSMARK_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

#include "dns.h"

#define RESPONSE_MAX_NAMES 16	/* names learned from one response, at most */
#define RESPONSE_MAX_RECORDS 512	/* records walked, at most */
#define RESPONSE_MAX_STEPS 4096	/* labels and pointers walked, at most */

enum response_status {
	RESPONSE_OK = 0,
	RESPONSE_BAD_QUESTION,	/* header or question refused by dns_parse_question */
	RESPONSE_NOT_RESPONSE,	/* QR bit clear */
	RESPONSE_BAD_RECORD,	/* a record overruns, loops or is malformed */
	RESPONSE_TOO_MANY,	/* more records or name steps than the caps */
	RESPONSE_STATUS_COUNT
};

enum response_name_kind {
	RESPONSE_CNAME_TARGET = 1,	/* a CNAME's target in the answer */
	RESPONSE_NS_NAME,		/* a name server of a referral */
};

struct response_name {
	uint8_t kind;
	uint8_t len;
	uint8_t name[DNS_NAME_MAX];	/* canonical wire form, lower case */
};

struct response_facts {
	struct dns_question question;
	unsigned int rcode;
	int truncated;			/* TC bit */
	unsigned int answers;		/* records in the answer section */
	unsigned int answers_of_qtype;	/* ... of the question's type */
	int authority_soa;		/* an SOA in the authority section */
	unsigned int name_count;
	unsigned int names_dropped;	/* learned names beyond RESPONSE_MAX_NAMES */
	struct response_name names[RESPONSE_MAX_NAMES];
};

/*
 * Parses the response msg[0..len) into *facts, which the caller owns.  A
 * TCP response may be cut short (only its first segment is seen): with
 * partial non-zero, records beyond len are not an error, the walk just
 * stops.  Returns RESPONSE_OK or why it refused the message; on refusal
 * *facts holds nothing to learn from.
 */
enum response_status response_parse(const uint8_t *msg, size_t len,
    int partial, struct response_facts *facts);

/*
 * Returns non-zero when the response ends the resolution of its question:
 * a name error, an answer of the question's type, or no data (an SOA and
 * no answer); not a referral, a CNAME alone or a truncated answer.
 */
int response_is_final(const struct response_facts *facts);

/* Returns a short constant name for status, for logs and counters. */
const char *response_status_name(enum response_status status);

#endif
