#!/bin/bash
# make check-mutants: applies each hand-picked mutant of test/mutants/
# mutants.list, one at a time, to a copy of the tree in a temporary
# directory, rebuilds the unit tests there and runs them.  A mutant is
# caught when a unit test fails; it survived when they all pass.  The
# working tree is never written to: a crash leaves at most a temporary
# directory behind.  Prints a table, exits 1 when a mutant survived or did
# not build, 2 when the list does not match the code (or the unmutated copy
# fails its own tests).
#
# Environment (the Makefile sets the first three):
#   SRCDIR, BUILDDIR  the source and build trees (the same for an in-tree build)
#   UNIT_TESTS        the unit test programs, relative to BUILDDIR
#   MUTANTS           the list (default $SRCDIR/test/mutants/mutants.list)
#   MUTANTS_ONLY      names of the mutants to run, blank-separated (default all)
#   MUTANTS_KEEP      non-empty: keep the temporary directory and its logs
#   TEST_TIMEOUT      seconds one unit test program may take (default 120)
set -u

: "${SRCDIR:?SRCDIR: the source tree}"
: "${BUILDDIR:=$SRCDIR}"
: "${UNIT_TESTS:?UNIT_TESTS: the unit test programs}"
: "${MUTANTS:=$SRCDIR/test/mutants/mutants.list}"
: "${MUTANTS_ONLY:=}"
: "${MUTANTS_KEEP:=}"
: "${TEST_TIMEOUT:=120}"
MAKE=${MAKE:-make}
APPLY=$SRCDIR/test/mutants/apply.awk

die() {
	echo "check-mutants: $*" >&2
	exit 2
}

[ -f "$MUTANTS" ] || die "no list $MUTANTS"

# --- the list ---------------------------------------------------------
# Blocks of "key value" lines, a blank line between blocks, # comments.
names=() files=() funcs=() afters=() froms=() tos=() whys=()

add_block() {
	[ -n "$b_name$b_file$b_from$b_to$b_why" ] || return 0
	local where="$MUTANTS: mutant ending at line $lineno"
	[ -n "$b_name" ] || die "$where: no name"
	[ -n "$b_file" ] || die "$where ($b_name): no file"
	[ -n "$b_from" ] || die "$where ($b_name): no from"
	[ -n "$b_why" ] || die "$where ($b_name): no why"
	[ "$b_has_to" = 1 ] || die "$where ($b_name): no to"
	[ "$b_from" != "$b_to" ] || die "$where ($b_name): from and to are the same"
	for n in "${names[@]}"; do
		[ "$n" != "$b_name" ] || die "$where: two mutants named $b_name"
	done
	names+=("$b_name") files+=("$b_file") funcs+=("$b_in")
	afters+=("$b_after") froms+=("$b_from") tos+=("$b_to") whys+=("$b_why")
}

new_block() {
	b_name='' b_file='' b_in='' b_after='' b_from='' b_to='' b_why='' b_has_to=0
}

new_block
lineno=0
while IFS= read -r raw || [ -n "$raw" ]; do
	lineno=$((lineno + 1))
	case $raw in
	'#'*) continue ;;
	esac
	if [[ $raw =~ ^[[:space:]]*$ ]]; then
		add_block
		new_block
		continue
	fi
	[[ $raw =~ ^([a-z]+)([[:space:]]+(.*))?$ ]] ||
		die "$MUTANTS:$lineno: not a \"key value\" line: $raw"
	key=${BASH_REMATCH[1]}
	value=${BASH_REMATCH[3]}
	value=${value%"${value##*[![:space:]]}"}
	case $key in
	mutant) add_block; new_block; b_name=$value ;;
	file) b_file=$value ;;
	in) b_in=$value ;;
	after) b_after=$value ;;
	from) b_from=$value ;;
	to) b_to=$value b_has_to=1 ;;
	why) b_why=$value ;;
	*) die "$MUTANTS:$lineno: unknown key \"$key\"" ;;
	esac
