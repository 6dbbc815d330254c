/*
 * Unit tests for src/hold.c: SYN causes let through one at a time.  Time
 * is a plain number of milliseconds; ids stand for queued packets.
 */
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "hold.h"

static struct dns_question
q_named(const char *label)
{
	struct dns_question q;
	size_t len = strlen(label);

	memset(&q, 0, sizeof(q));
	q.qtype = 16;
	q.qclass = 1;
	q.name[0] = (uint8_t)len;
	memcpy(q.name + 1, label, len);
	q.name[len + 1] = 0;
	q.name_len = (uint8_t)(len + 2);
	return q;
}

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
	uint32_t ids[HOLD_MAX], mark;

	hold_init(&hold, 2);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 10, 1, &q[0], 100), 0,
	    "the first cause passes at once");
	for (uint32_t k = 1; k < 4; k++)
		cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 10 + k, k + 1,
		    &q[k], 100), 1, "another mark's cause waits");
	cr_assert_eq(released(&hold, 100, ids, HOLD_MAX), 0);
	for (uint32_t k = 0; k < 4; k++) {
		cr_assert(hold_syn(&hold, 100, &mark), "SYN %u is named", k);
		cr_assert_eq(mark, k + 1, "SYN %u carries mark %u", k, k + 1);
		if (k < 3) {
			cr_assert_eq(released(&hold, 100, ids, HOLD_MAX), 1);
			cr_assert_eq(ids[0], 11 + k, "the next cause goes");
		}
	}
	cr_assert_eq(hold.counts.held, 3);
	cr_assert_eq(hold.counts.named, 4);
	cr_assert_eq(hold.counts.expired, 0);
	cr_assert(hold_syn(&hold, 101, &mark) && mark == 4,
	    "further SYNs are the last cause's while nobody else's waits");
	cr_assert_eq(hold_syn(&hold, 100 + HOLD_STALE_MS, &mark), 0,
	    "until it is stale");
}

Test(hold, same_mark_causes_pass_together)
{
	struct hold hold;
	struct dns_question a = q_named("a"), b = q_named("b");
	uint32_t mark;

	hold_init(&hold, 2);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 1, 7, &a, 0), 0);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 2, 7, &b, 0), 0,
	    "a second SYN of the same mark needs no turn of its own");
	cr_assert(hold_syn(&hold, 0, &mark) && mark == 7);
	cr_assert(hold_syn(&hold, 1, &mark) && mark == 7);
	cr_assert_eq(hold_syn(&hold, HOLD_STALE_MS, &mark), 0);
}

Test(hold, a_wait_ends_after_hold_ms_and_the_syns_in_doubt_are_nobodys)
{
	struct hold hold;
	struct dns_question a = q_named("a"), b = q_named("b");
	uint32_t id, mark;

	hold_init(&hold, 2);
	hold_cause(&hold, HOLD_TRUNCATED, 1, 1, &a, 50);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 2, 2, &b, 50), 1);
	cr_assert_eq(hold_deadline(&hold), 52);
	cr_assert_eq(hold_next_release(&hold, 51, &id), 0, "not yet");
	cr_assert_eq(hold_next_release(&hold, 52, &id), 1);
	cr_assert_eq(id, 2);
	cr_assert_eq(hold.counts.expired, 1);
	/* Two SYNs may come, the first cause's late one and the second's,
	 * in either order: neither is named. */
	cr_assert_eq(hold_syn(&hold, 53, &mark), -1);
	cr_assert_eq(hold_syn(&hold, 54, &mark), -1);
	/* Both came: the next cause names its SYN again. */
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 3, 3, &a, 60), 0);
	cr_assert(hold_syn(&hold, 60, &mark) && mark == 3);
	cr_assert_eq(hold.score[HOLD_TRUNCATED], 1,
	    "a late SYN is no sign that the kind has none");
}

