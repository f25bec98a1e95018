"""The test/echo channel: an authenticated request the peer sends straight back.

    request  0x01 | id u32 | payload          reply  0x02 | id u32 | payload

Pure: `request()` returns bytes to send on CHANNEL_TEST, `on_payload()` the
reply to send back (for a request) and records round trips (for a reply).
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass

from terminal.link.messages import MalformedPacket

REQUEST, REPLY = 1, 2
RESULTS_KEPT = 1000
_HEADER = struct.Struct("<BI")
HEADER_LEN = _HEADER.size


@dataclass(frozen=True)
class EchoResult:
    id: int
    rtt: float
    payload: bytes


class Echo:
    def __init__(self) -> None:
        self._next_id = 1
        self._outstanding: dict[int, float] = {}
        self.results: deque[EchoResult] = deque(maxlen=RESULTS_KEPT)
        self.sent = 0
        self.answered = 0

    def request(self, payload: bytes, now: float) -> tuple[int, bytes]:
        """A new request: (its id, the bytes to send)."""
        echo_id = self._next_id
        self._next_id = (self._next_id + 1) & 0xFFFFFFFF or 1
        self._outstanding[echo_id] = now
        self.sent += 1
        return echo_id, _HEADER.pack(REQUEST, echo_id) + payload

    def forget(self, echo_id: int) -> None:
        """Stop waiting for a reply (the caller timed out); a late one is then refused."""
        self._outstanding.pop(echo_id, None)

    def on_payload(self, data: bytes, now: float) -> bytes | None:
        """Returns the reply to send for a request; records a reply to one of ours."""
        if len(data) < _HEADER.size:
            raise MalformedPacket(f"echo message is {len(data)} bytes; expected at least {_HEADER.size}")
        kind, echo_id = _HEADER.unpack_from(data)
        payload = data[_HEADER.size:]
        if kind == REQUEST:
            self.answered += 1
            return _HEADER.pack(REPLY, echo_id) + payload
        if kind != REPLY:
            raise MalformedPacket(f"echo message kind {kind}; expected 1 or 2")
        sent_at = self._outstanding.pop(echo_id, None)
        if sent_at is None:
            raise MalformedPacket(f"echo reply {echo_id} answers no request of ours")
        self.results.append(EchoResult(echo_id, now - sent_at, payload))
        return None
