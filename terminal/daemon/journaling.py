"""The daemon's side of the journal: appends off the event loop, in order, and the checkpoint timer.

An append waits for an fsync, so it runs in one worker thread; a single
worker keeps records in the order they were asked for. `flush()` waits for
every append asked so far (the simulation and shutdown use it).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Future, ThreadPoolExecutor

from terminal.journal import Journal, JournalFieldError

log = logging.getLogger(__name__)


class JournalWriter:
    def __init__(self, journal: Journal):
        self.journal = journal
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="journal")
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False
        self.failures = 0

    def record(self, kind: str, call_id: str | None = None, **fields) -> Future:
        return self._executor.submit(self._append, kind, call_id, fields)

    def _append(self, kind, call_id, fields):
        try:
            return self.journal.append(kind, call_id, **fields)
        except JournalFieldError:
            self.failures += 1
            log.exception("refused a malformed journal record %r", kind)
        except Exception:  # disk full, I/O error: counted, logged, the unit keeps running
            self.failures += 1
            log.exception("could not append %r to the journal", kind)
        return None

    def query(self, fn) -> Future:
        """Run `fn(journal)` on the journal's thread, after every append asked for so far."""
        return self._executor.submit(fn, self.journal)

    async def flush(self) -> None:
        await asyncio.wrap_future(self._executor.submit(lambda: None))

    def arm(self, loop: asyncio.AbstractEventLoop) -> None:
        """Keep the time-based checkpoint timer armed at the journal's own deadline. The deadline
        is read on the journal's thread: it waits for the lock an fsync may be holding."""
        self._executor.submit(self._next_deadline, loop)

    def _next_deadline(self, loop) -> None:
        deadline = self.journal.get_timer()
        loop.call_soon_threadsafe(self._set_timer, loop, deadline)

    def _set_timer(self, loop, deadline: float | None) -> None:
        if self._closed:
            return
        if self._timer is not None:
            self._timer.cancel()
        delay = 60.0 if deadline is None else max(0.0, deadline - loop.time())
        self._timer = loop.call_later(delay, self._on_timer, loop)

    def _on_timer(self, loop) -> None:
        self._executor.submit(self.journal.handle_timer)
        self.arm(loop)

    def close(self, reason: str = "stop") -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        self.record("shutdown", reason=reason)
        self._executor.submit(self.journal.close)
        self._executor.shutdown(wait=True)
