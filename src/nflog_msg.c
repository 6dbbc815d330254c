/*
 * Reading nfnetlink_log messages as packets for the judge, counting the
 * copies the kernel could not deliver, and telling dnsmark's flush marker
 * apart.  Pure: every length is checked against the message it came in,
 * and nothing here sends, receives or allocates.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>

#include "ct.h"
#include "nflog_msg.h"

#define IPV4_MIN_HEADER 20
#define IPV6_HEADER 40
#define UDP_HEADER 8

static int
attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **table = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, NFULA_MAX) < 0)
		return MNL_CB_OK;
	switch (type) {
	case NFULA_MARK:
	case NFULA_SEQ:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			return MNL_CB_ERROR;
		break;
	case NFULA_PACKET_HDR:
		if (mnl_attr_validate2(attr, MNL_TYPE_UNSPEC,
		    sizeof(struct nfulnl_msg_packet_hdr)) < 0)
			return MNL_CB_ERROR;
		break;
	default:
		break;
	}
	table[type] = attr;
	return MNL_CB_OK;
}

enum nflog_msg_status
nflog_msg_parse(const struct nlmsghdr *nlh, struct nflog_copy *copy)
{
	const struct nlattr *attr[NFULA_MAX + 1] = { 0 };
	const struct nfulnl_msg_packet_hdr *ph;

	if (nlh->nlmsg_type !=
	    ((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET))
		return NFLOG_MSG_NOT_PACKET;
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nfgenmsg)) ||
	    mnl_attr_parse(nlh, sizeof(struct nfgenmsg), attr_cb, attr) < 0)
		return NFLOG_MSG_BAD;
	if (attr[NFULA_PACKET_HDR] == NULL || attr[NFULA_PAYLOAD] == NULL)
		return NFLOG_MSG_BAD;
	memset(copy, 0, sizeof(*copy));
	ph = mnl_attr_get_payload(attr[NFULA_PACKET_HDR]);
	copy->pkt.hook = ph->hook;
	copy->pkt.data = mnl_attr_get_payload(attr[NFULA_PAYLOAD]);
	copy->pkt.len = mnl_attr_get_payload_len(attr[NFULA_PAYLOAD]);
	/* The kernel leaves NFULA_MARK out when the mark is 0. */
	if (attr[NFULA_MARK] != NULL)
		copy->pkt.mark = ntohl(mnl_attr_get_u32(attr[NFULA_MARK]));
	if (attr[NFULA_CT] != NULL &&
	    ct_parse_mark(attr[NFULA_CT], &copy->pkt.ct_mark) == 0)
		copy->pkt.has_ct_mark = 1;
	if (attr[NFULA_SEQ] != NULL) {
		copy->has_seq = 1;
		copy->seq = ntohl(mnl_attr_get_u32(attr[NFULA_SEQ]));
	}
	return NFLOG_MSG_OK;
}

static uint16_t
read16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void
write16(uint8_t *p, size_t value)
{
	p[0] = (uint8_t)(value >> 8);
	p[1] = (uint8_t)value;
}

int
nflog_msg_fit_cut(struct judge_packet *pkt, uint8_t *scratch, size_t size)
{
	const uint8_t *data = pkt->data;
	size_t len = pkt->len, header, declared;
	int version;

	if (len < 1 || len > size)
		return 0;
	version = data[0] >> 4;
	switch (version) {
	case 4:
		if (len < IPV4_MIN_HEADER || data[9] != IPPROTO_UDP)
			return 0;
		header = (size_t)(data[0] & 0x0f) * 4;
		declared = read16(data + 2);
		/* A fragment is no cut copy: leave it to the decoder. */
		if ((read16(data + 6) & 0x3fff) != 0)
			return 0;
		break;
	case 6:
		if (len < IPV6_HEADER || data[6] != IPPROTO_UDP)
			return 0;
		header = IPV6_HEADER;
		declared = IPV6_HEADER + (size_t)read16(data + 4);
		break;
	default:
		return 0;
	}
	if (header < IPV4_MIN_HEADER || declared <= len ||
	    len < header + UDP_HEADER)
		return 0;
	memcpy(scratch, data, len);
	if (version == 6)
		write16(scratch + 4, len - IPV6_HEADER);
	else
		write16(scratch + 2, len);
	write16(scratch + header + 4, len - header);
	pkt->data = scratch;
	return 1;
}

enum nflog_marker
nflog_msg_marker(const struct judge_packet *pkt, const uint8_t *cookie,
    uint64_t *serial)
{
	const uint8_t *data = pkt->data;
	struct in_addr marker;
	size_t header;

	if (pkt->hook != JUDGE_HOOK_LOCAL_OUT || pkt->len < IPV4_MIN_HEADER ||
	    data[0] >> 4 != 4 || data[9] != IPPROTO_UDP)
		return NFLOG_MARKER_NONE;
	inet_pton(AF_INET, NFLOG_MARKER_ADDR, &marker);
	if (memcmp(data + 16, &marker, 4) != 0)
		return NFLOG_MARKER_NONE;
	header = (size_t)(data[0] & 0x0f) * 4;
	if (header < IPV4_MIN_HEADER ||
	    pkt->len < header + UDP_HEADER + NFLOG_MARKER_LEN ||
	    memcmp(data + header + UDP_HEADER, cookie,
	    NFLOG_MARKER_COOKIE_LEN) != 0)
		return NFLOG_MARKER_FOREIGN;
	*serial = 0;
	for (int i = 0; i < 8; i++)
		*serial = *serial << 8 |
		    data[header + UDP_HEADER + NFLOG_MARKER_COOKIE_LEN + i];
	return NFLOG_MARKER_OURS;
}

void
nflog_msg_marker_payload(const uint8_t *cookie, uint64_t serial,
    uint8_t *out)
{
	memcpy(out, cookie, NFLOG_MARKER_COOKIE_LEN);
	for (int i = 7; i >= 0; i--) {
		out[NFLOG_MARKER_COOKIE_LEN + i] = (uint8_t)serial;
		serial >>= 8;
	}
}

uint32_t
nflog_seq_lost(struct nflog_seq *track, uint32_t seq)
{
	uint32_t skipped = seq - track->next;

	/* Unsigned distance: beyond half the range it lies in the past. */
	if (skipped > UINT32_MAX / 2)
		return 0;
	track->next = seq + 1;
	return skipped;
}
