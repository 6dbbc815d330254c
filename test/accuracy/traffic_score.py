#!/usr/bin/env python3
"""Scores phase C of the accuracy tool (real traffic) from the capture.

"analyse" reads one resolver's NFLOG capture of upstream DNS packets (the
same capture and reader as pcap_marks.py) and the load generator's query
log (traffic.py run: who asked what, when it was sent, when answered), and
writes that resolver's row as JSON; "report" prints the table of every
resolver's rows and checks the targets. Ground truth is the log and the
design of the zones (traffic.py), never dnsmark's own opinion:

- a name under a client's own subtree (cK.own.test, cK.owncdn.test) is
  that client's: its mark is correct, another non-zero mark wrong;
- any other (shared) name X: a mark is plausible when a client with that
  mark sent, within the window before the message, a lookup whose answer
  can lead the resolver to ask X (the name itself, a name below it, the
  CNAME target of the name asked, a name server of a zone on the way);
  any other mark is implausible. Counted apart: the messages where only
  one mark asked within the window, and those where exactly one mark was
  waiting (sent such a lookup and had not had all its answers yet), and how
  many of those left unmarked.
"""

import argparse
import bisect
import collections
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcap_marks  # noqa: E402
import traffic  # noqa: E402

MISSED_LINES = 20
# dnsmark's counters shown in the table and checked by --max-evicted-c.
EVICTION_COUNTERS = ("evidence_evicted", "pending_evicted")
COUNTERS_SHOWN = EVICTION_COUNTERS + ("socket_drops", "bpf_ring_lost",
                                      "syn_causes_overflow", "attrib_single",
                                      "attrib_recent")


def read_queries(path):
    """The generator's log: lookups by serial, each with its client's mark,
    name, kind (own or shared), first send time, last answer time (the
    deadline when one never came), and whether it got the answers it
    should."""
    lookups = {}
    with open(path) as source:
        for line in source:
            if line.startswith("#"):
                continue
            (serial, _, mark, kind, name, _, proto, sent, answered, _, _,
             verdict) = line.split()
            sent, answered = float(sent), float(answered)
            if not answered:
                answered = sent + traffic.LOOKUP_TIMEOUT
            entry = lookups.setdefault(serial, {
                "mark": int(mark), "kind": kind, "name": name.lower(),
                "sent": sent, "done": answered, "ok": True, "tcp": False})
            entry["sent"] = min(entry["sent"], sent)
            entry["done"] = max(entry["done"], answered)
            entry["ok"] = entry["ok"] and verdict in ("ok", "tc")
            entry["tcp"] = entry["tcp"] or proto == "tcp"
            entry["queries"] = entry.get("queries", 0) + 1
    return list(lookups.values())


class Askers:
    """Which marks asked (or were waiting for) a name, by time: every
    lookup filed under every name it can lead the resolver to ask."""

    def __init__(self, lookups):
        leads = {}
        by_name = collections.defaultdict(list)
        for lookup in lookups:
            name = lookup["name"]
            if name not in leads:
                leads[name] = traffic.leads_to(name)
            for related in leads[name]:
                by_name[related].append((lookup["sent"], lookup["done"], lookup["mark"]))
        self.by_name = {}
        for name, entries in by_name.items():
            entries.sort()
            self.by_name[name] = ([e[0] for e in entries], entries)

    def at(self, name, when, window):
        """(marks that asked NAME in [when - window, when], marks waiting
        for it at WHEN)."""
        if name not in self.by_name:
            return set(), set()
        times, entries = self.by_name[name]
        first = bisect.bisect_left(times, when - window)
        last = bisect.bisect_right(times, when)
        asked, waiting = set(), set()
        for sent, done, mark in entries[first:last]:
            asked.add(mark)
            if done > when:
                waiting.add(mark)
        return asked, waiting


def is_message(packet):
    """A UDP query or the TCP segment that starts a DNS message."""
    return packet["proto"].startswith("udp") or packet["what"] == "query"


def query_times(packets):
    """For each TCP segment without a query of its own (SYN, ACK, FIN: "via
    connection"), the time of the query pcap_marks gave it (the last one on
    its connection before it, else the first after): its mark is judged
    against who asked then, not when the connection idles or closes."""
    starts = collections.defaultdict(list)
    for packet in packets:
        if "flow" in packet and packet["what"] == "query":
            starts[id(packet["flow"])].append(packet["time"])
    times = {}
    for packet in packets:
        if not packet.get("via"):
            continue
        queries = starts.get(id(packet["flow"]), [])
        i = bisect.bisect_right(queries, packet["time"])
        if i > 0:
            times[id(packet)] = queries[i - 1]
        elif queries:
            times[id(packet)] = queries[0]
    return times


