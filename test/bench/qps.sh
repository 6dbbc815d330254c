#!/usr/bin/env bash
# test/bench/qps.sh: what dnsmark costs, in one table, on the network
# namespace bed of test/e2e/lib.sh (client, gateway, upstream; NSD with a
# wildcard zone and rate limiting off upstream).
#   packets  a stream of query pairs (client query, and the matching
#            upstream query a forwarder would send) from test/bench/
#            query_pairs through the gateway's hooks, to the null program
#            and to dnsmark in each mode: rate, program CPU per packet;
#   memory   dnsmark's tables per pending question and its resident size
#            once a flood of unique names has filled --max-pending;
#   unbound  dnsperf against unbound on the gateway (one thread,
#            forwarding straight to NSD), cache hits and cache misses, with
#            no rules, and with the null program and dnsmark of each mode:
#            qps, mean and 99th percentile latency; and at a fixed rate,
#            no rules against the default mode;
#   dnsmasq  cache misses through dnsmasq --conntrack against plain
#            dnsmasq with dnsmark.
# Modes come from a table (qps_mode_table): a mode whose rules files are
# not in RULES_DIR is printed as not built and skipped. Runs of dnsperf are
# interleaved (A B C ..., then reversed) and the table holds medians. It
# changes nothing outside the namespaces and the cgroup it creates, and
# ends only the processes it started.
#
# Environment: as test/e2e/lib.sh (DNSMARK, RULES_DIR, E2E_DIR), plus
# NULL_QUEUE and QUERY_PAIRS (the programs), QPS_RUNS (5), QPS_SECONDS (3),
# QPS_CLIENTS (4), QPS_OUTSTANDING (100), QPS_HIT_NAMES (1000),
# QPS_MISS_RATE (50000: unique names written per second of a miss run),
# QPS_FIXED_RATE (5000), QPS_PROBE_RATE (500: the latency probe beside a
# run at full speed), QPS_PACKET_SECONDS (1.5), QPS_PACKET_RUNS (5),
# QPS_PACKET_WINDOW (512),
# QPS_MEM_PENDING ("default 262144"), QPS_MODES ("queue observe bpf"),
# QPS_DNSMARK_ARGS_<mode> (more dnsmark options for that mode, comma
# separated), QPS_SKIP (sections to leave out: packets memory unbound
# dnsmasq), QPS_DEFAULT_MODE (bpf), and for looking closer at one cost
# QPS_CONDITIONS (the unbound benchmark's conditions instead of all: none,
# user, null-MODE, dnsmark-MODE) and QPS_WORKLOADS (hits misses hits@rate
# misses@rate).
#
# Exit status 77 (skip) without root, dnsperf or the programs.

E2E_DIR=${E2E_DIR:-$(cd "$(dirname "$0")/../e2e" && pwd)}
# shellcheck source=../e2e/lib.sh
. "$E2E_DIR/lib.sh"

QPS_RUNS=${QPS_RUNS:-5}
QPS_SECONDS=${QPS_SECONDS:-3}
QPS_CLIENTS=${QPS_CLIENTS:-4}
QPS_OUTSTANDING=${QPS_OUTSTANDING:-100}
QPS_HIT_NAMES=${QPS_HIT_NAMES:-1000}
QPS_MISS_RATE=${QPS_MISS_RATE:-50000}
QPS_FIXED_RATE=${QPS_FIXED_RATE:-5000}
QPS_PROBE_RATE=${QPS_PROBE_RATE:-500}
QPS_PACKET_SECONDS=${QPS_PACKET_SECONDS:-1.5}
QPS_PACKET_RUNS=${QPS_PACKET_RUNS:-5}
QPS_PACKET_WINDOW=${QPS_PACKET_WINDOW:-512}
QPS_MEM_PENDING=${QPS_MEM_PENDING:-default 262144}
QPS_MODES=${QPS_MODES:-queue observe bpf}
QPS_SKIP=${QPS_SKIP:-}
# The default mode (dnsmark picks bpf when given the resolver's cgroup):
# the p99 and dnsmasq benchmarks run in it. Queue mode when bpf mode is
# not built or cannot start here (qps_default_mode).
QPS_DEFAULT_MODE=${QPS_DEFAULT_MODE:-bpf}
# The memory benchmark floods dnsmark with client queries from a program
# outside the resolver's cgroup: on the queue (the tables are the same in
# every mode).
QPS_MEMORY_MODE=queue
QPS_CLIENT=192.0.2.10
# The packet stream's "upstream server": an address of its own upstream.
QPS_SINK_V4=198.51.100.99

# The targets, as "bench condition workload column comparison value":
# column vs_base / vs_null (ratios), p99_rise (ms above the base),
# p99_ratio (p99 over the base's) or kernel_pct (the share of upstream
# queries the kernel fast path marked, in %). The base is the user's marking rules
# alone (what an operator compares against); issue 14 set these. Set once
# the default mode is known (qps_default_mode).
qps_targets() {
	QPS_TARGETS="
packets dnsmark-* pairs vs_null >= 0.90
unbound dnsmark-$QPS_DEFAULT_MODE hits vs_base >= 0.97
unbound dnsmark-$QPS_DEFAULT_MODE misses vs_base >= 0.99
unbound dnsmark-queue hits vs_base >= 0.85
unbound dnsmark-queue misses vs_base >= 0.95
unbound dnsmark-$QPS_DEFAULT_MODE hits@rate p99_rise <= 0.050
unbound dnsmark-$QPS_DEFAULT_MODE misses@rate p99_ratio <= 1.10
unbound dnsmark-bpf misses kernel_pct >= 90
unbound dnsmark-queue misses@rate p99_ratio <= 1.50
dnsmasq dnsmasq-$QPS_DEFAULT_MODE misses vs_base >= 1.00
"
}

# The modes: name, IPv4 and IPv6 rules files (in RULES_DIR), dnsmark's
# options and the null program's ("-": none), words separated by commas,
# and "fast" where dnsmark runs with the kernel fast path (its pins on a
# bpf file system of the bed's own, bpf-fast-v*.rules loaded once it runs;
# the null program has none). Not measured unless QPS_MODES names them:
# bpfqueue, bpf mode without it (every upstream query on the queue), and
# bpffiled, with its programs filing questions but without its rules (what
# the cgroup side costs).
# @CGROUP@ stands for the resolver's cgroup, @NFLOG@ for the NFLOG group
# the mode's IPv4 rules copy packets to. bpfrules is not measured unless
# QPS_MODES names it: bpf mode's rules with a null program that attaches no
# BPF program, which splits the null program's cost between the rules'
# hooks and the BPF program (QPS_MODES="bpf bpfrules" QPS_CONDITIONS="none
# user null-bpfrules null-bpf" QPS_WORKLOADS=hits).
qps_mode_table() {
	cat <<'EOF'
queue	iptables-v4.rules	iptables-v6.rules	--mode,queue	-	-
observe	observe-v4.rules	observe-v6.rules	--mode,observe	--nflog,@NFLOG@	-
bpf	bpf-v4.rules	bpf-v6.rules	--mode,bpf,--bpf-cgroup,@CGROUP@	--bpf-cgroup,@CGROUP@	fast
bpfqueue	bpf-v4.rules	bpf-v6.rules	--mode,bpf,--bpf-cgroup,@CGROUP@,--fast-path,off	--bpf-cgroup,@CGROUP@	-
bpffiled	bpf-v4.rules	bpf-v6.rules	--mode,bpf,--bpf-cgroup,@CGROUP@	--bpf-cgroup,@CGROUP@	pins
bpfrules	bpf-v4.rules	bpf-v6.rules	--mode,bpf,--bpf-cgroup,@CGROUP@	-	-
EOF
}

