"""A self-test run by `hotline selftest` in its own process, when the daemon is not running.

The power-on checks first; only if they pass does this process bring up the
link (the daemon's own Unit on the configured port) for the link test, with
disk, clock and, given a board profile, relay and hook. Results go to the
unit's journal like the daemon's would.
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


async def run_standalone(config_path: Path | str, *, board: str | None = None, link_timeout: float = 3.0) -> Summary:
    post = post_results(config_path)
    if not all(r.passed for r in post):
        return Summary("standalone", tuple(post))
    cfg = config_mod.load(config_path)
    unit = Unit(cfg, load_keys(cfg.unit.key_dir))
    hardware = None
    try:
        if board is not None:
            from terminal.hardware.profile import load_profile
            from terminal.hardware.unit import Hardware
            hardware = Hardware(load_profile(board))
        reachable = asyncio.Event()
        unit.listeners.append(lambda event: isinstance(event, PeerReachable) and reachable.set())
        await unit.start(control=False)
        try:
            await asyncio.wait_for(reachable.wait(), link_timeout)
        except asyncio.TimeoutError:
            pass            # the link checks below say so, path by path
        ctx = SelfTestContext.for_unit(unit, link_timeout=link_timeout,
                                       **(hardware_parts(hardware) if hardware else {}))
        record = journal_recorder(unit.journal.record)
        for result in post:
            record(result)
        fault_led = led_switch(hardware.leds["fault"]) if hardware else None
        scheduled = await run_selftest(ctx, record=record, fault_led=fault_led)
        await unit.journal.flush()
        return Summary("standalone", tuple(post) + scheduled.results)
    finally:
        await unit.close()
        if hardware is not None:
            hardware.close()
