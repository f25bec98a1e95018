"""A missed call shown on this unit until someone acknowledges it, re-alerting on a schedule."""

from __future__ import annotations

from terminal.call.actions import EscalationStep, Output, SecondaryAlert, SetIndicator, StartRinger, StopRinger
from terminal.call.cadence import Pattern
from terminal.call.settings import CallSettings


class MissedCall:
    def __init__(self, settings: CallSettings, pattern: Pattern):
        self._settings = settings
        self._pattern = pattern
        self.call_id: int | None = None     # the latest missed call, while shown
        self.realerts = 0
        self._next: float | None = None     # next re-alert
        self._burst_end: float | None = None

    @property
    def shown(self) -> bool:
        return self.call_id is not None

    def show(self, call_id: int, now: float) -> list[Output]:
        """Call `call_id` went unanswered here: light the indicator and schedule re-alerts."""
        out: list[Output] = [] if self.shown else [SetIndicator("missed", True)]
        self.call_id = call_id
        every = self._settings.realert_every
        self._next = None if every is None else now + every
        return out + [EscalationStep(call_id, "missed_shown", now)]

    def acknowledge(self, now: float) -> list[Output]:
        """A person has seen it: indicator off, re-alerts stop."""
        if not self.shown:
            return []
        out = self._end_burst()
        out += [SetIndicator("missed", False), EscalationStep(self.call_id, "acknowledged", now, self.realerts)]
        self.call_id, self.realerts, self._next = None, 0, None
        return out

    def yield_ringer(self) -> list[Output]:
        """A real ring takes over the ringer: end any re-alert burst without stopping the ringer."""
        if self._burst_end is None:
            return []
        self._burst_end = None
        return [SecondaryAlert(False)]

    def _end_burst(self) -> list[Output]:
        if self._burst_end is None:
            return []
        self._burst_end = None
        return [StopRinger(), SecondaryAlert(False)]

    def handle_timer(self, now: float, idle: bool) -> list[Output]:
        """Run due re-alert steps; `idle` False (a call or ring in progress) postpones a re-alert."""
        out: list[Output] = []
        if self._burst_end is not None and now >= self._burst_end:
            out += self._end_burst()
        if self._next is not None and now >= self._next:
            self._next = now + self._settings.realert_every
            if idle:
                self.realerts += 1
                self._burst_end = now + self._settings.realert_ring_for
                out += [StartRinger(self._pattern), SecondaryAlert(True),
                        EscalationStep(self.call_id, "realert", now, self.realerts)]
        return out

    def deadline(self) -> float | None:
        times = [t for t in (self._next, self._burst_end) if t is not None]
        return min(times) if times else None
