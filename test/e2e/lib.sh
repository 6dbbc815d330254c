# test/e2e/lib.sh: the network-namespace bed shared by dnsmark's end-to-end
# scenarios (sourced, never run). It builds a client, a gateway and an
# "internet" namespace with documentation addresses only, loads the user's
# marking rules and the shipped rules/ files in the gateway, runs real DNS
# servers, dnsmark and NFLOG captures, and tears everything down from a trap.
# It must never change the host namespace, and it ends only processes it
# started, by PID.
#
# Environment: DNSMARK (the daemon), RULES_DIR (the shipped rules), E2E_DIR
# (this directory); CI=true turns a skip (missing root or tool) into a
# failure; E2E_VERBOSE=1 shows every log, not only on failure; E2E_KEEP=1
# keeps the temporary directory; E2E_NO_DNSMARK=1 runs the bed without the
# daemon (bed debugging: every query then leaves unmarked); E2E_RULES_V4 and
# E2E_RULES_V6 name the shipped rules files to load (observe-v4.rules ... for
# dnsmark --mode observe, bpf-v4.rules ... for --mode bpf); E2E_CLEANUP_HOOK,
# a command the cleanup runs once the processes are gone and the namespaces
# deleted.
# For benchmarks: E2E_FORWARD_V4 / E2E_FORWARD_V6 (where the gateway's
# unbound / dnsmasq forward; the upstream recursor by default),
# E2E_LOG_QUERIES=no (no query logging by the gateway's resolver),
# E2E_NSD_OPTIONS (more lines for nsd.conf's server: section);
# E2E_BIND_WAIT (tenths of a second dnsmark may take to bind its queue,
# default 50: loading bpf mode's programs takes longer under emulation).

PATH=$PATH:/usr/sbin:/sbin
export PATH

E2E_RUN=$$
E2E_NS_CLIENT=dnsmark-client-$E2E_RUN
E2E_NS_GW=dnsmark-gw-$E2E_RUN
E2E_NS_UP=dnsmark-up-$E2E_RUN
E2E_TMP=
E2E_PIDS=
E2E_NETNS=
E2E_PASSED=0
E2E_FAILED=0

# Client address = its mark under the user's rules (e2e_gw_rules).
E2E_CLIENTS="192.0.2.10=1 192.0.2.11=2 192.0.2.12=3 2001:db8:1::10=1 2001:db8:1::11=2 2001:db8:1::12=3"
E2E_GW_V4=192.0.2.1
E2E_GW_V6=2001:db8:1::1
E2E_GW_UP_V4=198.51.100.1
E2E_GW_UP_V6=2001:db8:2::1
E2E_RECURSOR_V4=198.51.100.2
E2E_RECURSOR_V6=2001:db8:2::2
E2E_AUTH_V4=198.51.100.53
E2E_AUTH_V6=2001:db8:2::53
E2E_ZONE=example.test
E2E_QUEUE=53
E2E_RULES_V4=${E2E_RULES_V4:-iptables-v4.rules}
E2E_RULES_V6=${E2E_RULES_V6:-iptables-v6.rules}
# NFLOG group per packet mark seen leaving the gateway upstream; 109 takes
# any other mark.
E2E_NFLOG_GROUPS="100 101 102 103 109"

e2e_say() {
	printf '%s\n' "$*"
}

e2e_warn() {
	printf '%s: %s\n' "${0##*/}" "$*" >&2
}

# e2e_skip REASON: exit 77 (skip), or 1 when CI=true (a CI lane must not
# skip silently).
e2e_skip() {
	if [ "${CI:-}" = true ]; then
		e2e_warn "FAIL (CI=true, would skip): $*"
		exit 1
	fi
	e2e_warn "SKIP: $*"
	exit 77
}

e2e_die() {
	e2e_warn "ERROR: $*"
	exit 1
}

# e2e_check NAME CONDITION_STATUS: count and print one check.
e2e_check() {
	if [ "$2" -eq 0 ]; then
		E2E_PASSED=$((E2E_PASSED + 1))
		e2e_say "PASS: $1"
	else
		E2E_FAILED=$((E2E_FAILED + 1))
		e2e_say "FAIL: $1"
	fi
}

# e2e_init NAME: check root and tools, make the temporary directory, set
# the cleanup trap and fill in defaults for DNSMARK and RULES_DIR.
e2e_init() {
	E2E_NAME=$1
	E2E_DIR=${E2E_DIR:-$(cd "$(dirname "$0")" && pwd)}
	e2e_top=$(cd "$E2E_DIR/../.." && pwd)
	RULES_DIR=${RULES_DIR:-$e2e_top/rules}
	DNSMARK=${DNSMARK:-$e2e_top/src/dnsmark}

	[ "$(id -u)" -eq 0 ] || e2e_skip "needs root (network namespaces, netfilter)"
	e2e_missing=
	for e2e_tool in ip iptables-restore ip6tables-restore unbound dnsmasq \
	    nsd dig tcpdump conntrack; do
		command -v "$e2e_tool" >/dev/null 2>&1 ||
		    e2e_missing="$e2e_missing $e2e_tool"
	done
	[ -z "$e2e_missing" ] || e2e_skip "missing tools:$e2e_missing"
	if [ -z "${E2E_NO_DNSMARK:-}" ] && [ ! -x "$DNSMARK" ]; then
		e2e_skip "no dnsmark binary at $DNSMARK (build it, or set DNSMARK)"
	fi
	for e2e_file in "$E2E_RULES_V4" "$E2E_RULES_V6"; do
		[ -r "$RULES_DIR/$e2e_file" ] ||
		    e2e_die "no $RULES_DIR/$e2e_file (set RULES_DIR)"
	done

	E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/dnsmark-e2e-$E2E_NAME.XXXXXX") ||
	    e2e_die "mktemp failed"
	trap e2e_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	E2E_T0=$(date +%s)
}

