# test/accuracy/traffic.sh: phase C of the accuracy tool, real traffic
# (sourced by accuracy.sh after lib.sh, hierarchy.sh and resolvers.sh, never
# run). It adds the phase's zones to the hierarchy (pop.test, popcdn.test,
# vid.pop.test, own.test, owncdn.test, designed in traffic.py), the phase's
# clients (many addresses on the client namespace's loopback, routed by the
# gateway; each its own mark, given by an nftables map as an operator with
# thousands of users would write it), runs each resolver with prefetch and
# serve-stale where it has them, plays traffic.py's load and scores it with
# traffic_score.py. It changes nothing outside the bed's namespaces.

# Number of phase C clients (accuracy.sh --clients), and the phase's length
# and load (--duration, --warmup, --rate: lookups per second, three
# queries each).
TRAFFIC_CLIENTS=${TRAFFIC_CLIENTS:-24}
TRAFFIC_DURATION=${TRAFFIC_DURATION:-60}
TRAFFIC_WARMUP=${TRAFFIC_WARMUP:-15}
TRAFFIC_RATE=${TRAFFIC_RATE:-10}
# 1: the resolvers without prefetch and serve-stale (--plain).
TRAFFIC_PLAIN=${TRAFFIC_PLAIN:-0}
TRAFFIC_SEED=${TRAFFIC_SEED:-1}

# The servers of the phase's zones (traffic.py's SERVER_*), served by NSD
# instances that hier_start starts with the others.
TRAFFIC_SERVERS="traffic-pop:9 traffic-cdn:10 traffic-own:11"
HIER_SERVERS="$HIER_SERVERS $TRAFFIC_SERVERS"

# traffic_zones ROLE: "zone-name writer-command" lines for server ROLE
# (hierarchy.sh's hier_zones hands the traffic-* roles here).
traffic_zones() {
	case $1 in
	traffic-pop) echo "pop.test. traffic_zone pop.test" ;;
	traffic-cdn)
		echo "popcdn.test. traffic_zone popcdn.test"
		echo "vid.pop.test. traffic_zone vid.pop.test"
		;;
	traffic-own)
		echo "own.test. traffic_zone own.test"
		echo "owncdn.test. traffic_zone owncdn.test"
		;;
	esac
}

# traffic_zone ZONE: ZONE's file, from traffic.py's design.
traffic_zone() {
	python3 "$ACC_DIR/traffic.py" zone "$1" --clients "$TRAFFIC_CLIENTS"
}

# traffic_tld_records: the delegations of the phase's zones, for test.
# (hierarchy.sh's hier_zone_tld prints them), with their DS records when
# the hierarchy is signed (HIER_KEYS set, hier_ds defined).
traffic_tld_records() {
	for traffic_z in pop:9 popcdn:10 own:11 owncdn:11; do
		printf '%s\tNS\tns.%s\n' "${traffic_z%:*}" "${traffic_z%:*}"
		hier_glue "ns.${traffic_z%:*}" "${traffic_z#*:}"
		if [ -n "${HIER_KEYS:-}" ] && command -v hier_ds >/dev/null 2>&1; then
			hier_ds "${traffic_z%:*}.test."
		fi
	done
}

# traffic_net_up: the phase's client addresses on the client namespace's
# loopback, and the gateway's routes to them (one neighbour, however many
# clients): IPv4 192.0.2.128/25 and IPv6 2001:db8:3::/64 via client 1.
traffic_net_up() {
	python3 "$ACC_DIR/traffic.py" addresses --clients "$TRAFFIC_CLIENTS" |
	    while read -r _ _ _ traffic_a6 traffic_a4; do
		echo "address add $traffic_a6/128 dev lo nodad"
		[ "$traffic_a4" = - ] || echo "address add $traffic_a4/32 dev lo"
	done >"$BED_TMP/traffic-addresses"
	ip -n "$BED_NS_CLIENT" -batch "$BED_TMP/traffic-addresses" ||
	    bed_die "cannot add the phase C client addresses"
	ip -n "$BED_NS_GW" route add 192.0.2.128/25 via "$(bed_client_addr 1 4)" ||
	    bed_die "cannot route the phase C IPv4 clients"
	ip -n "$BED_NS_GW" -6 route add 2001:db8:3::/64 via "$(bed_client_addr 1 6)" ||
	    bed_die "cannot route the phase C IPv6 clients"
}

