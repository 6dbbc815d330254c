#!/bin/bash
# test/accuracy/accuracy.sh: how many of a resolver's upstream DNS packets
# leave the gateway with the mark of the client that caused them. For each
# resolver it builds the bed (lib.sh: client, gateway, internet namespaces;
# hierarchy.sh: a real DNS hierarchy on NSD), runs the resolver and dnsmark
# in the gateway with the shipped rules, plays a mixed workload from four
# marked clients (phase A: one at a time, cold cache each; phase B: all four
# at once, each in its own subtree) and scores every upstream packet seen on
# the uplink with its final mark (pcap_marks.py). Phase C (traffic.sh) plays
# real traffic from many clients, each its own mark, with prefetch and
# serve-stale on, and scores it with traffic_score.py.
#
# DNSMARK_MODE picks dnsmark's mode and its rules files: queue (default,
# iptables-v*.rules), observe (observe-v*.rules) or bpf (bpf-v*.rules). In
# bpf mode the tool makes a cgroup v2 directory under its own cgroup, starts
# each resolver under test in it (the internet's servers stay out), runs
# dnsmark --bpf-cgroup on it, and removes it at exit; with the kernel fast
# path (rules/bpf-fast-v*.rules, pinned on a bpf file system of the bed's
# own, new for each resolver) unless DNSMARK_FAST=off.
#
# Needs root. Exit 0 (targets met, or none given), 1 (a target missed, or the
# bed failed: a lookup went wrong, nothing was seen upstream), 2 (usage), 77
# (skip: not root or a tool missing; 1 instead when CI=true).
set -eu

ACC_DIR=$(cd "$(dirname "$0")" && pwd)
. "$ACC_DIR/lib.sh"
. "$ACC_DIR/hierarchy.sh"
. "$ACC_DIR/resolvers.sh"
. "$ACC_DIR/traffic.sh"

DNSMARK=${DNSMARK:-$ACC_DIR/../../src/dnsmark}
RULES_DIR=${RULES_DIR:-$ACC_DIR/../../rules}
# Seconds between a resolver's start and its phase window (its own start-up
# queries stay out), and between the last answer and the resolver's stop
# (late queries stay in).
ACC_SETTLE=1
ACC_LINGER=2

usage() {
	cat <<EOF
Usage: ${0##*/} [OPTION]...
Measure how accurately dnsmark marks the upstream queries of real resolvers.

  --resolver LIST      comma-separated, from: $(echo "$RESOLVERS_ALL" | tr ' ' ,)
                       (default: all)
  --min-correct-a PCT  fail unless phase A (one client at a time) has at
                       least PCT % of upstream packets correctly marked
  --max-wrong-a PCT    fail if more than PCT % carry another client's mark
  --min-correct-b PCT  the same for phase B (four clients at once), over
  --max-wrong-b PCT    the packets of names a single client owns
  --phases LIST        AB (phases A and B), C (real traffic) or ABC
                       (default ABC)
  --clients N          phase C: N clients, each its own mark (default 24)
  --duration S         phase C: scored seconds (default 60), after
  --warmup S           seconds of the same load, not scored (default 15)
  --rate R             phase C: lookups per second (bursts of other
                       clients add about 30 %), each A, AAAA and HTTPS
                       at once (default 10)
  --many               phase C with 1000 clients, 70 lookups/s (about
                       275 queries/s) for 40 s after a 10 s warm-up
  --plain              phase C with the resolvers as phases A and B run
                       them: no prefetch, no serving of expired answers
  --min-correct-c PCT  phase C targets: own-name messages correctly marked,
  --max-wrong-c PCT    own-name messages with another client's mark,
  --max-implausible-c N  shared-name messages with a mark that did not ask,
  --max-unmarked-single-c PCT  shared-name messages unmarked though only
                       one mark asked within the window,
  --max-unmarked-waiting-c PCT  unmarked though exactly one mark waited,
  --max-evicted-c N    dnsmark's evidence_evicted + pending_evicted
  --no-dnsmark         run without dnsmark (bed check: all unmarked)
  --keep               keep the temporary directory (configs, logs, pcaps)
  -h, --help           show this help

Environment: DNSMARK (default ../../src/dnsmark), RULES_DIR (default
../../rules), both relative to this script; DNSMARK_MODE: queue (default,
rules/iptables-v*.rules), observe (dnsmark --mode observe with
rules/observe-v*.rules) or bpf (dnsmark --mode bpf --bpf-cgroup on a cgroup
v2 directory the resolvers run in, with rules/bpf-v*.rules; needs nsenter
and unshare); CI=true turns a skip into a failure.
EOF
}

ACC_MODE=${DNSMARK_MODE:-queue}
case $ACC_MODE in
queue | observe | bpf) ;;
*)
	bed_warn "DNSMARK_MODE: unknown mode: $ACC_MODE"
	usage >&2
	exit 2
	;;
