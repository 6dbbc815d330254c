#!/usr/bin/env python3
"""Phase C of the accuracy tool: real traffic from many marked clients.

"zone ZONE" prints a zone file of the phase's design, "owners" the names
each client owns, "addresses" the client address plan, "run" plays the
traffic from the client namespace and logs every query it sends with its
send and answer times (the ground truth of who waited for what, and when).
The design (names, TTLs, CNAMEs, delegations) lives here only: the scorer
(traffic_score.py) reads the same tables to know which names lead to which.
The load generator only talks to the resolver under test; it never decides
what is correct.
"""

import argparse
import heapq
import ipaddress
import math
import random
import selectors
import socket
import struct
import sys
import time

# Client K (1..N) of phase C: its mark, its IPv6 address (every client has
# one) and, for K up to IPV4_CLIENTS, an IPv4 address. Odd clients with an
# IPv4 address ask over IPv4, the others over IPv6. The addresses live on
# the client namespace's loopback and the gateway routes them to it, so
# that a thousand clients need one neighbour entry, not a thousand.
MARK_BASE = 100
IPV4_NET = "192.0.2.128/25"
IPV4_CLIENTS = 126
IPV6_NET = "2001:db8:3::/64"

# Servers in the internet namespace (hierarchy.sh's addresses): pop.test
# on N=9, popcdn.test (and the delegated vid.pop.test) on N=10, own.test
# and owncdn.test on N=11.
SERVER_POP, SERVER_CDN, SERVER_OWN = 9, 10, 11
POPULAR = 40
BIG_AAAA = 60
NEGATIVE_TTL = 5


def server_addr(n, family):
    return f"2001:db8:53::{n:x}" if family == 6 else f"203.0.113.{n}"


def client_mark(k):
    return MARK_BASE + k


def client_family(k):
    return 4 if k % 2 == 1 and k <= IPV4_CLIENTS else 6


def client_addr(k, family):
    if family == 4:
        return str(ipaddress.ip_network(IPV4_NET)[k])
    return str(ipaddress.ip_network(IPV6_NET)[k])


def ttl_of(i):
    """A short TTL, 2..20 s, different from one name to the next."""
    return 2 + (i * 7) % 19


def popular_kind(i):
    """What popular name i is: how the resolver has to reach its answer."""
    if i == 8:
        return "big"            # AAAA RRset too large for UDP: TC, TCP
    if i % 11 == 4:
        return "nxdomain"
    if i % 5 == 0:
        return "cname"          # CNAME into popcdn.test
    if i % 7 == 2:
        return "ent"            # a.eI.pop.test, eI.pop.test empty
    if i % 13 == 6:
        return "delegated"      # in vid.pop.test, NS in popcdn.test
    return "plain"


def popular_name(i):
    kind = popular_kind(i)
    if kind == "big":
        return "big.pop.test"
    if kind == "nxdomain":
        return f"nx{i}.pop.test"
    if kind == "ent":
        return f"a.e{i}.pop.test"
    if kind == "delegated":
        return f"s{i}.vid.pop.test"
    return f"s{i}.pop.test"


def popular_rcode(i):
    return "NXDOMAIN" if popular_kind(i) == "nxdomain" else "NOERROR"


def addresses(name, ttl, seed):
    return [f"{name}\t{ttl}\tA\t198.51.100.{100 + seed % 100}",
            f"{name}\t{ttl}\tAAAA\t2001:db8:cafe::{seed:x}",
            f'{name}\t{ttl}\tHTTPS\t1 . alpn="h2,h3"']


def soa(origin, primary):
    return [f"$ORIGIN {origin}", "$TTL 3600",
            f"@\tSOA\t{primary} hostmaster.test. 1 3600 900 604800 {NEGATIVE_TTL}"]


def zone_pop():
    lines = soa("pop.test.", "ns")
    lines += ["@\t10\tNS\tns", f"ns\tA\t{server_addr(SERVER_POP, 4)}",
              f"ns\tAAAA\t{server_addr(SERVER_POP, 6)}",
              "vid\tNS\tns.vid.popcdn.test."]
    for i in range(1, POPULAR + 1):
        kind, name, ttl = popular_kind(i), popular_name(i) + ".", ttl_of(i)
        if kind == "big":
            lines += [f"{name}\t{ttl}\tA\t198.51.100.99"]
            lines += [f"{name}\t{ttl}\tAAAA\t2001:db8:b16::{j:x}"
                      for j in range(1, BIG_AAAA + 1)]
        elif kind == "cname":
            lines.append(f"{name}\t{ttl}\tCNAME\ts{i}.edge.popcdn.test.")
        elif kind in ("plain", "ent"):
            lines += addresses(name, ttl, i)
    return lines


