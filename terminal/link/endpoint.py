"""The link's asyncio UDP adapter: feeds datagrams and the loop's clock into a LinkSession.

It sends what the session returns, keeps one timer at or before `get_timer()`
(re-armed only when the deadline moves earlier: an early firing is harmless) and
hands events to a callback. Voice frames take the session's hot paths both ways
(`send_data`, `receive`): no event object, no full deadline recomputation. No
exception from the session or the callback ever reaches the event loop: it is
logged and counted in `session.stats`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

from terminal.alarm import Alarm
from terminal.link.events import DataReceived, Event
from terminal.link.session import LinkSession

log = logging.getLogger(__name__)
ERROR_LOG_EVERY = 60.0     # seconds between log lines about the same kind of adapter error


class LinkEndpoint(asyncio.DatagramProtocol):
    def __init__(self, session: LinkSession, on_event: Callable[[Event], None] | None = None,
                 on_data: Callable[[int, bytes, float], None] | None = None):
        """`on_data(channel, payload, at)` takes routine data straight from the session's hot
        path (`LinkSession.receive`); without it such data reaches `on_event` as `DataReceived`."""
        self.session = session
        self.on_event = on_event or (lambda event: None)
        self.on_data = on_data or (lambda channel, payload, at: self.on_event(DataReceived(channel, payload, at)))
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.DatagramTransport | None = None
        self._alarm = Alarm(self.loop, self._on_timer)
        self.closed: asyncio.Future = self.loop.create_future()   # done once the socket is released
        self._errors: dict[str, tuple[float, int]] = {}            # error kind -> (last logged, since then)

    @classmethod
    async def open(cls, session: LinkSession, listen: tuple[str, int], on_event=None, on_data=None) -> "LinkEndpoint":
        loop = asyncio.get_running_loop()
        try:
            _, endpoint = await loop.create_datagram_endpoint(lambda: cls(session, on_event, on_data),
                                                              local_addr=listen)
        except OSError as exc:
            raise OSError(exc.errno, f"cannot listen on {listen[0]}:{listen[1]}: {exc.strerror or exc}") from None
        session.start(loop.time())
        endpoint.pump()
        return endpoint

    @property
    def local_address(self) -> tuple[str, int]:
        return self.transport.get_extra_info("sockname")[:2]

    def connection_made(self, transport) -> None:
        self.transport = transport

    def connection_lost(self, exc) -> None:
        if not self.closed.done():
            self.closed.set_result(None)

    def datagram_received(self, data: bytes, addr) -> None:
        now = self.loop.time()
        try:
            routine = self.session.receive(data, addr[:2], now)
        except Exception as exc:  # never let one bad packet kill the loop
            self.session.stats["adapter_errors"] += 1
            self._log_error(exc)
            routine = None
        if routine is None:
            self.pump()
            return
        # The hot path: no datagram queued, no event, no deadline earlier (LinkSession.receive).
        self._guard(self.on_data, routine[0], routine[1], now)

    def error_received(self, exc: Exception) -> None:
        # ICMP unreachable and the like: the peer's silence timers handle it.
        self.session.stats["socket_errors"] += 1
        log.debug("socket error: %s", exc)

    def send(self, channel: int, payload: bytes, via=None) -> None:
        now = self.loop.time()
        session = self.session
        if via is None and self.transport is not None and session.send_data(channel, payload, now):
            for data, addr in session.datagrams_to_send(now):      # the hot path: only the datagrams
                self.transport.sendto(data, addr)
            self._alarm.arm_by(session.deadline_after_send())
            return
        session.send(channel, payload, now, via)
        self.pump()

    def close(self) -> None:
        self._alarm.cancel()
        if self.transport is not None:
            self.transport.close()
            self.transport = None

    def _on_timer(self) -> None:
        self._guard(self.session.handle_timer, self.loop.time())
        self.pump()

    def pump(self) -> None:
        if self.transport is None:
            return
        for data, addr in self.session.datagrams_to_send(self.loop.time()):
            self.transport.sendto(data, addr)
        while (event := self.session.next_event()) is not None:
            self._guard(self.on_event, event)
        deadline = self.session.get_timer()
        if deadline is None:
            self._alarm.cancel()
        else:       # lazy: firing early is harmless, handle_timer acts only on what is due
            self._alarm.arm_by(deadline)

    def _guard(self, fn, *args) -> None:
        try:
            fn(*args)
        except Exception as exc:  # never let one bad packet or handler kill the loop
            self.session.stats["adapter_errors"] += 1
            self._log_error(exc)

    def _log_error(self, exc: Exception) -> None:
        """The first error of a kind with its traceback; the same kind again (a full disk refusing
        every store write) at most one line a minute, with how many there were."""
        kind, now = type(exc).__name__, self.loop.time()
        last, suppressed = self._errors.get(kind, (None, 0))
        if last is None:
            log.exception("link adapter caught an error")
            self._errors[kind] = (now, 0)
        elif now - last >= ERROR_LOG_EVERY:
            log.error("link adapter: %d more %s since the last report, latest: %s", suppressed + 1, kind, exc)
            self._errors[kind] = (now, 0)
        else:
            self._errors[kind] = (last, suppressed + 1)
