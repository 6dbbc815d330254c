#!/bin/sh
# test/e2e/forwarders.sh: dnsmark end to end with forwarding resolvers
# (unbound forwarding over IPv4, dnsmasq forwarding over IPv6, and dnsmasq
# forwarding to unbound on 127.0.0.1:5353 on the same host) on a gateway
# that loads the shipped rules/ as they are. Three IPv4 and three IPv6
# clients, each with its own mark, look up unique names; every upstream
# query for a client's name must leave the gateway with that client's mark,
# never another one and never none. Needs root; exit 0 pass, 77 skip (1
# under CI=true), 1 fail. See lib.sh for the bed and its knobs.
#
# The dnsmasq run also proves least privilege and the metrics: dnsmark runs
# with --user nobody (CAP_NET_ADMIN alone) and still marks, and its
# --stats-file passes promtool's format check with counters that match the
# traffic.

E2E_DIR=${E2E_DIR:-$(cd "$(dirname "$0")" && pwd)}
. "$E2E_DIR/lib.sh"

e2e_init forwarders
command -v promtool >/dev/null 2>&1 ||
    e2e_skip "missing tools: promtool (package prometheus)"
e2e_net_up
e2e_gw_rules
e2e_upstream_start
e2e_say "bed ready in $(e2e_elapsed) s (run $E2E_RUN)"

# metric FILE NAME: the value of one metric in a Prometheus text file.
metric() {
	awk -v name="$2" '$1 == name { print $2 }' "$1"
}

# check_unprivileged PID: the running dnsmark is nobody with CAP_NET_ADMIN
# (bit 12) as its only effective capability.
check_unprivileged() {
	uid=$(awk '/^Uid:/ { print $3 }' "/proc/$1/status")
	caps=$(awk '/^CapEff:/ { print $2 }' "/proc/$1/status")
	e2e_check "dnsmark runs as uid $uid (nobody is $(id -u nobody))" \
	    "$([ "$uid" = "$(id -u nobody)" ] && echo 0 || echo 1)"
	e2e_check "dnsmark's effective capabilities are $caps (CAP_NET_ADMIN alone)" \
	    "$([ "$caps" = 0000000000001000 ] && echo 0 || echo 1)"
}

# check_metrics FILE LOOKUPS: the file passes promtool and its counters
# agree with what the clients did.
check_metrics() {
	promtool check metrics <"$1" >"$1.promtool" 2>&1
	e2e_check "metrics file passes promtool check metrics" "$?"
	sed 's/^/    /' "$1.promtool"
	client=$(metric "$1" dnsmark_client_queries_total)
	judged=$(metric "$1" dnsmark_upstream_queries_total)
	marked=$(metric "$1" dnsmark_upstream_marked_total)
	unmarked=$(metric "$1" dnsmark_upstream_unmarked_total)
	exact=$(metric "$1" dnsmark_attrib_exact_total)
	syn=$(metric "$1" dnsmark_upstream_syn_total)
	e2e_check "metrics: ${client:-?} client queries for $2 lookups" \
	    "$([ "${client:-0}" -ge "$2" ] && echo 0 || echo 1)"
	# The rules copy the resolver's answers to its clients to NFLOG:
	# every lookup's answer is seen, and every question ends by an
	# answer: its client's, or, before the first client's answer was
	# read (copies come in batches), the upstream one.
	answers=$(metric "$1" dnsmark_client_answers_total)
	matched=$(metric "$1" dnsmark_client_answers_matched_total)
	released=$(metric "$1" dnsmark_pending_answered_total)
	e2e_check "metrics: ${answers:-?} answers to clients seen, ${matched:-?} settled their questions, ${released:-?} questions ended by an answer, for $2 lookups" \
	    "$([ "${answers:-0}" -ge "$2" ] && [ "${matched:-0}" -gt 0 ] &&
	    [ "${released:-0}" -ge "$2" ] && echo 0 || echo 1)"
	tcp=$(metric "$1" dnsmark_attrib_tcp_total)
	# Marked and unmarked count upstream queries and the SYNs of upstream
	# TCP connections. A query over TCP is not queued once its connection
	# carries its SYN's mark: the SYN (attrib_tcp) stands for it.
	e2e_check "metrics: ${marked:-?} upstream marked, ${exact:-?} by their exact question and ${tcp:-?} SYNs after a TCP client, of ${judged:-?} queries and ${syn:-?} SYNs judged" \
	    "$([ "${marked:-0}" -ge "$2" ] &&
	    [ "$((${exact:-0} + ${tcp:-0}))" -ge "$2" ] &&
	    [ "$((judged + syn))" = "$((marked + unmarked))" ] && echo 0 || echo 1)"
}