Test(hold, the_syns_in_doubt_are_forgotten_after_hold_owed_ms)
{
	struct hold hold;
	struct dns_question a = q_named("a"), b = q_named("b");
	uint32_t id, mark;

	hold_init(&hold, 2);
	hold_cause(&hold, HOLD_TRUNCATED, 1, 1, &a, 0);
	hold_cause(&hold, HOLD_TRUNCATED, 2, 2, &b, 0);
	while (hold_next_release(&hold, 2, &id))
		;
	cr_assert_eq(hold_syn(&hold, 3, &mark), -1);
	/* The other SYN never came. */
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 3, 3, &a,
	    2 + HOLD_STALE_MS), 0);
	cr_assert_eq(hold_syn(&hold, 2 + HOLD_STALE_MS, &mark), -1,
	    "still owed after HOLD_STALE_MS");
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 4, 4, &a,
	    2 + HOLD_STALE_MS + HOLD_OWED_MS), 0);
	cr_assert(hold_syn(&hold, 2 + HOLD_STALE_MS + HOLD_OWED_MS, &mark) &&
	    mark == 4);
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
	hold_cause(hold, HOLD_TRUNCATED, 1, 1, a, 0);
	cr_assert_eq(hold_next_release(hold, HOLD_STALE_MS, &id), 0);
	cr_assert_eq(hold->score[HOLD_TRUNCATED], -1, "stale: no SYN came");
}

Test(hold, a_kind_not_followed_by_syns_is_tried_again_later)
{
	struct hold hold;
	struct dns_question a = q_named("a"), b = q_named("b");
	uint32_t mark;
	uint64_t t = HOLD_STALE_MS;

	truncated_gone_stale(&hold, &a);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 3, 3, &a, t), 0);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 4, 4, &b, t), 0,
	    "a kind no SYN follows is not held");
	cr_assert_eq(hold_syn(&hold, t + 1, &mark), 0, "not named: not held");
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 5, 4, &b,
	    t + HOLD_RETRY_MS), 0);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 6, 5, &b,
	    t + HOLD_RETRY_MS), 1, "the kind is held again");
	cr_assert(hold_syn(&hold, t + HOLD_RETRY_MS, &mark) && mark == 4);
}

Test(hold, kinds_learn_apart)
{
	struct hold hold;
	struct dns_question a = q_named("a"), b = q_named("b");
	uint32_t id, mark;
	uint64_t t = HOLD_STALE_MS;

	/* A forwarder: truncated answers go back to clients, whose TCP
	 * retries are what open connections. */
	truncated_gone_stale(&hold, &a);
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 2, 1, &a, t), 0);
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 3, 2, &b, t), 1);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 4, 3, &b, t), 0,
	    "truncated answers pass");
	cr_assert(hold_syn(&hold, t, &mark) && mark == 1);
	cr_assert_eq(hold_next_release(&hold, t, &id), 1);
	cr_assert_eq(id, 3);
	cr_assert(hold_syn(&hold, t + 1, &mark) && mark == 2);
	cr_assert_eq(hold.score[HOLD_TCP_CLIENT], 2);
}

Test(hold, a_query_on_a_reused_connection_settles_its_cause)
{
	struct hold hold;
	struct dns_question a = q_named("a"), b = q_named("b");
	uint32_t id, mark;

	hold_init(&hold, 2);
	hold_cause(&hold, HOLD_TRUNCATED, 1, 1, &a, 0);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 2, 2, &b, 0), 1);
	hold_query(&hold, &b, 0);
	cr_assert_eq(hold_next_release(&hold, 0, &id), 0,
	    "another question settles nothing");
	hold_query(&hold, &a, 0);
	cr_assert_eq(hold_next_release(&hold, 0, &id), 1);
	cr_assert_eq(id, 2);
	cr_assert(hold_syn(&hold, 0, &mark) && mark == 2);
	cr_assert_eq(hold.counts.expired, 0);
}

Test(hold, full_hold_passes_and_names_nobody)
{
	struct hold hold;
	struct dns_question a = q_named("a");
	uint32_t mark, id;
	size_t n = 0;

	hold_init(&hold, 2);
	hold_cause(&hold, HOLD_TRUNCATED, 0, 100, &a, 0);
	for (uint32_t k = 1; k <= HOLD_MAX; k++)
		cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, k, k, &a, 0), 1);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 99, 99, &a, 0), 0,
	    "beyond HOLD_MAX a cause passes at once");
	cr_assert_eq(hold.counts.overflow, 1);
	cr_assert_eq(hold_syn(&hold, 0, &mark), -1,
	    "two marks passed together: the SYN is nobody's for sure");
	/* The rest still take turns, and every id comes back once. */
	for (uint32_t k = 0; k < 2 * HOLD_MAX; k++) {
		hold_syn(&hold, 0, &mark);
		while (hold_next_release(&hold, 0, &id))
			n++;
	}
	cr_assert_eq(n, HOLD_MAX);
}

