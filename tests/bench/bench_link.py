"""Link benchmark: handshake time and seal+open cost of a 200-byte transport packet.

Run: .venv/bin/python tests/bench/bench_link.py
Prints numbers; asserts nothing.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey  # noqa: E402

from terminal.link.constants import CHANNEL_VOICE  # noqa: E402
from terminal.link.noise import public_bytes  # noqa: E402
from terminal.link.session import LinkSession  # noqa: E402

FRAME_MS = 20.0
A, B = ("192.0.2.1", 1), ("192.0.2.2", 1)


def pair():
    ka, kb = X25519PrivateKey.generate(), X25519PrivateKey.generate()
    a = LinkSession(static=ka, peer_static=public_bytes(kb), endpoints=[B], pairing_id="bench")
    b = LinkSession(static=kb, peer_static=public_bytes(ka), endpoints=[A], pairing_id="bench")
    return a, b


def handshake(a, b, now):
    """One handshake A -> B to completion (each message goes out twice, to every path)."""
    a._begin_handshake(now)
    for src, dst, addr in ((a, b, A), (b, a, B), (a, b, A)):
        for data, _ in src.datagrams_to_send(now):
            dst.receive_datagram(data, addr, now)


def bench_handshake(rounds=300):
    a, b = pair()
    times = []
    for i in range(rounds):
        t0 = time.perf_counter()
        handshake(a, b, float(i))      # 1 s apart: past the per-peer initiation rate limit
        times.append(time.perf_counter() - t0)
    return times


def bench_transport(rounds=20000, size=200):
    a, b = pair()
    handshake(a, b, 0.0)
    payload = bytes(size - 2)   # 200 bytes of plaintext including the 2-byte inner header
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        a.send(CHANNEL_VOICE, payload, 1.0)
        (packet, _), = a.datagrams_to_send(1.0)
        b.receive_datagram(packet, A, 1.0)
        b.next_event()
        times.append(time.perf_counter() - t0)
    assert b.stats["packets_received"] >= rounds
    return times


def main():
    hs = bench_handshake()
    tr = bench_transport()
    hs_ms = statistics.median(hs) * 1e3
    tr_us = statistics.median(tr) * 1e6
    print("link benchmark (median of runs, this machine)")
    print(f"  handshake (initiate + respond + confirm, each twice, in process): {hs_ms:.3f} ms  "
          f"(p95 {sorted(hs)[int(len(hs) * .95)] * 1e3:.3f} ms, n={len(hs)})")
    print(f"  seal + open, 200-byte transport packet:             {tr_us:.1f} us  "
          f"(p95 {sorted(tr)[int(len(tr) * .95)] * 1e6:.1f} us, n={len(tr)})")
    print(f"  share of a {FRAME_MS:.0f} ms voice frame:                      {tr_us / (FRAME_MS * 1e3) * 100:.3f} %")


if __name__ == "__main__":
    main()
