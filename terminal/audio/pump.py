"""The asyncio side of a handset: one timer re-armed at ``next_due()`` for a paced handset,
or, for a threaded one (terminal/audio/device_clock.py), a wake from its capture thread.

A plain ``call_at`` chain rather than a task waking per frame: at 50 frames a
second per unit, the task and ``wait_for`` machinery was a visible share of a
call's CPU (tests/bench/bench_cpu.py).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Callable

from terminal.audio.handset import PacedHandset

if TYPE_CHECKING:
    from terminal.audio.device_clock import DeviceClockHandset


async def pump_frames(handset: PacedHandset | DeviceClockHandset, on_frame: Callable[[bytes, float], None],
                      stop: asyncio.Event) -> int:
    """Start ``handset`` on the loop's clock and hand each captured frame to
    ``on_frame(frame, now)`` as it comes due, until ``stop`` is set; return the count.
    An exception from ``on_frame`` ends the pump and is raised here."""
    loop = asyncio.get_running_loop()
    threaded = handset.threaded
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
            elif not threaded:
                timer = loop.call_at(handset.next_due(), tick)
        except BaseException as exc:  # the pump's owner sees it, as from a plain coroutine
            finished.set_exception(exc)

    handset.attach(lambda: loop.call_soon_threadsafe(tick))
    handset.start(loop.time())
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
