#!/usr/bin/env python3
"""Half-open TCP connections (tests and the demo): raw SYNs from a source address nobody owns.

The server answers each SYN with a SYN-ACK that goes nowhere (no host has the source address, so neighbour
resolution fails), and keeps a request sock in SYN_RECV until it gives up after its SYN-ACK retries.
Usage (inside a test network namespace, as root): syn-burst.py SRC_IP DST_IP DST_PORT COUNT
Prints {"sent": COUNT}.
"""
import json
import random
import socket
import struct
import sys


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def syn(src: str, dst: str, sport: int, dport: int) -> bytes:
    seq = random.getrandbits(32)
    # TCP header: ports, seq, ack, data offset 5 words, flags SYN, window, checksum 0, urgent 0.
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x02, 64240, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    # IPv4 header: the kernel fills in the total length, id and header checksum left 0 (IP_HDRINCL).
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 0, 0, 0, 64, socket.IPPROTO_TCP, 0, socket.inet_aton(src), socket.inet_aton(dst))
    return ip + tcp


def main() -> None:
    src, dst, dport, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    ports = random.sample(range(20000, 60000), count)
    for sport in ports:
        s.sendto(syn(src, dst, sport, dport), (dst, 0))
    print(json.dumps({"sent": count}))


if __name__ == "__main__":
    main()
