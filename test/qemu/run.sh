#!/bin/sh
# test/qemu/run.sh: the stock-kernel lane. Boots Debian's stock cloud kernel
# under qemu (TCG, no network device) from an initramfs that carries the
# host's own programs, and runs test/qemu/guest.sh there: dnsmark with the
# shipped rules/dnsmark.nft and the nftables queue statement, and the
# NFQA_CT conntrack data the development kernel lacks; then bpf mode with
# rules/bpf.nft and its BPF program on the distribution kernel. The cloud kernel has
# no 9p (CONFIG_NET_9P is off), so the host's programs and their libraries
# travel in the initramfs instead of a shared root. It never touches the
# host's network, writes only its cache and a temporary directory, and ends
# only the processes it started.
#
# Exit 0 pass, 1 fail, 77 skip (not root, tools missing; 1 under CI=true).
# Environment: DNSMARK (the daemon), RULES_DIR (the shipped rules), E2E_DIR
# (test/e2e, whose lib.sh the guest sources); DNSMARK_QEMU_CACHE (where the
# kernel is kept, default ${XDG_CACHE_HOME:-/var/cache}/dnsmark-qemu);
# DNSMARK_QEMU_REFRESH=1 looks for a newer kernel package even when one is
# cached; DNSMARK_QEMU_KERNEL (a linux-image-*-cloud-amd64 package name,
# default: what linux-image-cloud-amd64 depends on); DNSMARK_QEMU_TIMEOUT
# (seconds for the whole guest, default 600); DNSMARK_QEMU_ACCEL (qemu's
# accelerator, default tcg); DNSMARK_QEMU_KEEP=1 keeps the temporary
# directory (initramfs, console log; the console log is kept on failure
# anyway); E2E_VERBOSE=1 shows every guest log, not only on failure.

PATH=$PATH:/usr/sbin:/sbin
export PATH
LC_ALL=C
export LC_ALL

QEMU_DIR=$(cd "$(dirname "$0")" && pwd)
qemu_top=$(cd "$QEMU_DIR/../.." && pwd)
DNSMARK=${DNSMARK:-$qemu_top/src/dnsmark}
RULES_DIR=${RULES_DIR:-$qemu_top/rules}
E2E_DIR=${E2E_DIR:-$qemu_top/test/e2e}
QEMU_CACHE=${DNSMARK_QEMU_CACHE:-${XDG_CACHE_HOME:-/var/cache}/dnsmark-qemu}
QEMU_TIMEOUT=${DNSMARK_QEMU_TIMEOUT:-600}
QEMU_ACCEL=${DNSMARK_QEMU_ACCEL:-tcg}

# What the guest runs, copied from the host with the libraries they load:
# the bed's tools (lib.sh's e2e_init checks for all of them), nft, and
# nsenter (bpf mode's dnsmark runs in the mount namespace with cgroup2).
QEMU_TOOLS="ip nft iptables-restore ip6tables-restore unbound dnsmasq nsd dig tcpdump conntrack nsenter"
# Kernel modules the guest loads (their dependencies are added): veth pairs,
# nf_tables with the queue, ct, log and named-counter expressions, the
# queue and log back-ends, conntrack and ctnetlink (which attaches NFQA_CT
# to queued packets).
QEMU_MODULES="veth nfnetlink nf_tables nft_queue nft_ct nft_log nft_objref nfnetlink_queue nfnetlink_log nf_conntrack nf_conntrack_netlink"
# The shell and utilities the scripts run: the host's, as on the host (the
# static busybox runs its own applets before anything in PATH, so it only
# serves /init).
QEMU_UTILS="sh awk sed grep sort tr wc head tail cat cut mktemp date sleep rm mkdir dirname id uname tee"
# Files the host's programs read: users (tcpdump drops to its own user),
# protocol and service names.
QEMU_ETC="passwd group protocols services"

QEMU_TMP=
QEMU_PID=

qemu_say() {
	printf '%s\n' "$*"
}

qemu_warn() {
	printf '%s: %s\n' "${0##*/}" "$*" >&2
}

# qemu_skip REASON: exit 77, or 1 when CI=true (a CI lane must not skip).
qemu_skip() {
	if [ "${CI:-}" = true ]; then
		qemu_warn "FAIL (CI=true, would skip): $*"
		exit 1
	fi
	qemu_warn "SKIP: $*"
	exit 77
}

