# test/accuracy/lib.sh: the network-namespace bed of the accuracy tool
# (sourced by accuracy.sh, never run). It makes three namespaces (client,
# gateway, internet) joined by veth pairs, loads the user's marking rules,
# the shipped rules/ files and the observation rules in the gateway, and runs
# dnsmark and the capture there. It never changes the host namespace: veth
# pairs are created from inside the namespaces, and addresses, routes and
# rules only exist in them. Processes are ended by the PIDs recorded here,
# from a trap on EXIT, INT and TERM that also deletes the namespaces and the
# cgroup made for bpf mode. That cgroup, under the shell's own, is the only
# one it makes; it moves nothing but its shell and the resolvers it starts.

PATH=$PATH:/usr/sbin:/sbin
export PATH

BED_RUN=$$
BED_NS_CLIENT=dnsacc-client-$BED_RUN
BED_NS_GW=dnsacc-gw-$BED_RUN
BED_NS_NET=dnsacc-net-$BED_RUN
BED_TMP=
BED_PIDS=
BED_NETNS=
BED_KEEP=
# bpf mode: the cgroup v2 directory the resolvers under test run in (made by
# bed_cgroup_make), and the shell's own cgroup, where it comes back to.
BED_CGROUP=
BED_BPFFS=
BED_CGROUP_HOME=

# The gateway: its LAN side (where the resolvers listen) and its uplink
# towards the "internet" namespace (where every upstream query leaves).
BED_GW_LAN4=192.0.2.1
BED_GW_LAN6=2001:db8:1::1
BED_GW_UP4=198.51.100.1
BED_GW_UP6=2001:db8:2::1
BED_NET_UP4=198.51.100.2
BED_NET_UP6=2001:db8:2::2
BED_UPLINK=up0
# Client K (1..4) has the addresses 192.0.2.(9+K) and 2001:db8:1::(9+K) and
# gets mark K from the user's rules (bed_gw_rules).
BED_CLIENTS="1 2 3 4"
# NFLOG group of the observation rules (per network namespace).
BED_NFLOG_GROUP=11

bed_say() {
	printf '%s\n' "$*"
}

bed_warn() {
	printf '%s: %s\n' "${0##*/}" "$*" >&2
}

# bed_skip REASON: exit 77 (skip), or 1 when CI=true (a CI lane must not
# skip silently).
bed_skip() {
	if [ "${CI:-}" = true ]; then
		bed_warn "FAIL (CI=true, would skip): $*"
		exit 1
	fi
	bed_warn "SKIP: $*"
	exit 77
}

bed_die() {
	bed_warn "ERROR: $*"
	exit 1
}

# bed_now: wall-clock time in seconds with nanoseconds, the clock of the
# capture's timestamps.
bed_now() {
	date +%s.%N
}

# bed_client_addr K FAMILY: client K's address for FAMILY (4 or 6).
bed_client_addr() {
	if [ "$2" = 6 ]; then
		printf '2001:db8:1::%d\n' $((9 + $1))
	else
		printf '192.0.2.%d\n' $((9 + $1))
	fi
}