esac

ACC_RESOLVERS=$RESOLVERS_ALL
ACC_TARGETS=
ACC_TARGETS_C=
ACC_NO_DNSMARK=
ACC_PHASES=ABC
while [ $# -gt 0 ]; do
	case $1 in
	--resolver=*) ACC_RESOLVERS=$(echo "${1#*=}" | tr , ' ') ;;
	--resolver)
		[ $# -ge 2 ] || { usage >&2; exit 2; }
		ACC_RESOLVERS=$(echo "$2" | tr , ' ')
		shift
		;;
	--min-correct-[ab] | --max-wrong-[ab])
		[ $# -ge 2 ] || { usage >&2; exit 2; }
		printf '%s' "$2" | grep -Eq '^[0-9]+([.][0-9]+)?$' ||
		    { bed_warn "$1: not a percentage: $2"; exit 2; }
		ACC_TARGETS="$ACC_TARGETS $1 $2"
		shift
		;;
	--min-correct-c | --max-wrong-c | --max-implausible-c | \
	    --max-unmarked-single-c | --max-unmarked-waiting-c | --max-evicted-c)
		[ $# -ge 2 ] || { usage >&2; exit 2; }
		printf '%s' "$2" | grep -Eq '^[0-9]+([.][0-9]+)?$' ||
		    { bed_warn "$1: not a number: $2"; exit 2; }
		ACC_TARGETS_C="$ACC_TARGETS_C $1 $2"
		shift
		;;
	--phases | --clients | --duration | --warmup | --rate)
		[ $# -ge 2 ] || { usage >&2; exit 2; }
		case $1 in
		--phases)
			case $2 in
			AB | C | ABC) ACC_PHASES=$2 ;;
			*) bed_warn "--phases: AB, C or ABC, not $2"; exit 2 ;;
			esac
			;;
		*)
			printf '%s' "$2" | grep -Eq '^[0-9]+([.][0-9]+)?$' ||
			    { bed_warn "$1: not a number: $2"; exit 2; }
			case $1 in
			--clients) TRAFFIC_CLIENTS=$2 ;;
			--duration) TRAFFIC_DURATION=$2 ;;
			--warmup) TRAFFIC_WARMUP=$2 ;;
			--rate) TRAFFIC_RATE=$2 ;;
			esac
			;;
		esac
		shift
		;;
	--many)
		ACC_PHASES=C
		TRAFFIC_CLIENTS=1000
		TRAFFIC_RATE=70
		TRAFFIC_DURATION=40
		TRAFFIC_WARMUP=10
		;;
	--plain) TRAFFIC_PLAIN=1 ;;
	--no-dnsmark) ACC_NO_DNSMARK=1 ;;
	--keep) BED_KEEP=1 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done

acc_programs=
for acc_r in $ACC_RESOLVERS; do
	acc_p=$(resolver_program "$acc_r") ||
	    { bed_warn "unknown resolver: $acc_r"; usage >&2; exit 2; }
	acc_programs="$acc_programs $acc_p"
done