# The resolver's cgroup, for bpf mode. e2e_cgroup_make NAME: make the
# cgroup v2 directory NAME under this shell's own (from /proc/$$/cgroup,
# below the cgroup2 mount), in E2E_CGROUP, with the shell's own directory in
# E2E_CGROUP_HOME. The cleanup moves back whatever is still in it (only
# processes this script started) and removes it. Returns 1, E2E_CGROUP
# empty, without cgroup v2 or when the directory cannot be made.
E2E_CGROUP=
E2E_CGROUP_HOME=
e2e_cgroup_make() {
	e2e_mnt=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
	[ -n "$e2e_mnt" ] || return 1
	E2E_CGROUP_HOME=$e2e_mnt$(awk -F: '$1 == "0" { print $3 }' "/proc/$$/cgroup")
	E2E_CGROUP_HOME=${E2E_CGROUP_HOME%/}
	mkdir "$E2E_CGROUP_HOME/$1" 2>/dev/null || return 1
	E2E_CGROUP=$E2E_CGROUP_HOME/$1
}

# e2e_cgroup_remove: the cleanup's part (above).
e2e_cgroup_remove() {
	[ -n "$E2E_CGROUP" ] && [ -d "$E2E_CGROUP" ] || return 0
	while read -r e2e_p; do
		echo "$e2e_p" >"$E2E_CGROUP_HOME/cgroup.procs" 2>/dev/null
	done <"$E2E_CGROUP/cgroup.procs"
	rmdir "$E2E_CGROUP" 2>/dev/null ||
	    e2e_warn "could not remove the cgroup $E2E_CGROUP"
}

# e2e_in_cgroup CGROUP HOME COMMAND...: run COMMAND (a shell function or a
# program) with this shell in the cgroup v2 directory CGROUP, so that
# whatever it starts is born there (a socket belongs to the cgroup of the
# process that made it), then back in HOME, the shell's own. Returns
# COMMAND's status.
e2e_in_cgroup() {
	e2e_cgroup_in=$1
	e2e_cgroup_home=$2
	shift 2
	echo $$ >"$e2e_cgroup_in/cgroup.procs" ||
	    e2e_die "cannot enter $e2e_cgroup_in"
	e2e_cgroup_status=0
	"$@" || e2e_cgroup_status=$?
	echo $$ >"$e2e_cgroup_home/cgroup.procs" ||
	    e2e_die "cannot return to $e2e_cgroup_home"
	return "$e2e_cgroup_status"
}

# e2e_host_mounts_wrapper FILE COMMAND...: write FILE, a script that runs
# COMMAND, then its own arguments, in this shell's mount namespace. ip netns
# exec gives a program a /sys of its own, without the cgroup2 mount bpf mode
# attaches to; every exec keeps the PID, which stays the program's. The
# words of COMMAND go into the script in double quotes: no '"', '$' or '`'.
e2e_host_mounts_wrapper() {
	e2e_wrapper=$1
	shift
	{
		printf '#!/bin/sh\nexec nsenter --mount=/proc/%s/ns/mnt --' "$$"
		printf ' "%s"' "$@"
		printf ' "$@"\n'
	} >"$e2e_wrapper" && chmod 755 "$e2e_wrapper" ||
	    e2e_die "cannot write $e2e_wrapper"
}

# e2e_spawn NAMESPACE LOG COMMAND...: start COMMAND in the background in
# NAMESPACE with stdout and stderr to LOG; its PID (ip netns exec execs the
# command, so it is the command's own) is left in E2E_LAST_PID and recorded
# for the cleanup.
e2e_spawn() {
	e2e_ns=$1
	e2e_log=$2
	shift 2
	ip netns exec "$e2e_ns" "$@" >"$e2e_log" 2>&1 </dev/null &
	E2E_LAST_PID=$!
	E2E_PIDS="$E2E_PIDS $E2E_LAST_PID"
}

# e2e_stop PID [SIGNAL]: send SIGNAL (TERM) to a process we started, wait
# for it at most 5 s (then SIGKILL) and return its exit status.
e2e_stop() {
	e2e_pid=$1
	kill "-${2:-TERM}" "$e2e_pid" 2>/dev/null
	e2e_n=0
	while kill -0 "$e2e_pid" 2>/dev/null && [ $e2e_n -lt 50 ]; do
		sleep 0.1
		e2e_n=$((e2e_n + 1))
	done
	kill -0 "$e2e_pid" 2>/dev/null && kill -KILL "$e2e_pid" 2>/dev/null
	wait "$e2e_pid"
	e2e_status=$?
	e2e_forget "$e2e_pid"
	return $e2e_status
}

# e2e_forget PID: drop a finished process from the cleanup list.
e2e_forget() {
	e2e_rest=
	for e2e_sp in $E2E_PIDS; do
		[ "$e2e_sp" = "$1" ] || e2e_rest="$e2e_rest $e2e_sp"
	done
	E2E_PIDS=$e2e_rest
}

# e2e_wait_until TENTHS COMMAND...: run COMMAND every 0.1 s until it
# succeeds, at most TENTHS times; return its last status.
e2e_wait_until() {
	e2e_tries=$1
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		e2e_tries=$((e2e_tries - 1))
		[ $e2e_tries -gt 0 ] || return 1
		sleep 0.1
	done
}

e2e_cleanup() {
	e2e_exit=$?
	trap - EXIT INT TERM
	for e2e_p in $E2E_PIDS; do
		kill -TERM "$e2e_p" 2>/dev/null
	done
	e2e_n=0
	for e2e_p in $E2E_PIDS; do
		while kill -0 "$e2e_p" 2>/dev/null && [ $e2e_n -lt 30 ]; do
			sleep 0.1
			e2e_n=$((e2e_n + 1))
		done
		kill -KILL "$e2e_p" 2>/dev/null
		wait "$e2e_p" 2>/dev/null
	done
	for e2e_ns in $E2E_NETNS; do
		ip netns del "$e2e_ns" 2>/dev/null
	done
	e2e_cgroup_remove
	[ -z "${E2E_CLEANUP_HOOK:-}" ] || $E2E_CLEANUP_HOOK
	if [ -n "$E2E_TMP" ]; then
		if [ -n "${E2E_KEEP:-}" ]; then
			e2e_warn "kept $E2E_TMP"
		else
			rm -rf "$E2E_TMP"
		fi
	fi
	exit $e2e_exit
}

# e2e_show TITLE FILE: print the end of a log, indented.
e2e_show() {
	e2e_say "---- $1 (${2##*/}) ----"
	if [ -s "$2" ]; then
		tail -n "${E2E_SHOW_LINES:-80}" "$2" | sed 's/^/    /'
	else
		e2e_say "    (empty)"
	fi
}

