# test/accuracy/resolvers.sh: the resolvers under test (sourced by
# accuracy.sh, never run). Each one gets its own directory, listens on the
# gateway's LAN addresses, runs in the foreground as root in the gateway
# namespace, and starts with an empty cache every time. Each validates
# DNSSEC, as they ship (hierarchy.sh signs the bed's zones), with the bed's
# root DS as its only trust anchor; whatever sends queries no client caused
# is switched off where a switch exists (prefetch, trust-anchor maintenance
# and signalling, start-up priming); defaults real users have, such as QNAME
# minimisation and the reuse of upstream TCP connections, stay on. The
# forwarders send tc.test to the internet's recursive server on the address
# whose UDP answers are truncated (hierarchy.sh), so that they retry over
# TCP too.

RESOLVERS_ALL="unbound-recursive unbound-forward dnsmasq bind kresd pdns-recursor"

# resolver_program NAME: the program NAME runs (to check it is installed).
resolver_program() {
	case $1 in
	unbound-*) echo unbound ;;
	dnsmasq) echo dnsmasq ;;
	bind) echo named ;;
	kresd) echo kresd ;;
	pdns-recursor) echo pdns_recursor ;;
	*) return 1 ;;
	esac
}

# resolver_anchor: the root's DS as "key-tag algorithm digest-type digest"
# (from HIER_ANCHOR, made by hier_keys).
resolver_anchor() {
	awk '$3 == "DS" { print $4, $5, $6, $7; exit }' "$HIER_ANCHOR"
}

# unbound_conf DIR ADDRESS...: the unbound configuration shared by the
# recursive and forwarding resolvers under test and the internet's
# recursive resolver (to stdout). Iterator only (the internet's resolver
# stays so; unbound_validator adds the validator for those under test).
# "test." is one of unbound's default local zones (RFC 6761); nodefault lets
# it be resolved.
unbound_conf() {
	unbound_dir=$1
	shift
	printf 'server:\n'
	for unbound_addr in "$@"; do
		printf '\tinterface: %s\n' "$unbound_addr"
	done
	cat <<EOF
	port: 53
	num-threads: 1
	verbosity: 1
	do-ip4: yes
	do-ip6: yes
	access-control: 0.0.0.0/0 allow
	access-control: ::/0 allow
	username: ""
	chroot: ""
	directory: "$unbound_dir"
	use-syslog: no
	logfile: ""
	module-config: "iterator"
	root-hints: "$unbound_dir/root.hints"
	local-zone: "test." nodefault
	prefetch: no
	prefetch-key: no
EOF
}

# unbound_validator: the lines that make unbound_conf's unbound validate
# with the bed's trust anchor (a later module-config wins); key-tag
# signalling (RFC 8145, a query of its own to the root) off.
unbound_validator() {
	printf '\tmodule-config: "validator iterator"\n'
	printf '\ttrust-anchor-file: "%s"\n' "$HIER_ANCHOR"
	printf '\ttrust-anchor-signaling: no\n\tval-log-level: 2\n'
}

# resolver_configure_NAME DIR: write NAME's configuration into DIR (which
# holds root.hints already).
#
# unbound, Knot Resolver and PowerDNS Recursor keep their upstream TCP
# connections open and carry several queries, of several clients, on one
# (their defaults): the accuracy tool measures what dnsmark makes of that.
resolver_configure_unbound_recursive() {
	{
		unbound_conf "$1" "$BED_GW_LAN4" "$BED_GW_LAN6"
		unbound_validator
		printf '\tqname-minimisation: yes\n\tuse-caps-for-id: yes\n'
	} >"$1/unbound.conf"
}

resolver_configure_unbound_forward() {
	{
		unbound_conf "$1" "$BED_GW_LAN4" "$BED_GW_LAN6"
		unbound_validator
		printf 'forward-zone:\n\tname: "."\n'
		printf '\tforward-addr: %s\n' "$(hier_addr "$HIER_RECURSOR" 4)" \
		    "$(hier_addr "$HIER_RECURSOR" 6)"
		printf 'forward-zone:\n\tname: "tc.test."\n'
		printf '\tforward-addr: %s\n' "$(hier_addr "$HIER_RECURSOR_TC" 4)" \
		    "$(hier_addr "$HIER_RECURSOR_TC" 6)"
	} >"$1/unbound.conf"
}

