/*
 * Decoding of the IPv4/IPv6 and UDP/TCP headers of a queued packet, down to
 * the DNS message it carries.  Pure and bounds-checked: it reads only the
 * bytes it is given, never allocates and never touches a socket.
 */
#ifndef DNSMARK_PACKET_H
#define DNSMARK_PACKET_H

#include <stddef.h>
#include <stdint.h>

enum packet_status {
	PACKET_OK = 0,
	PACKET_TRUNCATED,	/* shorter than its headers say */
	PACKET_BAD_VERSION,	/* neither IPv4 nor IPv6 */
	PACKET_BAD_HEADER,	/* header fields inconsistent */
	PACKET_FRAGMENT,	/* IP fragment: no transport header to read */
	PACKET_NOT_UDP_TCP,	/* other transport, or an IPv6 header chain we do not walk */
	PACKET_STATUS_COUNT
};

/* An address and port; addr holds 4 (IPv4) or 16 (IPv6) meaningful bytes. */
struct packet_endpoint {
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint16_t port;		/* host byte order */
};

struct packet_info {
	uint8_t protocol;	/* IPPROTO_UDP or IPPROTO_TCP */
	uint8_t tcp_flags;	/* TCP only: FIN SYN RST PSH ACK URG ... */
	struct packet_endpoint src;
	struct packet_endpoint dst;
	const uint8_t *payload;	/* points into the caller's buffer */
	size_t payload_len;
};

#define PACKET_TCP_FIN 0x01
#define PACKET_TCP_SYN 0x02
#define PACKET_TCP_RST 0x04
#define PACKET_TCP_ACK 0x10

/*
 * Decodes the IP packet in data[0..len) into *info.  payload points into
 * data and lives as long as it.  Returns PACKET_OK or the reason it could
 * not decode the packet; *info is unspecified unless PACKET_OK.
 */
enum packet_status packet_parse(const uint8_t *data, size_t len,
    struct packet_info *info);

/* Returns a short constant name for status, for logs and counters. */
const char *packet_status_name(enum packet_status status);

/*
 * Finds the DNS message in the transport payload.  For UDP it is the whole
 * payload; for TCP the payload must begin with the two-byte length of a
 * message that it holds entirely.  Returns 0 and sets *msg and *msg_len, or
 * -EINVAL when a TCP payload holds no whole message.
 */
int packet_dns_message(const struct packet_info *info, const uint8_t **msg,
    size_t *msg_len);

/*
 * Like packet_dns_message(), but a TCP payload may hold only the start of
 * a message (a large response spans segments): *msg_len is then what the
 * segment holds and *partial is set.  Returns 0, or -EINVAL when there is
 * not even a length and a DNS header.
 */
int packet_dns_prefix(const struct packet_info *info, const uint8_t **msg,
    size_t *msg_len, int *partial);

/*
 * Writes the endpoint as text ("192.0.2.1:53" or "[2001:db8::1]:53") to
 * buf of size len; returns buf.
 */
char *packet_endpoint_format(const struct packet_endpoint *ep, char *buf,
    size_t len);

#endif
