"""The link's durable state: the newest initiation timestamp accepted from the peer, and the
post-quantum ratchet (terminal/link/pq.py).

Written before each handshake response leaves (LinkSession.on_timestamp), so a
replayed initiation is never answered after a reload, restart or power cut. That
is one 12-byte atomic write (temp file, fsync, rename, directory fsync) per
accepted handshake: the peer re-keys every 2 minutes, so about 1 ms of I/O every
2 minutes. A file that is not 12 bytes is refused loudly and treated as absent
(the unit still refuses anything not newer than what it accepts next).
"""

from __future__ import annotations

import logging
from pathlib import Path

from terminal.keys import atomic_write
from terminal.link import tai64n

log = logging.getLogger(__name__)
TIMESTAMP_FILE = "link.timestamp"
RATCHET_FILE = "link.ratchet"       # secret: 0600, written atomically, destroyed by zeroize


def load_timestamp(path: Path) -> bytes | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    if len(data) != tai64n.LEN:
        log.error("%s is %d bytes; expected %d (a TAI64N timestamp): ignoring it", path, len(data), tai64n.LEN)
        return None
    return data


def save_timestamp(path: Path, timestamp: bytes) -> None:
    atomic_write(path, timestamp, 0o600)


def load_ratchet(path: Path, peer_static: bytes):
    """The saved ratchet for this peer; a fresh one if there is none, or if it is for another peer
    (the unit was re-paired). A damaged file is said loudly: the peer then refuses this unit's
    handshakes until both are re-paired, which is the safe way for it to fail."""
    from terminal.link.pq import Ratchet
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Ratchet()
    try:
        return Ratchet.from_bytes(data, peer_static)
    except ValueError as exc:
        log.error("%s: %s; starting without the post-quantum secret (re-pair if the peer refuses)", path, exc)
        return Ratchet()


def save_ratchet(path: Path, ratchet, peer_static: bytes) -> None:
    atomic_write(path, ratchet.to_bytes(peer_static), 0o600)
