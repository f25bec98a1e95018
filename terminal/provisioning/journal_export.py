"""A consistent snapshot of the SQLite journal (sqlite3 backup API), read in chunks."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from contextlib import closing
from pathlib import Path

from terminal.provisioning.errors import CommandFailed
from terminal.provisioning.status import Status


def take_snapshot(journal: Path, snapshot: Path) -> dict:
    """Copy `journal` to `snapshot` page by page under SQLite's own locking; return its size and SHA-256."""
    if not journal.exists():
        raise CommandFailed(Status.NOT_AVAILABLE, f"no journal at {journal} yet")
    tmp = snapshot.with_name(snapshot.name + ".tmp")
    backup(journal, tmp)
    os.replace(tmp, snapshot)
    return describe_snapshot(snapshot)


def backup(journal: Path, copy: Path) -> None:
    """Copy `journal` into a new file `copy` page by page under SQLite's own locking,
    as one self-contained file (rollback journal, even from a WAL journal)."""
    copy.unlink(missing_ok=True)
    with closing(sqlite3.connect(journal.resolve().as_uri() + "?mode=ro", uri=True)) as source, closing(
        sqlite3.connect(copy)
    ) as target:
        source.backup(target)
        target.execute("PRAGMA journal_mode=DELETE")


def describe_snapshot(snapshot: Path) -> dict:
    if not snapshot.exists():
        raise CommandFailed(Status.NOT_AVAILABLE, "no journal snapshot on the unit; take one first")
    digest = hashlib.sha256()
    with snapshot.open("rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return {"size": snapshot.stat().st_size, "sha256": digest.hexdigest()}


def read_chunk(snapshot: Path, offset: int, length: int) -> bytes:
    if not snapshot.exists():
        raise CommandFailed(Status.NOT_AVAILABLE, "no journal snapshot on the unit; take one first")
    size = snapshot.stat().st_size
    if offset > size:
        raise CommandFailed(Status.BAD_ARGUMENT, f"offset {offset} is past the end of the {size}-byte snapshot")
    with snapshot.open("rb") as f:
        f.seek(offset)
        return f.read(length)
