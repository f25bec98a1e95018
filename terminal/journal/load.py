"""Read a journal from its SQLite file or from a JSON export, for the verifier and reports."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from terminal.journal import schema
from terminal.journal.errors import JournalFormatError
from terminal.journal.record import Checkpoint, Record

EXPORT_FORMAT = "hotline-journal-export"
EXPORT_VERSION = 2          # 2: checkpoints carry mldsa_signature; mldsa_public, mlkem_public named
EXPORT_VERSIONS_READ = (1, 2)
_SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass
class JournalData:
    """What a journal holds. `public_key` is the key the file names: informational only,
    since whoever edits the file can change it; verify against a key you trust."""

    records: list[Record]
    checkpoints: list[Checkpoint]
    public_key: bytes | None = None
    unit: str | None = None
    source: str = ""
    static_public: bytes | None = None    # the unit's X25519 key, as the file names it (for fingerprints)
    mldsa_public: bytes | None = None     # its ML-DSA-65 key, as the file names it (format 2)
    mlkem_public: bytes | None = None     # its ML-KEM-768 key, as the file names it (for fingerprints)

    @property
    def claimed_keys(self):
        """The signing keys the file names (PublicKeys), or None: informational, see above."""
        from terminal.journal.signatures import PublicKeys
        return None if self.public_key is None else PublicKeys(self.public_key, self.mldsa_public)


def load(path: Path | str) -> JournalData:
    """A journal file of either kind, told apart by its first bytes."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            head = f.read(len(_SQLITE_MAGIC))
    except OSError as e:
        raise JournalFormatError(f"{path}: cannot read ({e.strerror})") from None
    return load_sqlite(path) if head == _SQLITE_MAGIC else load_json(path)


def load_sqlite(path: Path | str) -> JournalData:
    """Records in sequence order and checkpoints in the order written, read-only."""
    path = Path(path)
    if not path.is_file():
        raise JournalFormatError(f"{path}: no such journal file")
    try:
        db = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    except sqlite3.Error as e:
        raise JournalFormatError(f"{path}: cannot open as SQLite ({e})") from None
    try:
        db.execute("BEGIN")     # one read snapshot: a writer's commit between the two reads would look like a cut
        records = [schema.record_from_row(row) for row in db.execute(schema.SELECT_RECORDS + " ORDER BY seq")]
        checkpoints = [schema.checkpoint_from_row(row) for row in db.execute(schema.select_checkpoints(db))]
        meta = dict(db.execute("SELECT key, value FROM meta"))
    except sqlite3.Error as e:
        raise JournalFormatError(f"{path}: not a hotline journal ({e})") from None
    except JournalFormatError as e:
        raise JournalFormatError(f"{path}: {e}") from None
    finally:
        db.close()
    return JournalData(records, checkpoints, _key(meta.get("public_key"), path), meta.get("unit"), str(path),
                       _key(meta.get("static_public"), path), _key(meta.get("mldsa_public"), path, "mldsa_public"),
                       _key(meta.get("mlkem_public"), path, "mlkem_public"))


def load_json(path: Path | str) -> JournalData:
    path = Path(path)
    try:
        doc = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise JournalFormatError(f"{path}: not a JSON journal export ({e})") from None
    if not isinstance(doc, dict) or doc.get("format") != EXPORT_FORMAT:
        raise JournalFormatError(f"{path}: not a journal export (expected format {EXPORT_FORMAT!r})")
    if doc.get("version") not in EXPORT_VERSIONS_READ:
        raise JournalFormatError(f"{path}: export version {doc.get('version')!r}, expected one of "
                                 f"{', '.join(map(str, EXPORT_VERSIONS_READ))}")
    records, checkpoints = doc.get("records"), doc.get("checkpoints")
    if not isinstance(records, list) or not isinstance(checkpoints, list):
        raise JournalFormatError(f"{path}: 'records' and 'checkpoints' must be lists")
    return JournalData(
        [Record.from_dict(r, f"{path}: records[{i}]") for i, r in enumerate(records)],
        [Checkpoint.from_dict(c, f"{path}: checkpoints[{i}]") for i, c in enumerate(checkpoints)],
        _key(doc.get("public_key"), path),
        doc.get("unit") if isinstance(doc.get("unit"), str) else None,
        str(path),
        _key(doc.get("static_public"), path, "static_public"),
        _key(doc.get("mldsa_public"), path, "mldsa_public"),
        _key(doc.get("mlkem_public"), path, "mlkem_public"),
    )


def _key(text, path: Path, name: str = "public_key") -> bytes | None:
    if text is None:
        return None
    try:
        return bytes.fromhex(text)
    except (TypeError, ValueError):
        raise JournalFormatError(f"{path}: the {name} it names is not hex") from None
