/*
 * One open cause at a time, the others of other marks waiting in a small
 * ring (hold.h).  The open cause stays open until its SYN comes, the first
 * cause waiting behind it has waited hold_ms, or HOLD_STALE_MS has passed.
 * A kind's score counts whether its causes are followed by SYNs here: it
 * drops below zero at an expiry, and a kind below zero is neither opened
 * nor held (its causes pass at once) until HOLD_RETRY_MS later.
 */
#include <string.h>

#include "hold.h"

#define HOLD_SCORE_MIN (-1)
#define HOLD_SCORE_MAX 2

void
hold_init(struct hold *hold, uint64_t hold_ms)
{
	memset(hold, 0, sizeof(*hold));
	hold->hold_ms = hold_ms;
}

static int
same_question(const struct dns_question *a, const struct dns_question *b)
{
	return a->qtype == b->qtype && a->qclass == b->qclass &&
	    a->name_len == b->name_len &&
	    memcmp(a->name, b->name, a->name_len) == 0;
}

static void
release_id(struct hold *hold, uint32_t id)
{
	/* Held plus released never exceed HOLD_MAX (hold_cause()). */
	if (hold->release_count < HOLD_MAX)
		hold->release[hold->release_count++] = id;
}

static struct hold_cause *
pop_held(struct hold *hold)
{
	struct hold_cause *cause = &hold->held[hold->head];

	hold->head = (hold->head + 1) % HOLD_MAX;
	hold->count--;
	return cause;
}

/* Lets the next held cause through and opens it; causes of a kind no
 * longer followed by SYNs are let through without opening. */
static void
open_next(struct hold *hold, uint64_t now_ms)
{
	while (hold->count > 0 && !hold->open) {
		struct hold_cause *next = pop_held(hold);

		release_id(hold, next->id);
		if (hold->score[next->kind] < 0)
			continue;
		hold->current = *next;
		hold->current.since_ms = now_ms;
		hold->open = 1;
	}
}

/*
 * The open cause is over: followed by its SYN, or its wait ran out.  When
 * it gave way to a waiting cause, its SYN may still come, late: the next
 * SYN could be either's, so the cause opened next names none.
 */
static void
settle(struct hold *hold, int followed, uint64_t now_ms)
{
	int *score = &hold->score[hold->current.kind];
	int gave_way = !followed && hold->count > 0;

	if (followed) {
		if (*score < HOLD_SCORE_MAX)
			(*score)++;
	} else {
		hold->counts.expired++;
		if (*score > HOLD_SCORE_MIN)
			(*score)--;
		if (*score < 0)
			hold->negative_ms[hold->current.kind] = now_ms;
	}
	hold->open = 0;
	open_next(hold, now_ms);
	if (gave_way && hold->open)
		hold->current.ambiguous = 1;
}

/*
 * The open cause's wait is over when the first cause waiting behind it has
 * waited hold_ms (no packet is held longer), or when it is stale.  Alone,
 * it stays open: a SYN late (a forwarder forks for each TCP client first)
 * is still its own.
 */
static void
advance(struct hold *hold, uint64_t now_ms)
{
	while (hold->open && (now_ms - hold->current.since_ms >= HOLD_STALE_MS ||
	    (hold->count > 0 &&
	    now_ms - hold->held[hold->head].since_ms >= hold->hold_ms)))
		settle(hold, 0, now_ms);
}

int
hold_cause(struct hold *hold, enum hold_kind kind, uint32_t id,
    uint32_t mark, const struct dns_question *q, uint64_t now_ms)
{
	struct hold_cause *slot;

	advance(hold, now_ms);
	if (hold->hold_ms == 0)
		return 0;
	/* A kind found not followed by SYNs is tried again after a while. */
	if (hold->score[kind] < 0 &&
	    now_ms - hold->negative_ms[kind] >= HOLD_RETRY_MS)
		hold->score[kind] = 0;
	if (hold->score[kind] < 0)
		return 0;
	if (!hold->open) {
		hold->current = (struct hold_cause){
			.id = id, .mark = mark, .kind = kind, .syns = 1,
			.since_ms = now_ms, .question = *q,
		};
		hold->open = 1;
		return 0;
	}
	if (hold->current.mark == mark) {
		hold->current.syns++;
		return 0;
	}
	if (hold->count + hold->release_count >= HOLD_MAX) {
		hold->counts.overflow++;
		hold->current.ambiguous = 1;
		return 0;
	}
	slot = &hold->held[(hold->head + hold->count) % HOLD_MAX];
	*slot = (struct hold_cause){
		.id = id, .mark = mark, .kind = kind, .syns = 1,
		.since_ms = now_ms, .question = *q,
	};
	hold->count++;
	hold->counts.held++;
	return 1;
}

int
hold_syn(struct hold *hold, uint64_t now_ms, uint32_t *mark)
{
	int named;

	advance(hold, now_ms);
	if (!hold->open)
		return 0;
	named = !hold->current.ambiguous;
	*mark = hold->current.mark;
	if (named)
		hold->counts.named++;
	if (--hold->current.syns == 0 || !named)
		settle(hold, 1, now_ms);
	return named;
}

void
hold_query(struct hold *hold, const struct dns_question *q, uint64_t now_ms)
{
	advance(hold, now_ms);
	if (hold->open && same_question(&hold->current.question, q)) {
		hold->counts.named++;
		settle(hold, 1, now_ms);
	}
}

int
hold_next_release(struct hold *hold, uint64_t now_ms, uint32_t *id)
{
	advance(hold, now_ms);
	if (hold->release_count == 0)
		return 0;
	/* Order does not matter between released ids; take the last. */
	*id = hold->release[--hold->release_count];
	return 1;
}

uint64_t
hold_deadline(const struct hold *hold)
{
	return hold->open && hold->count > 0 ?
	    hold->held[hold->head].since_ms + hold->hold_ms : 0;
}

void
hold_stop(struct hold *hold)
{
	hold->hold_ms = 0;
	hold->open = 0;
	while (hold->count > 0)
		release_id(hold, pop_held(hold)->id);
}
