/*
 * Unit tests for src/hold.c: SYN causes let through one at a time.  Time
 * is a plain number of milliseconds; ids stand for queued packets.
 */
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <criterion/criterion.h>

#include "hold.h"

static struct dns_question
q_typed(const char *label, uint16_t qtype, uint16_t qclass)
{
	struct dns_question q;
	size_t len = strlen(label);

	memset(&q, 0, sizeof(q));
	q.qtype = qtype;
	q.qclass = qclass;
	q.name[0] = (uint8_t)len;
	memcpy(q.name + 1, label, len);
	q.name[len + 1] = 0;
	q.name_len = (uint8_t)(len + 2);
	return q;
}

/* The question "label. TXT IN". */
static struct dns_question
q_named(const char *label)
{
	return q_typed(label, 16, 1);
}

/* A mark no cause has: hold_syn() must leave it alone unless it names. */
#define SYN_UNSET 0xdeadbeefu

/*
 * hold_syn() at now returns ret (1: named, -1: nobody's for sure, 0: no
 * cause), and writes mark when, and only when, it names the SYN.
 */
#define EXPECT_SYN(hold, now, ret, mark, what)				\
	EXPECT_SYN_TO(hold, NULL, now, ret, mark, what)
/* The same for a SYN to server (NULL: a server the hold takes for any). */
#define EXPECT_SYN_TO(hold, server, now, ret, mark, what)		\
	do {								\
		uint32_t syn_mark_ = SYN_UNSET;				\
		int syn_ret_ = hold_syn((hold), (server), (now),	\
		    &syn_mark_);					\
									\
		cr_assert_eq(syn_ret_, (ret),				\
		    "SYN at %llu returned %d, want %d: %s",		\
		    (unsigned long long)(now), syn_ret_, (ret), (what));	\
		cr_assert_eq(syn_mark_,					\
		    (ret) == 1 ? (uint32_t)(mark) : SYN_UNSET,		\
		    "SYN at %llu: mark 0x%x: %s",			\
		    (unsigned long long)(now), syn_mark_, (what));	\
	} while (0)
#define SYN_NAMED(hold, now, mark, what) EXPECT_SYN(hold, now, 1, mark, what)
#define SYN_IN_DOUBT(hold, now, what) EXPECT_SYN(hold, now, -1, 0, what)
#define SYN_UNCAUSED(hold, now, what) EXPECT_SYN(hold, now, 0, 0, what)

/* The counters the hold keeps, all of them. */
#define EXPECT_COUNTS(hold, held_, expired_, named_, overflow_)		\
	do {								\
		cr_assert_eq((hold)->counts.held, (held_), "held %llu",	\
		    (unsigned long long)(hold)->counts.held);		\
		cr_assert_eq((hold)->counts.expired, (expired_),	\
		    "expired %llu",					\
		    (unsigned long long)(hold)->counts.expired);	\
		cr_assert_eq((hold)->counts.named, (named_), "named %llu", \
		    (unsigned long long)(hold)->counts.named);		\
		cr_assert_eq((hold)->counts.overflow, (overflow_),	\
		    "overflow %llu",					\
		    (unsigned long long)(hold)->counts.overflow);	\
	} while (0)

/* hold_next_release() at now hands back exactly the id want. */
#define EXPECT_RELEASE(hold, now, want)					\
	do {								\
		uint32_t release_id_ = SYN_UNSET;			\
									\
		cr_assert_eq(hold_next_release((hold), (now), &release_id_), \
		    1, "nothing released at %llu, want id %u",		\
		    (unsigned long long)(now), (unsigned int)(want));	\
		cr_assert_eq(release_id_, (want), "released id %u, want %u", \
		    release_id_, (unsigned int)(want));			\
	} while (0)

/* Collects what hold_next_release() hands back at now_ms. */
static size_t
released(struct hold *hold, uint64_t now_ms, uint32_t *ids, size_t max)
{
	size_t n = 0;
	uint32_t id;

	while (n < max && hold_next_release(hold, now_ms, &id))
		ids[n++] = id;
	return n;
}

Test(hold, four_truncated_answers_name_four_syns_in_turn)
{
	struct hold hold;
	struct dns_question q[4] = {
		q_named("a"), q_named("b"), q_named("c"), q_named("d"),
	};
	uint32_t ids[HOLD_MAX];

	hold_init(&hold, 2);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 10, 1, &q[0], NULL, 100), 0,
	    "the first cause passes at once");
	for (uint32_t k = 1; k < 4; k++)
		cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 10 + k, k + 1,
		    &q[k], NULL, 100), 1, "another mark's cause waits");
	cr_assert_eq(released(&hold, 100, ids, HOLD_MAX), 0);
	for (uint32_t k = 0; k < 4; k++) {
		SYN_NAMED(&hold, 100, k + 1, "SYN k carries mark k + 1");
		if (k < 3) {
			cr_assert_eq(released(&hold, 100, ids, HOLD_MAX), 1);
			cr_assert_eq(ids[0], 11 + k, "the next cause goes");
		}
	}
	EXPECT_COUNTS(&hold, 3, 0, 4, 0);
	SYN_UNCAUSED(&hold, 101,
	    "a further SYN is not the last cause's: other evidence decides");
	SYN_UNCAUSED(&hold, 100 + HOLD_STALE_MS, "nor later");
	EXPECT_COUNTS(&hold, 3, 0, 4, 0);
	cr_assert_eq(hold.score[HOLD_TRUNCATED], 2);
}

