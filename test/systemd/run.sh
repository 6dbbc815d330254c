#!/bin/sh
# test/systemd/run.sh: the systemd lane. Boots Debian's stock cloud kernel
# under qemu (TCG, no network device) with a Debian root file system whose
# init is systemd, and runs test/systemd/guest.sh there as a unit: real
# unbound and dnsmasq started as their Debian units, dnsmark installed as
# an operator installs it and started as its shipped units. The root is
# built once with debootstrap (apt's configured mirror) and kept, as an
# initramfs archive, under the cache directory; each run appends a small
# archive of its own (dnsmark, the guest scripts). It never touches the
# host's network, writes only its cache and a temporary directory, and ends
# only the processes it started.
#
# Exit 0 pass, 1 fail, 77 skip (not root, tools or packages missing; 1 under
# CI=true). Environment: DNSMARK (the built daemon: its build tree is
# installed with make install DESTDIR=), DNSMARK_DEB (a dnsmark_*.deb: the
# guest installs it with apt-get instead; make check passes the package
# test/release/deb.sh built and checked), RULES_DIR, E2E_DIR (as the other
# lanes; unused here but accepted); DNSMARK_SYSTEMD_CACHE (default
# ${XDG_CACHE_HOME:-/var/cache}/dnsmark-systemd); DNSMARK_SYSTEMD_REFRESH=1
# builds the root again; DNSMARK_SYSTEMD_TIMEOUT (seconds for the guest,
# default 900); DNSMARK_SYSTEMD_KEEP=1 keeps the temporary directory.

PATH=$PATH:/usr/sbin:/sbin
export PATH
LC_ALL=C
export LC_ALL

SD_DIR=$(cd "$(dirname "$0")" && pwd)
sd_top=$(cd "$SD_DIR/../.." && pwd)
DNSMARK=${DNSMARK:-$sd_top/src/dnsmark}
SD_CACHE=${DNSMARK_SYSTEMD_CACHE:-${XDG_CACHE_HOME:-/var/cache}/dnsmark-systemd}
SD_TIMEOUT=${DNSMARK_SYSTEMD_TIMEOUT:-900}

# The guest's Debian packages besides minbase: systemd as init, the two
# resolvers with their units, the netfilter tools, the clients (dig,
# dnsperf), kmod for the kernel's module requests. dnsmark's runtime
# libraries are added from what the daemon links (sd_runtime_packages).
SD_PACKAGES="systemd systemd-sysv kmod iproute2 iptables nftables conntrack
unbound dnsmasq bind9-dnsutils dnsperf procps"
# The kernel's module directories the guest keeps (netfilter, veth, BPF
# helpers, autofs4 that systemd loads at boot); the rest of the cloud
# kernel's modules are left out.
SD_MODULE_DIRS="kernel/net kernel/lib kernel/crypto kernel/drivers/net/veth.ko
kernel/fs/autofs"

# Raise when sd_root_setup changes, so that cached roots are built again.
SD_ROOT_LAYOUT=2

SD_TMP=
SD_PID=

sd_say() {
	printf '%s\n' "$*"
}

sd_warn() {
	printf '%s: %s\n' "${0##*/}" "$*" >&2
}

# sd_skip REASON: exit 77, or 1 when CI=true (a CI lane must not skip).
sd_skip() {
	if [ "${CI:-}" = true ]; then
		sd_warn "FAIL (CI=true, would skip): $*"
		exit 1
	fi
	sd_warn "SKIP: $*"
	exit 77
}

sd_die() {
	sd_warn "ERROR: $*"
	exit 1
}

sd_cleanup() {
	sd_exit=$?
	trap - EXIT INT TERM
	if [ -n "$SD_PID" ]; then
		kill -TERM "$SD_PID" 2>/dev/null
		wait "$SD_PID" 2>/dev/null
	fi
	if [ -n "$SD_TMP" ]; then
		rm -f "$SD_TMP/initrd.cpio"
		if [ -n "${DNSMARK_SYSTEMD_KEEP:-}" ] || [ "$sd_exit" -eq 1 ]; then
			sd_warn "kept $SD_TMP (console.log)"
		else
			rm -rf "$SD_TMP"
		fi
	fi
	exit "$sd_exit"
}