[ "$(id -u)" -eq 0 ] || e2e_skip "needs root (network namespaces, netfilter, cgroups)"
e2e_need dnsperf dnsperf
e2e_init qps
NULL_QUEUE=${NULL_QUEUE:-$e2e_top/test/bench/null_queue}
QUERY_PAIRS=${QUERY_PAIRS:-$e2e_top/test/bench/query_pairs}
for qps_prog in "$NULL_QUEUE" "$QUERY_PAIRS"; do
	[ -x "$qps_prog" ] || e2e_skip "no program at $qps_prog" \
	    "(make test/bench/null_queue test/bench/query_pairs, or set" \
	    "NULL_QUEUE and QUERY_PAIRS)"
done
QPS_TICKS=$(getconf CLK_TCK)
# The null program accepts the upstream queries with the client's mark, as
# dnsmark does (null_queue --mark): the kernel's work for a new mark (the
# packet routed again, the mark saved on its flow) is then in both, and
# the difference is dnsmark's own work. QPS_NULL_MARK_OFF=1: unchanged.
QPS_NULL_MARK=()
if [ "${QPS_NULL_MARK_OFF:-}" != 1 ] &&
    "$NULL_QUEUE" --help 2>&1 | grep -q -e '--mark'; then
	QPS_NULL_MARK=(--mark "$(e2e_client_mark "$QPS_CLIENT")")
fi

# The kernel fast path's pins: a bpf file system of the bench's own,
# unmounted by the cleanup (after the namespaces and their rules).
QPS_BPFFS=
qps_unmount_bpffs() {
	[ -z "$QPS_BPFFS" ] || umount "$QPS_BPFFS" 2>/dev/null
}
E2E_CLEANUP_HOOK=qps_unmount_bpffs
qps_bpffs_mount() {
	mkdir "$E2E_TMP/bpffs" &&
	    mount -t bpf -o mode=0700 bpf "$E2E_TMP/bpffs" ||
	    e2e_die "cannot mount a bpf file system on $E2E_TMP/bpffs"
	QPS_BPFFS=$E2E_TMP/bpffs
}
QPS_FAST_N=0

# qps_fast_rules DIR|off: bpf-fast-v4.rules and bpf-fast-v6.rules loaded
# for the pins in DIR (their one edit), or their chain emptied (off).
qps_fast_rules() {
	if [ "$1" != off ]; then
		e2e_fast_rules "$1"
		return
	fi
	for qps_tool in iptables ip6tables; do
		e2e_in "$E2E_NS_GW" "$qps_tool" -t mangle -F DNSMARK_FAST 2>/dev/null
	done
}

# The resolver's cgroup (cgroup v2), for the bpf mode: E2E_CGROUP, made
# here, removed by the cleanup (lib.sh: e2e_cgroup_make).
qps_cgroup_make() {
	e2e_cgroup_make "dnsmark-bench-$E2E_RUN" ||
	    e2e_warn "cannot make a cgroup v2 directory: bpf mode off"
}

# qps_in_cgroup COMMAND...: run COMMAND in the resolver's cgroup
# (e2e_in_cgroup), or as it is when there is none.
qps_in_cgroup() {
	[ -n "$E2E_CGROUP" ] || {
		"$@"
		return
	}
	e2e_in_cgroup "$E2E_CGROUP" "$E2E_CGROUP_HOME" "$@"
}

# qps_mode_field MODE N: field N of the mode's line in the table.
qps_mode_field() {
	qps_mode_table | awk -F'\t' -v m="$1" -v n="$2" '$1 == m { print $n }'
}

# qps_mode_words MODE N: the words of field N (dnsmark's or the null
# program's options), placeholders filled in, one a line.
qps_mode_words() {
	qps_f=$(qps_mode_field "$1" "$2")
	[ "$qps_f" = - ] && return 0
	if [ "$2" = 4 ]; then
		eval "qps_extra=\${QPS_DNSMARK_ARGS_$1:-}"
		qps_f=$qps_f${qps_extra:+,$qps_extra}
	fi
	printf '%s\n' "$qps_f" | tr ',' '\n' |
	    sed -e "s|@CGROUP@|$E2E_CGROUP|g" -e "s|@NFLOG@|$(qps_mode_nflog "$1")|g"
}

# qps_mode_nflog MODE: the first NFLOG group the mode's IPv4 rules use.
qps_mode_nflog() {
	sed -n 's/.*--nflog-group \([0-9][0-9]*\).*/\1/p' \
	    "$RULES_DIR/$(qps_mode_field "$1" 2)" 2>/dev/null | head -n 1
}

# qps_modes_check: QPS_MODE_STATUS[mode] and QPS_NULL_STATUS[mode] are
# "built" or why not; QPS_BUILT lists the modes to measure.
declare -A QPS_MODE_STATUS QPS_NULL_STATUS
QPS_BUILT=
qps_modes_check() {
	for qps_m in $QPS_MODES; do
		QPS_NULL_STATUS[$qps_m]=built
		if [ -z "$(qps_mode_field "$qps_m" 1)" ]; then
			QPS_MODE_STATUS[$qps_m]="unknown mode (not in qps_mode_table)"
			continue
		fi
		qps_missing=
		for qps_n in 2 3; do
			qps_f=$(qps_mode_field "$qps_m" $qps_n)
			[ -r "$RULES_DIR/$qps_f" ] ||
			    qps_missing="$qps_missing${qps_missing:+, }$qps_f"
		done
		QPS_MODE_STATUS[$qps_m]=built
		[ -z "$qps_missing" ] ||
		    QPS_MODE_STATUS[$qps_m]="not built (not in $RULES_DIR: $qps_missing)"
		if [ "${qps_m#bpf}" != "$qps_m" ] && [ -z "$E2E_CGROUP" ]; then
			QPS_MODE_STATUS[$qps_m]="not available (no cgroup v2)"
		fi
		[ "${QPS_MODE_STATUS[$qps_m]}" = built ] || continue
		QPS_BUILT="$QPS_BUILT $qps_m"
		qps_flag=$(qps_mode_words "$qps_m" 5 | head -n 1)
		if [ -n "$qps_flag" ] &&
		    ! "$NULL_QUEUE" --help 2>&1 | grep -q -e "$qps_flag\\b"; then
			QPS_NULL_STATUS[$qps_m]="not built (null_queue --help lists no $qps_flag)"
		elif qps_mode_words "$qps_m" 5 | grep -q '^$'; then
			QPS_NULL_STATUS[$qps_m]="not built (a placeholder of its options is empty)"
		fi
	done
}

