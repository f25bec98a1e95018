"""The SQLite layout of a journal file, shared by the writer and the loader.

Format 2 (hybrid signatures) adds one nullable column, `checkpoints.mldsa_signature`: the
ML-DSA-65 signature as a 3309-byte BLOB (NULL in an Ed25519-only checkpoint), and the
unit's post-quantum public keys to the meta table (`mldsa_public`, `mlkem_public`, hex,
informational like `public_key`). A format-1 file is migrated when the writer opens it
(`migrate`: ALTER TABLE ... ADD COLUMN, which rewrites no row, then meta format = 2); its
earlier checkpoints stay as they were signed. Readers accept both formats.
"""

from __future__ import annotations

import base64
import json
import sqlite3

from terminal.journal.errors import JournalFormatError
from terminal.journal.record import Checkpoint, Record

FORMAT_VERSION = 2
FORMATS_READ = (1, 2)

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
    signature TEXT NOT NULL,
    mldsa_signature BLOB
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
SELECT_CHECKPOINTS = "SELECT seq, hash, wall_us, signature, mldsa_signature FROM checkpoints ORDER BY rowid"
SELECT_CHECKPOINTS_AFTER = ("SELECT seq, hash, wall_us, signature, mldsa_signature FROM checkpoints "
                            "WHERE seq > ? ORDER BY rowid")
# A format-1 file opened read-only has no mldsa_signature column
_SELECT_CHECKPOINTS_V1 = "SELECT seq, hash, wall_us, signature, NULL FROM checkpoints ORDER BY rowid"
INSERT_RECORD = "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
INSERT_CHECKPOINT = ("INSERT INTO checkpoints (seq, hash, wall_us, signature, mldsa_signature) "
                     "VALUES (?, ?, ?, ?, ?)")


def has_mldsa_column(db: sqlite3.Connection) -> bool:
    return any(row[1] == "mldsa_signature" for row in db.execute("PRAGMA table_info(checkpoints)"))


def select_checkpoints(db: sqlite3.Connection) -> str:
    """The query for every checkpoint in the order written, for either format."""
    return SELECT_CHECKPOINTS if has_mldsa_column(db) else _SELECT_CHECKPOINTS_V1


def migrate(db: sqlite3.Connection, path) -> None:
    """Bring a format-1 journal to format 2 (inside the caller's write transaction), or refuse a
    format this firmware does not know. Records and signed checkpoints are left as they are."""
    meta = dict(db.execute("SELECT key, value FROM meta"))
    try:
        version = int(meta.get("format", FORMAT_VERSION))
    except ValueError:
        raise JournalFormatError(f"{path}: journal format {meta['format']!r} is not a number") from None
    if version not in FORMATS_READ:
        raise JournalFormatError(f"{path}: journal format {version}; this firmware writes format {FORMAT_VERSION} "
                                 f"and reads {', '.join(map(str, FORMATS_READ))}")
    if not has_mldsa_column(db):
        db.execute("ALTER TABLE checkpoints ADD COLUMN mldsa_signature BLOB")
    db.execute("INSERT OR REPLACE INTO meta VALUES ('format', ?)", (str(FORMAT_VERSION),))


def checkpoint_row(cp: Checkpoint) -> tuple:
    """The INSERT_CHECKPOINT values of `cp`: its ML-DSA-65 signature as raw bytes."""
    mldsa = None if cp.mldsa_signature is None else base64.b64decode(cp.mldsa_signature, validate=True)
    return cp.seq, cp.hash, cp.wall_us, cp.signature, mldsa


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
    """A checkpoints row as a Checkpoint. The ML-DSA-65 BLOB becomes base64 whatever its length
    (the verifier says when it is not 3309 bytes); a value that is not even bytes is refused here."""
    seq, hash_, wall_us, signature, mldsa = row
    if isinstance(mldsa, (bytes, bytearray, memoryview)):
        mldsa = base64.b64encode(bytes(mldsa)).decode("ascii")
    elif mldsa is not None and not isinstance(mldsa, str):
        raise JournalFormatError(f"checkpoint at {seq}: 'mldsa_signature' must be the ML-DSA-65 signature's "
                                 f"bytes, got {type(mldsa).__name__}")
    return Checkpoint.from_dict({"seq": seq, "hash": hash_, "wall_us": wall_us, "signature": signature,
                                 "mldsa_signature": mldsa}, where=f"checkpoint at {seq}")
