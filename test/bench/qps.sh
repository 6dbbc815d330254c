#!/usr/bin/env bash
# test/bench/qps.sh: queries per second through a real unbound on the
# gateway of the end-to-end bed (test/e2e/lib.sh), dnsperf in the client
# namespace, under five conditions measured in the same run, interleaved
# (A B C D E, E D C B A, ...): no rules at all in the gateway's mangle table;
# the user's marking rules only; those plus dnsmark's shipped rules with
# nothing bound (--queue-bypass passes everything); the same with the null
# program bound (test/bench/null_queue: dnsmark's queue code, every packet
# accepted unchanged); the same with dnsmark bound. Two workloads: cache
# hits (a fixed set of names, warmed before each run) and cache misses
# (names never asked before, under the wildcard zone). Prints its
# conditions, the medians and the ratios against "no rules" and against the
# null program. It changes nothing outside the namespaces it creates and
# ends only the processes it started.
#
# Environment: as test/e2e/lib.sh (DNSMARK, RULES_DIR, E2E_DIR), plus
# NULL_QUEUE (the null program), QPS_RUNS (runs per condition and
# workload, 5), QPS_SECONDS (seconds per run, 5), QPS_CLIENTS (dnsperf -c,
# 4), QPS_OUTSTANDING (dnsperf -q, 100), QPS_HIT_NAMES (1000).
#
# Exit status 77 (skip) without root, dnsperf or the programs.

E2E_DIR=${E2E_DIR:-$(cd "$(dirname "$0")/../e2e" && pwd)}
# shellcheck source=../e2e/lib.sh
. "$E2E_DIR/lib.sh"

QPS_RUNS=${QPS_RUNS:-5}
QPS_SECONDS=${QPS_SECONDS:-5}
QPS_CLIENTS=${QPS_CLIENTS:-4}
QPS_OUTSTANDING=${QPS_OUTSTANDING:-100}
QPS_HIT_NAMES=${QPS_HIT_NAMES:-1000}
# Unique names per cache-miss run: dnsperf starts the file again when it
# runs out, and the names asked again would be hits.
QPS_MISS_NAMES=$((QPS_SECONDS * 30000))
QPS_CLIENT=192.0.2.10
QPS_CONDITIONS="none user rules null dnsmark"

[ "$(id -u)" -eq 0 ] || e2e_skip "needs root (network namespaces, netfilter)"
command -v dnsperf >/dev/null 2>&1 || e2e_skip "missing tools: dnsperf (package dnsperf)"
e2e_init qps
NULL_QUEUE=${NULL_QUEUE:-$e2e_top/test/bench/null_queue}
[ -x "$NULL_QUEUE" ] ||
    e2e_skip "no null program at $NULL_QUEUE (make test/bench/null_queue, or set NULL_QUEUE)"

qps_label() {
	case $1 in
	none) echo "no rules at all" ;;
	user) echo "user's marking rules only" ;;
	rules) echo "rules, nothing bound" ;;
	null) echo "rules + null program" ;;
	dnsmark) echo "rules + dnsmark" ;;
	esac
}

# qps_rules none|user|all: the gateway's mangle table (IPv4 and IPv6) holds
# nothing, the user's marking rules, or those and the shipped rules. With
# no rule left that needs it, the namespace's conntrack hooks go too.
QPS_RULES="unset"
qps_rules() {
	[ "$QPS_RULES" = "$1" ] && return 0
	for qps_tool in iptables ip6tables; do
		e2e_in "$E2E_NS_GW" "$qps_tool" -t mangle -F
		e2e_in "$E2E_NS_GW" "$qps_tool" -t mangle -X
	done
	if [ "$1" != none ]; then
		e2e_user_rules 4 | e2e_in "$E2E_NS_GW" iptables-restore --noflush ||
		    e2e_die "user rules (IPv4) failed to load"
		e2e_user_rules 6 | e2e_in "$E2E_NS_GW" ip6tables-restore --noflush ||
		    e2e_die "user rules (IPv6) failed to load"
	fi
	if [ "$1" = all ]; then
		e2e_in "$E2E_NS_GW" iptables-restore --noflush \
		    <"$RULES_DIR/iptables-v4.rules" || e2e_die "shipped IPv4 rules failed"
		e2e_in "$E2E_NS_GW" ip6tables-restore --noflush \
		    <"$RULES_DIR/iptables-v6.rules" || e2e_die "shipped IPv6 rules failed"
	fi
	QPS_RULES=$1
}

# qps_null_start LABEL: the null program on the bed's queue, bound.
qps_null_start() {
	QPS_NULL_LOG=$E2E_TMP/$1-null.log
	e2e_spawn "$E2E_NS_GW" "$QPS_NULL_LOG" "$NULL_QUEUE" "$E2E_QUEUE"
	QPS_NULL_PID=$E2E_LAST_PID
	e2e_wait_until 50 e2e_queue_bound || {
		e2e_show "null program" "$QPS_NULL_LOG"
		e2e_die "the null program did not bind queue $E2E_QUEUE"
	}
}