Test(hold, same_mark_causes_pass_together)
{
	struct hold hold;
	struct dns_question a = q_named("a"), b = q_named("b");

	hold_init(&hold, 2);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 1, 7, &a, NULL, 0), 0);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 2, 7, &b, NULL, 0), 0,
	    "a second SYN of the same mark needs no turn of its own");
	SYN_NAMED(&hold, 0, 7, "the first SYN");
	SYN_NAMED(&hold, 1, 7, "the second SYN");
	SYN_UNCAUSED(&hold, HOLD_STALE_MS, "stale");
	EXPECT_COUNTS(&hold, 0, 0, 2, 0);
}

Test(hold, a_wait_ends_after_hold_ms_and_the_syns_in_doubt_are_nobodys)
{
	struct hold hold;
	struct dns_question a = q_named("a"), b = q_named("b");
	uint32_t id;

	hold_init(&hold, 2);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 1, 1, &a, NULL, 50), 0);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 2, 2, &b, NULL, 50), 1);
	cr_assert_eq(hold_deadline(&hold), 52);
	cr_assert_eq(hold_next_release(&hold, 51, &id), 0, "not yet");
	EXPECT_RELEASE(&hold, 52, 2);
	cr_assert_eq(hold_next_release(&hold, 52, &id), 0);
	EXPECT_COUNTS(&hold, 1, 1, 0, 0);
	/* Two SYNs may come, the first cause's late one and the second's,
	 * in either order: neither is named. */
	SYN_IN_DOUBT(&hold, 53, "mark 1's late SYN, or mark 2's");
	SYN_IN_DOUBT(&hold, 54, "the other one");
	cr_assert_eq(hold.owed, 0);
	/* Both came: the next cause names its SYN again. */
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 3, 3, &a, NULL, 60), 0);
	SYN_NAMED(&hold, 60, 3, "out of doubt");
	cr_assert_eq(hold.score[HOLD_TRUNCATED], 1,
	    "a late SYN is no sign that the kind has none");
	EXPECT_COUNTS(&hold, 1, 1, 1, 0);
}

Test(hold, the_syns_in_doubt_are_forgotten_after_hold_owed_ms)
{
	struct hold hold;
	struct dns_question a = q_named("a"), b = q_named("b");
	uint32_t id;

	hold_init(&hold, 2);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 1, 1, &a, NULL, 0), 0);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 2, 2, &b, NULL, 0), 1);
	EXPECT_RELEASE(&hold, 2, 2);
	cr_assert_eq(hold_next_release(&hold, 2, &id), 0);
	SYN_IN_DOUBT(&hold, 3, "mark 1's late SYN, or mark 2's");
	/* The other SYN never came. */
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 3, 3, &a, NULL,
	    2 + HOLD_STALE_MS), 0);
	SYN_IN_DOUBT(&hold, 2 + HOLD_STALE_MS, "still owed after HOLD_STALE_MS");
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 4, 4, &a, NULL,
	    2 + HOLD_STALE_MS + HOLD_OWED_MS), 0);
	cr_assert_eq(hold.owed, 0, "forgotten at HOLD_OWED_MS");
	SYN_NAMED(&hold, 2 + HOLD_STALE_MS + HOLD_OWED_MS, 4, "out of doubt");
	EXPECT_COUNTS(&hold, 1, 1, 1, 0);
}

/*
 * A hold of 2 ms whose truncated answer from client 1 (question a) went
 * stale at HOLD_STALE_MS with no SYN after it: the kind scores below zero.
 */
static void
truncated_gone_stale(struct hold *hold, const struct dns_question *a)
{
	uint32_t id;

	hold_init(hold, 2);
	cr_assert_eq(hold_cause(hold, HOLD_TRUNCATED, 1, 1, a, NULL, 0), 0);
	cr_assert_eq(hold_next_release(hold, HOLD_STALE_MS, &id), 0);
	cr_assert_eq(hold->open, 0, "stale: closed");
	cr_assert_eq(hold->score[HOLD_TRUNCATED], -1, "stale: no SYN came");
	EXPECT_COUNTS(hold, 0, 1, 0, 0);
}

