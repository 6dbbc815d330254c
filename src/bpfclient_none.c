/*
 * bpf mode where it was not built (configure found no libbpf, bpftool or
 * clang's BPF target): the one entry the daemon uses says so, and the
 * rest of dnsmark needs no #ifdef.
 */
#include <stdio.h>

#include "bpfclient.h"

int
bpfclient_source(struct source *source, const char *dir,
    const struct fastpath_config *fast, struct stats *stats,
    bpfclient_cb cb, void *arg, char *err, size_t err_len)
{
	(void)source;
	(void)dir;
	(void)fast;
	(void)stats;
	(void)cb;
	(void)arg;
	snprintf(err, err_len, "this dnsmark was built without it (configure "
	    "found no libbpf, bpftool or clang)");
	return -1;
}
