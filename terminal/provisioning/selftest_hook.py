"""Where the self-test plugs in: a runner yields one result per check.

A runner is `() -> Iterable[{"check": str, "ok": bool, "detail": str}]`; the
provisioning service streams each result to the host as it comes.
"""

from __future__ import annotations

from typing import Callable, Iterable, Mapping

from terminal.provisioning.errors import CommandFailed
from terminal.provisioning.status import Status

SelfTestRunner = Callable[[], Iterable[Mapping]]


def selftest_unavailable() -> Iterable[Mapping]:
    """The default runner until the self-test module is installed."""
    raise CommandFailed(Status.NOT_AVAILABLE, "self-test not available: this firmware has no self-test runner installed")


def check_result(result: Mapping) -> dict:
    """One runner result, checked, as sent to the host."""
    if not (
        isinstance(result.get("check"), str)
        and isinstance(result.get("ok"), bool)
        and isinstance(result.get("detail", ""), str)
    ):
        raise CommandFailed(Status.INTERNAL, f"self-test runner gave a malformed result: {dict(result)!r}")
    return {"check": result["check"], "ok": result["ok"], "detail": result.get("detail", "")}
