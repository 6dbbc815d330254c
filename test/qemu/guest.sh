#!/bin/sh
# test/qemu/guest.sh: the stock-kernel scenario, run by the guest's /init
# (run.sh boots it). The e2e bed of test/e2e/lib.sh (client, gateway and
# upstream namespaces, unbound forwarding to a recursive unbound over NSD)
# with the shipped rules/dnsmark.nft (or bpf.nft) loaded as it ships, where
# the kernel has the nftables queue statement and attaches conntrack data
# (NFQA_CT) to queued packets. Five runs:
#   restore   the user's rules copy the connmark to the packet mark, as in
#             dnsmasq's conntrack README: marks must follow each client;
#   connmark  the user's rules set the connmark only, the packet mark stays
#             0: marks must still follow each client, read from NFQA_CT;
#   bpf       as restore, with bpf.nft and dnsmark given the resolver's
#             cgroup alone (--bpf-cgroup, no --mode: the default mode is
#             then bpf): its BPF program records the UDP client queries
#             on the distribution kernel, and marks must follow each
#             client;
#   observe   as restore, with observe.nft and dnsmark --mode observe:
#             client queries and responses copied by NFLOG, only upstream
#             queries held; marks must follow each client;
#   no-ct     as connmark, with nf_conntrack_netlink unloaded so that the
#             kernel refuses conntrack data: dnsmark must say so and keep
#             answering, and the names leave unmarked (the control).
# Exit 0 pass, 1 fail, 77 skip.

DNSMARK=/opt/dnsmark/dnsmark
RULES_DIR=/opt/dnsmark/rules
E2E_DIR=/opt/dnsmark/e2e
# Under TCG the kernel verifies bpf mode's programs in several seconds
# (0.7 s on the host), more when the host is busy: let dnsmark take 30.
E2E_BIND_WAIT=300
export DNSMARK RULES_DIR E2E_DIR E2E_BIND_WAIT
. "$E2E_DIR/lib.sh"

e2e_init qemu
e2e_say "stock kernel $(uname -r)"
e2e_net_up
e2e_upstream_start
e2e_say "bed ready in $(e2e_elapsed) s (run $E2E_RUN)"

QEMU_CLIENTS=
for c in $E2E_CLIENTS; do
	QEMU_CLIENTS="$QEMU_CLIENTS ${c%=*}"
done

# qemu_user_rules KIND: the user's own table (not shipped), in prerouting
# like the README's example. KIND restore: restore the connmark to the
# packet mark, mark new clients by address, save it back. KIND connmark:
# mark new clients' connections only; packets keep mark 0.
qemu_user_rules() {
	printf 'table inet user\ndelete table inet user\n'
	printf 'table inet user {\n\tchain prerouting {\n'
	printf '\t\ttype filter hook prerouting priority mangle; policy accept;\n'
	[ "$1" = restore ] && printf '\t\tmeta mark set ct mark\n'
	for c in $E2E_CLIENTS; do
		addr=${c%=*}
		case $addr in
		*:*) family=ip6 ;;
		*) family=ip ;;
		esac
		case $1 in
		restore)
			printf '\t\tmeta mark 0 %s saddr %s meta mark set 0x%x\n' \
			    "$family" "$addr" "${c#*=}"
			;;
		connmark)
			printf '\t\tct mark 0 %s saddr %s ct mark set 0x%x\n' \
			    "$family" "$addr" "${c#*=}"
			;;
		esac
	done
	[ "$1" = restore ] && printf '\t\tct mark set meta mark\n'
	printf '\t}\n}\n'
}

