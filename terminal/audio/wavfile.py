"""File-backed handset for the simulation: a WAV as microphone, a WAV as earpiece.

Same frame interface as ``PyAudioHandset`` (start / next_due / poll / write /
close), paced the same way; after the input ends the microphone gives silence.
"""

import wave
from pathlib import Path

from terminal.audio.errors import AudioError
from terminal.audio.format import CHANNELS, SAMPLE_BYTES, SAMPLE_RATE
from terminal.audio.handset import PacedHandset


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


class FileHandset(PacedHandset):
    """Microphone read from ``source`` (or silence if None), earpiece written to ``sink``."""

    def __init__(self, source: Path | None, sink: Path | None, frame_ms: int = 20):
        super().__init__(frame_ms)
        self._source = self._sink = None
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

    def _read_frame(self) -> bytes:
        """The next input frame, zero-padded at the end of the input, then silence."""
        if self._source is None:
            return self._silence
        data = self._source.readframes(self.format.samples)
        return data + self._silence[len(data):]

    def _write_frame(self, frame: bytes) -> bool:
        if self._sink is None:
            return False
        self._sink.writeframes(frame)         # header kept current: the sim reads a WAV still being written
        return True

    def close(self) -> None:
        """Close both files (the earpiece WAV header is finished here); safe to call twice."""
        for wav in (self._source, self._sink):
            if wav is not None:
                wav.close()
        self._source = self._sink = None