def analyse(args):
    owners = {}
    with open(args.owners) as source:
        for line in source:
            suffix, mark = line.split()
            owners[suffix.lower().rstrip(".")] = int(mark)
    lookups = read_queries(args.queries)
    askers = Askers(lookups)
    window = args.recent + args.ttl
    row = collections.Counter()
    missed = collections.defaultdict(collections.Counter)
    scored = [lookup for lookup in lookups if args.start <= lookup["sent"] <= args.end]
    row["lookups"] = len(scored)
    row["lookups_ok"] = sum(lookup["ok"] for lookup in scored)
    row["lookups_shared"] = sum(lookup["kind"] == "shared" for lookup in scored)
    row["lookups_tcp"] = sum(lookup["tcp"] for lookup in scored)
    row["queries"] = sum(lookup["queries"] for lookup in scored)
    row["marks"] = len(set(lookup["mark"] for lookup in scored))
    packets, truncated = pcap_marks.upstream_packets(args.pcap)
    row["tc"] = sum(args.start <= when <= args.end for when in truncated)
    via_times = query_times(packets)
    for packet in packets:
        when = packet["time"]
        if not args.start <= when <= args.end:
            continue
        question = packet.get("question")
        message = is_message(packet)
        if packet["proto"].startswith("tcp") and packet["what"] == "query":
            row["tcp_queries"] += 1
        if not question:
            row["no_question"] += 1
            continue
        name, qtype = question
        bare = name[2:] if name.startswith("_.") else name
        mark = packet["mark"]
        line = f"{pcap_marks.describe(packet)} mark {mark}"
        owner = pcap_marks.owner_of(bare, owners)
        if owner is not None:
            if not message:
                if mark not in (0, owner):
                    row["own_segments_wrong"] += 1
                    missed["own_wrong"][f"{line} want {owner}"] += 1
                continue
            row["own"] += 1
            if mark == owner:
                row["own_correct"] += 1
            elif mark == 0:
                row["own_unmarked"] += 1
                missed["own_unmarked"][f"{line} want {owner}"] += 1
            else:
                row["own_wrong"] += 1
                missed["own_wrong"][f"{line} want {owner}"] += 1
            continue
        asked, waiting = askers.at(bare, via_times.get(id(packet), when), window)
        if mark != 0 and mark not in asked:
            row["shared_implausible"] += 1
            missed["implausible"][f"{line} askers {len(asked)}"] += 1
        if not message:
            continue
        row["shared"] += 1
        row["shared_marked"] += mark != 0
        if not asked:
            row["shared_nobody"] += 1
        if len(asked) == 1:
            row["single"] += 1
            if mark == 0:
                row["single_unmarked"] += 1
                missed["single_unmarked"][line] += 1
        if len(waiting) == 1:
            row["waiting"] += 1
            if mark == 0:
                row["waiting_unmarked"] += 1
                missed["waiting_unmarked"][line] += 1
    counters = {}
    for field in args.counters.split():
        key, _, value = field.partition("=")
        if value.isdigit():
            counters[key] = int(value)
    result = {"resolver": args.resolver, "row": dict(row), "counters": counters,
              "missed": {kind: entries.most_common() for kind, entries in missed.items()},
              "window": window, "start": args.start, "end": args.end}
    with open(args.out, "w") as sink:
        json.dump(result, sink, indent=1)
    return 0


def percent(part, whole):
    return 100.0 * part / whole if whole else 0.0