# qps_modes_try: each built mode's dnsmark and null program must bind the
# queue once with the mode's rules loaded; a mode whose dnsmark does not
# is dropped from QPS_BUILT (its log shown), a null program that does not
# is marked so.
qps_modes_try() {
	qps_ok=
	for qps_m in $QPS_BUILT; do
		qps_rules "$qps_m"
		if ! qps_program_start dnsmark "$qps_m" "try-$qps_m"; then
			QPS_MODE_STATUS[$qps_m]="built, but dnsmark does not start in it (log above)"
			continue
		fi
		qps_program_stop
		qps_ok="$qps_ok $qps_m"
		[ "${QPS_NULL_STATUS[$qps_m]}" = built ] || continue
		if qps_program_start null "$qps_m" "try-$qps_m"; then
			qps_program_stop
		else
			QPS_NULL_STATUS[$qps_m]="does not start (log above)"
		fi
	done
	QPS_BUILT=$qps_ok
}

# qps_default_mode: QPS_DEFAULT_MODE, or queue mode when it is not among
# the modes that start here.
qps_default_mode() {
	case " $QPS_BUILT " in
	*" $QPS_DEFAULT_MODE "*) return 0 ;;
	esac
	e2e_warn "default mode $QPS_DEFAULT_MODE not available: queue mode's p99 and dnsmasq instead"
	QPS_DEFAULT_MODE=queue
}

# qps_rules none|user|conntrack|MODE: the gateway's tables (IPv4 and IPv6)
# hold nothing, the user's marking rules, those and a rule that saves a
# marked packet's mark on its flow (what dnsmasq --conntrack users add, as
# dnsmark's rules do), or the user's rules and the mode's rules files.
# With no rule left that needs it, the namespace's conntrack hooks go too.
QPS_RULES="unset"
qps_rules() {
	[ "$QPS_RULES" = "$1" ] && return 0
	for qps_tool in iptables ip6tables; do
		for qps_table in mangle raw filter; do
			e2e_in "$E2E_NS_GW" "$qps_tool" -t $qps_table -F
			e2e_in "$E2E_NS_GW" "$qps_tool" -t $qps_table -X
		done
	done
	if [ "$1" != none ]; then
		e2e_user_rules 4 | e2e_in "$E2E_NS_GW" iptables-restore --noflush ||
		    e2e_die "user rules (IPv4) failed to load"
		e2e_user_rules 6 | e2e_in "$E2E_NS_GW" ip6tables-restore --noflush ||
		    e2e_die "user rules (IPv6) failed to load"
	fi
	if [ "$1" = conntrack ]; then
		for qps_tool in iptables ip6tables; do
			e2e_in "$E2E_NS_GW" "$qps_tool" -t mangle -A POSTROUTING \
			    -m mark ! --mark 0 -j CONNMARK --save-mark ||
			    e2e_die "$qps_tool: the save-mark rule failed to load"
		done
	elif [ "$1" != none ] && [ "$1" != user ]; then
		e2e_in "$E2E_NS_GW" iptables-restore --noflush \
		    <"$RULES_DIR/$(qps_mode_field "$1" 2)" ||
		    e2e_die "$1 mode's IPv4 rules failed to load"
		e2e_in "$E2E_NS_GW" ip6tables-restore --noflush \
		    <"$RULES_DIR/$(qps_mode_field "$1" 3)" ||
		    e2e_die "$1 mode's IPv6 rules failed to load"
	fi
	QPS_RULES=$1
}

# qps_program_start null|dnsmark MODE LABEL [DNSMARK_OPTION...]: the null
# program or dnsmark of MODE in the gateway; waits until it has bound the
# bed's queue. QPS_PROG_PID, QPS_PROG_LOG. Returns 1 (its log shown) when
# it does not.
qps_program_start() {
	qps_kind=$1
	qps_mode=$2
	QPS_PROG_LOG=$E2E_TMP/$3-$1.log
	shift 3
	if [ "$qps_kind" = null ]; then
		mapfile -t qps_args < <(qps_mode_words "$qps_mode" 5)
		set -- "$NULL_QUEUE" "${QPS_NULL_MARK[@]}" "${qps_args[@]}" \
		    "$E2E_QUEUE"
	else
		mapfile -t qps_args < <(qps_mode_words "$qps_mode" 4)
		set -- "$DNSMARK" --queue "$E2E_QUEUE" "${qps_args[@]}" "$@"
		# A new directory each start: an earlier dnsmark's pins would
		# be kept, and nothing marked from them for a timeout.
		qps_fast=
		if [ "$(qps_mode_field "$qps_mode" 6)" != - ]; then
			QPS_FAST_N=$((QPS_FAST_N + 1))
			qps_fast=$QPS_BPFFS/dnsmark-$QPS_FAST_N
			set -- "$@" --fast-path "$qps_fast"
		fi
	fi
	# ip netns exec gives the program a /sys of its own, without the
	# cgroup2 mount bpf mode attaches to: run it in this shell's mount
	# namespace (nsenter execs, so the PID stays the program's).
	if [ "${qps_mode#bpf}" != "$qps_mode" ]; then
		set -- nsenter "--mount=/proc/$$/ns/mnt" -- "$@"
	fi
	e2e_spawn "$E2E_NS_GW" "$QPS_PROG_LOG" "$@"
	QPS_PROG_PID=$E2E_LAST_PID
	qps_n=0
	until e2e_queue_bound; do
		if ! kill -0 "$QPS_PROG_PID" 2>/dev/null || [ $qps_n -ge 50 ]; then
			e2e_show "$qps_kind ($qps_mode mode): $*" "$QPS_PROG_LOG"
			e2e_stop "$QPS_PROG_PID"
			return 1
		fi
		sleep 0.1
		qps_n=$((qps_n + 1))
	done
	if [ "$qps_kind" = dnsmark ] && [ -n "$qps_fast" ]; then
		grep -q 'fast path: programs and maps pinned' "$QPS_PROG_LOG" ||
		    e2e_die "dnsmark ($qps_mode mode) did not pin its fast path: $(grep -i 'fast path' "$QPS_PROG_LOG")"
		[ "$(qps_mode_field "$qps_mode" 6)" != fast ] ||
		    qps_fast_rules "$qps_fast"
	fi
}

qps_program_stop() {
	e2e_stop "$QPS_PROG_PID" ||
	    e2e_warn "$(basename "$QPS_PROG_LOG" .log) exited non-zero"
	[ -z "$qps_fast" ] || qps_fast_rules off
	qps_fast=
}

# qps_marked: "marked judged kernel" so far, the upstream queries given a
# client's mark, all of them, and those the kernel fast path marked:
# dnsmark's counters (it logs them on SIGUSR1) under a dnsmark condition,
# the upstream flows in the gateway's conntrack table (with a mark, all)
# under dnsmasq --conntrack, "- - -" under the others.
qps_marked() {
	case $QPS_COND in
	dnsmark-*)
		kill -USR1 "$QPS_PROG_PID"
		sleep 0.2
		grep -a 'upstream_queries=' "$QPS_PROG_LOG" | tail -n 1 | awk '{
			for (i = 1; i <= NF; i++) {
				split($i, kv, "=")
				v[kv[1]] = kv[2]
			}
			print v["upstream_marked"] + 0, v["upstream_queries"] + 0,
			    v["fastpath_marked"] + 0
		}'
		;;
	conntrack)
		e2e_in "$E2E_NS_GW" conntrack -L -f ipv6 -p udp --dport 53 \
		    -d "$E2E_AUTH_V6" 2>/dev/null |
		    awk '/ mark=[1-9]/ { m++ } END { print m + 0, NR, "-" }'
		;;
	*) echo - - - ;;
	esac
}