qemu_die() {
	qemu_warn "ERROR: $*"
	exit 1
}

qemu_cleanup() {
	qemu_exit=$?
	trap - EXIT INT TERM
	if [ -n "$QEMU_PID" ]; then
		kill -TERM "$QEMU_PID" 2>/dev/null
		wait "$QEMU_PID" 2>/dev/null
	fi
	if [ -n "$QEMU_TMP" ]; then
		if [ -n "${DNSMARK_QEMU_KEEP:-}" ]; then
			qemu_warn "kept $QEMU_TMP"
		elif [ "$qemu_exit" -eq 1 ]; then
			rm -f "$QEMU_TMP/initrd.cpio"
			qemu_warn "kept $QEMU_TMP (console.log)"
		else
			rm -rf "$QEMU_TMP"
		fi
	fi
	exit "$qemu_exit"
}

# qemu_show TITLE FILE [LINES]: print the end of a log, indented.
qemu_show() {
	qemu_say "---- $1 (${2##*/}) ----"
	tail -n "${3:-60}" "$2" 2>/dev/null | sed 's/^/    /'
}

qemu_check_host() {
	[ "$(id -u)" -eq 0 ] || qemu_skip "needs root (the kernel cache, apt-get)"
	qemu_missing=
	for qemu_tool in qemu-system-x86_64 busybox cpio apt-get apt-cache dpkg \
	    ldd timeout tsort $QEMU_UTILS $QEMU_TOOLS; do
		command -v "$qemu_tool" >/dev/null 2>&1 ||
		    qemu_missing="$qemu_missing $qemu_tool"
	done
	[ -z "$qemu_missing" ] || qemu_skip "missing tools:$qemu_missing"
	# The guest's /init and shell: a busybox without libraries, whatever
	# the guest's libraries are.
	if ldd "$(command -v busybox)" >/dev/null 2>&1; then
		qemu_skip "busybox is not static (install busybox-static)"
	fi
	[ -x "$DNSMARK" ] ||
	    qemu_skip "no dnsmark binary at $DNSMARK (build it, or set DNSMARK)"
	[ -r "$RULES_DIR/dnsmark.nft" ] || qemu_die "no $RULES_DIR/dnsmark.nft (set RULES_DIR)"
	[ -r "$E2E_DIR/lib.sh" ] || qemu_die "no $E2E_DIR/lib.sh (set E2E_DIR)"
	[ -r "$QEMU_DIR/guest.sh" ] && [ -r "$QEMU_DIR/init.sh" ] ||
	    qemu_die "no guest.sh or init.sh in $QEMU_DIR"
}