# qps_condition_start COND LABEL / qps_condition_stop COND
qps_condition_start() {
	case $1 in
	none) qps_rules none ;;
	user) qps_rules user ;;
	*) qps_rules all ;;
	esac
	case $1 in
	null) qps_null_start "$2" ;;
	dnsmark) e2e_dnsmark_start "$2" ;;
	esac
	if [ "$1" != null ] && [ "$1" != dnsmark ] && e2e_queue_bound; then
		e2e_die "queue $E2E_QUEUE is bound under condition $1"
	fi
}

qps_condition_stop() {
	case $1 in
	null) e2e_stop "$QPS_NULL_PID" || e2e_warn "null program exited non-zero" ;;
	dnsmark) e2e_dnsmark_stop || e2e_warn "dnsmark exited non-zero" ;;
	esac
}

# qps_dnsperf LABEL FILE ARGS...: one bounded dnsperf run from the client.
qps_dnsperf() {
	qps_label=$1
	qps_file=$2
	shift 2
	e2e_dnsperf_start "$qps_label" "$QPS_CLIENT" -d "$qps_file" -T 1 -t 2 "$@"
	e2e_dnsperf_wait $((QPS_SECONDS + 30)) ||
	    e2e_warn "dnsperf $qps_label: exit status $?"
}

# qps_measure COND WORKLOAD RUN: one measured run; appends "cond workload
# run qps mean_s stddev_s sent lost queued_by_rules queued_to_program" to
# the results.
qps_measure() {
	qps_c=$1
	qps_w=$2
	qps_r=$3
	qps_tag=$qps_w-$qps_c-$qps_r
	if [ "$qps_w" = hits ]; then
		qps_file=$E2E_TMP/hits.txt
		# Warm (again: the names' TTL is 300 s and misses evict).
		qps_dnsperf "warm-$qps_tag" "$qps_file" -n 2 -c 1 -q 50
	else
		qps_file=$E2E_TMP/misses-$qps_tag.txt
		e2e_query_file "$qps_file" "$QPS_MISS_NAMES" "m$qps_r-$qps_c"
	fi
	qps_rule0=$(e2e_rule_queued)
	qps_id0=$(e2e_queue_field 8)
	qps_dnsperf "$qps_tag" "$qps_file" -l "$QPS_SECONDS" \
	    -c "$QPS_CLIENTS" -q "$QPS_OUTSTANDING"
	qps_rule1=$(e2e_rule_queued)
	qps_id1=$(e2e_queue_field 8)
	[ "$qps_w" = misses ] && rm -f "$qps_file"
	awk -v c="$qps_c" -v w="$qps_w" -v r="$qps_r" \
	    -v rq=$((qps_rule1 - qps_rule0)) \
	    -v pq=$((${qps_id1:-0} - ${qps_id0:-0})) '
	/Queries sent:/ { sent = $3 }
	/Queries lost:/ { lost = $3 }
	/Queries per second:/ { qps = $4 }
	/Average Latency \(s\):/ { mean = $4 }
	/Latency StdDev \(s\):/ { sd = $4 }
	END {
		if (qps == "") exit 1
		printf "%s %s %s %s %s %s %d %d %d %d\n", c, w, r, qps, mean,
		    sd, sent, lost, rq, pq
	}' "$E2E_DNSPERF_OUT" >>"$E2E_TMP/results" || {
		e2e_show "dnsperf $qps_tag" "$E2E_DNSPERF_OUT"
		e2e_die "no report from dnsperf ($qps_tag)"
	}
	if [ "$qps_w" = misses ]; then
		awk -v n="$QPS_MISS_NAMES" '/Queries sent:/ && $3 > n { exit 1 }' \
		    "$E2E_DNSPERF_OUT" || e2e_warn "$qps_tag: more queries than" \
		    "unique names ($QPS_MISS_NAMES): some were cache hits"
	fi
	tail -n 1 "$E2E_TMP/results" | awk '{
		printf "  %-7s %-7s run %s: %9.0f qps, mean %.3f ms, lost %d\n",
		    $2, $1, $3, $4, $5 * 1000, $8 }'
}

