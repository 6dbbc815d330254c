/*
 * IPv4/IPv6 and UDP/TCP decoding for queued packets.  Every read is checked
 * against the length the kernel handed over; a packet we cannot decode is
 * reported, never guessed at.  Fragments are not reassembled: the kernel
 * queues reassembled packets, so a fragment here is something odd.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "packet.h"

#define IPV4_MIN_HEADER 20
#define IPV6_HEADER 40
#define UDP_HEADER 8
#define TCP_MIN_HEADER 20
#define IPV6_NEXT_FRAGMENT 44
#define IPV6_MAX_EXTENSIONS 8

static uint16_t
read16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static enum packet_status
parse_transport(uint8_t protocol, const uint8_t *seg, size_t len,
    struct packet_info *info)
{
	size_t header;

	info->protocol = protocol;
	info->tcp_flags = 0;
	if (protocol == IPPROTO_UDP) {
		size_t udp_len;

		if (len < UDP_HEADER)
			return PACKET_TRUNCATED;
		udp_len = read16(seg + 4);
		if (udp_len < UDP_HEADER)
			return PACKET_BAD_HEADER;
		if (udp_len > len)
			return PACKET_TRUNCATED;
		info->src.port = read16(seg);
		info->dst.port = read16(seg + 2);
		info->payload = seg + UDP_HEADER;
		info->payload_len = udp_len - UDP_HEADER;
		return PACKET_OK;
	}
	if (protocol == IPPROTO_TCP) {
		if (len < TCP_MIN_HEADER)
			return PACKET_TRUNCATED;
		header = (size_t)(seg[12] >> 4) * 4;
		if (header < TCP_MIN_HEADER)
			return PACKET_BAD_HEADER;
		if (header > len)
			return PACKET_TRUNCATED;
		info->src.port = read16(seg);
		info->dst.port = read16(seg + 2);
		info->tcp_flags = seg[13];
		info->payload = seg + header;
		info->payload_len = len - header;
		return PACKET_OK;
	}
	return PACKET_NOT_UDP_TCP;
}

static enum packet_status
parse_ipv4(const uint8_t *data, size_t len, struct packet_info *info)
{
	size_t header, total;

	if (len < IPV4_MIN_HEADER)
		return PACKET_TRUNCATED;
	header = (size_t)(data[0] & 0x0f) * 4;
	total = read16(data + 2);
	if (header < IPV4_MIN_HEADER || total < header)
		return PACKET_BAD_HEADER;
	if (total > len)
		return PACKET_TRUNCATED;
	/* More-fragments flag or a fragment offset: no whole datagram here. */
	if ((read16(data + 6) & 0x3fff) != 0)
		return PACKET_FRAGMENT;
	info->src.family = AF_INET;
	info->dst.family = AF_INET;
	memset(info->src.addr, 0, sizeof(info->src.addr));
	memset(info->dst.addr, 0, sizeof(info->dst.addr));
	memcpy(info->src.addr, data + 12, 4);
	memcpy(info->dst.addr, data + 16, 4);
	return parse_transport(data[9], data + header, total - header, info);
}

static enum packet_status
parse_ipv6(const uint8_t *data, size_t len, struct packet_info *info)
{
	size_t payload, offset = IPV6_HEADER;
	uint8_t next;

	if (len < IPV6_HEADER)
		return PACKET_TRUNCATED;
	payload = read16(data + 4);
	/* A zero payload length means a jumbogram; nothing DNS sends. */
	if (payload == 0)
		return PACKET_BAD_HEADER;
	if (IPV6_HEADER + payload > len)
		return PACKET_TRUNCATED;
	len = IPV6_HEADER + payload;
	info->src.family = AF_INET6;
	info->dst.family = AF_INET6;
	memcpy(info->src.addr, data + 8, 16);
	memcpy(info->dst.addr, data + 24, 16);
	next = data[6];
	/*
	 * Walk a bounded number of hop-by-hop, routing and destination
	 * options headers; they share the (next, length in 8-octet units)
	 * layout.  A fragment header ends the walk.
	 */
	for (int i = 0; i < IPV6_MAX_EXTENSIONS; i++) {
		if (next == IPV6_NEXT_FRAGMENT)
			return PACKET_FRAGMENT;
		if (next != IPPROTO_HOPOPTS && next != IPPROTO_ROUTING &&
		    next != IPPROTO_DSTOPTS)
			return parse_transport(next, data + offset,
			    len - offset, info);
		if (len - offset < 8)
			return PACKET_TRUNCATED;
		next = data[offset];
		if (((size_t)data[offset + 1] + 1) * 8 > len - offset)
			return PACKET_TRUNCATED;
		offset += ((size_t)data[offset + 1] + 1) * 8;
	}
	return PACKET_NOT_UDP_TCP;
}

enum packet_status
packet_parse(const uint8_t *data, size_t len, struct packet_info *info)
{
	if (len < 1)
		return PACKET_TRUNCATED;
	switch (data[0] >> 4) {
	case 4:
		return parse_ipv4(data, len, info);
	case 6:
		return parse_ipv6(data, len, info);
	default:
		return PACKET_BAD_VERSION;
	}
}

const char *
packet_status_name(enum packet_status status)
{
	static const char *const names[PACKET_STATUS_COUNT] = {
		[PACKET_OK] = "ok",
		[PACKET_TRUNCATED] = "truncated",
		[PACKET_BAD_VERSION] = "bad_version",
		[PACKET_BAD_HEADER] = "bad_header",
		[PACKET_FRAGMENT] = "fragment",
		[PACKET_NOT_UDP_TCP] = "not_udp_tcp",
	};

	if ((unsigned int)status >= PACKET_STATUS_COUNT)
		return "unknown";
	return names[status];
}

int
packet_dns_message(const struct packet_info *info, const uint8_t **msg,
    size_t *msg_len)
{
	size_t len;

	if (info->protocol != IPPROTO_TCP) {
		*msg = info->payload;
		*msg_len = info->payload_len;
		return 0;
	}
	if (info->payload_len < 2)
		return -EINVAL;
	len = read16(info->payload);
	if (len == 0 || len > info->payload_len - 2)
		return -EINVAL;
	*msg = info->payload + 2;
	*msg_len = len;
	return 0;
}

int
packet_dns_prefix(const struct packet_info *info, const uint8_t **msg,
    size_t *msg_len, int *partial)
{
	size_t len;

	*partial = 0;
	if (info->protocol != IPPROTO_TCP)
		return packet_dns_message(info, msg, msg_len);
	if (info->payload_len < 2 + 12)
		return -EINVAL;
	len = read16(info->payload);
	if (len < 12)
		return -EINVAL;
	*msg = info->payload + 2;
	*msg_len = len;
	if (len > info->payload_len - 2) {
		*msg_len = info->payload_len - 2;
		*partial = 1;
	}
	return 0;
}

char *
packet_endpoint_format(const struct packet_endpoint *ep, char *buf,
    size_t len)
{
	char addr[INET6_ADDRSTRLEN];

	if (len == 0)
		return buf;
	if (inet_ntop(ep->family, ep->addr, addr, sizeof(addr)) == NULL)
		snprintf(addr, sizeof(addr), "?");
	if (ep->family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", addr, ep->port);
	else
		snprintf(buf, len, "%s:%u", addr, ep->port);
	return buf;
}
