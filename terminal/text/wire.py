"""Text-channel wire messages as small value classes: `parse(data)` and `bytes(msg)`.

Carried as opaque payloads on CHANNEL_TEXT (the link encrypts them).
Layouts (little-endian):

    data      type=1 | stream 8 | seq u32 | index u8 | count u8 | precedence u8 | id 16 | created f64 | chunk
    ack       type=2 | stream 8 | seq u32 | received u16      (bit i: fragment i held; all bits: stored)
    read      type=3 | id 16 | at f64                          (a person acknowledged message id)
    read-ack  type=4 | id 16                                   (the read receipt is stored)

`stream` names one outbox (random per store), `seq` numbers its messages from 1
in the order they were sent; the receiver delivers each stream in seq order.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

from terminal.errors import HotlineError
from terminal.text.constants import CHUNK_BYTES, MAX_FRAGMENTS
from terminal.text.precedence import Precedence

DATA, ACK, READ, READ_ACK = 1, 2, 3, 4
ID_LEN = 16
STREAM_LEN = 8
_DATA = struct.Struct("<B8sIBBB16sd")
_ACK = struct.Struct("<B8sIH")
_READ = struct.Struct("<B16sd")
_READ_ACK = struct.Struct("<B16s")


class MalformedText(HotlineError, ValueError):
    """A text-channel payload that is not a well-formed message."""


def _need(data: bytes, size: int, name: str, exact: bool = True) -> None:
    if len(data) < size or (exact and len(data) != size):
        want = f"{size}" if exact else f"at least {size + 1}"
        raise MalformedText(f"{name} is {len(data)} bytes; expected {want}")


@dataclass(frozen=True)
class Data:
    stream: bytes
    seq: int
    index: int
    count: int
    precedence: Precedence
    id: bytes
    created: float
    chunk: bytes

    def __bytes__(self) -> bytes:
        return _DATA.pack(DATA, self.stream, self.seq, self.index, self.count,
                          self.precedence, self.id, self.created) + self.chunk

    @classmethod
    def parse(cls, data: bytes) -> "Data":
        _need(data, _DATA.size, "text data", exact=False)
        _, stream, seq, index, count, prec, mid, created = _DATA.unpack_from(data)
        chunk = bytes(data[_DATA.size:])
        if seq == 0:
            raise MalformedText("text data has sequence number 0; numbering starts at 1")
        if not 1 <= count <= MAX_FRAGMENTS:
            raise MalformedText(f"text data claims {count} fragments; expected 1 to {MAX_FRAGMENTS}")
        if index >= count:
            raise MalformedText(f"text data fragment {index} of {count} is out of range")
        if prec > Precedence.ROUTINE:
            raise MalformedText(f"text data precedence {prec} is unknown")
        if len(chunk) > CHUNK_BYTES:
            raise MalformedText(f"text data chunk is {len(chunk)} bytes; at most {CHUNK_BYTES}")
        if not math.isfinite(created):
            raise MalformedText("text data creation time is not a finite number")
        return cls(stream, seq, index, count, Precedence(prec), mid, created, chunk)


@dataclass(frozen=True)
class Ack:
    stream: bytes
    seq: int
    received: int

    def __bytes__(self) -> bytes:
        return _ACK.pack(ACK, self.stream, self.seq, self.received)

    @classmethod
    def parse(cls, data: bytes) -> "Ack":
        _need(data, _ACK.size, "text ack")
        _, stream, seq, received = _ACK.unpack(data)
        if received >> MAX_FRAGMENTS:
            raise MalformedText(f"text ack names fragments beyond {MAX_FRAGMENTS}")
        return cls(stream, seq, received)


@dataclass(frozen=True)
class Read:
    id: bytes
    at: float

    def __bytes__(self) -> bytes:
        return _READ.pack(READ, self.id, self.at)

    @classmethod
    def parse(cls, data: bytes) -> "Read":
        _need(data, _READ.size, "read receipt")
        _, mid, at = _READ.unpack(data)
        if not math.isfinite(at):
            raise MalformedText("read receipt time is not a finite number")
        return cls(mid, at)


@dataclass(frozen=True)
class ReadAck:
    id: bytes

    def __bytes__(self) -> bytes:
        return _READ_ACK.pack(READ_ACK, self.id)

    @classmethod
    def parse(cls, data: bytes) -> "ReadAck":
        _need(data, _READ_ACK.size, "read-receipt ack")
        return cls(_READ_ACK.unpack(data)[1])


Message = Data | Ack | Read | ReadAck
_KINDS = {DATA: Data, ACK: Ack, READ: Read, READ_ACK: ReadAck}


def parse(data: bytes) -> Message:
    """Any text-channel payload -> its message; MalformedText says what is wrong."""
    if not data:
        raise MalformedText("text payload is empty")
    kind = _KINDS.get(data[0])
    if kind is None:
        raise MalformedText(f"text payload type {data[0]} is unknown")
    return kind.parse(data)
