"""The self-test of a simulated unit, for `hotline sim`: power-on before the link, the rest after.

    post = run_post(config_path)                       # before unit.start(); stay off line if it fails
    await unit.start(sock)
    summary["selftest"][unit.name] = await sim_selftest(unit, post, out_dir)

The audio loopback goes through WAV files in `work_dir`; relay and hook are
checked when a `hardware` (terminal.hardware.unit.Hardware) is given.
"""

from __future__ import annotations

from pathlib import Path

from terminal.audio.wavfile import FileHandset
from terminal.selftest.couplings import FileCoupling
from terminal.selftest.post import PostVerdict
from terminal.selftest.runner import journal_recorder, report
from terminal.selftest.scheduled import SelfTestContext, hardware_parts, run_selftest


async def sim_selftest(unit, post: PostVerdict, work_dir: Path, *, hardware=None, link_timeout: float = 3.0) -> dict:
    """Journal the power-on results, run the scheduled checks; one entry per check with passed and detail."""
    record = journal_recorder(unit.journal.record)
    report(post.summary, record)
    earpiece = Path(work_dir) / f"{unit.name}-selftest-earpiece.wav"
    loopback = FileCoupling(lambda: FileHandset(None, earpiece), lambda: FileHandset(earpiece, None))
    ctx = SelfTestContext.for_unit(unit, loopback=loopback, link_timeout=link_timeout,
                                   **(hardware_parts(hardware) if hardware else {}))
    scheduled = await run_selftest(ctx, record=record)
    return {**post.summary.by_name(), **scheduled.by_name()}
