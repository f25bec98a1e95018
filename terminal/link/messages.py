"""Link wire messages as small value classes: `parse(data)` and `bytes(msg)`.

Layouts (little-endian integers, WireGuard's shapes):

    initiation  type=1 | 3 zero | sender u32 | ephemeral 32 | static 48 | timestamp 28 | pq secret id 8 | mac1 16 | mac2 16
                (the secret id is also appended to the Noise prologue, so changing it breaks the handshake;
                148 bytes without it: what firmware before the ratchet sends, `parse_classical`)
    response    type=2 | 3 zero | sender u32 | receiver u32 | ephemeral 32 | empty 16 | mac1 16 | mac2 16
    cookie      type=3 | 3 zero | receiver u32 | nonce 24 | encrypted cookie 32
    transport   type=4 | 3 zero | receiver u32 | counter u64 | ciphertext (>= 16)

mac1 lets a responder drop packets not meant for it before any Diffie-Hellman
work; mac2 carries a cookie under load (terminal/link/cookie.py, which also
holds the cookie reply, type 3), zeros otherwise.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from terminal.errors import HotlineError
from terminal.link.constants import MSG_COOKIE_REPLY, MSG_INITIATION, MSG_RESPONSE, MSG_TRANSPORT

MAC_LEN = 16
INITIATION_LEN = 156
CLASSICAL_INITIATION_LEN = 148  # what firmware without the post-quantum ratchet sends
RESPONSE_LEN = 92
TRANSPORT_HEADER_LEN = 16
TRANSPORT_MIN_LEN = TRANSPORT_HEADER_LEN + 16
COOKIE_REPLY_LEN = 64           # type | 3 zero | receiver u32 | nonce 24 | sealed cookie 16 + tag 16


class MalformedPacket(HotlineError, ValueError):
    """A datagram that is not a well-formed link message."""


def _header(kind: int) -> bytes:
    return bytes((kind, 0, 0, 0))


def _check(data: bytes, kind: int, length: int, name: str) -> None:
    if len(data) != length:
        raise MalformedPacket(f"{name} is {len(data)} bytes; expected {length}")
    if data[1:4] != b"\x00\x00\x00":
        raise MalformedPacket(f"{name} reserved bytes are not zero")


@dataclass(frozen=True)
class Initiation:
    sender: int
    noise: bytes          # ephemeral | encrypted static | encrypted timestamp (108 bytes)
    secret_id: bytes | None = bytes(8)   # which post-quantum ratchet secret its PSK holds (terminal/link/pq.py);
    mac1: bytes = bytes(MAC_LEN)         # None: a classical initiation, which has no such field
    mac2: bytes = bytes(MAC_LEN)

    def body(self) -> bytes:
        """Everything mac1 covers."""
        secret_id = b"" if self.secret_id is None else self.secret_id
        return _header(MSG_INITIATION) + struct.pack("<I", self.sender) + self.noise + secret_id

    def __bytes__(self) -> bytes:
        return self.body() + self.mac1 + self.mac2

    @classmethod
    def parse(cls, data: bytes) -> "Initiation":
        _check(data, MSG_INITIATION, INITIATION_LEN, "initiation")
        (sender,) = struct.unpack_from("<I", data, 4)
        return cls(sender, bytes(data[8:116]), bytes(data[116:124]), bytes(data[124:140]), bytes(data[140:156]))

    @classmethod
    def parse_classical(cls, data: bytes) -> "Initiation":
        """The 148-byte initiation of firmware without the ratchet (`secret_id` None). Not accepted by
        `parse_packet`: the session reads one only to authenticate it before refusing it."""
        _check(data, MSG_INITIATION, CLASSICAL_INITIATION_LEN, "classical initiation")
        (sender,) = struct.unpack_from("<I", data, 4)
        return cls(sender, bytes(data[8:116]), None, bytes(data[116:132]), bytes(data[132:148]))


@dataclass(frozen=True)
class Response:
    sender: int
    receiver: int
    noise: bytes          # ephemeral | encrypted empty payload (48 bytes)
    mac1: bytes = bytes(MAC_LEN)
    mac2: bytes = bytes(MAC_LEN)

    def body(self) -> bytes:
        return _header(MSG_RESPONSE) + struct.pack("<II", self.sender, self.receiver) + self.noise

    def __bytes__(self) -> bytes:
        return self.body() + self.mac1 + self.mac2

    @classmethod
    def parse(cls, data: bytes) -> "Response":
        _check(data, MSG_RESPONSE, RESPONSE_LEN, "response")
        sender, receiver = struct.unpack_from("<II", data, 4)
        return cls(sender, receiver, bytes(data[12:60]), bytes(data[60:76]), bytes(data[76:92]))


_TRANSPORT_HEADER = struct.Struct("<BxxxIQ")


def transport_packet(receiver: int, counter: int, ciphertext: bytes) -> bytes:
    """`bytes(Transport(receiver, counter, ciphertext))` without the object: the send path's form."""
    return _TRANSPORT_HEADER.pack(MSG_TRANSPORT, receiver, counter) + ciphertext


@dataclass(frozen=True)
class Transport:
    receiver: int
    counter: int
    ciphertext: bytes

    def header(self) -> bytes:
        return _header(MSG_TRANSPORT) + struct.pack("<IQ", self.receiver, self.counter)

    def __bytes__(self) -> bytes:
        return self.header() + self.ciphertext

    @classmethod
    def parse(cls, data: bytes) -> "Transport":
        if len(data) < TRANSPORT_MIN_LEN:
            raise MalformedPacket(f"transport packet is {len(data)} bytes; expected at least {TRANSPORT_MIN_LEN}")
        if data[1:4] != b"\x00\x00\x00":
            raise MalformedPacket("transport reserved bytes are not zero")
        receiver, counter = struct.unpack_from("<IQ", data, 4)
        return cls(receiver, counter, bytes(data[TRANSPORT_HEADER_LEN:]))


@dataclass(frozen=True)
class CookieReply:
    receiver: int
    nonce: bytes               # 24 bytes, XChaCha20's
    encrypted_cookie: bytes    # 16-byte cookie + 16-byte tag

    def __bytes__(self) -> bytes:
        return bytes((MSG_COOKIE_REPLY, 0, 0, 0)) + struct.pack("<I", self.receiver) + self.nonce + self.encrypted_cookie

    @classmethod
    def parse(cls, data: bytes) -> "CookieReply":
        if len(data) != COOKIE_REPLY_LEN:
            raise MalformedPacket(f"cookie reply is {len(data)} bytes; expected {COOKIE_REPLY_LEN}")
        if data[1:4] != b"\x00\x00\x00":
            raise MalformedPacket("cookie reply reserved bytes are not zero")
        (receiver,) = struct.unpack_from("<I", data, 4)
        return cls(receiver, bytes(data[8:32]), bytes(data[32:]))


_KINDS = {MSG_INITIATION: Initiation, MSG_RESPONSE: Response, MSG_COOKIE_REPLY: CookieReply, MSG_TRANSPORT: Transport}


def parse_packet(data: bytes) -> "Initiation | Response | CookieReply | Transport":
    """Any link datagram -> its message; MalformedPacket (a ValueError) says why not."""
    if not data:
        raise MalformedPacket("empty datagram")
    kind = _KINDS.get(data[0])
    if kind is None:
        raise MalformedPacket(f"unknown message type {data[0]}")
    return kind.parse(data)
