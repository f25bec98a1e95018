"""A lossy, duplicating, reordering datagram path driven by a fake clock (test helper)."""

from __future__ import annotations

import heapq
import itertools
import random
from dataclasses import dataclass, field


@dataclass
class LossyPath:
    rng: random.Random
    loss: float = 0.0
    duplicate: float = 0.0
    delay: tuple[float, float] = (0.01, 0.01)     # one-way, uniform between these (reorders)
    down: list[tuple[float, float]] = field(default_factory=list)   # outage windows: all lost
    _queue: list = field(default_factory=list)
    _order: itertools.count = field(default_factory=itertools.count)
    sent: int = 0

    def is_down(self, now: float) -> bool:
        return any(start <= now < end for start, end in self.down)

    def push(self, now: float, to: str, payload: bytes) -> None:
        self.sent += 1
        copies = 1 + (self.rng.random() < self.duplicate)
        for _ in range(copies):
            if self.is_down(now) or self.rng.random() < self.loss:
                continue
            at = now + self.rng.uniform(*self.delay)
            heapq.heappush(self._queue, (at, next(self._order), to, payload))

    def next_arrival(self) -> float | None:
        return self._queue[0][0] if self._queue else None

    def due(self, now: float) -> list[tuple[str, bytes]]:
        out = []
        while self._queue and self._queue[0][0] <= now:
            _, _, to, payload = heapq.heappop(self._queue)
            out.append((to, payload))
        return out


def run(nodes: dict, path: LossyPath, scheduled: list, until: float) -> float:
    """Advance a fake clock from event to event until nothing is left to do, or `until`.

    Each node offers deliver(payload, now), timer(), fire(now) and outgoing(now);
    `scheduled` holds (time, fn(now)) calls such as sends, outages and restarts.
    """
    order = itertools.count()
    agenda = [(at, next(order), fn) for at, fn in scheduled]
    heapq.heapify(agenda)
    now = 0.0
    while now <= until:
        while agenda and agenda[0][0] <= now:
            heapq.heappop(agenda)[2](now)
        for to, payload in path.due(now):
            nodes[to].deliver(payload, now)
        for node in nodes.values():
            if (timer := node.timer()) is not None and timer <= now:
                node.fire(now)
        for name, node in nodes.items():
            for other in nodes:
                if other != name:
                    for payload in node.outgoing(now):
                        path.push(now, other, payload)
        nexts = [t for t in (path.next_arrival(), *(n.timer() for n in nodes.values()),
                             agenda[0][0] if agenda else None) if t is not None]
        if not nexts:
            return now
        now = max(now, min(nexts))
    return now
