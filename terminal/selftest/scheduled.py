"""The scheduled self-test: hardware, audio, disk, clock and the end-to-end link, in one run.

`run_selftest(ctx, record=..., fault_led=...)` is what the daemon's schedule,
its control method and `hotline selftest` call. Anything absent from the
context (no hardware in a pure simulation, no link) is simply not checked;
blocking hardware and audio checks run in a worker thread so the event loop
keeps serving the link. Start it only while the unit is idle (no call):
pulsing the relay rings the bell for a moment and the loopback needs the
handset in its cradle. If the unit is wanted during a run (`ctx.busy()`: the
handset lifted, a call ringing in), a check that needs the idle unit gives the
handset up and is reported as interrupted, not as a fault: the call matters
more than the test, and a lifted handset is not a dead earpiece.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from terminal.selftest.couplings import Interrupted
from terminal.selftest.hook import HookInput, check_hook
from terminal.selftest.link import TIMEOUT_SECONDS, Addr, Echoer, check_link
from terminal.selftest.loopback import Loopback, check_audio_loopback
from terminal.selftest.relay import SETTLE_SECONDS, FeedbackInput, RelayOutput, check_ringer_relay
from terminal.selftest.result import CheckResult, Summary
from terminal.selftest.runner import Check, FaultLed, Record, run_checks
from terminal.selftest.system import MIN_FREE_BYTES, check_clock, check_disk


@dataclass
class SelfTestContext:
    """What a scheduled run can reach; a check whose parts are missing is not run."""

    data_dir: Path
    relay: RelayOutput | None = None
    relay_feedback: FeedbackInput | None = None
    hook: HookInput | None = None
    loopback: Loopback | None = None
    echoer: Echoer | None = None
    endpoints: Sequence[Addr] = ()
    unit_name: str = ""
    link_timeout: float = TIMEOUT_SECONDS
    relay_settle: float = SETTLE_SECONDS
    min_free_bytes: int = MIN_FREE_BYTES
    wall_clock: Callable[[], float] = field(default=time.time)
    busy: Callable[[], bool] = field(default=lambda: False)

    @classmethod
    def for_unit(cls, unit, **kwargs) -> "SelfTestContext":
        """From a running `terminal.daemon.unit.Unit`: its data dir, echo test and configured paths."""
        cfg = unit.config
        return cls(data_dir=Path(cfg.unit.data_dir), echoer=unit, endpoints=list(cfg.peer.endpoints),
                   unit_name=unit.name, **kwargs)


def hardware_parts(hardware) -> dict:
    """The context fields a `terminal.hardware.unit.Hardware` provides."""
    return {"relay": hardware.ringer, "relay_feedback": hardware.ringer_feedback, "hook": hardware.hook}


def _in_thread(fn, *args) -> Callable:
    return lambda: asyncio.to_thread(fn, *args)


def interrupted(name: str) -> CheckResult:
    """A check the unit's own use cut short: not judged, and not a fault."""
    return CheckResult(name, True, "interrupted: the unit was wanted (handset lifted or a call began) "
                                   "during the check; not judged, the next run repeats it", {"interrupted": 1})


def _while_idle(name: str, fn, busy: Callable[[], bool], *args) -> Callable:
    """Run blocking `fn` in a thread. If the unit became busy meanwhile, a failure does not count
    (a lifted handset hears no tone, a ringing call moves the relay); a pass still proves the part."""
    def guarded() -> CheckResult:
        if busy():
            return interrupted(name)
        try:
            result = fn(*args)
        except Interrupted:
            return interrupted(name)
        return interrupted(name) if not result.passed and busy() else result
    return _in_thread(guarded)


def scheduled_checks(ctx: SelfTestContext) -> list[Check]:
    checks: list[Check] = []
    if ctx.relay is not None and ctx.relay_feedback is not None:
        checks.append(("ringer_relay", _while_idle("ringer_relay", check_ringer_relay, ctx.busy, ctx.relay,
                                                   ctx.relay_feedback, ctx.relay_settle)))
    if ctx.hook is not None:
        checks.append(("hook_switch", lambda: check_hook(ctx.hook)))
    if ctx.loopback is not None:
        checks.append(("audio_loopback", _while_idle("audio_loopback", check_audio_loopback, ctx.busy,
                                                     ctx.loopback)))
    checks.append(("disk_space", lambda: check_disk(ctx.data_dir, ctx.min_free_bytes)))
    checks.append(("clock", lambda: check_clock(ctx.wall_clock())))
    if ctx.echoer is not None:
        checks.append(("link", lambda: check_link(ctx.echoer, ctx.endpoints, ctx.unit_name, ctx.link_timeout)))
    return checks


async def run_selftest(ctx: SelfTestContext, *, record: Record | None = None,
                       fault_led: FaultLed | None = None) -> Summary:
    """Run every check the context allows; report each result to `record` and the outcome to `fault_led`."""
    return await run_checks("scheduled", scheduled_checks(ctx), record, fault_led)
