"""Speech-free test signals for the audio tests."""

import wave

import numpy as np
import pytest


def write_wav(path, samples: np.ndarray) -> None:
    """Write int16 samples as a 48 kHz mono WAV."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(48000)
        wav.writeframes(samples.astype("<i2").tobytes())


def read_wav(path) -> np.ndarray:
    """The int16 samples of a WAV."""
    with wave.open(str(path), "rb") as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")


@pytest.fixture
def ramp_wav(tmp_path):
    """One second of a sample-index ramp: every frame's content is predictable."""
    path = tmp_path / "ramp.wav"
    write_wav(path, (np.arange(48000) % 20000) - 10000)
    return path
