/*
 * The header and single question of a DNS message.  The question name is
 * walked here first, with every bound checked and compression pointers
 * refused (a question has nothing earlier to point at), and only then parsed
 * by ldns, so that ldns never follows a pointer chain on our packet path.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dns.h"

static uint16_t
read16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/*
 * Walks the uncompressed name at msg[offset..len).  Returns DNS_OK and the
 * name's length in octets, root label included, in *name_len.
 */
static enum dns_status
precheck_name(const uint8_t *msg, size_t len, size_t offset,
    size_t *name_len)
{
	size_t pos = offset;

	for (;;) {
		uint8_t label;

		if (pos >= len)
			return DNS_SHORT;
		label = msg[pos];
		if ((label & 0xc0) == 0xc0)
			return DNS_COMPRESSED;
		if ((label & 0xc0) != 0)
			return DNS_BAD_NAME;
		if (pos - offset + 1 + label > DNS_NAME_MAX)
			return DNS_BAD_NAME;
		pos += 1 + (size_t)label;
		if (label == 0)
			break;
	}
	*name_len = pos - offset;
	return DNS_OK;
}

void
dns_name_lower(uint8_t *name, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (name[i] >= 'A' && name[i] <= 'Z')
			name[i] = (uint8_t)(name[i] - 'A' + 'a');
}

enum dns_status
dns_parse_question(const uint8_t *msg, size_t len, struct dns_question *q)
{
	enum dns_status status;
	ldns_rdf *name = NULL;
	size_t name_len, pos = DNS_HEADER_LEN;
	uint16_t flags;

	if (len < DNS_HEADER_LEN)
		return DNS_SHORT;
	flags = read16(msg + 2);
	if (((flags >> 11) & 0x0f) != DNS_OPCODE_QUERY)
		return DNS_NOT_QUERY;
	if (read16(msg + 4) != 1)
		return DNS_QDCOUNT;
	status = precheck_name(msg, len, DNS_HEADER_LEN, &name_len);
	if (status != DNS_OK)
		return status;
	if (len - DNS_HEADER_LEN - name_len < 4)
		return DNS_SHORT;

	if (ldns_wire2dname(&name, msg, len, &pos) != LDNS_STATUS_OK) {
		status = DNS_LDNS;
		goto out;
	}
	if (ldns_rdf_size(name) != name_len ||
	    pos != DNS_HEADER_LEN + name_len) {
		status = DNS_LDNS;
		goto out;
	}
	q->id = read16(msg);
	q->flags = flags;
	q->name_len = (uint8_t)name_len;
	memcpy(q->name, ldns_rdf_data(name), name_len);
	/* Resolvers randomise the case of letters (0x20); compare without it. */
	dns_name_lower(q->name, name_len);
	q->qtype = read16(msg + pos);
	q->qclass = read16(msg + pos + 2);
	status = DNS_OK;
out:
	ldns_rdf_deep_free(name);
	return status;
}

const char *
dns_status_name(enum dns_status status)
{
	static const char *const names[DNS_STATUS_COUNT] = {
		[DNS_OK] = "ok",
		[DNS_SHORT] = "short",
		[DNS_NOT_QUERY] = "not_query",
		[DNS_QDCOUNT] = "qdcount",
		[DNS_COMPRESSED] = "compressed",
		[DNS_BAD_NAME] = "bad_name",
		[DNS_LDNS] = "ldns",
	};

	if ((unsigned int)status >= DNS_STATUS_COUNT)
		return "unknown";
	return names[status];
}

char *
dns_name_format(const uint8_t *name, size_t name_len, char *buf, size_t len)
{
	size_t out = 0, pos = 0;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (name_len == 0 || name[0] == 0) {
		snprintf(buf, len, ".");
		return buf;
	}
	while (pos < name_len && name[pos] != 0) {
		size_t label = name[pos++];

		for (size_t i = 0; i < label && pos < name_len; i++, pos++) {
			uint8_t c = name[pos];
			int n;

			if (c == '.' || c == '\\')
				n = snprintf(buf + out, len - out, "\\%c", c);
			else if (isgraph(c))
				n = snprintf(buf + out, len - out, "%c", c);
			else
				n = snprintf(buf + out, len - out, "\\%03u", c);
			if (n < 0 || (size_t)n >= len - out)
				return buf;
			out += (size_t)n;
		}
		if (out + 1 >= len)
			return buf;
		buf[out++] = '.';
		buf[out] = '\0';
	}
	return buf;
}
