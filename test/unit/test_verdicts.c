/*
 * Unit tests for src/verdicts.c: queue messages read into packet ids whole,
 * broken, without payload or cut short by a truncated datagram; verdict
 * batches that fill and are sent rather than dropped; sends retried while
 * the peer has no room, then given up and counted.  Sends go over real
 * local datagram sockets (socketpair), read back on the other end.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>

#include "verdicts.h"

/* A datagram of up to three queue messages, aligned for nlmsghdr. */
static uint64_t datagram[3 * 2048 / 8];

/* Appends a queue message header of type at offset; returns it. */
static struct nlmsghdr *
message_start(size_t offset, uint16_t type)
{
	struct nlmsghdr *nlh =
	    mnl_nlmsg_put_header((uint8_t *)datagram + offset);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = type;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_INET;
	nfg->res_id = htons(53);
	return nlh;
}

static void
header_put(struct nlmsghdr *nlh, uint32_t id, uint8_t hook)
{
	struct nfqnl_msg_packet_hdr ph = {
		.packet_id = htonl(id),
		.hw_protocol = htons(0x0800),
		.hook = hook,
	};

	mnl_attr_put(nlh, NFQA_PACKET_HDR, sizeof(ph), &ph);
}

/* A 100-byte stand-in for the IP packet: its bytes are never decoded here. */
static const uint8_t payload[100] = { 0x45, 0x00, 0x00, 0x64 };

/*
 * Builds at offset a packet message as the kernel lays it out: header
 * first, then mark, then the payload last.
 */
