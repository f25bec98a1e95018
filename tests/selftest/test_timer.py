"""The asyncio driver of the schedule: runs when due, waits out a call, survives a crashing run."""

import asyncio

from terminal.selftest.schedule import Schedule
from terminal.selftest.timer import SelfTestTimer


async def test_runs_repeat_on_the_schedule_and_wait_while_busy():
    loop = asyncio.get_running_loop()
    busy = [True]
    started = []
    third = asyncio.Event()

    async def run():
        started.append(loop.time())
        if len(started) == 2:
            raise RuntimeError("a crashing run must not stop the schedule")
        if len(started) == 3:
            third.set()

    def is_busy():
        was, busy[0] = busy[0], False       # busy at the first due time only
        return was

    timer = SelfTestTimer(Schedule(interval=0.01, first_after=0.0, retry_after=0.01), run, busy=is_busy)
    timer.start()
    begin = loop.time()
    try:
        await asyncio.wait_for(third.wait(), 5)
    finally:
        timer.close()
        timer.close()
    assert len(started) == 3
    assert started[0] - begin >= 0.0099                             # put off once by retry_after (asyncio may fire
                                                                    # within its clock resolution of the deadline)
    assert all(b - a >= 0.0099 for a, b in zip(started, started[1:]))  # one interval after each run


async def test_close_before_the_first_run_means_no_run():
    ran = []

    async def run():
        ran.append(1)

    timer = SelfTestTimer(Schedule(interval=60, first_after=0.0), run)
    timer.start()
    timer.close()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert ran == []
