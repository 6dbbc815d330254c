#!/bin/sh
# test/e2e/bpf.sh: dnsmark --mode bpf end to end. The gateway loads the
# shipped rules/bpf-v4.rules and bpf-v6.rules as they are (no UDP client
# query on the queue; TCP ones are held there); the resolver runs in a
# cgroup v2 directory this test creates, where dnsmark attaches its BPF
# programs (client queries over UDP on ingress, the resolver's answers over
# UDP and TCP on egress).
# Three IPv4 and three IPv6 clients, each with its own mark, look up unique
# names over UDP and TCP; every upstream query for a client's name must
# leave with that client's mark, never another one and never none. Then:
#   - cache hits: the same lookups again reach the ring (bpf_records grows
#     by two per lookup: the query and its answer) and not the queue (its
#     packet ids do not move); over TCP, the query reaches the queue and
#     its answer the ring (one record per lookup);
#   - a burst: all clients at once, distinct names each (dnsperf), every
#     name upstream with its client's mark;
#   - the ring lost nothing (bpf_ring_lost 0), and it held every UDP
#     query once and every answer, UDP or TCP, once;
#   - the kernel fast path: dnsmark pins its programs on a bpf file system
#     this test mounts, the gateway loads the shipped bpf-fast-v4.rules and
#     bpf-fast-v6.rules (their one edit made: the directory) once dnsmark
#     runs, and the kernel marks most upstream queries itself
#     (fastpath_marked), each with its client's mark as the checks above
#     say; the second resolver's dnsmark keeps the first one's pinned
#     programs and maps, and the rules loaded once still mark; what the
#     kernel leaves to the queue it records in the ring as it goes there,
#     and dnsmark judges it from the record (upstream_early);
# Resolvers: unbound forwarding over IPv4, with dnsmark started as the
# shipped dnsmark-bpf@.service starts it (an unprivileged user with
# CAP_NET_ADMIN and CAP_BPF as ambient capabilities: after loading it keeps
# CAP_NET_ADMIN alone, nothing inheritable or ambient); then dnsmasq
# forwarding over IPv6 with dnsmark started as root with --user nobody
# (CAP_NET_ADMIN alone after loading).
# Needs root, cgroup v2 and a dnsmark built with bpf mode; exit 0 pass, 77
# skip (1 under CI=true), 1 fail. See lib.sh for the bed and its knobs.

E2E_DIR=${E2E_DIR:-$(cd "$(dirname "$0")" && pwd)}
E2E_RULES_V4=bpf-v4.rules
E2E_RULES_V6=bpf-v6.rules
. "$E2E_DIR/lib.sh"

# The kernel fast path's pins: a bpf file system of this test's own.
BPFFS=
unmount_bpffs() {
	[ -z "$BPFFS" ] || umount "$BPFFS" 2>/dev/null
}
E2E_CLEANUP_HOOK=unmount_bpffs

BURST_NAMES=150
BURST_QPS=300

e2e_init bpf
e2e_need dnsperf dnsperf
e2e_need nsenter util-linux
e2e_need setpriv util-linux
for f in bpf-v4.rules bpf-v6.rules bpf-fast-v4.rules bpf-fast-v6.rules; do
	[ -r "$RULES_DIR/$f" ] || e2e_die "no $RULES_DIR/$f (set RULES_DIR)"
done
if "$DNSMARK" --mode bpf --bpf-cgroup /nonexistent 2>&1 |
    grep -q 'built without'; then
	e2e_skip "$DNSMARK was built without bpf mode (configure: libbpf-dev, bpftool, clang)"
fi

# The resolver's cgroup, under this shell's own (removed by the cleanup).
e2e_cgroup_make "dnsmark-e2e-$E2E_RUN" ||
    e2e_skip "cannot make a cgroup v2 directory (is cgroup2 mounted?)"
BPF_CGROUP=$E2E_CGROUP