# e2e_in NAMESPACE COMMAND...: run COMMAND in a namespace of this run.
e2e_in() {
	e2e_ns=$1
	shift
	ip netns exec "$e2e_ns" "$@"
}

# e2e_net_up: three namespaces, two veth links, documentation addresses.
#   client  c0 ---- gwc0  gateway  gwu0 ---- up0  upstream ("internet")
# IPv6 addresses are added with nodad so that they are usable at once.
e2e_net_up() {
	for e2e_ns in $E2E_NS_CLIENT $E2E_NS_GW $E2E_NS_UP; do
		if ! ip netns add "$e2e_ns"; then
			[ -n "$E2E_NETNS" ] || e2e_skip "cannot create network namespaces"
			e2e_die "ip netns add $e2e_ns failed"
		fi
		E2E_NETNS="$E2E_NETNS $e2e_ns"
		ip -n "$e2e_ns" link set lo up
	done
	ip -n "$E2E_NS_CLIENT" link add c0 type veth peer name gwc0 \
	    netns "$E2E_NS_GW" || e2e_die "veth client-gateway failed"
	ip -n "$E2E_NS_GW" link add gwu0 type veth peer name up0 \
	    netns "$E2E_NS_UP" || e2e_die "veth gateway-upstream failed"

	for e2e_c in $E2E_CLIENTS; do
		e2e_addr=${e2e_c%=*}
		case $e2e_addr in
		*:*) ip -n "$E2E_NS_CLIENT" addr add "$e2e_addr/64" dev c0 nodad ;;
		*) ip -n "$E2E_NS_CLIENT" addr add "$e2e_addr/24" dev c0 ;;
		esac
	done
	ip -n "$E2E_NS_GW" addr add "$E2E_GW_V4/24" dev gwc0
	ip -n "$E2E_NS_GW" addr add "$E2E_GW_V6/64" dev gwc0 nodad
	ip -n "$E2E_NS_GW" addr add "$E2E_GW_UP_V4/24" dev gwu0
	ip -n "$E2E_NS_GW" addr add "$E2E_GW_UP_V6/64" dev gwu0 nodad
	for e2e_addr in $E2E_RECURSOR_V4 $E2E_AUTH_V4; do
		ip -n "$E2E_NS_UP" addr add "$e2e_addr/24" dev up0
	done
	for e2e_addr in $E2E_RECURSOR_V6 $E2E_AUTH_V6; do
		ip -n "$E2E_NS_UP" addr add "$e2e_addr/64" dev up0 nodad
	done
	ip -n "$E2E_NS_CLIENT" link set c0 up
	ip -n "$E2E_NS_GW" link set gwc0 up
	ip -n "$E2E_NS_GW" link set gwu0 up
	ip -n "$E2E_NS_UP" link set up0 up
}

# The user's part (not shipped): as in dnsmasq's contrib/conntrack README,
# restore the connection's mark, mark new client traffic by source address,
# save the mark on the connection.
e2e_user_rules() {
	e2e_family=$1
	printf '*mangle\n'
	printf -- '-A PREROUTING -j CONNMARK --restore-mark\n'
	for e2e_c in $E2E_CLIENTS; do
		e2e_addr=${e2e_c%=*}
		case $e2e_family$e2e_addr in
		4*:* | 6*.*) continue ;;
		esac
		printf -- '-A PREROUTING -s %s -m mark --mark 0 -j MARK --set-mark 0x%x\n' \
		    "$e2e_addr" "${e2e_c#*=}"
	done
	printf -- '-A PREROUTING -j CONNMARK --save-mark\n'
	printf 'COMMIT\n'
}

# The observation (not shipped): every DNS packet leaving towards upstream
# (UDP, and TCP segment by segment) is copied to the NFLOG group of its
# final packet mark. An nftables chain at postrouting priority 300, after
# every mangle rule: the shipped rules queue upstream TCP segments in mangle
# POSTROUTING, and a queue verdict ends that chain, so a rule appended there
# would never see them. queue-threshold 1: without it the kernel batches
# copies (up to 100, or 1 s) and the last ones reach tcpdump after we have
# stopped it.
e2e_observe_rules() {
	printf 'table inet e2e_observe\ndelete table inet e2e_observe\n'
	printf 'table inet e2e_observe {\n\tchain postrouting {\n'
	printf '\t\ttype filter hook postrouting priority 300; policy accept;\n'
	printf '\t\toifname "gwu0" meta l4proto { tcp, udp } th dport 53 jump log_by_mark\n'
	printf '\t}\n'
	e2e_log_by_mark_chain log_by_mark
	printf '}\n'
}

# e2e_log_by_mark_chain NAME: an nftables chain NAME that copies a packet to
# the NFLOG group of its packet mark (E2E_NFLOG_GROUPS: 100 + mark, 109 for
# any other), the groups e2e_capture_start reads.
e2e_log_by_mark_chain() {
	printf '\tchain %s {\n' "$1"
	for e2e_g in $E2E_NFLOG_GROUPS; do
		[ "$e2e_g" = 109 ] && continue
		printf '\t\tmeta mark %d log group %d queue-threshold 1 return\n' \
		    $((e2e_g - 100)) "$e2e_g"
	done
	printf '\t\tlog group 109 queue-threshold 1\n'
	printf '\t}\n'
}

# e2e_gw_rules: the user's marking rules, then the shipped rules exactly as
# shipped, then the observation rules, for IPv4 and IPv6.
e2e_gw_rules() {
	e2e_user_rules 4 | e2e_in "$E2E_NS_GW" iptables-restore --noflush ||
	    e2e_die "user rules (IPv4) failed to load"
	e2e_user_rules 6 | e2e_in "$E2E_NS_GW" ip6tables-restore --noflush ||
	    e2e_die "user rules (IPv6) failed to load"
	e2e_in "$E2E_NS_GW" iptables-restore --noflush \
	    <"$RULES_DIR/$E2E_RULES_V4" ||
	    e2e_die "shipped $RULES_DIR/$E2E_RULES_V4 failed to load"
	e2e_in "$E2E_NS_GW" ip6tables-restore --noflush \
	    <"$RULES_DIR/$E2E_RULES_V6" ||
	    e2e_die "shipped $RULES_DIR/$E2E_RULES_V6 failed to load"
	e2e_observe_rules | e2e_in "$E2E_NS_GW" nft -f - ||
	    e2e_die "observation rules failed to load"
}

