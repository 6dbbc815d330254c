#!/bin/sh
# test/release/deb.sh: the Debian package, built as an operator or a
# distribution would, from the release tarball unpacked in a temporary
# directory (never from the working tree, whose build files would leak in):
# dpkg-buildpackage -us -uc, lintian on the result (any error or warning
# not overridden in debian/ fails), then what the package holds, read with
# dpkg-deb and unpacked with dpkg -x. Nothing is installed on the host. When
# every check passes the package is left at $DNSMARK_DEB (make check sets
# it; the systemd lane installs it from there).
#
# Exit 0 pass, 1 fail, 77 skip (not root, a tool missing; 1 under CI=true).
# Run by make check, or alone: make check TESTS=test/release/deb.sh

RELEASE_DIR=$(cd "$(dirname "$0")" && pwd)
. "$RELEASE_DIR/lib.sh"

[ "$(id -u)" = 0 ] || release_skip "not root: the maintainer scripts run in a mount namespace"
release_need_tools make tar xz flock unshare dpkg dpkg-deb dpkg-buildpackage \
    dpkg-checkbuilddeps dh lintian
release_setup
[ -z "${DNSMARK_DEB:-}" ] || rm -f "$DNSMARK_DEB"

release_tarball "$RELEASE_TMP"
t0=$(date +%s)

# The changelog's version is the package's: it must follow configure's.
changelog_version=$(cd "$RELEASE_SRC" && dpkg-parsechangelog -S Version)
[ "$changelog_version" = "$RELEASE_VERSION" ]
release_check $? "debian/changelog says $changelog_version, configure.ac $RELEASE_VERSION"

# Build dependencies first, so that a missing one is named as such.
if ! missing=$(cd "$RELEASE_SRC" && dpkg-checkbuilddeps 2>&1); then
	release_skip "build dependencies: $missing"
fi
release_build_deb
build_seconds=$(($(date +%s) - t0))
release_say "built ${RELEASE_DEB##*/} in $build_seconds s"
grep -E '^(# )?(PASS|FAIL|SKIP|ERROR|# TOTAL)' "$RELEASE_TMP/dpkg-buildpackage.log" |
    sed 's/^/  build: /'

# lintian over the .changes: the source package and the binary one. The
# tags debian/dnsmark.lintian-overrides overrides (each with its reason)
# are not shown: with --show-overrides, --fail-on counts them too.
t0=$(date +%s)
lintian --fail-on error,warning --display-level '>=info' \
    "$RELEASE_CHANGES" >"$RELEASE_TMP/lintian.out" 2>&1
lintian_status=$?
sed 's/^/  lintian: /' "$RELEASE_TMP/lintian.out"
release_check $lintian_status "lintian: no error or warning that debian/ does not override ($(($(date +%s) - t0)) s)"
! grep -q '^[EW]: ' "$RELEASE_TMP/lintian.out"
release_check $? "lintian: no E: or W: line"

# What the package holds.
dpkg-deb -c "$RELEASE_DEB" | awk '{ print $6 }' | sed 's|^\./|/|; s|/$||' \
    >"$RELEASE_TMP/contents"
for path in /usr/sbin/dnsmark /usr/share/man/man8/dnsmark.8.gz \
    /lib/systemd/system/dnsmark.service \
    /lib/systemd/system/dnsmark-bpf@.service /etc/default/dnsmark \
    /usr/share/doc/dnsmark/README.Debian /usr/share/doc/dnsmark/copyright; do
	grep -q -x -F "$path" "$RELEASE_TMP/contents"
	release_check $? "holds $path"
done
for rules in "$RELEASE_SRC"/rules/*; do
	grep -q -x -F "/usr/share/dnsmark/rules/${rules##*/}" "$RELEASE_TMP/contents"
	release_check $? "holds /usr/share/dnsmark/rules/${rules##*/}"
done

dpkg-deb -f "$RELEASE_DEB" Depends >"$RELEASE_TMP/depends"
grep -q libldns "$RELEASE_TMP/depends" && grep -q libbpf "$RELEASE_TMP/depends" &&
    grep -q libnetfilter-queue "$RELEASE_TMP/depends"
release_check $? "Depends from the shared libraries: $(cat "$RELEASE_TMP/depends")"
[ "$(dpkg-deb -f "$RELEASE_DEB" Recommends)" = "iptables | nftables" ]
release_check $? "Recommends: iptables | nftables"

