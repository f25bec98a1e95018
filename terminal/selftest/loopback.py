"""The audio loopback check: a test tone to the earpiece must reach the microphone.

On the desk the coupling is acoustic (handset in the cradle) or an electrical
loopback the board names; in simulation and tests it is a file the earpiece
writes and the microphone reads (see `couplings`). The check only needs
something that plays frames and returns what the microphone captured.
"""

from __future__ import annotations

from typing import Protocol, Sequence

from terminal.selftest.measure import read_tone
from terminal.selftest.result import CheckResult
from terminal.voice.tones import TEST_TONE, ToneGenerator

NAME = "audio_loopback"
FRAME_SAMPLES = 960       # 20 ms at 48 kHz
FRAMES = 20               # 400 ms of tone
SETTLE_FRAMES = 5         # skip the path's latency and the capture's start


class Loopback(Protocol):
    def play_and_capture(self, frames: Sequence[bytes]) -> list[bytes]:
        """Play `frames` on the earpiece; the microphone's frames over the same time."""


def check_audio_loopback(loopback: Loopback, frames: int = FRAMES) -> CheckResult:
    freq = TEST_TONE.steps[0][0][0]
    tone = ToneGenerator(TEST_TONE, frame_samples=FRAME_SAMPLES)
    captured = loopback.play_and_capture([tone.next_frame() for _ in range(frames)])
    if len(captured) < frames:
        return CheckResult(NAME, False, f"microphone gave {len(captured)} of {frames} frames",
                           {"frames": len(captured)})
    reading = read_tone(b"".join(captured[SETTLE_FRAMES:frames]), freq)
    data = reading.data()
    if reading.silent:
        return CheckResult(NAME, False, f"microphone silent (level {data['level_dbfs']} dBFS): microphone, "
                                        "its cable or the capture device dead", data)
    if not reading.detected:
        return CheckResult(NAME, False, f"no {freq:g} Hz test tone heard (Goertzel ratio {reading.ratio:.2f}, "
                                        f"microphone level {reading.level_dbfs:.0f} dBFS): earpiece dead, "
                                        "or the handset is not in its cradle", data)
    return CheckResult(NAME, True, f"{freq:g} Hz test tone from the earpiece heard on the microphone "
                                   f"(Goertzel ratio {reading.ratio:.2f}, {reading.level_dbfs:.0f} dBFS)", data)