Test(hold, a_kind_not_followed_by_syns_is_tried_again_later)
{
	struct hold hold;
	struct dns_question a = q_named("a"), b = q_named("b");
	uint64_t t = HOLD_STALE_MS;

	truncated_gone_stale(&hold, &a);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 3, 3, &a, NULL, t), 0);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 4, 4, &b, NULL, t), 0,
	    "a kind no SYN follows is not held");
	SYN_UNCAUSED(&hold, t + 1, "not named: not held");
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 5, 4, &b, NULL,
	    t + HOLD_RETRY_MS), 0);
	cr_assert_eq(hold.score[HOLD_TRUNCATED], 0, "tried again");
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 6, 5, &b, NULL,
	    t + HOLD_RETRY_MS), 1, "the kind is held again");
	SYN_NAMED(&hold, t + HOLD_RETRY_MS, 4, "the open cause's");
	EXPECT_RELEASE(&hold, t + HOLD_RETRY_MS, 6);
	cr_assert_eq(hold.score[HOLD_TRUNCATED], 1);
	EXPECT_COUNTS(&hold, 1, 1, 1, 0);
}

Test(hold, kinds_learn_apart)
{
	struct hold hold;
	struct dns_question a = q_named("a"), b = q_named("b");
	uint64_t t = HOLD_STALE_MS;

	/* A forwarder: truncated answers go back to clients, whose TCP
	 * retries are what open connections. */
	truncated_gone_stale(&hold, &a);
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 2, 1, &a, NULL, t), 0);
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 3, 2, &b, NULL, t), 1);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 4, 3, &b, NULL, t), 0,
	    "truncated answers pass");
	SYN_NAMED(&hold, t, 1, "the first TCP client's");
	EXPECT_RELEASE(&hold, t, 3);
	SYN_NAMED(&hold, t + 1, 2, "the second TCP client's");
	cr_assert_eq(hold.score[HOLD_TCP_CLIENT], 2);
	cr_assert_eq(hold.score[HOLD_TRUNCATED], -1);
	EXPECT_COUNTS(&hold, 1, 1, 2, 0);
}

Test(hold, a_query_on_a_reused_connection_settles_its_cause)
{
	struct hold hold;
	struct dns_question a = q_named("a"), b = q_named("b");
	struct dns_question a_aaaa = q_typed("a", 28, 1);
	struct dns_question a_chaos = q_typed("a", 16, 3);
	uint32_t id;

	hold_init(&hold, 2);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 1, 1, &a, NULL, 0), 0);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 2, 2, &b, NULL, 0), 1);
	hold_query(&hold, &b, 0);
	cr_assert_eq(hold_next_release(&hold, 0, &id), 0,
	    "another question settles nothing");
	hold_query(&hold, &a_aaaa, 0);
	cr_assert_eq(hold_next_release(&hold, 0, &id), 0,
	    "nor does the same name of another type");
	hold_query(&hold, &a_chaos, 0);
	cr_assert_eq(hold_next_release(&hold, 0, &id), 0,
	    "nor of another class");
	EXPECT_COUNTS(&hold, 1, 0, 0, 0);
	hold_query(&hold, &a, 0);
	EXPECT_RELEASE(&hold, 0, 2);
	SYN_NAMED(&hold, 0, 2, "the next cause's");
	cr_assert_eq(hold.score[HOLD_TRUNCATED], 2,
	    "the reused connection counts as the kind's SYN");
	EXPECT_COUNTS(&hold, 1, 0, 2, 0);
}

Test(hold, full_hold_passes_and_names_nobody)
{
	struct hold hold;
	struct dns_question a = q_named("a");
	uint32_t id, seen = 0;
	size_t n = 0;

	hold_init(&hold, 2);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 0, 100, &a, NULL, 0), 0);
	for (uint32_t k = 1; k <= HOLD_MAX; k++)
		cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, k, k, &a, NULL, 0), 1);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 99, 99, &a, NULL, 0), 0,
	    "beyond HOLD_MAX a cause passes at once");
	EXPECT_COUNTS(&hold, HOLD_MAX, 0, 0, 1);
	SYN_IN_DOUBT(&hold, 0,
	    "two marks passed together: the SYN is nobody's for sure");
	/* The rest still take turns, each opened in doubt, and every id
	 * comes back once. */
	for (uint32_t k = 0; k < 2 * HOLD_MAX; k++) {
		SYN_IN_DOUBT(&hold, 0, "opened in doubt");
		while (hold_next_release(&hold, 0, &id)) {
			n++;
			cr_assert(id >= 1 && id <= HOLD_MAX &&
			    !(seen & 1u << id), "id %u", id);
			seen |= 1u << id;
		}
	}
	cr_assert_eq(n, HOLD_MAX);
	EXPECT_COUNTS(&hold, HOLD_MAX, 0, 0, 1);
}