def zone_vid():
    lines = soa("vid.pop.test.", "ns.vid.popcdn.test.")
    lines.append("@\t10\tNS\tns.vid.popcdn.test.")
    for i in range(1, POPULAR + 1):
        if popular_kind(i) == "delegated":
            lines += addresses(popular_name(i) + ".", ttl_of(i), i)
    return lines


def zone_popcdn():
    lines = soa("popcdn.test.", "ns")
    lines += ["@\t10\tNS\tns", f"ns\tA\t{server_addr(SERVER_CDN, 4)}",
              f"ns\tAAAA\t{server_addr(SERVER_CDN, 6)}",
              f"ns.vid\t10\tA\t{server_addr(SERVER_CDN, 4)}",
              f"ns.vid\t10\tAAAA\t{server_addr(SERVER_CDN, 6)}"]
    for i in range(1, POPULAR + 1):
        if popular_kind(i) == "cname":
            lines += addresses(f"s{i}.edge", ttl_of(i + 3), i)
    return lines


def own_ttl(k):
    return 3 + k % 17


def zone_own(clients):
    lines = soa("own.test.", "ns")
    lines += ["@\tNS\tns", f"ns\tA\t{server_addr(SERVER_OWN, 4)}",
              f"ns\tAAAA\t{server_addr(SERVER_OWN, 6)}"]
    for k in range(1, clients + 1):
        ttl, base = own_ttl(k), f"c{k}"
        lines += addresses(f"*.{base}", ttl, k)
        lines.append(f"www.{base}\t{ttl}\tCNAME\twww.{base}.owncdn.test.")
        lines.append(f'gone.{base}\t{ttl}\tTXT\t"names below are NXDOMAIN"')
        if k % 4 == 0:
            lines.append(f"big.{base}\t{ttl}\tA\t198.51.100.98")
            lines += [f"big.{base}\t{ttl}\tAAAA\t2001:db8:b17::{j:x}"
                      for j in range(1, BIG_AAAA + 1)]
    return lines


def zone_owncdn(clients):
    lines = soa("owncdn.test.", "ns.own.test.")
    lines.append("@\tNS\tns.own.test.")
    for k in range(1, clients + 1):
        lines += addresses(f"www.c{k}", own_ttl(k + 5), k)
    return lines


def zone_text(zone, clients):
    writers = {"pop.test": zone_pop, "vid.pop.test": zone_vid,
               "popcdn.test": zone_popcdn,
               "own.test": lambda: zone_own(clients),
               "owncdn.test": lambda: zone_owncdn(clients)}
    return "\n".join(writers[zone.rstrip(".")]()) + "\n"


# What the resolver may have to ask to answer a name: the zones on the way
# (their apex and name servers), CNAME targets. Used by the scorer.
ZONE_SERVERS = {".": ["a.root.test."], "test.": ["a.tld.test."],
                "pop.test.": ["ns.pop.test."],
                "vid.pop.test.": ["ns.vid.popcdn.test."],
                "popcdn.test.": ["ns.popcdn.test."],
                "own.test.": ["ns.own.test."], "owncdn.test.": ["ns.own.test."]}


def ancestors(name):
    """NAME (with its final dot) and every ancestor up to the root."""
    labels = name.rstrip(".").split(".") if name != "." else []
    out = [".".join(labels[i:]) + "." for i in range(len(labels))]
    return out + ["."]


def cname_target(name):
    """The CNAME target of NAME in the design, or None."""
    labels = name.rstrip(".").split(".")
    if name.endswith(".pop.test.") and labels[0].startswith("s") and len(labels) == 3:
        i = labels[0][1:]
        if i.isdigit() and popular_kind(int(i)) == "cname":
            return f"s{i}.edge.popcdn.test."
    if len(labels) == 4 and labels[0] == "www" and name.endswith(".own.test."):
        return f"www.{labels[1]}.owncdn.test."
    return None


def leads_to(name):
    """Every name a resolver may ask upstream to answer NAME: its
    ancestors, its CNAME chain's, and the name servers of each zone on the
    way (and their ancestors and servers)."""
    seen, todo = set(), [name.lower()]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for ancestor in ancestors(current):
            if ancestor not in seen:
                todo.append(ancestor)
            for server in ZONE_SERVERS.get(ancestor, []):
                todo.append(server)
        target = cname_target(current)
        if target:
            todo.append(target)
    return seen


