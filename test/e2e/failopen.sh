#!/bin/sh
# test/e2e/failopen.sh: DNS keeps working whatever happens to dnsmark. A
# client loads the gateway's unbound (forwarding) with dnsperf, unique names
# so that every query goes upstream, while dnsmark is
#   a. killed with SIGKILL: --queue-bypass passes every packet from then
#      on; only the packets queued at that instant are lost (the kernel
#      drops what is queued when the socket closes). Restarted, it marks
#      again;
#   b. stopped with SIGSTOP behind a 64-packet queue: the queue fills, and
#      every packet beyond passes unmarked (NFQA_CFG_F_FAIL_OPEN); after
#      SIGCONT the held packets get their verdicts and nothing is lost;
#   c. stopped with SIGTERM and started again, twice (the second time
#      with a backlog of queued packets): dnsmark shrinks its queue to
#      length 0 (new packets pass fail-open), answers what is queued, then
#      unbinds, so not one query is lost.
# After a and b, every client's lookups are checked for their marks
# through NFLOG per mark, as in forwarders.sh.
# Needs root and dnsperf; exit 0 pass, 77 skip (1 under CI=true), 1 fail.
# See lib.sh for the bed and its knobs.

E2E_DIR=${E2E_DIR:-$(cd "$(dirname "$0")" && pwd)}
. "$E2E_DIR/lib.sh"

e2e_init failopen
e2e_need dnsperf dnsperf
e2e_net_up
e2e_gw_rules
e2e_upstream_start
e2e_resolver_start unbound failopen
e2e_say "bed ready in $(e2e_elapsed) s (run $E2E_RUN)"

LOAD_CLIENT=192.0.2.10

clients=
for c in $E2E_CLIENTS; do
	clients="$clients ${c%=*}"
done

# quiet_snapshot: dnsmark's counters and the kernel's queue line as one
# metrics file (SIGUSR1), taken again every 0.3 s until two in a row show
# the same id_sequence, at most 10 times: the kernel prints that line
# without the queue's lock, so while packets still arrive id_sequence may
# already count one that is not yet waiting. Sets packets, k_ids,
# k_waiting, k_dropped, k_user, and quiet (yes or no).
quiet_snapshot() {
	quiet=no
	k_ids=
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		previous=$k_ids
		# SIGUSR1 logs the counters and rewrites the metrics file.
		kill -USR1 "$E2E_DNSMARK_PID"
		sleep 0.3
		# Queued packets: the NFLOG copies of the resolver's
		# answers count among the packets judged, never queued.
		total=$(e2e_metric "$metrics" dnsmark_packets_total)
		copies=$(e2e_metric "$metrics" dnsmark_nflog_copies_total)
		packets=${total:+$((total - ${copies:-0}))}
		k_ids=$(e2e_metric "$metrics" dnsmark_kernel_queue_id_sequence)
		k_waiting=$(e2e_metric "$metrics" dnsmark_kernel_queue_waiting)
		k_dropped=$(e2e_metric "$metrics" dnsmark_kernel_queue_dropped_total)
		k_user=$(e2e_metric "$metrics" dnsmark_kernel_queue_user_dropped_total)
		if [ -n "$k_ids" ] && [ "$k_ids" = "$previous" ]; then
			quiet=yes
			return 0
		fi
	done
}

# marked_again LABEL: every client looks up a few names with dnsmark
# running; every one must leave upstream with its client's mark.
marked_again() {
	e2e_capture_start "$1"
	# shellcheck disable=SC2086 # one argument per client
	e2e_lookups "$1" $clients
	e2e_capture_stop
	total=$(wc -l <"$E2E_TMP/$1-results")
	failed=$(grep -c '^FAIL' "$E2E_TMP/$1-results")
	e2e_check "$1: $((total - failed))/$total lookups answered" "$failed"
	# shellcheck disable=SC2046 # nine numbers, one argument each
	set -- "$1" $(e2e_attribution "$E2E_TMP/$1-expected" 2>"$E2E_TMP/$1-problems")
	e2e_check "$1: every client name left upstream with its client's mark ($7 upstream queries for $total names)" \
	    "${10}"
	e2e_check "$1: none left with another mark or unmarked" \
	    "$([ "$8" -eq 0 ] && [ "$9" -eq 0 ]; echo $?)"
	sed 's/^/    /' "$E2E_TMP/$1-problems" | sort | head -n 20
}