# e2e_fast_rules DIR: the shipped bpf-fast-v4.rules and bpf-fast-v6.rules
# loaded in the gateway with the one edit they ask for, their pins' directory
# (DIR instead of /sys/fs/bpf/dnsmark). Once dnsmark has pinned there.
e2e_fast_rules() {
	for e2e_v in 4 6; do
		e2e_tool=iptables
		[ "$e2e_v" = 4 ] || e2e_tool=ip6tables
		sed "s|/sys/fs/bpf/dnsmark/|$1/|" "$RULES_DIR/bpf-fast-v$e2e_v.rules" |
		    e2e_in "$E2E_NS_GW" "$e2e_tool-restore" --noflush ||
		    e2e_die "shipped bpf-fast-v$e2e_v.rules failed to load"
	done
}

# e2e_answered: true when the dig output on stdin is NOERROR with at least
# one answer record.
e2e_answered() {
	awk '/status: NOERROR/ { ok = 1 } /ANSWER: [1-9]/ { answer = 1 }
	    END { exit !(ok && answer) }'
}

# e2e_dig_ok NAMESPACE DIG_ARGS...: dig, true when e2e_answered.
e2e_dig_ok() {
	e2e_ns=$1
	shift
	e2e_in "$e2e_ns" dig +time=1 +tries=1 "$@" 2>&1 | e2e_answered
}

# e2e_upstream_start: the "internet": NSD authoritative for test. (wildcards
# under example.test. so that every unique name resolves) and a recursive
# unbound that reaches it through a stub zone. Waits until both answer.
e2e_upstream_start() {
	cat >"$E2E_TMP/test.zone" <<EOF
\$ORIGIN test.
\$TTL 300
@	SOA	ns.test. hostmaster.test. 1 3600 600 86400 60
@	NS	ns.test.
ns	A	$E2E_AUTH_V4
ns	AAAA	$E2E_AUTH_V6
*.$E2E_ZONE.	A	203.0.113.1
*.$E2E_ZONE.	AAAA	2001:db8:3::1
*.$E2E_ZONE.	TXT	"dnsmark e2e"
; Answers too large for UDP (about 1.7 kB): resolvers get them truncated
; and retry over TCP.
*.big.$E2E_ZONE.	TXT	"dnsmark-e2e-large-answer-00-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" "dnsmark-e2e-large-answer-01-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" "dnsmark-e2e-large-answer-02-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" "dnsmark-e2e-large-answer-03-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" "dnsmark-e2e-large-answer-04-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" "dnsmark-e2e-large-answer-05-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" "dnsmark-e2e-large-answer-06-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" "dnsmark-e2e-large-answer-07-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
EOF
	cat >"$E2E_TMP/nsd.conf" <<EOF
server:
	ip-address: $E2E_AUTH_V4
	ip-address: $E2E_AUTH_V6
	port: 53
	# Stay as we are inside the namespace: no user change, no chroot.
	username: ""
	chroot: ""
	database: ""
	zonesdir: "$E2E_TMP"
	zonelistfile: "$E2E_TMP/nsd-zone.list"
	xfrdfile: "$E2E_TMP/nsd-xfrd.state"
	xfrdir: "$E2E_TMP"
	pidfile: "$E2E_TMP/nsd.pid"
	logfile: "$E2E_TMP/nsd.log"
	server-count: 1
	verbosity: 1
${E2E_NSD_OPTIONS:-}
remote-control:
	control-enable: no
zone:
	name: "test."
	zonefile: "$E2E_TMP/test.zone"
EOF
	e2e_spawn "$E2E_NS_UP" "$E2E_TMP/nsd.out" nsd -d -c "$E2E_TMP/nsd.conf"

	cat >"$E2E_TMP/recursor.conf" <<EOF
server:
	username: ""
	chroot: ""
	directory: "$E2E_TMP"
	pidfile: "$E2E_TMP/recursor.pid"
	do-daemonize: no
	use-syslog: no
	logfile: ""
	verbosity: 1
	num-threads: 1
	so-reuseport: no
	interface: $E2E_RECURSOR_V4
	interface: $E2E_RECURSOR_V6
	access-control: 198.51.100.0/24 allow
	access-control: 2001:db8::/32 allow
	# Uplink B of the routing test arrives masqueraded from here.
	access-control: 203.0.113.0/24 allow
	module-config: "iterator"
	# test. is one of unbound's default local zones (RFC 6761).
	local-zone: "test." nodefault
remote-control:
	control-enable: no
stub-zone:
	name: "test."
	stub-addr: $E2E_AUTH_V4
	stub-addr: $E2E_AUTH_V6
EOF
	e2e_spawn "$E2E_NS_UP" "$E2E_TMP/recursor.log" \
	    unbound -d -c "$E2E_TMP/recursor.conf"

	e2e_wait_until 100 e2e_dig_ok "$E2E_NS_UP" "@$E2E_AUTH_V4" \
	    "ready.$E2E_ZONE" A || {
		e2e_show "nsd" "$E2E_TMP/nsd.log"
		e2e_show "nsd stderr" "$E2E_TMP/nsd.out"
		e2e_die "NSD did not answer"
	}
	e2e_wait_until 100 e2e_dig_ok "$E2E_NS_UP" "@$E2E_RECURSOR_V6" \
	    "ready.$E2E_ZONE" AAAA || {
		e2e_show "upstream unbound" "$E2E_TMP/recursor.log"
		e2e_die "upstream unbound did not answer"
	}
}

