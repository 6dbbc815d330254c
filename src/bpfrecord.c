/*
 * A BPF ring record turned into what the judge takes.  The record comes
 * from dnsmark's own programs, but it describes a client's packet or an
 * answer to one: every length is checked again before the message is read.
 * Which way the message went is the judge's to tell from its ports and its
 * QR bit, not the decoder's.  A TCP record (the programs record only
 * answers over TCP) holds the message without its length prefix, as a UDP
 * one does.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

#include "bpfrecord.h"

int
bpfrecord_decode(const void *data, size_t size,
    struct bpfrecord_client *client)
{
	const struct bpfrecord *record = data;
	size_t addr_len, header = offsetof(struct bpfrecord, msg);
	size_t msg_max = BPFRECORD_MSG_MAX;

	/* Both layouts share the fields before the message. */
	if (size < header)
		return -EINVAL;
	if (record->kind == BPFRECORD_RESPONSE) {
		msg_max = BPFRECORD_RESPONSE_MAX;
		if (record->protocol != IPPROTO_UDP ||
		    size < header + record->copy_len)
			return -EINVAL;
	} else if (size < sizeof(*record) ||
	    (record->kind != BPFRECORD_CLIENT &&
	    record->kind != BPFRECORD_UPSTREAM &&
	    record->kind != BPFRECORD_QUEUED)) {
		return -EINVAL;
	}
	if (record->family == 4) {
		client->info.src.family = AF_INET;
		addr_len = 4;
	} else if (record->family == 6) {
		client->info.src.family = AF_INET6;
		addr_len = 16;
	} else {
		return -EINVAL;
	}
	if ((record->protocol != IPPROTO_UDP &&
	    record->protocol != IPPROTO_TCP) ||
	    record->copy_len > msg_max ||
	    record->copy_len > record->msg_len)
		return -EINVAL;
	client->info.dst.family = client->info.src.family;
	memset(client->info.src.addr, 0, sizeof(client->info.src.addr));
	memset(client->info.dst.addr, 0, sizeof(client->info.dst.addr));
	memcpy(client->info.src.addr, record->src_addr, addr_len);
	memcpy(client->info.dst.addr, record->dst_addr, addr_len);
	client->info.src.port = record->src_port;
	client->info.dst.port = record->dst_port;
	client->info.protocol = record->protocol;
	client->info.tcp_flags = 0;
	client->info.payload = record->msg;
	client->info.payload_len = record->copy_len;
	client->mark = record->mark;
	client->time_ms = record->time_ns / 1000000;
	client->kind = record->kind;
	client->partial = record->copy_len < record->msg_len;
	return 0;
}
