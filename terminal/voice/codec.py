"""Every Opus call of the project, through opuslib's low-level ``opuslib.api``.

opuslib 3.0.1's high-level ``inband_fec`` setter and ``decode(None)`` are
broken, so the encoder and decoder states are driven with the C API directly:
48 kHz mono int16 PCM, 10/20/40 ms frames.
"""

import ctypes

import opuslib
import opuslib.api.ctl as ctl
import opuslib.api.decoder as opus_decoder
import opuslib.api.encoder as opus_encoder
from opuslib.api.info import strerror

from terminal.errors import HotlineError

SAMPLE_RATE = 48000
CHANNELS = 1
SAMPLE_BYTES = 2
FRAME_MS_CHOICES = (10, 20, 40)
DEFAULT_FRAME_MS = 20
DEFAULT_BITRATE = 24000
DEFAULT_COMPLEXITY = 9           # libopus 1.3's own default, set so that no libopus version changes it
MAX_PACKET_BYTES = 1275          # largest single Opus frame (RFC 6716 section 3.2.1)


class CodecError(HotlineError, ValueError):
    """A codec setting, a PCM frame or an Opus packet is not usable."""


def _words(code: int) -> str:
    """libopus's own words for an error code."""
    return strerror(code).decode("ascii", "replace")


def frame_samples(frame_ms: int) -> int:
    """Samples per channel in one frame of ``frame_ms`` milliseconds."""
    if frame_ms not in FRAME_MS_CHOICES:
        raise CodecError(f"frame length must be one of {FRAME_MS_CHOICES} ms, not {frame_ms!r}")
    return SAMPLE_RATE * frame_ms // 1000


class Encoder:
    """Opus VoIP encoder: one PCM frame in, one Opus packet out."""

    def __init__(self, frame_ms: int = DEFAULT_FRAME_MS, bitrate: int = DEFAULT_BITRATE,
                 fec: bool = True, loss_percent: int = 0, complexity: int = DEFAULT_COMPLEXITY):
        self.frame_ms = frame_ms
        self.samples = frame_samples(frame_ms)
        self.frame_bytes = self.samples * CHANNELS * SAMPLE_BYTES
        if not 6000 <= bitrate <= 510000:
            raise CodecError(f"Opus bitrate must be 6000..510000 bit/s, not {bitrate!r}")
        if not 0 <= complexity <= 10:
            raise CodecError(f"Opus complexity must be 0..10, not {complexity!r}")
        self._state = opus_encoder.create_state(SAMPLE_RATE, CHANNELS, opuslib.APPLICATION_VOIP)
        self._out = ctypes.create_string_buffer(MAX_PACKET_BYTES)
        self._ctl(ctl.set_bitrate, bitrate)
        self._ctl(ctl.set_signal, opuslib.SIGNAL_VOICE)
        self._ctl(ctl.set_complexity, complexity)
        self._ctl(ctl.set_inband_fec, int(fec))
        self.set_loss_percent(loss_percent)

    def _ctl(self, request, value=None):
        return opus_encoder.encoder_ctl(self._state, request, value)

    @property
    def bitrate(self) -> int:
        return self._ctl(ctl.get_bitrate)

    @property
    def application(self) -> str:
        """"voip" (what this encoder is made with), "audio" or "lowdelay", as libopus reports it."""
        return {opuslib.APPLICATION_VOIP: "voip", opuslib.APPLICATION_AUDIO: "audio",
                opuslib.APPLICATION_RESTRICTED_LOWDELAY: "lowdelay"}[self._ctl(ctl.get_application)]

    @property
    def complexity(self) -> int:
        return self._ctl(ctl.get_complexity)

    @property
    def fec(self) -> bool:
        return bool(self._ctl(ctl.get_inband_fec))

    @property
    def loss_percent(self) -> int:
        return self._ctl(ctl.get_packet_loss_perc)

    def set_loss_percent(self, percent: int) -> None:
        """Tell the encoder the expected packet loss (0..100 %); sizes its in-band FEC."""
        if not 0 <= percent <= 100:
            raise CodecError(f"packet loss hint must be 0..100 %, not {percent!r}")
        self._ctl(ctl.set_packet_loss_perc, percent)

    def encode(self, pcm: bytes) -> bytes:
        """Encode exactly one frame of 48 kHz mono int16 PCM."""
        if len(pcm) != self.frame_bytes:
            raise CodecError(f"a {self.frame_ms} ms frame is {self.frame_bytes} bytes of PCM, "
                             f"got {len(pcm)}")
        pcm_pointer = ctypes.cast(ctypes.c_char_p(bytes(pcm)), opuslib.api.c_int16_pointer)
        length = opus_encoder.libopus_encode(self._state, pcm_pointer, self.samples,
                                             self._out, MAX_PACKET_BYTES)
        if length < 0:
            raise CodecError(f"Opus encoder failed: {_words(length)}")
        return self._out.raw[:length]

    def close(self) -> None:
        if self._state is not None:
            opus_encoder.destroy(self._state)
            self._state = None


class Decoder:
    """Opus decoder: a packet, the next packet's FEC, or nothing (PLC) in; one PCM frame out."""

    def __init__(self, frame_ms: int = DEFAULT_FRAME_MS):
        self.frame_ms = frame_ms
        self.samples = frame_samples(frame_ms)
        self.frame_bytes = self.samples * CHANNELS * SAMPLE_BYTES
        self._state = opus_decoder.create_state(SAMPLE_RATE, CHANNELS)
        self._pcm = (ctypes.c_int16 * self.samples)()

    def _decode(self, data: bytes | None, fec: bool) -> bytes:
        length = len(data) if data else 0
        pcm_pointer = ctypes.cast(self._pcm, opuslib.api.c_int16_pointer)
        result = opus_decoder.libopus_decode(self._state, data or None, length, pcm_pointer,
                                             self.samples, int(fec))
        if result < 0:
            raise CodecError(f"Opus decoder refused the packet: {_words(result)}")
        if result != self.samples:
            raise CodecError(f"Opus packet holds {result} samples, expected a "
                             f"{self.frame_ms} ms frame of {self.samples}")
        return bytes(self._pcm)

    def decode(self, packet: bytes) -> bytes:
        """Decode one received Opus packet into one PCM frame."""
        if not packet:
            raise CodecError("empty Opus packet")
        return self._decode(packet, fec=False)

    def decode_fec(self, next_packet: bytes) -> bytes:
        """Rebuild a lost frame from the in-band FEC carried by the packet after it."""
        if not next_packet:
            raise CodecError("empty Opus packet")
        return self._decode(next_packet, fec=True)

    def conceal(self) -> bytes:
        """Packet loss concealment: a frame invented from the decoder's history."""
        return self._decode(None, fec=False)

    def close(self) -> None:
        if self._state is not None:
            opus_decoder.destroy(self._state)
            self._state = None