Test(hold, stop_releases_everything_and_holds_no_more)
{
	struct hold hold;
	struct dns_question a = q_named("a");
	uint32_t ids[HOLD_MAX];

	hold_init(&hold, 2);
	hold_cause(&hold, HOLD_TRUNCATED, 1, 1, &a, 0);
	hold_cause(&hold, HOLD_TRUNCATED, 2, 2, &a, 0);
	hold_cause(&hold, HOLD_TCP_CLIENT, 3, 3, &a, 0);
	hold_stop(&hold);
	cr_assert_eq(released(&hold, 0, ids, HOLD_MAX), 2);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 4, 4, &a, 0), 0);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 5, 5, &a, 0), 0);
	cr_assert_eq(hold_deadline(&hold), 0);
}

Test(hold, off_holds_nothing)
{
	struct hold hold;
	struct dns_question a = q_named("a");
	uint32_t mark;

	hold_init(&hold, 0);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 1, 1, &a, 0), 0);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 2, 2, &a, 0), 0);
	cr_assert_eq(hold_syn(&hold, 0, &mark), 0);
}

Test(hold, a_lone_cause_names_a_late_syn_until_stale)
{
	struct hold hold;
	struct dns_question a = q_named("a"), b = q_named("b");
	uint32_t mark;

	hold_init(&hold, 2);
	hold_cause(&hold, HOLD_TCP_CLIENT, 1, 4, &a, 0);
	cr_assert_eq(hold_deadline(&hold), 0, "nothing waits: no wake-up");
	cr_assert(hold_syn(&hold, 30, &mark) && mark == 4,
	    "a forwarder that forked first is late, not wrong");
	hold_cause(&hold, HOLD_TCP_CLIENT, 2, 5, &b, 100);
	cr_assert_eq(hold_syn(&hold, 100 + HOLD_STALE_MS, &mark), 0,
	    "a stale cause names nothing");
	cr_assert_eq(hold.counts.expired, 1);
}

Test(hold, an_open_cause_gives_way_after_hold_ms_and_names_nothing_then)
{
	struct hold hold;
	struct dns_question a = q_named("a"), b = q_named("b");
	uint32_t id, mark;

	hold_init(&hold, 2);
	hold.score[HOLD_TCP_CLIENT] = 2;
	hold_cause(&hold, HOLD_TCP_CLIENT, 1, 4, &a, 0);
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 2, 5, &b, 10), 1,
	    "another mark's cause waits, even behind an old one");
	cr_assert_eq(hold_deadline(&hold), 12, "for hold_ms from its arrival");
	cr_assert_eq(hold_next_release(&hold, 11, &id), 0);
	cr_assert_eq(hold_next_release(&hold, 12, &id), 1);
	cr_assert_eq(id, 2);
	cr_assert_eq(hold.counts.expired, 1);
	cr_assert_eq(hold_syn(&hold, 13, &mark), -1);
	cr_assert_eq(hold_syn(&hold, 13, &mark), -1);
	hold_cause(&hold, HOLD_TCP_CLIENT, 3, 6, &a, 14);
	cr_assert(hold_syn(&hold, 14, &mark) && mark == 6);
}

/* A hold whose TCP-client causes are known to be followed by SYNs, with
 * mark's cause (question "a", id 1) open since 0. */
static void
tcp_clients_open(struct hold *hold, uint32_t mark)
{
	struct dns_question a = q_named("a");

	hold_init(hold, 2);
	hold->score[HOLD_TCP_CLIENT] = 2;
	hold_cause(hold, HOLD_TCP_CLIENT, 1, mark, &a, 0);
}

Test(hold, a_syn_later_than_the_owed_ones_names_no_cause_opened_in_doubt)
{
	struct hold hold;
	struct dns_question a = q_named("a"), b = q_named("b"),
	    c = q_named("c");
	uint32_t id, mark;

	tcp_clients_open(&hold, 1);
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 2, 4, &b, 0), 1);
	cr_assert(hold_next_release(&hold, 2, &id) && id == 2,
	    "mark 1's cause gave way without its SYN");
	cr_assert_eq(hold_syn(&hold, 5, &mark), -1, "mark 4's, or mark 1's");
	/* Later than HOLD_STALE_MS, within HOLD_OWED_MS: another client. */
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 3, 5, &c, 400), 0);
	cr_assert_eq(hold_syn(&hold, 450, &mark), -1,
	    "mark 1's late SYN is not mark 5's");
	cr_assert_eq(hold_syn(&hold, 460, &mark), -1,
	    "nor is the next one: mark 5's cause opened in doubt");
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 4, 6, &a,
	    460 + HOLD_OWED_MS), 0);
	cr_assert(hold_syn(&hold, 461 + HOLD_OWED_MS, &mark) && mark == 6,
	    "out of doubt, SYNs are named again");
}