# qemu_kernel: leave in QEMU_KDIR an unpacked stock cloud kernel package
# (boot/vmlinuz-*, lib/modules/*). A cached one is used as is unless
# DNSMARK_QEMU_REFRESH is set; otherwise (or when none is cached) apt finds
# the current package, and a cached kernel still serves when apt fails.
qemu_kernel() {
	QEMU_KDIR=
	if [ -r "$QEMU_CACHE/current" ]; then
		qemu_cached=$QEMU_CACHE/$(cat "$QEMU_CACHE/current")
		[ -r "$qemu_cached/unpacked" ] || qemu_cached=
		# A kernel asked for by name must be that one.
		case ${qemu_cached##*/} in
		"${DNSMARK_QEMU_KERNEL:-${qemu_cached##*/}}"*) ;;
		*) qemu_cached= ;;
		esac
	else
		qemu_cached=
	fi
	if [ -n "$qemu_cached" ] && [ -z "${DNSMARK_QEMU_REFRESH:-}" ]; then
		QEMU_KDIR=$qemu_cached
		return 0
	fi
	mkdir -p "$QEMU_CACHE" || qemu_die "cannot create $QEMU_CACHE"
	qemu_apt_log=$QEMU_TMP/apt.log
	qemu_pkg=${DNSMARK_QEMU_KERNEL:-}
	# A failed update still leaves the lists of the last one.
	apt-get update -q >"$qemu_apt_log" 2>&1 ||
	    qemu_warn "apt-get update failed (see $qemu_apt_log)"
	if [ -z "$qemu_pkg" ]; then
		qemu_pkg=$(apt-cache depends linux-image-cloud-amd64 2>>"$qemu_apt_log" |
		    awk '$1 == "Depends:" && $2 ~ /^linux-image-.*-cloud-amd64$/ { print $2; exit }')
	fi
	qemu_version=
	[ -z "$qemu_pkg" ] || qemu_version=$(apt-cache show --no-all-versions \
	    "$qemu_pkg" 2>>"$qemu_apt_log" | awk '$1 == "Version:" { print $2; exit }')
	if [ -z "$qemu_version" ]; then
		if [ -n "$qemu_cached" ]; then
			qemu_warn "apt found no cloud kernel package; using the cached ${qemu_cached##*/}"
			QEMU_KDIR=$qemu_cached
			return 0
		fi
		qemu_show "apt" "$qemu_apt_log"
		qemu_skip "no linux-image-*-cloud-amd64 package from apt"
	fi
	qemu_name=$(printf '%s_%s' "$qemu_pkg" "$qemu_version" | tr ':~' '__')
	QEMU_KDIR=$QEMU_CACHE/$qemu_name
	if [ ! -r "$QEMU_KDIR/unpacked" ]; then
		qemu_say "fetching $qemu_pkg $qemu_version into $QEMU_CACHE"
		qemu_new=$(mktemp -d "$QEMU_CACHE/new.XXXXXX") || qemu_die "mktemp failed"
		if ! (cd "$qemu_new" && apt-get download "$qemu_pkg=$qemu_version") \
		    >>"$qemu_apt_log" 2>&1 ||
		    ! dpkg -x "$qemu_new"/*.deb "$qemu_new/root" >>"$qemu_apt_log" 2>&1; then
			rm -rf "$qemu_new"
			qemu_show "apt" "$qemu_apt_log"
			qemu_die "cannot fetch or unpack $qemu_pkg"
		fi
		: >"$qemu_new/root/unpacked"
		# Another run may have unpacked the same package meanwhile.
		if [ ! -r "$QEMU_KDIR/unpacked" ]; then
			rm -rf "$QEMU_KDIR"
			mv "$qemu_new/root" "$QEMU_KDIR" ||
			    qemu_die "cannot move the kernel into $QEMU_KDIR"
		fi
		rm -rf "$qemu_new"
	fi
	printf '%s\n' "$qemu_name" >"$QEMU_CACHE/current"
	# Only the current kernel is kept.
	for qemu_old in "$QEMU_CACHE"/linux-image-*; do
		[ "$qemu_old" = "$QEMU_KDIR" ] || rm -rf "$qemu_old"
	done
}

# qemu_copy_program SOURCE DEST: copy a program to DEST in the initramfs,
# and every library it loads to its own path (the guest's dynamic loader
# looks for them where the host's does).
qemu_copy_program() {
	mkdir -p "$QEMU_ROOT${2%/*}" && cp -L "$1" "$QEMU_ROOT$2" ||
	    qemu_die "cannot copy $1"
	ldd "$1" 2>/dev/null |
	    awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
	    while read -r qemu_lib; do
		[ -e "$QEMU_ROOT$qemu_lib" ] && continue
		mkdir -p "$QEMU_ROOT${qemu_lib%/*}" &&
		    cp -L "$qemu_lib" "$QEMU_ROOT$qemu_lib" ||
		    qemu_die "cannot copy $qemu_lib"
	done
}

# qemu_module_file NAME: the module's file in the kernel package (names use
# "_", some files "-"), plain or compressed.
qemu_module_file() {
	qemu_dash=$(printf '%s' "$1" | tr _ -)
	find "$QEMU_MODDIR" \( -name "$1.ko" -o -name "$qemu_dash.ko" \
	    -o -name "$1.ko.xz" -o -name "$qemu_dash.ko.xz" \
	    -o -name "$1.ko.zst" -o -name "$qemu_dash.ko.zst" \) | head -n 1
}

# qemu_modules: the wanted modules and their dependencies (from each
# module's .modinfo "depends="), uncompressed, in the initramfs' /modules,
# with /modules/order listing them so that each comes after what it needs.
qemu_modules() {
	QEMU_MODDIR=$(find "$QEMU_KDIR/lib/modules" -mindepth 1 -maxdepth 1 -type d | head -n 1)
	[ -n "$QEMU_MODDIR" ] || qemu_die "no lib/modules in $QEMU_KDIR"
	mkdir -p "$QEMU_ROOT/modules"
	qemu_pairs=$QEMU_TMP/module-pairs
	: >"$qemu_pairs"
	qemu_todo=$QEMU_MODULES
	qemu_seen=" "
	while [ -n "$qemu_todo" ]; do
		# shellcheck disable=SC2086 # a list of names
		set -- $qemu_todo
		qemu_mod=$1
		shift
		qemu_todo=$*
		case $qemu_seen in
		*" $qemu_mod "*) continue ;;
		esac
		qemu_seen="$qemu_seen$qemu_mod "
		qemu_file=$(qemu_module_file "$qemu_mod")
		[ -n "$qemu_file" ] ||
		    qemu_die "module $qemu_mod not in ${QEMU_KDIR##*/} (built in? then drop it from QEMU_MODULES)"
		qemu_ko=$QEMU_ROOT/modules/$qemu_mod.ko
		case $qemu_file in
		*.xz) xz -dc "$qemu_file" >"$qemu_ko" ;;
		*.zst) zstd -qdc "$qemu_file" >"$qemu_ko" ;;
		*) cp "$qemu_file" "$qemu_ko" ;;
		esac || qemu_die "cannot unpack $qemu_file"
		printf '%s %s\n' "$qemu_mod" "$qemu_mod" >>"$qemu_pairs"
		for qemu_dep in $(tr '\0' '\n' <"$qemu_ko" |
		    sed -n 's/^depends=//p' | head -n 1 | tr ',' ' '); do
			printf '%s %s\n' "$qemu_dep" "$qemu_mod" >>"$qemu_pairs"
			qemu_todo="$qemu_todo $qemu_dep"
		done
	done
	tsort "$qemu_pairs" >"$QEMU_ROOT/modules/order" ||
	    qemu_die "module dependencies form a loop"
}

