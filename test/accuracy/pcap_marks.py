#!/usr/bin/env python3
"""Scores the marks on a resolver's upstream DNS packets (accuracy tool).

"analyse" reads one resolver's capture (tcpdump of NFLOG copies, DLT_NFLOG)
with the phase windows, the name-ownership map and the lookup results, and
writes that resolver's rows as JSON; "report" prints the table of every
resolver's rows and checks the targets. It only reads files: the ground
truth for "correct" is the bed's design (who looked up what, when), never
dnsmark's own opinion.
"""

import argparse
import bisect
import collections
import json
import socket
import struct
import sys

LINKTYPE_NFLOG = 239
# nfulnl_attr_type in <linux/netfilter/nfnetlink_log.h>. In the capture each
# TLV's length and type are in the byte order of the host that wrote it, the
# values in network byte order; the length counts the 4-byte TLV header and
# the next TLV starts at the next 4-byte boundary.
NFULA_MARK = 2
NFULA_TIMESTAMP = 3
NFULA_PAYLOAD = 9
NLA_TYPE_MASK = 0x3FFF

DNS_PORT = 53
# A TCP handshake belongs to the queries the resolver wrote on the new
# connection within this many seconds of the first one (Knot Resolver opens
# one for several clients' questions at once): with several clients among
# them, it is scored like a shared name.
OPENING_BURST = 0.020
DNS_TYPES = {
    1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT",
    28: "AAAA", 33: "SRV", 41: "OPT", 43: "DS", 46: "RRSIG", 47: "NSEC",
    48: "DNSKEY", 50: "NSEC3", 64: "SVCB", 65: "HTTPS", 255: "ANY",
}
TCP_FLAGS = ((0x02, "SYN"), (0x10, "ACK"), (0x01, "FIN"), (0x04, "RST"),
             (0x08, "PSH"))
MISSED_LINES = 30


def pcap_records(path):
    """Yield (timestamp, byte order, record) for each record of a pcap file."""
    with open(path, "rb") as capture:
        data = capture.read()
    if len(data) < 24:
        return
    magic = data[:4]
    orders = {b"\xd4\xc3\xb2\xa1": ("<", 1e6), b"\xa1\xb2\xc3\xd4": (">", 1e6),
              b"\x4d\x3c\xb2\xa1": ("<", 1e9), b"\xa1\xb2\x3c\x4d": (">", 1e9)}
    if magic not in orders:
        raise ValueError(f"{path}: not a pcap file")
    order, frac = orders[magic]
    linktype = struct.unpack(order + "I", data[20:24])[0] & 0x0FFFFFFF
    if linktype != LINKTYPE_NFLOG:
        raise ValueError(f"{path}: link type {linktype}, not NFLOG")
    pos = 24
    while pos + 16 <= len(data):
        sec, sub, caplen, _ = struct.unpack(order + "IIII", data[pos:pos + 16])
        pos += 16
        if pos + caplen > len(data):
            break
        yield sec + sub / frac, order, data[pos:pos + caplen]
        pos += caplen


def nflog_fields(record, order):
    """Return (mark, timestamp or None, IP packet or None) of an NFLOG record."""
    mark, stamp, payload = 0, None, None
    pos = 4
    while pos + 4 <= len(record):
        length, kind = struct.unpack(order + "HH", record[pos:pos + 4])
        if length < 4:
            break
        value = record[pos + 4:pos + length]
        kind &= NLA_TYPE_MASK
        if kind == NFULA_MARK and len(value) >= 4:
            mark = struct.unpack(">I", value[:4])[0]
        elif kind == NFULA_TIMESTAMP and len(value) >= 16:
            sec, usec = struct.unpack(">QQ", value[:16])
            stamp = sec + usec / 1e6
        elif kind == NFULA_PAYLOAD:
            payload = value
        pos += (length + 3) & ~3
    return mark, stamp, payload


