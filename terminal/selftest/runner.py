"""Run checks, then report every result: to the journal (a callback) and to the fault LED.

A check is a `(name, fn)` pair; `fn()` returns a CheckResult, a list of them,
or an awaitable of either. A check that raises has failed (fail-closed): its
result says it could not complete and why. A callback that raises is logged
and counted, never allowed to stop the run.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any, Callable, Sequence

from terminal.selftest.result import CheckResult, Summary

log = logging.getLogger(__name__)

Check = tuple[str, Callable[[], Any]]
Record = Callable[[CheckResult], None]
FaultLed = Callable[[bool], None]


def journal_recorder(append: Callable[..., Any]) -> Record:
    """A `record` callback from a journal's `append`/`record(kind, **fields)` (Journal or JournalWriter)."""
    return lambda result: append("selftest", **result.journal_fields())


def led_switch(led) -> FaultLed:
    """A `fault_led` callback driving a gpiozero LED (or any device with a settable `value`)."""
    def switch(on: bool) -> None:
        led.value = on
    return switch


def _crashed(name: str, exc: BaseException) -> CheckResult:
    return CheckResult(name, False, f"check could not complete: {type(exc).__name__}: {exc}")


def _as_list(name: str, outcome) -> list[CheckResult]:
    results = outcome if isinstance(outcome, list) else [outcome]
    if not results or not all(isinstance(r, CheckResult) for r in results):
        return [CheckResult(name, False, f"check returned no result ({outcome!r})")]
    return results


def report(summary: Summary, record: Record | None = None, fault_led: FaultLed | None = None) -> Summary:
    """Hand every result to `record` and set the fault LED to whether anything failed
    (left as it was when nothing failed but a check was interrupted)."""
    for result in summary.results:
        if record is not None:
            try:
                record(result)
            except Exception:
                log.exception("could not record self-test result %s", result.name)
    # An interrupted run with nothing failed proves nothing new: the LED stays as it was.
    if fault_led is not None and (summary.failures or not any(r.interrupted for r in summary.results)):
        try:
            fault_led(not summary.passed)
        except Exception:
            log.exception("could not set the fault LED")
    for result in summary.failures:
        log.warning("self-test %s FAILED: %s", result.name, result.detail)
    return summary


async def run_checks(kind: str, checks: Sequence[Check], record: Record | None = None,
                     fault_led: FaultLed | None = None) -> Summary:
    """Run checks in order, awaiting those that are coroutines."""
    results: list[CheckResult] = []
    for name, fn in checks:
        try:
            outcome = fn()
            if inspect.isawaitable(outcome):
                outcome = await outcome
            results += _as_list(name, outcome)
        except Exception as exc:
            results.append(_crashed(name, exc))
    return report(Summary(kind, tuple(results)), record, fault_led)
