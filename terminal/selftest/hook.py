"""Is the hook switch's state plausible? Checked while the unit is idle, so the handset should be down."""

from __future__ import annotations

from typing import Protocol

from terminal.selftest.result import CheckResult

NAME = "hook_switch"


class HookInput(Protocol):
    @property
    def is_lifted(self) -> bool: ...


def check_hook(hook: HookInput) -> CheckResult:
    """Idle with the handset lifted means it was left off the cradle or the switch is stuck closed."""
    if hook.is_lifted:
        return CheckResult(NAME, False, "hook switch reads lifted while the unit is idle: handset left off "
                                        "the cradle, or the switch stuck closed", {"lifted": 1})
    return CheckResult(NAME, True, "handset on the cradle", {"lifted": 0})