def ip_transport(packet):
    """Return (family, proto, src, dst, transport bytes) or None."""
    if not packet:
        return None
    version = packet[0] >> 4
    if version == 4 and len(packet) >= 20:
        header = (packet[0] & 0x0F) * 4
        total = struct.unpack(">H", packet[2:4])[0]
        if struct.unpack(">H", packet[6:8])[0] & 0x1FFF:
            return None  # a later fragment: no transport header
        return (4, packet[9], socket.inet_ntop(socket.AF_INET, packet[12:16]),
                socket.inet_ntop(socket.AF_INET, packet[16:20]),
                packet[header:total])
    if version == 6 and len(packet) >= 40:
        proto, pos = packet[6], 40
        while proto in (0, 43, 44, 60) and pos + 8 <= len(packet):
            if proto == 44 and struct.unpack(">H", packet[pos + 2:pos + 4])[0] & 0xFFF8:
                return None
            proto, pos = packet[pos], pos + (8 if proto == 44 else (packet[pos + 1] + 1) * 8)
        return (6, proto, socket.inet_ntop(socket.AF_INET6, packet[8:24]),
                socket.inet_ntop(socket.AF_INET6, packet[24:40]), packet[pos:])
    return None


def dns_question(message):
    """Return (lower-case name with final dot, type name) of a DNS message's
    first question, or None when it has none or it does not parse."""
    if len(message) < 12 or struct.unpack(">H", message[4:6])[0] < 1:
        return None
    labels, pos = [], 12
    while True:
        if pos >= len(message):
            return None
        size = message[pos]
        if size == 0:
            pos += 1
            break
        if size & 0xC0 or pos + 1 + size > len(message):
            return None
        labels.append(message[pos + 1:pos + 1 + size].lower().decode("ascii", "backslashreplace"))
        pos += 1 + size
    if pos + 4 > len(message):
        return None
    qtype = struct.unpack(">H", message[pos:pos + 2])[0]
    return ".".join(labels) + ".", DNS_TYPES.get(qtype, f"TYPE{qtype}")


class Flow:
    """One TCP connection to an upstream server: its byte stream rebuilt from
    the captured segments and the DNS messages cut from it."""

    def __init__(self):
        self.base = None
        self.chunks = []
        self.starts = []
        self.messages = []

    def add(self, seq, data):
        if self.base is None:
            self.base = seq
        offset = (seq - self.base) & 0xFFFFFFFF
        self.chunks.append((offset, data))
        return offset

    def cut(self):
        stream = bytearray()
        for offset, data in sorted(self.chunks, key=lambda c: c[0]):
            if offset > len(stream):
                stream.extend(bytes(offset - len(stream)))
            stream[offset:offset + len(data)] = data
        pos = 0
        while pos + 2 <= len(stream):
            size = struct.unpack(">H", stream[pos:pos + 2])[0]
            self.starts.append(pos)
            self.messages.append(dns_question(bytes(stream[pos + 2:pos + 2 + size])))
            pos += 2 + size

    def question_at(self, offset):
        i = bisect.bisect_right(self.starts, offset) - 1
        return (self.messages[i], self.starts[i] == offset) if i >= 0 else (None, False)


