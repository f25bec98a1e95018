"""Speech fixtures for the simulated handsets, and a check that heard audio carries them.

The check compares loudness envelopes (RMS per 20 ms) at the best lag: codec,
loss concealment and jitter-buffer timing change the waveform, but the
rhythm of speech and pauses survives, and a tone or silence does not match it.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

SAMPLES = Path(__file__).resolve().parent.parent / "voice" / "samples"
RATE = 48000
ENVELOPE = 960   # samples per envelope step (20 ms)


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        if (w.getnchannels(), w.getsampwidth(), w.getframerate()) != (1, 2, RATE):
            raise ValueError(f"{path}: expected 48 kHz mono 16-bit PCM")
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)


def write_wav(path: Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(np.clip(samples, -32768, 32767).astype("<i2").tobytes())


def padded_speech(source: Path, out: Path, lead_seconds: float, tail_seconds: float = 2.0) -> Path:
    """`source` with silence before (while the phone rings) and after; the mouth of a simulated handset."""
    speech = read_wav(source)
    write_wav(out, np.concatenate([np.zeros(int(lead_seconds * RATE)), speech, np.zeros(int(tail_seconds * RATE))]))
    return out


def envelope(samples: np.ndarray) -> np.ndarray:
    n = len(samples) // ENVELOPE
    frames = samples[: n * ENVELOPE].reshape(n, ENVELOPE)
    return np.log10(1.0 + np.sqrt((frames ** 2).mean(axis=1)))


def speech_match(heard: Path, source: Path, source_seconds: float | None = None) -> float:
    """Best normalised correlation of the source's envelope (its first `source_seconds`, if
    given) against the heard audio's (-1..1)."""
    h, s = envelope(read_wav(heard)), envelope(read_wav(source))
    if source_seconds is not None:
        s = s[: int(source_seconds * RATE / ENVELOPE)]
    if s.std() == 0:
        return 0.0
    h = np.concatenate([np.zeros(len(s) // 2), h, np.zeros(len(s) // 2)])   # speech cut at either end still aligns
    best = -1.0
    for lag in range(len(h) - len(s) + 1):
        window = h[lag: lag + len(s)]
        if window.std() > 0:
            best = max(best, float(np.corrcoef(window, s)[0, 1]))
    return best
