"""Call-progress and test tones as 48 kHz int16 PCM, frame by frame from any sample position.

A tone is a repeating sequence of steps, each some frequencies summed for some
seconds (no frequencies: silence). Phase follows the absolute sample index and
every sounding step fades in and out over a few milliseconds, so frames join
without clicks wherever they are cut. Per-country ring and progress tones come
from ``terminal.call.tones`` (``ToneSpec.from_tone``); the named tones here are
the European defaults and the self-test tone.
"""

import math
from dataclasses import dataclass

import numpy as np

from terminal.errors import HotlineError

SAMPLE_RATE = 48000
DEFAULT_LEVEL_DBFS = -13.0     # per frequency, sine peak relative to full scale
RAMP_SECONDS = 0.004           # raised-cosine fade at each step's start and end


class ToneError(HotlineError, ValueError):
    """A tone specification that cannot be played."""


@dataclass(frozen=True)
class ToneSpec:
    """Steps of ``(frequencies_hz, seconds)`` repeated forever, each frequency at ``level_dbfs``;
    ``modulation_hz`` amplitude-modulates the whole tone (Japan's 400*16 Hz)."""

    steps: tuple[tuple[tuple[float, ...], float], ...]
    level_dbfs: float = DEFAULT_LEVEL_DBFS
    modulation_hz: float = 0.0

    def __post_init__(self):
        if not self.steps:
            raise ToneError("a tone needs at least one step")
        for freqs, seconds in self.steps:
            if not seconds > 0:
                raise ToneError(f"tone step length must be positive seconds, not {seconds!r}")
            for f in freqs:
                if not 0 < f < SAMPLE_RATE / 2:
                    raise ToneError(f"tone frequency must be between 0 and {SAMPLE_RATE // 2} Hz, not {f!r}")
            if len(freqs) * self.amplitude > 1.0:
                raise ToneError(f"{len(freqs)} frequencies at {self.level_dbfs} dBFS each would clip")
        if self.modulation_hz < 0:
            raise ToneError(f"modulation frequency must not be negative, not {self.modulation_hz!r}")

    @property
    def amplitude(self) -> float:
        """Peak of each sine as a fraction of full scale."""
        return 10 ** (self.level_dbfs / 20)

    @classmethod
    def cadenced(cls, freqs: tuple[float, ...], cadence: tuple[float, ...] = (),
                 level_dbfs: float = DEFAULT_LEVEL_DBFS, modulation_hz: float = 0.0) -> "ToneSpec":
        """``freqs`` during the on parts of an on/off ``cadence`` (seconds); () means continuous."""
        if len(cadence) % 2:
            raise ToneError(f"a cadence alternates on and off, so needs an even count of lengths, not {cadence!r}")
        if not cadence:
            return cls(((tuple(freqs), math.inf),), level_dbfs, modulation_hz)
        steps = tuple((tuple(freqs) if i % 2 == 0 else (), s) for i, s in enumerate(cadence))
        return cls(steps, level_dbfs, modulation_hz)

    @classmethod
    def from_tone(cls, tone, level_dbfs: float = DEFAULT_LEVEL_DBFS) -> "ToneSpec":
        """From a ``terminal.call.tones.Tone`` (anything with ``steps`` of ``frequencies``/``seconds``)."""
        steps = tuple((tuple(step.frequencies), step.seconds) for step in tone.steps)
        return cls(steps, level_dbfs, getattr(tone, "modulation_hz", 0.0))


def _ramp(seconds: np.ndarray) -> np.ndarray:
    return 0.5 - 0.5 * np.cos(np.pi * np.clip(seconds / RAMP_SECONDS, 0.0, 1.0))


def render(spec: ToneSpec, start: int, count: int) -> np.ndarray:
    """``count`` int16 samples of ``spec`` beginning at absolute sample ``start``."""
    n = np.arange(start, start + count, dtype=np.float64)
    t = n / SAMPLE_RATE
    edges = np.concatenate(([0.0], np.cumsum([s for _, s in spec.steps])))
    where = t if math.isinf(edges[-1]) else np.mod(t, edges[-1])
    index = np.clip(np.searchsorted(edges, where, side="right") - 1, 0, len(spec.steps) - 1)
    envelope = _ramp(np.minimum(where - edges[index], edges[index + 1] - where))
    signal = np.zeros(count)
    for i, (freqs, _) in enumerate(spec.steps):
        mask = index == i
        for f in freqs:
            signal[mask] += np.sin(2 * np.pi * f * t[mask])
    signal *= envelope * spec.amplitude
    if spec.modulation_hz:
        signal *= 0.5 + 0.5 * np.sin(2 * np.pi * spec.modulation_hz * t)
    return np.round(signal * 32767).astype("<i2")


class ToneGenerator:
    """Hands out consecutive PCM frames of a tone from sample ``position``."""

    def __init__(self, spec: ToneSpec, frame_samples: int = 960, position: int = 0):
        self.spec = spec
        self.frame_samples = frame_samples
        self.position = position

    def next_frame(self) -> bytes:
        """The next frame as int16 little-endian bytes."""
        frame = render(self.spec, self.position, self.frame_samples)
        self.position += self.frame_samples
        return frame.tobytes()


# European (CEPT/ETSI) defaults; per-country versions come from terminal.call.tones.
RINGBACK = ToneSpec.cadenced((425.0,), (1.0, 4.0))
UNREACHABLE = ToneSpec.cadenced((425.0,), (0.25, 0.25))          # congestion
NO_ANSWER = ToneSpec((((950.0,), 0.33), ((1400.0,), 0.33), ((1800.0,), 0.33), ((), 1.0)))  # E.180 SIT
TEST_TONE = ToneSpec.cadenced((1004.0,), (), level_dbfs=-10.0)   # ITU-T O.6 style test frequency
NAMED_TONES = {"ringback": RINGBACK, "unreachable": UNREACHABLE, "no_answer": NO_ANSWER, "test": TEST_TONE}