qps_conditions_print() {
	e2e_say "qps.sh: queries per second through unbound on the bed's gateway"
	e2e_say "  cpu:      $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) online"
	e2e_say "  kernel:   $(uname -r)"
	e2e_say "  unbound:  $(unbound -V 2>/dev/null | awk 'NR == 1 { print $2 }'), one thread, iterator only, forwarding to unbound + NSD in the upstream namespace"
	e2e_say "  dnsperf:  $(dnsperf -h 2>&1 | awk '/^Version/ { print $2 }'), from $QPS_CLIENT (mark 1), -T 1 -c $QPS_CLIENTS -q $QPS_OUTSTANDING -t 2, no rate limit"
	e2e_say "  dnsmark:  $("$DNSMARK" --version 2>/dev/null), default options"
	e2e_say "  runs:     $QPS_RUNS per condition and workload, $QPS_SECONDS s each, interleaved"
	e2e_say "  hits:     $QPS_HIT_NAMES names, warmed before each run; misses: unique names under *.$E2E_ZONE"
	e2e_say "  load:     $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at the start"
	if pgrep -f '\.ci/run' >/dev/null 2>&1; then
		e2e_say "  WARNING:  a CI run (.ci/run) is active on this machine: figures are noisy"
	fi
}

# qps_report: medians per condition and workload, ratios.
qps_report() {
	e2e_say ""
	e2e_say "Medians of $QPS_RUNS runs. vs none / vs null: median qps against"
	e2e_say "\"no rules at all\" / \"rules + null program\". unseen: packets the NFQUEUE"
	e2e_say "rules passed without handing them to the program (fail-open: queue"
	e2e_say "full), in % of those the rules queued, over all runs (the counters are"
	e2e_say "read one after the other: packets in flight blur it by ~0.1 %)."
	e2e_say ""
	printf '%-8s %-27s %9s %8s %8s %9s %9s %7s %8s\n' workload condition \
	    qps "vs none" "vs null" "mean ms" "sd ms" "lost %" "unseen %"
	for qps_w in hits misses; do
		for qps_c in $QPS_CONDITIONS; do
			awk -v c="$qps_c" -v w="$qps_w" '$1 == c && $2 == w' \
			    "$E2E_TMP/results" >"$E2E_TMP/sel"
			qps_q=$(awk '{ print $4 }' "$E2E_TMP/sel" | qps_median)
			qps_m=$(awk '{ print $5 * 1000 }' "$E2E_TMP/sel" | qps_median)
			qps_s=$(awk '{ print $6 * 1000 }' "$E2E_TMP/sel" | qps_median)
			qps_lost=$(awk '{ s += $7; l += $8 } END { printf "%.2f", s ? 100 * l / s : 0 }' "$E2E_TMP/sel")
			qps_unseen=$(awk -v c="$qps_c" '{ r += $9; p += $10 }
			    END { if (c != "null" && c != "dnsmark") print "-";
			    else printf "%.2f", (r > p ? 100 * (r - p) / r : 0) }' "$E2E_TMP/sel")
			# qps_med_none and qps_med_null: the baselines.
			eval "qps_med_$qps_c=\$qps_q"
			# shellcheck disable=SC2154 # set by the eval above
			printf '%-8s %-27s %9.0f %8s %8s %9.3f %9.3f %7s %8s\n' \
			    "$qps_w" "$(qps_label "$qps_c")" "$qps_q" \
			    "$(qps_ratio "$qps_q" "$qps_med_none")" \
			    "$(qps_ratio "$qps_q" "${qps_med_null:-}")" \
			    "$qps_m" "$qps_s" "$qps_lost" "$qps_unseen"
		done
		qps_med_null=
	done
}

# qps_median: the median of the numbers on stdin.
qps_median() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print 0; exit }
		if (NR % 2) print v[(NR + 1) / 2]
		else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

qps_ratio() {
	[ -n "$2" ] || { echo -; return; }
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }'
}

qps_conditions_print
e2e_net_up
e2e_upstream_start
qps_rules all
e2e_resolver_start unbound gw
awk -v n="$QPS_HIT_NAMES" -v base="hits-r$E2E_RUN.$E2E_ZONE" '
BEGIN { for (i = 0; i < n; i++) printf "h%d.%s A\n", i, base }' \
    >"$E2E_TMP/hits.txt" || e2e_die "cannot write the hits file"
: >"$E2E_TMP/results"

qps_t0=$(date +%s)
for qps_run in $(seq 1 "$QPS_RUNS"); do
	qps_order=$QPS_CONDITIONS
	[ $((qps_run % 2)) -eq 0 ] &&
	    qps_order=$(echo "$QPS_CONDITIONS" | tr ' ' '\n' | tac | tr '\n' ' ')
	e2e_say "run $qps_run of $QPS_RUNS: $qps_order"
	for qps_c in $qps_order; do
		qps_condition_start "$qps_c" "r$qps_run-$qps_c"
		qps_measure "$qps_c" hits "$qps_run"
		qps_measure "$qps_c" misses "$qps_run"
		qps_condition_stop "$qps_c"
	done
done
qps_report
e2e_say ""
e2e_say "measured in $(($(date +%s) - qps_t0)) s (bed included: $(e2e_elapsed) s)"
exit 0
