#!/bin/sh
# test/e2e/routing.sh: per-client policy routing of the resolver's upstream
# DNS. The gateway has two uplinks: A (gwu0, the main table) and B (gwu1,
# table 100, masqueraded). The user's `ip rule fwmark 2 lookup 100` sends
# client 192.0.2.11's mark out of B. Every upstream DNS packet that client
# causes, UDP and TCP (SYN and acknowledgements included), must leave by B,
# and nobody else's may:
#   - dnsmasq forwarding: clients asking over UDP and over TCP (dnsmasq
#     opens one upstream TCP connection per TCP client query);
#   - unbound forwarding: a client asking for an answer too large for UDP
#     (the upstream truncates, unbound retries over TCP: the SYN is marked
#     from the truncated answer).
# Needs root; exit 0 pass, 77 skip (1 under CI=true), 1 fail.

E2E_DIR=${E2E_DIR:-$(cd "$(dirname "$0")" && pwd)}
. "$E2E_DIR/lib.sh"

E2E_CLIENTS="192.0.2.10=1 192.0.2.11=2 2001:db8:1::10=1 2001:db8:1::11=2"
B_GW_V4=203.0.113.1
B_UP_V4=203.0.113.2
B_GW_V6=2001:db8:4::1
B_UP_V6=2001:db8:4::2
B_TABLE=100
B_MARK=2

e2e_init routing
e2e_net_up
e2e_gw_rules

# Uplink B: a second link to the same "internet", a routing table that
# reaches the upstream resolver through it, the fwmark rule, masquerading
# (the source address was chosen on A before the mark rerouted the packet),
# and loose reverse-path filtering for the answers coming back on B.
ip -n "$E2E_NS_GW" link add gwu1 type veth peer name up1 netns "$E2E_NS_UP" ||
    e2e_die "veth for uplink B failed"
ip -n "$E2E_NS_GW" addr add "$B_GW_V4/24" dev gwu1
ip -n "$E2E_NS_GW" addr add "$B_GW_V6/64" dev gwu1 nodad
ip -n "$E2E_NS_UP" addr add "$B_UP_V4/24" dev up1
ip -n "$E2E_NS_UP" addr add "$B_UP_V6/64" dev up1 nodad
ip -n "$E2E_NS_GW" link set gwu1 up
ip -n "$E2E_NS_UP" link set up1 up
ip -n "$E2E_NS_GW" route add 198.51.100.0/24 via "$B_UP_V4" dev gwu1 table "$B_TABLE"
ip -n "$E2E_NS_GW" -6 route add 2001:db8:2::/64 via "$B_UP_V6" dev gwu1 table "$B_TABLE"
ip -n "$E2E_NS_GW" rule add fwmark "$B_MARK" lookup "$B_TABLE"
ip -n "$E2E_NS_GW" -6 rule add fwmark "$B_MARK" lookup "$B_TABLE"
e2e_in "$E2E_NS_GW" iptables -t nat -A POSTROUTING -o gwu1 -j MASQUERADE
e2e_in "$E2E_NS_GW" ip6tables -t nat -A POSTROUTING -o gwu1 -j MASQUERADE
e2e_in "$E2E_NS_GW" sysctl -qw net.ipv4.conf.all.rp_filter=2 \
    net.ipv4.conf.gwu0.rp_filter=2 net.ipv4.conf.gwu1.rp_filter=2

e2e_upstream_start
e2e_say "bed ready in $(e2e_elapsed) s (run $E2E_RUN)"

# capture_start LABEL / capture_stop: every DNS packet on each uplink.
capture_start() {
	CAPTURE_PIDS=
	for dev in gwu0 gwu1; do
		e2e_spawn "$E2E_NS_GW" "$E2E_TMP/$1-$dev.err" \
		    tcpdump -n -U --immediate-mode -i "$dev" -w "$E2E_TMP/$1-$dev.pcap" port 53
		CAPTURE_PIDS="$CAPTURE_PIDS $E2E_LAST_PID"
	done
	for dev in gwu0 gwu1; do
		e2e_wait_until 50 grep -q 'listening on' "$E2E_TMP/$1-$dev.err" ||
		    e2e_die "tcpdump on $dev did not start"
	done
}

capture_stop() {
	sleep 0.5
	for pid in $CAPTURE_PIDS; do
		e2e_stop "$pid" INT >/dev/null
		e2e_forget "$pid"
	done
}

# packets LABEL DEV: the capture as text, outgoing packets only (to port 53).
packets() {
	tcpdump -n -r "$E2E_TMP/$1-$2.pcap" 2>/dev/null | awk '$5 ~ /\.53:$/'
}

# lookup_bg ARGS...: lookup ARGS in the background.
lookup_bg() {
	lookup "$@" &
	LOOKUP_PIDS="$LOOKUP_PIDS $!"
}

# lookups_wait: wait for the lookups started with lookup_bg (a plain wait
# would also wait for the servers running in the background).
lookups_wait() {
	for pid in $LOOKUP_PIDS; do
		wait "$pid"
	done
	LOOKUP_PIDS=
}

# lookup CLIENT NAME TYPE [DIG OPTION]: one lookup from CLIENT; records the
# result in $E2E_TMP/$LABEL-results.
lookup() {
	server=$(e2e_client_server "$1")
	if e2e_in "$E2E_NS_CLIENT" dig +time=3 +tries=1 -b "$1" "@$server" \
	    ${4:-+notcp} "$2" "$3" | e2e_answered; then
		echo "ok $1 $2 $3 ${4:-}" >>"$E2E_TMP/$LABEL-results"
	else
		echo "FAIL $1 $2 $3 ${4:-}" >>"$E2E_TMP/$LABEL-results"
	fi
}

