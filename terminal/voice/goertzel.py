"""Goertzel tone detection: how much of a block's energy sits at one frequency.

The Goertzel recursion computes one DFT bin; numpy computes the same bin as one
dot product. A Hann window keeps an off-bin tone from leaking, and the power
is normalised so that a pure tone at ``freq`` scores about 1.0 and white noise
about 1/len(block).
"""

import numpy as np

SAMPLE_RATE = 48000
DEFAULT_THRESHOLD = 0.4


def _samples(block) -> np.ndarray:
    if isinstance(block, (bytes, bytearray, memoryview)):
        block = np.frombuffer(block, dtype="<i2")
    return np.asarray(block, dtype=np.float64)


def goertzel_power(block, freq: float, rate: int = SAMPLE_RATE) -> float:
    """|X(freq)|^2 of the Hann-windowed block (int16 bytes or an array of samples)."""
    x = _samples(block)
    n = np.arange(len(x))
    windowed = x * np.hanning(len(x))
    bin_value = np.dot(windowed, np.exp(-2j * np.pi * freq / rate * n))
    return float(abs(bin_value) ** 2)


def tone_ratio(block, freq: float, rate: int = SAMPLE_RATE) -> float:
    """Share of the block's energy at ``freq``: about 1 for a pure tone, 0 for silence."""
    x = _samples(block)
    energy = float(np.dot(x, x))
    if len(x) < 2 or energy == 0.0:
        return 0.0
    window_sum = float(np.hanning(len(x)).sum())
    return 2 * len(x) * goertzel_power(x, freq, rate) / (window_sum ** 2 * energy)


def detect(block, freq: float, rate: int = SAMPLE_RATE, threshold: float = DEFAULT_THRESHOLD) -> bool:
    """Whether ``freq`` carries at least ``threshold`` of the block's energy."""
    return tone_ratio(block, freq, rate) >= threshold
