"""The asyncio side of a paced handset: one timer, re-armed at ``next_due()``."""

import asyncio
from typing import Callable

from terminal.audio.handset import PacedHandset


async def pump_frames(handset: PacedHandset, on_frame: Callable[[bytes, float], None], stop: asyncio.Event) -> int:
    """Start ``handset`` on the loop's clock and hand each captured frame to
    ``on_frame(frame, now)`` as it comes due, until ``stop`` is set; return the count."""
    loop = asyncio.get_running_loop()
    handset.start(loop.time())
    count = 0
    while not stop.is_set():
        now = loop.time()
        for frame in handset.poll(now):
            on_frame(frame, now)
            count += 1
            if stop.is_set():
                return count
        try:
            await asyncio.wait_for(stop.wait(), max(0.0, handset.next_due() - loop.time()))
        except TimeoutError:
            pass
    return count
