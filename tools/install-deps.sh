#!/bin/sh
# Installs, from Debian's archive, what dnsmark needs to build and what its
# tests run: the libraries, real resolvers and authoritative servers, the
# netfilter tools, and what builds and checks its Debian package.  Debian 12, as root.  Packages that come with a service
# (unbound, nsd) must not start it on the host: a policy-rc.d denies it while
# we install, unless the machine already has one.
set -eu

PACKAGES="
autoconf automake make gcc pkg-config
libnetfilter-queue-dev libmnl-dev libnfnetlink-dev libnetfilter-conntrack-dev
libldns-dev libcriterion-dev
iproute2 iptables nftables conntrack tcpdump strace
unbound dnsmasq-base nsd dnsutils prometheus dnsperf
bind9 bind9-utils knot-resolver pdns-recursor python3
qemu-system-x86 busybox-static cpio debootstrap
valgrind clang libclang-rt-14-dev
libbpf-dev bpftool linux-libc-dev util-linux
debhelper dh-autoreconf dpkg-dev fakeroot lintian xz-utils
"

if [ "$(id -u)" != 0 ]; then
	echo "install-deps.sh: run me as root" >&2
	exit 1
fi

policy=/usr/sbin/policy-rc.d
own_policy=
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' > "$policy"
	chmod 755 "$policy"
	own_policy=yes
fi
cleanup() {
	if [ -n "$own_policy" ]; then rm -f "$policy"; fi
}
trap cleanup EXIT INT TERM

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $PACKAGES
