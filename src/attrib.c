/*
 * The attribution policy for an upstream query whose question pending
 * clients asked.  One mark among them: that mark.  Several: the DNS id
 * decides if it can, else the operator's conflict policy.  It never invents
 * a mark nobody asked with, except the fixed conflict mark the operator set.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "attrib.h"

struct attrib_result
attrib_decide(const struct attrib_policy *policy,
    const struct asks_marks *match)
{
	struct attrib_result result = { .reason = ATTRIB_NONE };

	if (match->count == 0)
		return result;
	if (match->distinct_marks == 1) {
		result.reason = ATTRIB_EXACT;
		result.marked = 1;
		result.mark = match->first_mark;
		return result;
	}
	if (match->id_matched) {
		result.reason = ATTRIB_EXACT_ID;
		result.marked = 1;
		result.mark = match->id_mark;
		return result;
	}
	result.reason = ATTRIB_CONFLICT;
	result.marked = 1;
	switch (policy->conflict) {
	case ATTRIB_CONFLICT_FIRST:
		result.mark = match->first_mark;
		break;
	case ATTRIB_CONFLICT_LAST:
		result.mark = match->last_mark;
		break;
	case ATTRIB_CONFLICT_FIXED:
		result.mark = policy->conflict_mark;
		break;
	case ATTRIB_CONFLICT_NONE:
	default:
		result.reason = ATTRIB_CONFLICT_UNMARKED;
		result.marked = 0;
		break;
	}
	return result;
}

const char *
attrib_reason_name(enum attrib_reason reason)
{
	static const char *const names[ATTRIB_REASON_COUNT] = {
		[ATTRIB_NONE] = "none",
		[ATTRIB_EXACT] = "exact",
		[ATTRIB_EXACT_ID] = "exact_id",
		[ATTRIB_CONFLICT] = "conflict",
		[ATTRIB_CONFLICT_UNMARKED] = "conflict_unmarked",
		[ATTRIB_ANCESTOR] = "ancestor",
		[ATTRIB_LEARNED] = "learned",
		[ATTRIB_TCP] = "tcp",
		[ATTRIB_RECENT] = "recent",
		[ATTRIB_SINGLE] = "single",
	};

	if ((unsigned int)reason >= ATTRIB_REASON_COUNT)
		return "unknown";
	return names[reason];
}

int
attrib_parse_conflict(const char *text, struct attrib_policy *policy)
{
	unsigned long mark;
	char *end;

	if (strcmp(text, "none") == 0) {
		policy->conflict = ATTRIB_CONFLICT_NONE;
		return 0;
	}
	if (strcmp(text, "first") == 0) {
		policy->conflict = ATTRIB_CONFLICT_FIRST;
		return 0;
	}
	if (strcmp(text, "last") == 0) {
		policy->conflict = ATTRIB_CONFLICT_LAST;
		return 0;
	}
	if (text[0] < '0' || text[0] > '9')
		return -EINVAL;
	errno = 0;
	mark = strtoul(text, &end, 0);
	if (errno != 0 || *end != '\0' || mark > UINT32_MAX)
		return -EINVAL;
	policy->conflict = ATTRIB_CONFLICT_FIXED;
	policy->conflict_mark = (uint32_t)mark;
	return 0;
}