# dnsmark in this shell's mount namespace (with the cgroup2 mount) and the
# gateway's network one.
dnsmark_wrapper=$E2E_TMP/dnsmark-in-host-mounts
e2e_host_mounts_wrapper "$dnsmark_wrapper" "$DNSMARK"
# The same, started as dnsmark-bpf@.service starts it: a user of its own
# (nobody here, a dynamic user there) with CAP_NET_ADMIN, CAP_BPF and
# CAP_PERFMON as ambient capabilities, and nothing else in its bounding set.
unit_wrapper=$E2E_TMP/dnsmark-as-unit
e2e_host_mounts_wrapper "$unit_wrapper" setpriv --reuid="$(id -u nobody)" \
    --regid="$(id -g nobody)" --clear-groups \
    --inh-caps=-all,+net_admin,+bpf,+perfmon \
    --ambient-caps=-all,+net_admin,+bpf,+perfmon \
    --bounding-set=-all,+net_admin,+bpf,+perfmon -- "$DNSMARK"

mkdir "$E2E_TMP/bpffs" && mount -t bpf -o mode=0755 bpf "$E2E_TMP/bpffs" ||
    e2e_die "cannot mount a bpf file system on $E2E_TMP/bpffs"
BPFFS=$E2E_TMP/bpffs
FAST_DIR=$BPFFS/dnsmark
mkdir "$FAST_DIR" && chown nobody "$FAST_DIR" ||
    e2e_die "cannot make $FAST_DIR"
FAST_RULES_LOADED=

# fast_rules: load the shipped fast path rules, their directory edited.
fast_rules() {
	e2e_fast_rules "$FAST_DIR"
	FAST_RULES_LOADED=yes
}

e2e_net_up
e2e_gw_rules
e2e_upstream_start
e2e_say "bed ready in $(e2e_elapsed) s (run $E2E_RUN, cgroup $BPF_CGROUP)"

stats_dir=$E2E_TMP/metrics
mkdir "$stats_dir" && chown nobody "$stats_dir" && chmod 755 "$E2E_TMP"

# resolver_in_cgroup KIND LABEL: start the resolver from inside the test
# cgroup, so that the sockets it opens belong to it; this shell goes back
# to its own cgroup at once.
resolver_in_cgroup() {
	e2e_in_cgroup "$BPF_CGROUP" "$E2E_CGROUP_HOME" e2e_resolver_start "$1" "$2"
	e2e_check "$1 runs in the test cgroup" \
	    "$(grep -qx "$E2E_RESOLVER_PID" "$BPF_CGROUP/cgroup.procs" &&
	    echo 0 || echo 1)"
}

# snapshot: ask dnsmark for its metrics file now (SIGUSR1) and wait for it.
snapshot() {
	rm -f "$stats_file"
	kill -USR1 "$E2E_DNSMARK_PID"
	e2e_wait_until 30 test -s "$stats_file"
}

# queue_ids: packet ids the kernel's queue handed out so far.
queue_ids() {
	e2e_queue_field 8
}

# check_names LABEL: every expected name left upstream with its client's
# mark, none with another's.
check_names() {
	label=$1
	# shellcheck disable=SC2046 # nine numbers, one argument each
	set -- $(e2e_attribution "$E2E_TMP/$label-expected" 2>"$E2E_TMP/$label-problems")
	e2e_check "$label: every client name left upstream with its client's mark" "$9"
	e2e_check "$label: no client name left with another client's mark" "$7"
	e2e_check "$label: no client name left unmarked" "$8"
	sed 's/^/    /' "$E2E_TMP/$label-problems" | sort | head -n 40
	e2e_say "$label: upstream queries by mark: 0x1=$2 0x2=$3 0x3=$4 none=$1 other=$5; for client names: correct=$6 wrong=$7 unmarked=$8 (never correct: $9)"
}

# burst LABEL: every client at once, BURST_NAMES distinct names each
# (dnsperf), the names captured upstream per mark.
burst() {
	e2e_capture_start "$1"
	pids=
	for c in $E2E_CLIENTS; do
		addr=${c%=*}
		tag=$(e2e_client_tag "$addr")
		e2e_query_file "$E2E_TMP/$1-$tag.q" "$BURST_NAMES" "$1-$tag"
		awk -v mark="${c#*=}" -v client="$addr" \
		    '{ print tolower($1) ".", mark, client, "A/burst" }' \
		    "$E2E_TMP/$1-$tag.q" >>"$E2E_TMP/$1-expected"
		e2e_dnsperf_start "$1-$tag" "$addr" -d "$E2E_TMP/$1-$tag.q" \
		    -n 1 -Q "$BURST_QPS" -t 3 -q 200
		pids="$pids $E2E_DNSPERF_PID"
	done
	for p in $pids; do
		E2E_DNSPERF_PID=$p
		e2e_dnsperf_wait 30
	done
	e2e_capture_stop
	completed=$(cat "$E2E_TMP/$1"-c*-dnsperf.txt |
	    awk '/Queries completed:/ { n += $3 } END { print n + 0 }')
	want=$((BURST_NAMES * $(echo $E2E_CLIENTS | wc -w)))
	e2e_check "$1: $completed/$want burst lookups answered" \
	    "$([ "$completed" -eq "$want" ] && echo 0 || echo 1)"
	check_names "$1"
}

