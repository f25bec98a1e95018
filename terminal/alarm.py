"""One asyncio timer kept at a sans-I/O core's deadline: the adapters' shared re-arm.

    alarm = Alarm(loop, on_due)          # on_due() runs once the armed deadline comes
    alarm.arm(core.get_timer())          # exactly there (None: nothing armed)
    alarm.arm_by(deadline)               # lazily: only if earlier than what is armed

`arm_by` is for a core whose `handle_timer` acts only on what is due, so that firing
early is harmless: it keeps the timer already armed when that is at or before the
deadline, and so does not cancel and re-create one per packet.
"""

from __future__ import annotations

import asyncio
from typing import Callable


class Alarm:
    def __init__(self, loop: asyncio.AbstractEventLoop, on_due: Callable[[], None]):
        self._loop = loop
        self._on_due = on_due
        self._handle: asyncio.TimerHandle | None = None

    @property
    def when(self) -> float | None:
        """The armed deadline (the loop's clock), or None."""
        return None if self._handle is None else self._handle.when()

    def arm(self, deadline: float | None) -> None:
        """Armed at `deadline` exactly; None disarms."""
        if self._handle is not None:
            if deadline is not None and self._handle.when() == deadline:
                return
            self._handle.cancel()
            self._handle = None
        if deadline is not None:
            self._handle = self._loop.call_at(deadline, self._fire)

    def arm_by(self, deadline: float | None) -> None:
        """Armed at or before `deadline`: a timer already armed earlier stays; None changes nothing."""
        if deadline is None or (self._handle is not None and self._handle.when() <= deadline):
            return
        self.arm(deadline)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _fire(self) -> None:
        self._handle = None
        self._on_due()
