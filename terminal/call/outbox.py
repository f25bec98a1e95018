"""Retransmission of control messages until acknowledged (the link is UDP; messages get lost).

Sans-I/O: `send` returns the bytes to transmit now, `due(now)` the ones to
transmit again, `deadline()` when to ask next. Exponential backoff from
`initial` to `maximum` seconds; a message unacknowledged for `give_up`
seconds is dropped and counted. While the peer is unreachable nothing is
resent; `resume(now)` resends everything outstanding at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from terminal.call.messages import ControlMessage, Kind


@dataclass
class _Pending:
    payload: bytes
    first_sent: float
    next_send: float
    interval: float


class Outbox:
    def __init__(self, initial: float = 0.2, maximum: float = 2.0, give_up: float = 30.0):
        self.initial, self.maximum, self.give_up = initial, maximum, give_up
        self._pending: dict[tuple[int, Kind], _Pending] = {}
        self.paused = False
        self.given_up = 0
        self.retransmitted = 0

    def send(self, message: ControlMessage, now: float) -> bytes:
        """Queue `message` until acknowledged; returns its bytes to transmit now."""
        payload = bytes(message)
        self._pending[(message.call_id, message.kind)] = _Pending(payload, now, now + self.initial, self.initial)
        return payload

    def ack(self, call_id: int, kind: int) -> bool:
        """The peer acknowledged (kind, call_id); True if it was outstanding."""
        return self.cancel(call_id, Kind(kind))

    def cancel(self, call_id: int, kind: Kind) -> bool:
        """Stop sending (kind, call_id); True if it was outstanding."""
        return self._pending.pop((call_id, kind), None) is not None

    def is_pending(self, call_id: int, kind: Kind) -> bool:
        return (call_id, kind) in self._pending

    def pause(self) -> None:
        """The peer is unreachable: hold retransmissions."""
        self.paused = True

    def resume(self, now: float) -> list[bytes]:
        """The peer is reachable again: everything outstanding, to send now."""
        self.paused = False
        for item in self._pending.values():
            item.next_send = now
        return self.due(now)

    def due(self, now: float) -> list[bytes]:
        """Payloads whose retransmission time has come (and drop those past `give_up`)."""
        out = []
        for key, item in list(self._pending.items()):
            if now >= item.first_sent + self.give_up:      # the same sum `deadline` reports
                del self._pending[key]
                self.given_up += 1
            elif not self.paused and now >= item.next_send:
                out.append(item.payload)
                self.retransmitted += 1
                item.interval = min(item.interval * 2, self.maximum)
                item.next_send = now + item.interval
        return out

    def deadline(self) -> float | None:
        if not self._pending:
            return None
        expiries = [item.first_sent + self.give_up for item in self._pending.values()]
        if not self.paused:
            expiries += [item.next_send for item in self._pending.values()]
        return min(expiries)
