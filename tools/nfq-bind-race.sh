#!/bin/sh
# tools/nfq-bind-race.sh [BINDS]: measures the kernel's own drop at a
# queue's bind (dnsmark(8), LIMITS). In a network namespace of its own, two
# senders send UDP to 192.0.2.1 port 9 as fast as they can; an iptables
# rule hands each to queue 60 with --queue-bypass, and an nftables counter
# after it counts those that pass. Meanwhile tools/nfq-bind-race.c binds
# and releases the queue BINDS times (20000), each bind as dnsmark makes
# it, fail-open with length 0: no packet is ever queued, so the two counts
# differ only by the packets the kernel dropped because they came between
# the queue's creation and its copy mode. Needs root, cc, libmnl-dev,
# libnetfilter-queue-dev, python3, iptables and nft.
set -eu
BINDS=${1:-20000}
DIR=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d /tmp/nfq-bind-race.XXXXXX)
NS=nfqbindrace$$
PIDS=
cleanup() {
	for pid in $PIDS; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
# handed: the packets the NFQUEUE rule took so far.
handed() {
	ip netns exec "$NS" iptables-save -c -t mangle |
	    sed -n 's/^\[\([0-9]*\):.*NFQUEUE.*/\1/p'
}
# shellcheck disable=SC2046 # pkg-config's flags are several words
cc -O2 -Wall -o "$TMP/nfq-bind-race" "$DIR/nfq-bind-race.c" \
    $(pkg-config --cflags --libs libmnl libnetfilter_queue)
cat >"$TMP/send.py" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    for _ in range(1000):
        s.sendto(b"x", ("192.0.2.1", 9))
PY
ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" addr add 192.0.2.1/32 dev lo
ip netns exec "$NS" iptables -t mangle -A OUTPUT -p udp --dport 9 \
    -j NFQUEUE --queue-num 60 --queue-bypass
ip netns exec "$NS" nft -f - <<'NFT'
table inet count {
	chain output {
		type filter hook output priority 0; policy accept;
		udp dport 9 counter
	}
}
NFT
for _ in 1 2; do
	ip netns exec "$NS" python3 "$TMP/send.py" 600 &
	PIDS="$PIDS $!"
done
sleep 0.5
before=$(handed)
start=$(date +%s.%N)
ip netns exec "$NS" "$TMP/nfq-bind-race" 60 "$BINDS"
end=$(date +%s.%N)
after=$(handed)
for pid in $PIDS; do
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
done
PIDS=
total=$(handed)
passed=$(ip netns exec "$NS" nft list table inet count |
    sed -n 's/.*packets \([0-9]*\).*/\1/p')
awk -v b="$BINDS" -v s="$start" -v e="$end" -v n="$((after - before))" \
    -v h="$total" -v p="$passed" 'BEGIN {
	t = e - s
	printf "%d binds in %.2f s while %.0f packets/s went to the queue\n", b, t, n / t
	printf "handed to the queue %d, passed %d, dropped by the kernel %d\n", h, p, h - p
}'
