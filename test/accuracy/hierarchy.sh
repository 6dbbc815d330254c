# test/accuracy/hierarchy.sh: the DNS "internet" of the accuracy tool
# (sourced by accuracy.sh, never run). It designs a real hierarchy served by
# separate NSD instances on separate addresses, so that a recursive resolver
# walks referrals, and a recursive unbound there for the forwarders. It also
# says, from the same design, which names belong to which client (phase B's
# ground truth) and what each client looks up (the workload).
#
# Servers (IPv4 203.0.113.N and IPv6 2001:db8:53::N, glue for both):
#   N=1 root    .             NS a.root.test
#   N=2 tld     test.         NS a.tld.test
#   N=3 zones   cK.test       NS ns1.cK.test (glue in test.)
#   N=4 cdn     cK-cdn.test   NS ns.cK-cdn.test
#   N=5 dns     cK-dns.test   NS ns.cK-dns.test
#   N=6 sub     sub.cK.test   NS sub-ns.cK-dns.test: glue-less, the name
#                             server's address lives in another zone
#   N=7 tc      tc.test       NS ns.tc.test: NSD answers TCP; every UDP query
#                             is answered with TC=1 by truncator.py
#   N=53        the internet's recursive unbound (forwarders' upstream)
#   N=8         the same unbound, its UDP truncated like N=7's: the
#                             forwarders send tc.test there
# for each client K in 1..4. Client K owns cK.test, cK-cdn.test, cK-dns.test
# and cK.tc.test: www.cK.test is a CNAME into cK-cdn.test, big.cK.test a TXT
# RRset too large for a 1232-byte EDNS UDP answer (so it comes back
# truncated and is asked again over TCP), and everything under cK.tc.test
# (the minimised ancestors cK.tc.test and _.cK.tc.test included) is
# truncated over UDP by its server, so each lookup there is retried over TCP,
# and a resolver that keeps its TCP connections carries several clients'
# retries on one. tc.test itself is shared.
#
# Every zone is signed (hier_keys, at bed start: one ECDSAP256SHA256 key per
# zone, the DS in the parent), the resolvers get the root's DS as their trust
# anchor (HIER_ANCHOR), and bogus.test carries a broken signature.

HIER_SERVERS="root:1 tld:2 zones:3 cdn:4 dns:5 sub:6 tc:7"
HIER_RECURSOR=53
HIER_RECURSOR_TC=8
HIER_TC=7
# The port truncator.py listens on; nat rules in the internet namespace send
# UDP for port 53 of servers HIER_TC and HIER_RECURSOR_TC there.
HIER_TRUNCATOR_PORT=5353
# Set by hier_keys: where the keys and DS records are, and the file with the
# root's DS records (the resolvers' trust anchor, zone-file format).
HIER_KEYS=
HIER_ANCHOR=
# What the signing needs (bind9-utils).
HIER_TOOLS="dnssec-keygen dnssec-dsfromkey dnssec-signzone"

# hier_addr N FAMILY: the address of server N.
hier_addr() {
	if [ "$2" = 6 ]; then
		printf '2001:db8:53::%d\n' "$1"
	else
		printf '203.0.113.%d\n' "$1"
	fi
}

# hier_addresses: every address of the internet namespace's servers.
hier_addresses() {
	for hier_s in $HIER_SERVERS "recursor:$HIER_RECURSOR" \
	    "recursor-tc:$HIER_RECURSOR_TC"; do
		hier_addr "${hier_s#*:}" 4
		hier_addr "${hier_s#*:}" 6
	done
}

# hier_glue NAME N: address records of NAME pointing at server N.
hier_glue() {
	printf '%s\tA\t%s\n' "$1" "$(hier_addr "$2" 4)"
	printf '%s\tAAAA\t%s\n' "$1" "$(hier_addr "$2" 6)"
}

# hier_soa ORIGIN PRIMARY: a zone's first lines.
hier_soa() {
	# shellcheck disable=SC2016
	printf '$ORIGIN %s\n$TTL 3600\n' "$1"
	printf '@\tSOA\t%s hostmaster.test. 1 3600 900 604800 300\n' "$2"
}

# hier_zone_root, hier_zone_tld, hier_zone_client K, ...: the zone files.
# hier_ds ZONE: the DS records of ZONE's key (hier_keys), for its parent.
hier_ds() {
	cat "$HIER_KEYS/${1%.}.ds"
}

hier_zone_root() {
	hier_soa . a.root.test.
	printf '@\tNS\ta.root.test.\n'
	printf 'test.\tNS\ta.tld.test.\n'
	hier_ds test.
	hier_glue a.root.test. 1
	hier_glue a.tld.test. 2
}

