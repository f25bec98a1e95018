"""Retransmission timing: RFC 6298's round-trip estimator and a per-message backoff timer."""

from __future__ import annotations

from dataclasses import dataclass

from terminal.text.constants import INITIAL_RTO, MAX_RTO, MIN_RTO


@dataclass
class RttEstimator:
    """SRTT/RTTVAR as in RFC 6298 section 2; feed it samples from untouched sends only (Karn)."""
    initial: float = INITIAL_RTO
    minimum: float = MIN_RTO
    maximum: float = MAX_RTO
    srtt: float | None = None
    rttvar: float = 0.0

    def sample(self, rtt: float) -> None:
        if self.srtt is None:
            self.srtt, self.rttvar = rtt, rtt / 2
        else:
            self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.srtt - rtt)
            self.srtt = 0.875 * self.srtt + 0.125 * rtt

    @property
    def rto(self) -> float:
        if self.srtt is None:
            return self.initial
        return min(max(self.srtt + 4 * self.rttvar, self.minimum), self.maximum)


@dataclass
class Retry:
    """One message's timer: armed after each send, doubled after each timeout."""
    rto: float
    maximum: float
    deadline: float | None = None

    def arm(self, now: float) -> None:
        """Call after sending: the next try is due one timeout from now."""
        self.deadline = now + self.rto

    def back_off(self, now: float) -> None:
        """Call after a timeout's retransmission: wait twice as long next time."""
        self.rto = min(self.rto * 2, self.maximum)
        self.arm(now)

    def restart(self, rto: float, now: float) -> None:
        """Call on progress or when the peer comes back: the backoff starts over."""
        self.rto = rto
        self.arm(now)

    def progress(self, rto: float, now: float) -> None:
        """Call on partial progress: the backoff starts over, but the next try never comes later
        than it already would (or a message's retries could drift past the longest timeout)."""
        self.rto = rto
        self.deadline = now + rto if self.deadline is None else min(self.deadline, now + rto)

    def clock_stepped(self, step: float) -> None:
        """The clock behind `now` stepped by `step` seconds: the wait keeps its length."""
        if self.deadline is not None:
            self.deadline += step

    def due(self, now: float) -> bool:
        return self.deadline is not None and self.deadline <= now