done <"$MUTANTS"
add_block
[ ${#names[@]} -gt 0 ] || die "no mutants in $MUTANTS"

selected=()
for i in "${!names[@]}"; do
	if [ -z "$MUTANTS_ONLY" ] || [[ " $MUTANTS_ONLY " == *" ${names[$i]} "* ]]; then
		selected+=("$i")
	fi
done
[ ${#selected[@]} -gt 0 ] || die "MUTANTS_ONLY names no mutant of the list"
for n in $MUTANTS_ONLY; do
	found=
	for i in "${!names[@]}"; do [ "${names[$i]}" = "$n" ] && found=1; done
	[ -n "$found" ] || die "MUTANTS_ONLY: no mutant named $n"
done

# --- the copy ---------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/dnsmark-mutants.XXXXXX") || die "mktemp failed"
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	if [ -n "$MUTANTS_KEEP" ]; then
		echo "check-mutants: logs kept in $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
tree=$work/tree
mkdir -p "$tree" "$work/logs"

# Every mutant must apply to the code as it is, before anything is built.
for i in "${!names[@]}"; do
	f=$SRCDIR/${files[$i]}
	[ -f "$f" ] || die "${names[$i]}: no file ${files[$i]}"
	awk -v func_name="${funcs[$i]}" -v after="${afters[$i]}" \
	    -v from="${froms[$i]}" -v to="${tos[$i]}" -v where="$work/line" \
	    -f "$APPLY" "$f" >/dev/null ||
		die "${names[$i]}: the list does not match ${files[$i]} (the code moved?): fix the mutant"
done

start=$(date +%s)
tar -C "$SRCDIR" --exclude=./.git -cf - . | tar -C "$tree" -xf - ||
	die "cannot copy $SRCDIR"
if [ ! -f "$tree/config.status" ]; then
	# A build outside the source tree: configure the copy the same way.
	[ -x "$BUILDDIR/config.status" ] || die "$BUILDDIR is not configured"
	eval "set -- $("$BUILDDIR/config.status" --config)"
	(cd "$tree" && ./configure "$@") >"$work/logs/configure.log" 2>&1 ||
		die "configure of the copy failed (see $work/logs/configure.log)"
fi

# The copy's warnings without -Werror (configure --enable-werror): a
# mutant may well warn (an unused parameter, an empty body) and is still
# a program whose tests must fail.
warn_cflags=$(sed -n 's/ *-Werror\b//g; s/^WARN_CFLAGS = //p' "$tree/Makefile")

# Builds the given unit test programs in the copy; the log goes to $1.
build() {
	local log=$1
	shift
	(cd "$tree" && $MAKE -j2 WARN_CFLAGS="$warn_cflags" "$@") >"$log" 2>&1
}

# Runs the given unit test programs in turn; prints the program (and its
# first failing test) that failed first, or nothing when all pass.
run_tests() {
	local log=$1 t rc what
	shift
	for t in "$@"; do
		(cd "$tree" && timeout -k 5 "$TEST_TIMEOUT" "./$t") >"$log" 2>&1
		rc=$?
		[ $rc -eq 0 ] && continue
		if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
			what="timeout"
		else
			what=$(sed -n 's/^\[FAIL\] \([^:]*::[^: ]*\).*/\1/p' "$log" |
			    head -n 1)
		fi
		echo "${t##*/} ${what:-exit $rc}"
		return
	done
}

# Tries one mutant already applied to the copy: the mirror of the mutated
# file (test/unit/test_<module>) is built and run first, the others only
# when it passes.  Prints "caught <by>", "survived" or "bad".
try_mutant() {
	local name=$1 mirror=$2 others=() t by
	for t in $UNIT_TESTS; do
		[ "$t" = "$mirror" ] || others+=("$t")
	done
	if [ -n "$mirror" ]; then
		build "$work/logs/$name-build.log" "$mirror" || { echo bad; return; }
		by=$(run_tests "$work/logs/$name-test.log" "$mirror")
		[ -z "$by" ] || { echo "caught $by"; return; }
	fi
	build "$work/logs/$name-build.log" "${others[@]}" || { echo bad; return; }
	by=$(run_tests "$work/logs/$name-test.log" "${others[@]}")
	if [ -n "$by" ]; then echo "caught $by"; else echo survived; fi
}

echo "check-mutants: ${#selected[@]} mutants of $MUTANTS, copy in $tree"
# shellcheck disable=SC2086
build "$work/logs/baseline-build.log" $UNIT_TESTS ||
	{ tail -n 30 "$work/logs/baseline-build.log"; die "the unmutated copy does not build"; }
# shellcheck disable=SC2086
baseline=$(run_tests "$work/logs/baseline-test.log" $UNIT_TESTS)
[ -z "$baseline" ] ||
	{ tail -n 30 "$work/logs/baseline-test.log"; die "the unmutated copy fails a unit test: $baseline"; }
echo "check-mutants: the unmutated copy passes every unit test ($(($(date +%s) - start)) s)"

caught=0 survived=0 bad=0
rows=()
for i in "${selected[@]}"; do
	name=${names[$i]} file=${files[$i]}
	t0=$(date +%s)
	cp -p "$tree/$file" "$work/original"
	awk -v func_name="${funcs[$i]}" -v after="${afters[$i]}" \
	    -v from="${froms[$i]}" -v to="${tos[$i]}" -v where="$work/line" \
	    -f "$APPLY" "$work/original" >"$tree/$file" ||
		die "$name: does not apply to the copy"
	line=$(cat "$work/line")
	module=${file##*/}
	module=${module%.c}
	module=${module%.h}
	mirror=
	for t in $UNIT_TESTS; do
		[ "$t" = "test/unit/test_$module" ] && mirror=$t
	done
	outcome=$(try_mutant "$name" "$mirror")
	case $outcome in
	caught*)
		result="caught" by=${outcome#caught }
		caught=$((caught + 1)) ;;
	survived)
		result="SURVIVED" by="-"
		survived=$((survived + 1)) ;;
	*)
		result="BAD-BUILD" by="(does not compile: a bad mutant)"
		bad=$((bad + 1)) ;;
	esac
	# Back to the original, newer than the mutant's objects.
	cp "$work/original" "$tree/$file"
	touch "$tree/$file"
	row=$(printf '%-40s %-20s %-9s %s (%ss)' "$name" "$file:$line" "$result" \
	    "$by" "$(($(date +%s) - t0))")
	rows+=("$row")
	echo "$row"
done

echo
echo "check-mutants: results"
printf '%-40s %-20s %-9s %s\n' "mutant" "where" "result" "caught by (time)"
for row in "${rows[@]}"; do
	echo "$row"
done
echo "check-mutants: ${#selected[@]} mutants: $caught caught, $survived survived," \
    "$bad did not build; $(($(date +%s) - start)) s"
if [ $survived -gt 0 ] || [ $bad -gt 0 ]; then
	exit 1
fi
exit 0
