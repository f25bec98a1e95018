"""The handset's hook switch: a gpiozero input whose value is debounced on our side.

gpiozero's MockPin ignores `bounce_time`, and a cradle switch bounces, so the
pin's edges go through `Debouncer` with timestamps from `clock`. A level that
stopped bouncing is confirmed by `poll()` at `deadline()`; an edge itself
confirms a level that had already held. Domain words are aliases.

On a real Pi, edges arrive on gpiozero's callback thread. Pass
`dispatch=loop.call_soon_threadsafe` to handle them on the owner's thread and
`call_at=loop.call_at` (with `clock=loop.time`) to have `poll()` scheduled
automatically; `when_lifted` / `when_replaced` then fire on the loop.
"""

from __future__ import annotations

import time
from typing import Callable

from gpiozero import DigitalInputDevice

from terminal.hardware.debounce import Debouncer


def _call_now(fn: Callable[[], None]) -> None:
    fn()


class HookSwitch(DigitalInputDevice):
    """Active (lifted) when the switch closes; with `pull_up` the contact closes to ground."""

    def __init__(self, pin=None, *, pull_up: bool = True, hold: float = 0.03,
                 clock: Callable[[], float] = time.monotonic,
                 dispatch: Callable[[Callable[[], None]], None] = _call_now,
                 call_at: Callable[[float, Callable[[], None]], object] | None = None,
                 pin_factory=None):
        self._clock, self._dispatch, self._call_at = clock, dispatch, call_at
        self._debouncer: Debouncer | None = None
        super().__init__(pin, pull_up=pull_up, pin_factory=pin_factory)
        try:
            self._debouncer = Debouncer(hold, bool(self._state_to_value(self.pin.state)))
        except:
            self.close()
            raise

    @property
    def value(self) -> int:
        """1 when the debounced switch says lifted."""
        if self._debouncer is None:
            return super().value
        return int(self._debouncer.state)

    def _pin_changed(self, ticks, state):
        level, now = bool(self._state_to_value(state)), self._clock()
        self._dispatch(lambda: self._edge(level, now))

    def _edge(self, level: bool, now: float) -> None:
        if self._debouncer is None:
            return
        self._confirm(self._debouncer.update(level, now))
        when = self._debouncer.deadline()
        if when is not None and self._call_at is not None:
            self._call_at(when, self.poll)

    def poll(self) -> None:
        """Confirm a level that has held long enough (fires `when_lifted` / `when_replaced`)."""
        if self._debouncer is not None:
            self._confirm(self._debouncer.poll(self._clock()))

    def deadline(self) -> float | None:
        """When `poll()` should next be called (on `clock`'s scale), or None."""
        return None if self._debouncer is None else self._debouncer.deadline()

    def _confirm(self, changed: bool | None) -> None:
        if changed is not None:
            self._fire_events(self.pin_factory.ticks(), changed)

    is_lifted = DigitalInputDevice.is_active
    when_lifted = DigitalInputDevice.when_activated
    when_replaced = DigitalInputDevice.when_deactivated
    wait_for_lift = DigitalInputDevice.wait_for_active
    wait_for_replace = DigitalInputDevice.wait_for_inactive