# acc_lookup LABEL K ADDRESS SERVER NAME TYPE TRANSPORT EXPECTED: one dig
# from client K's ADDRESS; prints the lookup's result line: label, client,
# question, transport, rcode, answer count, ok or FAIL.
acc_lookup() {
	acc_opts="+time=5 +tries=2 +noall +comments"
	[ "$7" = tcp ] && acc_opts="$acc_opts +tcp"
	# shellcheck disable=SC2086
	acc_out=$(ip netns exec "$BED_NS_CLIENT" dig -b "$3" "@$4" $acc_opts "$5" "$6" 2>&1) || true
	# A truncated answer makes dig ask again over TCP: the last header counts.
	acc_rcode=$(printf '%s\n' "$acc_out" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p' | tail -n 1)
	acc_answers=$(printf '%s\n' "$acc_out" | sed -n 's/.*ANSWER: \([0-9]*\),.*/\1/p' | tail -n 1)
	acc_verdict=FAIL
	if [ "$acc_rcode" = "$8" ] &&
	    { [ "$8" = NXDOMAIN ] || [ "${acc_answers:-0}" -gt 0 ]; }; then
		acc_verdict=ok
	fi
	echo "$1 $2 $5 $6 $7 ${acc_rcode:-none} ${acc_answers:-0} $acc_verdict"
}

# acc_play LABEL K: client K's whole workload, one lookup after the other,
# over IPv4 for odd clients and IPv6 for even ones.
acc_play() {
	acc_family=4
	acc_server=$BED_GW_LAN4
	if [ $(($2 % 2)) -eq 0 ]; then
		acc_family=6
		acc_server=$BED_GW_LAN6
	fi
	acc_addr=$(bed_client_addr "$2" "$acc_family")
	hier_workload "$2" | while read -r acc_name acc_type acc_transport acc_expect; do
		acc_lookup "$1" "$2" "$acc_addr" "$acc_server" \
		    "$acc_name" "$acc_type" "$acc_transport" "$acc_expect"
	done
}

# acc_phase RESOLVER DIR LABEL MARK K...: start RESOLVER with an empty cache,
# let it settle, play the workloads of clients K... at once, and record the
# window "LABEL start end MARK" (MARK: every packet's expected mark, or "-":
# by name owner) and the lookups.
acc_phase() {
	acc_resolver=$1
	acc_dir=$2
	acc_label=$3
	acc_want=$4
	shift 4
	resolver_start "$acc_resolver" "$acc_dir" "$acc_dir/$acc_label.log"
	sleep "$ACC_SETTLE"
	acc_start=$(bed_now)
	acc_players=
	for acc_k in "$@"; do
		acc_play "$acc_label" "$acc_k" >"$acc_dir/lookups.$acc_label.$acc_k" &
		acc_players="$acc_players $!"
		BED_PIDS="$BED_PIDS $!"
	done
	for acc_pid in $acc_players; do
		wait "$acc_pid" || true
		bed_forget "$acc_pid"
	done
	sleep "$ACC_LINGER"
	# The window closes after the resolver has stopped: the segments that
	# close its TCP connections to upstream belong to the phase too.
	resolver_stop
	sleep 0.2
	echo "$acc_label $acc_start $(bed_now) $acc_want" >>"$acc_dir/windows"
	for acc_k in "$@"; do
		cat "$acc_dir/lookups.$acc_label.$acc_k" >>"$acc_dir/lookups"
	done
}

# acc_dnsmark_counters LOG: the attribution counters that are not zero in
# the last counters line dnsmark logged (on SIGUSR1 and at exit).
acc_dnsmark_counters() {
	grep 'attrib_' "$1" | tail -n 1 | tr ' ' '\n' |
	    grep -E '^(attrib_[a-z_]+|fastpath_(marked|absent|stale|answered|ambiguous|doubt|undone|file_failed))=[1-9]' |
	    tr '\n' ' ' || true
}

# acc_resolver NAME: one resolver from start to score (DIR/result.json).
acc_resolver() {
	acc_t0=$(date +%s)
	acc_rdir=$BED_TMP/$1
	resolver_configure "$1" "$acc_rdir"
	: >"$acc_rdir/windows"
	: >"$acc_rdir/lookups"
	resolver_check_dnssec "$1" "$acc_rdir"
	if command -v conntrack >/dev/null 2>&1; then
		ip netns exec "$BED_NS_GW" conntrack -F >/dev/null 2>&1 || true
	fi
	acc_dnsmark_log=
	if [ -z "$ACC_NO_DNSMARK" ]; then
		acc_dnsmark_log=$acc_rdir/dnsmark.log
		bed_dnsmark_start "$DNSMARK" "$acc_dnsmark_log" "$1"
	fi
	case $ACC_PHASES in
	AB*)
		bed_capture_start "$acc_rdir/upstream.pcap"
		for acc_client in $BED_CLIENTS; do
			acc_phase "$1" "$acc_rdir" "A$acc_client" "$acc_client" "$acc_client"
		done
		# shellcheck disable=SC2086
		acc_phase "$1" "$acc_rdir" B - $BED_CLIENTS
		bed_capture_stop
		;;
	esac
	case $ACC_PHASES in
	*C) traffic_phase "$1" "$acc_rdir" "$acc_dnsmark_log" ;;
	esac
	if [ -z "$ACC_NO_DNSMARK" ]; then
		bed_dnsmark_stop ||
		    bed_warn "$1: dnsmark exited with status $? (log: $acc_rdir/dnsmark.log)"
	fi
	case $ACC_PHASES in
	AB*)
		python3 "$ACC_DIR/pcap_marks.py" analyse --resolver "$1" \
		    --pcap "$acc_rdir/upstream.pcap" --windows "$acc_rdir/windows" \
		    --owners "$BED_TMP/owners" --lookups "$acc_rdir/lookups" \
		    --out "$acc_rdir/result.json"
		;;
	esac
	acc_counters=
	[ -n "$ACC_NO_DNSMARK" ] ||
	    acc_counters="; dnsmark: $(acc_dnsmark_counters "$acc_rdir/dnsmark.log")"
	bed_say "$1: done in $(($(date +%s) - acc_t0)) s$acc_counters"
}

