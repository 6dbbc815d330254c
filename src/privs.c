/*
 * Becoming an unprivileged user that keeps CAP_NET_ADMIN, or keeping only
 * that capability as the user dnsmark was started as.  The capability
 * sets are written with the capset system call directly, so dnsmark needs
 * no libcap.  Called once, after the queue is bound and before any packet
 * is judged; it never runs on the packet path.
 */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "privs.h"

static int
capabilities_get(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct header = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = 0,
	};

	return (int)syscall(SYS_capget, &header, data);
}

static int
capabilities_set_net_admin(void)
{
	struct __user_cap_header_struct header = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = 0,
	};
	struct __user_cap_data_struct data[2];
	uint32_t bit = 1u << (CAP_NET_ADMIN % 32);

	memset(data, 0, sizeof(data));
	data[CAP_NET_ADMIN / 32].effective = bit;
	data[CAP_NET_ADMIN / 32].permitted = bit;
	return (int)syscall(SYS_capset, &header, data);
}

int
privs_have_net_admin(void)
{
	struct __user_cap_data_struct data[2];

	if (capabilities_get(data) < 0)
		return 0;
	return (data[CAP_NET_ADMIN / 32].effective &
	    (1u << (CAP_NET_ADMIN % 32))) != 0;
}

static int
fail(char *err, size_t err_len, int error, const char *what)
{
	snprintf(err, err_len, "%s: %s", what, strerror(error));
	return -error;
}

int
privs_drop(const char *user, char *err, size_t err_len)
{
	struct passwd *pw;
	uid_t uid;
	gid_t gid;
	char *end;

	errno = 0;
	pw = getpwnam(user);
	if (pw != NULL) {
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	} else {
		unsigned long id = strtoul(user, &end, 10);

		if (user[0] < '0' || user[0] > '9' || *end != '\0')
			return fail(err, err_len, errno ? errno : ENOENT,
			    "no such user");
		uid = (uid_t)id;
		gid = (gid_t)id;
	}
	if (uid == 0) {
		snprintf(err, err_len, "will not run as root with --user");
		return -EINVAL;
	}
	/* Keep the permitted set across setuid, then trim it to one bit. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return fail(err, err_len, errno, "PR_SET_KEEPCAPS");
	if (setgroups(0, NULL) < 0)
		return fail(err, err_len, errno, "setgroups");
	if (setresgid(gid, gid, gid) < 0)
		return fail(err, err_len, errno, "setresgid");
	if (setresuid(uid, uid, uid) < 0)
		return fail(err, err_len, errno, "setresuid");
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return fail(err, err_len, errno, "PR_SET_KEEPCAPS");
	return privs_keep_net_admin(err, err_len);
}

int
privs_keep_net_admin(char *err, size_t err_len)
{
	/* Lowering the inheritable set to nothing clears the ambient set
	 * too: nothing dnsmark could start would get more. */
	if (capabilities_set_net_admin() < 0)
		return fail(err, err_len, errno, "capset");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail(err, err_len, errno, "PR_SET_NO_NEW_PRIVS");
	if (!privs_have_net_admin()) {
		snprintf(err, err_len, "CAP_NET_ADMIN did not survive");
		return -EPERM;
	}
	return 0;
}