dpkg-deb -e "$RELEASE_DEB" "$RELEASE_TMP/control"
grep -q -x -F /etc/default/dnsmark "$RELEASE_TMP/control/conffiles"
release_check $? "/etc/default/dnsmark is a conffile"
# The maintainer scripts, run as dpkg would on a machine booted with
# systemd, but against recorders of every call to systemctl and
# deb-systemd-*, in a mount namespace of their own whose /run says
# "systemd runs": nothing reaches the host's init. A first installation
# enables nothing and starts nothing (the operator's rules come first); an
# upgrade may restart what runs (try-restart), never start or enable what
# the operator left off; a removal stops the units.
maint=$RELEASE_TMP/maint
mkdir -p "$maint/bin"
for tool in systemctl deb-systemd-helper deb-systemd-invoke; do
	cat >"$maint/bin/$tool" <<RECORDER
#!/bin/sh
echo "$tool \$*" | tr -d "'" >>"$maint/calls"
# MAINT_INSTALLED=no: a first installation (never installed, so never
# disabled either: was-enabled answers yes, as the real helper does).
case "\$1" in
debian-installed) [ "\$MAINT_INSTALLED" = yes ] ;;
--quiet) [ "\$MAINT_INSTALLED" = no ] ;;
*) exit 0 ;;
esac
RECORDER
	chmod 755 "$maint/bin/$tool"
done
# maint_run INSTALLED SCRIPT ARG...: the calls SCRIPT makes, in $maint/calls.
maint_run() {
	: >"$maint/calls"
	MAINT_INSTALLED=$1 unshare -m sh -c '
	    mount -t tmpfs dnsmark-maint /run && mkdir -p /run/systemd/system &&
	    PATH=$0/bin:$PATH exec sh "$@"' "$maint" \
	    "$RELEASE_TMP/control/$2" "$3" "$4" >"$maint/out" 2>&1 ||
	    echo "exit status $?: $(cat "$maint/out")" >>"$maint/calls"
}
maint_calls() {
	tr '\n' ';' <"$maint/calls"
}
maint_run no postinst configure ""
! grep -q -E '^(deb-systemd-helper (enable|reenable)|deb-systemd-invoke|systemctl (start|enable|restart|reenable))|exit status' "$maint/calls" &&
    grep -q '^deb-systemd-helper update-state dnsmark.service' "$maint/calls"
release_check $? "first installation: nothing enabled, nothing started ($(maint_calls))"
maint_run yes postinst configure 0.0.9
! grep -q -E '^(deb-systemd-helper (enable|reenable)|deb-systemd-invoke (start|restart) |systemctl (start|enable|restart|reenable))|exit status' "$maint/calls" &&
    grep -q '^deb-systemd-invoke try-restart dnsmark.service' "$maint/calls"
release_check $? "upgrade of a disabled dnsmark: try-restart at most ($(maint_calls))"
maint_run yes prerm remove ""
grep -q '^deb-systemd-invoke stop dnsmark.service' "$maint/calls" &&
    ! grep -q 'exit status' "$maint/calls"
release_check $? "removal stops dnsmark.service ($(maint_calls))"

# The files themselves.
root=$RELEASE_TMP/root
dpkg -x "$RELEASE_DEB" "$root"
version_line=$("$root/usr/sbin/dnsmark" --version 2>&1 | head -n 1)
[ "$version_line" = "dnsmark $RELEASE_VERSION" ]
release_check $? "/usr/sbin/dnsmark --version: $version_line"
"$root/usr/sbin/dnsmark" --help 2>&1 | grep -q -e '--bpf-cgroup'
release_check $? "/usr/sbin/dnsmark is built with bpf mode (--bpf-cgroup in --help)"
for unit in dnsmark.service dnsmark-bpf@.service; do
	file=$root/lib/systemd/system/$unit
	grep -q '^ExecStart=/usr/sbin/dnsmark ' "$file" && ! grep -q '@[a-z]*@' "$file"
	release_check $? "$unit runs /usr/sbin/dnsmark (no @variable@ left)"
	grep -q -x 'EnvironmentFile=-/etc/default/dnsmark' "$file"
	release_check $? "$unit reads EnvironmentFile=-/etc/default/dnsmark"
	# Every variable the unit's command line uses is set, empty or not, in
	# the defaults file.
	unset_vars=
	for var in $(sed -n 's/^ExecStart=//p' "$file" | grep -o '\$[{]*[A-Z_][A-Z0-9_]*' | tr -d '${'); do
		grep -q "^$var=" "$root/etc/default/dnsmark" || unset_vars="$unset_vars $var"
	done
	[ -z "$unset_vars" ]
	release_check $? "$unit: every \$VARIABLE of ExecStart is in /etc/default/dnsmark${unset_vars:+ (missing:$unset_vars)}"
done
(. "$root/etc/default/dnsmark")
release_check $? "/etc/default/dnsmark parses as sh"

[ "$RELEASE_FAILED" -eq 0 ] && release_deb_keep
release_finish
