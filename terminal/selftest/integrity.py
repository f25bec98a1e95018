"""Integrity of what the unit stands on: its config, its key file, its journal's chain."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from terminal import config as config_mod
from terminal.errors import ConfigError, KeyFileError
from terminal.journal import JournalFormatError, load_sqlite, verify
from terminal.keys import UnitKeys, load_keys
from terminal.selftest.result import CheckResult

JOURNAL_FILE = "journal.sqlite"     # the name terminal.daemon.unit gives it in data_dir


def check_config(path: Path | str) -> tuple[CheckResult, SimpleNamespace | None]:
    """Load and validate the config; the result and the config (None if it is unusable)."""
    try:
        cfg = config_mod.load(path)
    except ConfigError as exc:
        return CheckResult("config", False, f"config unusable: {exc}"), None
    return CheckResult("config", True, f"{path} is valid (unit {cfg.unit.id}, peer {cfg.peer.id}, "
                                       f"{len(cfg.peer.endpoints)} path(s))"), cfg


def check_keystore(key_dir: Path | str) -> tuple[CheckResult, UnitKeys | None]:
    """Load the unit's private keys; the result and the keys (None if unusable)."""
    try:
        keys = load_keys(key_dir)
    except KeyFileError as exc:
        return CheckResult("keystore", False, f"key file unusable: {exc}"), None
    return CheckResult("keystore", True, f"keys load (fingerprint {keys.identity.fingerprint})"), keys


def check_journal(path: Path | str, signing_public: bytes | None) -> CheckResult:
    """Verify the journal's hash chain and signed checkpoints up to its head with the unit's own key."""
    path = Path(path)
    if signing_public is None:
        return CheckResult("journal_chain", False, "journal not verified: the unit's signing key is unusable")
    if not path.exists():
        return CheckResult("journal_chain", True, f"no journal yet at {path} (first start)", {"records": 0})
    try:
        data = load_sqlite(path)
        verdict = verify(data.records, data.checkpoints, signing_public)
    except JournalFormatError as exc:
        return CheckResult("journal_chain", False, f"journal unreadable: {exc}")
    numbers = {"records": verdict.records, "last_seq": verdict.last_seq or 0,
               "unsigned_tail": verdict.unsigned_tail, "problems": verdict.problem_count}
    if not verdict.ok:
        first = verdict.problems[0]
        return CheckResult("journal_chain", False, f"journal chain broken: {verdict.problem_count} problem(s), "
                                                   f"first: {first}", numbers)
    return CheckResult("journal_chain", True, f"chain intact to record {verdict.last_seq or 0} "
                                              f"({verdict.checkpoints} signed checkpoints)", numbers)