# check_privileges PID HOW: the running dnsmark is nobody with
# CAP_NET_ADMIN (bit 12) as its only effective and permitted capability;
# started as the unit does (HOW unit), also nothing inheritable or ambient
# and no_new_privs set.
check_privileges() {
	status=/proc/$1/status
	uid=$(awk '/^Uid:/ { print $3 }' "$status")
	e2e_check "$kind: dnsmark runs as uid $uid (nobody is $(id -u nobody))" \
	    "$([ "$uid" = "$(id -u nobody)" ] && echo 0 || echo 1)"
	caps=$(awk '/^Cap(Eff|Prm):/ { printf "%s ", $2 }' "$status")
	e2e_check "$kind: effective and permitted capabilities $caps(CAP_NET_ADMIN alone)" \
	    "$([ "$caps" = "0000000000001000 0000000000001000 " ] && echo 0 || echo 1)"
	[ "$2" = unit ] || return 0
	rest=$(awk '/^(CapInh|CapAmb|NoNewPrivs):/ { printf "%s ", $2 }' "$status")
	e2e_check "$kind: inheritable, ambient, no_new_privs: $rest(none, none, set)" \
	    "$([ "$rest" = "0000000000000000 0000000000000000 1 " ] && echo 0 || echo 1)"
}

# scenario KIND unit|root [DNSMARK OPTIONS]: one resolver, from start to
# verdict, dnsmark started as the unit does or as root.
scenario() {
	kind=$1
	how=$2
	shift 2
	if [ "$how" = unit ]; then
		DNSMARK=$unit_wrapper
	else
		DNSMARK=$dnsmark_wrapper
	fi
	failed_before=$E2E_FAILED
	e2e_say "== $kind"
	stats_file=$stats_dir/$kind.prom
	e2e_in "$E2E_NS_GW" conntrack -F >/dev/null 2>&1
	resolver_in_cgroup "$kind" "$kind"
	started=$(date +%s)
	e2e_dnsmark_start "$kind" --verbose --mode bpf \
	    --bpf-cgroup "$BPF_CGROUP" --fast-path "$FAST_DIR" \
	    --stats-file "$stats_file" --stats-interval 3600 "$@"
	check_privileges "$E2E_DNSMARK_PID" "$how"
	e2e_check "$kind: dnsmark pinned the fast path in $FAST_DIR" \
	    "$(grep -q 'fast path: programs and maps pinned' "$E2E_DNSMARK_LOG" &&
	    [ -e "$FAST_DIR/classify" ] && echo 0 || echo 1)"
	[ -n "$FAST_RULES_LOADED" ] || fast_rules

	# Unique names, every client, UDP and TCP.
	e2e_capture_start "$kind"
	clients=
	for c in $E2E_CLIENTS; do
		clients="$clients ${c%=*}"
	done
	# shellcheck disable=SC2086 # one argument per client
	e2e_lookups "$kind" $clients
	e2e_capture_stop
	total=$(wc -l <"$E2E_TMP/$kind-results")
	failed=$(grep -c '^FAIL' "$E2E_TMP/$kind-results")
	e2e_check "$kind: $((total - failed))/$total lookups answered" "$failed"
	grep '^FAIL' "$E2E_TMP/$kind-results" | sed 's/^/    /'
	check_names "$kind"

	# Cache hits: the same lookups again (A and AAAA: dnsmasq does not
	# cache TXT). On the ring, not on the queue.
	snapshot
	records_before=$(e2e_metric "$stats_file" dnsmark_bpf_records_total)
	ids_before=$(queue_ids)
	for c in $clients; do
		tag=$(e2e_client_tag "$c")
		for q in "n1 A" "n2 AAAA"; do
			# shellcheck disable=SC2086 # label and type
			set -- $q
			e2e_in "$E2E_NS_CLIENT" dig +time=2 +tries=1 -b "$c" \
			    "@$(e2e_client_server "$c")" \
			    "$tag-$1.$kind-r$E2E_RUN.$E2E_ZONE" "$2" >/dev/null 2>&1
		done
	done
	hits=$(($(echo $clients | wc -w) * 2))
	snapshot
	records_after=$(e2e_metric "$stats_file" dnsmark_bpf_records_total)
	matched_after=$(e2e_metric "$stats_file" dnsmark_client_answers_matched_total)
	ids_after=$(queue_ids)
	e2e_check "$kind: $hits cache hits gave $((records_after - records_before)) ring records (a query and an answer each)" \
	    "$([ "$((records_after - records_before))" -eq $((hits * 2)) ] && echo 0 || echo 1)"
	e2e_check "$kind: and $((ids_after - ids_before)) packets on the queue" \
	    "$([ "$ids_after" = "$ids_before" ] && echo 0 || echo 1)"

	# Cache hits over TCP: the query is held on the queue, the answer is
	# recorded on egress, alone (no ACK, SYN-ACK or FIN of the connection
	# is taken for one), and settles the question the queue brought.
	for c in $clients; do
		e2e_in "$E2E_NS_CLIENT" dig +tcp +time=2 +tries=1 -b "$c" \
		    "@$(e2e_client_server "$c")" \
		    "$(e2e_client_tag "$c")-n5.$kind-r$E2E_RUN.$E2E_ZONE" A \
		    >/dev/null 2>&1
	done
	tcp_hits=$(echo $clients | wc -w)
	snapshot
	records_tcp=$(e2e_metric "$stats_file" dnsmark_bpf_records_total)
	matched_tcp=$(e2e_metric "$stats_file" dnsmark_client_answers_matched_total)
	ids_tcp=$(queue_ids)
	e2e_check "$kind: $tcp_hits TCP cache hits gave $((records_tcp - records_after)) ring records (the answer each) and $((ids_tcp - ids_after)) packets on the queue" \
	    "$([ "$((records_tcp - records_after))" -eq "$tcp_hits" ] &&
	    [ "$ids_tcp" -gt "$ids_after" ] && echo 0 || echo 1)"
	e2e_check "$kind: and $((matched_tcp - matched_after)) answers that matched a client's question" \
	    "$([ "$((matched_tcp - matched_after))" -eq "$tcp_hits" ] &&
	    echo 0 || echo 1)"

	# A dnsmark that kept an earlier one's maps trusts nothing in them
	# for a timeout (--timeout, 5 s): questions asked while no program
	# filed them may still wait that long.
	if [ "$kind" = dnsmasq ]; then
		e2e_check "$kind: dnsmark kept the earlier dnsmark's pinned maps and programs" \
		    "$(grep -q "earlier dnsmark's maps and programs kept" "$E2E_DNSMARK_LOG" &&
		    echo 0 || echo 1)"
		while [ $(($(date +%s) - started)) -le 6 ]; do
			sleep 0.5
		done
	fi
	snapshot
	fast_before=$(e2e_metric "$stats_file" dnsmark_fastpath_marked_total)
	burst "$kind-burst"
	snapshot
	fast_after=$(e2e_metric "$stats_file" dnsmark_fastpath_marked_total)
	fast_burst=$((${fast_after:-0} - ${fast_before:-0}))
	burst_names=$((BURST_NAMES * $(echo $E2E_CLIENTS | wc -w)))
	e2e_check "$kind: the kernel marked $fast_burst of the burst's $burst_names upstream queries (at least 90 %)" \
	    "$([ $((fast_burst * 10)) -ge $((burst_names * 9)) ] && echo 0 || echo 1)"

	e2e_dnsmark_stop
	dnsmark_status=$?
	e2e_resolver_stop
	e2e_check "$kind: dnsmark exited cleanly on SIGTERM (status $dnsmark_status)" \
	    "$dnsmark_status"
	lost=$(e2e_metric "$stats_file" dnsmark_bpf_ring_lost_total)
	records=$(e2e_metric "$stats_file" dnsmark_bpf_records_total)
	clientq=$(e2e_metric "$stats_file" dnsmark_client_queries_total)
	packets=$(e2e_metric "$stats_file" dnsmark_packets_total)
	upq=$(e2e_metric "$stats_file" dnsmark_upstream_queries_total)
	syn=$(e2e_metric "$stats_file" dnsmark_upstream_syn_total)
	resp=$(e2e_metric "$stats_file" dnsmark_upstream_responses_total)
	cansw=$(e2e_metric "$stats_file" dnsmark_client_answers_total)
	matched=$(e2e_metric "$stats_file" dnsmark_client_answers_matched_total)
	fast=$(e2e_metric "$stats_file" dnsmark_fastpath_marked_total)
	bresp=$(e2e_metric "$stats_file" dnsmark_bpf_responses_total)
	bqueued=$(e2e_metric "$stats_file" dnsmark_bpf_queued_total)
	early=$(e2e_metric "$stats_file" dnsmark_upstream_early_total)
	e2e_check "$kind: the ring lost ${lost:-?} records" \
	    "$([ "${lost:-1}" -eq 0 ] && echo 0 || echo 1)"
	# Every UDP client query came as a ring record, and so did its one
	# answer (no lookup is tried twice, and every one was answered); the
	# queue brought only the TCP queries, one lookup per client in
	# e2e_lookups and one cache hit each, and their answers came as ring
	# records too. A UDP query that came through the queue, a TCP query
	# recorded too, or an answer missed or recorded twice would break the
	# sums; and every answer recorded reached the judge as one. The
	# upstream queries the kernel marked and the upstream servers' UDP
	# responses came as ring records too, and so did the upstream UDP
	# queries the kernel left to the queue.
	tcp_lookups=$((tcp_hits * 2))
	udpq=$((${clientq:-0} - tcp_lookups))
	answers=$((${records:-0} - udpq - ${fast:-0} - ${bresp:-0} - ${bqueued:-0}))
	e2e_check "$kind: ${records:-?} ring records ($udpq UDP queries, ${fast:-?} upstream queries the kernel marked, ${bqueued:-?} it left to the queue, ${bresp:-?} upstream responses, $answers answers: $udpq to UDP and $tcp_lookups to TCP queries) and $tcp_lookups TCP queries on the queue, ${clientq:-?} client queries remembered, ${cansw:-?} answers judged (${matched:-?} matched a question)" \
	    "$([ "$udpq" -gt 0 ] &&
	    [ "$answers" -eq $((udpq + tcp_lookups)) ] &&
	    [ "${cansw:-0}" -eq "$answers" ] && echo 0 || echo 1)"
	# The upstream queries the kernel left to the queue were judged from
	# the ring, as they went there, and their packets took that result
	# (one read late, or displaced, is judged when read). A forwarder's
	# queries are its clients' very questions: the kernel may have marked
	# every one, and left none to the queue.
	e2e_check "$kind: ${early:-?} of the ${bqueued:-?} upstream queries the kernel left to the queue judged as queued" \
	    "$([ "${early:-0}" -le "${bqueued:-0}" ] &&
	    { [ "${bqueued:-0}" -eq 0 ] || [ "${early:-0}" -gt 0 ]; } &&
	    echo 0 || echo 1)"
	# Everything on the queue is upstream traffic: queries, SYNs,
	# responses, and TCP segments without a whole message.
	e2e_say "$kind: queue packets=$packets upstream queries=$upq syn=$syn responses=$resp; queue: $E2E_QUEUE_STATS"

	if [ "$E2E_FAILED" -ne "$failed_before" ] || [ -n "${E2E_VERBOSE:-}" ]; then
		e2e_show "dnsmark" "$E2E_DNSMARK_LOG"
		e2e_show "$kind" "$E2E_RESOLVER_LOG"
		e2e_show_conntrack
	fi
}

scenario unbound unit
scenario dnsmasq root --user nobody

e2e_say "$E2E_PASSED passed, $E2E_FAILED failed ($(e2e_elapsed) s)"
[ "$E2E_FAILED" -eq 0 ]