acc_mode_tools=
[ "$ACC_MODE" != bpf ] || acc_mode_tools="nsenter unshare"
# shellcheck disable=SC2086
bed_init accuracy ip ss iptables ip6tables iptables-restore ip6tables-restore \
    tcpdump dig nsd unbound python3 nft $HIER_TOOLS $acc_programs $acc_mode_tools
if [ -z "$ACC_NO_DNSMARK" ] && [ ! -x "$DNSMARK" ]; then
	bed_skip "no dnsmark binary at $DNSMARK (build it, or set DNSMARK)"
fi
if [ "$ACC_MODE" = bpf ]; then
	# The probe fails either way; in a network namespace of its own it
	# cannot bind anything of the host's.
	if [ -z "$ACC_NO_DNSMARK" ] &&
	    unshare --net -- "$DNSMARK" --mode bpf --bpf-cgroup /nonexistent 2>&1 |
	    grep -q 'built without'; then
		bed_skip "$DNSMARK was built without bpf mode (configure: libbpf-dev, bpftool, clang)"
	fi
	bed_cgroup_make || bed_skip "bpf mode needs a cgroup v2 directory of its own"
	bed_fast_mount
fi
for acc_f in "$(bed_rules_file 4)" "$(bed_rules_file 6)"; do
	[ -r "$RULES_DIR/$acc_f" ] || bed_die "no $RULES_DIR/$acc_f (set RULES_DIR)"
done

bed_say "dnsmark accuracy, run $BED_RUN: $(uname -sr), dnsmark ${ACC_NO_DNSMARK:+(not running) }$DNSMARK, mode $ACC_MODE${BED_CGROUP:+ (resolvers in cgroup $BED_CGROUP)}, rules $RULES_DIR"
for acc_r in $ACC_RESOLVERS; do
	bed_say "  $acc_r: $(resolver_version "$acc_r")"
done
# shellcheck disable=SC2046
bed_net_up $(hier_addresses)
traffic_net_up
hier_start "$BED_TMP/internet"
hier_owners "$BED_TMP/owners"
traffic_owners "$BED_TMP/traffic-owners"
bed_gw_rules "$RULES_DIR"
traffic_gw_rules

acc_results=
acc_results_c=
for acc_r in $ACC_RESOLVERS; do
	acc_resolver "$acc_r"
	acc_results="$acc_results $BED_TMP/$acc_r/result.json"
	acc_results_c="$acc_results_c $BED_TMP/$acc_r/C/result.json"
done
acc_status=0
case $ACC_PHASES in
AB*)
	bed_say
	# shellcheck disable=SC2086
	python3 "$ACC_DIR/pcap_marks.py" report $ACC_TARGETS $acc_results || acc_status=$?
	;;
esac
case $ACC_PHASES in
*C)
	bed_say
	bed_say "Phase C: $TRAFFIC_CLIENTS clients, $TRAFFIC_RATE lookups/s, ${TRAFFIC_WARMUP} s warm-up, ${TRAFFIC_DURATION} s scored"
	# shellcheck disable=SC2086
	python3 "$ACC_DIR/traffic_score.py" report $ACC_TARGETS_C $acc_results_c ||
	    acc_status=1
	;;
esac
exit $acc_status
