"""The peer's paths: every address it is configured at or was heard from, and how each is doing.

A path is *live* while an authenticated packet from its address arrived within
`live_window` (two probe intervals and a second). Data goes out on every live
path; with none live, on every candidate. Each path is probed on its own
(an authenticated probe on the link's path channel that the peer answers to
the probe's source), which measures its round trip and loss and is also the
keepalive that lets a NAT in front of either unit rebind without the link
noticing for longer than a probe interval.

Configured paths stay for good. A learned one (an authenticated packet from an
address not in the table) is only *challenged* at first: it gets a probe a
second, at most MAX_CHALLENGES of them, and carries nothing else until a reply
to one comes back from that very address (QUIC's path validation). An attacker
who copies a genuine packet with a forged source therefore cannot point our
traffic at an address of its choosing. Once valid it replaces the learned
paths with the same host (a NAT that rebound the port), and it is forgotten once
silent for FORGET_AFTER. Pure: every method takes `now`.
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass, field

from terminal.link.messages import MalformedPacket

Addr = tuple
PROBE_HISTORY = 20             # probes kept per path for its loss figure
MAX_LEARNED = 4
MAX_CHALLENGES = 3             # probes an unvalidated address gets before it is forgotten
FORGET_AFTER = 180.0           # a learned path silent this long is dropped (REJECT_AFTER_TIME)
RTT_ALPHA = 0.125              # RFC 6298's smoothing
PROBE, PROBE_REPLY = 1, 2
_PROBE = struct.Struct("<BI")


def encode_probe(kind: int, probe_id: int) -> bytes:
    return _PROBE.pack(kind, probe_id)


def decode_probe(payload: bytes) -> tuple[int, int]:
    if len(payload) != _PROBE.size:
        raise MalformedPacket(f"path probe is {len(payload)} bytes; expected {_PROBE.size}")
    kind, probe_id = _PROBE.unpack(payload)
    if kind not in (PROBE, PROBE_REPLY):
        raise MalformedPacket(f"path probe kind {kind}; expected 1 or 2")
    return kind, probe_id


@dataclass
class Path:
    addr: Addr
    configured: bool
    validated: bool = False        # configured paths are trusted; learned ones once they answer a probe
    last_heard: float | None = None
    last_probe: float = float("-inf")
    rtt: float | None = None
    probes: deque = field(default_factory=lambda: deque(maxlen=PROBE_HISTORY))   # [id, sent_at, rtt|None]
    sent: int = 0
    received: int = 0

    def live(self, now: float, window: float) -> bool:
        return self.validated and self.last_heard is not None and now - self.last_heard < window

    def settled(self, now: float, timeout: float) -> tuple[int, int]:
        """(unanswered, settled) among recent probes: settled once answered or `timeout` old."""
        settled = [p for p in self.probes if p[2] is not None or now - p[1] >= timeout]
        return sum(1 for p in settled if p[2] is None), len(settled)

    def loss(self, now: float, timeout: float) -> float | None:
        """Share of recent probes unanswered after `timeout`; None before any has had the chance."""
        lost, settled = self.settled(now, timeout)
        return lost / settled if settled else None

    def state(self, now: float, window: float) -> str:
        if not self.validated:
            return "unvalidated"
        if self.last_heard is None:
            return "unknown"
        return "up" if self.live(now, window) else "down"


class PathTable:
    def __init__(self, endpoints: list[Addr]):
        if not endpoints:
            raise ValueError("the peer needs at least one endpoint")
        self.paths: list[Path] = [Path(tuple(ep), True, True) for ep in dict.fromkeys(tuple(e) for e in endpoints)]
        self._next_probe_id = 1

    def find(self, addr: Addr) -> Path | None:
        for path in self.paths:
            if path.addr == addr:
                return path
        return None

    def heard(self, addr: Addr, now: float, window: float) -> tuple[Path, bool]:
        """An authenticated packet came from `addr`: (its path, whether a valid path just came up).
        A new address is learned unvalidated: challenge it (`challenges`)."""
        addr = tuple(addr)
        path = self.find(addr)
        if path is None:
            path = self._learn(addr, now)
        came_up = path.validated and not path.live(now, window)
        path.last_heard = now
        path.received += 1
        return path, came_up

    def live(self, now: float, window: float) -> list[Path]:
        return [p for p in self.paths if p.live(now, window)]

    def candidates(self, now: float) -> list[Path]:
        """Where to try when nothing is live: configured paths and validated learned ones not yet forgotten."""
        self._forget(now)
        return [p for p in self.paths if p.validated]

    def to_probe(self, now: float) -> list[Path]:
        """Every path a probe goes to: the candidates, and learned addresses still being challenged."""
        self._forget(now)
        return [p for p in self.paths if p.validated or p.sent < MAX_CHALLENGES]

    def best(self, now: float, window: float) -> Path:
        """The live path with the lowest round trip (configured order breaks ties); else the latest heard."""
        live = self.live(now, window)
        if live:
            return min(live, key=lambda p: (p.rtt if p.rtt is not None else float("inf"), self.paths.index(p)))
        heard = [p for p in self.paths if p.last_heard is not None]
        return max(heard, key=lambda p: p.last_heard) if heard else self.paths[0]

    def targets(self, now: float, window: float) -> list[Path]:
        """Where data goes: every live path, or every candidate when none is."""
        return self.live(now, window) or self.candidates(now)

    def probe(self, path: Path, now: float) -> bytes:
        probe_id = self._next_probe_id
        self._next_probe_id = (self._next_probe_id + 1) & 0xFFFFFFFF or 1
        path.probes.append([probe_id, now, None])
        path.last_probe = now
        path.sent += 1
        return encode_probe(PROBE, probe_id)

    def probe_answered(self, path: Path, probe_id: int, now: float) -> bool | None:
        """A reply to probe `probe_id` came back from `path`'s address: sample its round trip.
        True if that validated the path just now, False if it answered an older probe, None if no
        probe sent to that address had that id."""
        for entry in path.probes:
            if entry[0] == probe_id and entry[2] is None:
                entry[2] = rtt = now - entry[1]
                path.rtt = rtt if path.rtt is None else (1 - RTT_ALPHA) * path.rtt + RTT_ALPHA * rtt
                if path.validated:
                    return False
                path.validated = True
                # The same host on another port, learned before: the NAT rebound it.
                self.paths = [p for p in self.paths
                              if p is path or p.configured or p.addr[0] != path.addr[0]]
                return True
        return None

    def _learn(self, addr: Addr, now: float) -> Path:
        path = Path(addr, False)
        learned = [p for p in self.paths if not p.configured]
        if len(learned) >= MAX_LEARNED:      # unvalidated ones go first, then the longest silent
            self.paths.remove(min(learned, key=lambda p: (p.validated, p.last_heard or float("-inf"))))
        self.paths.append(path)
        return path

    def _forget(self, now: float) -> None:
        def keep(p: Path) -> bool:
            if p.configured:
                return True
            if not p.validated and p.sent >= MAX_CHALLENGES and now - p.last_probe >= MAX_CHALLENGES:
                return False                 # challenged and never answered
            return p.last_heard is not None and now - p.last_heard < FORGET_AFTER
        if not all(keep(p) for p in self.paths):     # get_timer asks after every datagram: rebuild rarely
            self.paths = [p for p in self.paths if keep(p)]
