/*
 * bpf mode's userspace half: loads the BPF programs of src/bpf/client.bpf.c
 * (embedded in the binary), attaches them to the resolver's cgroup with
 * bpf_links (detached when dnsmark exits, however it exits) and reads the
 * records of client queries and of the resolver's answers to them from the
 * ring buffer's mmap without a system call.  It judges nothing: each
 * record goes to the caller's callback.
 */
#ifndef DNSMARK_BPFCLIENT_H
#define DNSMARK_BPFCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "bpfrecord.h"
#include "fastpath.h"
#include "source.h"
#include "stats.h"

/*
 * The ring's size: 16 MiB hold about 50 000 records (336 bytes each with
 * the ring's header).  The program wakes dnsmark when a 64th is used.
 */
#define BPFCLIENT_RING_BYTES (16u << 20)

struct bpfclient;

/* Called for each record read; client and its payload live until it
 * returns. */
typedef void (*bpfclient_cb)(const struct bpfrecord_client *client,
    void *arg);

/*
 * Loads the programs with a ring of ring_bytes (a power of two, at least a
 * page), with the kernel fast path as fast says (include/fastpath.h), and
 * attaches them, ingress and egress, to the cgroup v2 directory
 * dir (absolute, or relative to the cgroup2 mount).  Needs CAP_BPF and
 * CAP_NET_ADMIN (root); after it returns, reading the ring needs no
 * privilege.  Records go to cb with arg; undecodable ones are counted in
 * stats.  Returns the client or NULL with a sentence in err (size
 * err_len), failing whole when either program cannot be attached.  Free
 * with bpfclient_close().
 */
struct bpfclient *bpfclient_open(const char *dir, size_t ring_bytes,
    const struct fastpath_config *fast, struct stats *stats,
    bpfclient_cb cb, void *arg, char *err, size_t err_len);

/* Returns 1 when the kernel fast path is on. */
int bpfclient_fast(const struct bpfclient *client);

/* Returns the cgroup directory the programs are attached to. */
const char *bpfclient_cgroup(const struct bpfclient *client);

/*
 * Returns a descriptor that becomes readable when a program asks to be
 * read (the ring is filling up); drain it with bpfclient_drain().
 */
int bpfclient_fd(const struct bpfclient *client);

/*
 * Hands every record in the ring to the callback, in ring order.  Returns
 * how many, or a negative errno.  No system call when records are there.
 */
int bpfclient_drain(struct bpfclient *client);

/* Returns the records the programs lost because the ring was full. */
uint64_t bpfclient_lost(const struct bpfclient *client);

/* Detaches the programs and frees everything; bpfclient_close(NULL) does
 * nothing. */
void bpfclient_close(struct bpfclient *client);

/*
 * Loads and attaches the programs on the cgroup v2 directory dir and opens
 * their ring as source (include/source.h), BPFCLIENT_RING_BYTES long.
 * Returns 0, or -1 with the reason in err.  The one function of this file
 * a dnsmark built without bpf mode has (src/bpfclient_none.c): there it
 * says so in err.
 */
int bpfclient_source(struct source *source, const char *dir,
    const struct fastpath_config *fast, struct stats *stats,
    bpfclient_cb cb, void *arg, char *err, size_t err_len);

#endif
