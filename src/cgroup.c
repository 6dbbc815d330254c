/*
 * The cgroup v2 directory bpf mode attaches its program to.  The mount
 * point comes from /proc/self/mountinfo: fields separated by spaces, the
 * fifth the mount point (spaces and other bytes escaped as \ooo), then
 * optional fields up to a lone "-", then the file system type.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <linux/magic.h>

#include "cgroup.h"

#define CGROUP_MOUNTINFO_MAX (1 << 20)

/* Copies the field at p (up to a space or the end of line) unescaped to
 * out; returns 0 or -ENAMETOOLONG. */
static int
copy_unescaped(const char *p, char *out, size_t len)
{
	size_t n = 0;

	while (*p != '\0' && *p != ' ' && *p != '\n') {
		char c = *p++;

		if (c == '\\' && p[0] >= '0' && p[0] <= '3' && p[1] >= '0' &&
		    p[1] <= '7' && p[2] >= '0' && p[2] <= '7') {
			c = (char)((p[0] - '0') << 6 | (p[1] - '0') << 3 |
			    (p[2] - '0'));
			p += 3;
		}
		if (n + 1 >= len)
			return -ENAMETOOLONG;
		out[n++] = c;
	}
	if (len == 0)
		return -ENAMETOOLONG;
	out[n] = '\0';
	return 0;
}

/* Returns the start of field number index (0-based) of the line, or NULL. */
static const char *
field(const char *line, int index)
{
	for (int i = 0; i < index; i++) {
		while (*line != '\0' && *line != ' ' && *line != '\n')
			line++;
		if (*line != ' ')
			return NULL;
		line++;
	}
	return line;
}

int
cgroup_find_mount(const char *mountinfo, char *out, size_t len)
{
	const char *line = mountinfo;

	while (line != NULL && *line != '\0') {
		const char *mount_point = field(line, 4);
		const char *p = field(line, 6);

		/* Optional fields, then "-", then the type. */
		while (p != NULL && *p != '\n' && *p != '\0' &&
		    strncmp(p, "- ", 2) != 0)
			p = field(p, 1);
		if (mount_point != NULL && p != NULL &&
		    strncmp(p, "- cgroup2 ", 10) == 0)
			return copy_unescaped(mount_point, out, len);
		line = strchr(line, '\n');
		if (line != NULL)
			line++;
	}
	return -ENOENT;
}

static int
fail(char *err, size_t err_len, int error, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(char *err, size_t err_len, int error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
	return -error;
}

int
cgroup_resolve(const char *dir, char *out, size_t len, char *err,
    size_t err_len)
{
	char mount_point[4096] = "";
	struct statfs fs;
	struct stat st;
	char *text;
	size_t n;
	FILE *f;
	int ret;

	text = malloc(CGROUP_MOUNTINFO_MAX);
	if (text == NULL)
		return fail(err, err_len, ENOMEM, "%s: out of memory", dir);
	f = fopen("/proc/self/mountinfo", "re");
	if (f == NULL) {
		free(text);
		return fail(err, err_len, errno, "cannot read %s",
		    "/proc/self/mountinfo");
	}
	n = fread(text, 1, CGROUP_MOUNTINFO_MAX - 1, f);
	fclose(f);
	text[n] = '\0';
	ret = cgroup_find_mount(text, mount_point, sizeof(mount_point));
	free(text);
	if (ret == -ENOENT && dir[0] != '/')
		return fail(err, err_len, ENOENT, "%s: no cgroup2 file system "
		    "is mounted (see /proc/self/mountinfo)", dir);
	if (dir[0] == '/')
		ret = snprintf(out, len, "%s", dir);
	else
		ret = snprintf(out, len, "%s/%s", mount_point, dir);
	if (ret < 0 || (size_t)ret >= len)
		return fail(err, err_len, ENAMETOOLONG, "%s: path too long",
		    dir);
	if (stat(out, &st) < 0 || !S_ISDIR(st.st_mode))
		return fail(err, err_len, ENOTDIR, "%s: no such directory",
		    out);
	if (statfs(out, &fs) < 0 || fs.f_type != CGROUP2_SUPER_MAGIC) {
		snprintf(err, err_len, "%s is not on a cgroup2 file system "
		    "(cgroup2 is mounted at %s)", out,
		    mount_point[0] != '\0' ? mount_point : "no place");
		return -EINVAL;
	}
	return 0;
}
