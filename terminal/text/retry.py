"""One retransmission timer with exponential backoff (RFC 6298 section 5, without RTT sampling)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Retry:
    initial: float
    maximum: float
    rto: float = 0.0
    deadline: float | None = None

    def __post_init__(self) -> None:
        self.rto = self.initial

    def arm(self, now: float) -> None:
        """Call after sending: the next try is due one timeout from now."""
        self.deadline = now + self.rto

    def back_off(self, now: float) -> None:
        """Call after a timeout's retransmission: wait twice as long next time."""
        self.rto = min(self.rto * 2, self.maximum)
        self.arm(now)

    def reset(self) -> None:
        """Call when the peer comes back: start again from the initial timeout."""
        self.rto = self.initial
        self.deadline = None

    def due(self, now: float) -> bool:
        return self.deadline is not None and self.deadline <= now