Test(hold, stop_releases_everything_and_holds_no_more)
{
	struct hold hold;
	struct dns_question a = q_named("a");
	uint32_t ids[HOLD_MAX];

	hold_init(&hold, 2);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 1, 1, &a, NULL, 0), 0);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 2, 2, &a, NULL, 0), 1);
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 3, 3, &a, NULL, 0), 1);
	hold_stop(&hold);
	cr_assert_eq(released(&hold, 0, ids, HOLD_MAX), 2);
	cr_assert(ids[0] + ids[1] == 5 && ids[0] * ids[1] == 6,
	    "ids 2 and 3 come back, not %u and %u", ids[0], ids[1]);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 4, 4, &a, NULL, 0), 0);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 5, 5, &a, NULL, 0), 0);
	cr_assert_eq(hold_deadline(&hold), 0);
	cr_assert_eq(released(&hold, 0, ids, HOLD_MAX), 0);
	SYN_UNCAUSED(&hold, 0, "stopped: no cause is open");
	EXPECT_COUNTS(&hold, 2, 0, 0, 0);
}

Test(hold, off_holds_nothing)
{
	struct hold hold;
	struct dns_question a = q_named("a");
	uint32_t ids[HOLD_MAX];

	hold_init(&hold, 0);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 1, 1, &a, NULL, 0), 0);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 2, 2, &a, NULL, 0), 0);
	cr_assert_eq(hold_deadline(&hold), 0);
	cr_assert_eq(released(&hold, 0, ids, HOLD_MAX), 0);
	SYN_UNCAUSED(&hold, 0, "off: no cause is ever open");
	EXPECT_COUNTS(&hold, 0, 0, 0, 0);
}

Test(hold, a_lone_cause_names_a_late_syn_until_stale)
{
	struct hold hold;
	struct dns_question a = q_named("a"), b = q_named("b");

	hold_init(&hold, 2);
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 1, 4, &a, NULL, 0), 0);
	cr_assert_eq(hold_deadline(&hold), 0, "nothing waits: no wake-up");
	SYN_NAMED(&hold, 30, 4,
	    "a forwarder that forked first is late, not wrong");
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 2, 5, &b, NULL, 100), 0,
	    "a named cause gives way at once");
	SYN_UNCAUSED(&hold, 100 + HOLD_STALE_MS, "a stale cause names nothing");
	cr_assert_eq(hold.score[HOLD_TCP_CLIENT], 0);
	EXPECT_COUNTS(&hold, 0, 1, 1, 0);
}

Test(hold, an_open_cause_gives_way_after_hold_ms_and_names_nothing_then)
{
	struct hold hold;
	struct dns_question a = q_named("a"), b = q_named("b");
	uint32_t id;

	hold_init(&hold, 2);
	hold.score[HOLD_TCP_CLIENT] = 2;
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 1, 4, &a, NULL, 0), 0);
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 2, 5, &b, NULL, 10), 1,
	    "another mark's cause waits, even behind an old one");
	cr_assert_eq(hold_deadline(&hold), 12, "for hold_ms from its arrival");
	cr_assert_eq(hold_next_release(&hold, 11, &id), 0);
	EXPECT_RELEASE(&hold, 12, 2);
	EXPECT_COUNTS(&hold, 1, 1, 0, 0);
	SYN_IN_DOUBT(&hold, 13, "mark 4's late SYN, or mark 5's");
	SYN_IN_DOUBT(&hold, 13, "the other one");
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 3, 6, &a, NULL, 14), 0);
	SYN_NAMED(&hold, 14, 6, "out of doubt");
	EXPECT_COUNTS(&hold, 1, 1, 1, 0);
}

/* A hold whose TCP-client causes are known to be followed by SYNs, with
 * mark's cause (question "a", id 1) open since 0. */
static void
tcp_clients_open(struct hold *hold, uint32_t mark)
{
	struct dns_question a = q_named("a");

	hold_init(hold, 2);
	hold->score[HOLD_TCP_CLIENT] = 2;
	cr_assert_eq(hold_cause(hold, HOLD_TCP_CLIENT, 1, mark, &a, NULL, 0), 0);
}

Test(hold, a_syn_later_than_the_owed_ones_names_no_cause_opened_in_doubt)
{
	struct hold hold;
	struct dns_question a = q_named("a"), b = q_named("b"),
	    c = q_named("c");

	tcp_clients_open(&hold, 1);
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 2, 4, &b, NULL, 0), 1);
	EXPECT_RELEASE(&hold, 2, 2);	/* mark 1's gave way without SYN */
	SYN_IN_DOUBT(&hold, 5, "mark 4's, or mark 1's");
	/* Later than HOLD_STALE_MS, within HOLD_OWED_MS: another client. */
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 3, 5, &c, NULL, 400), 0);
	SYN_IN_DOUBT(&hold, 450, "mark 1's late SYN is not mark 5's");
	SYN_IN_DOUBT(&hold, 460,
	    "nor is the next one: mark 5's cause opened in doubt");
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 4, 6, &a, NULL,
	    460 + HOLD_OWED_MS), 0);
	SYN_NAMED(&hold, 461 + HOLD_OWED_MS, 6,
	    "out of doubt, SYNs are named again");
	EXPECT_COUNTS(&hold, 1, 1, 1, 0);
}

