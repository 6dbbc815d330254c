/*
 * Learning from upstream responses: CNAME targets and referral name
 * servers.  Every record is walked with bounds checked here first; a name
 * is handed to ldns only after this walk proved that its compression
 * pointers end.  Work per message is bounded by RESPONSE_MAX_RECORDS and
 * by the message length.
 */
#include <string.h>

#include <ldns/ldns.h>

#include "response.h"

#define TYPE_NS 2
#define TYPE_CNAME 5
#define TYPE_SOA 6
#define RCODE_NOERROR 0
#define RCODE_NXDOMAIN 3
#define NAME_MAX_STEPS 255	/* labels and pointers in one name */

static uint16_t
read16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/*
 * Walks a possibly compressed name at msg[pos..len).  A pointer must point
 * before the start of the run of labels it ends, so every jump goes further
 * back and the walk ends.  Sets *next to the offset after the name as it
 * stands at pos.  Each label and pointer spends one unit of *budget.
 * Returns 0, -1 when the name is malformed or runs out, -2 when the budget
 * is spent.
 */
static int
walk_name(const uint8_t *msg, size_t len, size_t pos, size_t *next,
    unsigned int *budget)
{
	size_t run_start = pos, name_len = 0;
	int jumped = 0;

	for (int steps = 0; steps < NAME_MAX_STEPS; steps++) {
		uint8_t label;

		/* All names of a message share one budget: 512 records of
		 * long pointer chains would otherwise cost milliseconds. */
		if (*budget == 0)
			return -2;
		(*budget)--;

		if (pos >= len)
			return -1;
		label = msg[pos];
		if ((label & 0xc0) == 0xc0) {
			size_t target;

			if (pos + 1 >= len)
				return -1;
			target = (size_t)(label & 0x3f) << 8 | msg[pos + 1];
			if (target >= run_start)
				return -1;
			if (!jumped)
				*next = pos + 2;
			jumped = 1;
			pos = run_start = target;
			continue;
		}
		if ((label & 0xc0) != 0)
			return -1;
		name_len += 1 + (size_t)label;
		if (name_len > DNS_NAME_MAX)
			return -1;
		if (label == 0) {
			if (!jumped)
				*next = pos + 1;
			return 0;
		}
		pos += 1 + (size_t)label;
	}
	return -1;
}

/* Reads the name at pos with ldns into out, lower-cased; 0 or -1. */
static int
read_name(const uint8_t *msg, size_t len, size_t pos, size_t end,
    struct response_name *out)
{
	ldns_rdf *name = NULL;
	size_t name_len;
	int ret = -1;

	if (ldns_wire2dname(&name, msg, len, &pos) != LDNS_STATUS_OK)
		goto out;
	name_len = ldns_rdf_size(name);
	/* The name must fill the record data exactly. */
	if (pos != end || name_len == 0 || name_len > DNS_NAME_MAX)
		goto out;
	out->len = (uint8_t)name_len;
	memcpy(out->name, ldns_rdf_data(name), name_len);
	dns_name_lower(out->name, name_len);
	ret = 0;
out:
	ldns_rdf_deep_free(name);
	return ret;
}

/*
 * Learns the name that is the whole record data at msg[rdata..end).
 * Returns -1 when its compression is hostile, -2 when the budget is spent,
 * else 0 (a name that does not fill the data exactly is just not learned).
 */
static int
learn(const uint8_t *msg, size_t len, size_t rdata, size_t end,
    enum response_name_kind kind, struct response_facts *facts,
    unsigned int *budget)
{
	struct response_name *out;
	size_t next;
	int ret;

	ret = walk_name(msg, end, rdata, &next, budget);
	if (ret < 0)
		return ret;
	if (next != end)
		return 0;
	if (facts->name_count >= RESPONSE_MAX_NAMES) {
		facts->names_dropped++;
		return 0;
	}
	out = &facts->names[facts->name_count];
	out->kind = (uint8_t)kind;
	if (read_name(msg, len, rdata, end, out) == 0)
		facts->name_count++;
	return 0;
}

enum response_status
response_parse(const uint8_t *msg, size_t len, int partial,
    struct response_facts *facts)
{
	unsigned int counts[3], walked = 0, budget = RESPONSE_MAX_STEPS;
	size_t pos;
	int ret;

	memset(facts, 0, sizeof(*facts));
	if (dns_parse_question(msg, len, &facts->question) != DNS_OK)
		return RESPONSE_BAD_QUESTION;
	if (!dns_is_response(&facts->question))
		return RESPONSE_NOT_RESPONSE;
	facts->rcode = facts->question.flags & 0x0f;
	facts->truncated = (facts->question.flags & DNS_FLAG_TC) != 0;
	counts[0] = read16(msg + 6);
	counts[1] = read16(msg + 8);
	counts[2] = read16(msg + 10);
	if ((unsigned long)counts[0] + counts[1] + counts[2] >
	    RESPONSE_MAX_RECORDS)
		return RESPONSE_TOO_MANY;
	pos = DNS_HEADER_LEN + facts->question.name_len + 4;

	for (int section = 0; section < 3; section++) {
		for (unsigned int i = 0; i < counts[section]; i++, walked++) {
			enum response_name_kind kind;
			size_t rdata, end;
			uint16_t type;

			ret = walk_name(msg, len, pos, &pos, &budget);
			if (ret == -2) {
				facts->name_count = 0;
				return RESPONSE_TOO_MANY;
			}
			if (ret < 0 || len - pos < 10) {
				if (partial)
					return RESPONSE_OK;
				facts->name_count = 0;
				return RESPONSE_BAD_RECORD;
			}
			type = read16(msg + pos);
			rdata = pos + 10;
			end = rdata + read16(msg + pos + 8);
			if (end > len) {
				if (partial)
					return RESPONSE_OK;
				facts->name_count = 0;
				return RESPONSE_BAD_RECORD;
			}
			if (section == 0) {
				facts->answers++;
				if (type == facts->question.qtype)
					facts->answers_of_qtype++;
			} else if (section == 1 && type == TYPE_SOA) {
				facts->authority_soa = 1;
			}
			if (section == 0 && type == TYPE_CNAME)
				kind = RESPONSE_CNAME_TARGET;
			else if (section == 1 && type == TYPE_NS &&
			    counts[0] == 0)
				kind = RESPONSE_NS_NAME;
			else
				kind = 0;
			ret = kind != 0 ? learn(msg, len, rdata, end, kind,
			    facts, &budget) : 0;
			if (ret < 0) {
				facts->name_count = 0;
				return ret == -2 ? RESPONSE_TOO_MANY :
				    RESPONSE_BAD_RECORD;
			}
			pos = end;
		}
	}
	return RESPONSE_OK;
}

int
response_is_final(const struct response_facts *facts)
{
	if (facts->truncated)
		return 0;
	if (facts->rcode == RCODE_NXDOMAIN)
		return 1;
	if (facts->rcode != RCODE_NOERROR)
		return 0;
	return facts->answers_of_qtype > 0 ||
	    (facts->answers == 0 && facts->authority_soa);
}

const char *
response_status_name(enum response_status status)
{
	static const char *const names[RESPONSE_STATUS_COUNT] = {
		[RESPONSE_OK] = "ok",
		[RESPONSE_BAD_QUESTION] = "bad_question",
		[RESPONSE_NOT_RESPONSE] = "not_response",
		[RESPONSE_BAD_RECORD] = "bad_record",
		[RESPONSE_TOO_MANY] = "too_many",
	};

	if ((unsigned int)status >= RESPONSE_STATUS_COUNT)
		return "unknown";
	return names[status];
}