sd_show() {
	sd_say "---- $1 (${2##*/}) ----"
	tail -n "${3:-40}" "$2" 2>/dev/null | sed 's/^/    /'
}

sd_check_host() {
	[ "$(id -u)" -eq 0 ] || sd_skip "needs root (debootstrap, the cache)"
	sd_missing=
	for sd_tool in qemu-system-x86_64 debootstrap cpio apt-get apt-cache \
	    dpkg dpkg-query chroot ldd timeout make; do
		command -v "$sd_tool" >/dev/null 2>&1 ||
		    sd_missing="$sd_missing $sd_tool"
	done
	[ -z "$sd_missing" ] ||
	    sd_skip "missing tools:$sd_missing (sh tools/install-deps.sh)"
	if [ -n "${DNSMARK_DEB:-}" ]; then
		[ -r "$DNSMARK_DEB" ] || sd_die "DNSMARK_DEB=$DNSMARK_DEB is not readable"
	else
		[ -x "$DNSMARK" ] ||
		    sd_skip "no dnsmark binary at $DNSMARK (build it, or set DNSMARK)"
		[ -r "${DNSMARK%/src/dnsmark}/Makefile" ] ||
		    sd_die "no build tree around $DNSMARK (its Makefile installs it)"
	fi
	[ -r "$SD_DIR/guest.sh" ] || sd_die "no guest.sh in $SD_DIR"
}

# sd_mirror: the Debian archive apt is configured with (the first one that
# serves the suite's main component), and the suite.
sd_mirror() {
	. /etc/os-release
	SD_SUITE=${VERSION_CODENAME:-bookworm}
	SD_MIRROR=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' \
	    'Identifier: Packages' 2>/dev/null |
	    awk -v s="$SD_SUITE" '$2 == s && $3 == "main" { print $1; exit }')
	[ -n "$SD_MIRROR" ] || SD_MIRROR=http://deb.debian.org/debian/
}

# sd_runtime_packages: the Debian packages of the libraries dnsmark loads.
sd_runtime_packages() {
	if [ -n "${DNSMARK_DEB:-}" ]; then
		# The package says it itself.
		dpkg-deb -f "$DNSMARK_DEB" Depends | tr ',' '\n' |
		    sed 's/[(|].*//; s/ //g' | grep -v '^$' | sort -u | tr '\n' ' '
		return
	fi
	ldd "$DNSMARK" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' |
	    while read -r sd_lib; do
		dpkg-query -S "$sd_lib" 2>/dev/null ||
		    dpkg-query -S "$(readlink -f "$sd_lib")" 2>/dev/null ||
		    dpkg-query -S "/usr$sd_lib" 2>/dev/null
	done | sed 's/:.*//' | sort -u | tr '\n' ' '
}