Test(hold, a_second_cause_of_the_same_client_waits_for_its_own_syn)
{
	struct hold hold;
	struct dns_question b = q_named("b"), c = q_named("c");
	uint32_t id;

	tcp_clients_open(&hold, 2);
	SYN_NAMED(&hold, 1, 2, "the first client's first SYN");
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 2, 2, &b, NULL, 2), 0,
	    "the same client passes: the open cause stands for it");
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 3, 4, &c, NULL, 3), 1,
	    "another client waits for the first client's second SYN");
	cr_assert_eq(hold_next_release(&hold, 3, &id), 0);
	SYN_NAMED(&hold, 4, 2,
	    "the second SYN is the first client's, not the next one's");
	EXPECT_RELEASE(&hold, 4, 3);
	SYN_NAMED(&hold, 5, 4, "the next client's");
	EXPECT_COUNTS(&hold, 1, 0, 3, 0);
}

Test(hold, a_joined_cause_whose_syn_is_late_leaves_it_owed)
{
	struct hold hold;
	struct dns_question b = q_named("b"), c = q_named("c");

	tcp_clients_open(&hold, 2);
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 2, 2, &b, NULL, 0), 0);
	SYN_NAMED(&hold, 1, 2, "one of mark 2's two SYNs");
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 3, 4, &c, NULL, 2), 1);
	EXPECT_RELEASE(&hold, 4, 3);	/* hold_ms for the second SYN */
	cr_assert_eq(hold.owed, 2, "mark 2's second SYN and mark 4's");
	SYN_IN_DOUBT(&hold, 5, "mark 2's late SYN, or mark 4's");
	SYN_IN_DOUBT(&hold, 6, "the other one");
	EXPECT_COUNTS(&hold, 1, 1, 1, 0);
}

Test(hold, a_cause_that_gives_way_owes_every_syn_it_waited_for)
{
	struct hold hold;
	struct dns_question a = q_named("a"), b = q_named("b"),
	    c = q_named("c");

	tcp_clients_open(&hold, 1);
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 2, 1, &b, NULL, 0), 0,
	    "mark 1 waits for two SYNs");
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 3, 2, &c, NULL, 0), 1);
	EXPECT_RELEASE(&hold, 2, 3);	/* neither of mark 1's came */
	cr_assert_eq(hold.owed, 3, "mark 1's two SYNs and mark 2's");
	SYN_IN_DOUBT(&hold, 3, "one of three");
	SYN_IN_DOUBT(&hold, 4, "two of three");
	/* Mark 2's cause went stale; one SYN may still come, late. */
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 4, 3, &a, NULL, 300), 0);
	SYN_IN_DOUBT(&hold, 301, "the third owed SYN, or mark 3's");
	EXPECT_COUNTS(&hold, 1, 1, 0, 0);
}

Test(hold, a_cause_opened_in_doubt_is_owed_once)
{
	struct hold hold;
	struct dns_question a = q_named("a"), b = q_named("b"),
	    c = q_named("c");
	uint32_t ids[HOLD_MAX];

	tcp_clients_open(&hold, 1);
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 2, 2, &b, NULL, 0), 1);
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 3, 3, &c, NULL, 0), 1);
	/* Both waited hold_ms: mark 1's cause gives way to mark 2's, which
	 * gives way at once to mark 3's. */
	cr_assert_eq(released(&hold, 2, ids, HOLD_MAX), 2);
	cr_assert_eq(hold.owed, 3, "one SYN for each cause let through");
	SYN_IN_DOUBT(&hold, 3, "one of three");
	SYN_IN_DOUBT(&hold, 4, "two of three");
	SYN_IN_DOUBT(&hold, 5, "three of three");
	cr_assert_eq(hold.owed, 0);
	/* All three came: the next cause, mark 3's stale, names its SYN. */
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 4, 4, &a, NULL, 300), 0);
	SYN_NAMED(&hold, 301, 4, "out of doubt");
	EXPECT_COUNTS(&hold, 2, 2, 1, 0);
}

Test(hold, a_cause_joining_one_opened_in_doubt_stays_in_doubt)
{
	struct hold hold;
	struct dns_question b = q_named("b"), c = q_named("c");

	tcp_clients_open(&hold, 1);
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 2, 4, &b, NULL, 0), 1);
	EXPECT_RELEASE(&hold, 2, 2);
	SYN_IN_DOUBT(&hold, 3, "mark 1's late SYN, or mark 4's");
	SYN_IN_DOUBT(&hold, 4, "the other one");
	/* Mark 4's cause, opened in doubt, stays open: the same client's
	 * next one joins it, and a SYN may still be a late one of theirs. */
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 3, 4, &c, NULL, 5), 0);
	SYN_IN_DOUBT(&hold, 6, "joined a cause opened in doubt");
	EXPECT_COUNTS(&hold, 1, 1, 0, 0);
}