def owners(clients):
    for k in range(1, clients + 1):
        yield f"c{k}.own.test", client_mark(k)
        yield f"c{k}.owncdn.test", client_mark(k)


# --- the load generator ---------------------------------------------------

QTYPES = {"A": 1, "AAAA": 28, "HTTPS": 65}
EDNS_SIZE = 1232
LOOKUP_TIMEOUT = 4.0


def dns_query(qid, name, qtype):
    header = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 1)
    wire = b"".join(bytes([len(label)]) + label.encode()
                    for label in name.rstrip(".").split(".")) + b"\0"
    opt = b"\0" + struct.pack(">HHIH", 41, EDNS_SIZE, 0, 0)
    return header + wire + struct.pack(">HH", QTYPES[qtype], 1) + opt


RCODES = {0: "NOERROR", 2: "SERVFAIL", 3: "NXDOMAIN", 5: "REFUSED"}

# The kernel's receive time of each datagram or segment (Linux
# SO_TIMESTAMPNS, which Python 3.11 does not name; 35 on x86 and arm): an
# answer counts from the moment it reached the client, not from when this
# one loop for every client read it. Under load (100 clients, 100 queries a
# second) the loop read answers milliseconds late, and the scorer counted a
# client answered before an upstream query as still waiting for it.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
TIMESPEC = struct.Struct("=qq")


def stamped(sock):
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    return sock


def receive(sock, size):
    """(data, time the kernel received it); the time now without one."""
    data, ancdata, _, _ = sock.recvmsg(size, socket.CMSG_SPACE(TIMESPEC.size))
    for level, kind, payload in ancdata:
        if (level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS
                and len(payload) >= TIMESPEC.size):
            sec, nsec = TIMESPEC.unpack_from(payload)
            return data, sec + nsec / 1e9
    return data, time.time()


class Query:
    __slots__ = ("lookup", "qtype", "qid", "sent", "answered", "rcode",
                 "answers", "proto", "truncated")

    def __init__(self, lookup, qtype, qid, proto):
        self.lookup, self.qtype, self.qid, self.proto = lookup, qtype, qid, proto
        self.sent = self.answered = None
        self.rcode, self.answers, self.truncated = "none", 0, 0


class Lookup:
    __slots__ = ("serial", "client", "name", "expect", "kind", "queries",
                 "deadline")

    def __init__(self, serial, client, name, expect, kind):
        self.serial, self.client, self.name = serial, client, name
        self.expect, self.kind, self.queries = expect, kind, []
        self.deadline = None


