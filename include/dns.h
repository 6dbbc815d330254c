/*
 * The DNS facts dnsmark needs from a message: its header and its single
 * question, the name in canonical (lower-case, uncompressed) wire form.
 * Pure: it reads the message it is given, rejects anything malformed before
 * ldns sees it, and never touches a socket.
 */
#ifndef DNSMARK_DNS_H
#define DNSMARK_DNS_H

#include <stddef.h>
#include <stdint.h>

#define DNS_HEADER_LEN 12
#define DNS_NAME_MAX 255
#define DNS_OPCODE_QUERY 0

enum dns_status {
	DNS_OK = 0,
	DNS_SHORT,		/* shorter than a header and a question */
	DNS_NOT_QUERY,		/* opcode other than QUERY */
	DNS_QDCOUNT,		/* not exactly one question */
	DNS_COMPRESSED,		/* compression pointer in the question */
	DNS_BAD_NAME,		/* label or name too long, bad label type */
	DNS_LDNS,		/* ldns refused what the pre-check accepted */
	DNS_STATUS_COUNT
};

struct dns_question {
	uint16_t id;
	uint16_t flags;		/* second header word: QR, opcode, AA, TC, RD, ... */
	uint16_t qtype;
	uint16_t qclass;
	uint8_t name_len;	/* octets used in name, including the root label */
	uint8_t name[DNS_NAME_MAX];	/* wire form, ASCII letters lower-cased */
};

/*
 * Lower-cases the ASCII letters of a wire-form name in place, and nothing
 * else: DNS names compare without regard to ASCII case only (RFC 4343),
 * whatever the locale, and no length octet (at most 63) is a letter.
 */
void dns_name_lower(uint8_t *name, size_t len);

#define DNS_FLAG_QR 0x8000
#define DNS_FLAG_TC 0x0200

/* Returns non-zero when the question's QR bit says it is a response. */
static inline int
dns_is_response(const struct dns_question *q)
{
	return (q->flags & DNS_FLAG_QR) != 0;
}

/*
 * Parses the header and the one question of the message msg[0..len) into
 * *q, which the caller owns.  Checks bounds and rejects compression pointers
 * itself before handing the name to ldns.  Returns DNS_OK or the reason.
 */
enum dns_status dns_parse_question(const uint8_t *msg, size_t len,
    struct dns_question *q);

/* Returns a short constant name for status, for logs and counters. */
const char *dns_status_name(enum dns_status status);

/*
 * Writes the question's name in presentation form ("www.example.com.") to
 * buf of size len, escaping unprintable octets; returns buf.
 */
char *dns_name_format(const uint8_t *name, size_t name_len, char *buf,
    size_t len);

#endif