# qemu_initramfs: /init, busybox, the modules, the host's tools, dnsmark,
# the rules, the e2e bed and guest.sh, as an uncompressed cpio (unpacking
# is faster than decompressing under TCG).
qemu_initramfs() {
	QEMU_ROOT=$QEMU_TMP/root
	mkdir -p "$QEMU_ROOT/usr/bin" "$QEMU_ROOT/usr/sbin" "$QEMU_ROOT/usr/lib" \
	    "$QEMU_ROOT/usr/lib64" "$QEMU_ROOT/bb" "$QEMU_ROOT/etc" \
	    "$QEMU_ROOT/proc" "$QEMU_ROOT/sys" "$QEMU_ROOT/dev" "$QEMU_ROOT/run" \
	    "$QEMU_ROOT/tmp" "$QEMU_ROOT/var" "$QEMU_ROOT/opt/dnsmark/rules" \
	    "$QEMU_ROOT/opt/dnsmark/e2e" || qemu_die "cannot make $QEMU_ROOT"
	for qemu_d in bin sbin lib lib64; do
		ln -s "usr/$qemu_d" "$QEMU_ROOT/$qemu_d"
	done
	ln -s ../run "$QEMU_ROOT/var/run"

	cp "$(command -v busybox)" "$QEMU_ROOT/bb/busybox" || qemu_die "cannot copy busybox"
	for qemu_applet in $(busybox --list); do
		[ "$qemu_applet" = busybox ] || ln -s busybox "$QEMU_ROOT/bb/$qemu_applet"
	done
	cp "$QEMU_DIR/init.sh" "$QEMU_ROOT/init" && chmod 755 "$QEMU_ROOT/init" ||
	    qemu_die "cannot install /init"

	qemu_modules
	for qemu_tool in $QEMU_UTILS $QEMU_TOOLS; do
		qemu_path=$(command -v "$qemu_tool")
		case $qemu_path in
		*/sbin/*) qemu_copy_program "$qemu_path" "/usr/sbin/$qemu_tool" ;;
		*) qemu_copy_program "$qemu_path" "/usr/bin/$qemu_tool" ;;
		esac
	done
	for qemu_f in $QEMU_ETC; do
		[ -r "/etc/$qemu_f" ] && cp "/etc/$qemu_f" "$QEMU_ROOT/etc/$qemu_f"
	done

	qemu_copy_program "$DNSMARK" /opt/dnsmark/dnsmark
	cp "$RULES_DIR"/* "$QEMU_ROOT/opt/dnsmark/rules/" &&
	    cp "$E2E_DIR/lib.sh" "$QEMU_ROOT/opt/dnsmark/e2e/lib.sh" &&
	    cp "$QEMU_DIR/guest.sh" "$QEMU_ROOT/opt/dnsmark/guest.sh" ||
	    qemu_die "cannot copy the rules and test scripts"
	# The guest's whole run must end before qemu is killed, so that it
	# still prints its result.
	{
		printf 'QEMU_GUEST_TIMEOUT=%d\n' $((QEMU_TIMEOUT * 9 / 10))
		printf 'E2E_VERBOSE=%s\n' "${E2E_VERBOSE:-}"
		printf 'CI=%s\n' "${CI:-}"
	} >"$QEMU_ROOT/opt/dnsmark/env"

	QEMU_INITRD=$QEMU_TMP/initrd.cpio
	(cd "$QEMU_ROOT" && find . | cpio -o -H newc -R 0:0 --quiet) >"$QEMU_INITRD" ||
	    qemu_die "cpio failed"
	rm -rf "$QEMU_ROOT"
}

# qemu_boot: run the guest, its console (the serial port) into
# $QEMU_TMP/console.log. No network device: nothing leaves the guest.
qemu_boot() {
	QEMU_CONSOLE=$QEMU_TMP/console.log
	qemu_kernel_file=
	for qemu_f in "$QEMU_KDIR"/boot/vmlinuz-*; do
		[ -r "$qemu_f" ] && qemu_kernel_file=$qemu_f
	done
	[ -n "$qemu_kernel_file" ] || qemu_die "no boot/vmlinuz-* in $QEMU_KDIR"
	# panic=-1 and -no-reboot: a guest that dies ends qemu at once.
	timeout -k 10 "$QEMU_TIMEOUT" qemu-system-x86_64 \
	    -accel "$QEMU_ACCEL" -cpu max -smp 2 -m 1024 \
	    -nodefaults -no-user-config -display none -monitor none \
	    -serial stdio -nic none -no-reboot \
	    -kernel "$qemu_kernel_file" -initrd "$QEMU_INITRD" \
	    -append "console=ttyS0 panic=-1 loglevel=4" \
	    </dev/null >"$QEMU_CONSOLE" 2>&1 &
	QEMU_PID=$!
	wait "$QEMU_PID"
	QEMU_STATUS=$?
	QEMU_PID=
}

qemu_check_host
QEMU_TMP=$(mktemp -d "${TMPDIR:-/tmp}/dnsmark-qemu.XXXXXX") || qemu_die "mktemp failed"
trap qemu_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
qemu_t0=$(date +%s)

qemu_kernel
qemu_initramfs
qemu_t1=$(date +%s)
qemu_say "kernel ${QEMU_KDIR##*/}, initramfs $(($(wc -c <"$QEMU_INITRD") / 1048576)) MB, ready in $((qemu_t1 - qemu_t0)) s"
qemu_boot
qemu_t2=$(date +%s)

# What the guest printed (its checks, and its logs on failure) without the
# kernel's messages, then the result line /init prints last.
tr -d '\r' <"$QEMU_CONSOLE" >"$QEMU_CONSOLE.txt"
grep -Ev '^\[ *[0-9]+\.[0-9]+\] ' "$QEMU_CONSOLE.txt"
qemu_result=$(sed -n 's/^dnsmark-qemu: result: \([a-z]*\).*/\1/p' "$QEMU_CONSOLE.txt" | tail -n 1)
qemu_say "guest ran $((qemu_t2 - qemu_t1)) s (qemu status $QEMU_STATUS), whole lane $((qemu_t2 - qemu_t0)) s"
case $qemu_result in
pass)
	exit 0
	;;
skip)
	qemu_skip "the guest skipped (see above)"
	;;
*)
	[ "$QEMU_STATUS" -ne 124 ] || qemu_warn "qemu was stopped after $QEMU_TIMEOUT s"
	qemu_say "---- kernel messages (last 30) ----"
	grep -E '^\[ *[0-9]+\.[0-9]+\] ' "$QEMU_CONSOLE.txt" | tail -n 30 | sed 's/^/    /'
	qemu_die "the guest did not pass (result: ${qemu_result:-none})"
	;;
esac
