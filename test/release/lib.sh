# test/release/lib.sh: what the release tests share (sourced, never run):
# the release tarball made from this build tree, a clean temporary
# directory, the Debian package built from that tarball, and counted
# checks. It never installs anything on the host and never changes the
# build tree except for `make dist`'s own files and, from release_deb_keep,
# the package at $DNSMARK_DEB.
#
# Environment (make check and make deb set them): RELEASE_BUILDDIR (the
# configured build tree), RELEASE_ARCHIVE (the name of its tarball, as
# make dist writes it), DNSMARK_DEB (where the built package is left);
# CI=true turns a skip into a failure; RELEASE_KEEP=1 keeps the temporary
# directory; DEB_BUILD_OPTIONS is passed on (nocheck: no unit tests in the
# package build).

PATH=$PATH:/usr/sbin:/sbin
export PATH

RELEASE_TMP=
RELEASE_PASSED=0
RELEASE_FAILED=0
RELEASE_T0=$(date +%s)

release_say() {
	printf '%s\n' "$*"
}

release_warn() {
	printf '%s: %s\n' "${0##*/}" "$*" >&2
}

# release_skip REASON: exit 77 (skip), or 1 when CI=true (a CI lane must
# not skip silently).
release_skip() {
	if [ "${CI:-}" = true ]; then
		release_warn "FAIL (CI=true, would skip): $*"
		exit 1
	fi
	release_warn "SKIP: $*"
	exit 77
}

release_die() {
	release_warn "ERROR: $*"
	exit 1
}

# release_check STATUS NAME: count and print one check. The status comes
# first: it is expanded before any command substitution in NAME, which
# would set $? again.
release_check() {
	if [ "$1" -eq 0 ]; then
		RELEASE_PASSED=$((RELEASE_PASSED + 1))
		release_say "ok   $2"
	else
		RELEASE_FAILED=$((RELEASE_FAILED + 1))
		release_say "FAIL $2"
	fi
}

# release_need_tools TOOL...: skip (fail under CI) naming every missing one.
release_need_tools() {
	release_missing=
	for release_tool in "$@"; do
		command -v "$release_tool" >/dev/null 2>&1 ||
		    release_missing="$release_missing $release_tool"
	done
	[ -z "$release_missing" ] ||
	    release_skip "missing:$release_missing (sh tools/install-deps.sh installs them)"
}

release_cleanup() {
	if [ -n "$RELEASE_TMP" ] && [ -d "$RELEASE_TMP" ]; then
		if [ "${RELEASE_KEEP:-}" = 1 ]; then
			release_warn "kept $RELEASE_TMP"
		else
			rm -rf "$RELEASE_TMP"
		fi
	fi
}

# release_setup: the temporary directory, removed on exit.
release_setup() {
	[ -n "${RELEASE_BUILDDIR:-}" ] && [ -f "$RELEASE_BUILDDIR/Makefile" ] &&
	    [ -n "${RELEASE_ARCHIVE:-}" ] ||
	    release_die "RELEASE_BUILDDIR must name a configured build tree, RELEASE_ARCHIVE its tarball (make check sets them)"
	RELEASE_TMP=$(mktemp -d "${TMPDIR:-/tmp}/dnsmark-release.XXXXXX") ||
	    release_die "mktemp failed"
	trap release_cleanup EXIT
	trap 'exit 1' INT TERM HUP
}

# release_clean_env COMMAND...: COMMAND with only a fresh machine's
# environment: nothing from the make check that runs this test (MAKEFLAGS
# would pass its TESTS on, DNSMARK and E2E_DIR would point the scenarios of
# the copy back at this tree).
release_clean_env() {
	env -i PATH="$PATH" HOME="${HOME:-/root}" TMPDIR="${TMPDIR:-/tmp}" \
	    LANG=C.UTF-8 CI="${CI:-}" \
	    ${DEB_BUILD_OPTIONS:+DEB_BUILD_OPTIONS="$DEB_BUILD_OPTIONS"} "$@"
}

# release_tarball DIR: make dist in the build tree and unpack the tarball
# into DIR; sets RELEASE_SRC (the unpacked tree) and RELEASE_VERSION. Two
# release tests run at once under make -j: make dist writes one directory
# and one tarball in the build tree, so it runs under a lock.
release_tarball() {
	release_lock=$RELEASE_BUILDDIR/.release-dist.lock
	release_archive=$RELEASE_ARCHIVE
	(
		exec 9>"$release_lock" && flock 9 &&
		    release_clean_env make -s -C "$RELEASE_BUILDDIR" dist >&2 &&
		    cp "$RELEASE_BUILDDIR/$release_archive" "$1/"
	) || release_die "make dist failed"
	tar -C "$1" -xJf "$1/$release_archive" ||
	    release_die "cannot unpack $release_archive"
	RELEASE_SRC=$1/${release_archive%.tar.xz}
	RELEASE_VERSION=${RELEASE_SRC##*/dnsmark-}
	[ -d "$RELEASE_SRC" ] || release_die "$release_archive: no ${RELEASE_SRC##*/}/"
	release_say "tarball: $release_archive ($(du -k "$1/$release_archive" | cut -f1) KiB, $(tar -tJf "$1/$release_archive" | wc -l) entries)"
}

# release_build_deb: dpkg-buildpackage -us -uc (source and binary) in the
# unpacked tarball RELEASE_SRC, as a fresh machine would; its log is
# $RELEASE_TMP/dpkg-buildpackage.log. Sets RELEASE_CHANGES and RELEASE_DEB.
release_build_deb() {
	release_arch=$(dpkg --print-architecture)
	release_jobs=$(nproc 2>/dev/null || echo 1)
	release_say "dpkg-buildpackage -us -uc in ${RELEASE_SRC#$RELEASE_TMP/} (DEB_BUILD_OPTIONS=parallel=$release_jobs ${DEB_BUILD_OPTIONS:-})"
	if ! (cd "$RELEASE_SRC" &&
	    DEB_BUILD_OPTIONS="parallel=$release_jobs ${DEB_BUILD_OPTIONS:-}" \
	    release_clean_env dpkg-buildpackage -us -uc \
	    >"$RELEASE_TMP/dpkg-buildpackage.log" 2>&1); then
		tail -n 60 "$RELEASE_TMP/dpkg-buildpackage.log"
		release_die "dpkg-buildpackage failed"
	fi
	RELEASE_CHANGES=$RELEASE_TMP/dnsmark_${RELEASE_VERSION}_$release_arch.changes
	RELEASE_DEB=$RELEASE_TMP/dnsmark_${RELEASE_VERSION}_$release_arch.deb
	[ -f "$RELEASE_DEB" ] && [ -f "$RELEASE_CHANGES" ] ||
	    release_die "dpkg-buildpackage made no ${RELEASE_DEB##*/} or ${RELEASE_CHANGES##*/}"
}

# release_deb_keep: leave the package at DNSMARK_DEB for whoever installs it
# next (the systemd lane), replacing it in one rename.
release_deb_keep() {
	[ -n "${DNSMARK_DEB:-}" ] || return 0
	cp "$RELEASE_DEB" "$DNSMARK_DEB.tmp" && mv "$DNSMARK_DEB.tmp" "$DNSMARK_DEB" ||
	    release_die "cannot write $DNSMARK_DEB"
	release_say "package: $DNSMARK_DEB"
}

# release_finish: the summary line and the exit status.
release_finish() {
	release_say "$RELEASE_PASSED checks passed, $RELEASE_FAILED failed, $(($(date +%s) - RELEASE_T0)) s"
	[ "$RELEASE_FAILED" -eq 0 ]
	exit $?
}