def upstream_packets(path):
    """Read the capture: the upstream packets (to port 53) as dicts, in
    capture order, each with its question (TCP: from its connection), and
    the timestamps of UDP responses with TC set."""
    packets, truncated, flows = [], [], {}
    for stamp, order, record in pcap_records(path):
        mark, nflog_stamp, payload = nflog_fields(record, order)
        parsed = ip_transport(payload)
        if parsed is None:
            continue
        family, proto, src, dst, transport = parsed
        when = nflog_stamp or stamp
        if proto == 17 and len(transport) >= 8:
            sport, dport = struct.unpack(">HH", transport[:4])
            message = transport[8:]
            if sport == DNS_PORT and len(message) >= 4 and message[2] & 0x02:
                truncated.append(when)
            if dport != DNS_PORT:
                continue
            packets.append({"time": when, "mark": mark, "proto": f"udp{family}",
                            "question": dns_question(message), "what": "query"})
        elif proto == 6 and len(transport) >= 20:
            sport, dport, seq = struct.unpack(">HHI", transport[:8])
            if dport != DNS_PORT:
                continue
            flags = transport[13]
            data = transport[(transport[12] >> 4) * 4:]
            key = (src, sport, dst, dport)
            # A SYN after data on the same 4-tuple opens a new connection.
            if key not in flows or (flags & 0x02 and flows[key].chunks):
                flows[key] = Flow()
            flow = flows[key]
            if flags & 0x02:
                flow.base = (seq + 1) & 0xFFFFFFFF
            packet = {"time": when, "mark": mark, "proto": f"tcp{family}",
                      "flow": flow, "offset": None,
                      "what": ",".join(n for b, n in TCP_FLAGS if flags & b)}
            if data:
                packet["offset"] = flow.add(seq, data)
            packets.append(packet)
    for flow in set(p["flow"] for p in packets if "flow" in p):
        flow.cut()
    tcp_question_of_segments(packets)
    return packets, truncated


def tcp_question_of_segments(packets):
    """Give every TCP segment a question: a segment with data that of the
    message it carries; a segment without (SYN, ACK, FIN) that of the
    nearest query on its connection, the last one before it, else the first
    after ("via connection")."""
    by_flow = collections.defaultdict(list)
    for packet in packets:
        if "flow" not in packet:
            continue
        if packet["offset"] is not None:
            question, starts = packet["flow"].question_at(packet["offset"])
            packet["question"] = question
            if starts:
                packet["what"] = "query"
            if question:
                by_flow[id(packet["flow"])].append((packet["time"], question))
    for packet in packets:
        if "flow" not in packet or packet["offset"] is not None:
            continue
        queries = by_flow.get(id(packet["flow"]), [])
        before = [q for t, q in queries if t <= packet["time"]]
        after = [(t, q) for t, q in queries if t > packet["time"]]
        packet["question"] = before[-1] if before else (after[0][1] if after else None)
        packet["via"] = True
        if not before and after:
            # The handshake: the connection was opened for the queries
            # the resolver wrote on it at once.
            packet["opening"] = [q for t, q in after
                                 if t - after[0][0] <= OPENING_BURST]


def owner_of(name, owners):
    """The mark that owns NAME (longest suffix on label boundaries), or None."""
    labels = name.rstrip(".").split(".")
    for i in range(len(labels)):
        mark = owners.get(".".join(labels[i:]))
        if mark is not None:
            return mark
    return None


def describe(packet):
    """A missed packet's line: protocol, question, segment kind."""
    question = packet.get("question")
    name, qtype = question if question else ("-", "-")
    what = packet["what"]
    if packet.get("via"):
        what += ", via connection"
    return f"{packet['proto']:<5} {name} {qtype} [{what}]"


KINDS = ("exact", "ancestor", "other-name", "tcp-no-query")


def kind_of(packet, asked):
    """Why a packet is hard to attribute, in the terms of DESIGN.md's
    evidence: its question is one a client asked (exact), an ancestor of one
    (QNAME minimisation), another name (CNAME target, name server name, or
    their ancestors: learned from responses), or it is a TCP segment that
    carries no query."""
    if packet.get("via") or not packet.get("question"):
        return "tcp-no-query"
    name, qtype = packet["question"]
    if (name, qtype) in asked:
        return "exact"
    bare = name[2:] if name.startswith("_.") else name
    for client_name, _ in asked:
        if client_name == bare or client_name.endswith("." + bare) or bare == ".":
            return "ancestor"
    return "other-name"


