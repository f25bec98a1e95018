"""The handset through PyAudio (PortAudio over ALSA), paced by the caller's clock.

On the desk unit the PCMs are a USB handset's; in tests and simulation they are
ALSA ``file``-plugin PCMs (see ``alsaconf``), which are not paced, so capture
hands out only the frames that ``FramePacer`` says have come due. On a real
device a read may wait for the device to catch up with the caller's clock,
which is the clock drift per frame (microseconds); a device running faster
than that clock overflows now and then, and the overflow is dropped.
"""

import pyaudio

from terminal.audio.errors import AudioError
from terminal.audio.format import CHANNELS, SAMPLE_RATE
from terminal.audio.handset import PacedHandset


def find_device(pa: pyaudio.PyAudio, name: str, *, capture: bool) -> int:
    """Index of the PortAudio device called ``name`` that can capture (or play)."""
    key = "maxInputChannels" if capture else "maxOutputChannels"
    names = []
    for index in range(pa.get_device_count()):
        info = pa.get_device_info_by_index(index)
        if info[key] >= CHANNELS:
            names.append(info["name"])
            if info["name"] == name:
                return index
    role = "capture" if capture else "playback"
    raise AudioError(f"no ALSA {role} device named {name!r}; PortAudio sees {names or 'none'} "
                     "(check the asoundrc and ALSA_CONFIG_PATH)")


class PyAudioHandset(PacedHandset):
    """Microphone and earpiece of one handset on named ALSA PCMs (None: not opened;
    without a microphone ``poll`` gives silence)."""

    def __init__(self, capture_device: str | None, playback_device: str | None, frame_ms: int = 20):
        super().__init__(frame_ms)
        self._capture = self._playback = None
        self._pa = pyaudio.PyAudio()
        try:
            if capture_device is not None:
                self._capture = self._open(capture_device, capture=True)
            if playback_device is not None:
                self._playback = self._open(playback_device, capture=False)
        except BaseException:
            self.close()
            raise

    def _open(self, name: str, *, capture: bool):
        index = find_device(self._pa, name, capture=capture)
        device = {"input_device_index": index} if capture else {"output_device_index": index}
        try:
            return self._pa.open(format=pyaudio.paInt16, channels=CHANNELS, rate=SAMPLE_RATE,
                                 input=capture, output=not capture, start=False,
                                 frames_per_buffer=self.format.samples, **device)
        except OSError as exc:
            raise AudioError(f"cannot open ALSA device {name!r} at {SAMPLE_RATE} Hz mono int16: {exc}") from exc

    def start(self, now: float) -> None:
        """Start both streams; the first captured frame is due at ``now``."""
        self.start_stream(capture=True)
        self.start_stream(capture=False)
        super().start(now)

    def start_stream(self, *, capture: bool) -> None:
        """Start the microphone's (or the earpiece's) stream, if opened and not running."""
        stream = self._capture if capture else self._playback
        if stream is not None and stream.is_stopped():
            stream.start_stream()

    @property
    def has_earpiece(self) -> bool:
        return self._playback is not None

    def read_blocking(self) -> bytes:
        """One microphone frame, as soon as the device has it (silence at once without a microphone)."""
        if self._capture is None:
            return self._silence
        return self._capture.read(self.format.samples, exception_on_overflow=False)

    def write_blocking(self, frame: bytes) -> bool:
        """Play one frame, waiting for room in the device's buffer; True if the device had run dry
        before it (PortAudio's output underflow; the frame is played all the same)."""
        try:
            self._playback.write(frame, exception_on_underflow=True)
        except OSError as exc:
            if exc.errno != pyaudio.paOutputUnderflowed:
                raise
            return True
        return False

    def _read_frame(self) -> bytes:
        return self.read_blocking()

    def _write_frame(self, frame: bytes) -> bool:
        if self._playback is None:
            return False
        self._playback.write(frame)
        return True

    def close(self) -> None:
        """Stop and close the streams and PortAudio; safe to call twice."""
        for stream in (self._capture, self._playback):
            if stream is not None:
                if not stream.is_stopped():
                    stream.stop_stream()
                stream.close()
        self._capture = self._playback = None
        if self._pa is not None:
            self._pa.terminate()
            self._pa = None