# traffic_gw_rules: the user's marking rules for the phase's clients, as an
# operator with one mark per user writes them: two nftables maps (address
# to mark) in a chain just before the iptables mangle PREROUTING rules
# (restore the connection's mark, set the client's when there is none, keep
# it on the connection). One lookup per packet, whatever the number of
# clients.
traffic_gw_rules() {
	{
		printf 'table inet traffic_marks {\n'
		printf ' map client4 { type ipv4_addr : mark; elements = {'
		python3 "$ACC_DIR/traffic.py" addresses --clients "$TRAFFIC_CLIENTS" |
		    awk '$5 != "-" { printf "%s%s : %s", n++ ? ", " : " ", $5, $2 } END { print " } }" }'
		printf ' map client6 { type ipv6_addr : mark; elements = {'
		python3 "$ACC_DIR/traffic.py" addresses --clients "$TRAFFIC_CLIENTS" |
		    awk '{ printf "%s%s : %s", n++ ? ", " : " ", $4, $2 } END { print " } }" }'
		printf ' chain prerouting {\n'
		printf '  type filter hook prerouting priority mangle - 1; policy accept;\n'
		printf '  iifname "lan0" meta mark set ct mark\n'
		printf '  iifname "lan0" meta mark 0 meta mark set ip saddr map @client4\n'
		printf '  iifname "lan0" meta mark 0 meta mark set ip6 saddr map @client6\n'
		printf '  iifname "lan0" ct mark set meta mark\n'
		printf ' }\n}\n'
	} >"$BED_TMP/traffic-marks.nft"
	ip netns exec "$BED_NS_GW" nft -f "$BED_TMP/traffic-marks.nft" ||
	    bed_die "cannot load the phase C marking rules"
}

# traffic_owners FILE: "suffix mark" lines of the phase's client-owned names.
traffic_owners() {
	python3 "$ACC_DIR/traffic.py" owners --clients "$TRAFFIC_CLIENTS" >"$1"
}

# traffic_configure NAME DIR: NAME's configuration (resolver_configure) with
# what real deployments turn on for short TTLs: prefetch and serving
# expired answers while refreshing them (unbound prefetch and serve-expired,
# BIND prefetch and stale-answer-enable, Knot Resolver's predict and
# serve_stale modules, PowerDNS Recursor refresh-on-ttl-perc and
# serve-stale-extensions, dnsmasq --use-stale-cache, traffic_command);
# with TRAFFIC_PLAIN=1 (--plain), none of them.
traffic_configure() {
	resolver_configure "$1" "$2"
	[ "$TRAFFIC_PLAIN" = 1 ] && return
	case $1 in
	unbound-*)
		sed -i 's/^\tprefetch: no$/\tprefetch: yes\n\tserve-expired: yes/' "$2/unbound.conf"
		grep -q 'serve-expired: yes' "$2/unbound.conf" ||
		    bed_die "traffic_configure: unbound.conf has no 'prefetch: no' line"
		;;
	bind)
		sed -i 's/^\tprefetch 0;$/\tprefetch 2 8;\n\tstale-answer-enable yes;\n\tstale-cache-enable yes;\n\tstale-answer-client-timeout 0;/' \
		    "$2/named.conf"
		grep -q 'stale-answer-enable yes' "$2/named.conf" ||
		    bed_die "traffic_configure: named.conf has no 'prefetch 0;' line"
		;;
	kresd)
		printf "modules.load('predict')\nmodules.load('serve_stale < cache')\n" \
		    >>"$2/config.lua"
		;;
	pdns-recursor)
		sed -i 's/^refresh-on-ttl-perc=0$/refresh-on-ttl-perc=10/' "$2/recursor.conf"
		printf 'serve-stale-extensions=10\n' >>"$2/recursor.conf"
		;;
	esac
}