# bed_init NAME TOOL...: check root and TOOLs (exit 77 when one is missing),
# make the temporary directory and set the cleanup trap.
bed_init() {
	bed_name=$1
	shift
	[ "$(id -u)" -eq 0 ] || bed_skip "needs root (network namespaces, netfilter)"
	bed_missing=
	for bed_tool in "$@"; do
		command -v "$bed_tool" >/dev/null 2>&1 ||
		    bed_missing="$bed_missing $bed_tool"
	done
	[ -z "$bed_missing" ] || bed_skip "missing tools:$bed_missing"
	tcpdump -D 2>/dev/null | grep -q nflog ||
	    bed_skip "tcpdump cannot capture from nflog"

	BED_TMP=$(mktemp -d "${TMPDIR:-/tmp}/dnsmark-$bed_name.XXXXXX") ||
	    bed_die "mktemp failed"
	trap bed_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# bed_cleanup: the EXIT trap. Moves whatever is still in the resolvers'
# cgroup back to the shell's (only this script's processes: the shell, if
# the trap came while it was in there, and what it started there), ends
# every process still recorded, by PID, removes the cgroup, deletes the
# namespaces and, unless BED_KEEP is set, the temporary files.
bed_cleanup() {
	bed_status=$?
	set +e
	bed_cgroup_leave
	for bed_pid in $BED_PIDS; do
		kill -TERM "$bed_pid" 2>/dev/null
	done
	for bed_pid in $BED_PIDS; do
		bed_n=0
		while kill -0 "$bed_pid" 2>/dev/null && [ $bed_n -lt 30 ]; do
			sleep 0.1
			bed_n=$((bed_n + 1))
		done
		kill -KILL "$bed_pid" 2>/dev/null
		wait "$bed_pid" 2>/dev/null
	done
	BED_PIDS=
	if [ -n "$BED_CGROUP" ] && [ -d "$BED_CGROUP" ]; then
		bed_cgroup_leave
		rmdir "$BED_CGROUP" 2>/dev/null ||
		    bed_warn "could not remove the cgroup $BED_CGROUP"
	fi
	for bed_ns in $BED_NETNS; do
		ip netns del "$bed_ns" 2>/dev/null
	done
	# The fast path's bpf file system, once the rules holding its
	# programs are gone with the gateway.
	[ -z "$BED_BPFFS" ] || umount "$BED_BPFFS" 2>/dev/null
	if [ -n "$BED_TMP" ]; then
		if [ -n "$BED_KEEP" ]; then
			bed_warn "kept $BED_TMP"
		else
			rm -rf "$BED_TMP"
		fi
	fi
	exit $bed_status
}

# bed_spawn NAMESPACE LOG COMMAND...: start COMMAND in the background in
# NAMESPACE, stdout and stderr to LOG. ip netns exec execs the command, so
# the PID left in BED_LAST_PID is the command's own; it is recorded for the
# cleanup.
bed_spawn() {
	bed_ns=$1
	bed_log=$2
	shift 2
	ip netns exec "$bed_ns" "$@" >"$bed_log" 2>&1 </dev/null &
	BED_LAST_PID=$!
	BED_PIDS="$BED_PIDS $BED_LAST_PID"
}

# bed_cgroup_make: make the resolvers' cgroup (bpf mode) under the shell's
# own cgroup v2 directory (from /proc/$$/cgroup, below the cgroup2 mount of
# /proc/mounts); BED_CGROUP and BED_CGROUP_HOME. Returns 1 (and says why)
# without cgroup v2 or when the directory cannot be made.
bed_cgroup_make() {
	bed_mnt=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
	if [ -z "$bed_mnt" ]; then
		bed_warn "no cgroup2 file system mounted"
		return 1
	fi
	BED_CGROUP_HOME=$bed_mnt$(awk -F: '$1 == "0" { print $3 }' "/proc/$$/cgroup")
	BED_CGROUP_HOME=${BED_CGROUP_HOME%/}
	if ! mkdir "$BED_CGROUP_HOME/dnsmark-accuracy-$BED_RUN" 2>/dev/null; then
		bed_warn "cannot make a cgroup under $BED_CGROUP_HOME"
		return 1
	fi
	BED_CGROUP=$BED_CGROUP_HOME/dnsmark-accuracy-$BED_RUN
}

# bed_cgroup_leave: move every process still in the resolvers' cgroup (only
# this script's: the cgroup is its own) back to the shell's cgroup.
bed_cgroup_leave() {
	[ -n "$BED_CGROUP" ] && [ -r "$BED_CGROUP/cgroup.procs" ] || return 0
	while read -r bed_pid; do
		echo "$bed_pid" >"$BED_CGROUP_HOME/cgroup.procs" 2>/dev/null
	done <"$BED_CGROUP/cgroup.procs"
	return 0
}

# bed_in_cgroup COMMAND...: run COMMAND (a shell function or program) with
# this shell in the resolvers' cgroup, so that whatever it starts is born
# there (a socket belongs to the cgroup of the process that made it), and
# come back; plain COMMAND without a cgroup. Returns COMMAND's status.
bed_in_cgroup() {
	[ -n "$BED_CGROUP" ] || {
		"$@"
		return
	}
	echo $$ >"$BED_CGROUP/cgroup.procs" || bed_die "cannot enter $BED_CGROUP"
	bed_st=0
	"$@" || bed_st=$?
	echo $$ >"$BED_CGROUP_HOME/cgroup.procs" ||
	    bed_die "cannot return to $BED_CGROUP_HOME"
	return $bed_st
}

# bed_in_cgroup_pid PID: true when process PID is in the resolvers' cgroup.
bed_in_cgroup_pid() {
	grep -qx "$1" "$BED_CGROUP/cgroup.procs"
}

# bed_forget PID: drop a finished process from the cleanup list.
bed_forget() {
	bed_rest=
	for bed_pid in $BED_PIDS; do
		[ "$bed_pid" = "$1" ] || bed_rest="$bed_rest $bed_pid"
	done
	BED_PIDS=$bed_rest
}

# bed_stop PID [SIGNAL]: send SIGNAL (TERM) to a process we started, wait
# at most 5 s (then SIGKILL) and return its exit status.
bed_stop() {
	bed_pid=$1
	kill "-${2:-TERM}" "$bed_pid" 2>/dev/null || true
	bed_n=0
	while kill -0 "$bed_pid" 2>/dev/null && [ $bed_n -lt 50 ]; do
		sleep 0.1
		bed_n=$((bed_n + 1))
	done
	kill -KILL "$bed_pid" 2>/dev/null || true
	bed_status=0
	wait "$bed_pid" 2>/dev/null || bed_status=$?
	bed_forget "$bed_pid"
	return $bed_status
}

# bed_alive PID: true while a process we started runs.
bed_alive() {
	kill -0 "$1" 2>/dev/null
}

# bed_wait_until TENTHS COMMAND...: run COMMAND every 0.1 s until it
# succeeds; false after TENTHS tries.
bed_wait_until() {
	bed_tries=$1
	shift
	while [ "$bed_tries" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		bed_tries=$((bed_tries - 1))
	done
	return 1
}

# bed_listening NAMESPACE PROTO ADDRESS...: true when something listens on
# port 53 of every ADDRESS (IPv6 without brackets) for PROTO (udp or tcp).
bed_listening() {
	bed_ns=$1
	bed_opt=-Hlnu
	[ "$2" = tcp ] && bed_opt=-Hlnt
	shift 2
	bed_sockets=$(ip netns exec "$bed_ns" ss $bed_opt 'sport = :53')
	for bed_addr in "$@"; do
		case $bed_addr in
		*:*) bed_want="[$bed_addr]:53" ;;
		*) bed_want="$bed_addr:53" ;;
		esac
		printf '%s\n' "$bed_sockets" | grep -qF " $bed_want " || return 1
	done
}

