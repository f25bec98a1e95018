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

from terminal.alarm import Alarm
from terminal.selftest.schedule import Schedule

log = logging.getLogger(__name__)


class SelfTestTimer:
    def __init__(self, schedule: Schedule, run: Callable[[], Awaitable], busy: Callable[[], bool] = lambda: False):
        self.schedule = schedule
        self.run = run
        self.busy = busy
        self._loop: asyncio.AbstractEventLoop | None = None
        self._alarm: Alarm | None = None
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._alarm = Alarm(self._loop, self._fire)
        self.schedule.start(self._loop.time())
        self._arm()

    def _arm(self) -> None:
        if self._loop is not None:
            self._alarm.arm(self.schedule.get_timer())

    def _fire(self) -> None:
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
        if self._alarm is not None:
            self._alarm.cancel()
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._loop = None
