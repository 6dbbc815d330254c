/*
 * Unit tests for src/nlsock.c, the netlink transport of NFQUEUE and NFLOG:
 * acknowledgements told apart from other errors and from short messages;
 * buffers laid out aligned; and, on a real NETLINK_NETFILTER socket (no
 * privilege needed to open one), an empty receive and a request that the
 * kernel refuses, whose acknowledgement is matched by its sequence number.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>

#include "nlsock.h"

/* An NLMSG_ERROR for sequence number seq with errno error (0: an ack). */
static struct nlmsghdr *
error_message(uint64_t *buf, uint32_t seq, int error)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nlmsgerr *err;

	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_seq = seq;
	err = mnl_nlmsg_put_extra_header(nlh, sizeof(*err));
	err->error = -error;
	return nlh;
}

Test(nlsock, tells_the_awaited_ack_from_other_errors)
{
	struct nlsock_ack ack = { .seq = 7 };
	uint64_t buf[64];
	struct nlmsghdr *nlh;
	int error = -1;

	/* A refused verdict: another sequence number. */
	nlh = error_message(buf, 6, ENOENT);
	cr_assert_eq(nlsock_ack(&ack, nlh, nlh->nlmsg_len, &error), 0);
	cr_assert_eq(error, ENOENT);
	cr_assert_eq(ack.seen, 0);
	/* The acknowledgement awaited, with its error. */
	nlh = error_message(buf, 7, EPERM);
	cr_assert_eq(nlsock_ack(&ack, nlh, nlh->nlmsg_len, &error), 1);
	cr_assert_eq(ack.seen, 1);
	cr_assert_eq(ack.error, EPERM);
	cr_assert_eq(error, 0);
	/* Nothing awaited: sequence number 0 matches nothing. */
	ack = (struct nlsock_ack){ 0 };
	nlh = error_message(buf, 0, 0);
	cr_assert_eq(nlsock_ack(&ack, nlh, nlh->nlmsg_len, &error), 0);
	cr_assert_eq(ack.seen, 0);
}

Test(nlsock, refuses_short_error_messages)
{
	struct nlsock_ack ack = { .seq = 7 };
	uint64_t buf[64];
	struct nlmsghdr *nlh;
	int error;

	nlh = error_message(buf, 7, 0);
	/* Cut short in the datagram. */
	cr_assert_eq(nlsock_ack(&ack, nlh, nlh->nlmsg_len - 1, &error), -1);
	/* Too short for its nlmsgerr. */
	nlh->nlmsg_len = (uint32_t)mnl_nlmsg_size(sizeof(struct nlmsgerr)) - 4;
	cr_assert_eq(nlsock_ack(&ack, nlh, nlh->nlmsg_len, &error), -1);
	cr_assert_eq(ack.seen, 0);
}

Test(nlsock, lays_out_aligned_buffers_and_refuses_others)
{
	struct nlsock sock;

	cr_assert_eq(nlsock_open(&sock, 4, 1000 + 4), -EINVAL);
	cr_assert_eq(nlsock_open(&sock, 0, 4096), -EINVAL);
	cr_assert_eq(nlsock_open(&sock, 4, 4096), 0);
	cr_assert_eq(sock.batch, 4);
	for (unsigned int i = 0; i < 4; i++) {
		cr_assert_eq((uint8_t *)sock.iovs[i].iov_base,
		    sock.bufs + i * 4096);
		cr_assert_eq(sock.iovs[i].iov_len, 4096);
		cr_assert_eq((uintptr_t)sock.iovs[i].iov_base % 8, 0);
		cr_assert_eq(sock.msgs[i].msg_hdr.msg_iov, &sock.iovs[i]);
	}
	cr_assert_neq(sock.portid, 0);
	cr_assert_gt(nlsock_set_rcvbuf(&sock, 65536), 0);
	nlsock_close(&sock);
	cr_assert_null(sock.nl);
	nlsock_close(&sock);	/* twice is harmless */
}

struct seen {
	int datagrams;
	int acks;
};

static void
count_datagram(void *arg, const void *buf, size_t len, int cut)
{
	struct seen *seen = arg;

	(void)buf;
	(void)len;
	cr_assert_eq(cut, 0);
	seen->datagrams++;
}

static struct nlsock *pumped;

/* A receiver's reading: acknowledgements to nlsock_ack(). */
static void
read_acks(void *arg, const void *buf, size_t len, int cut)
{
	struct seen *seen = arg;
	const struct nlmsghdr *nlh = buf;
	int remaining = (int)len, error;

	cr_assert_eq(cut, 0);
	while (mnl_nlmsg_ok(nlh, remaining)) {
		if (nlh->nlmsg_type == NLMSG_ERROR &&
		    nlsock_ack(&pumped->ack, nlh, (size_t)remaining,
		    &error) == 1)
			seen->acks++;
		nlh = mnl_nlmsg_next(nlh, &remaining);
	}
}

static int
pump(void *arg)
{
	return nlsock_receive(pumped, read_acks, arg);
}

Test(nlsock, waits_for_the_kernels_answer_to_a_request)
{
	struct seen seen = { 0 };
	struct nlsock sock;
	uint64_t buf[64];
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;
	int ret;

	cr_assert_eq(nlsock_open(&sock, 2, 8192), 0);
	cr_assert_eq(nlsock_receive(&sock, count_datagram, &seen), 0);
	cr_assert_eq(seen.datagrams, 0);
	/* A message for a subsystem number nothing registers: refused
	 * (EPERM without CAP_NET_ADMIN), and the refusal is its ack. */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_COUNT + 1) << 8;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	pumped = &sock;
	ret = nlsock_request(&sock, nlh, pump, &seen);
	cr_assert_lt(ret, 0);
	cr_assert_neq(ret, -ETIMEDOUT);
	cr_assert_eq(seen.acks, 1);
	cr_assert_eq(sock.ack.seq, 0, "nothing awaited once answered");
	cr_assert_neq(nlh->nlmsg_flags & NLM_F_ACK, 0);
	nlsock_close(&sock);
}