def new_row(phase):
    return {"phase": phase, "packets": 0, "correct": 0, "wrong": 0,
            "unmarked": 0, "shared": 0, "shared_marked": 0, "tc": 0,
            "tcp_queries": 0, "lookups_ok": 0, "lookups": 0,
            "missed": collections.Counter(),
            "missed_kinds": collections.Counter()}


def analyse(args):
    owners = {}
    with open(args.owners) as source:
        for line in source:
            suffix, mark = line.split()
            owners[suffix.lower().rstrip(".")] = int(mark)
    windows = []
    with open(args.windows) as source:
        for line in source:
            label, start, end, want = line.split()
            windows.append((label, float(start), float(end),
                            None if want == "-" else int(want)))
    rows = {"A": new_row("A"), "B": new_row("B")}

    def window_of(when):
        for label, start, end, want in windows:
            if start <= when <= end:
                return label, want
        return None, None

    asked = set()
    with open(args.lookups) as source:
        for line in source:
            fields = line.split()
            row = rows[fields[0][0]]
            row["lookups"] += 1
            row["lookups_ok"] += fields[-1] == "ok"
            asked.add((fields[2].lower().rstrip(".") + ".", fields[3].upper()))

    packets, truncated = upstream_packets(args.pcap)
    outside, outside_marked = collections.Counter(), 0
    for when in truncated:
        label, _ = window_of(when)
        if label:
            rows[label[0]]["tc"] += 1
    for packet in packets:
        label, want = window_of(packet["time"])
        if label is None:
            outside[describe(packet) + f" mark {packet['mark']}"] += 1
            outside_marked += packet["mark"] != 0
            continue
        row = rows[label[0]]
        if packet["proto"].startswith("tcp") and packet["what"] == "query":
            row["tcp_queries"] += 1
        if want is None:
            question = packet.get("question")
            want = owner_of(question[0], owners) if question else None
            # A handshake of a connection opened for several clients'
            # queries at once: no mark is right, and any of theirs is
            # plausible (as for a shared name); another mark is wrong.
            opened_for = set(owner_of(q[0], owners) for q in packet.get("opening", []))
            several = len(opened_for) > 1 and (packet["mark"] == 0 or
                                               packet["mark"] in opened_for)
            if want is None or several:
                row["shared"] += 1
                row["shared_marked"] += packet["mark"] != 0
                continue
        row["packets"] += 1
        if packet["mark"] == want:
            row["correct"] += 1
            continue
        row["unmarked" if packet["mark"] == 0 else "wrong"] += 1
        row["missed"][f"{describe(packet)} mark {packet['mark']} want {want}"] += 1
        row["missed_kinds"][kind_of(packet, asked)] += 1

    result = {"resolver": args.resolver, "rows": [],
              "outside": sum(outside.values()), "outside_marked": outside_marked,
              "outside_list": outside.most_common()}
    for phase in ("A", "B"):
        row = rows[phase]
        row["missed"] = row["missed"].most_common()
        row["missed_kinds"] = dict(row["missed_kinds"])
        result["rows"].append(row)
    with open(args.out, "w") as sink:
        json.dump(result, sink, indent=1)
    return 0


def percent(part, whole):
    return 100.0 * part / whole if whole else 0.0


def print_list(title, entries, indent="    "):
    print(title)
    for text, count in entries[:MISSED_LINES]:
        print(f"{indent}{count:4d}x {text}")
    rest = sum(count for _, count in entries[MISSED_LINES:])
    if rest:
        print(f"{indent}... and {rest} more packets "
              f"({len(entries) - MISSED_LINES} more lines)")


