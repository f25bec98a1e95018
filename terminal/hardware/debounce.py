"""A pure debouncer: a raw level counts only once it has held for `hold` seconds.

Feed every raw edge with its timestamp (`update`), and call `poll(now)` at
`deadline()` to confirm a level that has stopped bouncing. Both return the
new stable state when it changes, else None.
"""

from __future__ import annotations


class Debouncer:
    def __init__(self, hold: float, state: bool = False):
        if hold < 0:
            raise ValueError(f"debounce hold time must not be negative; got {hold!r}")
        self.hold = hold
        self.state = state
        self._raw = state
        self._since = 0.0

    def update(self, raw: bool, now: float) -> bool | None:
        """A raw level seen at `now`; returns the stable state if the previous level had settled into one."""
        changed = self.poll(now)
        if raw != self._raw:
            self._raw, self._since = raw, now
        return changed if changed is not None else self.poll(now) if self.hold == 0 else None

    def poll(self, now: float) -> bool | None:
        """The new stable state if the raw level has now held long enough, else None."""
        if self._raw != self.state and now >= self._since + self.hold:     # the same sum `deadline` reports
            self.state = self._raw
            return self.state
        return None

    def deadline(self) -> float | None:
        """When `poll` could next confirm a change; None while the raw level equals the stable state."""
        return self._since + self.hold if self._raw != self.state else None
