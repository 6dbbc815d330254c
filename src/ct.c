/*
 * The connection mark from the conntrack data a stock kernel attaches to
 * queued packets (NFQA_CT, with CONFIG_NETFILTER_NETLINK_GLUE_CT).  Walks
 * the nested attributes with libmnl; allocates nothing.
 */
#include <arpa/inet.h>
#include <errno.h>

#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/linux_nfnetlink_conntrack.h>

#include "ct.h"

struct ct_mark_search {
	int found;
	uint32_t mark;
};

static int
ct_attr_cb(const struct nlattr *attr, void *data)
{
	struct ct_mark_search *search = data;

	if (mnl_attr_get_type(attr) != CTA_MARK)
		return MNL_CB_OK;
	if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
		return MNL_CB_ERROR;
	search->found = 1;
	search->mark = ntohl(mnl_attr_get_u32(attr));
	return MNL_CB_OK;
}

int
ct_parse_mark(const struct nlattr *ct_attr, uint32_t *mark)
{
	struct ct_mark_search search = { 0 };

	if (mnl_attr_parse_nested(ct_attr, ct_attr_cb, &search) < 0)
		return -EINVAL;
	if (!search.found)
		return -ENOENT;
	*mark = search.mark;
	return 0;
}
