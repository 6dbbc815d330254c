#!/bin/sh
# test/e2e/demo.sh: show a human what dnsmark does, on the same namespace
# bed as the tests (lib.sh). A gateway runs unbound forwarding upstream; the
# user's rules mark client 192.0.2.10 with 0x1 and 192.0.2.11 with 0x2. The
# demo looks names up first without dnsmark, then with it, and reads the
# gateway's conntrack table to show which mark each client's upstream flows
# got. dnsmark runs in its default mode where it can: given unbound's cgroup,
# bpf mode (a BPF program on unbound's sockets records the client queries;
# the rules are bpf-v4.rules and bpf-v6.rules); without bpf mode built or
# without cgroup v2, queue mode (iptables-v4.rules, iptables-v6.rules, the
# client queries on the queue too). DEMO_MODE=queue or bpf chooses.
# Run as root: sh test/e2e/demo.sh (make demo sets DNSMARK, RULES_DIR).

E2E_DIR=${E2E_DIR:-$(cd "$(dirname "$0")" && pwd)}
. "$E2E_DIR/lib.sh"

DEMO_CLIENT_A=192.0.2.10
DEMO_CLIENT_B=192.0.2.11
DEMO_OK=0

# demo_flows STEP CLIENT: run CLIENT's lookups (label STEP) and leave in
# $E2E_TMP/STEP-flows the upstream flows that appeared meanwhile.
demo_flows() {
	e2e_conntrack_upstream | sort >"$E2E_TMP/$1-before"
	e2e_lookups "$1" "$2"
	e2e_conntrack_upstream | sort >"$E2E_TMP/$1-after"
	grep -v -x -F -f "$E2E_TMP/$1-before" "$E2E_TMP/$1-after" \
	    >"$E2E_TMP/$1-flows"
}

# demo_report STEP CLIENT WANT: one readable line on STEP's upstream flows;
# counts a miss in DEMO_OK when a flow's mark is not WANT.
demo_report() {
	demo_mark=$(e2e_client_mark "$2")
	demo_lookups=$(wc -l <"$E2E_TMP/$1-results")
	demo_answered=$(grep -c '^ok' "$E2E_TMP/$1-results")
	demo_summary=$(awk -v want="$3" '
		{ n++; count[$5]++ }
		END {
			if (n == 0) { print "no upstream flows"; exit 1 }
			if (count[want] == n) {
				printf "%d upstream flows, all mark=%s\n", n, want
				exit 0
			}
			printf "%d upstream flows, marks:", n
			for (m in count) printf " mark=%s (%d)", m, count[m]
			printf "\n"
			exit 1
		}' "$E2E_TMP/$1-flows") || DEMO_OK=1
	[ "$demo_answered" -eq "$demo_lookups" ] || DEMO_OK=1
	printf '   client %s (mark 0x%x): %d/%d lookups answered, %s\n' \
	    "$2" "$demo_mark" "$demo_answered" "$demo_lookups" "$demo_summary"
}

# demo_list STEP CLIENT: the flows themselves, one a line.
demo_list() {
	awk -v client="$2" '{
		printf "      %s %s:%s -> %s:53  mark=%s  (for client %s)\n", $1, $2, $3, $4, $5, client
	}' "$E2E_TMP/$1-flows" | sort -k2,2 -t: -n
}

# The kernel fast path's pins (bpf mode): a bpf file system of the demo's
# own, unmounted by the cleanup.
DEMO_BPFFS=
demo_unmount_bpffs() {
	[ -z "$DEMO_BPFFS" ] || umount "$DEMO_BPFFS" 2>/dev/null
}
E2E_CLEANUP_HOOK=demo_unmount_bpffs

e2e_init demo
DEMO_MODE=${DEMO_MODE:-}
if [ "$DEMO_MODE" != queue ]; then
	if "$DNSMARK" --bpf-cgroup /nonexistent 2>&1 | grep -q 'built without'; then
		[ "$DEMO_MODE" = bpf ] && e2e_die "$DNSMARK was built without bpf mode"
		DEMO_MODE=queue
	elif e2e_cgroup_make "dnsmark-demo-$E2E_RUN"; then
		DEMO_MODE=bpf
		E2E_RULES_V4=bpf-v4.rules
		E2E_RULES_V6=bpf-v6.rules
		# dnsmark in this shell's mount namespace (ip netns exec hides
		# the cgroup2 mount) and the gateway's network namespace.
		e2e_host_mounts_wrapper "$E2E_TMP/dnsmark" "$DNSMARK"
		DNSMARK=$E2E_TMP/dnsmark
		mkdir "$E2E_TMP/bpffs" &&
		    mount -t bpf -o mode=0700 bpf "$E2E_TMP/bpffs" ||
		    e2e_die "cannot mount a bpf file system on $E2E_TMP/bpffs"
		DEMO_BPFFS=$E2E_TMP/bpffs
	else
		[ "$DEMO_MODE" = bpf ] && e2e_die "cannot make a cgroup v2 directory"
		DEMO_MODE=queue
	fi
