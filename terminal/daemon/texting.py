"""The text service on the unit's loop: link events in, payloads out, events to the journal.

The text service keeps wall-clock times (they are stored and shown), so its
`now` is `time.time()`. Its timer runs on the loop's monotonic clock, armed for
`deadline - now`. A step of the wall clock (NTP fixing a unit that booted with
the wrong time) shows as a change in wall minus loop time; it is reported to
the service before the next call, so retransmissions and re-alerts keep their
schedule instead of stalling for the length of a backward step or all firing
at once after a forward one.

With a store opened with `deferred_sync` (the daemon's), a commit on the loop does
not wait for the card: the fsync runs on `sync_worker`, and until it has covered
every commit, `pump` hands out nothing (no payload, no event to the journal or
the listeners) and a console answer waits (`after_sync`). A receipt or a "queued"
therefore still means "on the card", as with synchronous=FULL, and the loop
never blocks on the fsync. If the fsync fails, everything stays held until the
unit restarts (MessageStore.sync says why a retry proves nothing), `sync_error`
says so for `hotline status`, and a console answer waiting on it gets the error
with the id it was queued as.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from concurrent.futures import Executor
from typing import Callable

from terminal.link.constants import CHANNEL_TEXT
from terminal.text import events as ev
from terminal.text.errors import StoreError
from terminal.text.service import TextService

# wall minus loop time may wander this much (clock reads, NTP slewing) before it counts as a step
CLOCK_STEP = 1.0

log = logging.getLogger(__name__)

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
                 clock: Callable[[], float] = time.time, sync_worker: Executor | None = None):
        """`clock`: wall-clock seconds, for the service's `now` (a test passes a fake).
        `sync_worker`: the thread that fsyncs a store opened with deferred_sync."""
        if service.store.deferred_sync and sync_worker is None:
            raise ValueError("a store with deferred_sync needs a sync_worker to fsync it")
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
        self._sync_worker = sync_worker
        self._sync: asyncio.Future | None = None       # the fsync under way
        self._sync_waiters: list[asyncio.Future] = []
        self.sync_error: Exception | None = None      # the store's fsync failed: held until restart
        self._closed = False

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
        if self._closed:                # an fsync that finished after close
            return
        now = self.now()
        if self._held():
            return
        for payload in self.service.payloads_to_send(now):
            self._send(self.channel, payload)
        store = self.service.store
        # a listener's commit (the records channel acks) holds the events after it until its fsync
        while not store.unsynced and (event := self.service.next_event()) is not None:
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
        self._held()                # a listener's commit (the records channel acks) owes its fsync too

    # --- the fsync off the loop ---------------------------------------------------

    def _held(self) -> bool:
        """Whether a commit is still owed its fsync; starts that fsync if none is under way."""
        store = self.service.store
        if not store.unsynced:
            return False
        if self.sync_error is not None:     # held until the unit restarts
            return True
        if self._sync is None:
            self._sync = self._loop.run_in_executor(self._sync_worker, store.sync)
            self._sync.add_done_callback(self._synced)
        return True

    def _synced(self, future: asyncio.Future) -> None:
        self._sync = None
        if future.cancelled():
            return
        error = future.exception()
        waiters, self._sync_waiters = self._sync_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(error) if error is not None else waiter.set_result(None)
        if error is not None:
            if self.sync_error is None:
                log.error("%s; holding back everything it would send until the unit restarts", error)
            self.sync_error = error
            return
        self.pump()

    async def synced(self) -> None:
        """Return once every commit so far is on the card (at once without deferred_sync);
        raises the store's error if the fsync fails."""
        while self._held():
            if self.sync_error is not None:
                raise self.sync_error
            waiter = self._loop.create_future()
            self._sync_waiters.append(waiter)
            await waiter

    def after_sync(self, handler: Callable) -> Callable:
        """`handler` (a console method) answering only once what it committed is on the card."""
        @functools.wraps(handler)
        async def answered_after_sync(*args, **kwargs):
            result = handler(*args, **kwargs)
            try:
                await self.synced()
            except StoreError as e:
                said = f" as {result['id']}" if isinstance(result, dict) and "id" in result else ""
                raise StoreError(f"done{said}, but not confirmed on the card: {e}; it is held, and goes out "
                                 "after a restart if the card kept it") from e
            return result
        return answered_after_sync

    def _on_timer(self) -> None:
        self._timer = None
        self.service.handle_timer(self.now())
        self.pump()

    def close(self) -> None:
        """Stop; a commit still owed its fsync gets it here, on the caller's thread, and what it
        held (journal records, events, payloads) goes out before the store closes, so a clean stop
        leaves nothing for the next start's recovery to find."""
        if self._sync is not None:
            self._sync.cancel()
            self._sync = None
        if self.sync_error is None and self.service.store.unsynced:
            try:
                self.service.store.sync()
            except StoreError as e:
                self.sync_error = e
                log.error("%s; what it held is not sent", e)
        if self.sync_error is None:
            self.pump()
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._sync is not None:
            self._sync.cancel()
        for waiter in self._sync_waiters:
            waiter.cancel()
        self.service.close()