Test(hold, the_same_client_by_another_kind_first_scores_the_kind_down)
{
	struct hold hold;
	struct dns_question a = q_named("a");

	/* dnsmasq: the truncated answer goes to the client, whose TCP retry
	 * is what the SYN follows. */
	hold_init(&hold, 2);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 1, 7, &a, NULL, 0), 0);
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 2, 7, &a, NULL, 1), 0);
	SYN_NAMED(&hold, 2, 7, "the TCP client's");
	cr_assert_eq(hold.score[HOLD_TRUNCATED], -1);
	cr_assert_eq(hold.score[HOLD_TCP_CLIENT], 1);
	EXPECT_COUNTS(&hold, 0, 0, 1, 0);
}

Test(hold, another_clients_unheld_cause_ends_a_named_causes_ownership)
{
	struct hold hold;
	struct dns_question a = q_named("a"), b = q_named("b");

	hold_init(&hold, 2);
	hold.score[HOLD_TRUNCATED] = -1;
	hold.negative_ms[HOLD_TRUNCATED] = 0;
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 1, 7, &a, NULL, 0), 0);
	SYN_NAMED(&hold, 1, 7, "the TCP client's");
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 2, 8, &b, NULL, 2), 0);
	SYN_UNCAUSED(&hold, 3,
	    "a later SYN may be the other client's: not 7's any more");
	EXPECT_COUNTS(&hold, 0, 0, 1, 0);
}

/*
 * A further SYN is not the hold's to name, even after a cause of the same
 * client that the hold let pass: other evidence (that client's truncated
 * answer and TCP query, evidence_syn()) may name it.
 */
Test(hold, names_no_further_syn_after_an_unheld_cause_of_the_same_client)
{
	struct hold hold;
	struct dns_question a = q_named("a"), b = q_named("b");

	hold_init(&hold, 2);
	hold.score[HOLD_TRUNCATED] = -1;
	hold.negative_ms[HOLD_TRUNCATED] = 0;
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 1, 7, &a, NULL, 0), 0);
	SYN_NAMED(&hold, 1, 7, "the TCP client's");
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 2, 7, &b, NULL, 2), 0);
	SYN_UNCAUSED(&hold, 3, "the same client: not the hold's to name");
	EXPECT_COUNTS(&hold, 0, 0, 1, 0);
	/* The hold still works for that client; another client's unheld
	 * cause ends it. */
	{
		uint32_t mark = SYN_UNSET;

		cr_assert_eq(hold_open_mark(&hold, &mark), 1);
		cr_assert_eq(mark, 7);
		cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 3, 8, &b, NULL,
		    4), 0);
		cr_assert_eq(hold_open_mark(&hold, &mark), 0);
	}
}

Test(hold, a_kind_answered_from_the_cache_scores_down_after_a_named_cause)
{
	struct hold hold;
	struct dns_question a = q_named("a");

	/* A recursive resolver: its truncated answer's SYN comes, then the
	 * client's own TCP retry, answered from the cache, has none. */
	hold_init(&hold, 2);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 1, 7, &a, NULL, 0), 0);
	SYN_NAMED(&hold, 0, 7, "the resolver's retry");
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 2, 7, &a, NULL, 1), 0);
	cr_assert_eq(hold.score[HOLD_TRUNCATED], 1);
	SYN_UNCAUSED(&hold, 1 + HOLD_STALE_MS, "the TCP client's went stale");
	cr_assert_eq(hold.score[HOLD_TCP_CLIENT], -1);
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 3, 8, &a, NULL,
	    2 + HOLD_STALE_MS), 0);
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 4, 9, &a, NULL,
	    2 + HOLD_STALE_MS), 0, "TCP clients pass without waiting now");
	EXPECT_COUNTS(&hold, 0, 1, 1, 0);
}

Test(hold, a_kinds_score_stops_at_its_most)
{
	struct hold hold;
	struct dns_question a = q_named("a");
	uint64_t t;

	hold_init(&hold, 2);
	for (uint32_t k = 0; k < 3; k++) {
		cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, k, k + 1, &a, NULL,
		    k), 0);
		SYN_NAMED(&hold, k, k + 1, "named in turn");
	}
	cr_assert_eq(hold.score[HOLD_TRUNCATED], 2, "three SYNs score two");
	/* So three causes without a SYN stop the kind being held. */
	t = 10;
	for (uint32_t k = 3; k < 6; k++) {
		cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, k, k + 1, &a, NULL,
		    t), 0, "cause %u opens", k);
		t += HOLD_STALE_MS;
	}
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 6, 7, &a, NULL, t), 0);
	cr_assert_eq(hold.score[HOLD_TRUNCATED], -1);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 7, 8, &a, NULL, t), 0,
	    "not held after three causes without a SYN");
	EXPECT_COUNTS(&hold, 0, 3, 3, 0);
}

