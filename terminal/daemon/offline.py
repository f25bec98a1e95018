"""A unit that failed its power-on self-test: off the line, but not silent about it.

It lights the fault LED and journals every check's result, so the failure is
seen at the desk and proven afterwards. When the journal itself failed its
check (cut, edited, or holding records this unit did not write), nothing is
chained onto it or signed: it is left as it is for the auditors, and the
results go to a fresh file beside it (FAULT_JOURNAL_FILE). Both are best effort: whatever broke
(the config, the key file, the journal itself) may stop one of them, and that
is logged rather than raised, because the unit must stay up to serve USB
provisioning. With an unusable key file the records are chained but unsigned
(terminal/journal/store.py); the first checkpoint after the key is mended
covers them.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from gpiozero import LED
from gpiozero.exc import GPIOZeroError

from terminal import __version__
from terminal import config as config_mod
from terminal.errors import HotlineError
from terminal.hardware.profile import load_profile
from terminal.hardware.unit import configured_pin_factory
from terminal.journal import Journal
from terminal.journal.store import FAULT_JOURNAL_FILE, unit_journal
from terminal.keys import load_keys
from terminal.selftest.post import PostVerdict
from terminal.selftest.runner import journal_recorder

log = logging.getLogger(__name__)


class OffLine:
    """Hold the fault LED lit while the unit is off the line; `close()` releases the pin."""

    def __init__(self, config_path: Path | str, verdict: PostVerdict, *, pin_factory=None) -> None:
        self.fault_led: LED | None = None
        self.journalled = 0
        try:
            cfg = config_mod.load(config_path)
        except HotlineError as exc:
            log.error("off line: the config is unusable, so no fault LED and no journal record (%s)", exc)
            return
        self.fault_led = fault_led(cfg, pin_factory)
        if self.fault_led is not None:
            self.fault_led.on()
        self.journalled = _journal(cfg, verdict)

    def close(self) -> None:
        if self.fault_led is not None:
            self.fault_led.close()
            self.fault_led = None


def fault_led(cfg, pin_factory) -> LED | None:
    """The board's fault LED (off), or None when it cannot be had (the error is logged)."""
    pin_factory = configured_pin_factory(cfg.hardware, pin_factory)
    try:
        fault = load_profile(cfg.hardware.board).led_fault
        return LED(fault.pin, active_high=fault.active_high, pin_factory=pin_factory)
    except (HotlineError, GPIOZeroError) as exc:
        log.error("off line: cannot light the fault LED (%s)", exc)
        return None


def _journal(cfg, verdict: PostVerdict) -> int:
    """Append the boot and every power-on check's result; returns how many records were written."""
    checks = {r.name: r for r in verdict.summary.results}
    key_ok = "keystore" in checks and checks["keystore"].passed
    chain = checks.get("journal_chain")
    path, head = unit_journal(cfg.unit)
    if key_ok and chain is not None and not chain.passed:
        # Chaining onto a journal that failed its own check would blur where it broke.
        path, head = path.with_name(FAULT_JOURNAL_FILE), None
        log.error("off line: the journal failed its check (%s); left as it is, journalling to %s",
                  chain.detail, path)
    signing = None                          # as the self-test found it, even if mended since
    if key_ok:
        try:
            signing = load_keys(cfg.unit.key_dir).journal_signer
        except (HotlineError, OSError, ValueError):
            pass
    if signing is None:
        log.warning("off line: journalling without a signature (the unit's key is unusable)")
    written = 0
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with Journal(path, signing, unit=cfg.unit.id, head_path=head) as journal:
            journal.append("boot", version=__version__)
            written += 1
            record = journal_recorder(journal.append)
            for result in verdict.summary.results:
                record(result)
                written += 1
    except (HotlineError, OSError, sqlite3.Error) as exc:
        log.error("off line: cannot journal the failed self-test (%s)", exc)
    return written
