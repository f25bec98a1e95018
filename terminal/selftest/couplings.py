"""Ways to get the earpiece's sound back to the microphone, for the audio loopback check.

`HandsetLoopback`: one handset playing and capturing at once (the desk unit:
acoustic coupling in the cradle, real PyAudio streams that pace themselves),
opened for the test from the same factory the call loop uses.
`FileCoupling`: the earpiece writes a file, then the microphone reads it (tests
and simulation, where ALSA's file plugin and WAV handsets are not paced).
Both work with anything shaped like `terminal.audio.handset.PacedHandset`.
"""

from __future__ import annotations

from typing import Callable, Protocol, Sequence


class Handset(Protocol):
    def start(self, now: float) -> None: ...
    def poll(self, now: float) -> list[bytes]: ...
    def write(self, frame: bytes) -> None: ...
    def close(self) -> None: ...


FRAME_SECONDS = 0.02


class Interrupted(Exception):
    """The unit was wanted (handset lifted, a call began) while the check held the handset."""


class HandsetLoopback:
    """Open a handset, play and capture on it a frame at a time, close it (the daemon's handset factory).

    `interrupted()` is asked before every frame: once it is true the handset is
    closed at once (within a frame) and `Interrupted` raised, so a call that
    begins mid-check gets the device."""

    def __init__(self, open_handset: Callable[[], Handset], frame_seconds: float = FRAME_SECONDS,
                 interrupted: Callable[[], bool] = lambda: False):
        self.open_handset = open_handset
        self.frame_seconds = frame_seconds
        self.interrupted = interrupted

    def play_and_capture(self, frames: Sequence[bytes]) -> list[bytes]:
        handset = self.open_handset()
        try:
            handset.start(0.0)
            captured: list[bytes] = []
            for i, frame in enumerate(frames):
                if self.interrupted():
                    raise Interrupted("the handset was wanted during the audio loopback")
                handset.write(frame)
                captured += handset.poll(i * self.frame_seconds)
            return captured
        finally:
            handset.close()


class FileCoupling:
    """Play everything on a fresh earpiece handset, close it, then capture as long from a fresh microphone."""

    def __init__(self, open_earpiece: Callable[[], Handset], open_microphone: Callable[[], Handset],
                 frame_seconds: float = FRAME_SECONDS):
        self.open_earpiece = open_earpiece
        self.open_microphone = open_microphone
        self.frame_seconds = frame_seconds

    def play_and_capture(self, frames: Sequence[bytes]) -> list[bytes]:
        earpiece = self.open_earpiece()
        try:
            earpiece.start(0.0)
            for frame in frames:
                earpiece.write(frame)
        finally:
            earpiece.close()
        microphone = self.open_microphone()
        try:
            microphone.start(0.0)
            return microphone.poll((len(frames) - 1) * self.frame_seconds)
        finally:
            microphone.close()