# bed_wait_dns PID NAMESPACE ADDRESS...: wait (10 s at most) until the
# server PID listens on UDP and TCP port 53 of every ADDRESS; false when it
# died or never did.
bed_wait_dns() {
	bed_dns_pid=$1
	bed_dns_ns=$2
	shift 2
	bed_n=100
	while [ $bed_n -gt 0 ]; do
		bed_alive "$bed_dns_pid" || return 1
		if bed_listening "$bed_dns_ns" udp "$@" &&
		    bed_listening "$bed_dns_ns" tcp "$@"; then
			return 0
		fi
		sleep 0.1
		bed_n=$((bed_n - 1))
	done
	return 1
}

# bed_net_up SERVER_ADDRESS...: the three namespaces, their links and
# routes; SERVER_ADDRESSes (the authoritative servers and the internet's
# recursive resolver) live on the internet namespace's loopback.
bed_net_up() {
	for bed_ns in "$BED_NS_CLIENT" "$BED_NS_GW" "$BED_NS_NET"; do
		ip netns add "$bed_ns" || bed_die "cannot create namespace $bed_ns"
		BED_NETNS="$BED_NETNS $bed_ns"
		ip -n "$bed_ns" link set lo up
	done
	ip -n "$BED_NS_GW" link add lan0 type veth peer name lan0 netns "$BED_NS_CLIENT"
	ip -n "$BED_NS_GW" link add "$BED_UPLINK" type veth peer name "$BED_UPLINK" netns "$BED_NS_NET"

	for bed_k in $BED_CLIENTS; do
		ip -n "$BED_NS_CLIENT" addr add "$(bed_client_addr "$bed_k" 4)/24" dev lan0
		ip -n "$BED_NS_CLIENT" addr add "$(bed_client_addr "$bed_k" 6)/64" dev lan0 nodad
	done
	ip -n "$BED_NS_CLIENT" link set lan0 up

	ip -n "$BED_NS_GW" addr add "$BED_GW_LAN4/24" dev lan0
	ip -n "$BED_NS_GW" addr add "$BED_GW_LAN6/64" dev lan0 nodad
	ip -n "$BED_NS_GW" addr add "$BED_GW_UP4/24" dev "$BED_UPLINK"
	ip -n "$BED_NS_GW" addr add "$BED_GW_UP6/64" dev "$BED_UPLINK" nodad
	ip -n "$BED_NS_GW" link set lan0 up
	ip -n "$BED_NS_GW" link set "$BED_UPLINK" up
	ip -n "$BED_NS_GW" route add 203.0.113.0/24 via "$BED_NET_UP4"
	ip -n "$BED_NS_GW" -6 route add 2001:db8:53::/48 via "$BED_NET_UP6"

	ip -n "$BED_NS_NET" addr add "$BED_NET_UP4/24" dev "$BED_UPLINK"
	ip -n "$BED_NS_NET" addr add "$BED_NET_UP6/64" dev "$BED_UPLINK" nodad
	ip -n "$BED_NS_NET" link set "$BED_UPLINK" up
	for bed_addr in "$@"; do
		case $bed_addr in
		*:*) ip -n "$BED_NS_NET" addr add "$bed_addr/128" dev lo ;;
		*) ip -n "$BED_NS_NET" addr add "$bed_addr/32" dev lo ;;
		esac
	done
}

