"""The daemon's side of the journal: appends off the event loop, in order, grouped, and never a
silent hole.

An append waits for an fsync, so it runs in one worker thread; a single worker
keeps records in the order they were asked for. Records asked for while the
worker is busy are written together in one transaction with one checkpoint
(group commit): every transaction is signed, so what is on disk is signed.

When the journal cannot be written (disk full, an I/O error), the records are
counted in memory by kind and time span (`LostRecords`), the fault callback is
told, one error is logged and then at most one line a minute. The writer
retries every RETRY_SECONDS; the first transaction that commits again starts
with a `gap` record saying what was lost, so the verifier and the report show
the hole. A journal found rewritten behind the unit's back (JournalRewritten)
is treated the same way, except that nothing is retried: the unit must not
sign it, and the fault stays.

`flush()` waits for every append asked so far (the simulation and shutdown use it).
`on_checkpoint(checkpoint, kinds)` is called on the worker thread after each
commit that signed a checkpoint, with the kinds of records it covered.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

from terminal.daemon.scheduling import normal_priority
from terminal.journal import Journal, JournalFieldError, check_record
from terminal.journal.errors import JournalRewritten

log = logging.getLogger(__name__)

RETRY_SECONDS = 5.0        # while records are being lost: how often to try the journal again
LOG_EVERY = 60.0           # at most one log line this often while the journal stays unwritable


@dataclass
class LostRecords:
    """What could not be written: enough to say so in a `gap` record once the journal works again."""

    kinds: Counter = field(default_factory=Counter)
    from_us: int | None = None
    to_us: int | None = None
    reason: str = ""

    def __bool__(self) -> bool:
        return bool(self.kinds)

    @property
    def count(self) -> int:
        return sum(self.kinds.values())

    def add(self, kinds: list[str], wall_us: int, reason: str) -> None:
        self.kinds.update(kinds)
        self.from_us = wall_us if self.from_us is None else self.from_us
        self.to_us = wall_us
        self.reason = reason

    def gap_fields(self) -> dict:
        kinds = ",".join(f"{k}:{n}" for k, n in sorted(self.kinds.items()))
        return {"lost": self.count, "kinds": kinds, "from_us": self.from_us, "to_us": self.to_us,
                "reason": self.reason[:200]}


class JournalWriter:
    def __init__(self, journal: Journal, *, on_fault: Callable[[str | None], None] = lambda reason: None,
                 on_checkpoint: Callable[[object, list[str]], None] | None = None,
                 wall_us: Callable[[], int] = lambda: time.time_ns() // 1000,
                 clock: Callable[[], float] = time.monotonic):
        """`on_fault(reason)` is called on the worker thread when appends start failing, and
        `on_fault(None)` when a gap record has been written again."""
        self.journal = journal
        self.observers: list[Callable[[str, str | None, dict], None]] = []
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="journal",
                                            initializer=normal_priority)
        self._pending: list[tuple[str, str | None, dict, Future]] = []
        self._pending_lock = threading.Lock()
        self._on_fault = on_fault
        self._on_checkpoint = on_checkpoint
        self._wall_us, self._clock = wall_us, clock
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self.lost = LostRecords()
        self.rewritten: str | None = None     # why the journal must not be signed any more
        self.failures = 0
        self._last_log = float("-inf")
        self.busy_since: float | None = None   # monotonic time the worker started its current transaction
        self.retry_seconds = RETRY_SECONDS

    # -- appending -----------------------------------------------------------

    def record(self, kind: str, call_id: str | None = None, **fields) -> Future:
        """Queue one record; the future gives the Record once it is on disk, or None if it was lost."""
        future: Future = Future()
        for observer in self.observers:         # the metrics' counts, on the caller's thread
            try:
                observer(kind, call_id, fields)
            except Exception:
                log.exception("a journal observer failed on %r", kind)
        with self._pending_lock:
            self._pending.append((kind, call_id, fields, future))
        self._executor.submit(self._drain)
        return future

    def _drain(self) -> None:
        with self._pending_lock:
            batch, self._pending = self._pending, []
        entries, futures = [], []
        for kind, call_id, fields, future in batch:
            try:
                check_record(kind, call_id, fields)
            except JournalFieldError:
                self.failures += 1
                log.exception("refused a malformed journal record %r", kind)
                future.set_result(None)
                continue
            entries.append((kind, call_id, fields))
            futures.append(future)
        if not entries and not self.lost:
            return
        self._write(entries, futures)

    def _write(self, entries: list, futures: list[Future]) -> None:
        if self.rewritten is not None:
            self._lose(entries, futures, self.rewritten)
            return
        gap = [("gap", None, self.lost.gap_fields())] if self.lost else []
        self.busy_since = self._clock()
        try:
            records = self.journal.append_many(gap + entries)
        except JournalRewritten as exc:
            self.rewritten = str(exc)
            log.error("the journal was changed behind the unit's back; not signing it: %s", exc)
            self._lose(entries, futures, self.rewritten)
            return
        except Exception as exc:  # disk full, I/O error: counted, said in a gap record later
            self._lose(entries, futures, f"{type(exc).__name__}: {exc}")
            return
        finally:
            self.busy_since = None
        if gap:
            log.warning("the journal works again: wrote a gap record for %d lost record(s)", self.lost.count)
            self.lost = LostRecords()
            self._safe(self._on_fault, None)
        for future, record in zip(futures, records[len(gap):]):
            future.set_result(record)
        if self._on_checkpoint is not None and self.journal.last_checkpoint is not None \
                and self.journal.last_checkpoint.seq == records[-1].seq:
            self._safe(self._on_checkpoint, self.journal.last_checkpoint, [r.kind for r in records])

    def _lose(self, entries: list, futures: list[Future], reason: str) -> None:
        first = not self.lost
        self.failures += len(entries)
        if entries:
            self.lost.add([kind for kind, _, _ in entries], self._wall_us(), reason)
        now = self._clock()
        if first or now - self._last_log >= LOG_EVERY:
            self._last_log = now
            log.error("cannot write the journal (%s): %d record(s) lost so far, kept in memory for a gap record",
                      reason, self.lost.count)
        if first:
            self._safe(self._on_fault, reason)
        for future in futures:
            future.set_result(None)
        if self._loop is not None and self.rewritten is None:
            self._loop.call_soon_threadsafe(self._retry_later)

    @staticmethod
    def _safe(fn, *args) -> None:
        try:
            fn(*args)
        except Exception:
            log.exception("journal callback failed")

    # -- on the loop -----------------------------------------------------------

    def arm(self, loop: asyncio.AbstractEventLoop) -> None:
        """Let the writer retry on this loop while records are being lost."""
        self._loop = loop

    def _retry_later(self) -> None:
        if self._closed or self._timer is not None:
            return
        self._timer = self._loop.call_later(self.retry_seconds, self._retry)

    def _retry(self) -> None:
        self._timer = None
        if not self._closed:
            self._executor.submit(self._drain)

    def query(self, fn) -> Future:
        """Run `fn(journal)` on the journal's thread, after every append asked for so far."""
        return self._executor.submit(self._timed, fn)

    def _timed(self, fn):
        self.busy_since = self._clock()
        try:
            return fn(self.journal)
        finally:
            self.busy_since = None

    async def flush(self) -> None:
        await asyncio.wrap_future(self._executor.submit(lambda: None))

    def hung_for(self, now: float) -> float:
        """How long the worker has been inside one transaction (0 when idle): the watchdog asks."""
        busy = self.busy_since
        return 0.0 if busy is None else now - busy

    def close(self, reason: str = "stop") -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        self.record("shutdown", reason=reason)
        self._executor.submit(self.journal.close)
        self._executor.shutdown(wait=True)