# An awk function: the "marked judged kernel" of a run from qps_marked's
# before and after.
QPS_AWK_MARKED='
function marked(before, after,    b, a) {
	split(before, b, " ")
	split(after, a, " ")
	if (b[1] == "-" || a[1] == "" || a[1] == "-")
		return "- - -"
	return (a[1] - b[1]) " " (a[2] - b[2]) " " \
	    (a[3] == "-" || a[3] == "" ? "-" : a[3] - b[3])
}'

# qps_cpu PID: the CPU time a process has used (user and system), in ticks.
qps_cpu() {
	sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }'
}

# qps_condition_start COND LABEL / qps_condition_stop COND: COND is none,
# user, null-MODE or dnsmark-MODE. QPS_PROG_PID is empty without a program.
qps_condition_start() {
	QPS_PROG_PID=
	QPS_COND=$1
	# Each condition starts with an empty connection table: the flows of
	# the one before would weigh on it (a miss is a new flow).
	e2e_in "$E2E_NS_GW" conntrack -F >/dev/null 2>&1
	case $1 in
	none | user | conntrack) qps_rules "$1" ;;
	*) qps_rules "${1#*-}" ;;
	esac
	case $1 in
	null-* | dnsmark-*)
		qps_program_start "${1%%-*}" "${1#*-}" "$2" ||
		    e2e_die "${1%%-*} did not bind queue $E2E_QUEUE in ${1#*-} mode"
		;;
	*)
		! e2e_queue_bound ||
		    e2e_die "queue $E2E_QUEUE is bound under condition $1"
		;;
	esac
}

qps_condition_stop() {
	[ -z "$QPS_PROG_PID" ] || qps_program_stop
}

# qps_pairs_command LABEL: QPS_PAIRS_CMD, query_pairs with the bed's
# namespaces and addresses, names under LABEL.
qps_pairs_command() {
	QPS_PAIRS_CMD=("$QUERY_PAIRS" --client-netns "/run/netns/$E2E_NS_CLIENT"
	    --upstream-netns "/run/netns/$E2E_NS_UP" --client "$QPS_CLIENT"
	    --resolver "$E2E_GW_V4" --upstream "$QPS_SINK_V4"
	    --label "$1-r$E2E_RUN.$E2E_ZONE")
}

# qps_pairs LABEL QUERY_PAIRS_OPTION...: the packet stream, in the gateway
# and the resolver's cgroup; prints its "sent N received N lost N seconds
# S cpu S" line.
qps_pairs() {
	qps_pairs_command "$1"
	qps_in_cgroup e2e_in "$E2E_NS_GW" "${QPS_PAIRS_CMD[@]}" "${@:2}" \
	    >"$E2E_TMP/$1-pairs.txt" 2>&1 || {
		e2e_show "query_pairs $1" "$E2E_TMP/$1-pairs.txt"
		e2e_die "query_pairs failed ($1)"
	}
	cat "$E2E_TMP/$1-pairs.txt"
}

# qps_packets COND RUN: one run of the pair stream under COND; appends
# "packets COND pairs RUN kpps - - cpu_us busy sent lost queued seen".
qps_packets() {
	qps_condition_start "$1" "packets-$1-r$2"
	qps_rule0=$(e2e_rule_queued)
	qps_id0=$(e2e_queue_field 8)
	qps_cpu0=
	[ -z "$QPS_PROG_PID" ] || qps_cpu0=$(qps_cpu "$QPS_PROG_PID")
	qps_marked0=$(qps_marked)
	qps_out=$(qps_pairs "packets-$1-r$2" --seconds "$QPS_PACKET_SECONDS" \
	    --window "$QPS_PACKET_WINDOW")
	qps_cpu1=
	[ -z "$QPS_PROG_PID" ] || qps_cpu1=$(qps_cpu "$QPS_PROG_PID")
	qps_rule1=$(e2e_rule_queued)
	qps_id1=$(e2e_queue_field 8)
	qps_marked1=$(qps_marked)
	qps_condition_stop "$1"
	# shellcheck disable=SC2086 # "sent N received N lost N seconds S cpu S"
	set -- "$1" "$2" $qps_out
	awk -v c="$1" -v r="$2" -v sent="$4" -v got="$6" -v lost="$8" -v s="${10}" \
	    -v sender="${12}" -v cpu="${qps_cpu0:+$((qps_cpu1 - qps_cpu0))}" \
	    -v tck="$QPS_TICKS" -v rq=$((qps_rule1 - qps_rule0)) \
	    -v pq=$((${qps_id1:-0} - ${qps_id0:-0})) \
	    -v m0="$qps_marked0" -v m1="$qps_marked1" \
	    -v results="$E2E_TMP/results" 'BEGIN {
		us = cpu == "" || got == 0 ? "-" : sprintf("%.3f", cpu / tck * 1e6 / got)
		busy = cpu == "" ? "-" : sprintf("%.0f", 100 * cpu / tck / s)
		printf "packets %s pairs %d %.1f - - %s %s %d %d %d %d %s\n", c, r,
		    got / s / 1000, us, busy, sent, lost, rq, pq,
		    marked(m0, m1) >>results
		printf "  packets %-22s run %d: %7.1f kpps, CPU %s us/packet (%s %%), sender CPU %.0f %%, lost %d\n",
		    c, r, got / s / 1000, us, busy, 100 * sender / s, lost
	}'"$QPS_AWK_MARKED"
}