hier_zone_tld() {
	hier_soa test. a.tld.test.
	printf '@\tNS\ta.tld\n'
	hier_glue a.tld 2
	hier_glue a.root 1
	# Signed, then its address changed (hier_sign): a validating resolver
	# answers SERVFAIL.
	printf 'bogus\tA\t203.0.113.99\n'
	printf 'tc\tNS\tns.tc\n'
	hier_glue ns.tc "$HIER_TC"
	hier_ds tc.test.
	for hier_k in $BED_CLIENTS; do
		printf 'c%d\tNS\tns1.c%d\n' "$hier_k" "$hier_k"
		hier_glue "ns1.c$hier_k" 3
		hier_ds "c$hier_k.test."
		printf 'c%d-cdn\tNS\tns.c%d-cdn\n' "$hier_k" "$hier_k"
		hier_glue "ns.c$hier_k-cdn" 4
		hier_ds "c$hier_k-cdn.test."
		printf 'c%d-dns\tNS\tns.c%d-dns\n' "$hier_k" "$hier_k"
		hier_glue "ns.c$hier_k-dns" 5
		hier_ds "c$hier_k-dns.test."
	done
	traffic_tld_records
}

hier_zone_client() {
	hier_soa "c$1.test." ns1
	printf '@\tNS\tns1\n'
	hier_glue ns1 3
	printf '@\tMX\t10 mail\n'
	printf 'mail\tA\t203.0.113.%d\n' $((100 + $1))
	printf 'host\tA\t203.0.113.%d\n' $((110 + $1))
	printf 'host\tAAAA\t2001:db8:100::%d\n' "$1"
	printf 'tcp\tA\t203.0.113.%d\n' $((120 + $1))
	printf 'txt\tTXT\t"client %d small text"\n' "$1"
	printf 'www\tCNAME\twww.c%d-cdn.test.\n' "$1"
	# Six strings of 240 bytes: about 1.5 kB, more than fits in 1232.
	for hier_i in 1 2 3 4 5 6; do
		printf 'big\tTXT\t"%s"\n' "$(printf "c$1-big-$hier_i-%0230d" 0)"
	done
	printf 'sub\tNS\tsub-ns.c%d-dns.test.\n' "$1"
	hier_ds "sub.c$1.test."
}

hier_zone_cdn() {
	hier_soa "c$1-cdn.test." ns
	printf '@\tNS\tns\n'
	hier_glue ns 4
	printf 'www\tCNAME\tedge\n'
	printf 'edge\tA\t203.0.113.%d\n' $((130 + $1))
	printf 'edge\tAAAA\t2001:db8:130::%d\n' "$1"
}

hier_zone_dns() {
	hier_soa "c$1-dns.test." ns
	printf '@\tNS\tns\n'
	hier_glue ns 5
	hier_glue sub-ns 6
}

hier_zone_sub() {
	hier_soa "sub.c$1.test." "sub-ns.c$1-dns.test."
	printf '@\tNS\tsub-ns.c%d-dns.test.\n' "$1"
	printf 'deep\tA\t203.0.113.%d\n' $((140 + $1))
	printf 'deep\tAAAA\t2001:db8:140::%d\n' "$1"
}

# The truncated zone: client K's names below cK.tc.test (an A and an AAAA,
# a CNAME to them, and a name two labels deeper for more minimisation steps).
hier_zone_tc() {
	hier_soa tc.test. ns
	printf '@\tNS\tns\n'
	hier_glue ns "$HIER_TC"
	for hier_k in $BED_CLIENTS; do
		printf 'host.c%d\tA\t203.0.113.%d\n' "$hier_k" $((150 + hier_k))
		printf 'host.c%d\tAAAA\t2001:db8:150::%d\n' "$hier_k" "$hier_k"
		printf 'www.c%d\tCNAME\thost.c%d\n' "$hier_k" "$hier_k"
		printf 'a.b.c%d\tA\t203.0.113.%d\n' "$hier_k" $((160 + hier_k))
	done
}

# hier_zones ROLE: "zone-name writer-command" lines for server ROLE.
hier_zones() {
	case $1 in
	root) echo ". hier_zone_root" ;;
	tld) echo "test. hier_zone_tld" ;;
	tc) echo "tc.test. hier_zone_tc" ;;
	traffic-*) traffic_zones "$1" ;;
	*)
		for hier_k in $BED_CLIENTS; do
			case $1 in
			zones) echo "c$hier_k.test. hier_zone_client $hier_k" ;;
			cdn) echo "c$hier_k-cdn.test. hier_zone_cdn $hier_k" ;;
			dns) echo "c$hier_k-dns.test. hier_zone_dns $hier_k" ;;
			sub) echo "sub.c$hier_k.test. hier_zone_sub $hier_k" ;;
			esac
		done
		;;
	esac
}

