/*
 * sd_notify(3)'s READY=1 without libsystemd: the protocol is one datagram
 * on a Unix socket.  dnsmark-bpf@.service waits for it before loading the
 * fast path's rules, which name the programs dnsmark pins while starting.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "notify.h"

int
notify_ready(void)
{
	static const char ready[] = "READY=1";
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	size_t len;
	socklen_t addr_len;
	ssize_t sent;
	int fd, err;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return 0;
	len = strlen(path);
	if (len >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	memcpy(addr.sun_path, path, len);
	if (path[0] == '@')
		addr.sun_path[0] = '\0';
	addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	sent = sendto(fd, ready, sizeof(ready) - 1, 0,
	    (const struct sockaddr *)&addr, addr_len);
	err = errno;
	close(fd);
	return sent < 0 ? -err : 1;
}