# e2e_resolver_start KIND LABEL [DNSMASQ_OPTION...]: start the resolver
# under test in the gateway (KIND unbound: forwarding over IPv4; KIND
# dnsmasq: forwarding over IPv6, with the extra options) and wait until it
# answers on both addresses. Neither may send queries no client caused:
# no DNSSEC (no validator, no trust anchor, so no DNSKEY/DS lookups), no
# prefetch or serve-stale refreshes.
e2e_resolver_start() {
	E2E_RESOLVER=$1
	e2e_label=$2
	shift 2
	e2e_log_queries=--log-queries
	[ "${E2E_LOG_QUERIES:-yes}" = no ] && e2e_log_queries=
	E2E_RESOLVER_LOG=$E2E_TMP/$e2e_label-$E2E_RESOLVER.log
	case $E2E_RESOLVER in
	unbound | chained)
		# chained: unbound on 127.0.0.1@5353 behind dnsmasq on port 53.
		e2e_interfaces="$E2E_GW_V4 $E2E_GW_V6"
		[ "$E2E_RESOLVER" = chained ] && e2e_interfaces=127.0.0.1@5353
		cat >"$E2E_TMP/$e2e_label-unbound.conf" <<EOF
server:
	username: ""
	chroot: ""
	directory: "$E2E_TMP"
	pidfile: "$E2E_TMP/$e2e_label-unbound.pid"
	do-daemonize: no
	use-syslog: no
	logfile: ""
	verbosity: 1
	log-queries: ${E2E_LOG_QUERIES:-yes}
	num-threads: 1
	so-reuseport: no
$(for e2e_i in $e2e_interfaces; do printf '\tinterface: %s\n' "$e2e_i"; done)
	access-control: 192.0.2.0/24 allow
	access-control: 2001:db8:1::/64 allow
	# Only the iterator: no validator, and no trust anchor is configured,
	# so no DNSKEY/DS queries the clients did not cause.
	module-config: "iterator"
	trust-anchor-signaling: no
	root-key-sentinel: no
	# No refreshes after the client was answered.
	prefetch: no
	prefetch-key: no
	serve-expired: no
	# test. is one of unbound's default local zones (RFC 6761).
	local-zone: "test." nodefault
	# Random 0x20 case in upstream names: dnsmark must match regardless.
	# Upstream preserves case, so this causes no fallback queries.
	use-caps-for-id: yes
remote-control:
	control-enable: no
forward-zone:
	name: "."
	forward-addr: ${E2E_FORWARD_V4:-$E2E_RECURSOR_V4}
EOF
		e2e_spawn "$E2E_NS_GW" "$E2E_RESOLVER_LOG" \
		    unbound -d -c "$E2E_TMP/$e2e_label-unbound.conf"
		[ "$E2E_RESOLVER" = chained ] || {
			E2E_RESOLVER_PID=$E2E_LAST_PID
			E2E_CHAINED_PID=
			e2e_resolver_wait
			return
		}
		E2E_CHAINED_PID=$E2E_LAST_PID
		e2e_wait_until 100 e2e_dig_ok "$E2E_NS_GW" @127.0.0.1 -p 5353 \
		    version.bind CH TXT || {
			e2e_show "chained unbound" "$E2E_RESOLVER_LOG"
			e2e_die "chained unbound did not answer on 127.0.0.1@5353"
		}
		E2E_RESOLVER_LOG=$E2E_TMP/$e2e_label-dnsmasq.log
		e2e_spawn "$E2E_NS_GW" "$E2E_RESOLVER_LOG" \
		    dnsmasq -k -C /dev/null --no-resolv --no-hosts \
		    --server=127.0.0.1#5353 \
		    --listen-address="$E2E_GW_V4,$E2E_GW_V6" --bind-interfaces \
		    --user=root --group=root \
		    --pid-file="$E2E_TMP/$e2e_label-dnsmasq.pid" \
		    --log-facility=- ${e2e_log_queries:+"$e2e_log_queries"}
		;;
	dnsmasq)
		# DNSSEC and every other background query are off by default.
		e2e_spawn "$E2E_NS_GW" "$E2E_RESOLVER_LOG" \
		    dnsmasq -k -C /dev/null --no-resolv --no-hosts \
		    --server="${E2E_FORWARD_V6:-$E2E_RECURSOR_V6}" \
		    --listen-address="$E2E_GW_V4,$E2E_GW_V6" --bind-interfaces \
		    --user=root --group=root \
		    --pid-file="$E2E_TMP/$e2e_label-dnsmasq.pid" \
		    --log-facility=- ${e2e_log_queries:+"$e2e_log_queries"} "$@"
		;;
	*)
		e2e_die "unknown resolver $E2E_RESOLVER"
		;;
	esac
	E2E_RESOLVER_PID=$E2E_LAST_PID
	e2e_resolver_wait
}

# e2e_resolver_wait: wait until the resolver under test answers on both of
# the gateway's client-side addresses.
e2e_resolver_wait() {
	# version.bind is answered locally by both: no upstream query.
	for e2e_addr in $E2E_GW_V4 $E2E_GW_V6; do
		e2e_wait_until 100 e2e_dig_ok "$E2E_NS_GW" "@$e2e_addr" \
		    version.bind CH TXT || {
			e2e_show "$E2E_RESOLVER" "$E2E_RESOLVER_LOG"
			e2e_die "$E2E_RESOLVER did not answer on $e2e_addr"
		}
	done
}

e2e_resolver_stop() {
	e2e_stop "$E2E_RESOLVER_PID"
	[ -z "${E2E_CHAINED_PID:-}" ] || e2e_stop "$E2E_CHAINED_PID"
}

# e2e_queue_line: the gateway's nfnetlink_queue line for our queue, empty
# when nothing is bound to it.
e2e_queue_line() {
	e2e_in "$E2E_NS_GW" cat /proc/net/netfilter/nfnetlink_queue 2>/dev/null |
	    awk -v q="$E2E_QUEUE" '$1 == q'
}

e2e_queue_bound() {
	[ -n "$(e2e_queue_line)" ]
}

