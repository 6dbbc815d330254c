#!/bin/bash
# test/accuracy/check.sh: the accuracy scenario as `make check` runs it, on
# unbound recursive, dnsmasq forwarding and BIND 9 recursive in queue mode,
# and unbound and dnsmasq in bpf mode (the default with a cgroup; dnsmasq's
# TCP retries are what bpf mode holds on the queue), against the
# targets of doc/accuracy.md: phase A (one client at a time, cold cache) at
# least 99.5 % of the upstream packets marked correctly and none with
# another client's mark; phase B (four clients at once) at least 99 % of
# the client-owned packets correct and none wrong.  The hierarchy is signed
# (every resolver validates) and has a server that truncates every UDP
# answer below tc.test, so shared TCP connections carry several clients'
# retries.
#
# Phase B's TCP retries depend on scheduling: the resolver's SYN must follow
# its cause within dnsmark's wait (at most --syn-hold), and one late
# SYN leaves a connection's first two packets unmarked (never wrongly
# marked): 1 of 81 packets is already below 99 %. A resolver that misses a
# target on unmarked packets alone is measured again, at most twice more,
# and fails only when every run misses; every run is printed. A wrong mark
# is never load: a run with more wrong marks than the target fails at once.
#
# Then phase C, real traffic (24 clients, each its own mark, 60 s scored
# after a 15 s warm-up; README.md), on unbound recursive and dnsmasq in
# queue mode in one bed, against issue 12's targets: at least 99 % of the
# client-owned messages correct, none wrong, no implausible mark on a shared
# name, at most 5 % of the shared-name messages unmarked where one mark
# asked, and where exactly one asker waited. It adds about 3 minutes. A run that misses a
# target on unmarked messages alone is measured once more; a wrong or
# implausible mark fails at once.
#
# ACCURACY_SANITIZED=1 (CI's AddressSanitizer build) keeps only the targets
# on wrong and implausible marks: the sanitizers slow dnsmark down several
# times, and how many packets are left unmarked depends on timing (a
# resolver's SYN within --syn-hold), which the build without them measures.
# `make accuracy` runs all six resolvers and reports without targets.
dir=$(dirname "$0")
targets="--min-correct-a 99.5 --max-wrong-a 0 --min-correct-b 99 --max-wrong-b 0"
targets_c="--min-correct-c 99 --max-wrong-c 0 --max-implausible-c 0"
targets_c="$targets_c --max-unmarked-single-c 5 --max-unmarked-waiting-c 5"
if [ "${ACCURACY_SANITIZED:-0}" = 1 ]; then
	targets="--max-wrong-a 0 --max-wrong-b 0"
	targets_c="--max-wrong-c 0 --max-implausible-c 0"
	echo "check.sh: sanitized build: targets on wrong and implausible marks only"
fi
status=0
out=$(mktemp "${TMPDIR:-/tmp}/dnsmark-check.XXXXXX") || exit 99
trap 'rm -f "$out"' EXIT
for run in queue:unbound-recursive queue:dnsmasq queue:bind \
    bpf:unbound-recursive bpf:dnsmasq; do
	mode=${run%%:*}
	resolver=${run#*:}
	for attempt in 1 2 3; do
		# shellcheck disable=SC2086
		DNSMARK_MODE=$mode bash "$dir/accuracy.sh" --resolver "$resolver" \
		    $targets 2>&1 | tee "$out"
		rc=${PIPESTATUS[0]}
		[ "$rc" -eq 1 ] || break
		if grep -q '^TARGET: .* wrong > ' "$out"; then
			echo "check.sh: $resolver ($mode mode) gave wrong marks"
			break
		fi
		[ "$attempt" -lt 3 ] &&
		    echo "check.sh: $resolver ($mode mode) left packets unmarked; measuring it again"
	done
	[ "$rc" -eq 0 ] || status=$rc
	[ "$status" -eq 0 ] || [ "$status" -eq 1 ] || exit "$status"
done
for attempt in 1 2; do
	# shellcheck disable=SC2086
	DNSMARK_MODE=queue bash "$dir/accuracy.sh" --phases C \
	    --resolver unbound-recursive,dnsmasq $targets_c 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	[ "$rc" -eq 1 ] || break
	if grep -Eq '^TARGET: .*(wrong|implausible)|^BED: ' "$out"; then
		echo "check.sh: phase C gave wrong or implausible marks, or the bed failed"
		break
	fi
	[ "$attempt" -lt 2 ] &&
	    echo "check.sh: phase C left messages unmarked; measuring it again"
done
[ "$rc" -eq 0 ] || status=$rc
exit "$status"
