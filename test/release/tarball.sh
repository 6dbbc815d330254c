#!/bin/sh
# test/release/tarball.sh: the release tarball works on its own. It makes
# the tarball (make dist) from this build tree, unpacks it in a clean
# temporary directory, checks that it holds every file git tracks (where
# this tree is a git checkout) and the files the README's commands name,
# then runs there, with a fresh machine's environment, the README's first
# command without its `sh tools/install-deps.sh &&` (the dependencies are
# installed already): build and demo, then the unit tests (make check
# ROOT_TESTS=; the scenarios run in the main make check).
#
# Exit 0 pass, 1 fail, 77 skip (not root, a tool missing; 1 under CI=true).
# Run by make check, or alone: make check TESTS=test/release/tarball.sh

RELEASE_DIR=$(cd "$(dirname "$0")" && pwd)
. "$RELEASE_DIR/lib.sh"

[ "$(id -u)" = 0 ] || release_skip "not root: the demo needs network namespaces"
release_need_tools make tar xz flock autoreconf gcc pkg-config
release_setup
release_tarball "$RELEASE_TMP"
src=$RELEASE_SRC

# Files the README's commands and the issues named, whatever git says.
for path in tools/install-deps.sh doc/accuracy.md doc/performance.md \
    doc/security.md test/missing-criterion.sh doc/dnsmark.default \
    debian/control debian/rules; do
	[ -f "$src/$path" ]
	release_check $? "holds $path"
done

# Every file git tracks, but .gitignore (of no use without git).
srcdir=$(sed -n 's/^abs_top_srcdir = //p' "$RELEASE_BUILDDIR/Makefile")
if tracked=$(git -C "$srcdir" ls-files 2>/dev/null) && [ -n "$tracked" ]; then
	missing=$(printf '%s\n' "$tracked" | grep -v -x -e .gitignore |
	    while IFS= read -r path; do
		[ -e "$src/$path" ] || printf ' %s' "$path"
	    done)
	[ -z "$missing" ]
	release_check $? "holds every file git tracks${missing:+ (missing:$missing)}"
else
	release_say "skip git's file list: $srcdir is not a git checkout"
fi

# The README's first command, as the README says it today.
readme_command=$(sed -n 's/^ *sh tools\/install-deps\.sh && //p' "$src/README" | head -n 1)
case "$readme_command" in
*'make demo'*) true ;;
*) false ;;
esac
release_check $? "README's first command builds and runs the demo: $readme_command"
t0=$(date +%s)
(cd "$src" && release_clean_env MAKEFLAGS=-j2 sh -c "$readme_command") \
    >"$RELEASE_TMP/readme.log" 2>&1
status=$?
[ "$status" -eq 0 ] || tail -n 60 "$RELEASE_TMP/readme.log"
tail -n 15 "$RELEASE_TMP/readme.log" | sed 's/^/  readme: /'
release_check $status "README's first command in the unpacked tarball ($(($(date +%s) - t0)) s)"

# The unit tests, from the tarball.
t0=$(date +%s)
(cd "$src" && release_clean_env make -j2 check ROOT_TESTS=) \
    >"$RELEASE_TMP/check.log" 2>&1
status=$?
[ "$status" -eq 0 ] || tail -n 60 "$RELEASE_TMP/check.log"
passed=$(cat "$src"/test/unit/*.trs 2>/dev/null | grep -c '^:test-result: PASS')
others=$(cat "$src"/test/unit/*.trs "$src"/test/*.trs 2>/dev/null |
    grep '^:test-result: ' | grep -c -v ': PASS$')
[ "$status" -eq 0 ] && [ "$passed" -gt 0 ] && [ "$others" -eq 0 ]
release_check $? "make check ROOT_TESTS= in the unpacked tarball: $passed unit test programs passed, $others other results ($(($(date +%s) - t0)) s)"

release_finish
