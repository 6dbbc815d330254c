/*
 * Finding a cgroup v2 directory for bpf mode: where the cgroup2 file system
 * is mounted (read from /proc/self/mountinfo, never assumed: it is
 * /sys/fs/cgroup on pure v2 systems and /sys/fs/cgroup/unified on hybrid
 * ones) and whether a directory lies on it.  Parsing is pure; only
 * cgroup_resolve() touches the file system.
 */
#ifndef DNSMARK_CGROUP_H
#define DNSMARK_CGROUP_H

#include <stddef.h>

/*
 * Finds the first cgroup2 mount in the text of a mountinfo file and writes
 * its mount point, octal escapes decoded, to out of size len.  Returns 0,
 * -ENOENT when there is none, or -ENAMETOOLONG.
 */
int cgroup_find_mount(const char *mountinfo, char *out, size_t len);

/*
 * Writes to out (size len) the cgroup v2 directory dir names: dir itself
 * when absolute, else dir below this process's cgroup2 mount.  Checks that
 * the result is a directory of a cgroup2 file system.  Returns 0 or a
 * negative errno, with a sentence in err (size err_len).
 */
int cgroup_resolve(const char *dir, char *out, size_t len, char *err,
    size_t err_len);

#endif
