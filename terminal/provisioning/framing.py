"""Frames on the serial line: COBS(length u16 | message | CRC-32 u32) + 0x00.

COBS leaves no zero byte inside a frame, so 0x00 always ends one and a reader
dropped in mid-stream resynchronises at the next zero. Empty frames (two
zeros in a row) are ignored: a sender may start with 0x00 to flush a
half-received frame on the other side.
"""

from __future__ import annotations

import struct
import zlib

from cobs import cobs

from terminal.provisioning.constants import DELIMITER, FRAME_OVERHEAD, MAX_MESSAGE
from terminal.provisioning.errors import FrameError

_LEN = struct.Struct(">H")
_CRC = struct.Struct(">I")


def _max_encoded(max_message: int) -> int:
    raw = max_message + FRAME_OVERHEAD
    return raw + raw // 254 + 1


def encode_frame(message: bytes, max_message: int = MAX_MESSAGE) -> bytes:
    """Frame `message` for the wire, delimiter included."""
    if len(message) > max_message:
        raise FrameError(f"message is {len(message)} bytes; the maximum is {max_message}")
    body = _LEN.pack(len(message)) + message
    return cobs.encode(body + _CRC.pack(zlib.crc32(body))) + DELIMITER


def decode_frame(raw: bytes) -> bytes:
    """One frame without its delimiter -> the message, or FrameError saying what is wrong."""
    try:
        body = cobs.decode(raw)
    except cobs.DecodeError as exc:
        raise FrameError(f"frame is not valid COBS: {exc}") from None
    if len(body) < FRAME_OVERHEAD:
        raise FrameError(f"frame is {len(body)} bytes; shorter than the {FRAME_OVERHEAD}-byte length and CRC")
    (length,) = _LEN.unpack_from(body)
    carried = len(body) - FRAME_OVERHEAD
    if length != carried:
        raise FrameError(f"length field says {length} bytes but the frame carries {carried}")
    (crc,) = _CRC.unpack_from(body, len(body) - 4)
    computed = zlib.crc32(body[:-4])
    if crc != computed:
        raise FrameError(f"CRC-32 mismatch (frame 0x{crc:08x}, computed 0x{computed:08x}): corrupted on the line")
    return body[2:-4]


class Decoder:
    """Pure stream decoder (pyserial Packetizer style): `feed(bytes)` -> messages and errors.

    Each item returned is either a message (bytes) or a FrameError for a frame
    that could not be read; a frame longer than the maximum is discarded up to
    its delimiter and reported once. `dropped` counts the bad frames.
    """

    def __init__(self, max_message: int = MAX_MESSAGE):
        self._max_message = max_message
        self._limit = _max_encoded(max_message)
        self._buffer = bytearray()
        self._oversize = False
        self.dropped = 0

    def feed(self, data: bytes) -> list[bytes | FrameError]:
        out: list[bytes | FrameError] = []
        self._buffer += data
        while True:
            end = self._buffer.find(DELIMITER)
            if end < 0:
                if len(self._buffer) > self._limit:
                    self._buffer.clear()
                    self._oversize = True
                return out
            raw = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            if self._oversize or len(raw) > self._limit:
                self._oversize = False
                out.append(self._drop(FrameError(f"frame longer than the maximum of {self._max_message} bytes; discarded")))
            elif raw:
                try:
                    out.append(decode_frame(raw))
                except FrameError as exc:
                    out.append(self._drop(exc))

    @property
    def pending(self) -> int:
        """Bytes of an unfinished frame held back, waiting for its delimiter."""
        return len(self._buffer) or int(self._oversize)

    def discard(self) -> None:
        """Forget an unfinished frame (the sender went quiet mid-frame); counted as dropped."""
        if self.pending:
            self._buffer.clear()
            self._oversize = False
            self.dropped += 1

    def _drop(self, error: FrameError) -> FrameError:
        self.dropped += 1
        return error
