"""Moving aside a journal signed by a key the unit no longer has (after zeroize and enrol).

A journal's checkpoints are signed by the key its meta `public_key` names. The
Journal refuses to continue a journal signed by another key, and the power-on
self-test fails on it, so after re-keying the old journal must go, but as an
audit record it must not be lost. `archive_foreign_journal` copies it beside
itself as `journal-<first 16 hex of its key>-<UTC YYYYmmddTHHMMSSZ>.sqlite`
(the copy keeps the old key in its meta, and still verifies with
`hotline journal verify --db COPY --public-key <that key>`), then removes it.

Crash safety: the copy is made with SQLite's backup API under a temporary
name, compared row for row with the original, fsynced, renamed into place and
its directory fsynced, all before the original is touched. A crash at any step
leaves the original, the archive, or both complete. Run again, it first removes
partial copies, then finds an archive that already holds exactly the
original's rows and only finishes the removal.

A journal is foreign exactly when the Journal would refuse it: its meta names a
key and that key is not the unit's. One that names no key (written off the line
by a unit without a usable key, or cut short before its meta) is adopted by the
Journal, whose next checkpoint signs its records, so it is left in place.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from terminal.journal.store import writer_lock
from terminal.keys import fsync_dir
from terminal.journal.store import JOURNAL_FILE
from terminal.provisioning.errors import CommandFailed
from terminal.provisioning.journal_export import backup
from terminal.provisioning.status import Status

log = logging.getLogger(__name__)

ARCHIVE_PATTERN = re.compile(r"journal-(?:[0-9a-f]{16}|unknown)-\d{8}T\d{6}Z\.sqlite")
_TMP_SUFFIX = ".tmp"
_SIDE_FILES = ("-wal", "-shm")


@dataclass(frozen=True)
class _Contents:
    """Every row a journal holds, to tell whether a copy is complete."""

    meta: dict
    records: list
    checkpoints: list

    @property
    def public_key(self) -> str | None:
        key = self.meta.get("public_key")
        return None if key is None else str(key)

    def foreign_to(self, own_key: str, own_mldsa: str | None = None) -> bool:
        """The Journal's own test: a key is named and it is not `own_key` (lowercase hex), or an
        ML-DSA-65 key is named and it is not `own_mldsa`."""
        if self.public_key is not None and self.public_key != own_key:
            return True
        mldsa = self.meta.get("mldsa_public")
        return mldsa is not None and str(mldsa) != own_mldsa


def archive_name(public_key: str, wall_time: float) -> str:
    """`journal-<first 16 hex of the key that signed it>-<UTC time>.sqlite`."""
    return f"journal-{_tag(public_key)}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(wall_time))}.sqlite"


def _tag(public_key: str) -> str:
    """The key's first 16 hex digits; 'unknown' for a meta value that is not hex (never a path)."""
    tag = public_key[:16].lower()
    return tag if re.fullmatch(r"[0-9a-f]{16}", tag) else "unknown"


def archive_foreign_journal(data_dir: Path | str, signing_public: bytes, now: float, *,
                            mldsa_public: bytes | None = None) -> str | None:
    """Archive `<data_dir>/journal.sqlite` if it was signed by a key other than `signing_public`
    (or, when it names one, an ML-DSA-65 key other than `mldsa_public`).

    `now` is wall time (seconds since the epoch) for the archive's name. Returns the
    archive's file name, or None when there is no journal or it is already this key's.
    Raises CommandFailed, leaving the journal where it is, if it cannot be read or is
    still open in another process (a daemon running on the old keys).
    """
    data_dir = Path(data_dir)
    journal = data_dir / JOURNAL_FILE
    _remove_partial_copies(data_dir)
    if not journal.exists():
        return None
    own_mldsa = None if mldsa_public is None else mldsa_public.hex()
    if not _read(journal).foreign_to(signing_public.hex(), own_mldsa):
        return None
    try:     # no Journal may append while it is copied and removed: every open one holds this shared
        lock = writer_lock(journal, exclusive=True)
    except BlockingIOError:
        raise CommandFailed(
            Status.INTERNAL,
            f"{journal} was signed by the old keys and is still open in another process (the hotline daemon?); "
            "left it as it is: stop the daemon (`systemctl stop hotline`) and run enrol again") from None
    try:
        _fold_wal(journal)
        contents = _read(journal)
        archive = _matching_archive(data_dir, contents)
        if archive is None:
            archive = _copy(journal, data_dir / archive_name(contents.public_key, now), contents)
        remove_journal(journal)
    finally:
        os.close(lock)
    return archive.name


