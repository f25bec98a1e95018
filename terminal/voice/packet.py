"""Voice-channel messages (CHANNEL_VOICE payloads), as small value classes.

Two messages share the channel, told apart by their first byte:

``VoicePacket`` (type 1), sender to receiver, one per frame::

    type(1) | seq(2) | timestamp(4) | count(1) | count x [offset(1) | length(2)]
            | redundant frames, in header order | primary Opus frame (the rest)

``offset`` says how many frames before ``seq`` a redundant copy belongs to
(RFC 2198 style redundancy: recent frames carried again once loss is seen).

``ReceiverReport`` (type 2), receiver to sender, about twice a second::

    type(1) | fraction_lost(1, lost/expected x 256 as in RTCP) | jitter_ms(2)

All integers big-endian. The link encrypts and authenticates the payload.
"""

import struct
from dataclasses import dataclass

from terminal.errors import HotlineError

TYPE_VOICE = 1
TYPE_REPORT = 2

_VOICE_HEADER = struct.Struct("!BHIB")
_BLOCK_HEADER = struct.Struct("!BH")
_REPORT = struct.Struct("!BBH")

MAX_REDUNDANT = 8


class MalformedVoicePacket(HotlineError, ValueError):
    """Bytes on the voice channel that are not a well-formed message."""


@dataclass(frozen=True)
class VoicePacket:
    seq: int                                   # 16-bit, wraps
    timestamp: int                             # 32-bit, 48 kHz sample clock
    primary: bytes                             # this frame's Opus packet
    redundant: tuple[tuple[int, bytes], ...] = ()   # (frames before seq, Opus packet)

    def __post_init__(self):
        if not 0 <= self.seq <= 0xFFFF:
            raise MalformedVoicePacket(f"sequence number {self.seq} is not 16-bit")
        if not 0 <= self.timestamp <= 0xFFFFFFFF:
            raise MalformedVoicePacket(f"timestamp {self.timestamp} is not 32-bit")
        if not self.primary:
            raise MalformedVoicePacket("voice packet has an empty primary frame")
        if len(self.redundant) > MAX_REDUNDANT:
            raise MalformedVoicePacket(f"voice packet carries {len(self.redundant)} redundant "
                                       f"frames, at most {MAX_REDUNDANT} allowed")
        offsets = [offset for offset, _ in self.redundant]
        if len(set(offsets)) != len(offsets):
            raise MalformedVoicePacket(f"redundant frame offsets repeat: {offsets}")
        for offset, frame in self.redundant:
            if not 1 <= offset <= 0xFF:
                raise MalformedVoicePacket(f"redundant frame offset {offset} is not 1..255")
            if not 0 < len(frame) <= 0xFFFF:
                raise MalformedVoicePacket(f"redundant frame of {len(frame)} bytes "
                                           f"(offset {offset}) is not 1..65535 bytes")

    @classmethod
    def parse(cls, data: bytes) -> "VoicePacket":
        if len(data) < _VOICE_HEADER.size:
            raise MalformedVoicePacket(f"voice packet length {len(data)} is less than "
                                       f"{_VOICE_HEADER.size} bytes")
        kind, seq, timestamp, count = _VOICE_HEADER.unpack_from(data)
        if kind != TYPE_VOICE:
            raise MalformedVoicePacket(f"message type {kind} is not a voice packet")
        pos = _VOICE_HEADER.size
        if len(data) < pos + count * _BLOCK_HEADER.size:
            raise MalformedVoicePacket(f"voice packet truncated in its {count} redundant "
                                       f"block headers")
        headers = []
        for _ in range(count):
            headers.append(_BLOCK_HEADER.unpack_from(data, pos))
            pos += _BLOCK_HEADER.size
        redundant = []
        for offset, length in headers:
            if len(data) < pos + length:
                raise MalformedVoicePacket(f"voice packet truncated in redundant frame "
                                           f"(offset {offset}, {length} bytes)")
            redundant.append((offset, bytes(data[pos:pos + length])))
            pos += length
        return cls(seq, timestamp, bytes(data[pos:]), tuple(redundant))

    def __bytes__(self) -> bytes:
        parts = [_VOICE_HEADER.pack(TYPE_VOICE, self.seq, self.timestamp, len(self.redundant))]
        parts += [_BLOCK_HEADER.pack(offset, len(frame)) for offset, frame in self.redundant]
        parts += [frame for _, frame in self.redundant]
        parts.append(self.primary)
        return b"".join(parts)


@dataclass(frozen=True)
class ReceiverReport:
    fraction_lost: int       # packets lost before recovery / expected, x 256 (0..255)
    jitter_ms: int           # RFC 3550 interarrival jitter, whole milliseconds

    def __post_init__(self):
        if not 0 <= self.fraction_lost <= 0xFF:
            raise MalformedVoicePacket(f"fraction lost {self.fraction_lost} is not 0..255")
        if not 0 <= self.jitter_ms <= 0xFFFF:
            raise MalformedVoicePacket(f"jitter {self.jitter_ms} ms is not 0..65535")

    @classmethod
    def from_measurement(cls, loss: float, jitter_ms: float) -> "ReceiverReport":
        """Quantise a loss fraction (0..1) and a jitter in ms into a report."""
        return cls(min(255, max(0, int(loss * 256))), min(0xFFFF, max(0, round(jitter_ms))))

    @property
    def loss(self) -> float:
        return self.fraction_lost / 256

    @classmethod
    def parse(cls, data: bytes) -> "ReceiverReport":
        if len(data) != _REPORT.size:
            raise MalformedVoicePacket(f"receiver report length {len(data)} is not "
                                       f"{_REPORT.size} bytes")
        kind, fraction_lost, jitter_ms = _REPORT.unpack(data)
        if kind != TYPE_REPORT:
            raise MalformedVoicePacket(f"message type {kind} is not a receiver report")
        return cls(fraction_lost, jitter_ms)

    def __bytes__(self) -> bytes:
        return _REPORT.pack(TYPE_REPORT, self.fraction_lost, self.jitter_ms)


def parse_message(data: bytes) -> VoicePacket | ReceiverReport:
    """Parse any voice-channel message by its type byte."""
    if not data:
        raise MalformedVoicePacket("empty voice-channel message")
    parser = {TYPE_VOICE: VoicePacket.parse, TYPE_REPORT: ReceiverReport.parse}.get(data[0])
    if parser is None:
        raise MalformedVoicePacket(f"unknown voice-channel message type {data[0]}")
    return parser(data)
