"""Counts and delivery latency from text events, for `hotline sim`'s JSON summary."""

from __future__ import annotations

import statistics

from terminal.text.events import Event, MessageDelivered, MessageQueued, MessageRead, MessageSent


class TextTally:
    """Feed it every event of every unit; `summary()` gives the sim's `text` object."""

    def __init__(self) -> None:
        self.queued: dict[str, float] = {}
        self.sent: set[str] = set()
        self.delivered: dict[str, float] = {}
        self.read: set[str] = set()

    def record(self, event: Event) -> None:
        if isinstance(event, MessageQueued):
            self.queued[event.id] = event.at
        elif isinstance(event, MessageSent):
            self.sent.add(event.id)
        elif isinstance(event, MessageDelivered):
            self.delivered.setdefault(event.id, event.at)
        elif isinstance(event, MessageRead):
            self.read.add(event.id)

    def summary(self) -> dict:
        """{"sent", "delivered", "read", "delivery_latency_ms": {"median", "max"} or None}."""
        latencies = [(at - self.queued[id]) * 1000 for id, at in self.delivered.items() if id in self.queued]
        return {
            "sent": len(self.sent), "delivered": len(self.delivered), "read": len(self.read),
            "delivery_latency_ms": {"median": round(statistics.median(latencies), 1),
                                    "max": round(max(latencies), 1)} if latencies else None,
        }