# sd_kernel: leave in SD_KDIR an unpacked stock cloud kernel package, kept in
# the cache (the one apt names now, or the cached one when apt cannot say).
sd_kernel() {
	sd_pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
	    awk '$1 == "Depends:" && $2 ~ /^linux-image-.*-cloud-amd64$/ { print $2; exit }')
	sd_version=
	[ -z "$sd_pkg" ] || sd_version=$(apt-cache show --no-all-versions \
	    "$sd_pkg" 2>/dev/null | awk '$1 == "Version:" { print $2; exit }')
	if [ -z "$sd_version" ]; then
		SD_KDIR=$(ls -d "$SD_CACHE"/linux-image-* 2>/dev/null | tail -n 1)
		[ -n "$SD_KDIR" ] && [ -r "$SD_KDIR/unpacked" ] ||
		    sd_skip "apt names no linux-image-*-cloud-amd64 package and none is cached"
		sd_warn "apt names no cloud kernel; using the cached ${SD_KDIR##*/}"
		return 0
	fi
	SD_KDIR=$SD_CACHE/$(printf '%s_%s' "$sd_pkg" "$sd_version" | tr ':~' '__')
	[ -r "$SD_KDIR/unpacked" ] && return 0
	sd_say "fetching $sd_pkg $sd_version"
	sd_new=$(mktemp -d "$SD_CACHE/new.XXXXXX") || sd_die "mktemp failed"
	if ! (cd "$sd_new" && apt-get download "$sd_pkg=$sd_version") \
	    >"$SD_TMP/apt.log" 2>&1 ||
	    ! dpkg -x "$sd_new"/*.deb "$sd_new/root" >>"$SD_TMP/apt.log" 2>&1; then
		rm -rf "$sd_new"
		sd_show apt "$SD_TMP/apt.log"
		sd_skip "cannot fetch $sd_pkg from apt's archive"
	fi
	: >"$sd_new/root/unpacked"
	rm -rf "$SD_KDIR"
	mv "$sd_new/root" "$SD_KDIR" || sd_die "cannot move the kernel into the cache"
	rm -rf "$sd_new"
	for sd_old in "$SD_CACHE"/linux-image-*; do
		[ "$sd_old" = "$SD_KDIR" ] || rm -rf "$sd_old"
	done
}

# sd_root: leave in SD_ROOT_CPIO the guest's root file system as an
# initramfs archive: debootstrap minbase with SD_PACKAGES and dnsmark's
# libraries, the kernel's modules, systemd set up to boot from it. Built
# once per package list, suite and kernel, and kept in the cache.
sd_root() {
	sd_mirror
	sd_libs=$(sd_runtime_packages)
	[ -n "$sd_libs" ] || sd_die "cannot tell which packages dnsmark's libraries are in"
	sd_include=$(printf '%s ' $SD_PACKAGES $sd_libs | sed 's/ $//' | tr ' ' ',')
	sd_key=$(printf '%s %s %s %s\n' "$SD_SUITE" "$sd_include" "${SD_KDIR##*/}" \
	    "$SD_ROOT_LAYOUT" | cksum | cut -d' ' -f1)
	SD_ROOT_CPIO=$SD_CACHE/root-$SD_SUITE-$sd_key.cpio
	if [ -r "$SD_ROOT_CPIO" ] && [ -z "${DNSMARK_SYSTEMD_REFRESH:-}" ]; then
		return 0
	fi
	sd_say "building the guest's root ($SD_SUITE from $SD_MIRROR; once, kept in $SD_CACHE)"
	sd_rootdir=$(mktemp -d "$SD_CACHE/root.XXXXXX") || sd_die "mktemp failed"
	if ! debootstrap --variant=minbase --include="$sd_include" \
	    "$SD_SUITE" "$sd_rootdir" "$SD_MIRROR" >"$SD_TMP/debootstrap.log" 2>&1; then
		sd_show debootstrap "$SD_TMP/debootstrap.log"
		rm -rf "$sd_rootdir"
		sd_skip "debootstrap of $SD_SUITE from $SD_MIRROR failed (no archive?)"
	fi
	sd_moddir=$(ls -d "$SD_KDIR"/lib/modules/* | head -n 1)
	sd_kver=${sd_moddir##*/}
	for sd_m in $SD_MODULE_DIRS; do
		mkdir -p "$sd_rootdir/lib/modules/$sd_kver/${sd_m%/*}"
		cp -a "$sd_moddir/$sd_m" "$sd_rootdir/lib/modules/$sd_kver/${sd_m%/*}/" ||
		    sd_die "no $sd_m in ${SD_KDIR##*/}"
	done
	cp "$sd_moddir"/modules.order "$sd_moddir"/modules.builtin* \
	    "$sd_rootdir/lib/modules/$sd_kver/"
	chroot "$sd_rootdir" depmod "$sd_kver" || sd_die "depmod failed"
	sd_root_setup "$sd_rootdir"
	(cd "$sd_rootdir" && find . | cpio -o -H newc --quiet) >"$SD_ROOT_CPIO.new" ||
	    sd_die "cpio of the root failed"
	mv "$SD_ROOT_CPIO.new" "$SD_ROOT_CPIO"
	rm -rf "$sd_rootdir"
	for sd_old in "$SD_CACHE"/root-*.cpio; do
		[ "$sd_old" = "$SD_ROOT_CPIO" ] || rm -f "$sd_old"
	done
}

