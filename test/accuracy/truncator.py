#!/usr/bin/env python3
"""Answers every DNS query over UDP with TC=1 (accuracy tool's truncating server).

It runs in the bed's internet namespace behind a nat rule that sends UDP to
port 53 of a server's address here, while the server itself (NSD for tc.test,
the internet's recursive unbound for the forwarders) keeps answering TCP, so
that every resolver asks again over TCP, for the qname-minimised ancestors
too. The answer is the header and the question only: id, opcode and RD
copied, QR, AA and TC set (RA too with --recursive), the query's EDNS OPT
record echoed without options. It answers nothing else and never forwards.
Standard library only; it runs until killed.
"""

import argparse
import selectors
import socket
import struct
import sys

FLAG_QR = 0x8000
FLAG_AA = 0x0400
FLAG_TC = 0x0200
FLAG_RD = 0x0100
FLAG_RA = 0x0080
OPCODE_MASK = 0x7800
TYPE_OPT = 41
EDNS_DO = 0x8000
EDNS_UDP_SIZE = 1232


def skip_name(message, pos):
    """The offset after the (uncompressed or compressed) name at POS, or None."""
    while pos < len(message):
        size = message[pos]
        if size == 0:
            return pos + 1
        if size & 0xC0 == 0xC0:
            return pos + 2 if pos + 2 <= len(message) else None
        if size & 0xC0:
            return None
        pos += 1 + size
    return None


def truncated_answer(query, recursive):
    """The TC=1 answer to QUERY (bytes), or None when QUERY is not one
    question of a query we can copy."""
    if len(query) < 12:
        return None
    ident, flags, qdcount, ancount, nscount, arcount = struct.unpack(">6H", query[:12])
    if flags & FLAG_QR or qdcount != 1:
        return None
    end = skip_name(query, 12)
    if end is None or end + 4 > len(query):
        return None
    question = query[12:end + 4]
    answer_flags = FLAG_QR | FLAG_TC | (flags & (OPCODE_MASK | FLAG_RD))
    answer_flags |= FLAG_RA if recursive else FLAG_AA
    opt = b""
    if arcount and not ancount and not nscount:
        # The query's OPT, if its only additional record is one: echo the
        # DO bit and our UDP size, no options.
        pos = end + 4
        if pos + 11 <= len(query) and query[pos] == 0:
            rtype, _, ttl = struct.unpack(">HHI", query[pos + 1:pos + 9])
            if rtype == TYPE_OPT:
                opt = struct.pack(">BHHIH", 0, TYPE_OPT, EDNS_UDP_SIZE,
                                  ttl & EDNS_DO, 0)
    header = struct.pack(">6H", ident, answer_flags, 1, 0, 0, 1 if opt else 0)
    return header + question + opt


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True,
                        help="the UDP port to listen on (the nat rule's target)")
    parser.add_argument("--recursive", action="append", default=[],
                        metavar="ADDRESS", help="answer as a recursive server "
                        "(RA, not AA) on ADDRESS")
    parser.add_argument("addresses", nargs="+", help="addresses to listen on")
    args = parser.parse_args()
    selector = selectors.DefaultSelector()
    for address in args.addresses + args.recursive:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.bind((address, args.port))
        selector.register(sock, selectors.EVENT_READ, address in args.recursive)
    print(f"truncator: listening on port {args.port} of "
          f"{' '.join(args.addresses + args.recursive)}", flush=True)
    while True:
        for key, _ in selector.select():
            try:
                query, peer = key.fileobj.recvfrom(65535)
            except OSError:
                continue
            answer = truncated_answer(query, key.data)
            if answer is None:
                continue
            try:
                key.fileobj.sendto(answer, peer)
            except OSError as error:
                print(f"truncator: send to {peer[0]}: {error}", file=sys.stderr,
                      flush=True)


if __name__ == "__main__":
    sys.exit(main())
