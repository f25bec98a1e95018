"""The text service the daemon wires in: a channel core kept in step with its store.

Call `start(now)` once, then feed link events and payloads in; after every
call, send `payloads_to_send(now)` on CHANNEL_TEXT, drain `next_event()`, and
re-arm one timer at `get_timer()`. Pass wall-clock seconds as `now` (times are
stored and shown). Timers keep their length across a step of that clock: a
caller that can measure a step (against a monotonic clock) reports it with
`clock_stepped`; a backward step it does not report is noticed on the next call
(see `_observe`). An unreported forward step makes what was pending due at once:
one burst of retransmissions and re-alerts, then the usual schedule.

Every effect of a call is committed to SQLite before its payloads are handed
out, so no receipt is ever sent for something not on disk. If the store fails,
the call raises StoreError, its payloads are discarded and the channel is
rebuilt from the store: the peer's retransmissions recover.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections import deque
from collections.abc import Mapping

from terminal.text.alert import DEFAULT_BURST, DEFAULT_INTERVALS, AlertPolicy
from terminal.text.channel import TextChannel
from terminal.text.constants import INITIAL_RTO, MAX_RTO, MIN_RTO, SEND_WINDOW
from terminal.text.errors import StoreError, TextRefused
from terminal.text.events import Event, MessageAcknowledged, MessageQueued, MessageReceived
from terminal.text.precedence import Precedence
from terminal.text.store import MessageStore, Record
from terminal.text.validate import check_text

MAX_SEND_KEY = 128

log = logging.getLogger(__name__)


class TextService:
    def __init__(self, store_path: str | os.PathLike, *,
                 alert_intervals: Mapping[Precedence, float] = DEFAULT_INTERVALS,
                 burst_seconds: float = DEFAULT_BURST, window: int = SEND_WINDOW,
                 initial_rto: float = INITIAL_RTO, min_rto: float = MIN_RTO, max_rto: float = MAX_RTO,
                 store_timeout: float = 2.0, deferred_sync: bool = False) -> None:
        """`deferred_sync`: see MessageStore; the caller then owes `store.sync()` before it hands
        out any payload or answer (terminal/daemon/texting.py does)."""
        self.store = MessageStore(store_path, timeout=store_timeout, deferred_sync=deferred_sync)
        self.alert = AlertPolicy(alert_intervals, burst_seconds)
        self._channel_args = dict(window=window, initial_rto=initial_rto, min_rto=min_rto,
                                  max_rto=max_rto)
        self._events: deque[Event] = deque()
        self.reachable_since: float | None = None
        self._stale = False
        self._last_now: float | None = None         # the latest `now` seen, to notice the clock going back
        self.channel = self._load()

    def _load(self) -> TextChannel:
        snap = self.store.snapshot()
        channel = TextChannel(snap.stream, next_seq=snap.next_seq, **self._channel_args)
        for id, precedence, text, created, seq in snap.outgoing:
            channel.restore_outgoing(id, precedence, text, created, seq)
        for stream, next_seq, held in snap.incoming:
            channel.restore_incoming(stream, next_seq, held)
        for id, at in snap.receipts:
            channel.restore_receipt(id, at)
        return channel

    def start(self, now: float) -> None:
        """Call once after construction: lights the LED and rings for what is still unread."""
        self._observe(now)
        self._update_alert(now)

    def close(self) -> None:
        self.store.close()

    # --- the person's side --------------------------------------------------------

    def send(self, text: str | bytes, precedence: str | Precedence, now: float, key: str | None = None) -> str:
        """Queue a message; returns its id once it is on disk. Refuses bad input (TextRefused).

        `key`: the client's idempotency key. A send with a key already used returns the first
        send's id and queues nothing (a client whose answer was lost retries safely)."""
        text = check_text(text)
        precedence = Precedence.parse(precedence)
        if key is not None:
            if not isinstance(key, str) or not 1 <= len(key) <= MAX_SEND_KEY or not key.isprintable():
                raise TextRefused(f"idempotency key must be 1 to {MAX_SEND_KEY} printable characters")
            first = self.store.sent_with_key(key)
            if first is not None:
                return first
        self._observe(now)
        id = uuid.uuid4().hex
        self.store.enqueue(id, precedence, text, now, key)
        self._events.append(MessageQueued(id, precedence, now))
        self._step_after_commit(lambda: self.channel.queue(bytes.fromhex(id), precedence, text, now, now),
                                now)
        return id

    def ack(self, id: str, now: float) -> str:
        """A person read received message `id` (or a unique prefix of it); returns the full id."""
        self._observe(now)
        full_id, changed = self.store.acknowledge(id, now)
        if changed:
            self._events.append(MessageAcknowledged(full_id, now))
            self._step_after_commit(lambda: self.channel.send_read_receipt(bytes.fromhex(full_id), now, now),
                                    now)
            self.alert.read(full_id, now)
            self._drain_alert()
        return full_id

    def list(self) -> list[Record]:
        return self.store.list()

    def page(self, limit: int, after=None) -> list[Record]:
        return self.store.page(limit, after)

    # --- the link's side ----------------------------------------------------------

    def on_payload(self, payload: bytes, now: float) -> None:
        """A payload that arrived on CHANNEL_TEXT."""
        self._observe(now)
        self._step(lambda: self.channel.receive(payload, now), now)

    def on_peer_reachable(self, now: float) -> None:
        self._observe(now)
        self.reachable_since = now
        self._step(lambda: self.channel.peer_reachable(now), now)

    def on_peer_unreachable(self, now: float) -> None:
        self._observe(now)
        self.reachable_since = None
        self.channel.peer_unreachable(now)

    def payloads_to_send(self, now: float) -> list[bytes]:
        self._observe(now)
        return self.channel.payloads_to_send(now)

    def get_timer(self) -> float | None:
        timers = [t for t in (self.channel.get_timer(), self.alert.get_timer()) if t is not None]
        return min(timers, default=None)

    def handle_timer(self, now: float) -> None:
        self._observe(now, timer_fired=True)
        self.alert.handle_timer(now)
        self._drain_alert()
        self._step(lambda: self.channel.handle_timer(now), now)

    def clock_stepped(self, step: float) -> None:
        """Call when the clock behind `now` stepped by `step` seconds (negative: backwards).

        For a caller that measures the step (against a monotonic clock): every pending
        retransmission, read receipt and re-alert keeps the wait it had left, and a round trip
        under way is timed across the step.
        """
        self._shift(step, exact=True)

    def next_event(self) -> Event | None:
        return self._events.popleft() if self._events else None

    @property
    def dropped(self) -> int:
        return sum(self.channel.dropped.values())

    # --- keeping channel and store in step --------------------------------------------

    def _observe(self, now: float, timer_fired: bool = False) -> None:
        """Notice the clock going back since the last call and move every timer with it.

        Without a monotonic clock the step's size is a guess. In `handle_timer` the caller's
        timer has just fired, so the earliest deadline was reached: the step is `now` minus
        that deadline. Elsewhere no time is assumed to have passed since the last call, so a
        timer may run late by at most what had elapsed of it.
        """
        last = self._last_now
        if last is not None and now < last:
            if timer_fired and (deadline := self.get_timer()) is not None:
                last = max(last, deadline)
            self._shift(now - last, exact=False)
        self._last_now = now

    def _shift(self, step: float, exact: bool) -> None:
        log.info("clock stepped by %+.3f s (%s); pending text timers moved with it",
                 step, "measured" if exact else "noticed going back")
        self.channel.clock_stepped(step, exact=exact)
        self.alert.clock_stepped(step)
        if self._last_now is not None:
            self._last_now += step

    def _step(self, call, now: float) -> None:
        if self._stale:
            self._stale = False
            self.channel = self._load()
            if self.reachable_since is not None:
                self._step(lambda: self.channel.peer_reachable(now), now)
        call()
        effects = []
        while (effect := self.channel.next_effect()) is not None:
            effects.append(effect)
        if not effects:
            return
        try:
            events = self.store.apply(effects)
        except StoreError:
            self.channel.payloads_to_send(now)          # no receipt for what is not on disk
            self._stale = True                          # rebuild from the store on the next call
            raise
        self._events.extend(events)
        arrived = [e for e in events if isinstance(e, MessageReceived)]
        for event in arrived:
            self.alert.arrived(event.id, event.precedence, now)
        if arrived:
            self._drain_alert()

    def _step_after_commit(self, call, now: float) -> None:
        """A step whose cause is already on disk: a store failure now only delays it."""
        try:
            self._step(call, now)
        except StoreError as e:
            log.warning("stored, but could not update message state yet (%s); retrying later", e)

    def _update_alert(self, now: float) -> None:
        self.alert.update(self.store.unread(), now)
        self._drain_alert()

    def _drain_alert(self) -> None:
        while (action := self.alert.next_action()) is not None:
            self._events.append(action)