/*
 * Opens a cause of mark at now, names its SYN delay ms later, and a cause
 * of the next mark that follows lets it give way (the hold empty again).
 */
static void
syn_after(struct hold *hold, enum hold_kind kind, uint32_t mark,
    uint64_t now, uint64_t delay)
{
	struct dns_question a = q_named("a");

	cr_assert_eq(hold_cause(hold, kind, mark, mark, &a, NULL, now), 0);
	SYN_NAMED(hold, now + delay, mark, "the open cause's");
}

Test(hold, the_wait_is_twice_the_kinds_longest_recent_syn_delay)
{
	struct hold hold;
	struct dns_question b = q_named("b");
	uint64_t t = 0;

	hold_init(&hold, 50);
	cr_assert_eq(hold_wait(&hold, HOLD_TCP_CLIENT), 50,
	    "all of hold_ms before the kind's first SYN");
	syn_after(&hold, HOLD_TCP_CLIENT, 1, t, 1);
	cr_assert_eq(hold_wait(&hold, HOLD_TCP_CLIENT), HOLD_WAIT_MIN_MS,
	    "a fast SYN: the least wait");
	SYN_UNCAUSED(&hold, t + 5, "a further SYN: not the named cause's");
	cr_assert_eq(hold_wait(&hold, HOLD_TCP_CLIENT), HOLD_WAIT_MIN_MS,
	    "a further SYN is no SYN delay");
	cr_assert_eq(hold_wait(&hold, HOLD_TRUNCATED), 50,
	    "each kind learns for itself");
	syn_after(&hold, HOLD_TCP_CLIENT, 2, t += 10, 17);
	cr_assert_eq(hold_wait(&hold, HOLD_TCP_CLIENT),
	    2 * 17 + HOLD_WAIT_MARGIN_MS);
	syn_after(&hold, HOLD_TCP_CLIENT, 3, t += 30, 40);
	cr_assert_eq(hold_wait(&hold, HOLD_TCP_CLIENT), 50, "at most hold_ms");
	/* A held cause waits the open kind's wait, not hold_ms: the open
	 * cause's SYN is 24 ms late after 8 SYNs of 5 ms. */
	for (uint32_t k = 0; k < HOLD_DELAYS; k++)
		syn_after(&hold, HOLD_TCP_CLIENT, 10 + k, t += 60, 5);
	cr_assert_eq(hold_wait(&hold, HOLD_TCP_CLIENT),
	    2 * 5 + HOLD_WAIT_MARGIN_MS, "the slow SYNs forgotten");
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 30, 30, &b, NULL, t += 60),
	    0);
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 31, 31, &b, NULL, t + 1), 1);
	cr_assert_eq(hold_deadline(&hold), t + 1 + 12);
	EXPECT_RELEASE(&hold, t + 1 + 12, 31);
}

Test(hold, a_syn_in_doubt_lengthens_the_wait)
{
	struct hold hold;
	struct dns_question a = q_named("a"), b = q_named("b");

	hold_init(&hold, 50);
	syn_after(&hold, HOLD_TCP_CLIENT, 1, 0, 1);
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 2, 2, &a, NULL, 100), 0);
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 3, 3, &b, NULL, 101), 1);
	EXPECT_RELEASE(&hold, 101 + HOLD_WAIT_MIN_MS, 3);
	/* Mark 2's SYN, 30 ms after its cause: nobody's for sure, but no SYN
	 * of the kind took longer, and the next wait allows for it. */
	SYN_IN_DOUBT(&hold, 130, "mark 2's late SYN, or mark 3's");
	cr_assert_eq(hold_wait(&hold, HOLD_TCP_CLIENT), 50,
	    "2 x 30 + margin, at most hold_ms");
	SYN_IN_DOUBT(&hold, 131, "the other one");
	cr_assert_eq(hold.owed, 0);
}

/* Server endpoints, port 53: IPv4 203.0.113.N and IPv6 2001:db8:53::N. */
static struct packet_endpoint
server4(uint8_t n)
{
	struct packet_endpoint e = { .family = AF_INET, .port = 53 };

	e.addr[0] = 203, e.addr[1] = 0, e.addr[2] = 113, e.addr[3] = n;
	return e;
}

static struct packet_endpoint
server6(uint8_t n)
{
	struct packet_endpoint e = { .family = AF_INET6, .port = 53 };

	e.addr[0] = 0x20, e.addr[1] = 0x01, e.addr[2] = 0x0d;
	e.addr[3] = 0xb8, e.addr[5] = 0x53, e.addr[15] = n;
	return e;
}

