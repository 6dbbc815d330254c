/*
 * Unit tests for src/cgroup.c: the cgroup2 mount found in mountinfo text,
 * whatever else is mounted and however the path is escaped.
 */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include "cgroup.h"

Test(cgroup, finds_the_hybrid_mount)
{
	const char *text =
	    "22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
	    "30 25 0:26 / /sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro,mode=755\n"
	    "31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev shared:10 - cgroup2 cgroup2 rw,nsdelegate\n"
	    "32 30 0:28 / /sys/fs/cgroup/systemd rw shared:11 - cgroup cgroup rw,name=systemd\n";
	char out[256];

	cr_assert_eq(cgroup_find_mount(text, out, sizeof(out)), 0);
	cr_assert_str_eq(out, "/sys/fs/cgroup/unified");
}

Test(cgroup, finds_a_pure_v2_mount_without_optional_fields)
{
	const char *text =
	    "25 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
	    "41 31 0:38 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw";
	char out[256];

	cr_assert_eq(cgroup_find_mount(text, out, sizeof(out)), 0);
	cr_assert_str_eq(out, "/sys/fs/cgroup");
}

Test(cgroup, decodes_escaped_mount_points)
{
	const char *text =
	    "41 31 0:38 / /mnt/my\\040cgroups rw - cgroup2 none rw\n";
	char out[256];

	cr_assert_eq(cgroup_find_mount(text, out, sizeof(out)), 0);
	cr_assert_str_eq(out, "/mnt/my cgroups");
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
