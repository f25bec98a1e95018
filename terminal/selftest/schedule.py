"""When the next scheduled self-test is due, for machines without systemd (sans-I/O).

    schedule = Schedule(interval=3600, first_after=60)
    schedule.start(now)
    ... at schedule.get_timer(): if schedule.handle_timer(now, busy=call_active): run it, then
    schedule.done(now)

A run that comes due during a call is put off by `retry_after` seconds, not
skipped; runs missed while the machine slept are not made up one by one.
"""

from __future__ import annotations


class Schedule:
    def __init__(self, interval: float = 3600.0, first_after: float = 60.0, retry_after: float = 60.0):
        if interval <= 0 or first_after < 0 or retry_after <= 0:
            raise ValueError(f"self-test schedule needs interval > 0, first_after >= 0 and retry_after > 0; "
                             f"got {interval!r}, {first_after!r}, {retry_after!r}")
        self.interval = interval
        self.first_after = first_after
        self.retry_after = retry_after
        self._due: float | None = None
        self.running = False

    def start(self, now: float) -> None:
        self._due = now + self.first_after

    def get_timer(self) -> float | None:
        """When `handle_timer` should next be called; None before `start` and while a run is going."""
        return None if self.running else self._due

    def handle_timer(self, now: float, busy: bool = False) -> bool:
        """True: start a run now (then call `done`). While `busy`, the run is put off."""
        if self.running or self._due is None or now < self._due:
            return False
        if busy:
            self._due = now + self.retry_after
            return False
        self.running = True
        return True

    def done(self, now: float) -> None:
        """A run finished at `now`: the next is due one interval later."""
        self.running = False
        self._due = now + self.interval
