"""The asyncio side of a paced handset: one timer, re-armed at ``next_due()``.

A plain ``call_at`` chain rather than a task waking per frame: at 50 frames a
second per unit, the task and ``wait_for`` machinery was a visible share of a
call's CPU (tests/bench/bench_cpu.py).
"""

import asyncio
from typing import Callable

from terminal.audio.handset import PacedHandset


async def pump_frames(handset: PacedHandset, on_frame: Callable[[bytes, float], None], stop: asyncio.Event) -> int:
    """Start ``handset`` on the loop's clock and hand each captured frame to
    ``on_frame(frame, now)`` as it comes due, until ``stop`` is set; return the count.
    An exception from ``on_frame`` ends the pump and is raised here."""
    loop = asyncio.get_running_loop()
    handset.start(loop.time())
    finished = loop.create_future()
    count = 0
    timer: asyncio.TimerHandle | None = None

    def tick() -> None:
        nonlocal count, timer
        timer = None
        if finished.done():
            return
        if stop.is_set():
            finished.set_result(None)
            return
        now = loop.time()
        try:
            for frame in handset.poll(now):
                on_frame(frame, now)
                count += 1
                if stop.is_set():
                    break
            if stop.is_set():
                finished.set_result(None)
            else:
                timer = loop.call_at(handset.next_due(), tick)
        except BaseException as exc:  # the pump's owner sees it, as from a plain coroutine
            finished.set_exception(exc)

    stopper = loop.create_task(stop.wait())
    stopper.add_done_callback(lambda _: finished.done() or finished.set_result(None))
    tick()
    try:
        await finished
    finally:
        if timer is not None:
            timer.cancel()
        stopper.cancel()
    return count
