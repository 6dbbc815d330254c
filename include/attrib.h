/*
 * The attribution policy: given what the evidence tables know about an
 * upstream query's question, decide which client mark it carries and why.
 * Pure.  A wrong mark is worse than no mark.
 */
#ifndef DNSMARK_ATTRIB_H
#define DNSMARK_ATTRIB_H

#include <stdint.h>

#include "asks.h"

/* What to do when clients with different marks wait on one upstream query. */
enum attrib_conflict {
	ATTRIB_CONFLICT_NONE = 0,	/* leave the query unmarked */
	ATTRIB_CONFLICT_FIRST,		/* the client who asked first */
	ATTRIB_CONFLICT_LAST,		/* the client who asked last */
	ATTRIB_CONFLICT_FIXED,		/* a mark the operator chose */
};

/* Why a query got the mark it got. */
enum attrib_reason {
	ATTRIB_NONE = 0,	/* no pending client asked it */
	ATTRIB_EXACT,		/* one mark among the clients asking it */
	ATTRIB_EXACT_ID,	/* several marks; the DNS id told them apart */
	ATTRIB_CONFLICT,	/* several marks; the conflict policy chose */
	ATTRIB_CONFLICT_UNMARKED, /* several marks; policy "none" */
	ATTRIB_ANCESTOR,	/* the name leads to a pending client's name */
	ATTRIB_LEARNED,		/* a name an upstream response pointed to */
	ATTRIB_TCP,		/* a TCP connection to a server that answered truncated */
	ATTRIB_RECENT,		/* the question a client asked recently */
	ATTRIB_SINGLE,		/* only one mark among all pending clients */
	ATTRIB_REASON_COUNT
};

struct attrib_policy {
	enum attrib_conflict conflict;
	uint32_t conflict_mark;	/* for ATTRIB_CONFLICT_FIXED */
};

struct attrib_result {
	enum attrib_reason reason;
	int marked;		/* non-zero when mark is to be applied */
	uint32_t mark;		/* the client mark, before merging */
};

/*
 * Decides the mark for an upstream query from what asks_match() found
 * in one table of evidence: ATTRIB_NONE when it found nothing, ATTRIB_EXACT
 * for a single mark (the caller names the evidence), else the DNS id or the
 * conflict policy decides.
 */
struct attrib_result attrib_decide(const struct attrib_policy *policy,
    const struct asks_marks *match);

/*
 * Returns the mark to give a packet whose mark is packet_mark: the bits of
 * client_mark selected by mask, the other bits kept from packet_mark.
 */
static inline uint32_t
attrib_merge_mark(uint32_t packet_mark, uint32_t client_mark, uint32_t mask)
{
	return (packet_mark & ~mask) | (client_mark & mask);
}

/* Returns a short constant name for reason, for logs and counters. */
const char *attrib_reason_name(enum attrib_reason reason);

/*
 * Parses a conflict policy: "none", "first", "last" or a mark number
 * (decimal or 0x hexadecimal).  Returns 0, or -EINVAL.
 */
int attrib_parse_conflict(const char *text, struct attrib_policy *policy);

#endif
