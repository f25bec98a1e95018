"""The in-daemon schedule on an asyncio loop: one timer armed at `Schedule.get_timer()`.

    timer = SelfTestTimer(Schedule(3600), run=lambda: run_selftest(ctx, ...), busy=lambda: in_call)
    timer.start()        # on the running loop
    ...
    timer.close()
"""

from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable

from terminal.selftest.schedule import Schedule

log = logging.getLogger(__name__)


class SelfTestTimer:
    def __init__(self, schedule: Schedule, run: Callable[[], Awaitable], busy: Callable[[], bool] = lambda: False):
        self.schedule = schedule
        self.run = run
        self.busy = busy
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.schedule.start(self._loop.time())
        self._arm()

    def _arm(self) -> None:
        deadline = self.schedule.get_timer()
        if deadline is not None and self._loop is not None:
            self._handle = self._loop.call_at(deadline, self._fire)

    def _fire(self) -> None:
        self._handle = None
        if self.schedule.handle_timer(self._loop.time(), busy=self.busy()):
            self._task = self._loop.create_task(self._run())
        else:
            self._arm()

    async def _run(self) -> None:
        loop = self._loop
        try:
            await self.run()
        except Exception:
            log.exception("scheduled self-test crashed")
        finally:
            self._task = None
            if self._loop is not None:        # not closed meanwhile
                self.schedule.done(loop.time())
                self._arm()

    def close(self) -> None:
        """Cancel the timer and any run in progress. Idempotent."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._loop = None