# e2e_dnsmark_start LABEL [OPTION...]: start dnsmark in the gateway with
# the bed's queue number and OPTIONs, wait until it has bound the queue.
# Fails the run if it does not.
e2e_dnsmark_start() {
	E2E_DNSMARK_LOG=$E2E_TMP/$1-dnsmark.log
	E2E_DNSMARK_PID=
	shift
	if [ -n "${E2E_NO_DNSMARK:-}" ]; then
		e2e_say "(E2E_NO_DNSMARK set: running without dnsmark)"
		: >"$E2E_DNSMARK_LOG"
		return 0
	fi
	e2e_spawn "$E2E_NS_GW" "$E2E_DNSMARK_LOG" \
	    "$DNSMARK" --queue "$E2E_QUEUE" "$@"
	E2E_DNSMARK_PID=$E2E_LAST_PID
	e2e_n=0
	while ! e2e_queue_bound; do
		if ! kill -0 "$E2E_DNSMARK_PID" 2>/dev/null ||
		    [ $e2e_n -ge "${E2E_BIND_WAIT:-50}" ]; then
			e2e_show "dnsmark" "$E2E_DNSMARK_LOG"
			e2e_die "dnsmark did not bind queue $E2E_QUEUE"
		fi
		sleep 0.1
		e2e_n=$((e2e_n + 1))
	done
}

# e2e_dnsmark_stop: ask for the counters (SIGUSR1), note the queue's own
# counters in E2E_QUEUE_STATS, stop dnsmark with SIGTERM and return its exit
# status.
e2e_dnsmark_stop() {
	[ -n "$E2E_DNSMARK_PID" ] || {
		E2E_QUEUE_STATS="no dnsmark"
		return 0
	}
	# nfnetlink_queue: number portid waiting copy_mode copy_range
	# queue_dropped user_dropped id_sequence 1
	# shellcheck disable=SC2034 # read by the scenarios
	E2E_QUEUE_STATS=$(e2e_queue_line |
	    awk '{ printf "%d queued, %d waiting, %d dropped (queue full), %d dropped (socket)", $8, $3, $6, $7 }')
	[ -n "$E2E_QUEUE_STATS" ] || E2E_QUEUE_STATS="not bound at the end"
	kill -USR1 "$E2E_DNSMARK_PID" 2>/dev/null
	sleep 0.2
	e2e_stop "$E2E_DNSMARK_PID"
}

# e2e_capture_start LABEL: one tcpdump per NFLOG group in the gateway,
# waiting until each listens.
e2e_capture_start() {
	E2E_CAPTURE=$E2E_TMP/$1-nflog
	E2E_CAPTURE_PIDS=
	for e2e_g in $E2E_NFLOG_GROUPS; do
		# shellcheck disable=SC2016 # expanded by the inner sh
		e2e_spawn "$E2E_NS_GW" "$E2E_CAPTURE-$e2e_g.err" \
		    sh -c 'exec tcpdump -n -l -i "nflog:$1" >"$2"' sh "$e2e_g" \
		    "$E2E_CAPTURE-$e2e_g.txt"
		E2E_CAPTURE_PIDS="$E2E_CAPTURE_PIDS $E2E_LAST_PID"
	done
	for e2e_g in $E2E_NFLOG_GROUPS; do
		e2e_wait_until 50 grep -q 'listening on' "$E2E_CAPTURE-$e2e_g.err" || {
			e2e_show "tcpdump nflog:$e2e_g" "$E2E_CAPTURE-$e2e_g.err"
			e2e_die "tcpdump on nflog:$e2e_g did not start"
		}
	done
}

e2e_capture_stop() {
	# NFLOG copies are sent as the packet leaves, but tcpdump prints them
	# when it gets to run, and on SIGINT it leaves what it has not read
	# yet: on a loaded machine (CI's make -j2 check, a qemu lane beside)
	# it was still printing a burst's last 37 queries of 900 after 0.3 s.
	# Wait until its output has not grown for half a second (15 s at
	# most), then stop it.
	e2e_lines=-1
	for e2e_try in $(seq 1 30); do
		sleep 0.5
		e2e_now=$(cat "$E2E_CAPTURE"-*.txt 2>/dev/null | wc -l)
		[ "$e2e_now" = "$e2e_lines" ] && break
		e2e_lines=$e2e_now
	done
	for e2e_p in $E2E_CAPTURE_PIDS; do
		e2e_stop "$e2e_p" INT
	done
	# What tcpdump could not take from the kernel is lost to the checks:
	# say so.
	for e2e_g in $E2E_NFLOG_GROUPS; do
		e2e_lost=$(sed -n 's/^\([0-9][0-9]*\) packets dropped by kernel.*/\1/p' \
		    "$E2E_CAPTURE-$e2e_g.err" 2>/dev/null)
		[ "${e2e_lost:-0}" = 0 ] ||
		    e2e_say "capture: nflog:$e2e_g lost $e2e_lost copies (tcpdump)"
	done
}

# e2e_capture_queries: "MARK NAME" per DNS query seen leaving upstream (MARK
# is 0..3, or "other"; NAME in lower case with its final dot).
e2e_capture_queries() {
	for e2e_g in $E2E_NFLOG_GROUPS; do
		awk -v g="$e2e_g" '
		match($0, / [A-Z0-9]+\? [^ ]+/) {
			q = substr($0, RSTART + 1, RLENGTH - 1)
			sub(/^[^ ]+ /, "", q)
			print (g == 109 ? "other" : g - 100), tolower(q)
		}' "$E2E_CAPTURE-$e2e_g.txt"
	done
}

# e2e_client_mark ADDRESS / e2e_client_tag ADDRESS: a client's mark, and the
# label its names start with (c4-10 for 192.0.2.10, c6-10 for ...::10).
e2e_client_mark() {
	for e2e_c in $E2E_CLIENTS; do
		[ "${e2e_c%=*}" = "$1" ] && {
			printf '%s\n' "${e2e_c#*=}"
			return 0
		}
	done
	return 1
}

e2e_client_tag() {
	case $1 in
	*:*) printf 'c6-%s\n' "${1##*:}" ;;
	*) printf 'c4-%s\n' "${1##*.}" ;;
	esac
}

e2e_client_server() {
	case $1 in
	*:*) printf '%s\n' "$E2E_GW_V6" ;;
	*) printf '%s\n' "$E2E_GW_V4" ;;
	esac
}