resolver_configure_dnsmasq() {
	: # command-line only
}

resolver_configure_bind() {
	cat >"$1/named.conf" <<EOF
options {
	directory "$1";
	pid-file none;
	session-keyfile "$1/session.key";
	managed-keys-directory "$1";
	listen-on port 53 { $BED_GW_LAN4; };
	listen-on-v6 port 53 { $BED_GW_LAN6; };
	allow-query { any; };
	allow-recursion { any; };
	recursion yes;
	dnssec-validation yes;
	trust-anchor-telemetry no;
	root-key-sentinel no;
	prefetch 0;
	notify no;
	empty-zones-enable no;
	max-cache-size 32m;
};
controls { };
trust-anchors { . static-ds $(resolver_anchor | awk '{ printf "%s %s %s \"%s\"", $1, $2, $3, $4 }'); };
zone "." { type hint; file "$1/root.hints"; };
EOF
}

# Knot Resolver blocks test. (RFC 6761) in its policy module's special
# names: the PASS rule before them lets it be resolved. Its default modules
# that query on their own (root priming at start, clock-skew and time-jump
# checks, trust-anchor maintenance and signalling) are unloaded; the bed's
# root DS replaces the shipped root anchor.
resolver_configure_kresd() {
	cat >"$1/config.lua" <<EOF
net.listen('$BED_GW_LAN4', 53, { kind = 'dns' })
net.listen('$BED_GW_LAN6', 53, { kind = 'dns' })
trust_anchors.remove('.')
trust_anchors.add('. 3600 IN DS $(resolver_anchor)')
modules.unload('ta_update')
modules.unload('ta_signal_query')
modules.unload('ta_sentinel')
modules.unload('priming')
modules.unload('detect_time_skew')
modules.unload('detect_time_jump')
modules.load('hints > iterate')
hints.root_file('$1/root.hints')
policy.add(policy.suffix(policy.PASS, { todname('test.') }))
cache.size = 32 * MB
EOF
}

# PowerDNS Recursor refuses to query documentation addresses by default
# (dont-query), asks IPv4 only unless query-local-address has an IPv6
# address, and looks its own version up at start (security polling). Its
# Lua configuration replaces the shipped root anchor with the bed's.
resolver_configure_pdns_recursor() {
	printf 'clearTA()\naddTA(".", "%s")\n' "$(resolver_anchor)" >"$1/recursor.lua"
	cat >"$1/recursor.conf" <<EOF
local-address=$BED_GW_LAN4, $BED_GW_LAN6
local-port=53
allow-from=0.0.0.0/0, ::/0
query-local-address=0.0.0.0, ::
dont-query=127.0.0.0/8, ::1/128
hint-file=$1/root.hints
dnssec=validate
dnssec-log-bogus=yes
daemon=no
write-pid=no
socket-dir=$1
threads=1
pdns-distributes-queries=no
qname-minimization=yes
refresh-on-ttl-perc=0
lua-config-file=$1/recursor.lua
security-poll-suffix=
EOF
}

# resolver_command NAME DIR: the command line that runs NAME in the
# foreground from DIR (after resolver_configure).
resolver_command() {
	case $1 in
	unbound-*) echo "unbound -d -p -c $2/unbound.conf" ;;
	dnsmasq)
		printf 'dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts'
		printf ' --bind-interfaces --listen-address=%s --listen-address=%s' \
		    "$BED_GW_LAN4" "$BED_GW_LAN6"
		printf ' --server=%s --server=%s' "$(hier_addr "$HIER_RECURSOR" 4)" \
		    "$(hier_addr "$HIER_RECURSOR" 6)"
		printf ' --server=/tc.test/%s --server=/tc.test/%s' \
		    "$(hier_addr "$HIER_RECURSOR_TC" 4)" "$(hier_addr "$HIER_RECURSOR_TC" 6)"
		printf ' --dnssec --trust-anchor=.,%s' "$(resolver_anchor | tr ' ' ,)"
		printf ' --user=root --pid-file= --cache-size=1000 --log-facility=-\n'
		;;
	bind) echo "named -g -n 1 -c $2/named.conf" ;;
	kresd) echo "kresd -n -c $2/config.lua $2/run" ;;
	pdns-recursor) echo "pdns_recursor --config-dir=$2 --disable-syslog" ;;
	esac
}