def report(args):
    results = []
    for path in args.results:
        with open(path) as source:
            results.append(json.load(source))
    header = (f"{'resolver':<18} {'lookups':>11} {'marks':>5} {'own':>6} "
              f"{'%correct':>8} {'wrong':>5} {'unmrk':>5} {'shared':>6} "
              f"{'implaus':>7} {'1asked':>6} {'%unmrk':>6} {'1wait':>5} "
              f"{'%unmrk':>6} {'tc':>4} {'tcpq':>4} {'evicted':>7}")
    print(header)
    print("-" * len(header))
    failures = []
    for result in results:
        row = collections.Counter(result["row"])
        counters = result["counters"]
        name = result["resolver"]
        correct = percent(row["own_correct"], row["own"])
        wrong = percent(row["own_wrong"], row["own"])
        single = percent(row["single_unmarked"], row["single"])
        waiting = percent(row["waiting_unmarked"], row["waiting"])
        evicted = sum(counters.get(c, 0) for c in EVICTION_COUNTERS)
        shown_evicted = str(evicted) if counters else "-"
        implausible = row["shared_implausible"]
        print(f"{name:<18} {row['lookups_ok']:>5}/{row['lookups']:<5} {row['marks']:>5} "
              f"{row['own']:>6} {correct:>8.2f} {row['own_wrong']:>5} "
              f"{row['own_unmarked']:>5} {row['shared']:>6} {implausible:>7} "
              f"{row['single']:>6} {single:>6.1f} {row['waiting']:>5} {waiting:>6.1f} "
              f"{row['tc']:>4} {row['tcp_queries']:>4} {shown_evicted:>7}")
        where = f"{name} phase C"
        failed = row["lookups"] - row["lookups_ok"]
        if row["lookups"] == 0 or failed > args.max_failed_lookups / 100 * row["lookups"]:
            failures.append(f"BED: {where}: {failed} of {row['lookups']} lookups failed "
                            f"(more than {args.max_failed_lookups}%)")
        if row["own"] == 0 or row["shared"] == 0:
            failures.append(f"BED: {where}: no upstream message for own or shared names")
        checks = ((args.min_correct_c, correct, "% own-name messages correct", -1),
                  (args.max_wrong_c, wrong, "% own-name messages wrong", 1),
                  (args.max_implausible_c, implausible, " implausible shared-name marks", 1),
                  (args.max_unmarked_single_c, single,
                   "% unmarked where one mark asked", 1),
                  (args.max_unmarked_waiting_c, waiting,
                   "% unmarked where one asker waited", 1),
                  (args.max_evicted_c, evicted if counters else None,
                   " evidence or pending entries evicted", 1))
        for target, value, what, sense in checks:
            if target is None or value is None:
                continue
            if (sense < 0 and value < target) or (sense > 0 and value > target):
                op = "<" if sense < 0 else ">"
                failures.append(f"TARGET: {where}: {value:.2f}{what} {op} {target}")
    print()
    print("Phase C: lookups ok/all in the scored window (A, AAAA and HTTPS each);"
          " marks: clients that asked; own: upstream messages for client-owned"
          " names (%correct, wrong, unmrk: unmarked); shared: the others, implaus:"
          " marked with a mark that did not ask; 1asked: shared messages only one"
          " mark asked for within the window, %unmrk of them unmarked; 1wait:"
          " those exactly one mark was waiting for; tc: truncated answers from"
          " upstream; tcpq: queries sent upstream over TCP; evicted: dnsmark's"
          " evidence_evicted + pending_evicted.")
    for result in results:
        counters = result["counters"]
        seconds = result.get("end", 0) - result.get("start", 0)
        if seconds > 0:
            print(f"{result['resolver']} phase C: {result['row'].get('queries', 0)} client"
                  f" queries in {seconds:.0f} s ({result['row'].get('queries', 0) / seconds:.0f}/s),"
                  f" {result['row'].get('lookups_tcp', 0)} lookups over TCP")
        if counters:
            shown = " ".join(f"{c}={counters[c]}" for c in COUNTERS_SHOWN if c in counters)
            print(f"{result['resolver']} phase C: dnsmark pending={counters.get('pending', '?')}"
                  f" {shown}")
        row = result["row"]
        if row.get("own_segments_wrong"):
            print(f"{result['resolver']} phase C: {row['own_segments_wrong']} TCP segments"
                  " without a query of their own carried another client's mark")
        titles = (("own_wrong", "own names, another client's mark"),
                  ("implausible", "shared names, a mark that did not ask"),
                  ("own_unmarked", "own names, unmarked"),
                  ("waiting_unmarked", "shared names, unmarked while one asker waited"),
                  ("single_unmarked", "shared names, unmarked though one mark asked"))
        for kind, title in titles:
            entries = result["missed"].get(kind)
            if entries:
                print()
                pcap_marks.MISSED_LINES = MISSED_LINES
                pcap_marks.print_list(f"{result['resolver']} phase C: {title}"
                                      " (proto name type [segment] mark):", entries)
    if failures:
        print()
        for failure in failures:
            print(failure)
        return 1
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("analyse", help="score one resolver's phase C")
    one.add_argument("--resolver", required=True)
    one.add_argument("--pcap", required=True)
    one.add_argument("--queries", required=True, help="traffic.py run's log")
    one.add_argument("--owners", required=True, help='"suffix mark" lines')
    one.add_argument("--start", type=float, required=True,
                     help="scored window: after the warm-up")
    one.add_argument("--end", type=float, required=True)
    one.add_argument("--recent", type=float, default=30.0,
                     help="dnsmark's --recent (default 30)")
    one.add_argument("--ttl", type=float, default=20.0,
                     help="the longest TTL of the design (default 20)")
    one.add_argument("--counters", default="", help="dnsmark's counters line")
    one.add_argument("--out", required=True, help="JSON result")
    table = commands.add_parser("report", help="print the table, check targets")
    table.add_argument("results", nargs="+")
    table.add_argument("--min-correct-c", type=float)
    table.add_argument("--max-wrong-c", type=float)
    table.add_argument("--max-implausible-c", type=float)
    table.add_argument("--max-unmarked-single-c", type=float)
    table.add_argument("--max-unmarked-waiting-c", type=float)
    table.add_argument("--max-evicted-c", type=float)
    table.add_argument("--max-failed-lookups", type=float, default=5.0)
    args = parser.parse_args()
    return analyse(args) if args.command == "analyse" else report(args)


if __name__ == "__main__":
    sys.exit(main())