def remove_journal(journal: Path) -> None:
    """Remove a journal whose rows are safely elsewhere: side files first, so none outlives it."""
    for suffix in _SIDE_FILES:
        journal.with_name(journal.name + suffix).unlink(missing_ok=True)
    journal.unlink(missing_ok=True)
    fsync_dir(journal.parent)


def _read(path: Path) -> _Contents:
    try:
        with closing(sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)) as db:
            tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            meta = dict(db.execute("SELECT key, value FROM meta")) if "meta" in tables else {}
            records = db.execute("SELECT * FROM records ORDER BY seq").fetchall() if "records" in tables else []
            checkpoints = (db.execute("SELECT * FROM checkpoints ORDER BY rowid").fetchall()
                           if "checkpoints" in tables else [])
    except sqlite3.Error as exc:
        raise CommandFailed(Status.INTERNAL, f"{path}: cannot read it as a journal ({exc}); left it as it is") from None
    return _Contents(meta, records, checkpoints)


def _fold_wal(journal: Path) -> None:
    """Close the last connection to fold the write-ahead log into the file; a log that
    survives means another process still has the journal open."""
    try:
        with closing(sqlite3.connect(journal)) as db:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        raise CommandFailed(Status.INTERNAL, f"{journal}: cannot open it ({exc}); left it as it is") from None
    if journal.with_name(journal.name + "-wal").exists():
        raise CommandFailed(
            Status.INTERNAL,
            f"{journal} was signed by the old keys and is still open in another process (the hotline daemon?); "
            "left it as it is: stop the daemon (`systemctl stop hotline`) and run enrol again")


def _matching_archive(data_dir: Path, contents: _Contents) -> Path | None:
    """An archive left by an interrupted run that already holds exactly these rows."""
    for path in sorted(data_dir.glob(f"journal-{_tag(contents.public_key)}-*.sqlite")):
        if not ARCHIVE_PATTERN.fullmatch(path.name):
            continue
        try:
            if _read(path) == contents:
                return path
        except CommandFailed:
            log.warning("%s: unreadable; not the copy being looked for", path)
    return None


def _copy(journal: Path, archive: Path, expected: _Contents) -> Path:
    if archive.exists():     # another journal of that key, archived within the same second
        raise CommandFailed(Status.INTERNAL, f"{archive} exists and holds other records; left {journal} "
                                             "as it is: run enrol again in a second")
    tmp = archive.with_name(archive.name + _TMP_SUFFIX)
    backup(journal, tmp)
    if _read(tmp) != expected:
        tmp.unlink()
        raise CommandFailed(Status.INTERNAL, f"the copy of {journal} differs from it; left the journal as it is")
    _fsync_file(tmp)
    os.replace(tmp, archive)
    fsync_dir(archive.parent)
    return archive


def _remove_partial_copies(data_dir: Path) -> None:
    """A temporary copy exists only while its original does, so it is always safe to drop."""
    for path in data_dir.glob("journal-*.sqlite" + _TMP_SUFFIX):
        if ARCHIVE_PATTERN.fullmatch(path.name.removesuffix(_TMP_SUFFIX)):
            path.unlink(missing_ok=True)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