# e2e_lookups LABEL CLIENTS...: every client (in parallel, each one's
# lookups in turn) asks the gateway resolver for a few unique names under
# its own label: A, AAAA, TXT, a mixed-case name; then each in turn asks
# for a name over TCP. Appends "name mark client type" to
# $E2E_TMP/LABEL-expected and "status name client type" to
# $E2E_TMP/LABEL-results (status ok or FAIL).
#
# The TCP lookups are one client at a time, apart by more than dnsmark's
# window for TCP clients (JUDGE_TCP_CLIENT_MS): a forwarder that forwards
# them over TCP opens an upstream connection whose SYN carries no question,
# and dnsmark ties it to the client that just asked over TCP. Two clients
# with different marks asking over TCP at the same moment leave their
# connections unmarked (the conflict policy): that is by design.
e2e_lookups() {
	e2e_label=$1
	shift
	e2e_lookups_run "$e2e_label" parallel "n1 A" "n2 AAAA" "n3 TXT" \
	    "N4 A mixed" -- "$@"
	for e2e_client in "$@"; do
		e2e_lookups_run "$e2e_label" serial "n5 A tcp" -- "$e2e_client"
		sleep 0.3
	done
	cat "$E2E_TMP/$e2e_label"-dig-*.expected >>"$E2E_TMP/$e2e_label-expected"
	cat "$E2E_TMP/$e2e_label"-dig-*.result >>"$E2E_TMP/$e2e_label-results"
}

# e2e_lookups_run LABEL parallel|serial QUERY... -- CLIENTS...: the lookups
# QUERY ("label type [mixed|tcp]") for each client, the clients in parallel
# or one after another; results in per-lookup files for e2e_lookups.
e2e_lookups_run() {
	e2e_label=$1
	e2e_how=$2
	shift 2
	e2e_queries=
	while [ "$1" != -- ]; do
		e2e_queries="$e2e_queries${e2e_queries:+,}$1"
		shift
	done
	shift
	e2e_jobs=
	for e2e_client in "$@"; do
		e2e_tag=$(e2e_client_tag "$e2e_client")
		e2e_mark=$(e2e_client_mark "$e2e_client")
		e2e_server=$(e2e_client_server "$e2e_client")
		e2e_base=$e2e_label-r$E2E_RUN.$E2E_ZONE
		(
			IFS=,
			# shellcheck disable=SC2086 # split at the commas
			set -- $e2e_queries
			IFS=' 	
'
			for e2e_q in "$@"; do
				# shellcheck disable=SC2086 # split into label, type, how
				set -- $e2e_q
				e2e_name=$e2e_tag-$1.$e2e_base
				e2e_opt=+notcp
				case $3 in
				mixed)
					e2e_name=$(printf '%s' "$e2e_tag-$1.$e2e_base" |
					    sed 's/c/C/g; s/n/N/g; s/example/ExAmPlE/; s/test$/TEST/')
					;;
				tcp) e2e_opt=+tcp ;;
				esac
				e2e_out=$E2E_TMP/$e2e_label-dig-$e2e_tag-$1.txt
				ip netns exec "$E2E_NS_CLIENT" dig +time=3 +tries=1 \
				    $e2e_opt -b "$e2e_client" "@$e2e_server" \
				    "$e2e_name" "$2" >"$e2e_out" 2>&1
				if e2e_answered <"$e2e_out"; then
					e2e_st=ok
				else
					e2e_st=FAIL
				fi
				e2e_lower=$(printf '%s' "$e2e_name." | tr '[:upper:]' '[:lower:]')
				printf '%s %s %s %s\n' "$e2e_lower" "$e2e_mark" \
				    "$e2e_client" "$2${3:+/$3}" >"$e2e_out.expected"
				printf '%s %s %s %s\n' "$e2e_st" "$e2e_name" \
				    "$e2e_client" "$2${3:+/$3}" >"$e2e_out.result"
			done
		) &
		e2e_jobs="$e2e_jobs $!"
		E2E_PIDS="$E2E_PIDS $!"
		if [ "$e2e_how" = serial ]; then
			wait "$!"
			e2e_forget "$!"
			e2e_jobs=
		fi
	done
	# Each dig gives up after 3 s: a plain wait is bounded.
	for e2e_p in $e2e_jobs; do
		wait "$e2e_p"
		e2e_forget "$e2e_p"
	done
}

# e2e_attribution EXPECTED: compare the captured upstream queries with the
# expected "name mark ..." lines. Prints one line per problem to stderr
# and, on stdout, "seen0 seen1 seen2 seen3 seen_other correct wrong
# unmarked missing" (seenN: all queries seen with mark N; correct, wrong,
# unmarked: queries for client names; missing: client names never seen
# with their own mark).
e2e_attribution() {
	e2e_capture_queries | awk -v expected="$1" '
	BEGIN {
		while ((getline line < expected) > 0) {
			split(line, f, " ")
			want[f[1]] = f[2]
			who[f[1]] = f[3] " " f[4]
		}
	}
	{
		seen[$1]++
		if (!($2 in want))
			next
		if ($1 == want[$2]) {
			correct++
			good[$2]++
		} else if ($1 == "0") {
			unmarked++
			printf "  unmarked: %s (client %s, wants mark %s)\n", $2, who[$2], want[$2] > "/dev/stderr"
		} else {
			wrong++
			printf "  wrong mark %s: %s (client %s, wants mark %s)\n", $1, $2, who[$2], want[$2] > "/dev/stderr"
		}
	}
	END {
		for (n in want)
			if (!(n in good)) {
				missing++
				printf "  never left with its mark: %s (client %s, mark %s)\n", n, who[n], want[n] > "/dev/stderr"
			}
		printf "%d %d %d %d %d %d %d %d %d\n", seen["0"], seen["1"], seen["2"], seen["3"], seen["other"], correct, wrong, unmarked, missing
	}'
}

# e2e_conntrack_dns: "proto src sport dst mark" for every DNS flow (dport
# 53) in the gateway's conntrack table, IPv4 and IPv6.
e2e_conntrack_dns() {
	for e2e_f in ipv4 ipv6; do
		for e2e_proto in udp tcp; do
			e2e_in "$E2E_NS_GW" conntrack -L -f $e2e_f -p $e2e_proto \
			    --dport 53 2>/dev/null
		done
	done | awk '{
		src = ""; dst = ""; sport = ""; mark = "0"
		for (i = 1; i <= NF; i++) {
			split($i, kv, "=")
			if (kv[1] == "src" && src == "") src = kv[2]
			else if (kv[1] == "dst" && dst == "") dst = kv[2]
			else if (kv[1] == "sport" && sport == "") sport = kv[2]
			else if (kv[1] == "mark") mark = kv[2]
		}
		print $1, src, sport, dst, mark
	}'
}