# sd_root_setup DIR: a root that boots straight into systemd from memory:
# no getty (the serial console is the test's output), no timers, the
# resolvers installed but not started (guest.sh configures them first), and
# nothing apt or man pages would only take space for.
sd_root_setup() {
	printf 'dnsmark-guest\n' >"$1/etc/hostname"
	: >"$1/etc/fstab"
	: >"$1/etc/machine-id"
	for sd_unit in getty@.service serial-getty@.service getty-static.service \
	    apt-daily.timer \
	    apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service \
	    fstrim.timer dpkg-db-backup.timer systemd-timesyncd.service; do
		ln -sf /dev/null "$1/etc/systemd/system/$sd_unit"
	done
	rm -f "$1"/etc/systemd/system/multi-user.target.wants/unbound.service \
	    "$1"/etc/systemd/system/multi-user.target.wants/dnsmasq.service \
	    "$1"/etc/systemd/system/multi-user.target.wants/unbound-resolvconf.service
	rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/* \
	    "$1"/usr/share/doc "$1"/usr/share/man "$1"/usr/share/locale \
	    "$1"/usr/share/info
}

# sd_install_dnsmark DIR: put dnsmark into the per-run archive's tree DIR as
# an operator installs it. With DNSMARK_DEB the package goes to /opt/lane
# and the guest installs it with apt-get; otherwise the build tree's
# make install, with the defaults file where a package puts it. The one
# place that chooses.
sd_install_dnsmark() {
	if [ -n "${DNSMARK_DEB:-}" ]; then
		cp "$DNSMARK_DEB" "$1/opt/lane/" || sd_die "cannot copy $DNSMARK_DEB"
		SD_INSTALLED="package ${DNSMARK_DEB##*/}"
		return 0
	fi
	sd_build=${DNSMARK%/src/dnsmark}
	if ! make -C "$sd_build" install DESTDIR="$1" >"$SD_TMP/install.log" 2>&1; then
		sd_show "make install" "$SD_TMP/install.log"
		sd_die "make install DESTDIR= failed"
	fi
	[ -e "$1/lib/systemd/system/dnsmark.service" ] ||
	    [ -e "$1/usr/lib/systemd/system/dnsmark.service" ] ||
	    sd_die "make install put no dnsmark.service in /lib/systemd/system (configure found no systemd.pc: configure --with-systemdsystemunitdir=/lib/systemd/system)"
	sd_src=$(sed -n 's/^abs_top_srcdir = //p' "$sd_build/Makefile")
	mkdir -p "$1/etc/default" &&
	    cp "$sd_src/doc/dnsmark.default" "$1/etc/default/dnsmark" ||
	    sd_die "cannot install doc/dnsmark.default"
	SD_INSTALLED="make install from $sd_build"
}

# sd_run_archive: the per-run archive: dnsmark, guest.sh, and the unit that
# runs it once the guest is up and powers the guest off however it ends.
sd_run_archive() {
	sd_tree=$SD_TMP/run
	mkdir -p "$sd_tree/opt/lane" \
	    "$sd_tree/etc/systemd/system/multi-user.target.wants" \
	    "$sd_tree/usr/bin" "$sd_tree/usr/sbin" "$sd_tree/usr/lib" ||
	    sd_die "cannot make $sd_tree"
	# The root's merged /usr: a directory /lib in this archive would
	# replace the root's symbolic link as the kernel unpacks it.
	for sd_d in bin sbin lib; do
		ln -s "usr/$sd_d" "$sd_tree/$sd_d" || sd_die "cannot link /$sd_d"
	done
	sd_install_dnsmark "$sd_tree"
	cp "$SD_DIR/guest.sh" "$sd_tree/opt/lane/guest.sh" || sd_die "cannot copy guest.sh"
	{
		printf 'CI=%s\n' "${CI:-}"
		printf 'LANE_INSTALLED="%s"\n' "$SD_INSTALLED"
	} >"$sd_tree/opt/lane/env"
	cat >"$sd_tree/etc/systemd/system/dnsmark-lane.service" <<-EOF
	[Unit]
	Description=dnsmark systemd lane (test/systemd/guest.sh)
	After=multi-user.target
	SuccessAction=poweroff-force
	FailureAction=poweroff-force

	[Service]
	Type=exec
	EnvironmentFile=/opt/lane/env
	ExecStart=/bin/sh /opt/lane/guest.sh
	StandardOutput=tty
	StandardError=tty
	TTYPath=/dev/ttyS0
	TimeoutStartSec=infinity
	RuntimeMaxSec=$((SD_TIMEOUT * 9 / 10))

	[Install]
	WantedBy=multi-user.target
	EOF
	ln -s ../dnsmark-lane.service \
	    "$sd_tree/etc/systemd/system/multi-user.target.wants/dnsmark-lane.service"
	(cd "$sd_tree" && find . | cpio -o -H newc -R 0:0 --quiet) >"$SD_TMP/run.cpio" ||
	    sd_die "cpio of the run's files failed"
}

