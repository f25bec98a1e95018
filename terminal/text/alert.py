"""When to light the message LED and when to ring a short burst (sans-I/O).

The LED is on while anything is unread. An unread urgent message (FLASH or
IMMEDIATE) rings a burst when it arrives and again every `intervals[p]`
seconds until a person acknowledges it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping

from terminal.text.events import MessageLed, RingerBurst
from terminal.text.precedence import Precedence

DEFAULT_INTERVALS = {Precedence.FLASH: 60.0, Precedence.IMMEDIATE: 300.0}
DEFAULT_BURST = 1.5


class AlertPolicy:
    def __init__(self, intervals: Mapping[Precedence, float] = DEFAULT_INTERVALS,
                 burst_seconds: float = DEFAULT_BURST) -> None:
        for precedence, seconds in intervals.items():
            if not precedence.urgent:
                raise ValueError(f"{precedence.name} messages do not re-alert; only FLASH and IMMEDIATE")
            if seconds <= 0:
                raise ValueError(f"re-alert interval for {precedence.name} must be positive, not {seconds}")
        self.intervals = dict(intervals)
        self.burst_seconds = burst_seconds
        self.led: bool | None = None
        self._unread: dict[str, Precedence] = {}
        self._due: dict[str, tuple[float, Precedence]] = {}
        self._next: float | None = None           # the earliest time in _due
        self._actions: deque[MessageLed | RingerBurst] = deque()

    def update(self, unread: Iterable[tuple[str, Precedence]], now: float) -> None:
        """Call with every unread message: at start, and whenever the set is known only whole."""
        self._unread = dict(unread)
        for id in set(self._due) - set(self._unread):
            del self._due[id]
        for id, precedence in self._unread.items():
            if precedence in self.intervals and id not in self._due:
                self._due[id] = (now, precedence)
        self._next = self._earliest()
        self._changed(now)

    def arrived(self, id: str, precedence: Precedence, now: float) -> None:
        """One message was received and is unread: the same as `update` with it added, in
        constant time (a unit with thousands unread still takes each new one quickly)."""
        self._unread[id] = precedence
        if precedence in self.intervals and id not in self._due:
            self._due[id] = (now, precedence)
            self._next = now if self._next is None else min(self._next, now)
        self._changed(now)

    def read(self, id: str, now: float) -> None:
        """A person acknowledged message `id`: the same as `update` without it."""
        self._unread.pop(id, None)
        gone = self._due.pop(id, None)
        if gone is not None and gone[0] == self._next:
            self._next = self._earliest()
        self._changed(now)

    def _changed(self, now: float) -> None:
        if bool(self._unread) != self.led:
            self.led = bool(self._unread)
            self._actions.append(MessageLed(self.led, now))
        self.handle_timer(now)

    def _earliest(self) -> float | None:
        return min((at for at, _ in self._due.values()), default=None)

    def get_timer(self) -> float | None:
        return self._next

    def handle_timer(self, now: float) -> None:
        """Ring once for everything due (for the most urgent), and schedule the next ring."""
        if self._next is None or self._next > now:
            return
        due = sorted((p, id) for id, (at, p) in self._due.items() if at <= now)
        precedence, id = due[0]
        self._actions.append(RingerBurst(id, precedence, self.burst_seconds, now))
        for p, id in due:
            self._due[id] = (now + self.intervals[p], p)
        self._next = self._earliest()

    def clock_stepped(self, step: float) -> None:
        """The clock behind `now` stepped by `step` seconds: each re-alert keeps its interval."""
        self._due = {id: (at + step, p) for id, (at, p) in self._due.items()}
        self._next = self._earliest()

    def next_action(self) -> MessageLed | RingerBurst | None:
        return self._actions.popleft() if self._actions else None