# hier_root_hints FILE: root hints pointing at the bed's root server.
hier_root_hints() {
	{
		printf '.\t3600000\tNS\ta.root.test.\n'
		printf 'a.root.test.\t3600000\tA\t%s\n' "$(hier_addr 1 4)"
		printf 'a.root.test.\t3600000\tAAAA\t%s\n' "$(hier_addr 1 6)"
	} >"$1"
}

# hier_owners FILE: "suffix mark" lines, the names each client's lookups
# cause queries for (phase B's ground truth); anything else is shared.
hier_owners() {
	for hier_k in $BED_CLIENTS; do
		printf 'c%d.test %d\nc%d-cdn.test %d\nc%d-dns.test %d\n' \
		    "$hier_k" "$hier_k" "$hier_k" "$hier_k" "$hier_k" "$hier_k"
		printf 'c%d.tc.test %d\n' "$hier_k" "$hier_k"
	done >"$1"
}

# hier_workload K: client K's lookups, "name type transport expected-rcode"
# lines: every record type of its subtree, an NXDOMAIN in each of its zones
# that answer one, the CNAME chain across zones, the glue-less delegation,
# the large TXT (truncated upstream, retried over TCP), one lookup the
# client itself makes over TCP, and first (so that the four clients of
# phase B are there at the same time) its names in the truncated zone.
hier_workload() {
	cat <<EOF
host.c$1.tc.test A udp NOERROR
host.c$1.tc.test AAAA udp NOERROR
www.c$1.tc.test A udp NOERROR
a.b.c$1.tc.test A udp NOERROR
host.c$1.test A udp NOERROR
host.c$1.test AAAA udp NOERROR
c$1.test MX udp NOERROR
txt.c$1.test TXT udp NOERROR
nope.c$1.test A udp NXDOMAIN
www.c$1.test A udp NOERROR
www.c$1.test AAAA udp NOERROR
deep.sub.c$1.test A udp NOERROR
deep.sub.c$1.test AAAA udp NOERROR
nope.sub.c$1.test A udp NXDOMAIN
big.c$1.test TXT udp NOERROR
tcp.c$1.test A tcp NOERROR
EOF
}

# hier_keys DIR: one ECDSAP256SHA256 key (flagged KSK, signing everything)
# for every zone of every server, made in DIR/keys, with each zone's DS
# records in DIR/keys/ZONE.ds (what hier_ds prints into the parent) and the
# root's in HIER_ANCHOR (the trust anchor). Keys are made anew each run.
hier_keys() {
	HIER_KEYS=$1/keys
	HIER_ANCHOR=$1/root.ds
	mkdir -p "$HIER_KEYS"
	for hier_s in $HIER_SERVERS; do
		hier_zones "${hier_s%:*}"
	done >"$HIER_KEYS/zones"
	while read -r hier_name hier_writer; do
		hier_key=$(dnssec-keygen -q -a ECDSAP256SHA256 -f KSK -K "$HIER_KEYS" \
		    -n ZONE "$hier_name") || bed_die "dnssec-keygen $hier_name failed"
		hier_file=${hier_name%.}
		dnssec-dsfromkey -2 "$HIER_KEYS/$hier_key.key" \
		    >"$HIER_KEYS/${hier_file:-root}.ds" ||
		    bed_die "dnssec-dsfromkey $hier_name failed"
	done <"$HIER_KEYS/zones"
	cp "$HIER_KEYS/root.ds" "$HIER_ANCHOR"
}

# hier_sign ZONE FILE: sign FILE (zone ZONE) with its key from hier_keys
# into FILE.signed (NSEC, signatures valid from an hour ago for 30 days);
# then bogus.test's address is changed under its signature.
hier_sign() {
	dnssec-signzone -q -S -z -K "$HIER_KEYS" -d "$HIER_KEYS" -O full -o "$1" \
	    -f "$2.signed.tmp" "$2" >/dev/null ||
	    bed_die "dnssec-signzone $1 failed"
	awk '$1 == "bogus.test." && $4 == "A" { $5 = "203.0.113.98" } { print }' \
	    "$2.signed.tmp" >"$2.signed"
	rm -f "$2.signed.tmp"
}

