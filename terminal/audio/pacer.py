"""Frame pacing against a caller-supplied clock (sans-I/O).

The ALSA ``file`` plugin and plain files deliver audio as fast as they are
read, so every stream paces itself: frame ``n`` is due at ``start + n * frame``.
"""


class FramePacer:
    """Counts frame slots that have come due since ``start(now)``."""

    def __init__(self, frame_seconds: float):
        self.frame_seconds = frame_seconds
        self._start: float | None = None
        self._taken = 0

    @property
    def started(self) -> bool:
        """Whether ``start`` has been called."""
        return self._start is not None

    def start(self, now: float) -> None:
        """Make frame 0 due at ``now``."""
        self._start = now
        self._taken = 0

    def next_due(self) -> float | None:
        """When the next untaken frame comes due; None before ``start``."""
        if self._start is None:
            return None
        return self._start + self._taken * self.frame_seconds

    def take_due(self, now: float) -> int:
        """Number of frames due at ``now`` not taken yet; marks them taken."""
        if self._start is None:
            return 0
        due = int((now - self._start) / self.frame_seconds + 1e-9) + 1
        count = max(0, due - self._taken)
        self._taken += count
        return count
