/*
 * Unit tests for src/cgroup.c: the cgroup2 mount found in mountinfo text,
 * whatever else is mounted and however the path is escaped.
 */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include "cgroup.h"

Test(cgroup, finds_the_cgroup2_mount)
{
	static const struct {
		const char *mountinfo;
		const char *mount_point;
	} cases[] = {
		/* Hybrid: v1 hierarchies beside the unified one. */
		{ "22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
		  "30 25 0:26 / /sys/fs/cgroup ro shared:9 - tmpfs tmpfs ro\n"
		  "31 30 0:27 / /sys/fs/cgroup/unified rw shared:10 - cgroup2 cgroup2 rw\n"
		  "32 30 0:28 / /sys/fs/cgroup/systemd rw shared:11 - cgroup cgroup rw\n",
		  "/sys/fs/cgroup/unified" },
		/* Pure v2, no optional fields, no final newline. */
		{ "25 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
		  "41 31 0:38 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw",
		  "/sys/fs/cgroup" },
		/* A space in the mount point, escaped. */
		{ "41 31 0:38 / /mnt/my\\040cgroups rw - cgroup2 none rw\n",
		  "/mnt/my cgroups" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[256];

		cr_assert_eq(cgroup_find_mount(cases[i].mountinfo, out,
		    sizeof(out)), 0, "case %zu", i);
		cr_assert_str_eq(out, cases[i].mount_point, "case %zu", i);
	}
}

Test(cgroup, is_not_fooled_by_v1_or_by_names)
{
	const char *text =
	    "32 30 0:28 / /sys/fs/cgroup/cgroup2 rw - cgroup cgroup2 rw,name=x\n"
	    "33 30 0:29 / /cgroup2 rw shared:1 - tmpfs cgroup2 rw\n";
	char out[256];

	cr_assert_eq(cgroup_find_mount(text, out, sizeof(out)), -ENOENT);
	cr_assert_eq(cgroup_find_mount("", out, sizeof(out)), -ENOENT);
	cr_assert_eq(cgroup_find_mount("garbage", out, sizeof(out)), -ENOENT);
}

Test(cgroup, refuses_a_short_buffer)
{
	const char *text = "41 31 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
	char out[8];

	cr_assert_eq(cgroup_find_mount(text, out, sizeof(out)), -ENAMETOOLONG);
}