# scenario KIND [DNSMARK OPTIONS]: one resolver under test, from start to
# verdict.
scenario() {
	kind=$1
	shift
	failed_before=$E2E_FAILED
	e2e_say "== $kind"
	e2e_in "$E2E_NS_GW" conntrack -F >/dev/null 2>&1
	e2e_capture_start "$kind"
	e2e_resolver_start "$kind" "$kind"
	e2e_dnsmark_start "$kind" --verbose "$@"
	case " $* " in
	*" --user "*) check_unprivileged "$E2E_DNSMARK_PID" ;;
	esac

	clients=
	for c in $E2E_CLIENTS; do
		clients="$clients ${c%=*}"
	done
	# shellcheck disable=SC2086 # one argument per client
	e2e_lookups "$kind" $clients

	conntrack_after=$E2E_TMP/$kind-conntrack.txt
	e2e_show_conntrack >"$conntrack_after"
	e2e_dnsmark_stop
	dnsmark_status=$?
	e2e_resolver_stop
	e2e_capture_stop

	total=$(wc -l <"$E2E_TMP/$kind-results")
	if [ -n "$stats_file" ]; then
		check_metrics "$stats_file" "$total"
		stats_file=
	fi
	failed=$(grep -c '^FAIL' "$E2E_TMP/$kind-results")
	e2e_check "$kind: $((total - failed))/$total lookups answered" "$failed"
	grep '^FAIL' "$E2E_TMP/$kind-results" | sed 's/^/    /'

	# shellcheck disable=SC2046 # nine numbers, one argument each
	set -- $(e2e_attribution "$E2E_TMP/$kind-expected" 2>"$E2E_TMP/$kind-problems")
	e2e_check "$kind: every client name left upstream with its client's mark" "$9"
	e2e_check "$kind: no client name left with another client's mark" "$7"
	e2e_check "$kind: no client name left unmarked" "$8"
	if [ -n "$E2E_DNSMARK_PID" ]; then
		e2e_check "$kind: dnsmark exited cleanly on SIGTERM (status $dnsmark_status)" \
		    "$dnsmark_status"
	fi
	sed 's/^/    /' "$E2E_TMP/$kind-problems" | sort | head -n 40
	e2e_say "$kind: upstream queries by mark: 0x1=$2 0x2=$3 0x3=$4 none=$1 other=$5; for client names: correct=$6 wrong=$7 unmarked=$8 (names never correct: $9); queue: $E2E_QUEUE_STATS"

	if [ "$E2E_FAILED" -ne "$failed_before" ] || [ -n "${E2E_VERBOSE:-}" ]; then
		e2e_show "dnsmark" "$E2E_DNSMARK_LOG"
		e2e_show "$kind" "$E2E_RESOLVER_LOG"
		cat "$conntrack_after"
	fi
}

stats_file=
scenario unbound
# The metrics file lives where the unprivileged process may write it.
stats_dir=$E2E_TMP/metrics
mkdir "$stats_dir" && chown nobody "$stats_dir" && chmod 755 "$E2E_TMP"
stats_file=$stats_dir/dnsmark.prom
scenario dnsmasq --user nobody --stats-file "$stats_file" --stats-interval 1
# Chained resolvers on one host: dnsmasq on port 53 forwarding to unbound on
# 127.0.0.1:5353, which forwards upstream. The loopback hop is left alone;
# unbound's upstream queries carry the clients' marks all the same.
scenario chained

e2e_say "$E2E_PASSED passed, $E2E_FAILED failed ($(e2e_elapsed) s)"
[ "$E2E_FAILED" -eq 0 ]
