/*
 * The messages of an NFLOG group (nfnetlink_log) read as packets for the
 * judge: one NFULNL_MSG_PACKET to a struct judge_packet, the instance's
 * sequence numbers to a count of lost copies, and dnsmark's own flush
 * marker told apart from traffic.  Pure: it reads the buffers it is given
 * and never touches a socket.
 */
#ifndef DNSMARK_NFLOG_MSG_H
#define DNSMARK_NFLOG_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "judge.h"

struct nlmsghdr;

/*
 * The flush marker: a UDP datagram dnsmark sends to itself at this
 * loopback address, which the shipped rules copy to the group with a
 * threshold of 1.  Its payload is the cookie of the sending process and a
 * serial number, both 8 bytes.
 */
#define NFLOG_MARKER_ADDR "127.53.0.1"
#define NFLOG_MARKER_COOKIE_LEN 8
#define NFLOG_MARKER_LEN 16

/*
 * The longest copy a UDP client query needs: the IP header with options
 * (60), UDP (8), the DNS header (12), the longest name (255), type and
 * class (4).  The rules cut UDP client queries at NFLOG_QUERY_COPY.
 */
#define NFLOG_QUERY_NEEDS 339
#define NFLOG_QUERY_COPY 384

/* One copy as the group delivered it; pointers live as long as nlh. */
struct nflog_copy {
	struct judge_packet pkt;
	int has_seq;		/* the instance numbers its messages */
	uint32_t seq;
};

enum nflog_msg_status {
	NFLOG_MSG_OK = 0,
	NFLOG_MSG_NOT_PACKET,	/* another message type (NLMSG_DONE ...) */
	NFLOG_MSG_BAD,		/* no header, no payload, or malformed */
};

/*
 * Reads one netlink message of the group into *copy.  Returns NFLOG_MSG_OK,
 * NFLOG_MSG_NOT_PACKET for messages that carry no packet, or NFLOG_MSG_BAD;
 * *copy is unspecified unless NFLOG_MSG_OK.
 */
enum nflog_msg_status nflog_msg_parse(const struct nlmsghdr *nlh,
    struct nflog_copy *copy);

/*
 * A UDP datagram cut short by the copy range (--nflog-size) reads as
 * truncated to the packet decoder.  When pkt is such a copy (IPv4, or IPv6
 * with UDP as its first next header), copies it to scratch (size bytes)
 * with the IP and UDP lengths set to what was copied and points pkt there:
 * the DNS header and question, all a client query is read for, are intact.
 * Returns 1 when it did, 0 when pkt is left as it was (whole, not UDP, or
 * larger than scratch).
 */
int nflog_msg_fit_cut(struct judge_packet *pkt, uint8_t *scratch,
    size_t size);

enum nflog_marker {
	NFLOG_MARKER_NONE = 0,	/* traffic */
	NFLOG_MARKER_OURS,	/* our marker; *serial set */
	NFLOG_MARKER_FOREIGN,	/* sent to the marker address, not by us */
};

/*
 * Tells whether pkt is a copy of a flush marker, and whether it carries
 * cookie (NFLOG_MARKER_COOKIE_LEN bytes).
 */
enum nflog_marker nflog_msg_marker(const struct judge_packet *pkt,
    const uint8_t *cookie, uint64_t *serial);

/* Writes the marker payload for cookie and serial to out (NFLOG_MARKER_LEN). */
void nflog_msg_marker_payload(const uint8_t *cookie, uint64_t serial,
    uint8_t *out);

/* The sequence number the next message of the instance should carry. */
struct nflog_seq {
	uint32_t next;
};

/*
 * Notes that a message with sequence number seq arrived.  The instance
 * numbers every message from 0 at its creation (dnsmark's bind), so the
 * numbers it skipped are copies the kernel built and could not deliver.
 * Returns how many were skipped; a number from the past (never expected:
 * netlink keeps order) counts nothing and changes nothing.
 */
uint32_t nflog_seq_lost(struct nflog_seq *track, uint32_t seq);

#endif
