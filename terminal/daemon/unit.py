"""One unit on an asyncio loop: its link to the peer and the services riding on it.

Services register a handler per inner channel; the link's events fan out to
listeners. Everything protocol-shaped lives in the sans-I/O cores; this file
only moves bytes, time and events between them.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from types import SimpleNamespace
from typing import Callable

from terminal import __version__
from terminal.daemon.journaling import JournalWriter
from terminal.journal import Journal
from terminal.keys import UnitKeys
from terminal.link.constants import CHANNEL_TEST
from terminal.link.echo import Echo
from terminal.link.endpoint import LinkEndpoint
from terminal.link.events import DataReceived, Event, PeerReachable, PeerUnreachable
from terminal.link.messages import MalformedPacket
from terminal.link.session import LinkSession

log = logging.getLogger(__name__)

Handler = Callable[[bytes, float], None]


class Unit:
    def __init__(self, config: SimpleNamespace, keys: UnitKeys):
        self.config = config
        self.keys = keys
        self.name = config.unit.id
        self.handlers: dict[int, Handler] = {CHANNEL_TEST: self._on_echo}
        self.listeners: list[Callable[[Event], None]] = []
        self.echo = Echo()
        self.endpoint: LinkEndpoint | None = None
        self.session: LinkSession | None = None
        self.journal: JournalWriter | None = None
        self._echo_waiters: dict[int, asyncio.Future] = {}

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    def now(self) -> float:
        return self.loop.time()

    async def start(self, sock: socket.socket | None = None) -> None:
        """Open the link. `sock`: an already bound UDP socket (the simulation pre-binds ports)."""
        link, peer = self.config.link, self.config.peer
        data_dir = self.config.unit.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self.journal = JournalWriter(Journal(data_dir / "journal.sqlite", self.keys.signing, unit=self.name))
        self.journal.record("boot", version=__version__)
        self.journal.arm(self.loop)
        self.session = LinkSession(
            static=self.keys.static,
            peer_static=peer.static_public,
            endpoints=peer.endpoints,
            pairing_id=link.pairing_id,
            psk=peer.psk,
            unreachable_after=link.unreachable_after,
            wall_offset=time.time() - self.now(),
        )
        if sock is not None:
            _, self.endpoint = await self.loop.create_datagram_endpoint(
                lambda: LinkEndpoint(self.session, self._dispatch), sock=sock
            )
            self.session.start(self.now())
            self.endpoint._pump()
        else:
            self.endpoint = await LinkEndpoint.open(self.session, link.listen, self._dispatch)

    def send(self, channel: int, payload: bytes, via=None) -> None:
        self.endpoint.send(channel, payload, via)

    async def echo_test(self, payload: bytes, timeout: float, via=None) -> float | None:
        """An authenticated round trip to the peer (over endpoint `via` if given); RTT in seconds or None."""
        echo_id, data = self.echo.request(payload, self.now())
        waiter = self.loop.create_future()
        self._echo_waiters[echo_id] = waiter
        self.send(CHANNEL_TEST, data, via)
        try:
            return await asyncio.wait_for(waiter, timeout)
        except asyncio.TimeoutError:
            return None
        finally:
            self._echo_waiters.pop(echo_id, None)

    def close(self, reason: str = "stop") -> None:
        """Close the link and sign the journal's tail. Idempotent."""
        if self.endpoint is not None:
            self.endpoint.close()
            self.endpoint = None
        if self.journal is not None:
            self.journal.close(reason)
            self.journal = None

    def _on_echo(self, payload: bytes, now: float) -> None:
        reply = self.echo.on_payload(payload, now)
        if reply is not None:
            self.send(CHANNEL_TEST, reply)
            return
        result = self.echo.results[-1]
        waiter = self._echo_waiters.get(result.id)
        if waiter is not None and not waiter.done():
            waiter.set_result(result.rtt)

    def _dispatch(self, event: Event) -> None:
        if isinstance(event, DataReceived):
            handler = self.handlers.get(event.channel)
            if handler is None:
                self.session.stats["dropped_no_handler"] += 1
                return
            try:
                handler(event.payload, event.at)
            except MalformedPacket as exc:
                self.session.stats["dropped_malformed_service"] += 1
                log.debug("%s: dropped a malformed channel-%d payload: %s", self.name, event.channel, exc)
            return
        if isinstance(event, PeerReachable):
            self.journal.record("link_up", path="%s:%d" % self.session.destination[:2])
        elif isinstance(event, PeerUnreachable):
            self.journal.record("link_down", reason=f"no authenticated packet for {event.silent_for:.1f} s")
        for listener in self.listeners:
            listener(event)