# qps_memory PENDING: dnsmark (QPS_MEMORY_MODE) with --max-pending PENDING
# ("default": its own default), flooded with unique client names until
# its table is full (the names wait a minute, so none expires meanwhile;
# at most a minute); appends "memory PENDING tables_bytes pending
# rss_start rss_full" (KiB) to the memory results.
qps_memory() {
	qps_rules "$QPS_MEMORY_MODE"
	qps_prom=$E2E_TMP/memory-$1.prom
	qps_opt=
	[ "$1" = default ] || qps_opt="--max-pending $1"
	# shellcheck disable=SC2086 # no option or two words
	qps_program_start dnsmark "$QPS_MEMORY_MODE" "memory-$1" $qps_opt \
	    --timeout 60 --stats-file "$qps_prom" --stats-interval 3600 ||
	    e2e_die "dnsmark did not start (memory, --max-pending $1)"
	e2e_wait_until 50 grep -q 'tables: [0-9]* bytes' "$QPS_PROG_LOG"
	# shellcheck disable=SC2046 # two numbers
	set -- "$1" $(sed -n 's/.*at most \([0-9]*\) pending (tables: \([0-9]*\) bytes).*/\1 \2/p' \
	    "$QPS_PROG_LOG" | head -n 1)
	[ -n "${3:-}" ] || {
		e2e_show dnsmark "$QPS_PROG_LOG"
		e2e_die "dnsmark logged no 'at most N pending (tables: B bytes)'"
	}
	qps_rss0=$(e2e_rss "$QPS_PROG_PID")
	qps_pairs_command "memory-$1"
	e2e_spawn "$E2E_NS_GW" "$E2E_TMP/memory-$1-pairs.txt" \
	    "${QPS_PAIRS_CMD[@]}" --clients-only --window "$QPS_PACKET_WINDOW" \
	    --seconds 60
	qps_flood_pid=$E2E_LAST_PID
	qps_pending=0
	while [ "${qps_pending:-0}" -lt "$2" ] && kill -0 "$qps_flood_pid" 2>/dev/null; do
		sleep 0.3
		kill -USR1 "$QPS_PROG_PID"
		sleep 0.2
		qps_pending=$(e2e_metric "$qps_prom" dnsmark_pending)
	done
	qps_rss1=$(e2e_rss "$QPS_PROG_PID")
	e2e_stop "$qps_flood_pid" || {
		e2e_show "query_pairs" "$E2E_TMP/memory-$1-pairs.txt"
		e2e_die "query_pairs failed (memory-$1)"
	}
	qps_program_stop
	echo "memory $2 $3 ${qps_pending:-0} ${qps_rss0:-0} ${qps_rss1:-0}" \
	    >>"$E2E_TMP/memory"
	awk '{ printf "  memory  --max-pending %s: tables %d bytes, pending %d, RSS %d KiB at start, %d KiB full\n",
	    $2, $3, $4, $5, $6 }' <"$E2E_TMP/memory" | tail -n 1
}

# qps_dnsperf LABEL FILE ARGS...: one bounded dnsperf run from the client,
# every answer's latency in its report (-v).
qps_dnsperf() {
	qps_label=$1
	qps_file=$2
	shift 2
	e2e_dnsperf_start "$qps_label" "$QPS_CLIENT" -d "$qps_file" -T 1 -t 2 "$@"
	e2e_dnsperf_wait $((QPS_SECONDS + 30)) ||
	    e2e_warn "dnsperf $qps_label: exit status $?"
}

# qps_measure BENCH COND WORKLOAD RUN: one measured dnsperf run (WORKLOAD
# hits or misses, at full speed, or hits@rate / misses@rate at
# QPS_FIXED_RATE); appends "bench cond workload run qps mean_ms p99_ms
# cpu_us busy sent lost queued seen marked judged" to the results.
qps_measure() {
	qps_tag=$1-$3-$2-$4
	qps_tag=${qps_tag//@/-}
	qps_probe_file=
	if [ "${3%@rate}" = hits ]; then
		qps_file=$E2E_TMP/hits.txt
		qps_probe_file=$qps_file
		# Warm (again: misses evict).
		qps_dnsperf "warm-$qps_tag" "$qps_file" -n 2 -c 1 -q 50
	else
		qps_file=$E2E_TMP/misses-$qps_tag.txt
		e2e_query_file "$qps_file" $((QPS_MISS_RATE * QPS_SECONDS)) \
		    "m$4-$2-${3%@rate}"
		qps_probe_file=$E2E_TMP/probe-$qps_tag.txt
		e2e_query_file "$qps_probe_file" $((QPS_PROBE_RATE * QPS_SECONDS * 2)) \
		    "p$4-$2-${3%@rate}"
	fi
	# At full speed, dnsperf -v (a line per answer) would cost dnsperf a
	# fifth of its rate: the latencies come from a probe beside it, a
	# second dnsperf at QPS_PROBE_RATE whose queries wait in the same
	# queues. At the fixed rate, dnsperf -v itself.
	qps_probe_out=
	case $3 in
	*@rate) set -- "$@" -Q "$QPS_FIXED_RATE" -v ;;
	*)
		qps_probe_out=$E2E_TMP/probe-$qps_tag-dnsperf.txt
		e2e_spawn "$E2E_NS_CLIENT" "$qps_probe_out" dnsperf \
		    -s "$E2E_GW_V4" -a "$QPS_CLIENT" -d "$qps_probe_file" \
		    -T 1 -t 2 -l "$QPS_SECONDS" -c 1 -q 20 \
		    -Q "$QPS_PROBE_RATE" -v
		qps_probe_pid=$E2E_LAST_PID
		;;
	esac
	qps_rule0=$(e2e_rule_queued)
	qps_id0=$(e2e_queue_field 8)
	qps_marked0=$(qps_marked)
	qps_cpu0=
	[ -z "$QPS_PROG_PID" ] || qps_cpu0=$(qps_cpu "$QPS_PROG_PID")
	qps_dnsperf "$qps_tag" "$qps_file" -l "$QPS_SECONDS" \
	    -c "$QPS_CLIENTS" -q "$QPS_OUTSTANDING" "${@:5}"
	qps_cpu1=
	[ -z "$QPS_PROG_PID" ] || qps_cpu1=$(qps_cpu "$QPS_PROG_PID")
	qps_rule1=$(e2e_rule_queued)
	qps_id1=$(e2e_queue_field 8)
	qps_marked1=$(qps_marked)
	[ "${3%@rate}" = misses ] && rm -f "$qps_file" "$qps_probe_file"
	if [ -n "$qps_probe_out" ]; then
		wait "$qps_probe_pid" || e2e_warn "latency probe $qps_tag: exit status $?"
		e2e_forget "$qps_probe_pid"
	else
		qps_probe_out=$E2E_DNSPERF_OUT
	fi
	qps_p99=$(awk '/Queries sent:/ { print $3; exit }' "$qps_probe_out" |
	    qps_p99_of "$qps_probe_out")
	[ "$qps_probe_out" = "$E2E_DNSPERF_OUT" ] || rm -f "$qps_probe_out"
	awk -v b="$1" -v c="$2" -v w="$3" -v r="$4" -v p99="$qps_p99" \
	    -v cpu="${qps_cpu0:+$((qps_cpu1 - qps_cpu0))}" -v tck="$QPS_TICKS" \
	    -v rq=$((qps_rule1 - qps_rule0)) \
	    -v pq=$((${qps_id1:-0} - ${qps_id0:-0})) \
	    -v m0="$qps_marked0" -v m1="$qps_marked1" '
	/Queries sent:/ { sent = $3 }
	/Queries completed:/ { done = $3 }
	/Queries lost:/ { lost = $3 }
	/Queries per second:/ { qps = $4 }
	/Run time \(s\):/ { secs = $4 }
	/Average Latency \(s\):/ { mean = $4 }
	END {
		if (qps == "") exit 1
		us = cpu == "" || done == 0 ? "-" : sprintf("%.3f", cpu / tck * 1e6 / done)
		busy = cpu == "" || secs == 0 ? "-" : sprintf("%.0f", 100 * cpu / tck / secs)
		printf "%s %s %s %s %s %.6f %s %s %s %d %d %d %d %s\n", b, c, w, r,
		    qps, mean * 1000, p99, us, busy, sent, lost, rq, pq,
		    marked(m0, m1)
	}'"$QPS_AWK_MARKED" "$E2E_DNSPERF_OUT" >>"$E2E_TMP/results" || {
		e2e_show "dnsperf $qps_tag" "$E2E_DNSPERF_OUT"
		e2e_die "no report from dnsperf ($qps_tag)"
	}
	if [ "${3%@rate}" = misses ]; then
		awk -v n=$((QPS_MISS_RATE * QPS_SECONDS)) \
		    '/Queries sent:/ && $3 > n { exit 1 }' "$E2E_DNSPERF_OUT" ||
		    e2e_warn "$qps_tag: more queries than unique names" \
		    "($((QPS_MISS_RATE * QPS_SECONDS))): raise QPS_MISS_RATE"
	fi
	rm -f "$E2E_DNSPERF_OUT"
	tail -n 1 "$E2E_TMP/results" | awk '{
		printf "  %-7s %-12s %-17s run %s: %7.0f qps, mean %.3f ms, p99 %s ms, lost %d%s\n",
		    $1, $3, $2, $4, $5, $6, $7 == "lost" ? $7 : sprintf("%.3f", $7), $11,
		    ($15 > 0 ? sprintf(", marked %d of %d upstream", $14, $15) : "") }'
}