# bed_gw_rules RULES_DIR: in the gateway, the user's own marking rules
# (client K gets mark K, kept on the connection), then the shipped rules
# exactly as they ship, then the observation rules: every DNS packet leaving
# by the uplink (UDP and TCP to port 53, every segment, after every mangle
# rule, so with its final mark) and every UDP response coming
# back (for the TC bit) is copied to NFLOG. --nflog-threshold 1: without it
# the kernel batches copies for up to 1 s, which blurs their timestamps.
bed_gw_rules() {
	for bed_family in 4 6; do
		bed_mangle "$bed_family" -A PREROUTING -j CONNMARK --restore-mark
		for bed_k in $BED_CLIENTS; do
			bed_mangle "$bed_family" -A PREROUTING -m mark --mark 0 \
			    -s "$(bed_client_addr "$bed_k" "$bed_family")" \
			    -j MARK --set-mark "$bed_k"
		done
		bed_mangle "$bed_family" -A PREROUTING -j CONNMARK --save-mark

		bed_rules=$1/$(bed_rules_file "$bed_family")
		ip netns exec "$BED_NS_GW" "$(bed_iptables "$bed_family")-restore" \
		    --noflush <"$bed_rules" || bed_die "cannot load $bed_rules"

		bed_mangle "$bed_family" -A PREROUTING -i "$BED_UPLINK" \
		    -p udp --sport 53 -j NFLOG \
		    --nflog-group "$BED_NFLOG_GROUP" --nflog-threshold 1
	done
	# Upstream packets from an nftables chain at postrouting priority 300,
	# after every mangle rule: the shipped rules queue TCP segments in
	# mangle POSTROUTING, and a queue verdict ends that chain.
	printf '%s\n' 'table inet bed_observe' 'delete table inet bed_observe' \
	    'table inet bed_observe {' ' chain postrouting {' \
	    '  type filter hook postrouting priority 300; policy accept;' \
	    "  oifname \"$BED_UPLINK\" meta l4proto { tcp, udp } th dport 53 log group $BED_NFLOG_GROUP queue-threshold 1" \
	    ' }' '}' | ip netns exec "$BED_NS_GW" nft -f - ||
	    bed_die "cannot load the observation rules"
}

# bed_rules_file FAMILY: the shipped rules file for FAMILY (4 or 6) and
# DNSMARK_MODE (queue by default; observe: observe-v4.rules ...; bpf:
# bpf-v4.rules ...).
bed_rules_file() {
	case ${DNSMARK_MODE:-queue} in
	observe) echo "observe-v$1.rules" ;;
	bpf) echo "bpf-v$1.rules" ;;
	*) echo "iptables-v$1.rules" ;;
	esac
}

# bed_iptables FAMILY: the iptables command for FAMILY (4 or 6).
bed_iptables() {
	if [ "$1" = 6 ]; then echo ip6tables; else echo iptables; fi
}

# bed_mangle FAMILY ARG...: one iptables command on the gateway's mangle
# table.
bed_mangle() {
	bed_cmd=$(bed_iptables "$1")
	shift
	ip netns exec "$BED_NS_GW" "$bed_cmd" -t mangle "$@"
}

# bed_capture_start PCAP: record the observation rules' NFLOG copies into
# PCAP (packet-buffered); BED_CAPTURE_PID is tcpdump's PID.
bed_capture_start() {
	bed_spawn "$BED_NS_GW" "$1.log" \
	    tcpdump -i "nflog:$BED_NFLOG_GROUP" -U -s 0 -w "$1"
	BED_CAPTURE_PID=$BED_LAST_PID
	bed_wait_until 50 grep -qs 'listening on' "$1.log" ||
	    bed_die "tcpdump did not start: $(cat "$1.log")"
}