# show_logs_if_failed FAILED_BEFORE LOG...: the logs of a scenario that
# failed (or of every scenario with E2E_VERBOSE).
show_logs_if_failed() {
	before=$1
	shift
	if [ "$E2E_FAILED" -ne "$before" ] || [ -n "${E2E_VERBOSE:-}" ]; then
		for log in "$@"; do
			e2e_show "${log##*/}" "$log"
		done
		e2e_show "unbound" "$E2E_RESOLVER_LOG"
	fi
}

# a. SIGKILL under load.
scenario_kill() {
	failed_before=$E2E_FAILED
	rate=2000
	count=12000
	e2e_say "== a: kill -9 under load ($count unique names at $rate/s)"
	e2e_query_file "$E2E_TMP/a-queries" $count a
	metrics=$E2E_TMP/a.prom
	e2e_dnsmark_start a-before --stats-file "$metrics" --stats-interval 1
	killed_log=$E2E_DNSMARK_LOG
	e2e_dnsperf_start a "$LOAD_CLIENT" -d "$E2E_TMP/a-queries" -n 1 \
	    -Q $rate -q 500 -t 5
	# How deep the queue runs under this load: a sample every 0.1 s.
	sleep 2
	deepest=0
	for sample in 1 2 3 4 5 6 7 8 9 10; do
		waiting=$(e2e_queue_field 3)
		[ "${waiting:-0}" -gt "$deepest" ] && deepest=$waiting
		[ "$sample" -lt 10 ] && sleep 0.1
	done
	queue_at_kill=$(e2e_queue_line)
	marked_at_kill=$(e2e_metric "$metrics" dnsmark_upstream_marked_total)
	kill -KILL "$E2E_DNSMARK_PID"
	# bash reports a job killed by a signal on stderr: not news here.
	wait "$E2E_DNSMARK_PID" 2>/dev/null
	killed_status=$?
	e2e_forget "$E2E_DNSMARK_PID"
	e2e_queue_bound
	bound_after_kill=$?
	e2e_dnsperf_wait 30
	dnsperf_status=$?
	# shellcheck disable=SC2046 # four numbers
	set -- $(e2e_dnsperf_result "$E2E_DNSPERF_OUT")
	sent=$1 completed=$2 lost=$3 max_latency=$4

	e2e_say "a: packets waiting in the queue: at most $deepest in 10 samples over the second before the kill; at the kill:$(printf '%s' "$queue_at_kill" | awk '{ printf " %d waiting, %d queued so far", $3, $8 }')"
	e2e_check "a: dnsmark was marking under load before the kill (upstream_marked ${marked_at_kill:-?})" \
	    "$([ "${marked_at_kill:-0}" -gt 0 ]; echo $?)"
	e2e_check "a: dnsmark died of SIGKILL (status $killed_status)" \
	    "$([ "$killed_status" -eq 137 ]; echo $?)"
	e2e_check "a: queue $E2E_QUEUE unbound after the kill (packets pass by --queue-bypass)" \
	    "$([ "$bound_after_kill" -ne 0 ]; echo $?)"
	e2e_check "a: dnsperf ran (status $dnsperf_status) and sent all $count queries ($sent)" \
	    "$([ "$dnsperf_status" -eq 0 ] && [ "$sent" -eq $count ]; echo $?)"
	e2e_check "a: $completed of $sent queries answered, $lost lost (at most 1 %; max latency ${max_latency} s)" \
	    "$([ "$sent" -gt 0 ] && [ $((lost * 100)) -le "$sent" ]; echo $?)"

	e2e_dnsmark_start a-after
	marked_again a-after
	e2e_dnsmark_stop
	e2e_check "a: restarted dnsmark exited cleanly on SIGTERM" "$?"
	show_logs_if_failed "$failed_before" "$killed_log" "$E2E_DNSMARK_LOG" \
	    "$E2E_TMP/a-dnsperf.txt"
}

