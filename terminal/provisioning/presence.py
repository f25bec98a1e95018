"""Physical presence: the provisioning button pressed within the last 60 s.

`Presence` is pure: the caller passes clock values in. `watch_button` connects
a gpiozero Button (any pin factory; MockFactory in tests) to it.
"""

from __future__ import annotations

from typing import Callable

from terminal.provisioning.constants import PRESENCE_WINDOW


class Presence:
    def __init__(self, window: float = PRESENCE_WINDOW):
        self.window = window
        self._pressed_at: float | None = None

    def press(self, now: float) -> None:
        self._pressed_at = now

    def is_recent(self, now: float) -> bool:
        return self._pressed_at is not None and 0.0 <= now - self._pressed_at <= self.window


def watch_button(button, presence: Presence, clock: Callable[[], float]) -> None:
    """Record each press of `button` (a gpiozero Button) in `presence` at `clock()`."""
    button.when_pressed = lambda: presence.press(clock())
