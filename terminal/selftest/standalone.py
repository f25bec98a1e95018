"""A self-test run by `hotline selftest` in its own process, when the daemon is not running.

The power-on checks first; only if they pass does this process start the
daemon's own Unit (link on the configured port, devices from the config's
board profile) for the relay, hook, disk, clock and link checks. Results go
to the unit's journal as the daemon's would.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from terminal import config as config_mod
from terminal.daemon.unit import Unit
from terminal.keys import load_keys
from terminal.link.events import PeerReachable
from terminal.selftest.post import post_results
from terminal.selftest.result import Summary
from terminal.selftest.runner import journal_recorder, led_switch
from terminal.selftest.scheduled import SelfTestContext, hardware_parts, run_selftest


async def run_standalone(config_path: Path | str, *, link_timeout: float = 3.0, pin_factory=None) -> Summary:
    """`pin_factory`: gpiozero's, for the unit's devices (default: what the config's [hardware] says)."""
    post = post_results(config_path)
    if not all(r.passed for r in post):
        return Summary("standalone", tuple(post))
    cfg = config_mod.load(config_path)
    unit = Unit(cfg, load_keys(cfg.unit.key_dir), pin_factory=pin_factory)
    try:
        reachable = asyncio.Event()
        unit.listeners.append(lambda event: isinstance(event, PeerReachable) and reachable.set())
        await unit.start(control=False)
        try:
            await asyncio.wait_for(reachable.wait(), link_timeout)
        except asyncio.TimeoutError:
            pass            # the link checks below say so, path by path
        hardware = unit.call.hardware
        ctx = SelfTestContext.for_unit(unit, link_timeout=link_timeout, **hardware_parts(hardware))
        record = journal_recorder(unit.journal.record)
        for result in post:
            record(result)
        scheduled = await run_selftest(ctx, record=record, fault_led=led_switch(hardware.leds["fault"]))
        await unit.journal.flush()
        return Summary("standalone", tuple(post) + scheduled.results)
    finally:
        await unit.close()
