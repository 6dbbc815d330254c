#!/bin/sh
# test/systemd/guest.sh: the systemd lane's scenario, run as a unit in the
# guest that test/systemd/run.sh boots (systemd is PID 1, the network is
# the guest's own and has no device to the outside). The guest is the
# gateway: marked clients in a namespace of their own, an upstream server
# in another, unbound and dnsmasq as their Debian units on the gateway,
# dnsmark installed as an operator installs it and run only as its shipped
# units, with the shipped rules:
#   bpf      dnsmark-bpf@unbound: a dynamic user left with CAP_NET_ADMIN
#            alone once attached; marks; follows a restart of unbound;
#            stopped under load with nothing dropped;
#   queue    dnsmark.service: the same for unbound and dnsmasq;
#   observe  dnsmark.service with --mode observe from /etc/default/dnsmark;
# then the journal must hold no error, and systemd-analyze security gives
# each unit's exposure. Prints "lane: result: pass|fail|skip" last.

PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
LC_ALL=C
export LC_ALL

LANE_FAILS=0
LANE_T0=$(date +%s)
# The clients (address=mark), as the operator's rules mark them.
LANE_CLIENTS="192.0.2.10=1 192.0.2.11=2 192.0.2.12=3"
LANE_UNBOUND=192.0.2.1
LANE_DNSMASQ=192.0.2.2
LANE_UPSTREAM=198.51.100.53
LANE_ANSWER=198.51.100.80
# CAP_NET_ADMIN (12) alone, and with CAP_PERFMON (38) and CAP_BPF (39), as
# /proc shows them (the bpf unit's bounding set).
LANE_CAP_NET_ADMIN=0000000000001000
LANE_CAP_NET_ADMIN_BPF=000000c000001000

say() {
	printf 'lane: %4d s %s\n' "$(($(date +%s) - LANE_T0))" "$*"
}

ok() {
	say "ok: $*"
}

fail() {
	say "FAIL: $*"
	LANE_FAILS=$((LANE_FAILS + 1))
}

finish() {
	say "took $(($(date +%s) - LANE_T0)) s"
	say "result: $1"
	case $1 in
	pass) exit 0 ;;
	skip) exit 0 ;;
	*) exit 1 ;;
	esac
}

# lane_skip_or_fail REASON: a guest that lacks something fails in CI.
lane_skip_or_fail() {
	say "cannot run: $*"
	if [ "${CI:-}" = true ]; then
		finish fail
	fi
	finish skip
}

# lane_wait SECONDS COMMAND...: run COMMAND every 0.2 s until it succeeds.
lane_wait() {
	lane_deadline=$(($(date +%s) + $1))
	shift
	while ! "$@"; do
		[ "$(date +%s)" -lt "$lane_deadline" ] || return 1
		sleep 0.2
	done
}

lane_boot() {
	lane_state=$(systemctl is-system-running --wait 2>&1)
	say "systemd $(systemctl --version | sed -n '1s/^systemd //p'), kernel $(uname -r), system $lane_state after $(cut -d' ' -f1 /proc/uptime) s"
	if [ "$lane_state" != running ]; then
		systemctl --failed --no-pager --no-legend | sed 's/^/    /'
		fail "the guest booted $lane_state"
	fi
}