# check_uplinks LABEL: client .11/::11 names (tag c4-11, c6-11) only on B,
# the others' only on A; TCP port 53 on A only when CLIENT_A_TCP says so.
check_uplinks() {
	packets "$1" gwu0 >"$E2E_TMP/$1-a.txt"
	packets "$1" gwu1 >"$E2E_TMP/$1-b.txt"
	on_b_wrong=$(grep -ic -e 'c4-10' -e 'c6-10' "$E2E_TMP/$1-b.txt")
	on_a_wrong=$(grep -ic -e 'c4-11' -e 'c6-11' "$E2E_TMP/$1-a.txt")
	on_b_right=$(grep -ic -e 'c4-11' -e 'c6-11' "$E2E_TMP/$1-b.txt")
	on_a_right=$(grep -ic -e 'c4-10' -e 'c6-10' "$E2E_TMP/$1-a.txt")
	tcp_a=$(grep -c 'Flags \[' "$E2E_TMP/$1-a.txt")
	tcp_b=$(grep -c 'Flags \[' "$E2E_TMP/$1-b.txt")
	syn_b=$(grep -c 'Flags \[S\]' "$E2E_TMP/$1-b.txt")
	failed=$(grep -c '^FAIL' "$E2E_TMP/$1-results")
	total=$(wc -l <"$E2E_TMP/$1-results")
	e2e_check "$1: $((total - failed))/$total lookups answered" "$failed"
	e2e_check "$1: mark-2 client's queries left by B ($on_b_right packets), none by A ($on_a_wrong)" \
	    "$([ "$on_b_right" -gt 0 ] && [ "$on_a_wrong" -eq 0 ] && echo 0 || echo 1)"
	e2e_check "$1: mark-1 client's queries left by A ($on_a_right packets), none by B ($on_b_wrong)" \
	    "$([ "$on_a_right" -gt 0 ] && [ "$on_b_wrong" -eq 0 ] && echo 0 || echo 1)"
	e2e_check "$1: TCP to port 53 only by B ($tcp_b segments, $syn_b SYNs), none by A ($tcp_a)" \
	    "$([ "$tcp_b" -gt 0 ] && [ "$syn_b" -gt 0 ] && [ "$tcp_a" -eq 0 ] && echo 0 || echo 1)"
}

# scenario KIND: the resolver under test, the lookups, the checks.
scenario() {
	LABEL=$1
	failed_before=$E2E_FAILED
	e2e_say "== $LABEL"
	: >"$E2E_TMP/$LABEL-results"
	e2e_resolver_start "$1" "$LABEL"
	e2e_dnsmark_start "$LABEL" --verbose
	capture_start "$LABEL"
	base=$LABEL-r$E2E_RUN.$E2E_ZONE
	case $1 in
	dnsmasq)
		# Both clients over UDP; only the mark-2 client over TCP.
		for c in 192.0.2.10 192.0.2.11 2001:db8:1::10 2001:db8:1::11; do
			tag=$(e2e_client_tag "$c")
			lookup_bg "$c" "$tag-u1.$base" A
			lookup_bg "$c" "$tag-u2.$base" AAAA
		done
		lookups_wait
		lookup_bg 192.0.2.11 "c4-11-t1.$base" A +tcp
		lookup_bg 2001:db8:1::11 "c6-11-t2.$base" TXT +tcp
		lookup_bg 192.0.2.10 "c4-10-u3.$base" A
		lookups_wait
		;;
	unbound)
		# The mark-2 client asks for an answer too large for UDP while
		# the mark-1 client asks for small ones.
		lookup_bg 192.0.2.11 "c4-11-x1-$LABEL-r$E2E_RUN.big.$E2E_ZONE" TXT
		lookup_bg 192.0.2.10 "c4-10-u1.$base" A
		lookup_bg 2001:db8:1::10 "c6-10-u2.$base" AAAA
		lookups_wait
		lookup_bg 2001:db8:1::11 "c6-11-x2-$LABEL-r$E2E_RUN.big.$E2E_ZONE" TXT
		lookup_bg 192.0.2.10 "c4-10-u3.$base" TXT
		lookups_wait
		;;
	esac
	capture_stop
	e2e_dnsmark_stop
	e2e_resolver_stop
	check_uplinks "$LABEL"
	if [ "$1" = unbound ]; then
		tcp=$(grep -c 'SYN.*mark 0x2 tcp' "$E2E_DNSMARK_LOG")
		e2e_check "$LABEL: $tcp upstream SYNs marked from a truncated answer" \
		    "$([ "$tcp" -gt 0 ] && echo 0 || echo 1)"
	fi
	if [ "$E2E_FAILED" -ne "$failed_before" ] || [ -n "${E2E_VERBOSE:-}" ]; then
		e2e_show "uplink A" "$E2E_TMP/$LABEL-a.txt"
		e2e_show "uplink B" "$E2E_TMP/$LABEL-b.txt"
		e2e_show "dnsmark" "$E2E_DNSMARK_LOG"
		e2e_show "$LABEL" "$E2E_RESOLVER_LOG"
		e2e_show "results" "$E2E_TMP/$LABEL-results"
	fi
}

scenario dnsmasq
scenario unbound

e2e_say "$E2E_PASSED passed, $E2E_FAILED failed ($(e2e_elapsed) s)"
[ "$E2E_FAILED" -eq 0 ]