# b. SIGSTOP until the queue is full.
scenario_stop() {
	failed_before=$E2E_FAILED
	maxlen=64
	rate=1000
	count=1500
	e2e_say "== b: SIGSTOP with --queue-maxlen $maxlen ($count unique names at $rate/s)"
	e2e_query_file "$E2E_TMP/b-queries" $count b
	metrics=$E2E_TMP/b.prom
	e2e_dnsmark_start b --queue-maxlen $maxlen --stats-file "$metrics" \
	    --stats-interval 1
	rules_before=$(e2e_rule_queued)
	ids_before=$(e2e_queue_field 8)
	kill -STOP "$E2E_DNSMARK_PID"
	# The held queries wait for SIGCONT: dnsperf must wait longer.
	e2e_dnsperf_start b "$LOAD_CLIENT" -d "$E2E_TMP/b-queries" -n 1 \
	    -Q $rate -q 2000 -t 10
	sleep 2.5
	# shellcheck disable=SC2046 # four numbers
	set -- $(e2e_queue_line | awk '{ print $3, $6, $7, $8 }')
	waiting=$1 dropped=$2 user_dropped=$3 ids_stopped=$4
	rules_stopped=$(e2e_rule_queued)
	kill -CONT "$E2E_DNSMARK_PID"
	e2e_dnsperf_wait 30
	dnsperf_status=$?
	# shellcheck disable=SC2046 # four numbers
	set -- $(e2e_dnsperf_result "$E2E_DNSPERF_OUT")
	sent=$1 completed=$2 lost=$3 max_latency=$4
	handed=$((rules_stopped - rules_before))
	queued=$((ids_stopped - ids_before))
	quiet_snapshot

	e2e_say "b: while stopped: the rules handed $handed packets to queue $E2E_QUEUE, the kernel queued $queued (id_sequence $ids_before -> $ids_stopped), $((handed - queued)) passed fail-open; $waiting waiting, $dropped dropped (full), $user_dropped dropped (socket)"
	e2e_check "b: the kernel queue filled to its length while dnsmark was stopped ($waiting of $maxlen waiting)" \
	    "$([ "${waiting:-0}" -eq $maxlen ]; echo $?)"
	e2e_check "b: packets beyond it passed fail-open ($((handed - queued)) of $handed), none dropped" \
	    "$([ "$queued" -le $maxlen ] && [ $((handed - queued)) -gt 0 ] &&
	    [ "$dropped" -eq 0 ] && [ "$user_dropped" -eq 0 ]; echo $?)"
	e2e_check "b: dnsperf ran (status $dnsperf_status) and sent all $count queries ($sent)" \
	    "$([ "$dnsperf_status" -eq 0 ] && [ "$sent" -eq $count ]; echo $?)"
	e2e_check "b: $completed of $sent queries answered, $lost lost (at most 1 %; max latency $max_latency s: the held ones, answered after SIGCONT)" \
	    "$([ "$sent" -gt 0 ] && [ $((lost * 100)) -le "$sent" ]; echo $?)"
	e2e_say "b: dnsmark after SIGCONT: packets ${packets:-?}; kernel queue: id_sequence ${k_ids:-?}, waiting ${k_waiting:-?}, dropped ${k_dropped:-?}, user_dropped ${k_user:-?}"
	e2e_check "b: after SIGCONT dnsmark answered every packet the kernel queued (${packets:-?} received, ${k_ids:-?} queued, ${k_waiting:-?} waiting, in a quiet snapshot: $quiet)" \
	    "$([ -n "$packets" ] && [ "$packets" = "$k_ids" ] && [ "$k_waiting" = 0 ] &&
	    [ "$quiet" = yes ]; echo $?)"
	marked_again b-after
	e2e_dnsmark_stop
	e2e_check "b: dnsmark exited cleanly on SIGTERM" "$?"
	show_logs_if_failed "$failed_before" "$E2E_DNSMARK_LOG" \
	    "$E2E_TMP/b-dnsperf.txt"
}