def report(args):
    results = []
    for path in args.results:
        with open(path) as source:
            results.append(json.load(source))
    targets = {"A": (args.min_correct_a, args.max_wrong_a),
               "B": (args.min_correct_b, args.max_wrong_b)}
    header = (f"{'resolver':<18} {'phase':<5} {'lookups':>7} {'packets':>7} "
              f"{'correct':>7} {'wrong':>5} {'unmarked':>8} {'%correct':>8} "
              f"{'%wrong':>6} {'tc':>3} {'tcpq':>4} {'shared(marked)':>14}")
    print(header)
    print("-" * len(header))
    failures = []
    for result in results:
        for row in result["rows"]:
            name = result["resolver"]
            correct = percent(row["correct"], row["packets"])
            wrong = percent(row["wrong"], row["packets"])
            shared = (f"{row['shared']}({row['shared_marked']})"
                      if row["phase"] == "B" else "-")
            print(f"{name:<18} {row['phase']:<5} "
                  f"{row['lookups_ok']:>3}/{row['lookups']:<3} {row['packets']:>7} "
                  f"{row['correct']:>7} {row['wrong']:>5} {row['unmarked']:>8} "
                  f"{correct:>8.1f} {wrong:>6.1f} {row['tc']:>3} "
                  f"{row['tcp_queries']:>4} {shared:>14}")
            where = f"{name} phase {row['phase']}"
            if row["lookups_ok"] != row["lookups"] or row["lookups"] == 0:
                failures.append(f"BED: {where}: {row['lookups'] - row['lookups_ok']} "
                                f"of {row['lookups']} lookups failed")
            if row["packets"] == 0:
                failures.append(f"BED: {where}: no upstream packet seen")
            if row["tc"] == 0 or row["tcp_queries"] == 0:
                print(f"  warning: {where}: no truncated answer or no TCP query "
                      "upstream: the TCP path was not exercised", file=sys.stderr)
            least, most = targets[row["phase"]]
            if least is not None and correct < least:
                failures.append(f"TARGET: {where}: {correct:.2f}% correct < {least}%")
            if most is not None and wrong > most:
                failures.append(f"TARGET: {where}: {wrong:.2f}% wrong > {most}%")
    print()
    print("tc: truncated UDP answers from upstream; tcpq: queries sent upstream over"
          " TCP; phase B counts client-owned packets, shared(marked) the others:"
          " shared names, and the handshakes of connections opened for several"
          " clients' queries at once (unmarked or one of theirs).")
    print("Missed packets by kind: exact (the client's own question), ancestor (of"
          " one: minimisation), other-name (CNAME targets, name server names),"
          " tcp-no-query (SYN, ACK, FIN).")
    for result in results:
        for row in result["rows"]:
            if row["missed"]:
                kinds = ", ".join(f"{kind} {row['missed_kinds'].get(kind, 0)}"
                                  for kind in KINDS)
                print()
                print_list(f"{result['resolver']} phase {row['phase']}: missed "
                           f"({kinds}); proto name type [segment] mark seen, "
                           "expected:", row["missed"])
        if result["outside"]:
            print()
            print_list(f"{result['resolver']}: {result['outside']} upstream packets "
                       f"outside every phase window, {result['outside_marked']} of "
                       "them marked (no client caused them; not scored)",
                       result["outside_list"])
    if failures:
        print()
        for failure in failures:
            print(failure)
        return 1
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("analyse", help="score one resolver's capture")
    one.add_argument("--resolver", required=True)
    one.add_argument("--pcap", required=True)
    one.add_argument("--windows", required=True,
                     help='"label start end mark|-" lines (label A<k> or B)')
    one.add_argument("--owners", required=True, help='"suffix mark" lines')
    one.add_argument("--lookups", required=True,
                     help="one line per lookup, label first, ok or FAIL last")
    one.add_argument("--out", required=True, help="JSON result")
    table = commands.add_parser("report", help="print the table, check targets")
    table.add_argument("results", nargs="+")
    for phase in ("a", "b"):
        table.add_argument(f"--min-correct-{phase}", type=float)
        table.add_argument(f"--max-wrong-{phase}", type=float)
    args = parser.parse_args()
    return analyse(args) if args.command == "analyse" else report(args)


if __name__ == "__main__":
    sys.exit(main())
