"""Inner framing inside a transport packet: version(1) | channel(1) | payload.

An empty plaintext is a keepalive and carries no frame.
"""

from __future__ import annotations

from terminal.link.constants import CHANNELS, INNER_VERSION
from terminal.link.messages import MalformedPacket


def encode(channel: int, payload: bytes) -> bytes:
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel}; expected one of {sorted(CHANNELS)}")
    return bytes((INNER_VERSION, channel)) + payload


def decode(plaintext: bytes) -> tuple[int, bytes]:
    if len(plaintext) < 2:
        raise MalformedPacket(f"inner frame is {len(plaintext)} byte(s); expected at least 2")
    if plaintext[0] != INNER_VERSION:
        raise MalformedPacket(f"inner frame version {plaintext[0]}; this unit speaks {INNER_VERSION}")
    if plaintext[1] not in CHANNELS:
        raise MalformedPacket(f"inner frame names unknown channel {plaintext[1]}")
    return plaintext[1], plaintext[2:]
