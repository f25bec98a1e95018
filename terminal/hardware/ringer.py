"""The ringer relay, playing a cadence from a sans-I/O schedule.

`ring(pattern, now)` starts a cadence, `silence()` stops it; the owner calls
`poll(now)` at `deadline()` (both on the same clock as `now`), which sets the
relay to the schedule's state. Nothing here sleeps or starts a thread.
"""

from __future__ import annotations

from gpiozero import DigitalOutputDevice

from terminal.call.cadence import CadenceSchedule, Pattern


class Ringer(DigitalOutputDevice):
    def __init__(self, pin=None, *, active_high: bool = True, pin_factory=None):
        self._schedule: CadenceSchedule | None = None
        self._next: float | None = None
        super().__init__(pin, active_high=active_high, initial_value=False, pin_factory=pin_factory)

    @property
    def ringing(self) -> bool:
        """True while a cadence is playing (the relay may be in an 'off' segment)."""
        return self._schedule is not None

    def ring(self, pattern: Pattern, now: float, stop: float | None = None) -> None:
        """Play `pattern` from `now` (until `stop`, if given), replacing any cadence playing."""
        self._schedule = CadenceSchedule(pattern, now, stop)
        self.poll(now)

    def silence(self) -> None:
        self._schedule = self._next = None
        self.off()

    def poll(self, now: float) -> None:
        """Set the relay to the cadence's state at `now`."""
        if self._schedule is None:
            return
        self.value = self._schedule.state_at(now)
        self._next = self._schedule.next_change(now)
        if self._next is None and not self.value:
            self._schedule = None

    def deadline(self) -> float | None:
        return self._next

    def close(self) -> None:
        self._schedule = self._next = None
        super().close()
