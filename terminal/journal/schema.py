"""The SQLite layout of a journal file, shared by the writer and the loader."""

from __future__ import annotations

import json

from terminal.journal.errors import JournalFormatError
from terminal.journal.record import Checkpoint, Record

FORMAT_VERSION = 1

# The triggers stop accidental UPDATE/DELETE by our own code or a careless
# sqlite3 session; they are no defence against a deliberate edit (anyone can
# drop them). The hash chain and signed checkpoints are that defence.
SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY,
    wall_us INTEGER NOT NULL,
    mono_us INTEGER NOT NULL,
    boot_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    call_id TEXT,
    fields TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_call ON records(call_id) WHERE call_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS checkpoints (
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    wall_us INTEGER NOT NULL,
    signature TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS records_append_only_u BEFORE UPDATE ON records
    BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
CREATE TRIGGER IF NOT EXISTS records_append_only_d BEFORE DELETE ON records
    BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_append_only_u BEFORE UPDATE ON checkpoints
    BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_append_only_d BEFORE DELETE ON checkpoints
    BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
"""

SELECT_RECORDS = "SELECT seq, wall_us, mono_us, boot_id, kind, call_id, fields, prev_hash, hash FROM records"
SELECT_CHECKPOINTS = "SELECT seq, hash, wall_us, signature FROM checkpoints ORDER BY rowid"
SELECT_CHECKPOINTS_AFTER = "SELECT seq, hash, wall_us, signature FROM checkpoints WHERE seq > ? ORDER BY rowid"
INSERT_RECORD = "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
INSERT_CHECKPOINT = "INSERT INTO checkpoints VALUES (?, ?, ?, ?)"


def record_from_row(row: tuple) -> Record:
    """A records row as a Record; a row that is not even well-formed says which seq."""
    seq, wall_us, mono_us, boot_id, kind, call_id, fields_text, prev_hash, hash_ = row
    try:
        fields = json.loads(fields_text)
    except (TypeError, ValueError):
        raise JournalFormatError(f"record {seq}: the fields column is not JSON") from None
    return Record.from_dict(
        {"seq": seq, "wall_us": wall_us, "mono_us": mono_us, "boot_id": boot_id, "kind": kind,
         "call_id": call_id, "fields": fields, "prev_hash": prev_hash, "hash": hash_},
        where=f"record {seq}",
    )


def checkpoint_from_row(row: tuple) -> Checkpoint:
    seq, hash_, wall_us, signature = row
    return Checkpoint.from_dict({"seq": seq, "hash": hash_, "wall_us": wall_us, "signature": signature},
                                where=f"checkpoint at {seq}")
