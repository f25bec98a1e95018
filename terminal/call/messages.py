"""Call-control messages (the CHANNEL_CONTROL payload) as a small value class.

Layout, 19 bytes, big-endian:

    version u8 (=1) | kind u8 | call_id u64 | arg u8 | ref u64

`arg` is the acknowledged kind for ACK, the reason for HANGUP, and zero otherwise.
`ref` is nonzero only on an ANSWER sent in glare: the answering side's own call
id, which this call absorbs (so a copy of its RING arriving later is known).
Every kind except ACK is retransmitted until the peer ACKs (kind, call_id).
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

from terminal.errors import HotlineError

VERSION = 1
LENGTH = 19
_LAYOUT = struct.Struct(">BBQBQ")


class MalformedControl(HotlineError, ValueError):
    """Bytes that are not a well-formed call-control message."""


class Kind(enum.IntEnum):
    RING = 1        # the caller's handset is up: please ring
    RINGING = 2     # my ringer is on for this call
    ANSWER = 3      # my handset is up: talk
    HANGUP = 4      # this call is over (arg: Reason)
    ACK = 5         # I received (arg: Kind) for call_id


class Reason(enum.IntEnum):
    NORMAL = 0      # handset replaced during the call
    NO_ANSWER = 1   # the ring timed out unanswered
    ABANDONED = 2   # the caller hung up before an answer


@dataclass(frozen=True)
class ControlMessage:
    kind: Kind
    call_id: int
    arg: int = 0
    ref: int = 0

    def __post_init__(self):
        for name in ("call_id", "ref"):
            if not 0 <= getattr(self, name) < 2**64:
                raise ValueError(f"{name} {getattr(self, name)} does not fit in 64 bits")

    def __bytes__(self) -> bytes:
        return _LAYOUT.pack(VERSION, self.kind, self.call_id, self.arg, self.ref)

    @classmethod
    def parse(cls, data: bytes) -> "ControlMessage":
        if len(data) != LENGTH:
            raise MalformedControl(f"control message is {len(data)} bytes; expected {LENGTH}")
        version, kind, call_id, arg, ref = _LAYOUT.unpack(data)
        if version != VERSION:
            raise MalformedControl(f"control message version {version} is not supported; expected {VERSION}")
        try:
            kind = Kind(kind)
        except ValueError:
            raise MalformedControl(f"unknown control message kind {kind}") from None
        if kind is Kind.ACK and arg not in (Kind.RING, Kind.RINGING, Kind.ANSWER, Kind.HANGUP):
            raise MalformedControl(f"ACK names kind {arg}, which is not an acknowledgeable kind")
        if kind is Kind.HANGUP and arg not in Reason._value2member_map_:
            raise MalformedControl(f"unknown HANGUP reason {arg}")
        if kind in (Kind.RING, Kind.RINGING, Kind.ANSWER) and arg:
            raise MalformedControl(f"{kind.name} carries argument {arg}; expected 0")
        if ref and kind is not Kind.ANSWER:
            raise MalformedControl(f"{kind.name} carries a reference call id; only ANSWER may")
        return cls(kind, call_id, arg, ref)

    def ack(self) -> "ControlMessage":
        """The acknowledgement of this message."""
        return ControlMessage(Kind.ACK, self.call_id, self.kind)