# qps_p99_of REPORT: the 99th percentile of the latencies dnsperf -v
# printed ("> NOERROR name type seconds"), in ms, with the number of
# queries sent on stdin; a lost query counts as slower than any answer
# ("lost" when the percentile falls among them).
qps_p99_of() {
	read -r qps_sent
	awk '$1 == ">" && NF >= 5 && $NF ~ /^[0-9.]+$/ { print $NF }' "$1" |
	    sort -g | awk -v sent="${qps_sent:-0}" '
	BEGIN { k = int(sent * 0.99); if (k < sent * 0.99) k++ }
	NR == k { printf "%.6f\n", $1 * 1000; found = 1; exit }
	END { if (!found) print (sent > 0 ? "lost" : "-") }'
}

# qps_run_order RUN CONDITIONS: the conditions in the order of run RUN,
# as given on odd runs and reversed on even ones (A B C, C B A, ...).
qps_run_order() {
	if [ $(($1 % 2)) -eq 0 ]; then
		echo "$2" | tr ' ' '\n' | tac | tr '\n' ' '
	else
		echo "$2"
	fi
}

# qps_rounds BENCH WORKLOADS CONDITIONS: QPS_RUNS runs of every condition,
# interleaved (A B C, C B A, ...), each measuring WORKLOADS in turn
# (WORKLOAD@rate only under "none", "user", the default mode's conditions
# and the dnsmark of queue mode and of the bpf modes, bpfqueue and bpffiled
# when QPS_MODES names them, which split the fast path's tail: the user's
# rows show what their marking rules and conntrack alone do to the tail).
qps_rounds() {
	qps_bench=$1
	qps_workloads=$2
	qps_round=$3
	for qps_run in $(seq 1 "$QPS_RUNS"); do
		qps_order=$(qps_run_order "$qps_run" "$qps_round")
		e2e_say "$qps_bench run $qps_run of $QPS_RUNS: $qps_order"
		for qps_c in $qps_order; do
			qps_round_start "$qps_bench" "$qps_c" "r$qps_run"
			for qps_w in $qps_workloads; do
				case $qps_w@$qps_c in
				*@rate@none | *@rate@user | *@rate@*-$QPS_DEFAULT_MODE) ;;
				*@rate@dnsmark-queue | *@rate@dnsmark-bpf*) ;;
				*@rate@*) continue ;;
				esac
				qps_measure "$qps_bench" "$qps_c" "$qps_w" "$qps_run"
				qps_conntrack_check
			done
			qps_round_stop "$qps_bench" "$qps_c"
		done
	done
}

# qps_round_start BENCH COND LABEL / qps_round_stop BENCH COND: unbound
# runs throughout; dnsmasq starts afresh for each condition (with
# --conntrack or without), in the resolver's cgroup.
qps_round_start() {
	if [ "$1" = unbound ]; then
		qps_condition_start "$2" "$3-$2"
		return
	fi
	if [ "$2" = conntrack ]; then
		qps_condition_start conntrack "$3-$2"
		qps_in_cgroup e2e_resolver_start dnsmasq "$3-$2" --conntrack
	else
		qps_condition_start "dnsmark-${2#*-}" "$3-$2"
		qps_in_cgroup e2e_resolver_start dnsmasq "$3-$2"
	fi
}

qps_round_stop() {
	[ "$1" = unbound ] || e2e_resolver_stop
	qps_condition_stop "$2"
}

# qps_conntrack_check: warn when the gateway's connection table nears its
# limit (new flows would be dropped: a miss is a new flow).
qps_conntrack_check() {
	qps_ct=$(e2e_in "$E2E_NS_GW" conntrack -C 2>/dev/null)
	qps_ct_max=$(e2e_in "$E2E_NS_GW" cat /proc/sys/net/netfilter/nf_conntrack_max 2>/dev/null)
	[ -n "$qps_ct" ] && [ -n "$qps_ct_max" ] && [ "$qps_ct_max" -gt 0 ] || return 0
	[ "$qps_ct" -lt $((qps_ct_max * 8 / 10)) ] ||
	    e2e_warn "the gateway's connection table holds $qps_ct flows of $qps_ct_max: lower QPS_SECONDS"
}