# lane_install: dnsmark as the operator installs it: the package when
# run.sh brought one, else what make install put in place.
lane_install() {
	lane_deb=$(ls /opt/lane/*.deb 2>/dev/null | head -n 1)
	if [ -n "$lane_deb" ]; then
		if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		    --no-install-recommends "$lane_deb" >/tmp/apt.log 2>&1; then
			sed 's/^/    /' /tmp/apt.log
			fail "apt-get install $lane_deb"
			finish fail
		fi
	fi
	systemctl daemon-reload
	say "dnsmark by $LANE_INSTALLED: $(command -v dnsmark) ($(dnsmark --version 2>&1 | head -n 1))"
	LANE_RULES=
	for d in /usr/share/dnsmark/rules /usr/local/share/dnsmark/rules; do
		[ -r "$d/bpf-v4.rules" ] && LANE_RULES=$d && break
	done
	[ -n "$LANE_RULES" ] || { fail "no rules installed"; finish fail; }
	for unit in dnsmark.service dnsmark-bpf@.service; do
		systemctl cat "$unit" >/dev/null 2>&1 || { fail "no $unit installed"; finish fail; }
	done
	[ -r /etc/default/dnsmark ] || fail "no /etc/default/dnsmark installed"
	for unit in dnsmark.service dnsmark-bpf@.service; do
		[ "$(systemctl is-enabled "$unit" 2>/dev/null)" != enabled ] ||
		    fail "$unit is enabled by the installation (it needs the rules first)"
	done
}

# lane_net: clients 192.0.2.10-12 in namespace cl, the upstream server in
# namespace up, the guest's own namespace the gateway between them.
lane_net() {
	ip netns add cl && ip netns add up &&
	    ip link add gwc0 type veth peer name cl0 netns cl &&
	    ip link add gwu0 type veth peer name up0 netns up &&
	    ip addr add "$LANE_UNBOUND/24" dev gwc0 &&
	    ip addr add "$LANE_DNSMASQ/24" dev gwc0 &&
	    ip addr add 198.51.100.1/24 dev gwu0 &&
	    ip link set gwc0 up && ip link set gwu0 up &&
	    ip -n up addr add "$LANE_UPSTREAM/24" dev up0 &&
	    ip -n up link set up0 up && ip -n up link set lo up &&
	    ip -n cl link set cl0 up && ip -n cl link set lo up ||
	    { fail "cannot build the network"; finish fail; }
	for c in $LANE_CLIENTS; do
		ip -n cl addr add "${c%=*}/24" dev cl0 || { fail "address ${c%=*}"; finish fail; }
	done
	# The upstream server: answers every name under lane.example. with
	# one address (not under test.: unbound answers that itself).
	ip netns exec up dnsmasq -C /dev/null -k --no-resolv --no-hosts \
	    --bind-interfaces --listen-address="$LANE_UPSTREAM" \
	    --address=/lane.example/"$LANE_ANSWER" --pid-file= --cache-size=0 &
	LANE_UPSTREAM_PID=$!
}

# lane_resolvers: unbound forwards everything to the upstream server (no
# validation: the test names are not signed), dnsmasq too; each on its own
# gateway address. Configured as an operator does, started by systemd later.
lane_resolvers() {
	rm -f /etc/unbound/unbound.conf.d/root-auto-trust-anchor-file.conf
	printf 'ROOT_TRUST_ANCHOR_UPDATE=false\n' >>/etc/default/unbound
	cat >/etc/unbound/unbound.conf.d/lane.conf <<-EOF
	server:
	    interface: $LANE_UNBOUND
	    access-control: 192.0.2.0/24 allow
	    do-ip6: no
	    num-threads: 1
	    module-config: "iterator"
	forward-zone:
	    name: "."
	    forward-addr: $LANE_UPSTREAM
	EOF
	cat >/etc/dnsmasq.d/lane.conf <<-EOF
	listen-address=$LANE_DNSMASQ
	bind-interfaces
	no-resolv
	no-hosts
	server=$LANE_UPSTREAM
	EOF
}

# lane_user_rules: the operator's own marking rules, README's example: the
# client's mark by its address, kept on its connection.
lane_user_rules() {
	iptables -t mangle -A PREROUTING -j CONNMARK --restore-mark
	for c in $LANE_CLIENTS; do
		iptables -t mangle -A PREROUTING -m mark --mark 0 -s "${c%=*}" \
		    -j MARK --set-mark "${c#*=}"
	done
	iptables -t mangle -A PREROUTING -j CONNMARK --save-mark
}

# lane_counters: packet counters around dnsmark's rules, before every hook
# it queues in and after: whatever its queue drops shows as a difference.
lane_counters() {
	nft -f - <<-EOF
	table inet lane {
		counter client_pre { }
		counter client_in { }
		counter response_pre { }
		counter response_in { }
		counter upstream_out { }
		counter upstream_post { }
		chain pre {
			type filter hook prerouting priority -300; policy accept;
			iifname "gwc0" udp dport 53 counter name client_pre
			iifname "gwu0" udp sport 53 counter name response_pre
		}
		chain in {
			type filter hook input priority 300; policy accept;
			iifname "gwc0" udp dport 53 counter name client_in
			iifname "gwu0" udp sport 53 counter name response_in
		}
		chain out {
			type filter hook output priority -300; policy accept;
			oifname "gwu0" udp dport 53 counter name upstream_out
		}
		chain post {
			type filter hook postrouting priority 300; policy accept;
			oifname "gwu0" udp dport 53 counter name upstream_post
		}
	}
	EOF
}

lane_counter() {
	nft list counter inet lane "$1" | awk '$1 == "packets" { print $2 }'
}

# lane_rules LOAD|REMOVE FILE-PREFIX: the shipped rules, v4 and v6, loaded
# as they ship, or removed as their comments say.
lane_rules() {
	if [ "$1" = load ]; then
		iptables-restore --noflush <"$LANE_RULES/$2-v4.rules" &&
		    ip6tables-restore --noflush <"$LANE_RULES/$2-v6.rules" ||
		    { fail "cannot load $2-v4.rules, $2-v6.rules"; return 1; }
		return 0
	fi
	for t in iptables ip6tables; do
		$t -t mangle -S | sed -n 's/^-A \(.*-j DNSMARK_[A-Z]*\)$/-D \1/p' |
		    while read -r rule; do
			# shellcheck disable=SC2086 # a rule's words
			$t -t mangle $rule
		done
		for chain in DNSMARK_IN DNSMARK_OUT DNSMARK_POST DNSMARK_FAST \
		    DNSMARK_HIT DNSMARK_BYTE0 DNSMARK_BYTE1 DNSMARK_BYTE2 \
		    DNSMARK_BYTE3 DNSMARK_UNDO0 DNSMARK_UNDO1 DNSMARK_UNDO2 \
		    DNSMARK_UNDO3; do
			$t -t mangle -F "$chain" 2>/dev/null &&
			    $t -t mangle -X "$chain"
		done
	done
}

lane_pid() {
	systemctl show -p MainPID --value "$1"
}

lane_status_field() {
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

# lane_attached UNIT: the bpf unit's process is down to CAP_NET_ADMIN.
lane_attached() {
	lane_p=$(lane_pid "$1")
	[ "${lane_p:-0}" -gt 0 ] &&
	    [ "$(lane_status_field "$lane_p" CapPrm)" = "$LANE_CAP_NET_ADMIN" ]
}

# lane_creds UNIT BOUNDING AMBIENT: the unit's process runs as a dynamic
# user (UIDs 61184-65519) with CAP_NET_ADMIN alone effective and permitted,
# the bounding and ambient sets given, no_new_privs and a seccomp filter.
lane_creds() {
	lane_p=$(lane_pid "$1")
	if [ "${lane_p:-0}" -le 0 ]; then
		fail "$1 has no process"
		return
	fi
	lane_uid=$(lane_status_field "$lane_p" Uid)
	lane_user=$(ps -o user= -p "$lane_p")
	lane_eff=$(lane_status_field "$lane_p" CapEff)
	lane_prm=$(lane_status_field "$lane_p" CapPrm)
	lane_inh=$(lane_status_field "$lane_p" CapInh)
	lane_amb=$(lane_status_field "$lane_p" CapAmb)
	lane_bnd=$(lane_status_field "$lane_p" CapBnd)
	lane_nnp=$(lane_status_field "$lane_p" NoNewPrivs)
	lane_sec=$(lane_status_field "$lane_p" Seccomp)
	say "$1: pid $lane_p user $lane_user uid $lane_uid CapEff $lane_eff CapPrm $lane_prm CapInh $lane_inh CapAmb $lane_amb CapBnd $lane_bnd NoNewPrivs $lane_nnp Seccomp $lane_sec"
	if [ "$lane_uid" -ge 61184 ] && [ "$lane_uid" -le 65519 ] &&
	    [ "$lane_eff" = "$LANE_CAP_NET_ADMIN" ] &&
	    [ "$lane_prm" = "$LANE_CAP_NET_ADMIN" ] &&
	    [ "$lane_bnd" = "$2" ] && [ "$lane_amb" = "$3" ] &&
	    [ "$lane_nnp" = 1 ] && [ "$lane_sec" = 2 ]; then
		ok "$1 runs as dynamic user $lane_uid with CAP_NET_ADMIN alone"
	else
		fail "$1: credentials not as expected (bounding $2, ambient $3)"
	fi
}

# lane_flush_flows: no upstream flow left in the conntrack table. One
# conntrack -D can leave entries when the table changes during its dump
# (hundreds of flows after a load run), and a resolver may still be
# talking upstream a moment after the phase before it (under TCG a
# moment is long): delete until none is listed, for up to 10 s, and show
# what stayed when some did (CI once saw 5 tries in 1 s fail, then the
# check itself pass).
lane_flush_flows() {
	for try in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		conntrack -D -p udp -d "$LANE_UPSTREAM" >/dev/null 2>&1
		[ "$(conntrack -L -p udp -d "$LANE_UPSTREAM" 2>/dev/null | grep -c 'dport=53')" -eq 0 ] &&
		    return 0
		sleep 0.5
	done
	conntrack -L -p udp -d "$LANE_UPSTREAM" 2>/dev/null | sed 's/^/    left: /'
	return 1
}

# lane_marks LABEL SERVER: each client in turn asks SERVER 4 new names;
# every upstream flow its questions open must carry its mark (conntrack).
lane_marks() {
	lane_bad=0
	for c in $LANE_CLIENTS; do
		addr=${c%=*}
		mark=${c#*=}
		lane_flush_flows || fail "$1: the upstream flows of earlier queries stay in the conntrack table"
		for i in 1 2 3 4; do
			answer=$(ip netns exec cl dig @"$2" -b "$addr" +tries=1 \
			    +time=5 +short "$1-$i.m$mark.lane.example" A 2>&1)
			[ "$answer" = "$LANE_ANSWER" ] || {
				fail "$1: $addr asked $2 for $1-$i.m$mark.lane.example: '$answer'"
				lane_bad=1
			}
		done
		flows=$(conntrack -L -p udp -d "$LANE_UPSTREAM" --dport 53 2>/dev/null)
		total=$(printf '%s\n' "$flows" | grep -c 'dport=53')
		marked=$(printf '%s\n' "$flows" | grep -c " mark=$mark ")
		if [ "$total" -eq 0 ] || [ "$marked" -ne "$total" ]; then
			fail "$1: client $addr (mark $mark) via $2: $marked of $total upstream flows marked $mark"
			printf '%s\n' "$flows" | sed 's/^/    /'
			lane_bad=1
		fi
	done
	[ "$lane_bad" -ne 0 ] ||
	    ok "$1: every client's upstream flows via $2 carry its mark"
}

# lane_drain UNIT SERVER: dnsperf asks SERVER new names at a steady rate;
# UNIT is stopped in the middle. Nothing may be dropped: around every hook
# dnsmark queues in, the packets before equal the packets after.
lane_drain() {
	lane_names=/tmp/names-$1
	i=0
	while [ "$i" -lt 2000 ]; do
		printf 'load-%s.n%d.lane.example A\n' "$1" "$i"
		i=$((i + 1))
	done >"$lane_names"
	ip netns exec cl dnsperf -s "$2" -a 192.0.2.10 -d "$lane_names" \
	    -l 8 -Q 100 -t 4 >/tmp/dnsperf-$1.log 2>&1 &
	lane_perf=$!
	sleep 4
	lane_queue=$(awk '$1 == 53' /proc/net/netfilter/nfnetlink_queue)
	lane_kernel=$(lane_fast_accepted)
	lane_t=$(date +%s.%N)
	systemctl stop "$1"
	lane_stop=$(awk -v t="$lane_t" -v n="$(date +%s.%N)" 'BEGIN { printf "%.2f", n - t }')
	wait "$lane_perf"
	sleep 3
	say "$1: stopped in $lane_stop s under load; queue 53 before the stop (queue waiting dropped user_dropped id): $(echo "$lane_queue" | awk '{ print $3, $6, $7, $8 }')"
	say "$1: dnsperf $(grep -E 'Queries (sent|completed|lost)' /tmp/dnsperf-$1.log | tr -s ' \n' ' ')"
	journalctl -u "$1" -o cat --no-pager | grep -E 'drained|counters' | tail -n 2 | sed 's/^/    /'
	lane_drop=0
	for pair in client_pre:client_in response_pre:response_in upstream_out:upstream_post; do
		before=$(lane_counter "${pair%:*}")
		after=$(lane_counter "${pair#*:}")
		say "$1: ${pair%:*} $before, ${pair#*:} $after"
		[ "$before" = "$after" ] || lane_drop=1
	done
	lane_unit=$1
	# shellcheck disable=SC2086 # the queue's fields
	set -- $lane_queue
	# The bpf unit's kernel fast path may mark every query itself: then
	# none went through the queue, and stopping dnsmark cannot drop one.
	if [ "$(lane_counter upstream_post)" -eq 0 ] ||
	    { [ "${8:-0}" -eq 0 ] && [ "${lane_kernel:-0}" -eq 0 ]; }; then
		fail "$lane_unit: no upstream query went through the queue or the kernel fast path"
	elif [ "$lane_drop" -eq 0 ] && [ "$6" = 0 ] && [ "$7" = 0 ]; then
		ok "$lane_unit stopped under load: nothing dropped (queue ids ${8:-0}, kernel-marked ${lane_kernel:-0} before the stop)"
	else
		fail "$lane_unit stopped under load: packets dropped"
	fi
}

lane_no_errors() {
	lane_err=$(journalctl -b -p err --no-pager -o short-monotonic 2>&1 | grep -v '^-- ')
	if [ -z "$lane_err" ]; then
		ok "journalctl -p err: nothing"
	else
		printf '%s\n' "$lane_err" | sed 's/^/    /'
		fail "journalctl -p err is not empty"
	fi
	lane_failed=$(systemctl --failed --no-legend --plain --no-pager)
	[ -z "$lane_failed" ] || { printf '%s\n' "$lane_failed" | sed 's/^/    /'; fail "failed units"; }
}

lane_security() {
	for unit in dnsmark.service dnsmark-bpf@unbound.service unbound.service dnsmasq.service; do
		say "systemd-analyze security $unit: $(systemd-analyze security --no-pager "$unit" 2>&1 | sed -n 's/^.*Overall exposure level for [^:]*: *//p')"
	done
}

# lane_log UNIT: what dnsmark logged (start, counters at exit).
lane_log() {
	journalctl -u "$1" -o cat --no-pager | grep -v '^$' | tail -n "${2:-12}" | sed 's/^/    /'
}

# lane_fast_accepted: upstream queries the kernel fast path's verify rule
# accepted so far (IPv4).
lane_fast_accepted() {
	iptables -t mangle -L DNSMARK_HIT -v -n -x 2>/dev/null |
	    awk '/verify/ && /ACCEPT/ { n += $1 } END { print n + 0 }'
}

# lane_fast LABEL BEFORE: the unit pinned the fast path, loaded its rules
# once ready, and the kernel marked queries itself since BEFORE (a count
# of lane_fast_accepted); the marks themselves lane_marks checked.
lane_fast() {
	# The unit binds /sys/fs/bpf/dnsmark (the rules' directory) where
	# its dynamic user can reach it: the pins are there.
	if ! journalctl -u dnsmark-bpf@unbound -o cat --no-pager |
	    grep -q 'fast path: programs and maps pinned in' ||
	    [ ! -e /sys/fs/bpf/dnsmark/classify ]; then
		fail "$1: dnsmark-bpf@unbound did not pin the fast path"
		lane_log dnsmark-bpf@unbound.service 20
		return
	fi
	lane_now=$(lane_fast_accepted)
	if [ "$lane_now" -gt "$2" ]; then
		ok "$1: the kernel marked $((lane_now - $2)) upstream queries itself (the unit loaded bpf-fast-v4.rules once dnsmark was ready)"
	else
		fail "$1: the kernel marked no upstream query ($lane_now accepted by the fast path's rules)"
		iptables -t mangle -S DNSMARK_FAST | sed 's/^/    /'
		lane_log dnsmark-bpf@unbound.service 20
	fi
}

lane_phase_bpf() {
	say "---- bpf: dnsmark-bpf@unbound ----"
	lane_rules load bpf || return
	# Started, not enabled: enabling a resolver runs its SysV script
	# (a minute under TCG) and changes nothing here.
	systemctl start unbound || { fail "unbound does not start"; return; }
	if ! systemctl enable --now dnsmark-bpf@unbound; then
		fail "dnsmark-bpf@unbound does not start"
		lane_log dnsmark-bpf@unbound.service
		return
	fi
	if ! lane_wait 30 lane_attached dnsmark-bpf@unbound; then
		fail "dnsmark-bpf@unbound never attached"
		lane_log dnsmark-bpf@unbound.service
		return
	fi
	lane_creds dnsmark-bpf@unbound "$LANE_CAP_NET_ADMIN_BPF" 0000000000000000
	lane_fast_before=$(lane_fast_accepted)
	lane_marks bpf "$LANE_UNBOUND"
	lane_fast bpf "$lane_fast_before"

	lane_old=$(lane_pid dnsmark-bpf@unbound)
	systemctl restart unbound
	if lane_wait 30 lane_attached dnsmark-bpf@unbound &&
	    [ "$(lane_pid dnsmark-bpf@unbound)" != "$lane_old" ]; then
		ok "systemctl restart unbound restarted dnsmark-bpf@unbound (pid $lane_old, now $(lane_pid dnsmark-bpf@unbound)), attached again"
	else
		fail "dnsmark-bpf@unbound did not follow unbound's restart"
	fi
	lane_marks bpf-restarted "$LANE_UNBOUND"
	if journalctl -u dnsmark-bpf@unbound -o cat --no-pager |
	    grep -q "earlier dnsmark's maps and programs kept"; then
		ok "bpf-restarted: dnsmark kept the pinned programs and maps of the one before"
	else
		fail "bpf-restarted: dnsmark did not keep the pinned programs and maps"
	fi
	# A restarted dnsmark trusts nothing in the kept map for a timeout.
	sleep 6
	lane_fast_before=$(lane_fast_accepted)
	lane_marks bpf-restarted-later "$LANE_UNBOUND"
	lane_fast bpf-restarted-later "$lane_fast_before"
	lane_drain dnsmark-bpf@unbound "$LANE_UNBOUND"
	lane_log dnsmark-bpf@unbound.service 6
	lane_rules remove bpf
}

lane_phase_queue() {
	say "---- queue: dnsmark.service ----"
	lane_rules load iptables || return
	systemctl start dnsmasq || { fail "dnsmasq does not start"; return; }
	if ! systemctl enable --now dnsmark; then
		fail "dnsmark.service does not start"
		lane_log dnsmark.service
		return
	fi
	lane_wait 10 sh -c 'journalctl -u dnsmark -o cat | grep -q "bound"' || true
	lane_creds dnsmark.service "$LANE_CAP_NET_ADMIN" "$LANE_CAP_NET_ADMIN"
	lane_marks queue-unbound "$LANE_UNBOUND"
	lane_marks queue-dnsmasq "$LANE_DNSMASQ"
	systemctl restart dnsmasq
	lane_marks queue-dnsmasq-restarted "$LANE_DNSMASQ"
	lane_drain dnsmark.service "$LANE_DNSMASQ"
	lane_log dnsmark.service 6
	lane_rules remove iptables
}

lane_phase_observe() {
	say "---- observe: dnsmark.service, DNSMARK_OPTS=\"--mode observe\" ----"
	lane_rules load observe || return
	sed -i 's/^DNSMARK_OPTS=.*/DNSMARK_OPTS="--mode observe"/' /etc/default/dnsmark
	grep -q '^DNSMARK_OPTS="--mode observe"' /etc/default/dnsmark ||
	    { fail "no DNSMARK_OPTS line in /etc/default/dnsmark"; return; }
	if ! systemctl start dnsmark; then
		fail "dnsmark.service does not start in observe mode"
		lane_log dnsmark.service
		return
	fi
	lane_creds dnsmark.service "$LANE_CAP_NET_ADMIN" "$LANE_CAP_NET_ADMIN"
	lane_marks observe-unbound "$LANE_UNBOUND"
	lane_marks observe-dnsmasq "$LANE_DNSMASQ"
	if journalctl -u dnsmark -o cat | grep -q 'flush marker seen'; then
		ok "observe mode: the flush marker came back through the unit's IP filter"
	else
		fail "observe mode: the flush marker never came back"
	fi
	lane_drain dnsmark.service "$LANE_UNBOUND"
	lane_log dnsmark.service 6
	lane_rules remove observe
}

. /opt/lane/env 2>/dev/null
lane_boot
for tool in dig dnsperf conntrack iptables-restore nft unbound dnsmasq; do
	command -v "$tool" >/dev/null 2>&1 || lane_skip_or_fail "no $tool in the guest's root"
done
lane_install
lane_net
lane_resolvers
lane_user_rules
lane_counters
lane_phase_bpf
lane_phase_queue
lane_phase_observe
lane_security
lane_no_errors
kill "$LANE_UPSTREAM_PID" 2>/dev/null
[ "$LANE_FAILS" -eq 0 ] && finish pass
say "$LANE_FAILS checks failed"
finish fail
