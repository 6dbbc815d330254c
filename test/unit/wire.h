/*
 * Test helpers that build DNS messages and IP packets byte by byte, so
 * that each test shows what it feeds.  Test code only.
 */
#ifndef DNSMARK_TEST_WIRE_H
#define DNSMARK_TEST_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* A message under construction; the writers never overrun buf. */
struct wire {
	uint8_t buf[4096];
	size_t len;
};

/* Writes v big-endian at p. */
void wire_put16(uint8_t *p, uint16_t v);
void wire_put32(uint8_t *p, uint32_t v);

/*
 * Writes the dotted name ("www.example.test", "." for the root) at p in
 * wire form, uncompressed, case kept; returns its length.  A label may hold
 * any byte but a dot.
 */
size_t wire_put_name(uint8_t *p, const char *name);

void wire_u8(struct wire *w, uint8_t v);
void wire_u16(struct wire *w, uint16_t v);
void wire_u32(struct wire *w, uint32_t v);
void wire_bytes(struct wire *w, const void *data, size_t len);

/* Writes a dotted name ("www.example.test", "." for the root), uncompressed. */
void wire_name(struct wire *w, const char *name);

/* Writes a compression pointer to offset. */
void wire_pointer(struct wire *w, uint16_t offset);

/* Writes a DNS header. */
void wire_header(struct wire *w, uint16_t id, uint16_t flags, uint16_t qd,
    uint16_t an, uint16_t ns, uint16_t ar);

/* Writes a question: name, type, class IN. */
void wire_question(struct wire *w, const char *name, uint16_t qtype);

/* Writes a record's type, class IN, TTL 300 and a placeholder length;
 * returns the offset of the length, for wire_rr_end(). */
size_t wire_rr_begin(struct wire *w, uint16_t type);

/* Fills in the length of the record data begun at length_offset. */
void wire_rr_end(struct wire *w, size_t length_offset);

/* Sets the big-endian 16-bit value at offset. */
void wire_set16(struct wire *w, size_t offset, uint16_t v);

/*
 * Wraps the DNS message in an IPv4 (family 4) or IPv6 (6) UDP packet from
 * src:sport to dst:dport (text addresses); writes it to out and returns its
 * length.
 */
size_t wire_udp_packet(int family, const char *src, uint16_t sport,
    const char *dst, uint16_t dport, const struct wire *dns, uint8_t *out,
    size_t out_len);

/* The same in a TCP segment with the two-byte length prefix and flags
 * (PSH|ACK for data). */
size_t wire_tcp_packet(int family, const char *src, uint16_t sport,
    const char *dst, uint16_t dport, uint8_t flags, const struct wire *dns,
    uint8_t *out, size_t out_len);

#endif
