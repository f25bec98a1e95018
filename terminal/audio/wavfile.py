"""File-backed handset for the simulation: a WAV as microphone, a WAV as earpiece.

Same frame interface as ``PyAudioHandset`` (start / next_due / poll / write /
close), paced the same way; after the input ends the microphone gives silence.
"""

import wave
from pathlib import Path

from terminal.audio.errors import AudioError
from terminal.audio.format import CHANNELS, SAMPLE_BYTES, SAMPLE_RATE, FrameFormat
from terminal.audio.pacer import FramePacer


def open_pcm_wav(path: Path) -> wave.Wave_read:
    """Open a WAV for reading, insisting on 48 kHz mono int16."""
    try:
        wav = wave.open(str(path), "rb")
    except (OSError, EOFError, wave.Error) as exc:
        raise AudioError(f"{path}: cannot read as WAV: {exc}") from exc
    shape = (wav.getframerate(), wav.getnchannels(), wav.getsampwidth())
    if shape != (SAMPLE_RATE, CHANNELS, SAMPLE_BYTES):
        wav.close()
        raise AudioError(f"{path}: need {SAMPLE_RATE} Hz, {CHANNELS} channel, {8 * SAMPLE_BYTES}-bit PCM; "
                         f"got {shape[0]} Hz, {shape[1]} channels, {8 * shape[2]}-bit")
    return wav


class FileHandset:
    """Microphone read from ``source`` (or silence if None), earpiece written to ``sink``."""

    def __init__(self, source: Path | None, sink: Path | None, frame_ms: int = 20):
        self.format = FrameFormat(frame_ms)
        self._pacer = FramePacer(self.format.seconds)
        self._source = self._sink = None
        self._silence = bytes(self.format.frame_bytes)
        try:
            if source is not None:
                self._source = open_pcm_wav(source)
            if sink is not None:
                self._sink = wave.open(str(sink), "wb")
                self._sink.setnchannels(CHANNELS)
                self._sink.setsampwidth(SAMPLE_BYTES)
                self._sink.setframerate(SAMPLE_RATE)
        except OSError as exc:
            self.close()
            raise AudioError(f"{sink}: cannot write WAV: {exc}") from exc
        except BaseException:
            self.close()
            raise

    def start(self, now: float) -> None:
        """The first microphone frame is due at ``now``."""
        self._pacer.start(now)

    def next_due(self) -> float | None:
        """When the next microphone frame is due."""
        return self._pacer.next_due()

    def poll(self, now: float) -> list[bytes]:
        """Microphone frames due by ``now``; zero-padded, then silence after the input ends."""
        return [self._read_frame() for _ in range(self._pacer.take_due(now))]

    def _read_frame(self) -> bytes:
        if self._source is None:
            return self._silence
        data = self._source.readframes(self.format.samples)
        return data + self._silence[len(data):]

    def write(self, frame: bytes) -> None:
        """Append one frame to the earpiece WAV."""
        if self._sink is None:
            raise AudioError("this handset was opened without an earpiece file")
        self._sink.writeframes(self.format.check(frame))

    def close(self) -> None:
        """Close both files (the earpiece WAV header is finished here); safe to call twice."""
        for wav in (self._source, self._sink):
            if wav is not None:
                wav.close()
        self._source = self._sink = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
