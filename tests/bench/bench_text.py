"""Text benchmark: delivery latency at 0, 10 and 30 % loss, and messages per second.

Run: .venv/bin/python tests/bench/bench_text.py
Prints numbers; asserts nothing.

Latency runs two TextServices on real SQLite files through a simulated path on
a fake clock. Assumption: 40 ms one-way delay, 0-10 ms jitter (an 80-90 ms
round trip, a typical inter-country path), independent loss in each
direction, default retransmission timeouts (RFC 6298 estimate: 1 s until a
round trip is measured, then SRTT + 4 RTTVAR with a 0.2 s floor; doubling
on each timeout up to 10 s; restarted whenever a fragment gets through).
Latency is fake-clock time, so it leaves out the store's fsyncs; the
throughput figures are wall-clock time on this machine and include them.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from terminal.text.channel import TextChannel  # noqa: E402
from terminal.text.precedence import Precedence  # noqa: E402
from tests.text.lossy import LossyPath, run  # noqa: E402
from tests.text.nodes import ServiceNode  # noqa: E402

ONE_WAY = (0.040, 0.050)


def latency(loss: float, size: int, count: int, root: Path) -> dict:
    nodes = {"a": ServiceNode(root / f"a{loss}{size}.db"), "b": ServiceNode(root / f"b{loss}{size}.db")}
    path = LossyPath(random.Random(7), loss=loss, delay=ONE_WAY)
    sent_at: dict[str, float] = {}

    def send(now: float) -> None:
        sent_at[nodes["a"].service.send("x" * size, Precedence.ROUTINE, now)] = now

    scheduled = [(0.0, lambda now: [n.service.on_peer_reachable(now) for n in nodes.values()])]
    scheduled += [(1.0 + 5.0 * i, send) for i in range(count)]
    run(nodes, path, scheduled, until=10_000)
    shown = [nodes["b"].received_at[i] - t for i, t in sent_at.items()]
    receipt = [nodes["a"].delivered[i] - t for i, t in sent_at.items()]
    for node in nodes.values():
        node.service.close()
    return {"shown": shown, "receipt": receipt, "datagrams": path.sent}


def throughput_service(count: int, root: Path) -> float:
    a, b = ServiceNode(root / "ta.db", auto_ack=False), ServiceNode(root / "tb.db", auto_ack=False)
    for n in (a, b):
        n.service.on_peer_reachable(0.0)
    start = time.perf_counter()
    for i in range(count):
        a.service.send(f"message {i}", Precedence.ROUTINE, 0.0)
    while len(a.delivered) < count:
        for p in a.outgoing(0.0):
            b.deliver(p, 0.0)
        for p in b.outgoing(0.0):
            a.deliver(p, 0.0)
    return count / (time.perf_counter() - start)


def throughput_channel(count: int) -> float:
    a, b = TextChannel(b"A" * 8), TextChannel(b"B" * 8)
    a.peer_reachable(0.0), b.peer_reachable(0.0)
    start = time.perf_counter()
    for i in range(count):
        a.queue(i.to_bytes(16, "big"), Precedence.ROUTINE, f"message {i}", 0.0, 0.0)
    delivered = 0
    while delivered < count:
        for p in a.payloads_to_send(0.0):
            b.receive(p, 0.0)
        for p in b.payloads_to_send(0.0):
            a.receive(p, 0.0)
        while (e := a.next_effect()) is not None:
            delivered += type(e).__name__ == "MessageDelivered"
        while b.next_effect() is not None:
            pass
    return count / (time.perf_counter() - start)


def pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print(f"delivery latency, fake clock, one-way {ONE_WAY[0]*1000:.0f}-{ONE_WAY[1]*1000:.0f} ms, "
              "RFC 6298 RTO")
        print(f"{'loss':>5} {'size':>6} {'n':>4}  {'shown median/p95/max (s)':>26}  "
              f"{'receipt median/p95/max (s)':>28}  datagrams/msg")
        for loss in (0.0, 0.10, 0.30):
            for size, count in ((100, 100), (16 * 1024, 20)):
                r = latency(loss, size, count, root)
                fmt = lambda v: f"{statistics.median(v):6.3f} {pct(v, .95):6.3f} {max(v):6.3f}"  # noqa: E731
                print(f"{loss:5.0%} {size:6d} {count:4d}  {fmt(r['shown']):>26}  {fmt(r['receipt']):>28}"
                      f"  {r['datagrams'] / count:6.1f}")
        print(f"throughput, service with SQLite (synchronous=FULL) on this disk: "
              f"{throughput_service(300, root):8.0f} messages/s")
        print(f"throughput, channel core alone (no store):                   "
              f"{throughput_channel(5000):8.0f} messages/s")


if __name__ == "__main__":
    main()
