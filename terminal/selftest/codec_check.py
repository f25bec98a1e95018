"""The Opus codec check: a test tone through encoder and decoder still has its frequency."""

from __future__ import annotations

from typing import Callable, Protocol

from terminal.selftest.measure import read_tone
from terminal.selftest.result import CheckResult
from terminal.voice.codec import Decoder, Encoder
from terminal.voice.tones import TEST_TONE, ToneGenerator

NAME = "opus_codec"
FRAMES = 15               # 300 ms of 20 ms frames
SETTLE_FRAMES = 5         # the encoder's first frames ramp up; judge what follows


class FrameEncoder(Protocol):
    samples: int

    def encode(self, pcm: bytes) -> bytes: ...
    def close(self) -> None: ...


class FrameDecoder(Protocol):
    def decode(self, packet: bytes) -> bytes: ...
    def close(self) -> None: ...


def check_codec(freq: float | None = None,
                make_encoder: Callable[[], FrameEncoder] = Encoder,
                make_decoder: Callable[[], FrameDecoder] = Decoder) -> CheckResult:
    """Encode FRAMES of the test tone, decode them, and look for the tone's frequency at `freq`
    (default: the test tone's own)."""
    tone_freq = TEST_TONE.steps[0][0][0]
    freq = tone_freq if freq is None else freq
    encoder, decoder = make_encoder(), make_decoder()
    try:
        tone = ToneGenerator(TEST_TONE, frame_samples=encoder.samples)
        decoded = [decoder.decode(encoder.encode(tone.next_frame())) for _ in range(FRAMES)]
    finally:
        encoder.close()
        decoder.close()
    reading = read_tone(b"".join(decoded[SETTLE_FRAMES:]), freq)
    data = reading.data()
    if reading.detected:
        return CheckResult(NAME, True, f"a {tone_freq:g} Hz tone came through Opus "
                                       f"(Goertzel ratio {reading.ratio:.2f} at {freq:g} Hz)", data)
    what = "silence" if reading.silent else f"no {freq:g} Hz tone (Goertzel ratio {reading.ratio:.2f})"
    return CheckResult(NAME, False, f"Opus encode/decode of a {tone_freq:g} Hz tone gave {what}", data)