Test(hold, a_second_cause_of_the_same_client_waits_for_its_own_syn)
{
	struct hold hold;
	struct dns_question b = q_named("b"), c = q_named("c");
	uint32_t id, mark;

	tcp_clients_open(&hold, 2);
	cr_assert(hold_syn(&hold, 1, &mark) && mark == 2);
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 2, 2, &b, 2), 0,
	    "the same client passes: the open cause stands for it");
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 3, 4, &c, 3), 1,
	    "another client waits for the first client's second SYN");
	cr_assert_eq(hold_next_release(&hold, 3, &id), 0);
	cr_assert(hold_syn(&hold, 4, &mark) && mark == 2,
	    "the second SYN is the first client's, not the next one's");
	cr_assert(hold_next_release(&hold, 4, &id) && id == 3);
	cr_assert(hold_syn(&hold, 5, &mark) && mark == 4);
}

Test(hold, a_joined_cause_whose_syn_is_late_leaves_it_owed)
{
	struct hold hold;
	struct dns_question b = q_named("b"), c = q_named("c");
	uint32_t id, mark;

	tcp_clients_open(&hold, 2);
	hold_cause(&hold, HOLD_TCP_CLIENT, 2, 2, &b, 0);
	cr_assert(hold_syn(&hold, 1, &mark) && mark == 2);
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 3, 4, &c, 2), 1);
	cr_assert(hold_next_release(&hold, 4, &id) && id == 3,
	    "it waited hold_ms for the second SYN");
	cr_assert_eq(hold_syn(&hold, 5, &mark), -1,
	    "mark 2's late SYN, or mark 4's");
	cr_assert_eq(hold_syn(&hold, 6, &mark), -1);
}

Test(hold, the_same_client_by_another_kind_first_scores_the_kind_down)
{
	struct hold hold;
	struct dns_question a = q_named("a");
	uint32_t mark;

	/* dnsmasq: the truncated answer goes to the client, whose TCP retry
	 * is what the SYN follows. */
	hold_init(&hold, 2);
	hold_cause(&hold, HOLD_TRUNCATED, 1, 7, &a, 0);
	hold_cause(&hold, HOLD_TCP_CLIENT, 2, 7, &a, 1);
	cr_assert(hold_syn(&hold, 2, &mark) && mark == 7);
	cr_assert_eq(hold.score[HOLD_TRUNCATED], -1);
	cr_assert_eq(hold.score[HOLD_TCP_CLIENT], 1);
}

Test(hold, another_clients_unheld_cause_ends_a_named_causes_ownership)
{
	struct hold hold;
	struct dns_question a = q_named("a"), b = q_named("b");
	uint32_t mark;

	hold_init(&hold, 2);
	hold.score[HOLD_TRUNCATED] = -1;
	hold.negative_ms[HOLD_TRUNCATED] = 0;
	hold_cause(&hold, HOLD_TCP_CLIENT, 1, 7, &a, 0);
	cr_assert(hold_syn(&hold, 1, &mark) && mark == 7);
	cr_assert_eq(hold_cause(&hold, HOLD_TRUNCATED, 2, 8, &b, 2), 0);
	cr_assert_eq(hold_syn(&hold, 3, &mark), 0,
	    "a later SYN may be the other client's: not 7's any more");
}

Test(hold, a_kind_answered_from_the_cache_scores_down_after_a_named_cause)
{
	struct hold hold;
	struct dns_question a = q_named("a");
	uint32_t mark;

	/* A recursive resolver: its truncated answer's SYN comes, then the
	 * client's own TCP retry, answered from the cache, has none. */
	hold_init(&hold, 2);
	hold_cause(&hold, HOLD_TRUNCATED, 1, 7, &a, 0);
	cr_assert(hold_syn(&hold, 0, &mark) && mark == 7);
	hold_cause(&hold, HOLD_TCP_CLIENT, 2, 7, &a, 1);
	cr_assert_eq(hold.score[HOLD_TRUNCATED], 1);
	hold_syn(&hold, 1 + HOLD_STALE_MS, &mark);
	cr_assert_eq(hold.score[HOLD_TCP_CLIENT], -1);
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 3, 8, &a,
	    2 + HOLD_STALE_MS), 0);
	cr_assert_eq(hold_cause(&hold, HOLD_TCP_CLIENT, 4, 9, &a,
	    2 + HOLD_STALE_MS), 0, "TCP clients pass without waiting now");
}
