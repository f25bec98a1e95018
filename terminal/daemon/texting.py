"""The text service on the unit's loop: link events in, payloads out, events to the journal.

The text service keeps wall-clock times (they are stored and shown), so its
`now` is `time.time()`. Its timer runs on the loop's monotonic clock, armed for
`deadline - now`. A step of the wall clock (NTP fixing a unit that booted with
the wrong time) shows as a change in wall minus loop time; it is reported to
the service before the next call, so retransmissions and re-alerts keep their
schedule instead of stalling for the length of a backward step or all firing
at once after a forward one.
"""

from __future__ import annotations

import asyncio
import time
from typing import Callable

from terminal.link.constants import CHANNEL_TEXT
from terminal.text import events as ev
from terminal.text.service import TextService

# wall minus loop time may wander this much (clock reads, NTP slewing) before it counts as a step
CLOCK_STEP = 1.0

# text event -> (journal kind, direction)
_JOURNAL = {
    ev.MessageQueued: ("message_queued", "outgoing"),
    ev.MessageSent: ("message_sent", "outgoing"),
    ev.MessageDelivered: ("message_delivered", "outgoing"),
    ev.MessageRead: ("message_read", "outgoing"),
    ev.MessageReceived: ("message_delivered", "incoming"),
    ev.MessageAcknowledged: ("message_read", "incoming"),
}


class TextLink:
    def __init__(self, service: TextService, send: Callable[[int, bytes], None], journal, loop, *,
                 channel: int = CHANNEL_TEXT, journal_kinds: dict | None = None,
                 clock: Callable[[], float] = time.time):
        """`clock`: wall-clock seconds, for the service's `now` (a test passes a fake)."""
        self.service = service
        self.channel = channel
        self._journal_kinds = _JOURNAL if journal_kinds is None else journal_kinds
        self._send = send
        self._journal = journal
        self._loop = loop
        self._clock = clock
        self._wall_offset: float | None = None        # wall minus loop time when last measured
        self._timer: asyncio.TimerHandle | None = None
        self.listeners: list[Callable[[object], None]] = []

    def now(self) -> float:
        """Wall-clock seconds for the service, after telling it of any step of that clock."""
        wall = self._clock()
        offset = wall - self._loop.time()
        if self._wall_offset is None:
            self._wall_offset = offset
        elif abs(offset - self._wall_offset) > CLOCK_STEP:
            self.service.clock_stepped(offset - self._wall_offset)
            self._wall_offset = offset
        return wall

    def start(self, reachable: bool) -> None:
        self.service.start(self.now())
        if reachable:
            self.service.on_peer_reachable(self.now())
        self.pump()

    def on_payload(self, payload: bytes, _link_now: float) -> None:
        self.service.on_payload(payload, self.now())
        self.pump()

    def on_link(self, reachable: bool) -> None:
        if reachable:
            self.service.on_peer_reachable(self.now())
        else:
            self.service.on_peer_unreachable(self.now())
        self.pump()

    def pump(self) -> None:
        now = self.now()
        for payload in self.service.payloads_to_send(now):
            self._send(self.channel, payload)
        while (event := self.service.next_event()) is not None:
            kind = self._journal_kinds.get(type(event))
            if kind is not None:
                precedence = getattr(event, "precedence", None)
                extra = {"precedence": precedence.name} if precedence is not None else {}
                self._journal.record(kind[0], message_id=event.id, direction=kind[1], **extra)
            for listener in self.listeners:
                listener(event)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self.service.get_timer()
        if deadline is not None:
            self._timer = self._loop.call_later(max(0.0, deadline - now), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self.service.handle_timer(self.now())
        self.pump()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.service.close()
