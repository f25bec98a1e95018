"""A TextService on a real SQLite file, as a node of the fake-clock network (test helper)."""

from __future__ import annotations

from pathlib import Path

from terminal.text.events import MessageDelivered, MessageRead, MessageReceived, MessageSent
from terminal.text.service import TextService


class ServiceNode:
    """Records what its service reported; a person here acknowledges each message on sight."""

    def __init__(self, path: Path, *, auto_ack: bool = True, **options) -> None:
        self.path, self.options, self.auto_ack = path, options, auto_ack
        self.sent: list[str] = []
        self.shown: list[str] = []
        self.delivered: dict[str, float] = {}
        self.read: dict[str, float] = {}
        self.received_at: dict[str, float] = {}
        self.restarts = 0
        self.service = self._open(0.0)

    def _open(self, now: float) -> TextService:
        service = TextService(self.path, **self.options)
        service.start(now)
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
            self.service.on_peer_reachable(now)

    def deliver(self, payload: bytes, now: float) -> None:
        self.service.on_payload(payload, now)

    def timer(self) -> float | None:
        return self.service.get_timer()

    def fire(self, now: float) -> None:
        self.service.handle_timer(now)

    def outgoing(self, now: float) -> list[bytes]:
        self.record(now)
        return self.service.payloads_to_send(now)

    def record(self, now: float) -> None:
        while (event := self.service.next_event()) is not None:
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
                    self.service.ack(event.id, now)
