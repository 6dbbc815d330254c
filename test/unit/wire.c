/*
 * Builders of DNS messages and IP packets for the unit tests.  Addresses
 * are parsed with inet_pton; checksums are left zero (nothing checks them).
 */
#include <arpa/inet.h>
#include <string.h>

#include "wire.h"

void
wire_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void
wire_put32(uint8_t *p, uint32_t v)
{
	wire_put16(p, (uint16_t)(v >> 16));
	wire_put16(p + 2, (uint16_t)v);
}

size_t
wire_put_name(uint8_t *p, const char *name)
{
	size_t len = 0;

	while (*name != '\0' && strcmp(name, ".") != 0) {
		const char *dot = strchr(name, '.');
		size_t label = dot ? (size_t)(dot - name) : strlen(name);

		p[len++] = (uint8_t)label;
		memcpy(p + len, name, label);
		len += label;
		name += label;
		if (*name == '.')
			name++;
	}
	p[len++] = 0;
	return len;
}

void
wire_u8(struct wire *w, uint8_t v)
{
	if (w->len < sizeof(w->buf))
		w->buf[w->len++] = v;
}

void
wire_u16(struct wire *w, uint16_t v)
{
	wire_u8(w, (uint8_t)(v >> 8));
	wire_u8(w, (uint8_t)v);
}

void
wire_u32(struct wire *w, uint32_t v)
{
	wire_u16(w, (uint16_t)(v >> 16));
	wire_u16(w, (uint16_t)v);
}

void
wire_bytes(struct wire *w, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < len; i++)
		wire_u8(w, p[i]);
}

void
wire_name(struct wire *w, const char *name)
{
	uint8_t wire[1024];

	wire_bytes(w, wire, wire_put_name(wire, name));
}

void
wire_pointer(struct wire *w, uint16_t offset)
{
	wire_u16(w, (uint16_t)(0xc000 | offset));
}

void
wire_header(struct wire *w, uint16_t id, uint16_t flags, uint16_t qd,
    uint16_t an, uint16_t ns, uint16_t ar)
{
	wire_u16(w, id);
	wire_u16(w, flags);
	wire_u16(w, qd);
	wire_u16(w, an);
	wire_u16(w, ns);
	wire_u16(w, ar);
}

void
wire_question(struct wire *w, const char *name, uint16_t qtype)
{
	wire_name(w, name);
	wire_u16(w, qtype);
	wire_u16(w, 1);
}

size_t
wire_rr_begin(struct wire *w, uint16_t type)
{
	size_t offset;

	wire_u16(w, type);
	wire_u16(w, 1);
	wire_u32(w, 300);
	offset = w->len;
	wire_u16(w, 0);
	return offset;
}

void
wire_set16(struct wire *w, size_t offset, uint16_t v)
{
	if (offset + 2 <= w->len) {
		w->buf[offset] = (uint8_t)(v >> 8);
		w->buf[offset + 1] = (uint8_t)v;
	}
}

void
wire_rr_end(struct wire *w, size_t length_offset)
{
	wire_set16(w, length_offset, (uint16_t)(w->len - length_offset - 2));
}

/* Writes the IP header for a transport segment of segment_len bytes. */
static void
ip_header(struct wire *w, int family, const char *src, const char *dst,
    uint8_t protocol, size_t segment_len)
{
	uint8_t addr[16];

	if (family == 4) {
		wire_u8(w, 0x45);
		wire_u8(w, 0);
		wire_u16(w, (uint16_t)(20 + segment_len));
		wire_u32(w, 0);		/* id, flags, fragment offset */
		wire_u8(w, 64);
		wire_u8(w, protocol);
		wire_u16(w, 0);
		inet_pton(AF_INET, src, addr);
		wire_bytes(w, addr, 4);
		inet_pton(AF_INET, dst, addr);
		wire_bytes(w, addr, 4);
	} else {
		wire_u32(w, 0x60000000);
		wire_u16(w, (uint16_t)segment_len);
		wire_u8(w, protocol);
		wire_u8(w, 64);
		inet_pton(AF_INET6, src, addr);
		wire_bytes(w, addr, 16);
		inet_pton(AF_INET6, dst, addr);
		wire_bytes(w, addr, 16);
	}
}

static size_t
finish(const struct wire *w, uint8_t *out, size_t out_len)
{
	size_t len = w->len < out_len ? w->len : out_len;

	memcpy(out, w->buf, len);
	return len;
}

size_t
wire_udp_packet(int family, const char *src, uint16_t sport, const char *dst,
    uint16_t dport, const struct wire *dns, uint8_t *out, size_t out_len)
{
	struct wire w = { .len = 0 };

	ip_header(&w, family, src, dst, 17, 8 + dns->len);
	wire_u16(&w, sport);
	wire_u16(&w, dport);
	wire_u16(&w, (uint16_t)(8 + dns->len));
	wire_u16(&w, 0);
	wire_bytes(&w, dns->buf, dns->len);
	return finish(&w, out, out_len);
}

size_t
wire_tcp_packet(int family, const char *src, uint16_t sport, const char *dst,
    uint16_t dport, uint8_t flags, const struct wire *dns, uint8_t *out,
    size_t out_len)
{
	struct wire w = { .len = 0 };
	size_t payload = dns != NULL ? 2 + dns->len : 0;

	ip_header(&w, family, src, dst, 6, 20 + payload);
	wire_u16(&w, sport);
	wire_u16(&w, dport);
	wire_u32(&w, 1);	/* sequence */
	wire_u32(&w, 0);	/* acknowledgement */
	wire_u8(&w, 5 << 4);
	wire_u8(&w, flags);
	wire_u16(&w, 65535);
	wire_u32(&w, 0);	/* checksum, urgent pointer */
	if (dns != NULL) {
		wire_u16(&w, (uint16_t)dns->len);
		wire_bytes(&w, dns->buf, dns->len);
	}
	return finish(&w, out, out_len);
}