# resolver_configure NAME DIR: NAME's configuration and root hints in DIR.
resolver_configure() {
	mkdir -p "$2"
	hier_root_hints "$2/root.hints"
	"resolver_configure_$(echo "$1" | tr - _)" "$2"
}

# resolver_start NAME DIR LOG: start NAME with an empty cache, in the bed's
# cgroup when there is one (bpf mode: dnsmark's BPF program sees the client
# queries its sockets receive), and wait until it listens on both LAN
# addresses; RESOLVER_PID is its PID.
resolver_start() {
	# Knot Resolver keeps its cache on disk in its run directory.
	rm -rf "$2/run"
	mkdir -p "$2/run"
	# shellcheck disable=SC2046
	bed_in_cgroup bed_spawn "$BED_NS_GW" "$3" $(resolver_command "$1" "$2")
	RESOLVER_PID=$BED_LAST_PID
	if [ -n "$BED_CGROUP" ] && ! bed_in_cgroup_pid "$RESOLVER_PID"; then
		bed_die "$1 (PID $RESOLVER_PID) is not in the cgroup $BED_CGROUP"
	fi
	bed_wait_dns "$RESOLVER_PID" "$BED_NS_GW" "$BED_GW_LAN4" "$BED_GW_LAN6" ||
	    bed_die "$1 did not start: $(tail -n 5 "$3")"
}

# resolver_stop: stop the running resolver.
resolver_stop() {
	bed_stop "$RESOLVER_PID" || true
}

# resolver_version NAME: the installed version of NAME's program.
resolver_version() {
	case $1 in
	unbound-*) unbound -V 2>&1 | sed -n 's/^Version /unbound /p' ;;
	dnsmasq) dnsmasq --version 2>&1 | sed -n '1s/ *Copyright.*//p' ;;
	bind) named -v 2>&1 | cut -d' ' -f1-2 ;;
	kresd) kresd --version 2>&1 | head -n 1 ;;
	pdns-recursor)
		pdns_recursor --version 2>&1 | grep -o 'PowerDNS Recursor [0-9.]*' | head -n 1
		;;
	esac
}

# resolver_dig ARG...: one dig from client 1's IPv4 address to the
# resolver under test; prints dig's header lines.
resolver_dig() {
	ip netns exec "$BED_NS_CLIENT" dig -b "$(bed_client_addr 1 4)" "@$BED_GW_LAN4" \
	    +time=5 +tries=2 +noall +comments "$@" 2>&1 || true
}

# resolver_check_dnssec NAME DIR: start NAME (cold cache), check that it
# validates, stop it; the bed fails otherwise, so that a silent fallback to
# no validation cannot pass for a measurement with it. Validated answers
# carry the AD bit (one from a plain zone, one from the truncated one,
# whose keys come over TCP) and bogus.test, whose signature is broken, is
# SERVFAIL. dnsmasq does not validate what it forwards to a server given
# for a domain (--server=/tc.test/...: "no DNSSEC" in its log), so tc.test
# is not checked there. Runs before the capture and dnsmark: none of it is
# scored.
resolver_check_dnssec() {
	resolver_start "$1" "$2" "$2/dnssec-check.log"
	resolver_names="host.c1.test host.c1.tc.test"
	[ "$1" != dnsmasq ] || resolver_names=host.c1.test
	for resolver_name in $resolver_names; do
		resolver_out=$(resolver_dig +dnssec "$resolver_name" A)
		if ! printf '%s\n' "$resolver_out" | grep -q 'status: NOERROR' ||
		    ! printf '%s\n' "$resolver_out" | grep -Eq '^;; flags:[a-z ]* ad[ ;]'; then
			resolver_stop
			bed_die "$1 does not validate: no AD bit on $resolver_name A: $resolver_out"
		fi
	done
	resolver_out=$(resolver_dig bogus.test A)
	resolver_stop
	printf '%s\n' "$resolver_out" | grep -q 'status: SERVFAIL' ||
	    bed_die "$1 does not validate: bogus.test A (broken signature) was not SERVFAIL: $resolver_out"
}
