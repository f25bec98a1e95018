"""What every handset shares: frame format, self-pacing capture, checked playback."""

from terminal.audio.errors import AudioError
from terminal.audio.format import FrameFormat
from terminal.audio.pacer import FramePacer


class PacedHandset:
    """Microphone frames handed out as they come due on the caller's clock; one frame
    at a time to the earpiece. Subclasses read, write and close the actual streams.

    The surface terminal/audio/pump.py and the call loop use, shared with the threaded
    DeviceClockHandset (terminal/audio/device_clock.py): `threaded` (False: the caller's
    timer at `next_due()` paces it), `attach(wake)` (nothing to wake here), `counts` (what
    went wrong locally: nothing can, on the caller's own clock)."""

    threaded = False

    def __init__(self, frame_ms: int = 20):
        self.format = FrameFormat(frame_ms)
        self._pacer = FramePacer(self.format.seconds)
        self._silence = bytes(self.format.frame_bytes)
        self.counts: dict[str, int] = {}

    def attach(self, wake) -> None:
        """A threaded handset's wake-up; a paced one is polled on the caller's timer instead."""

    def start(self, now: float) -> None:
        """The first microphone frame is due at ``now``."""
        self._pacer.start(now)

    def next_due(self) -> float | None:
        """When the next microphone frame is due (for the caller's timer); None before start."""
        return self._pacer.next_due()

    def poll(self, now: float) -> list[bytes]:
        """Microphone frames that have come due by ``now``, oldest first."""
        return [self._read_frame() for _ in range(self._pacer.take_due(now))]

    def write(self, frame: bytes) -> None:
        """Play one frame on the earpiece."""
        if not self._write_frame(self.format.check(frame)):
            raise AudioError("this handset was opened without an earpiece")

    def _read_frame(self) -> bytes:
        raise NotImplementedError

    def _write_frame(self, frame: bytes) -> bool:
        """Write one checked frame; False if there is no earpiece."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
