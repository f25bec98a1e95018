"""Is a test tone in a stretch of PCM? The Goertzel ratio and the level, with the verdict in words.

Used on the codec's output and on what the handset microphone heard; one place
decides "silent", "no tone" and "tone present" so both checks agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from terminal.voice.goertzel import DEFAULT_THRESHOLD, tone_ratio

SILENCE_DBFS = -70.0      # below this RMS the signal is taken as no signal at all


@dataclass(frozen=True)
class ToneReading:
    freq: float
    ratio: float          # share of the energy at `freq` (1.0: a pure tone)
    level_dbfs: float     # RMS relative to full scale (-inf for digital silence)
    threshold: float = DEFAULT_THRESHOLD

    @property
    def silent(self) -> bool:
        return self.level_dbfs < SILENCE_DBFS

    @property
    def detected(self) -> bool:
        return not self.silent and self.ratio >= self.threshold

    def data(self) -> dict:
        return {"freq_hz": self.freq, "tone_ratio": round(self.ratio, 4),
                "level_dbfs": round(self.level_dbfs, 1) if math.isfinite(self.level_dbfs) else -999.0}


def read_tone(pcm: bytes, freq: float, threshold: float = DEFAULT_THRESHOLD) -> ToneReading:
    """Measure int16 little-endian mono 48 kHz `pcm` at `freq`."""
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    rms = float(np.sqrt(np.mean(x * x))) if len(x) else 0.0
    level = 20 * math.log10(rms / 32768) if rms > 0 else -math.inf
    return ToneReading(freq, tone_ratio(x, freq), level, threshold)
