"""Self-tests in the daemon: the scheduled run on an in-daemon timer (for machines
without systemd), and the `selftest.run` control method the systemd timer calls.

A run waits while the handset is in use: pulsing the relay rings the bell and
the audio loopback needs the handset in its cradle. A run under way gives way
the moment the unit is wanted (terminal/selftest/scheduled.py).
"""

from __future__ import annotations

import asyncio

from terminal.selftest.control import register_control
from terminal.selftest.couplings import HandsetLoopback
from terminal.selftest.runner import journal_recorder, led_switch
from terminal.selftest.schedule import Schedule
from terminal.selftest.scheduled import SelfTestContext, hardware_parts, run_selftest
from terminal.selftest.timer import SelfTestTimer


def attach_selftest(unit, loopback=None) -> SelfTestTimer | None:
    """Register `selftest.run` on the unit's control socket and start the schedule (interval 0: none)."""
    call = unit.call

    def busy() -> bool:          # read from the check's worker thread too: two plain attribute reads
        return call.machine.state.name != "IDLE" or call.hardware.hook.is_lifted

    ctx = SelfTestContext.for_unit(unit, busy=busy,
                                   loopback=loopback or HandsetLoopback(call.handset_factory, interrupted=busy),
                                   **hardware_parts(call.hardware))
    record = journal_recorder(unit.journal.record)
    fault = led_switch(call.hardware.leds["fault"])

    lock = asyncio.Lock()

    async def run():
        async with lock:       # the schedule and a technician's request never overlap
            summary = await run_selftest(ctx, record=record, fault_led=fault)
        unit.selftest_done(summary)
        return summary

    if unit.control is not None:
        register_control(unit.control, run, busy)
    interval = unit.config.selftest.interval
    if not interval:
        return None
    timer = SelfTestTimer(Schedule(interval), run, busy)
    timer.start()
    return timer