# c. SIGTERM and start again, twice, under load: nothing lost.
scenario_restart() {
	failed_before=$E2E_FAILED
	rate=1000
	count=8000
	# The backlog of stop 2 reaches the resolver in one burst: a queue of
	# at most 128 packets keeps it within unbound's socket buffer (with
	# the default 4096, hundreds of held queries overflow it and are lost
	# there, as the overrun count below would show).
	maxlen=128
	e2e_say "== c: stop (SIGTERM) and start twice under load ($count unique names at $rate/s)"
	e2e_query_file "$E2E_TMP/c-queries" $count c
	overruns_gw=$(e2e_udp_overruns "$E2E_NS_GW")
	overruns_up=$(e2e_udp_overruns "$E2E_NS_UP")
	e2e_dnsmark_start c-1 --queue-maxlen $maxlen
	logs=$E2E_DNSMARK_LOG
	e2e_dnsperf_start c "$LOAD_CLIENT" -d "$E2E_TMP/c-queries" -n 1 \
	    -Q $rate -q 500 -t 5
	for run in 1 2; do
		sleep 2
		log=$E2E_DNSMARK_LOG
		if [ $run -eq 2 ]; then
			# With a backlog: packets pile up in the queue while
			# dnsmark is stopped, and it is told to stop before it
			# can answer them.
			kill -STOP "$E2E_DNSMARK_PID"
			sleep 0.5
			backlog=$(e2e_queue_field 3)
			kill -TERM "$E2E_DNSMARK_PID"
			kill -CONT "$E2E_DNSMARK_PID"
			e2e_say "c: stop 2 with ${backlog:-?} packets waiting in the queue (SIGSTOP, 0.5 s, SIGTERM, SIGCONT)"
		fi
		e2e_stop "$E2E_DNSMARK_PID" TERM
		status=$?
		drained=$(sed -n 's/.*drained (\([0-9]*\) packets).*/\1/p' "$log")
		e2e_check "c: stop $run: dnsmark exited with status $status and logged \"drained\" (${drained:-no} packets answered before release)" \
		    "$([ "$status" -eq 0 ] && [ -n "$drained" ]; echo $?)"
		sleep 0.5
		e2e_dnsmark_start "c-$((run + 1))" --queue-maxlen $maxlen
		logs="$logs $E2E_DNSMARK_LOG"
	done
	e2e_dnsperf_wait 30
	dnsperf_status=$?
	e2e_dnsmark_stop
	e2e_check "c: last dnsmark exited cleanly on SIGTERM" "$?"
	# shellcheck disable=SC2046 # four numbers
	set -- $(e2e_dnsperf_result "$E2E_DNSPERF_OUT")
	sent=$1 completed=$2 lost=$3 max_latency=$4
	marked=
	for log in $logs; do
		marked="$marked $(sed -n 's/.* upstream_marked=\([0-9]*\).*/\1/p' "$log" | tail -n 1)"
	done
	e2e_say "c: upstream queries marked by each of the three runs:$marked"
	e2e_say "c: UDP receive buffer overruns during the run: gateway $(($(e2e_udp_overruns "$E2E_NS_GW") - overruns_gw)), upstream $(($(e2e_udp_overruns "$E2E_NS_UP") - overruns_up))"
	e2e_check "c: dnsperf ran (status $dnsperf_status) and sent all $count queries ($sent)" \
	    "$([ "$dnsperf_status" -eq 0 ] && [ "$sent" -eq $count ]; echo $?)"
	e2e_check "c: $completed of $sent queries answered, $lost lost (max latency $max_latency s)" \
	    "$([ "$sent" -gt 0 ] && [ "$lost" -eq 0 ] && [ "$completed" -eq "$sent" ]; echo $?)"
	# shellcheck disable=SC2086 # one argument per log
	show_logs_if_failed "$failed_before" $logs "$E2E_TMP/c-dnsperf.txt"
}

scenario_kill
scenario_stop
scenario_restart

e2e_say "$E2E_PASSED passed, $E2E_FAILED failed ($(e2e_elapsed) s)"
[ "$E2E_FAILED" -eq 0 ]