fi
e2e_say "dnsmark demo: a gateway whose local resolver (unbound, forwarding to"
e2e_say "198.51.100.2 in an \"internet\" namespace) serves two marked clients."
e2e_say "The user's own rules on the gateway mark client $DEMO_CLIENT_A with 0x1"
e2e_say "and $DEMO_CLIENT_B with 0x2; the question is which mark the resolver's"
e2e_say "upstream queries carry. Setting up namespaces (run $E2E_RUN)..."
e2e_net_up
e2e_gw_rules
e2e_upstream_start
if [ "$DEMO_MODE" = bpf ]; then
	e2e_in_cgroup "$E2E_CGROUP" "$E2E_CGROUP_HOME" e2e_resolver_start unbound demo
else
	e2e_resolver_start unbound demo
fi
e2e_in "$E2E_NS_GW" conntrack -F >/dev/null 2>&1

e2e_say ""
e2e_say "1. Without dnsmark (the shipped rules are loaded, nothing is bound to"
e2e_say "   queue $E2E_QUEUE, so --queue-bypass lets everything through unmarked):"
demo_flows without "$DEMO_CLIENT_A"
demo_report without "$DEMO_CLIENT_A" 0
demo_list without "$DEMO_CLIENT_A"
e2e_say "   The client's lookups leave the gateway as new flows without its mark:"
e2e_say "   accounting, quotas and per-client routing do not apply to them."

e2e_say ""
if [ "$DEMO_MODE" = bpf ]; then
	e2e_say "2. With dnsmark given unbound's cgroup, its default mode there (bpf):"
	e2e_say "   a BPF program on unbound's sockets records each client query with"
	e2e_say "   the client's mark, and files its question for the kernel fast path:"
	e2e_say "   an upstream query whose very question clients of one mark wait for"
	e2e_say "   is marked in the kernel (rules: bpf-fast-v4.rules, loaded once dnsmark"
	e2e_say "   has pinned its programs), the others wait on queue $E2E_QUEUE"
	e2e_say "   (rules: $E2E_RULES_V4; cgroup: $E2E_CGROUP):"
	e2e_dnsmark_start demo --bpf-cgroup "$E2E_CGROUP" \
	    --fast-path "$DEMO_BPFFS/dnsmark"
	e2e_fast_rules "$DEMO_BPFFS/dnsmark"
else
	e2e_say "2. With dnsmark bound to queue $E2E_QUEUE, in queue mode: client queries"
	e2e_say "   and upstream queries both wait on the queue (rules: $E2E_RULES_V4):"
	e2e_dnsmark_start demo
fi
demo_flows with-a "$DEMO_CLIENT_A"
demo_flows with-b "$DEMO_CLIENT_B"
demo_report with-a "$DEMO_CLIENT_A" 1
demo_report with-b "$DEMO_CLIENT_B" 2
demo_list with-a "$DEMO_CLIENT_A"
demo_list with-b "$DEMO_CLIENT_B"

e2e_dnsmark_stop
demo_status=$?
e2e_say ""
e2e_say "dnsmark stopped on SIGTERM with status $demo_status; its counters (those not 0):"
grep 'packets=' "$E2E_DNSMARK_LOG" | tail -n 1 | tr ' ' '\n' |
    grep '=' | grep -v '=0$' | paste -s -d ' ' | fold -s -w 72 | sed 's/^/   /'
[ "$demo_status" -eq 0 ] || DEMO_OK=1

e2e_say ""
if [ "$DEMO_OK" -eq 0 ]; then
	e2e_say "Every upstream flow carries the mark of the client that caused it."
else
	e2e_say "Something is off: see above (E2E_KEEP=1 keeps the logs)."
fi
e2e_say "Cleaning up the namespaces."
exit $DEMO_OK