# hier_nsd_start DIR ROLE N: one NSD instance serving ROLE's zones, signed,
# on server N's addresses, in the foreground, everything under DIR/ROLE.
hier_nsd_start() {
	hier_dir=$1/$2
	mkdir -p "$hier_dir"
	{
		printf 'server:\n'
		printf '\tip-address: %s\n' "$(hier_addr "$3" 4)" "$(hier_addr "$3" 6)"
		printf '\tport: 53\n\tserver-count: 1\n\tverbosity: 1\n'
		printf '\tusername: ""\n\tchroot: ""\n\tdatabase: ""\n'
		printf '\tzonesdir: "%s"\n' "$hier_dir"
		printf '\tpidfile: "%s/nsd.pid"\n' "$hier_dir"
		printf '\txfrdfile: "%s/xfrd.state"\n' "$hier_dir"
		printf '\tzonelistfile: "%s/zone.list"\n' "$hier_dir"
		printf '\txfrdir: "%s"\n' "$hier_dir"
		printf 'remote-control:\n\tcontrol-enable: no\n'
	} >"$hier_dir/nsd.conf"
	hier_zones "$2" >"$hier_dir/zones"
	while read -r hier_name hier_writer; do
		hier_file=${hier_name%.}
		hier_file=${hier_file:-root}.zone
		# shellcheck disable=SC2086
		$hier_writer >"$hier_dir/$hier_file"
		hier_sign "$hier_name" "$hier_dir/$hier_file"
		printf 'zone:\n\tname: "%s"\n\tzonefile: "%s.signed"\n' \
		    "$hier_name" "$hier_file" >>"$hier_dir/nsd.conf"
	done <"$hier_dir/zones"
	bed_spawn "$BED_NS_NET" "$hier_dir/nsd.log" nsd -d -c "$hier_dir/nsd.conf"
	bed_wait_dns "$BED_LAST_PID" "$BED_NS_NET" \
	    "$(hier_addr "$3" 4)" "$(hier_addr "$3" 6)" ||
	    bed_die "nsd ($2) did not start: $(tail -n 5 "$hier_dir/nsd.log")"
}

# hier_truncate_start DIR: truncator.py on HIER_TRUNCATOR_PORT of servers
# HIER_TC (authoritative) and HIER_RECURSOR_TC (recursive), and the nat rules
# of the internet namespace that send UDP for port 53 of those addresses to
# it (TCP still reaches the servers themselves).
hier_truncate_start() {
	bed_spawn "$BED_NS_NET" "$1/truncator.log" python3 "$ACC_DIR/truncator.py" \
	    --port "$HIER_TRUNCATOR_PORT" \
	    --recursive "$(hier_addr "$HIER_RECURSOR_TC" 4)" \
	    --recursive "$(hier_addr "$HIER_RECURSOR_TC" 6)" \
	    "$(hier_addr "$HIER_TC" 4)" "$(hier_addr "$HIER_TC" 6)"
	bed_wait_until 50 grep -qs 'listening' "$1/truncator.log" ||
	    bed_die "truncator.py did not start: $(tail -n 5 "$1/truncator.log")"
	for hier_n in "$HIER_TC" "$HIER_RECURSOR_TC"; do
		ip netns exec "$BED_NS_NET" iptables -t nat -A PREROUTING -p udp \
		    -d "$(hier_addr "$hier_n" 4)" --dport 53 -j DNAT \
		    --to-destination "$(hier_addr "$hier_n" 4):$HIER_TRUNCATOR_PORT" ||
		    bed_die "cannot load the truncating nat rule (IPv4)"
		ip netns exec "$BED_NS_NET" ip6tables -t nat -A PREROUTING -p udp \
		    -d "$(hier_addr "$hier_n" 6)" --dport 53 -j DNAT \
		    --to-destination "[$(hier_addr "$hier_n" 6)]:$HIER_TRUNCATOR_PORT" ||
		    bed_die "cannot load the truncating nat rule (IPv6)"
	done
}

# hier_start DIR: the zones' keys, every authoritative server (signed zones),
# the internet's recursive unbound (iterator only, root hints at the bed's
# root; also on HIER_RECURSOR_TC's addresses) and the truncating responder.
hier_start() {
	mkdir -p "$1"
	hier_keys "$1"
	hier_root_hints "$1/root.hints"
	for hier_s in $HIER_SERVERS; do
		hier_nsd_start "$1" "${hier_s%:*}" "${hier_s#*:}"
	done
	mkdir -p "$1/recursor"
	cp "$1/root.hints" "$1/recursor/root.hints"
	hier_recursor4=$(hier_addr "$HIER_RECURSOR" 4)
	hier_recursor6=$(hier_addr "$HIER_RECURSOR" 6)
	hier_recursor_tc4=$(hier_addr "$HIER_RECURSOR_TC" 4)
	hier_recursor_tc6=$(hier_addr "$HIER_RECURSOR_TC" 6)
	unbound_conf "$1/recursor" "$hier_recursor4" "$hier_recursor6" \
	    "$hier_recursor_tc4" "$hier_recursor_tc6" >"$1/recursor/unbound.conf"
	bed_spawn "$BED_NS_NET" "$1/recursor/unbound.log" \
	    unbound -d -p -c "$1/recursor/unbound.conf"
	bed_wait_dns "$BED_LAST_PID" "$BED_NS_NET" "$hier_recursor4" "$hier_recursor6" \
	    "$hier_recursor_tc4" "$hier_recursor_tc6" ||
	    bed_die "internet unbound did not start: $(tail -n 5 "$1/recursor/unbound.log")"
	hier_truncate_start "$1"
}
