/*
 * Reading the conntrack data (NFQA_CT) that a kernel with
 * CONFIG_NETFILTER_NETLINK_GLUE_CT attaches to queued packets.  Pure: it
 * walks the netlink attributes it is given and never allocates.
 */
#ifndef DNSMARK_CT_H
#define DNSMARK_CT_H

#include <stdint.h>

struct nlattr;

/*
 * Finds the connection mark in the nested NFQA_CT attribute.  Returns 0 and
 * sets *mark, or -ENOENT when the kernel sent no mark, or -EINVAL when the
 * attribute is malformed.
 */
int ct_parse_mark(const struct nlattr *ct_attr, uint32_t *mark);

#endif