Test(hold, names_no_syn_to_a_server_that_truncated_nothing)
{
	struct hold hold;
	struct dns_question a = q_named("a"), b = q_named("b");
	struct packet_endpoint v6 = server6(7), v4 = server4(7);
	struct packet_endpoint other_port = server6(7);

	/* Knot Resolver: mark 3's answer truncated by the IPv6 address;
	 * before its retry, a SYN to the IPv4 address, for another client's
	 * question sent over TCP at once.  Not mark 3's: other evidence
	 * decides, and the cause still waits for its own. */
	hold_init(&hold, 50);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 1, 3, &a, &v6, 0), 0);
	EXPECT_SYN_TO(&hold, &v4, 1, 0, 0, "a SYN to the IPv4 address");
	other_port.port = 853;
	EXPECT_SYN_TO(&hold, &other_port, 2, 0, 0, "a SYN to another port");
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 2, 4, &b, &v4, 3), 1,
	    "mark 3's cause is still open: mark 4's waits");
	EXPECT_SYN_TO(&hold, &v6, 4, 1, 3, "mark 3's retry");
	EXPECT_RELEASE(&hold, 4, 2);
	EXPECT_SYN_TO(&hold, &v4, 5, 1, 4, "mark 4's, to the IPv4 address");
}

Test(hold, a_joined_cause_names_syns_to_any_of_its_servers)
{
	struct hold hold;
	struct dns_question a = q_named("a"), b = q_named("b");
	struct packet_endpoint s1 = server4(1), s2 = server4(2),
	    s3 = server4(3);

	/* One client truncated by two servers: a SYN to each is its. */
	hold_init(&hold, 50);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 1, 5, &a, &s1, 0), 0);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 2, 5, &b, &s2, 1), 0);
	EXPECT_SYN_TO(&hold, &s3, 2, 0, 0, "a third server truncated nothing");
	EXPECT_SYN_TO(&hold, &s2, 3, 1, 5, "the second server's");
	EXPECT_SYN_TO(&hold, &s1, 4, 1, 5, "the first server's");
	EXPECT_SYN_TO(&hold, &s1, 5, 0, 0, "both came: no further one");
}

Test(hold, a_cause_of_more_servers_than_it_keeps_names_any)
{
	struct hold hold;
	struct dns_question a = q_named("a");
	struct packet_endpoint s;

	hold_init(&hold, 50);
	for (uint8_t k = 0; k <= HOLD_SERVERS; k++) {
		s = server4((uint8_t)(k + 1));
		cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, k, 6, &a, &s, k),
		    0);
	}
	s = server4(100);
	EXPECT_SYN_TO(&hold, &s, 10, 1, 6,
	    "more servers than kept: any server's");
	s = server4(1);
	EXPECT_SYN_TO(&hold, &s, 11, 1, 6, "and the first one's");
}

Test(hold, a_tcp_client_cause_names_a_syn_to_any_server)
{
	struct hold hold;
	struct dns_question a = q_named("a"), b = q_named("b");
	struct packet_endpoint s1 = server6(1), s2 = server6(2);

	/* A forwarder picks its server: a client's TCP query names a SYN to
	 * any.  Joined by the same client's truncated answer, still any. */
	hold_init(&hold, 50);
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 1, 8, &a, NULL, 0), 0);
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 2, 8, &b, NULL, 1), 0);
	EXPECT_SYN_TO(&hold, &s1, 2, 1, 8, "a SYN to one server");
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 3, 9, &a, &s1, 3), 1);
	EXPECT_SYN_TO(&hold, &s2, 4, 1, 8, "and to another");
	EXPECT_RELEASE(&hold, 4, 3);
	/* Mark 9's cause, truncated by s1, then its client's TCP query:
	 * the kind changes to a client's TCP query, any server's. */
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 4, 9, &b, NULL, 5), 0);
	EXPECT_SYN_TO(&hold, &s2, 6, 1, 9, "the TCP query's SYN, to s2");
}

/* Whom the hold works for: the open cause, unless a SYN is in doubt. */
Test(hold, tells_the_open_causes_mark_unless_in_doubt)
{
	struct hold hold;
	struct dns_question a = q_named("a"), b = q_named("b");
	uint32_t mark = SYN_UNSET;

	hold_init(&hold, 10);
	cr_assert_eq(hold_open_mark(&hold, &mark), 0, "nothing open");
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 1, 1, &a, NULL, 0), 0);
	cr_assert_eq(hold_open_mark(&hold, &mark), 1);
	cr_assert_eq(mark, 1);
	SYN_NAMED(&hold, 1, 1, "its SYN");
	cr_assert_eq(hold_open_mark(&hold, &mark), 1, "named, still open");
	cr_assert_eq(mark, 1);
	/* Mark 3's cause gives way without its SYN: mark 4's, let through
	 * meanwhile, is in doubt. */
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 2, 3, &a, NULL, 10), 0);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 3, 4, &b, NULL, 11), 1);
	EXPECT_RELEASE(&hold, 11 + HOLD_WAIT_MIN_MS, 3);
	mark = SYN_UNSET;
	cr_assert_eq(hold_open_mark(&hold, &mark), 0, "SYNs in doubt");
	cr_assert_eq(mark, SYN_UNSET);
}
