"""Integrity of what the unit stands on: its config, its key file, its journal's chain."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from types import SimpleNamespace

from terminal import config as config_mod
from terminal.errors import ConfigError, KeyFileError
from terminal.journal import JournalFormatError, load_sqlite, verify
from terminal.journal.errors import JournalRewritten
from terminal.journal.store import check_head
from terminal.journal.signatures import PublicKeys
from terminal.journal.verify import ED25519_ONLY, NO_SIGNATURE, TAMPERED, UNSIGNED, WRONG_KEY
from terminal.keys import UnitKeys, load_keys
from terminal.selftest.result import CheckResult



def check_config(path: Path | str) -> tuple[CheckResult, SimpleNamespace | None]:
    """Load and validate the config; the result and the config (None if it is unusable)."""
    try:
        cfg = config_mod.load(path)
    except ConfigError as exc:
        return CheckResult("config", False, f"config unusable: {exc}"), None
    if cfg.peer is None:
        return CheckResult("config", False, f"{path} is valid but names no peer: the unit is unprovisioned "
                                            "(pair it with `hotline-host pair`)"), cfg
    if cfg.peer.mlkem_public is None or cfg.peer.mldsa_public is None:
        return CheckResult("config", False, f"{path}: [peer] {cfg.peer.id} was paired by firmware before the "
                                            "post-quantum keys (no mlkem_public / mldsa_public): pair both units "
                                            "again with format-2 bundles (`hotline-host enrol`, `export`, `pair`)"), cfg
    return CheckResult("config", True, f"{path} is valid (unit {cfg.unit.id}, peer {cfg.peer.id}, "
                                       f"{len(cfg.peer.endpoints)} path(s))"), cfg


def check_keystore(key_dir: Path | str) -> tuple[CheckResult, UnitKeys | None]:
    """Load the unit's private keys; the result and the keys (None if unusable)."""
    try:
        keys = load_keys(key_dir)
    except KeyFileError as exc:
        return CheckResult("keystore", False, f"key file unusable: {exc}"), None
    return CheckResult("keystore", True, f"keys load (fingerprint {keys.identity.fingerprint})"), keys


def check_journal(path: Path | str, signing_public: PublicKeys | None, head_path: Path | str | None = None) -> CheckResult:
    """The journal's hash chain and signatures up to its head with the unit's own keys (Ed25519
    and ML-DSA-65: `Identity.journal_public`), and (with `head_path`) that it still holds the
    record this unit last wrote and nothing it did not write.

    Records after the last checkpoint pass only when the head file shows this unit wrote them
    (journalled while its key was unusable): the next checkpoint signs them. So does a journal
    signed with Ed25519 only, by this unit's key before it had ML-DSA-65 (ED25519 ONLY): the
    next checkpoint is hybrid and covers it. Anything else the auditor's verifier would not
    call intact fails, with its verdict as the reason."""
    path = Path(path)
    if signing_public is None:
        return CheckResult("journal_chain", False, "journal not verified: the unit's signing key is unusable")
    if not path.exists() or path.stat().st_size == 0:    # empty: a first start cut short, e.g. by a full disk
        return CheckResult("journal_chain", True, f"no journal yet at {path} (first start)", {"records": 0})
    try:
        data = load_sqlite(path)
        verdict = verify(data.records, data.checkpoints, signing_public, claimed_key=data.claimed_keys,
                         signatures="needed")
        if head_path is not None:
            _check_head(path, Path(head_path), PublicKeys.of(signing_public), data.mldsa_public is not None)
    except JournalRewritten as exc:
        return CheckResult("journal_chain", False, f"REWRITTEN: {exc}", {"verdict": "REWRITTEN"})
    except JournalFormatError as exc:
        return CheckResult("journal_chain", False, f"journal unreadable: {exc}")
    numbers = {"records": verdict.records, "last_seq": verdict.last_seq or 0, "verdict": verdict.status,
               "unsigned_tail": verdict.unsigned_tail, "problems": verdict.problem_count}
    if verdict.status in (TAMPERED, WRONG_KEY):
        return CheckResult("journal_chain", False, f"{verdict.status}: {verdict.reason}", numbers)
    if verdict.status in (UNSIGNED, NO_SIGNATURE, ED25519_ONLY) and head_path is None:
        return CheckResult("journal_chain", False, f"{verdict.status}: {verdict.reason}", numbers)
    own = (f"; {verdict.unsigned_tail} record(s) this unit wrote without its key await a signature"
           if verdict.unsigned_tail else "")
    if verdict.status == ED25519_ONLY:
        own += "; signed with Ed25519 only (before this unit had ML-DSA-65): its next checkpoint signs with both"
    return CheckResult("journal_chain", True, f"chain intact to record {verdict.last_seq or 0} "
                                              f"({verdict.checkpoints} signed checkpoints){own}", numbers)


def _check_head(path: Path, head_path: Path, keys: PublicKeys, hybrid_journal: bool) -> None:
    """As the Journal checks at open: both signatures past the head once the journal names an
    ML-DSA-65 key, Ed25519 alone in a format-1 journal."""
    db = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        check_head(db, path, head_path, keys if hybrid_journal else PublicKeys(keys.ed25519))
    finally:
        db.close()
