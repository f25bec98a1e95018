"""Link benchmark: handshake time (classical and hybrid), the post-quantum ratchet exchange, and
the seal+open cost of a 200-byte transport packet.

Run: .venv/bin/python tests/bench/bench_link.py
Prints numbers; asserts nothing.
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey  # noqa: E402

from terminal.link.constants import CHANNEL_VOICE  # noqa: E402
from terminal.link.noise import public_bytes  # noqa: E402
from terminal.link.session import LinkSession  # noqa: E402

FRAME_MS = 20.0
A, B = ("192.0.2.1", 1), ("192.0.2.2", 1)


def pair(**kw):
    ka, kb = X25519PrivateKey.generate(), X25519PrivateKey.generate()
    a = LinkSession(static=ka, peer_static=public_bytes(kb), endpoints=[B], pairing_id="bench", **kw)
    b = LinkSession(static=kb, peer_static=public_bytes(ka), endpoints=[A], pairing_id="bench", **kw)
    return a, b


def deliver(src, dst, addr, now) -> int:
    """Hand everything `src` has queued to `dst`; the bytes that went."""
    sent = 0
    for data, _ in src.datagrams_to_send(now):
        sent += len(data)
        dst.receive_datagram(data, addr, now)
    return sent


def handshake(a, b, now) -> int:
    """One handshake A -> B to completion (both copies of each message); bytes on the wire."""
    a._begin_handshake(now)
    return deliver(a, b, A, now) + deliver(b, a, B, now) + deliver(a, b, A, now)


def bench_handshake(rounds=200, hybrid=False):
    """(times, bytes per handshake, times of the ratchet exchange after it, its bytes)."""
    a, b = pair()
    while a.offerer:                   # A initiates, B offers: the offer is not counted in the handshake
        a, b = pair()
    if hybrid:                         # both hold a ratchet secret: the PSK is HKDF(psk, secret)
        secret = bytes(range(32))
        a.ratchet.confirmed = b.ratchet.confirmed = secret
    offerer, other = (a, b) if a.offerer else (b, a)
    times, sizes, exchange, exchange_bytes = [], [], [], []
    for i in range(rounds):
        now = float(i)                 # 1 s apart: past the per-peer initiation rate limit
        t0 = time.perf_counter()
        sizes.append(handshake(a, b, now))
        times.append(time.perf_counter() - t0)
        # What follows each handshake: the offer, the answer, the "taken" (ML-KEM-768 keygen,
        # encapsulation, decapsulation, three HKDFs). Measured on its own.
        t0 = time.perf_counter()
        n = deliver(offerer, other, A if offerer is a else B, now) + deliver(other, offerer, B if offerer is a else A, now)
        n += deliver(offerer, other, A if offerer is a else B, now)
        exchange.append(time.perf_counter() - t0)
        exchange_bytes.append(n)
        for s in (a, b):                # keep measuring the same secret: forget what the exchange made
            s.ratchet = replace(s.ratchet, pending=None, peer_has_pending=False, answer=None)
            s._offer = s._offer_due = None
            while s.next_event() is not None:
                pass
    return times, statistics.median(sizes), exchange, statistics.median(exchange_bytes)


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
    classical, c_bytes, _, _ = bench_handshake(hybrid=False)
    hybrid, h_bytes, exchange, x_bytes = bench_handshake(hybrid=True)
    tr = bench_transport()
    tr_us = statistics.median(tr) * 1e6
    ms = lambda v: f"{statistics.median(v) * 1e3:.3f} ms (p95 {sorted(v)[int(len(v) * .95)] * 1e3:.3f}, n={len(v)})"
    print("link benchmark (median of runs, this machine; both handshake kinds in this run, same code)")
    print("  handshake = initiation + response + confirming keepalive, each sent twice, in process")
    print(f"  handshake, classical PSK (the first keys after pairing): {ms(classical)}, {c_bytes:.0f} B on the wire")
    print(f"  handshake, hybrid (PSK from the ratchet secret):       {ms(hybrid)}, {h_bytes:.0f} B on the wire")
    print(f"  ratchet exchange after each (ML-KEM-768 offer, answer, taken): {ms(exchange)}, "
          f"{x_bytes:.0f} B on the wire")
    print(f"  so a hybrid re-key costs {(statistics.median(hybrid) + statistics.median(exchange)) * 1e3:.3f} ms of CPU "
          f"for the pair and {h_bytes + x_bytes:.0f} B, every 2 minutes")
    print(f"  seal + open, 200-byte transport packet:             {tr_us:.1f} us  "
          f"(p95 {sorted(tr)[int(len(tr) * .95)] * 1e6:.1f} us, n={len(tr)})")
    print(f"  share of a {FRAME_MS:.0f} ms voice frame:                      {tr_us / (FRAME_MS * 1e3) * 100:.3f} %")


if __name__ == "__main__":
    main()
