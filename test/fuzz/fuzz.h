/*
 * The control byte in front of every fuzz_packet input: which hooks the
 * packet is fed on, which mark it carries, and how far the clock moves
 * first.  Shared by the target and the program that writes its seeds; and
 * the targets' shared checks.
 */
#ifndef DNSMARK_FUZZ_H
#define DNSMARK_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/*
 * Bits 0-2: the plan.  The answer is built from the packet: addresses and
 * ports swapped, the same transport payload with the QR bit set, fed on
 * LOCAL_IN; so a message with records after its question, asked first,
 * is then learned from as the response to that very query.
 */
#define FUZZ_PLAN_IN 0		/* LOCAL_IN */
#define FUZZ_PLAN_OUT 1		/* LOCAL_OUT */
#define FUZZ_PLAN_IN_OUT 2	/* LOCAL_IN, then the same bytes on LOCAL_OUT */
#define FUZZ_PLAN_OTHER 3	/* FORWARD: a hook dnsmark does not use */
#define FUZZ_PLAN_OUT_ANSWER 4	/* LOCAL_OUT, then its answer */
#define FUZZ_PLAN_IN_OUT_ANSWER 5	/* LOCAL_IN, LOCAL_OUT, the answer */
/* 6 and 7 act as 0 and 1. */
#define FUZZ_PLAN(control) ((control) & 7)

/* Bits 3-4: the packet mark, an index into the target's marks. */
#define FUZZ_MARK(index) ((index) << 3)
#define FUZZ_MARK_INDEX(control) (((control) >> 3) & 3)

/* Bit 5: the kernel attached conntrack data (its mark differs). */
#define FUZZ_CT_MARK 0x20

/* Bits 6-7: how far the clock moves before the packet, an index. */
#define FUZZ_TIME(index) ((index) << 6)
#define FUZZ_TIME_INDEX(control) (((control) >> 6) & 3)

/* The targets' check of a wire name: labels of 1 to 63 octets, the root
 * label last, nothing after it. */
static inline int
fuzz_name_well_formed(const uint8_t *name, size_t len)
{
	size_t pos = 0;

	while (pos < len && name[pos] != 0) {
		if (name[pos] > 63)
			return 0;
		pos += 1 + (size_t)name[pos];
	}
	return pos == len - 1;
}

#endif
