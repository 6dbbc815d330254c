/*
 * tools/nfq-bind-race: nfq-bind-race QUEUE BINDS
 *
 * Binds and releases netfilter queue QUEUE BINDS times, each bind as
 * dnsmark makes it (one message: bind, copy mode, length 0, fail-open), so
 * that no packet is ever queued while it is bound: every packet the rules
 * hand to QUEUE should pass, bound or not. tools/nfq-bind-race.sh counts
 * the ones that do not: the kernel's own drop of packets that reach a
 * queue between its creation and its copy mode (dnsmark(8), LIMITS).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

/* Sends a request and reads its acknowledgement; 0 or -1. */
static int
request(struct mnl_socket *nl, struct nlmsghdr *nlh)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	ssize_t n;

	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0)
		return -1;
	return mnl_cb_run(buf, (size_t)n, 0, 0, NULL, NULL) < 0 ? -1 : 0;
}

int
main(int argc, char **argv)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	long queue, binds, i;

	if (argc != 3 || (queue = atol(argv[1])) < 0 || queue > 65535 ||
	    (binds = atol(argv[2])) <= 0) {
		fprintf(stderr, "usage: nfq-bind-race QUEUE BINDS\n");
		return 2;
	}
	for (i = 0; i < binds; i++) {
		nl = mnl_socket_open(NETLINK_NETFILTER);
		if (nl == NULL || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
			perror("nfq-bind-race: netlink socket");
			return 1;
		}
		nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, (int)queue);
		nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
		nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xffff);
		nfq_nlmsg_cfg_put_qmaxlen(nlh, 0);
		mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_FAIL_OPEN));
		mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_FAIL_OPEN));
		if (request(nl, nlh) < 0) {
			perror("nfq-bind-race: bind");
			return 1;
		}
		nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, (int)queue);
		nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_UNBIND);
		if (request(nl, nlh) < 0) {
			perror("nfq-bind-race: unbind");
			return 1;
		}
		mnl_socket_close(nl);
	}
	return 0;
}