# bed_capture_stop: stop tcpdump with SIGINT (it flushes and closes the file)
# and wait for it.
bed_capture_stop() {
	bed_stop "$BED_CAPTURE_PID" INT || true
}

# bed_queue_bound QUEUE: true when a program is bound to NFQUEUE QUEUE in
# the gateway namespace.
bed_queue_bound() {
	ip netns exec "$BED_NS_GW" cat /proc/net/netfilter/nfnetlink_queue 2>/dev/null |
	    awk -v q="$1" '$1 == q { found = 1 } END { exit !found }'
}

# bed_fast_mount: bpf mode's kernel fast path (unless DNSMARK_FAST=off):
# a bpf file system of the bed's own, BED_BPFFS, for dnsmark's pins
# (unmounted by the cleanup).
bed_fast_mount() {
	[ "${DNSMARK_FAST:-on}" != off ] || return 0
	mkdir "$BED_TMP/bpffs" &&
	    mount -t bpf -o mode=0700 bpf "$BED_TMP/bpffs" ||
	    bed_die "cannot mount a bpf file system on $BED_TMP/bpffs"
	BED_BPFFS=$BED_TMP/bpffs
}

# bed_fast_rules DIR: load the shipped bpf-fast-v4.rules and
# bpf-fast-v6.rules with the one edit they ask for, their directory (DIR,
# dnsmark's --fast-path): DNSMARK_FAST and DNSMARK_HIT are replaced.
bed_fast_rules() {
	for bed_family in 4 6; do
		sed "s|/sys/fs/bpf/dnsmark/|$1/|" \
		    "$RULES_DIR/bpf-fast-v$bed_family.rules" |
		    ip netns exec "$BED_NS_GW" \
		    "$(bed_iptables "$bed_family")-restore" --noflush ||
		    bed_die "cannot load bpf-fast-v$bed_family.rules"
	done
}

# bed_dnsmark_start DNSMARK LOG [NAME]: run dnsmark --verbose in the
# gateway and wait until it has bound queue 53 (the shipped rules' queue),
# in DNSMARK_MODE (queue by default; bpf: attached to BED_CGROUP, with its
# kernel fast path pinned in BED_BPFFS/NAME, new for each NAME, and the
# fast path's rules loaded for it); BED_DNSMARK_PID is its PID.
bed_dnsmark_start() {
	bed_dnsmark=$1
	bed_dnsmark_log=$2
	bed_fast=
	set -- "$bed_dnsmark" --verbose --mode "${DNSMARK_MODE:-queue}"
	# ip netns exec gives the program a /sys of its own, without the
	# cgroup2 mount bpf mode attaches to: run it in this shell's mount
	# namespace (nsenter execs, so the PID stays dnsmark's).
	if [ "${DNSMARK_MODE:-queue}" = bpf ]; then
		set -- nsenter "--mount=/proc/$$/ns/mnt" -- "$@" \
		    --bpf-cgroup "$BED_CGROUP"
		if [ -n "$BED_BPFFS" ]; then
			bed_fast=$BED_BPFFS/${3:-dnsmark}
			set -- "$@" --fast-path "$bed_fast"
		else
			set -- "$@" --fast-path off
		fi
	fi
	bed_spawn "$BED_NS_GW" "$bed_dnsmark_log" "$@"
	BED_DNSMARK_PID=$BED_LAST_PID
	bed_wait_until 50 bed_queue_bound 53 ||
	    bed_die "dnsmark did not bind queue 53: $(tail -n 5 "$bed_dnsmark_log")"
	if [ -n "$bed_fast" ]; then
		grep -q 'fast path: programs and maps pinned' "$bed_dnsmark_log" ||
		    bed_die "dnsmark did not pin its fast path: $(grep -i 'fast path' "$bed_dnsmark_log")"
		bed_fast_rules "$bed_fast"
	fi
}

# bed_dnsmark_stop: log dnsmark's counters (SIGUSR1), then stop it; returns
# its exit status.
bed_dnsmark_stop() {
	kill -USR1 "$BED_DNSMARK_PID" 2>/dev/null || true
	sleep 0.2
	bed_stop "$BED_DNSMARK_PID"
}