static struct nlmsghdr *
packet_put(size_t offset, uint32_t id, uint8_t hook, uint32_t mark)
{
	struct nlmsghdr *nlh = message_start(offset,
	    (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET);

	header_put(nlh, id, hook);
	mnl_attr_put_u32(nlh, NFQA_MARK, htonl(mark));
	mnl_attr_put(nlh, NFQA_PAYLOAD, sizeof(payload), payload);
	return nlh;
}

Test(verdicts, reads_a_whole_packet)
{
	struct nlmsghdr *nlh = packet_put(0, 7, NF_INET_LOCAL_OUT, 0x2a);
	struct verdicts_packet packet;

	cr_assert_eq(verdicts_read_packet(nlh, nlh->nlmsg_len, &packet),
	    VERDICTS_READ_PACKET);
	cr_assert_eq(packet.id, 7);
	cr_assert_eq(packet.hook, NF_INET_LOCAL_OUT);
	cr_assert(packet.has_mark);
	cr_assert_eq(packet.mark, 0x2a);
	cr_assert_eq(packet.payload_len, sizeof(payload));
	cr_assert(memcmp(packet.payload, payload, sizeof(payload)) == 0);
	cr_assert_null(packet.ct);
}

Test(verdicts, gives_the_id_of_a_message_with_a_malformed_attribute)
{
	struct nlmsghdr *nlh = message_start(0,
	    (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET);
	uint8_t three[3] = { 1, 2, 3 };
	struct verdicts_packet packet;

	header_put(nlh, 11, NF_INET_LOCAL_IN);
	/* A mark of three bytes: libnetfilter_queue's parser refuses the
	 * whole message for it. */
	mnl_attr_put(nlh, NFQA_MARK, sizeof(three), three);
	mnl_attr_put(nlh, NFQA_PAYLOAD, sizeof(payload), payload);
	cr_assert_eq(verdicts_read_packet(nlh, nlh->nlmsg_len, &packet),
	    VERDICTS_READ_ID_ONLY);
	cr_assert_eq(packet.id, 11);
}

Test(verdicts, gives_the_id_of_a_message_whose_attribute_overruns_it)
{
	struct nlmsghdr *nlh = packet_put(0, 12, NF_INET_LOCAL_IN, 1);
	struct nlattr *last;
	struct verdicts_packet packet;

	/* The payload attribute claims more bytes than the message has. */
	last = (struct nlattr *)((uint8_t *)nlh + nlh->nlmsg_len -
	    MNL_ALIGN(MNL_ATTR_HDRLEN + sizeof(payload)));
	cr_assert_eq(mnl_attr_get_type(last), NFQA_PAYLOAD);
	last->nla_len += 64;
	cr_assert_eq(verdicts_read_packet(nlh, nlh->nlmsg_len, &packet),
	    VERDICTS_READ_ID_ONLY);
	cr_assert_eq(packet.id, 12);
}

Test(verdicts, gives_the_id_of_a_message_without_payload)
{
	struct nlmsghdr *nlh = message_start(0,
	    (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET);
	struct verdicts_packet packet;

	header_put(nlh, 13, NF_INET_LOCAL_IN);
	cr_assert_eq(verdicts_read_packet(nlh, nlh->nlmsg_len, &packet),
	    VERDICTS_READ_ID_ONLY);
	cr_assert_eq(packet.id, 13);
}

Test(verdicts, finds_no_id_without_a_whole_packet_header)
{
	struct nlmsghdr *nlh = message_start(0,
	    (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET);
	uint8_t short_header[4] = { 0, 0, 0, 14 };
	struct verdicts_packet packet;

	mnl_attr_put(nlh, NFQA_PACKET_HDR, sizeof(short_header), short_header);
	mnl_attr_put(nlh, NFQA_PAYLOAD, sizeof(payload), payload);
	cr_assert_eq(verdicts_read_packet(nlh, nlh->nlmsg_len, &packet),
	    VERDICTS_READ_NO_ID);
	cr_assert_eq(packet.id, 0);

	nlh = message_start(0, (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET);
	mnl_attr_put(nlh, NFQA_PAYLOAD, sizeof(payload), payload);
	cr_assert_eq(verdicts_read_packet(nlh, nlh->nlmsg_len, &packet),
	    VERDICTS_READ_NO_ID);
}

Test(verdicts, leaves_other_messages_alone)
{
	struct nlmsghdr *nlh = message_start(0, NLMSG_ERROR);
	struct verdicts_packet packet;

	cr_assert_eq(verdicts_read_packet(nlh, nlh->nlmsg_len, &packet),
	    VERDICTS_READ_OTHER);
	nlh = message_start(0, (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_CONFIG);
	cr_assert_eq(verdicts_read_packet(nlh, nlh->nlmsg_len, &packet),
	    VERDICTS_READ_OTHER);
	/* The right message number in another subsystem (nfnetlink_log). */
	nlh = message_start(0, (NFNL_SUBSYS_ULOG << 8) | NFQNL_MSG_PACKET);
	header_put(nlh, 15, NF_INET_LOCAL_IN);
	cr_assert_eq(verdicts_read_packet(nlh, nlh->nlmsg_len, &packet),
	    VERDICTS_READ_OTHER);
}

/* Builds three packet messages (ids 21, 22, 23) in one datagram. */
static size_t
three_packets(size_t offsets[3])
{
	size_t len = 0;

	for (int i = 0; i < 3; i++) {
		struct nlmsghdr *nlh = packet_put(len, 21 + (uint32_t)i,
		    NF_INET_LOCAL_IN, 0);

		offsets[i] = len;
		len += MNL_ALIGN(nlh->nlmsg_len);
	}
	return len;
}

Test(verdicts, walks_every_message_of_a_datagram)
{
	size_t offsets[3], len = three_packets(offsets), offset = 0, avail;
	const struct nlmsghdr *nlh;
	struct verdicts_packet packet;
	int n = 0;

	while ((nlh = verdicts_next_message(datagram, len, &offset,
	    &avail)) != NULL) {
		cr_assert_lt(n, 3);
		cr_assert_eq((const uint8_t *)nlh,
		    (const uint8_t *)datagram + offsets[n]);
		cr_assert_eq(avail, nlh->nlmsg_len);
		cr_assert_eq(verdicts_read_packet(nlh, avail, &packet),
		    VERDICTS_READ_PACKET);
		cr_assert_eq(packet.id, 21 + (uint32_t)n);
		n++;
	}
	cr_assert_eq(n, 3);
}

Test(verdicts, reads_the_ids_of_a_truncated_datagram)
{
	size_t offsets[3], len = three_packets(offsets), offset = 0, avail;
	/* MSG_TRUNC: the datagram ends in the third message's payload. */
	size_t cut = offsets[2] + 60;
	const struct nlmsghdr *nlh;
	struct verdicts_packet packet;
	enum verdicts_read expected[3] = { VERDICTS_READ_PACKET,
		VERDICTS_READ_PACKET, VERDICTS_READ_ID_ONLY };
	int n = 0;

	cr_assert_lt(cut, len);
	while ((nlh = verdicts_next_message(datagram, cut, &offset,
	    &avail)) != NULL) {
		cr_assert_lt(n, 3);
		cr_assert_eq(verdicts_read_packet(nlh, avail, &packet),
		    expected[n]);
		cr_assert_eq(packet.id, 21 + (uint32_t)n);
		n++;
	}
	cr_assert_eq(n, 3);
	cr_assert_eq(avail, 60);
}

Test(verdicts, finds_no_id_when_the_cut_falls_in_the_header)
{
	size_t offsets[3], offset, avail;
	const struct nlmsghdr *nlh;
	struct verdicts_packet packet;

	three_packets(offsets);
	/* The netlink and nfnetlink headers and half of NFQA_PACKET_HDR. */
	offset = offsets[2];
	nlh = verdicts_next_message(datagram, offsets[2] + 28, &offset,
	    &avail);
	cr_assert_not_null(nlh);
	cr_assert_eq(avail, 28);
	cr_assert_eq(verdicts_read_packet(nlh, avail, &packet),
	    VERDICTS_READ_NO_ID);
	cr_assert_null(verdicts_next_message(datagram, offsets[2] + 28,
	    &offset, &avail));

	/* Less than a netlink header left: no message at all. */
	offset = offsets[2];
	cr_assert_null(verdicts_next_message(datagram, offsets[2] + 8,
	    &offset, &avail));
}

Test(verdicts, stops_at_a_message_length_shorter_than_its_header)
{
	size_t offsets[3], len = three_packets(offsets), offset, avail;
	struct nlmsghdr *second =
	    (struct nlmsghdr *)((uint8_t *)datagram + offsets[1]);
	struct verdicts_packet packet;
	const struct nlmsghdr *nlh;
	int n = 0;

	second->nlmsg_len = 4;
	offset = 0;
	while ((nlh = verdicts_next_message(datagram, len, &offset,
	    &avail)) != NULL) {
		cr_assert_lt(n, 2);
		n++;
	}
	cr_assert_eq(n, 2);
	cr_assert_eq(verdicts_read_packet(second, len - offsets[1], &packet),
	    VERDICTS_READ_NO_ID);
}

/* Checks that len bytes at buf are count verdicts: ACCEPT for first_id,
 * first_id + 1, ..., as verdict_for() gives them. */
static void
check_verdicts(const void *buf, size_t len, unsigned int count,
    uint32_t first_id)
{
	const struct nlmsghdr *nlh = buf;
	int left = (int)len;
	unsigned int n = 0;

	while (mnl_nlmsg_ok(nlh, left)) {
		const struct nlattr *attr;
		int has_verdict = 0, has_mark = 0;
		uint32_t id = first_id + n;

		cr_assert_eq(nlh->nlmsg_type,
		    (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_VERDICT);
		cr_assert(nlh->nlmsg_flags & NLM_F_REQUEST);
		mnl_attr_for_each(attr, nlh, sizeof(struct nfgenmsg)) {
			if (mnl_attr_get_type(attr) == NFQA_VERDICT_HDR) {
				const struct nfqnl_msg_verdict_hdr *vh =
				    mnl_attr_get_payload(attr);

				cr_assert_eq(ntohl(vh->verdict), NF_ACCEPT);
				cr_assert_eq(ntohl(vh->id), id, "verdict %u", n);
				has_verdict = 1;
			} else if (mnl_attr_get_type(attr) == NFQA_MARK) {
				cr_assert_eq(ntohl(mnl_attr_get_u32(attr)),
				    0x100 + id);
				has_mark = 1;
			}
		}
		cr_assert(has_verdict);
		/* Odd ids carry a mark, even ones none. */
		cr_assert_eq(has_mark, (int)(id & 1));
		n++;
		nlh = mnl_nlmsg_next(nlh, &left);
	}
	cr_assert_eq(left, 0);
	cr_assert_eq(n, count);
}

/* The verdict the tests give packet id: odd ids get mark 0x100 + id. */
static struct judge_verdict
verdict_for(uint32_t id)
{
	struct judge_verdict verdict = { 0 };

	if (id & 1) {
		verdict.set_mark = 1;
		verdict.mark = 0x100 + id;
	}
	return verdict;
}

Test(verdicts, fills_a_batch_then_refuses_without_losing_any)
{
	static struct verdicts_batch batch;
	uint32_t id = 1000;

	verdicts_batch_init(&batch, 53);
	for (;;) {
		struct judge_verdict verdict = verdict_for(id);

		if (verdicts_batch_add(&batch, id, &verdict) < 0)
			break;
		id++;
	}
	cr_assert_geq(batch.count, VERDICTS_BATCH_MAX);
	cr_assert_eq(id - 1000, batch.count);
	check_verdicts(batch.buf, batch.len, batch.count, 1000);
}

static void
datagram_pair(int fds[2])
{
	cr_assert_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, fds), 0,
	    "socketpair: %s", strerror(errno));
}

Test(verdicts, sends_a_full_batch_before_adding_more)
{
	static struct verdicts_batch batch;
	static uint64_t received[sizeof(batch.buf) / 8];
	struct stats stats = { 0 };
	uint32_t next = 1, total = 3 * VERDICTS_BATCH_MAX + 5;
	int fds[2];

	datagram_pair(fds);
	verdicts_batch_init(&batch, 53);
	for (uint32_t id = 1; id <= total; id++) {
		struct judge_verdict verdict = verdict_for(id);

		cr_assert_eq(verdicts_batch_put(&batch, fds[0], &stats, id,
		    &verdict), 0);
	}
	cr_assert_eq(verdicts_batch_send(&batch, fds[0], &stats), 0);
	cr_assert_eq(batch.len, 0);
	/* Every id arrives, in order, in datagrams of whole messages. */
	while (next <= total) {
		ssize_t n = recv(fds[1], received, sizeof(received),
		    MSG_DONTWAIT);
		unsigned int count = 0;
		const struct nlmsghdr *nlh = (const void *)received;
		int left;

		cr_assert_gt(n, 0, "ids from %u missing", next);
		left = (int)n;
		while (mnl_nlmsg_ok(nlh, left)) {
			count++;
			nlh = mnl_nlmsg_next(nlh, &left);
		}
		check_verdicts(received, (size_t)n, count, next);
		next += count;
	}
	cr_assert_eq(next, total + 1);
	cr_assert_eq(recv(fds[1], received, sizeof(received), MSG_DONTWAIT),
	    -1);
	cr_assert_eq(stats.counter[STATS_VERDICTS_UNSENT], 0);
	cr_assert_eq(stats.counter[STATS_VERDICT_SEND_RETRIES], 0);
	close(fds[0]);
	close(fds[1]);
}

/* Fills the receive queue of fds[1] until a send on fds[0] would wait. */
static int
fill_peer(int fds[2])
{
	char small[16] = { 0 };
	int sent = 0;

	while (send(fds[0], small, sizeof(small), MSG_DONTWAIT) >= 0)
		sent++;
	cr_assert(errno == EAGAIN || errno == EWOULDBLOCK, "send: %s",
	    strerror(errno));
	return sent;
}

static double
elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) * 1e3 +
	    (double)(now.tv_nsec - start->tv_nsec) / 1e6;
}

struct reader {
	int fd;
	const uint64_t *retries;	/* the sender's retry counter */
	int read;
};

/*
 * Waits (at most 2 s) until the sender has failed once and counted its
 * retry, then reads every datagram waiting on the socket.
 */
static void *
reader_run(void *arg)
{
	struct reader *reader = arg;
	struct timespec start;
	char buf[8192];

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (reader->retries != NULL &&
	    __atomic_load_n(reader->retries, __ATOMIC_ACQUIRE) == 0 &&
	    elapsed_ms(&start) < 2000.0)
		sched_yield();
	while (recv(reader->fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		reader->read++;
	return NULL;
}

/*
 * One round: a full peer, ten verdicts, a reader that makes room once the
 * first try failed.  Returns 1 when the send got through on a retry, 0
 * when the reader came too late (a loaded machine) and the send gave up,
 * which must then be counted.
 */
static int
retry_round(void)
{
	static struct verdicts_batch batch;
	struct stats stats = { 0 };
	struct reader reader;
	pthread_t thread;
	int fds[2], filled, err;

	datagram_pair(fds);
	filled = fill_peer(fds);
	verdicts_batch_init(&batch, 53);
	for (uint32_t id = 1; id <= 10; id++) {
		struct judge_verdict verdict = verdict_for(id);

		cr_assert_eq(verdicts_batch_add(&batch, id, &verdict), 0);
	}
	reader = (struct reader){ .fd = fds[1],
		.retries = &stats.counter[STATS_VERDICT_SEND_RETRIES] };
	cr_assert_eq(pthread_create(&thread, NULL, reader_run, &reader), 0);
	err = verdicts_batch_send(&batch, fds[0], &stats);
	pthread_join(thread, NULL);
	cr_assert_eq(batch.len, 0);
	cr_assert_eq(batch.count, 0);
	cr_assert_geq(stats.counter[STATS_VERDICT_SEND_RETRIES], 1);
	/* Whatever the reader left (the verdicts, if they landed after it). */
	reader.retries = NULL;
	reader_run(&reader);
	if (err == 0) {
		cr_assert_eq(stats.counter[STATS_VERDICTS_UNSENT], 0);
		cr_assert_eq(reader.read, filled + 1);
	} else {
		cr_assert_eq(err, -EAGAIN);
		cr_assert_eq(stats.counter[STATS_VERDICTS_UNSENT], 10);
		cr_assert_eq(reader.read, filled);
	}
	close(fds[0]);
	close(fds[1]);
	return err == 0;
}

Test(verdicts, retries_a_send_until_the_peer_has_room)
{
	int through = 0;

	/* The reader thread must run within the 3 ms of retries: three
	 * rounds leave room for a machine busy with other work. */
	for (int round = 0; round < 3 && !through; round++)
		through = retry_round();
	cr_assert(through, "no send got through on a retry in 3 rounds");
}

Test(verdicts, gives_up_a_send_after_a_bounded_wait_and_counts_it)
{
	static struct verdicts_batch batch;
	struct stats stats = { 0 };
	struct timespec start;
	double took;
	int fds[2];

	datagram_pair(fds);
	fill_peer(fds);
	verdicts_batch_init(&batch, 53);
	for (uint32_t id = 1; id <= 7; id++) {
		struct judge_verdict verdict = verdict_for(id);

		cr_assert_eq(verdicts_batch_add(&batch, id, &verdict), 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	cr_assert_eq(verdicts_batch_send(&batch, fds[0], &stats), -EAGAIN);
	took = elapsed_ms(&start);
	cr_assert_eq(stats.counter[STATS_VERDICT_SEND_RETRIES],
	    VERDICTS_SEND_TRIES - 1);
	cr_assert_eq(stats.counter[STATS_VERDICTS_UNSENT], 7);
	cr_assert_eq(batch.len, 0);
	/* 100 + 200 + 400 + 800 + 1600 us of waits, and no more than a
	 * loaded machine stretches them. */
	cr_assert_geq(took, 3.1, "gave up after %.2f ms", took);
	cr_assert_lt(took, 500.0, "gave up after %.2f ms", took);
	close(fds[0]);
	close(fds[1]);
}

Test(verdicts, does_not_retry_an_error_that_waiting_cannot_cure)
{
	static struct verdicts_batch batch;
	struct judge_verdict verdict = { 0 };
	struct stats stats = { 0 };
	int fds[2];

	datagram_pair(fds);
	close(fds[1]);
	verdicts_batch_init(&batch, 53);
	cr_assert_eq(verdicts_batch_add(&batch, 1, &verdict), 0);
	cr_assert_eq(verdicts_batch_add(&batch, 2, &verdict), 0);
	cr_assert_lt(verdicts_batch_send(&batch, fds[0], &stats), 0);
	cr_assert_eq(stats.counter[STATS_VERDICT_SEND_RETRIES], 0);
	cr_assert_eq(stats.counter[STATS_VERDICTS_UNSENT], 2);
	close(fds[0]);
}

Test(verdicts, sends_nothing_for_an_empty_batch)
{
	static struct verdicts_batch batch;
	struct stats stats = { 0 };
	char buf[64];
	int fds[2];

	datagram_pair(fds);
	verdicts_batch_init(&batch, 53);
	cr_assert_eq(verdicts_batch_send(&batch, fds[0], &stats), 0);
	cr_assert_eq(recv(fds[1], buf, sizeof(buf), MSG_DONTWAIT), -1);
	close(fds[0]);
	close(fds[1]);
}

Test(verdicts, sweeps_every_packet_up_to_an_id)
{
	uint64_t buf[VERDICTS_MSG_MAX / 8];
	const struct nlmsghdr *nlh = (const void *)buf;
	const struct nfgenmsg *nfg;
	const struct nlattr *attr;
	size_t len;
	int verdicts = 0;

	cr_assert_eq(verdicts_sweep_message(buf, 16, 53, 99), 0);
	len = verdicts_sweep_message(buf, sizeof(buf), 53, 4000000000u);
	cr_assert_gt(len, 0);
	cr_assert_eq(len, nlh->nlmsg_len);
	cr_assert_eq(nlh->nlmsg_type,
	    (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_VERDICT_BATCH);
	nfg = mnl_nlmsg_get_payload(nlh);
	cr_assert_eq(ntohs(nfg->res_id), 53);
	mnl_attr_for_each(attr, nlh, sizeof(*nfg)) {
		const struct nfqnl_msg_verdict_hdr *vh;

		/* Unchanged: no mark rides on the sweep. */
		cr_assert_eq(mnl_attr_get_type(attr), NFQA_VERDICT_HDR);
		vh = mnl_attr_get_payload(attr);
		cr_assert_eq(ntohl(vh->verdict), NF_ACCEPT);
		cr_assert_eq(ntohl(vh->id), 4000000000u);
		verdicts++;
	}
	cr_assert_eq(verdicts, 1);
}