# traffic_command NAME DIR: resolver_command with dnsmasq's stale cache on.
traffic_command() {
	resolver_command "$1" "$2"
	[ "$1" != dnsmasq ] || [ "$TRAFFIC_PLAIN" = 1 ] ||
	    echo " --use-stale-cache"
}

# traffic_resolver_start NAME DIR LOG: resolver_start with traffic_command
# (dnsmasq's option is on its command line); RESOLVER_PID.
traffic_resolver_start() {
	rm -rf "$2/run"
	mkdir -p "$2/run"
	# shellcheck disable=SC2046
	bed_in_cgroup bed_spawn "$BED_NS_GW" "$3" $(traffic_command "$1" "$2" | tr -d '\n')
	RESOLVER_PID=$BED_LAST_PID
	if [ -n "$BED_CGROUP" ] && ! bed_in_cgroup_pid "$RESOLVER_PID"; then
		bed_die "$1 (PID $RESOLVER_PID) is not in the cgroup $BED_CGROUP"
	fi
	bed_wait_dns "$RESOLVER_PID" "$BED_NS_GW" "$BED_GW_LAN4" "$BED_GW_LAN6" ||
	    bed_die "$1 did not start: $(tail -n 5 "$3")"
}

# traffic_counters LOG: dnsmark's last counters line (SIGUSR1) in LOG,
# whole, for the result file.
traffic_counters() {
	grep 'pending=' "$1" | tail -n 1 | sed 's/.*\(pending=\)/\1/'
}

# traffic_phase NAME DIR [DNSMARK_LOG]: phase C for resolver NAME,
# everything in DIR/C: the resolver started with an empty cache and
# prefetch and serve-stale on, a capture of its own, the load (warm-up, then
# the scored window), dnsmark's counters (SIGUSR1, read from DNSMARK_LOG
# when dnsmark runs), the score in DIR/C/result.json.
traffic_phase() {
	traffic_dir=$2/C
	mkdir -p "$traffic_dir"
	traffic_configure "$1" "$traffic_dir"
	bed_capture_start "$traffic_dir/upstream.pcap"
	traffic_resolver_start "$1" "$traffic_dir" "$traffic_dir/resolver.log"
	sleep "$ACC_SETTLE"
	traffic_t0=$(bed_now)
	ip netns exec "$BED_NS_CLIENT" python3 "$ACC_DIR/traffic.py" run \
	    --clients "$TRAFFIC_CLIENTS" --server4 "$BED_GW_LAN4" \
	    --server6 "$BED_GW_LAN6" --rate "$TRAFFIC_RATE" \
	    --duration $((TRAFFIC_WARMUP + TRAFFIC_DURATION)) --seed "$TRAFFIC_SEED" \
	    --out "$traffic_dir/queries" >"$traffic_dir/traffic.log" 2>&1 ||
	    bed_die "$1: the load generator failed: $(tail -n 5 "$traffic_dir/traffic.log")"
	sleep "$ACC_LINGER"
	if [ -n "${3:-}" ] && bed_alive "$BED_DNSMARK_PID"; then
		kill -USR1 "$BED_DNSMARK_PID"
		sleep 0.3
	fi
	resolver_stop
	sleep 0.2
	traffic_t1=$(bed_now)
	bed_capture_stop
	traffic_counters_line=
	[ -z "${3:-}" ] || traffic_counters_line=$(traffic_counters "$3")
	python3 "$ACC_DIR/traffic_score.py" analyse --resolver "$1" \
	    --pcap "$traffic_dir/upstream.pcap" --queries "$traffic_dir/queries" \
	    --owners "$BED_TMP/traffic-owners" \
	    --start "$(awk "BEGIN { printf \"%.6f\", $traffic_t0 + $TRAFFIC_WARMUP }")" \
	    --end "$traffic_t1" \
	    --counters "$traffic_counters_line" --out "$traffic_dir/result.json"
}