class Player:
    """Plays the schedule: every lookup sends A, AAAA and HTTPS at once
    (UDP from one socket, or TCP on one connection), waits for the answers,
    re-asks over TCP an answer that came back truncated, and logs."""

    def __init__(self, args, log):
        self.args, self.log = args, log
        self.sel = selectors.DefaultSelector()
        self.inflight = 0
        self.ids = random.Random(args.seed + 1)

    def server(self, k):
        return self.args.server6 if client_family(k) == 6 else self.args.server4

    def start(self, lookup, tcp):
        k = lookup.client
        family = client_family(k)
        af = socket.AF_INET6 if family == 6 else socket.AF_INET
        lookup.deadline = time.time() + LOOKUP_TIMEOUT
        self.inflight += 1
        queries = [Query(lookup, t, self.ids.randrange(65536), "tcp" if tcp else "udp")
                   for t in ("A", "AAAA", "HTTPS")]
        lookup.queries = queries
        if tcp:
            self.open_tcp(lookup, queries, af, family)
            return
        sock = stamped(socket.socket(af, socket.SOCK_DGRAM))
        sock.setblocking(False)
        sock.bind((client_addr(k, family), 0))
        sock.connect((self.server(k), 53))
        for query in queries:
            query.sent = time.time()
            try:
                sock.send(dns_query(query.qid, lookup.name, query.qtype))
            except OSError:
                pass
        self.sel.register(sock, selectors.EVENT_READ, ("udp", lookup, queries))

    def open_tcp(self, lookup, queries, af, family):
        sock = stamped(socket.socket(af, socket.SOCK_STREAM))
        sock.setblocking(False)
        sock.bind((client_addr(lookup.client, family), 0))
        try:
            sock.connect((self.server(lookup.client), 53))
        except BlockingIOError:
            pass
        state = {"lookup": lookup, "queries": queries, "buf": b"", "sent": False}
        self.sel.register(sock, selectors.EVENT_WRITE, ("tcp", lookup, state))

    def on_udp(self, sock, lookup, queries):
        try:
            data, when = receive(sock, 65535)
        except OSError:
            return
        query = self.match(queries, data, when)
        if query is None:
            return
        if query.truncated:
            # As a stub does: the same question again over TCP.
            retry = Query(lookup, query.qtype, self.ids.randrange(65536), "tcp")
            lookup.queries.append(retry)
            k = lookup.client
            family = client_family(k)
            af = socket.AF_INET6 if family == 6 else socket.AF_INET
            self.open_tcp(lookup, [retry], af, family)
        if all(q.answered for q in queries):
            self.sel.unregister(sock)
            sock.close()
            self.maybe_done(lookup)

    def on_tcp(self, sock, mask, lookup, state):
        if mask & selectors.EVENT_WRITE and not state["sent"]:
            if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                self.sel.unregister(sock)
                sock.close()
                for query in state["queries"]:
                    query.answered = query.answered or -1.0
                self.maybe_done(lookup)
                return
            wire = b""
            now = time.time()
            for query in state["queries"]:
                message = dns_query(query.qid, lookup.name, query.qtype)
                wire += struct.pack(">H", len(message)) + message
                query.sent = now
            try:
                sock.sendall(wire)
            except OSError:
                pass
            state["sent"] = True
            self.sel.modify(sock, selectors.EVENT_READ, ("tcp", lookup, state))
            return
        try:
            data, when = receive(sock, 65535)
        except OSError:
            data = b""
        if not data:
            self.sel.unregister(sock)
            sock.close()
            for query in state["queries"]:
                query.answered = query.answered or -1.0
            self.maybe_done(lookup)
            return
        state["buf"] += data
        buf = state["buf"]
        while len(buf) >= 2 and len(buf) >= 2 + struct.unpack(">H", buf[:2])[0]:
            size = struct.unpack(">H", buf[:2])[0]
            self.match(state["queries"], buf[2:2 + size], when)
            buf = buf[2 + size:]
        state["buf"] = buf
        if all(q.answered for q in state["queries"]):
            self.sel.unregister(sock)
            sock.close()
            self.maybe_done(lookup)

    @staticmethod
    def match(queries, data, when):
        if len(data) < 12:
            return None
        qid, flags, _, ancount = struct.unpack(">HHHH", data[:8])
        for query in queries:
            if query.qid == qid and query.answered is None:
                query.answered = when
                query.rcode = RCODES.get(flags & 0x0F, f"RCODE{flags & 0x0F}")
                query.answers = ancount
                query.truncated = (flags >> 9) & 1
                return query
        return None

    def maybe_done(self, lookup):
        if lookup.deadline is None or not all(q.answered for q in lookup.queries):
            return
        self.finish(lookup)

    def finish(self, lookup):
        lookup.deadline = None
        self.inflight -= 1
        mark = client_mark(lookup.client)
        for q in lookup.queries:
            answered = q.answered if q.answered and q.answered > 0 else 0.0
            ok = "ok"
            if q.truncated:
                ok = "tc"
            elif not answered or q.rcode != lookup.expect:
                ok = "FAIL"
            elif lookup.expect == "NOERROR" and q.answers == 0 and q.qtype == "A":
                ok = "FAIL"
            self.log.write(f"{lookup.serial} {lookup.client} {mark} {lookup.kind} "
                           f"{lookup.name}. {q.qtype} {q.proto} {q.sent or 0:.6f} "
                           f"{answered:.6f} {q.rcode} {q.answers} {ok}\n")

    def expire(self, now):
        """Gives up on lookups past their deadline, and closes the sockets
        of finished ones (a UDP socket whose answer was retried over TCP)."""
        for key in list(self.sel.get_map().values()):
            lookup = key.data[1]
            if lookup.deadline is not None and now <= lookup.deadline:
                continue
            self.sel.unregister(key.fileobj)
            key.fileobj.close()
            if lookup.deadline is not None:
                self.finish(lookup)

    def poll(self, timeout):
        for key, mask in self.sel.select(timeout):
            kind, lookup, extra = key.data
            if lookup.deadline is None:
                self.sel.unregister(key.fileobj)
                key.fileobj.close()
                continue
            if kind == "udp":
                self.on_udp(key.fileobj, lookup, extra)
            else:
                self.on_tcp(key.fileobj, mask, lookup, extra)
        self.expire(time.time())


def zipf_weights(n, s):
    return [1.0 / math.pow(i, s) for i in range(1, n + 1)]