# qemu_observe_rules: the observation (not shipped). Counters on the client
# packets to the resolver as they reach input (before the shipped queue
# rule): all, with a packet mark, with a connmark. And every DNS query
# leaving upstream copied to the NFLOG group of its final packet mark (the
# groups lib.sh's capture reads), after the shipped postrouting chain.
qemu_observe_rules() {
	printf 'table inet observe\ndelete table inet observe\n'
	printf 'table inet observe {\n'
	printf '\tcounter client_packets { }\n'
	printf '\tcounter client_packet_marked { }\n'
	printf '\tcounter client_ct_marked { }\n'
	printf '\tchain input {\n'
	printf '\t\ttype filter hook input priority mangle - 10; policy accept;\n'
	printf '\t\tiifname "gwc0" meta l4proto { tcp, udp } th dport 53 jump client\n'
	printf '\t}\n'
	printf '\tchain client {\n'
	printf '\t\tcounter name "client_packets"\n'
	printf '\t\tmeta mark != 0 counter name "client_packet_marked"\n'
	printf '\t\tct mark != 0 counter name "client_ct_marked"\n'
	printf '\t}\n'
	printf '\tchain postrouting {\n'
	printf '\t\ttype filter hook postrouting priority mangle + 10; policy accept;\n'
	printf '\t\toifname "gwu0" meta l4proto { tcp, udp } th dport 53 jump upstream\n'
	printf '\t}\n'
	# queue-threshold 1 (in the chain): no kernel batching, so that the
	# last copies reach tcpdump before it stops.
	e2e_log_by_mark_chain upstream
	printf '}\n'
}

# qemu_counter NAME: packets counted by a named counter of table observe
# (-1 when it cannot be read, which fails every check on it).
qemu_counter() {
	e2e_in "$E2E_NS_GW" nft list counter inet observe "$1" |
	    awk '$1 == "packets" { n = $2 } END { print (n == "" ? -1 : n) }'
}

# qemu_load_rules KIND FILE: in the gateway, the user's rules, then the
# shipped rules FILE exactly as shipped, then the observation. Each file
# replaces its own table, so reloading starts every counter from zero.
qemu_load_rules() {
	qemu_user_rules "$1" >"$E2E_TMP/$1-user.nft"
	qemu_observe_rules >"$E2E_TMP/observe.nft"
	e2e_in "$E2E_NS_GW" nft -f "$E2E_TMP/$1-user.nft" ||
	    e2e_die "user rules ($1) failed to load"
	e2e_in "$E2E_NS_GW" nft -f "$RULES_DIR/$2" ||
	    e2e_die "shipped $RULES_DIR/$2 failed to load"
	e2e_in "$E2E_NS_GW" nft -f "$E2E_TMP/observe.nft" ||
	    e2e_die "observation rules failed to load"
}

# qemu_conntrack_marks: "flows unmarked foreign" over the UDP flows the
# gateway opened upstream (foreign: a mark no client has).
qemu_conntrack_marks() {
	e2e_conntrack_upstream | awk -v clients="$E2E_CLIENTS" '
	BEGIN {
		n = split(clients, c, " ")
		for (i = 1; i <= n; i++) {
			split(c[i], kv, "=")
			client[kv[2]] = 1
		}
	}
	$1 == "udp" {
		flows++
		if ($5 == "0")
			unmarked++
		else if (!($5 in client))
			foreign++
	}
	END { printf "%d %d %d\n", flows, unmarked, foreign }'
}

# The resolver's cgroup for the bpf run (cgroup2 is mounted by /init on
# /sys/fs/cgroup, where this shell is), and dnsmark started in this shell's
# mount namespace, where that mount is.
QEMU_CGROUP=/sys/fs/cgroup/dnsmark-qemu
QEMU_DNSMARK=$DNSMARK
qemu_bpf_wrapper=$E2E_TMP/dnsmark-in-host-mounts
e2e_host_mounts_wrapper "$qemu_bpf_wrapper" "$QEMU_DNSMARK"