# sd_boot: the root archive with the run's appended (the kernel unpacks
# both, the second over the first), systemd as the first process, the
# serial console into $SD_TMP/console.log. No network device.
sd_boot() {
	SD_CONSOLE=$SD_TMP/console.log
	cat "$SD_ROOT_CPIO" "$SD_TMP/run.cpio" >"$SD_TMP/initrd.cpio" ||
	    sd_die "cannot join the archives"
	sd_kernel_file=$(ls "$SD_KDIR"/boot/vmlinuz-* | head -n 1)
	timeout -k 10 "$SD_TIMEOUT" qemu-system-x86_64 \
	    -accel tcg -cpu max -smp 2 -m 2048 \
	    -nodefaults -no-user-config -display none -monitor none \
	    -serial stdio -nic none -no-reboot \
	    -kernel "$sd_kernel_file" -initrd "$SD_TMP/initrd.cpio" \
	    -append "console=ttyS0 panic=-1 loglevel=4 rdinit=/lib/systemd/systemd systemd.show_status=0" \
	    </dev/null >"$SD_CONSOLE" 2>&1 &
	SD_PID=$!
	wait "$SD_PID"
	SD_STATUS=$?
	SD_PID=
}

sd_check_host
mkdir -p "$SD_CACHE" || sd_die "cannot create $SD_CACHE"
SD_TMP=$(mktemp -d "${TMPDIR:-/tmp}/dnsmark-systemd.XXXXXX") || sd_die "mktemp failed"
trap sd_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
sd_t0=$(date +%s)
sd_kernel
sd_root
sd_run_archive
sd_t1=$(date +%s)
sd_say "kernel ${SD_KDIR##*/}, root $(($(wc -c <"$SD_ROOT_CPIO") / 1048576)) MB, dnsmark by $SD_INSTALLED, ready in $((sd_t1 - sd_t0)) s"
sd_boot
sd_t2=$(date +%s)

tr -d '\r' <"$SD_CONSOLE" >"$SD_CONSOLE.txt"
grep -Ev '^\[ *[0-9]+\.[0-9]+\] ' "$SD_CONSOLE.txt"
sd_result=$(sed -n 's/^lane: *[0-9]* s result: \([a-z]*\).*/\1/p' "$SD_CONSOLE.txt" | tail -n 1)
sd_say "guest ran $((sd_t2 - sd_t1)) s (qemu status $SD_STATUS), whole lane $((sd_t2 - sd_t0)) s"
case $sd_result in
pass) exit 0 ;;
skip) sd_skip "the guest skipped (see above)" ;;
*)
	[ "$SD_STATUS" -ne 124 ] || sd_warn "qemu was stopped after $SD_TIMEOUT s"
	sd_say "---- kernel messages (last 30) ----"
	grep -E '^\[ *[0-9]+\.[0-9]+\] ' "$SD_CONSOLE.txt" | tail -n 30 | sed 's/^/    /'
	sd_die "the guest did not pass (result: ${sd_result:-none})"
	;;
esac
