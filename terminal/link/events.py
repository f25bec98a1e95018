"""What a link session tells its owner (`LinkSession.next_event()`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HandshakeCompleted:
    at: float
    initiator: bool
    rtt: float | None          # initiation sent -> response consumed; None on the responder
    hybrid: bool = False       # its PSK held a post-quantum ratchet secret (terminal/link/pq.py)


@dataclass(frozen=True)
class PeerReachable:
    at: float


@dataclass(frozen=True)
class PeerUnreachable:
    at: float
    silent_for: float          # seconds since the last authenticated packet (or since start)


@dataclass(frozen=True)
class DataReceived:
    channel: int
    payload: bytes
    at: float


@dataclass(frozen=True)
class PathUp:
    """An authenticated packet arrived on a path that was not live (new, rebound, or back)."""
    addr: tuple
    at: float


Event = HandshakeCompleted | PeerReachable | PeerUnreachable | DataReceived | PathUp
