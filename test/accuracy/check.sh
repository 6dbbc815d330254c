#!/bin/bash
# test/accuracy/check.sh: the accuracy scenario as `make check` runs it, on
# unbound recursive, dnsmasq forwarding and BIND 9 recursive. It fails when
# phase A (one client at a time, cold cache) marks less than 99.5 % of the
# upstream packets correctly or any with another client's mark, and, for
# dnsmasq and BIND (one upstream TCP connection per query), when phase B
# (four clients at once) gives more than 0.1 % of the client-owned packets
# another client's mark. unbound shares upstream TCP connections among
# clients, and a connection carries its SYN's mark: its phase B is reported,
# not enforced, like every phase B's share of correct marks (concurrent
# truncated answers leave the TCP retries unmarked). doc/accuracy.md has
# the whole table; `make accuracy` runs all six resolvers.
dir=$(dirname "$0")
status=0
bash "$dir/accuracy.sh" --resolver unbound-recursive \
    --min-correct-a 99.5 --max-wrong-a 0 || status=$?
[ "$status" -eq 0 ] || [ "$status" -eq 1 ] || exit "$status"
bash "$dir/accuracy.sh" --resolver dnsmasq,bind \
    --min-correct-a 99.5 --max-wrong-a 0 --max-wrong-b 0.1 || status=$?
exit "$status"
