"""The presence core on the unit's loop: the PIR's edges in, reports to the peer, changes into
the journal and onto the link LED (terminal/presence.py holds the policy)."""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

from terminal.alarm import Alarm
from terminal.link.constants import CHANNEL_PRESENCE
from terminal.presence import Changed, Presence, SendReport

log = logging.getLogger(__name__)


class PresenceLink:
    def __init__(self, settings, hardware, send: Callable[[int, bytes], None], journal, loop: asyncio.AbstractEventLoop,
                 on_far: Callable[[bool | None], None]):
        self.loop = loop
        self.send = send
        self.journal = journal
        self.on_far = on_far
        self.reachable = False
        self.listeners: list[Callable[[Changed], None]] = []     # the sim and tests watch the changes
        self.core = Presence(sensor=settings.sensor, window=settings.staffed_window, now=loop.time())
        self._alarm = Alarm(loop, self.pump)
        self._sensor = hardware.presence if settings.sensor else None
        if self._sensor is not None:
            # gpiozero calls back on its own thread with real pins: hop onto the loop.
            self._sensor.when_activated = lambda: loop.call_soon_threadsafe(self._motion)
            if self._sensor.is_active:
                self.core.motion(loop.time())
        self.pump()

    def _motion(self) -> None:
        self.core.motion(self.loop.time())
        self.pump()

    def on_payload(self, payload: bytes, _at: float) -> None:
        self.core.on_payload(payload, self.loop.time())
        self.pump()

    def on_link(self, reachable: bool) -> None:
        self.reachable = reachable
        if reachable:
            self.core.peer_reachable(self.loop.time())
        self.pump()

    def pump(self) -> None:
        now = self.loop.time()
        due = self.core.get_timer()
        if due is not None and due <= now + 0.005:      # the loop may wake a hair early
            self.core.handle_timer(max(now, due))
        for out in self.core.outputs():
            if isinstance(out, SendReport):
                if self.reachable:
                    self.send(CHANNEL_PRESENCE, out.payload)
            elif isinstance(out, Changed):
                fields = {"where": out.where, "staffed": bool(out.staffed)}
                if out.motion_age is not None:
                    fields["motion_age_ms"] = int(out.motion_age * 1000)
                if out.staffed is not None:
                    self.journal.record("presence", **fields)
                if out.where == "far":
                    self.on_far(out.staffed)
                for listener in self.listeners:
                    listener(out)
        self._alarm.arm(self.core.get_timer())

    def close(self) -> None:
        self._alarm.cancel()
        if self._sensor is not None:
            self._sensor.when_activated = None
