"""The daemon's `selftest.run` control method, which `hotline selftest` (and its systemd timer) call.

    register_control(dispatcher, run=lambda: run_selftest(ctx, record=..., fault_led=...),
                     busy=lambda: call_machine_not_idle)
"""

from __future__ import annotations

from typing import Awaitable, Callable

from terminal.errors import HotlineError
from terminal.selftest.result import Summary

METHOD = "selftest.run"


class SelfTestBusy(HotlineError, ValueError):
    """The unit is in a call; the control socket answers `refused`."""


def register_control(dispatcher, run: Callable[[], Awaitable[Summary]],
                     busy: Callable[[], bool] = lambda: False) -> None:
    async def selftest_run() -> dict:
        if busy():
            raise SelfTestBusy("a call is in progress; run the self-test when the line is idle")
        return (await run()).as_dict()
    dispatcher.register(METHOD, selftest_run)
