"""On/off patterns and a sans-I/O schedule that says what a pattern is doing at time t."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Pattern:
    """Durations in seconds, alternating on, off, on, off...; one duration alone means steady on."""

    segments: tuple[float, ...]

    def __post_init__(self):
        if not self.segments:
            raise ValueError("a cadence pattern needs at least one duration")
        if len(self.segments) > 1 and len(self.segments) % 2:
            raise ValueError(f"a cadence pattern alternates on/off, so needs an even count; got {len(self.segments)}")
        for seconds in self.segments:
            if not (isinstance(seconds, (int, float)) and seconds > 0 and math.isfinite(seconds)):
                raise ValueError(f"cadence durations must be positive finite seconds; got {seconds!r}")

    @property
    def steady(self) -> bool:
        return len(self.segments) == 1

    @property
    def period(self) -> float:
        return sum(self.segments)


class CadenceSchedule:
    """A pattern started at `start` (and optionally stopped at `stop`): state and next change at any time."""

    def __init__(self, pattern: Pattern, start: float, stop: float | None = None):
        self.pattern = pattern
        self.start = start
        self.stop = stop

    def _running(self, t: float) -> bool:
        return self.start <= t and (self.stop is None or t < self.stop)

    def _cycle(self, t: float) -> tuple[float, int, float]:
        """(start of the current cycle, index of the current segment, end of that segment)."""
        period = self.pattern.period
        cycle_start = self.start + math.floor((t - self.start) / period) * period
        edge = cycle_start
        for index, seconds in enumerate(self.pattern.segments):
            edge += seconds
            if t < edge:
                return cycle_start, index, edge
        return cycle_start + period, 0, cycle_start + period + self.pattern.segments[0]

    def state_at(self, t: float) -> bool:
        """True while the pattern is in an 'on' segment at time t."""
        if not self._running(t):
            return False
        if self.pattern.steady:
            return True
        return self._cycle(t)[1] % 2 == 0

    def next_change(self, t: float) -> float | None:
        """The next time after t at which `state_at` may change (a segment edge or the stop); None if never."""
        if t < self.start:
            return self.start
        if self.stop is not None and t >= self.stop:
            return None
        edge = None if self.pattern.steady else self._cycle(t)[2]
        if self.stop is not None and (edge is None or edge >= self.stop):
            return self.stop
        return edge