def schedule(args):
    """The lookups of the run, (time offset, client, name, expected rcode,
    kind, tcp), from a seeded random generator: Poisson arrivals at
    args.rate, about args.shared of them to popular names (Zipf), some of
    those joined within 300 ms by other clients asking the same name; the
    others to the client's own names, repeated or new."""
    rng = random.Random(args.seed)
    weights = zipf_weights(POPULAR, args.zipf)
    own_seen = {k: [] for k in range(1, args.clients + 1)}
    new_serial = {k: 0 for k in range(1, args.clients + 1)}
    events, t = [], 0.0
    while True:
        t += rng.expovariate(args.rate)
        if t >= args.duration:
            break
        k = rng.randint(1, args.clients)
        tcp = rng.random() < args.tcp
        if rng.random() < args.shared:
            i = rng.choices(range(1, POPULAR + 1), weights)[0]
            name, rcode = popular_name(i), popular_rcode(i)
            events.append((t, k, name, rcode, "shared", tcp))
            if rng.random() < args.burst:
                for _ in range(rng.randint(1, 3)):
                    other = rng.randint(1, args.clients)
                    events.append((t + rng.uniform(0, 0.3), other, name, rcode,
                                   "shared", rng.random() < args.tcp))
            continue
        if own_seen[k] and rng.random() < 0.5:
            name, rcode = rng.choice(own_seen[k])
            events.append((t, k, name, rcode, "own", tcp))
            continue
        new_serial[k] += 1
        n, pick = new_serial[k], rng.random()
        if pick < 0.1:
            name, rcode = f"www.c{k}.own.test", "NOERROR"
        elif pick < 0.2:
            name, rcode = f"x{n}.gone.c{k}.own.test", "NXDOMAIN"
        elif pick < 0.3 and k % 4 == 0:
            name, rcode = f"big.c{k}.own.test", "NOERROR"
        else:
            name, rcode = f"n{n}.c{k}.own.test", "NOERROR"
        own_seen[k].append((name, rcode))
        events.append((t, k, name, rcode, "own", tcp))
    events.sort()
    return events


def run(args):
    events = schedule(args)
    with open(args.out, "w") as log:
        player = Player(args, log)
        begin = time.time()
        log.write(f"# start {begin:.6f} clients {args.clients} lookups {len(events)}\n")
        serial = 0
        for offset, k, name, rcode, kind, tcp in events:
            while True:
                now = time.time()
                wait = begin + offset - now
                if wait <= 0:
                    break
                player.poll(min(wait, 0.05))
            if player.inflight >= args.max_inflight:
                continue
            serial += 1
            player.start(Lookup(serial, k, name, rcode, kind), tcp)
        end_by = time.time() + LOOKUP_TIMEOUT + 1
        while player.inflight and time.time() < end_by:
            player.poll(0.05)
        log.write(f"# end {time.time():.6f}\n")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    zone = commands.add_parser("zone", help="print a zone file of the design")
    zone.add_argument("zone")
    zone.add_argument("--clients", type=int, required=True)
    own = commands.add_parser("owners", help='"suffix mark" lines')
    own.add_argument("--clients", type=int, required=True)
    plan = commands.add_parser("addresses", help='"K mark family address" lines')
    plan.add_argument("--clients", type=int, required=True)
    play = commands.add_parser("run", help="play the traffic, log the queries")
    play.add_argument("--clients", type=int, required=True)
    play.add_argument("--server4", required=True)
    play.add_argument("--server6", required=True)
    play.add_argument("--duration", type=float, required=True, help="seconds")
    play.add_argument("--rate", type=float, required=True, help="lookups per second")
    play.add_argument("--shared", type=float, default=0.5)
    play.add_argument("--burst", type=float, default=0.3)
    play.add_argument("--tcp", type=float, default=0.05)
    play.add_argument("--zipf", type=float, default=1.1)
    play.add_argument("--seed", type=int, default=1)
    play.add_argument("--max-inflight", type=int, default=4000)
    play.add_argument("--out", required=True)
    args = parser.parse_args()
    if args.command == "zone":
        sys.stdout.write(zone_text(args.zone, args.clients))
    elif args.command == "owners":
        for suffix, mark in owners(args.clients):
            print(suffix, mark)
    elif args.command == "addresses":
        for k in range(1, args.clients + 1):
            print(k, client_mark(k), client_family(k),
                  client_addr(k, 6), client_addr(k, 4) if k <= IPV4_CLIENTS else "-")
    else:
        return run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
