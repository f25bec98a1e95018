"""The one PCM format the handset speaks: 48 kHz mono int16, 10/20/40 ms frames."""

from dataclasses import dataclass

from terminal.audio.errors import AudioError

SAMPLE_RATE = 48000
CHANNELS = 1
SAMPLE_BYTES = 2
FRAME_MS_CHOICES = (10, 20, 40)


@dataclass(frozen=True)
class FrameFormat:
    """Frame geometry for ``frame_ms`` milliseconds of 48 kHz mono int16."""

    frame_ms: int = 20

    def __post_init__(self):
        if self.frame_ms not in FRAME_MS_CHOICES:
            raise AudioError(f"frame length must be one of {FRAME_MS_CHOICES} ms, not {self.frame_ms!r}")

    @property
    def samples(self) -> int:
        """Samples in one frame."""
        return SAMPLE_RATE * self.frame_ms // 1000

    @property
    def frame_bytes(self) -> int:
        """Bytes in one frame."""
        return self.samples * CHANNELS * SAMPLE_BYTES

    @property
    def seconds(self) -> float:
        """Duration of one frame in seconds."""
        return self.frame_ms / 1000

    def check(self, frame: bytes) -> bytes:
        """Return ``frame`` if it is exactly one frame long, else raise AudioError."""
        if len(frame) != self.frame_bytes:
            raise AudioError(f"PCM frame must be {self.frame_bytes} bytes ({self.frame_ms} ms), not {len(frame)}")
        return frame