# e2e_conntrack_upstream: the upstream part of e2e_conntrack_dns (flows the
# gateway opened towards the upstream resolver).
e2e_conntrack_upstream() {
	e2e_conntrack_dns | awk -v a="$E2E_RECURSOR_V4" -v b="$E2E_RECURSOR_V6" \
	    '$4 == a || $4 == b'
}

e2e_show_conntrack() {
	e2e_say "---- gateway conntrack, DNS flows (proto src sport dst mark) ----"
	e2e_conntrack_dns | sort | sed 's/^/    /'
}

# e2e_elapsed: seconds since e2e_init.
e2e_elapsed() {
	echo $(($(date +%s) - E2E_T0))
}

# Load and failure scenarios (failopen.sh, flood.sh): dnsperf traffic,
# kernel queue and rule counters, the daemon's memory.

# e2e_need TOOL PACKAGE: skip (77, or fail under CI=true) unless TOOL is
# installed; PACKAGE is the Debian package to name in the message.
e2e_need() {
	command -v "$1" >/dev/null 2>&1 ||
	    e2e_skip "missing tools: $1 (package $2)"
}

# e2e_query_file FILE COUNT LABEL [TYPE]: write COUNT dnsperf lines
# "qN.LABEL-rRUN.example.test TYPE" (TYPE A by default): unique names under
# the wildcard, so that every one is a cache miss that goes upstream.
e2e_query_file() {
	awk -v n="$2" -v base="$3-r$E2E_RUN.$E2E_ZONE" -v type="${4:-A}" '
	BEGIN { for (i = 0; i < n; i++) printf "q%d.%s %s\n", i, base, type }' \
	    >"$1" || e2e_die "cannot write $1"
}

# e2e_dnsperf_start LABEL CLIENT DNSPERF_ARGS...: dnsperf in the client
# namespace from CLIENT's address to its gateway resolver, in the
# background; its report goes to $E2E_TMP/LABEL-dnsperf.txt, its PID to
# E2E_DNSPERF_PID. DNSPERF_ARGS must bound the run (-n, -l).
e2e_dnsperf_start() {
	E2E_DNSPERF_OUT=$E2E_TMP/$1-dnsperf.txt
	e2e_client=$2
	shift 2
	e2e_spawn "$E2E_NS_CLIENT" "$E2E_DNSPERF_OUT" dnsperf \
	    -s "$(e2e_client_server "$e2e_client")" -a "$e2e_client" "$@"
	E2E_DNSPERF_PID=$E2E_LAST_PID
}

# e2e_dnsperf_wait SECONDS: wait at most SECONDS for the dnsperf started
# last (then stop it) and return its exit status. tail --pid waits for it
# without forking anything (a kill(pid, 0) every 0.2 s), under timeout; a
# loop of "sleep 0.1" forked and executed sleep ten times a second, and each
# took a CPU for about a millisecond on our 2-vCPU machines, in the middle
# of the latencies being measured (perf sched showed the resolver and the
# queue program waiting behind it: most of the p99 the bench measured on
# held packets).
e2e_dnsperf_wait() {
	timeout "$1" tail -s 0.2 --pid="$E2E_DNSPERF_PID" -f /dev/null
	if [ $? -eq 124 ]; then
		e2e_warn "dnsperf still running after $1 s: stopping it"
		e2e_stop "$E2E_DNSPERF_PID" INT
		return 1
	fi
	wait "$E2E_DNSPERF_PID"
	e2e_status=$?
	e2e_forget "$E2E_DNSPERF_PID"
	return $e2e_status
}

# e2e_dnsperf_result FILE: "sent completed lost max_latency_s" from a
# dnsperf report; "0 0 0 0" when it has none.
e2e_dnsperf_result() {
	awk '
	/Queries sent:/ { sent = $3 }
	/Queries completed:/ { completed = $3 }
	/Queries lost:/ { lost = $3 }
	/Average Latency/ { max = $8; sub(/\)$/, "", max) }
	END { printf "%d %d %d %s\n", sent, completed, lost, max == "" ? 0 : max }' "$1"
}

# e2e_metric FILE NAME: the value of one metric in dnsmark's --stats-file
# (Prometheus text), empty when absent.
e2e_metric() {
	awk -v name="$2" '$1 == name { print $2 }' "$1" 2>/dev/null
}

# e2e_queue_field N: field N of the gateway's nfnetlink_queue line for our
# queue (3 waiting, 6 dropped because full, 7 dropped at the socket, 8 the
# last packet id handed out); empty when the queue is not bound. With
# fail-open, packets passed because the queue is full count in none of
# them: see e2e_rule_queued.
e2e_queue_field() {
	e2e_queue_line | awk -v f="$1" '{ print $f }'
}

# e2e_rule_queued: packets the gateway's NFQUEUE rules (IPv4 and IPv6)
# handed to netfilter's queue, whether a program took them, they passed
# because none was bound (--queue-bypass), or passed because the queue was
# full (fail-open).
e2e_rule_queued() {
	{
		e2e_in "$E2E_NS_GW" iptables-save -c -t mangle
		e2e_in "$E2E_NS_GW" ip6tables-save -c -t mangle
	} | awk '/-j NFQUEUE/ && match($0, /^\[[0-9]+:/) {
		n += substr($0, 2, RLENGTH - 2)
	} END { print n + 0 }'
}

# e2e_rss PID: the resident memory of a process in KiB (VmRSS), empty when
# it is gone.
e2e_rss() {
	awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status" 2>/dev/null
}

# e2e_udp_overruns NAMESPACE: datagrams the namespace's UDP sockets dropped
# because their receive buffer was full (IPv4 and IPv6 RcvbufErrors): a
# resolver flooded by a burst loses queries there, not in netfilter.
e2e_udp_overruns() {
	e2e_in "$1" cat /proc/net/snmp /proc/net/snmp6 2>/dev/null | awk '
	$1 == "Udp:" && !header { for (i = 2; i <= NF; i++) col[$i] = i; header = 1; next }
	$1 == "Udp:" && header { n += $col["RcvbufErrors"] }
	$1 == "Udp6RcvbufErrors" { n += $2 }
	END { print n + 0 }'
}
