"""The ringer relay check: pulse the relay and watch its auxiliary contact follow.

The relay's feedback input must read released before the pulse, pulled in
during it and released after it; each step waits up to `settle` seconds (a
relay needs ~10-20 ms). The devices are gpiozero's (`Ringer` and a
`DigitalInputDevice`); only the methods below are used.
"""

from __future__ import annotations

from typing import Protocol

from terminal.selftest.result import CheckResult

NAME = "ringer_relay"
SETTLE_SECONDS = 0.05


class RelayOutput(Protocol):
    def on(self) -> None: ...
    def off(self) -> None: ...


class FeedbackInput(Protocol):
    def wait_for_active(self, timeout: float | None = None) -> bool: ...
    def wait_for_inactive(self, timeout: float | None = None) -> bool: ...


def check_ringer_relay(relay: RelayOutput, feedback: FeedbackInput, settle: float = SETTLE_SECONDS) -> CheckResult:
    """Off, on, off: the feedback contact must agree at every step (the relay is left off)."""
    data = {"settle_ms": round(settle * 1000, 1)}
    relay.off()
    if not feedback.wait_for_inactive(settle):
        return CheckResult(NAME, False, "relay feedback reads pulled in while the relay is off "
                                        "(contact stuck closed, or the feedback input shorted)", data)
    relay.on()
    try:
        pulled_in = feedback.wait_for_active(settle)
    finally:
        relay.off()
    if not pulled_in:
        return CheckResult(NAME, False, f"relay feedback stuck: no pull-in seen within {settle * 1000:g} ms "
                                        "(relay coil or driver dead, or the feedback contact stuck open)", data)
    if not feedback.wait_for_inactive(settle):
        return CheckResult(NAME, False, f"relay did not release within {settle * 1000:g} ms after the pulse "
                                        "(contact welded or stuck closed)", data)
    return CheckResult(NAME, True, "relay pulsed; its feedback contact followed on and off", data)