qps_conditions_print() {
	e2e_say "dnsmark benchmark (make bench: test/bench/qps.sh)"
	e2e_say "  machine:  $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) CPUs online, $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	e2e_say "  kernel:   $(uname -r)"
	e2e_say "  dnsmark:  $("$DNSMARK" --version 2>/dev/null) ($(git -C "$e2e_top" describe --always --dirty 2>/dev/null || echo 'no git')), $(cc --version 2>/dev/null | head -n 1), ldns $(pkg-config --modversion ldns 2>/dev/null || echo '?')"
	e2e_say "  tools:    unbound $(unbound -V 2>/dev/null | awk 'NR == 1 { print $2 }'), nsd $(nsd -v 2>&1 | awk 'NR == 1 { print $3 }'), dnsmasq $(dnsmasq --version | awk 'NR == 1 { print $3 }'), dnsperf $(dnsperf -h 2>&1 | awk '/^Version/ { print $2 }')"
	e2e_say "  load:     $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at the start"
	for qps_m in $QPS_MODES; do
		qps_ok=${QPS_MODE_STATUS[$qps_m]}
		[ "$qps_ok" = built ] && [ "${QPS_NULL_STATUS[$qps_m]}" != built ] &&
		    qps_ok="$qps_ok; null program ${QPS_NULL_STATUS[$qps_m]}"
		e2e_say "  mode:     $qps_m: $qps_ok"
	done
	e2e_say "  packets:  query_pairs from $QPS_CLIENT (mark 1) to $E2E_GW_V4:53 and from the gateway to $QPS_SINK_V4:53, unique names, $QPS_PACKET_WINDOW packets in flight, ${QPS_PACKET_SECONDS} s a run, $QPS_PACKET_RUNS runs interleaved"
	e2e_say "  default:  $QPS_DEFAULT_MODE mode (p99 at a fixed rate, dnsmasq)"
	if [ ${#QPS_NULL_MARK[@]} -gt 0 ]; then
		e2e_say "  null:     null_queue ${QPS_NULL_MARK[*]}: every packet accepted, the upstream queries with the client's mark (as dnsmark)"
	else
		e2e_say "  null:     null_queue: every packet accepted unchanged"
	fi
	e2e_say "  memory:   $QPS_MEMORY_MODE mode, --max-pending $QPS_MEM_PENDING, flooded with unique client names (query_pairs --clients-only)"
	e2e_say "  dnsperf:  from $QPS_CLIENT (mark 1), -T 1 -c $QPS_CLIENTS -q $QPS_OUTSTANDING -t 2, $QPS_SECONDS s a run, $QPS_RUNS runs interleaved; latency probe beside it: -c 1 -q 20 -Q $QPS_PROBE_RATE -v; fixed rate: -Q $QPS_FIXED_RATE -v"
	e2e_say "  unbound:  one thread, iterator only, no query log, forwarding to NSD ($E2E_AUTH_V4, rate limiting off), in cgroup ${E2E_CGROUP:-(none)}"
	e2e_say "  dnsmasq:  forwarding to NSD over IPv6 ($E2E_AUTH_V6), no query log; cache misses only"
	e2e_say "  workloads: hits: $QPS_HIT_NAMES names, warmed before each run; misses: unique names under *.$E2E_ZONE ($((QPS_MISS_RATE * QPS_SECONDS)) a run)"
	if pgrep -f '\.ci/run' >/dev/null 2>&1; then
		e2e_say "  WARNING:  a CI run (.ci/run) is active on this machine: figures are noisy"
	fi
}

# qps_report: the table. Medians per benchmark, workload and condition;
# "vs base" against the user's marking rules alone (packets, unbound; no
# rules where QPS_CONDITIONS leaves them out) or dnsmasq --conntrack
# (dnsmasq), "vs none" against no rules, "vs null" against the same mode's
# null program; the targets
# of QPS_TARGETS checked where they apply.
qps_report() {
	e2e_say ""
	e2e_say "Medians of $QPS_RUNS interleaved runs (packets: $QPS_PACKET_RUNS). rate: kpps"
	e2e_say "(packets) or qps (dnsperf). p99: 99th percentile latency, lost queries"
	e2e_say "counted as slowest: of a probe beside each full-speed run (a second"
	e2e_say "dnsperf, -Q $QPS_PROBE_RATE -v), of every query at -Q $QPS_FIXED_RATE (workloads @$QPS_FIXED_RATE)."
	e2e_say "cpu us: the program's CPU time (user + system, /proc/PID/stat) per packet"
	e2e_say "(packets) or per answered query; cpu%: of one CPU. vs base: rate against"
	e2e_say "the user's marking rules alone, what an operator compares against (dnsmasq:"
	e2e_say "against --conntrack; p99 rises too); vs none: against no rules. vs null: against the same"
	e2e_say "mode's null program; for packets, packets per CPU second (the program's"
	e2e_say "capacity: the sender sets the rate when cpu% < 100). unseen: packets the"
	e2e_say "NFQUEUE rules passed without handing them to the program (fail-open), in"
	e2e_say "% of those they queued. marked: upstream queries given a client's mark, in"
	e2e_say "% of those dnsmark judged (dnsmasq --conntrack: of the upstream flows);"
	e2e_say "kernel: marked by the kernel fast path (bpf mode), in % of those judged."
	e2e_say ""
	awk -v conds="$qps_conds conntrack dnsmasq-$QPS_DEFAULT_MODE" \
	    -v targets="$QPS_TARGETS" -v memory="$E2E_TMP/memory" \
	    -v fixed="$QPS_FIXED_RATE" '
	function median(key, m,    n, i, j, t, a) {
		n = count[key]
		if (n == 0) return ""
		for (i = 1; i <= n; i++) {
			a[i] = val[key, m, i]
			if (a[i] == "lost") a[i] = 1e12
			for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
				t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
			}
		}
		if (a[1] == "-") return "-"
		t = n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
		return t >= 1e12 ? "lost" : t
	}
	function ratio(a, b) {
		return (a == "" || b == "" || a == "-" || b == "-" || b == 0) ? "" : a / b
	}
	function fmt(v, f) {
		return (v == "" || v == "-" || v == "lost") ? (v == "lost" ? v : "-") : sprintf(f, v)
	}
	function label(c,    m) {
		m = c; sub(/^[a-z]*-/, "", m)
		if (c == "none") return "no rules"
		if (c == "user") return "user\047s marking rules only"
		if (c ~ /^null-/) return m ": rules + null program"
		if (c ~ /^dnsmark-/) return m ": rules + dnsmark"
		if (c == "conntrack") return "dnsmasq --conntrack"
		if (c ~ /^dnsmasq-/) return "dnsmasq + dnsmark (" m ")"
		return c
	}
	# target(bench, cond, workload, values...): "" or "op value: met/MISSED"
	function target(b, c, w, vb, vn, rise, p99r, kp,    i, f, v, ok, out) {
		out = ""
		for (i = 1; i <= ntargets; i++) {
			split(tlines[i], f, " ")
			if (f[1] != b || f[3] != w) continue
			if (!(c == f[2] || (f[2] ~ /\*$/ && index(c, substr(f[2], 1, length(f[2]) - 1)) == 1)))
				continue
			v = f[4] == "vs_base" ? vb : f[4] == "vs_null" ? vn : \
			    f[4] == "p99_ratio" ? p99r : f[4] == "kernel_pct" ? kp : rise
			if (v == "") { out = out f[4] " " f[5] " " f[6] ": -"; continue }
			ok = f[5] == ">=" ? v >= f[6] : v <= f[6]
			out = out (f[4] == "p99_rise" ? sprintf("p99 %+.0f us", v * 1000) " (<= " f[6] * 1000 " us)" : \
			    f[4] " " f[5] " " f[6]) (ok ? ": met" : ": MISSED")
		}
		return out
	}
	BEGIN {
		ntargets = split(targets, tl, "\n")
		j = 0
		for (i = 1; i <= ntargets; i++) if (tl[i] ~ /[^ ]/) tlines[++j] = tl[i]
		ntargets = j
		ncond = split(conds, order, " ")
	}
	{
		key = $1 SUBSEP $3 SUBSEP $2
		if (!(key in count)) { count[key] = 0 }
		n = ++count[key]
		for (m = 5; m <= 9; m++) val[key, m, n] = $m
		sent[key] += $10; lost[key] += $11; rq[key] += $12; pq[key] += $13
		if ($14 != "-") { marked[key] += $14; judged[key] += $15 }
		if ($16 != "-" && $16 != "") { kernel[key] += $16; haskernel[key] = 1 }
		if (!(($1 SUBSEP $3) in seenw)) { seenw[$1 SUBSEP $3] = 1; wl[$1] = wl[$1] " " $3 }
	}
	END {
		printf "%-8s %-11s %-28s %11s %8s %8s %7s %5s %7s %7s %7s %6s %7s %7s %7s  %s\n", "bench", "workload",
		    "condition", "rate", "mean ms", "p99 ms", "cpu us", "cpu%", "vs base", "vs none", "vs null",
		    "lost%", "unseen%", "marked%", "kernel%", "target"
		nb = split("packets memory unbound dnsmasq", benches, " ")
		for (bi = 1; bi <= nb; bi++) {
			b = benches[bi]
			if (b == "memory") {
				while ((getline line < memory) > 0) {
					split(line, f, " ")
					printf "%-8s %-11s %-28s %s\n", "memory", "unique", \
					    "--max-pending " f[2], sprintf("tables %d bytes: %.0f bytes per pending question; RSS %.1f MiB at start, %.1f MiB with %d pending", \
					    f[3], f[3] / f[2], f[5] / 1024, f[6] / 1024, f[4])
				}
				continue
			}
			nw = split(wl[b], ws, " ")
			for (wi = 1; wi <= nw; wi++) {
				w = ws[wi]
				# The operator baseline: their own marking rules
				# (conntrack, CONNMARK) without those of dnsmark; no rules
				# at all as a second column.
				base = b == "dnsmasq" ? "conntrack" : "user"
				bk = b SUBSEP w SUBSEP base
				if (!(bk in count)) { base = "none"; bk = b SUBSEP w SUBSEP base }
				zk = b SUBSEP w SUBSEP "none"
				for (ci = 1; ci <= ncond; ci++) {
					c = order[ci]
					key = b SUBSEP w SUBSEP c
					if (!(key in count)) continue
					mode = c; sub(/^[a-z]*-/, "", mode)
					nk = b SUBSEP w SUBSEP "null-" mode
					rate = median(key, 5); mean = median(key, 6); p99 = median(key, 7)
					cpu = median(key, 8); busy = median(key, 9)
					vb = ratio(rate, median(bk, 5))
					vz = b == "dnsmasq" ? "" : ratio(rate, median(zk, 5))
					vn = ""
					if (c ~ /^dnsmark-/ && (nk in count))
						vn = b == "packets" ? ratio(median(nk, 8), cpu) : ratio(rate, median(nk, 5))
					rise = p99r = ""
					if (c != base && p99 != "lost" && median(bk, 7) != "lost" && p99 != "" && p99 != "-") {
						rise = p99 - median(bk, 7)
						p99r = ratio(p99, median(bk, 7))
					}
					unseen = (c ~ /^(null|dnsmark|dnsmasq)-/ && rq[key] > 0) ? \
					    sprintf("%.2f", rq[key] > pq[key] ? 100 * (rq[key] - pq[key]) / rq[key] : 0) : "-"
					kp = (haskernel[key] && judged[key]) ? 100 * kernel[key] / judged[key] : ""
					shown = w
					sub(/@rate$/, "@" fixed, shown)
					printf "%-8s %-11s %-28s %11s %8s %8s %7s %5s %7s %7s %7s %6.2f %7s %7s %7s  %s\n", b, shown, label(c), \
					    b == "packets" ? sprintf("%.1f kpps", rate) : sprintf("%.0f qps", rate), \
					    fmt(mean, "%.3f"), fmt(p99, "%.3f"), fmt(cpu, "%.2f"), fmt(busy, "%.0f"), \
					    fmt(vb, "%.3f"), fmt(vz, "%.3f"), fmt(vn, "%.3f"), \
					    sent[key] ? 100 * lost[key] / sent[key] : 0, unseen, \
					    judged[key] ? sprintf("%.2f", 100 * marked[key] / judged[key]) : "-", \
					    fmt(kp, "%.2f"), target(b, c, w, vb, vn, rise, p99r, kp)
				}
			}
		}
	}' "$E2E_TMP/results"
}

qps_cgroup_make
qps_bpffs_mount
qps_modes_check
: >"$E2E_TMP/results"
: >"$E2E_TMP/memory"
E2E_NSD_OPTIONS=$(printf '\trrl-ratelimit: 0\n\trrl-whitelist-ratelimit: 0')
E2E_FORWARD_V4=$E2E_AUTH_V4
E2E_FORWARD_V6=$E2E_AUTH_V6
E2E_LOG_QUERIES=no
e2e_net_up
ip -n "$E2E_NS_UP" addr add "$QPS_SINK_V4/24" dev up0 ||
    e2e_die "cannot add $QPS_SINK_V4 upstream"
e2e_upstream_start
qps_modes_try
qps_default_mode
qps_targets
qps_conditions_print
qps_t0=$(date +%s)
qps_times=

# The conditions of the dnsperf benchmarks: no rules, the user's marking
# rules alone (connection tracking and CONNMARK, what every mode needs
# before dnsmark adds anything), and each built mode's null program (where
# built) and dnsmark.
qps_conds="none user"
for qps_m in $QPS_BUILT; do
	[ "${QPS_NULL_STATUS[$qps_m]}" = built ] && qps_conds="$qps_conds null-$qps_m"
	qps_conds="$qps_conds dnsmark-$qps_m"
done
qps_conds=${QPS_CONDITIONS:-$qps_conds}

# The benchmarks, each unless QPS_SKIP names it, timed.
qps_bench_packets() {
	for qps_run in $(seq 1 "$QPS_PACKET_RUNS"); do
		qps_order=$(qps_run_order "$qps_run" "$qps_conds")
		e2e_say "packets run $qps_run of $QPS_PACKET_RUNS: $qps_order"
		for qps_c in $qps_order; do
			qps_packets "$qps_c" "$qps_run"
		done
	done
}

qps_bench_memory() {
	for qps_n in $QPS_MEM_PENDING; do
		qps_memory "$qps_n"
	done
}

qps_bench_unbound() {
	qps_in_cgroup e2e_resolver_start unbound gw
	awk -v n="$QPS_HIT_NAMES" -v base="hits-r$E2E_RUN.$E2E_ZONE" '
	BEGIN { for (i = 0; i < n; i++) printf "h%d.%s A\n", i, base }' \
	    >"$E2E_TMP/hits.txt" || e2e_die "cannot write the hits file"
	qps_rounds unbound "${QPS_WORKLOADS:-hits misses hits@rate misses@rate}" "$qps_conds"
	e2e_resolver_stop
}

qps_bench_dnsmasq() {
	qps_rounds dnsmasq misses "conntrack dnsmasq-$QPS_DEFAULT_MODE"
}

for qps_b in packets memory unbound dnsmasq; do
	case " $QPS_SKIP " in
	*" $qps_b "*) continue ;;
	esac
	qps_t1=$(date +%s)
	case $qps_b in
	packets) qps_bench_packets ;;
	memory) qps_bench_memory ;;
	unbound) qps_bench_unbound ;;
	dnsmasq) qps_bench_dnsmasq ;;
	esac
	qps_times="$qps_times $qps_b $(($(date +%s) - qps_t1)) s,"
done
qps_report
e2e_say ""
e2e_say "load at the end: $(cut -d' ' -f1-3 /proc/loadavg);$qps_times $(($(date +%s) - qps_t0)) s in all (bed: $(e2e_elapsed) s)"
exit 0
