"""A TextService on a real SQLite file, as a node of the fake-clock network (test helper)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from terminal.text.events import MessageDelivered, MessageRead, MessageReceived, MessageSent
from terminal.text.service import TextService


class ServiceNode:
    """Records what its service reported; a person here acknowledges each message on sight.

    Test time (`now` below) is the network's; the service is given its wall clock,
    `now + offset`, which a test may step.
    """

    def __init__(self, path: Path, *, auto_ack: bool = True, offset: float = 0.0, **options) -> None:
        self.path, self.options, self.auto_ack = path, options, auto_ack
        self.sent: list[str] = []
        self.shown: list[str] = []
        self.delivered: dict[str, float] = {}
        self.read: dict[str, float] = {}
        self.received_at: dict[str, float] = {}
        self.restarts = 0
        self.offset = offset
        self.events: list[tuple[float, object]] = []      # (test time, event), everything reported
        self.counts: Counter[str] = Counter()               # events by type name
        self.service = self._open(0.0)

    def wall(self, now: float) -> float:
        return now + self.offset

    def _open(self, now: float) -> TextService:
        service = TextService(self.path, **self.options)
        service.start(self.wall(now))
        return service

    def restart(self, now: float, reachable: bool = True) -> None:
        """Stop between two calls (every call commits before it returns) and start again.

        Events already reported are recorded; payloads not yet sent are lost, as in a crash.
        """
        self.record(now)
        self.service.close()
        self.restarts += 1
        self.service = self._open(now)
        if reachable:
            self.service.on_peer_reachable(self.wall(now))

    def deliver(self, payload: bytes, now: float) -> None:
        self.service.on_payload(payload, self.wall(now))

    def timer(self) -> float | None:
        deadline = self.service.get_timer()
        return None if deadline is None else deadline - self.offset

    def fire(self, now: float) -> None:
        self.service.handle_timer(self.wall(now))

    def outgoing(self, now: float) -> list[bytes]:
        self.record(now)
        return self.service.payloads_to_send(self.wall(now))

    def record(self, now: float) -> None:
        while (event := self.service.next_event()) is not None:
            self.events.append((now, event))
            self.counts[type(event).__name__] += 1
            if isinstance(event, MessageSent):
                self.sent.append(event.id)
            elif isinstance(event, MessageDelivered):
                self.delivered.setdefault(event.id, now)
            elif isinstance(event, MessageRead):
                self.read.setdefault(event.id, now)
            elif isinstance(event, MessageReceived):
                self.shown.append(event.id)
                self.received_at[event.id] = now
                if self.auto_ack:
                    self.service.ack(event.id, self.wall(now))