# scenario LABEL USER_RULES CONNTRACK [RULES_FILE]: one run from start to
# verdict. CONNTRACK on: the kernel gives NFQA_CT, every client name must
# leave with its client's mark. CONNTRACK off: dnsmark must say it gets no
# conntrack data, and (with USER_RULES connmark) the names leave unmarked.
# RULES_FILE bpf.nft: unbound in QEMU_CGROUP and dnsmark --bpf-cgroup on it;
# observe.nft: dnsmark --mode observe; dnsmark.nft (the default): queue
# mode.
scenario() {
	label=$1
	rules=$2
	ct=$3
	rules_file=${4:-dnsmark.nft}
	failed_before=$E2E_FAILED
	started=$(date +%s)
	e2e_say "== $label: user rules '$rules', conntrack data $ct, $rules_file"
	qemu_load_rules "$rules" "$rules_file"
	e2e_in "$E2E_NS_GW" conntrack -F >/dev/null 2>&1
	e2e_capture_start "$label"
	if [ "$rules_file" = bpf.nft ]; then
		mkdir -p "$QEMU_CGROUP" || e2e_die "cannot make $QEMU_CGROUP"
		e2e_in_cgroup "$QEMU_CGROUP" /sys/fs/cgroup \
		    e2e_resolver_start unbound "$label"
		DNSMARK=$qemu_bpf_wrapper
		e2e_dnsmark_start "$label" --verbose --bpf-cgroup "$QEMU_CGROUP"
		DNSMARK=$QEMU_DNSMARK
	elif [ "$rules_file" = observe.nft ]; then
		e2e_resolver_start unbound "$label"
		e2e_dnsmark_start "$label" --verbose --mode observe
	else
		e2e_resolver_start unbound "$label"
		e2e_dnsmark_start "$label" --verbose
	fi

	# shellcheck disable=SC2086 # one argument per client
	e2e_lookups "$label" $QEMU_CLIENTS

	conntrack_after=$E2E_TMP/$label-conntrack.txt
	e2e_show_conntrack >"$conntrack_after"
	# shellcheck disable=SC2046 # three numbers
	set -- $(qemu_conntrack_marks)
	flows=$1 flows_unmarked=$2 flows_foreign=$3
	packets=$(qemu_counter client_packets)
	packet_marked=$(qemu_counter client_packet_marked)
	ct_marked=$(qemu_counter client_ct_marked)
	e2e_dnsmark_stop
	dnsmark_status=$?
	e2e_resolver_stop
	e2e_capture_stop
	if [ "$rules_file" = bpf.nft ]; then
		rmdir "$QEMU_CGROUP" 2>/dev/null ||
		    e2e_warn "could not remove $QEMU_CGROUP"
		# The default mode with a cgroup, and its records of client
		# queries and answers: the log's "bpf mode" line and its
		# counters (SIGUSR1).
		records=$(sed -n 's/.*bpf_records=\([0-9]*\).*/\1/p' "$E2E_DNSMARK_LOG" | tail -n 1)
		grep -q 'bpf mode: client queries recorded' "$E2E_DNSMARK_LOG" &&
		    [ "${records:-0}" -gt 0 ]
		e2e_check "$label: dnsmark chose bpf mode by itself and read ${records:-no} records from its ring" $?
	fi
	if [ "$rules_file" = observe.nft ]; then
		# The copies arrived, none was lost, and the flush marker came
		# back: the log's counters (SIGUSR1).
		copies=$(sed -n 's/.* nflog_copies=\([0-9]*\).*/\1/p' "$E2E_DNSMARK_LOG" | tail -n 1)
		lost=$(sed -n 's/.* nflog_lost=\([0-9]*\).*/\1/p' "$E2E_DNSMARK_LOG" | tail -n 1)
		grep -q 'flush marker seen' "$E2E_DNSMARK_LOG" &&
		    [ "${copies:-0}" -gt 0 ] && [ "${lost:-1}" -eq 0 ]
		e2e_check "$label: NFLOG copies ${copies:-none}, lost ${lost:-?}, flush marker seen" $?
	fi

	total=$(wc -l <"$E2E_TMP/$label-results")
	failed=$(grep -c '^FAIL' "$E2E_TMP/$label-results")
	e2e_check "$label: $((total - failed))/$total lookups answered" "$failed"
	grep '^FAIL' "$E2E_TMP/$label-results" | sed 's/^/    /'

	if [ "$ct" = on ]; then
		grep -q 'conntrack data on' "$E2E_DNSMARK_LOG"
		e2e_check "$label: dnsmark gets conntrack data (logged 'conntrack data on')" $?
	else
		grep -q 'kernel gives no conntrack data' "$E2E_DNSMARK_LOG" &&
		    grep -q 'conntrack data off' "$E2E_DNSMARK_LOG"
		e2e_check "$label: dnsmark says the kernel gives no conntrack data" $?
	fi
	grep 'conntrack data' "$E2E_DNSMARK_LOG" | sed 's/^/    /'

	case $rules in
	restore)
		[ "$packets" -gt 0 ] && [ "$packet_marked" -eq "$packets" ]
		e2e_check "$label: client packets reach the queue with a packet mark ($packet_marked of $packets)" $?
		;;
	connmark)
		[ "$packets" -gt 0 ] && [ "$packet_marked" -eq 0 ] &&
		    [ "$ct_marked" -eq "$packets" ]
		e2e_check "$label: client packets reach the queue with packet mark 0 and a connmark ($packet_marked and $ct_marked of $packets)" $?
		;;
	esac

	# shellcheck disable=SC2046 # nine numbers, one argument each
	set -- $(e2e_attribution "$E2E_TMP/$label-expected" 2>"$E2E_TMP/$label-problems")
	e2e_check "$label: no client name left with another client's mark" "$7"
	if [ "$ct" = on ] || [ "$rules" = restore ]; then
		e2e_check "$label: every client name left upstream with its client's mark" "$9"
		e2e_check "$label: no client name left unmarked" "$8"
		sed 's/^/    /' "$E2E_TMP/$label-problems" | sort | head -n 40
	else
		[ "$6" -eq 0 ] && [ "$8" -gt 0 ]
		e2e_check "$label: without conntrack data and packet marks, client names leave unmarked ($8 unmarked, $6 marked)" $?
	fi
	if [ "$ct" = on ]; then
		[ "$flows" -gt 0 ] && [ "$flows_unmarked" -eq 0 ] && [ "$flows_foreign" -eq 0 ]
		e2e_check "$label: conntrack: every upstream UDP flow carries a client's mark ($flows flows, $flows_unmarked unmarked, $flows_foreign foreign)" $?
	fi
	e2e_check "$label: dnsmark exited cleanly on SIGTERM (status $dnsmark_status)" \
	    "$dnsmark_status"
	e2e_say "$label: upstream queries by mark: 0x1=$2 0x2=$3 0x3=$4 none=$1 other=$5; for client names: correct=$6 wrong=$7 unmarked=$8 (names never correct: $9); queue: $E2E_QUEUE_STATS; $(($(date +%s) - started)) s"

	if [ "$E2E_FAILED" -ne "$failed_before" ] || [ -n "${E2E_VERBOSE:-}" ]; then
		e2e_show "dnsmark" "$E2E_DNSMARK_LOG"
		e2e_show "unbound" "$E2E_RESOLVER_LOG"
		e2e_say "---- gateway ruleset ----"
		e2e_in "$E2E_NS_GW" nft list ruleset | sed 's/^/    /'
		cat "$conntrack_after"
	fi
}

scenario restore restore on
scenario connmark connmark on
scenario bpf restore on bpf.nft
scenario observe restore on observe.nft
# The control: without nf_conntrack_netlink the kernel refuses the
# conntrack flag (the development kernel's case), so nothing but the packet
# mark is left to dnsmark.
if rmmod nf_conntrack_netlink; then
	scenario no-ct connmark off
else
	e2e_check "no-ct: unload nf_conntrack_netlink" 1
fi

e2e_say "$E2E_PASSED passed, $E2E_FAILED failed ($(e2e_elapsed) s)"
[ "$E2E_FAILED" -eq 0 ]
