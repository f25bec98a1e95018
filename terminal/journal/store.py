"""The journal writer: one SQLite file on disk, appended to by one process.

Durability, chosen deliberately:

- `journal_mode=WAL` with `synchronous=FULL`: a commit appends the new pages
  to the write-ahead log and fsyncs it before `append()` returns, so a
  returned record survives a crash or a power cut (with `NORMAL`, WAL mode
  stays consistent but can lose the last commits on power loss). WAL also
  lets `journal verify` and exports read while the daemon writes, and costs
  one fsync per commit where rollback-journal mode needs several.
- One transaction per append (`BEGIN IMMEDIATE` ... `COMMIT`), which reads
  the chain's tail, inserts the record (and a clock-step record before it,
  and a checkpoint after it, when due) atomically: after a crash the file
  holds all of an append or none of it, so the chain never breaks.
- Every append transaction ends with a signed checkpoint over its last record
  (`checkpoint_every=1`, the default), so what is on disk is signed: a power
  cut can lose the transaction being written, never leave it unsigned. The
  daemon's writer groups appends that queue up meanwhile into one transaction
  (`append_many`): one fsync and one checkpoint for the lot. A checkpoint is
  signed with Ed25519 and ML-DSA-65 over the same bytes (SigningKeys, see
  signatures.py); ML-DSA-65 signing is most of its cost (about 1 ms).
- A format-1 journal (Ed25519-only checkpoints, from firmware before ML-DSA-65)
  is migrated at open (schema.migrate) and continued: its next checkpoint is
  hybrid and covers every record before it. A journal that names an ML-DSA-65
  key is never continued by a signer without one, nor by another ML-DSA-65 key.
- The head file (`head_path`, beside the unit's keys, outside this database)
  holds the last record this unit wrote: its sequence number and hash, written
  atomically after every commit. At open and inside every append the journal
  must still hold that record unchanged, and nothing after it that this unit's
  key did not sign (commits whose head write a power cut or a full disk
  stopped); otherwise JournalRewritten is raised and nothing is appended or
  signed, so the unit never signs a history it did not write.
- Every open Journal holds a shared `flock` on `<journal>.lock` until it is
  closed (or its process dies), so a tool that must replace the file (enrol
  archiving a journal signed by old keys) can take it exclusively and know no
  writer is appending meanwhile (`writer_lock`).
- Without a signing key (`signing_key=None`: a unit whose key file is unusable
  journalling why it stays off the line) records are chained but nothing is
  signed; the first checkpoint after the key is mended covers them.

An append waits for an fsync (milliseconds; more on an SD card), so an asyncio
caller should run it in a single worker thread (`loop.run_in_executor`); the
connection is shared across threads and every method holds one lock.

A clock step (wall time moving against monotonic time by more than
`clock_step_us` within one boot, e.g. an NTP correction) is journalled by the
journal itself as a `clock_step` record, so reports can explain odd gaps.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from terminal.journal import canonical, schema
from terminal.journal.errors import JournalFormatError, JournalRewritten
from terminal.journal.signatures import PublicKeys, SigningKeys
from terminal.journal.verify import signature_ok
from terminal.journal.kinds import check_record
from terminal.journal.record import Checkpoint, Record
from terminal.keys import atomic_write

log = logging.getLogger(__name__)

BOOT_ID_FILE = Path("/proc/sys/kernel/random/boot_id")
CHECKPOINT_EVERY = 1            # transactions: every append is signed
CHECKPOINT_SECONDS = 60.0       # with checkpoint_every > 1: at most this long between a record and its checkpoint
JOURNAL_FILE = "journal.sqlite"              # the evidence, in the unit's data directory
FAULT_JOURNAL_FILE = "journal-fault.sqlite"  # where a unit whose journal failed its check journals why
HEAD_FILE = "journal.head"                   # in the unit's key directory, outside the journal
KEYLESS_SLACK = 0               # unsigned records a keyless open accepts past the head: none, since
                                # without a key nothing proves who wrote them (a power cut between the
                                # commit and the head write then fails closed: REWRITTEN)
CLOCK_STEP_US = 2_000_000


def read_boot_id() -> str:
    """The kernel's id for this boot, so monotonic times from different boots are told apart."""
    try:
        return BOOT_ID_FILE.read_text().strip()
    except OSError:
        return str(uuid.uuid4())


def lock_path(journal: Path | str) -> Path:
    """The file every Journal on `journal` holds a shared lock on while it is open."""
    journal = Path(journal)
    return journal.with_name(journal.name + ".lock")


def writer_lock(journal: Path | str, exclusive: bool = False) -> int:
    """Take the journal's writer lock (shared, blocking; or exclusive, failing at once with
    BlockingIOError while any Journal is open); returns the fd to close to release it."""
    fd = os.open(lock_path(journal), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB if exclusive else fcntl.LOCK_SH)
    except BaseException:
        os.close(fd)
        raise
    return fd


def public_key_bytes(key: Ed25519PrivateKey | SigningKeys) -> bytes:
    """The raw Ed25519 public key (of SigningKeys: of its Ed25519 half)."""
    if isinstance(key, SigningKeys):
        key = key.ed25519
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@contextmanager
def immediate(db: sqlite3.Connection):
    """One write transaction: BEGIN IMMEDIATE, COMMIT on success, ROLLBACK on any error."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class Journal:
    """Append-only, hash-chained, checkpoint-signed record log in one SQLite file."""

    def __init__(
        self,
        path: Path | str,
        signing_key: SigningKeys | None,
        *,
        checkpoint_every: int = CHECKPOINT_EVERY,
        checkpoint_seconds: float = CHECKPOINT_SECONDS,
        clock_step_us: int = CLOCK_STEP_US,
        boot_id: str | None = None,
        unit: str | None = None,
        head_path: Path | str | None = None,
        static_public: bytes | None = None,
        mlkem_public: bytes | None = None,
        wall_ns: Callable[[], int] = time.time_ns,
        mono_ns: Callable[[], int] = time.monotonic_ns,
    ):
        if checkpoint_every < 1 or checkpoint_seconds <= 0:
            raise ValueError("checkpoint_every must be >= 1 and checkpoint_seconds > 0")
        if signing_key is not None and not isinstance(signing_key, SigningKeys):
            raise TypeError("the journal signs with SigningKeys (Ed25519 and ML-DSA-65: UnitKeys.journal_signer), "
                            f"not {type(signing_key).__name__}")
        self.path = Path(path)
        self._key = signing_key
        self._every = checkpoint_every
        self._seconds_ns = int(checkpoint_seconds * 1e9)
        self._step_us = clock_step_us
        self._boot_id = boot_id or read_boot_id()
        self._wall_ns, self._mono_ns = wall_ns, mono_ns
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._head_path = None if head_path is None else Path(head_path)
        self._head: tuple[int, str] | None = None     # the last record this unit wrote
        self._static_public = static_public
        self._mlkem_public = mlkem_public
        self.last_checkpoint: Checkpoint | None = None
        try:
            # a file object, so even a Journal dropped without close() lets go when collected
            self._writer = os.fdopen(writer_lock(self.path), "rb", buffering=0)
        except OSError as e:
            raise JournalFormatError(f"{self.path}: cannot open the journal ({e})") from None
        try:
            db = sqlite3.connect(self.path, isolation_level=None, timeout=10, check_same_thread=False)
        except sqlite3.Error as e:
            self._writer.close()
            raise JournalFormatError(f"{self.path}: cannot open the journal ({e})") from None
        try:
            self._setup(db, unit)
        except sqlite3.Error as e:       # a full disk, an I/O error, a file that is not a database
            db.close()
            self._writer.close()
            raise JournalFormatError(f"{self.path}: cannot open the journal ({e})") from None
        except BaseException:
            db.close()
            self._writer.close()
            raise
        self._db = db

    def _setup(self, db: sqlite3.Connection, unit: str | None) -> None:
        if db.execute("PRAGMA journal_mode=WAL").fetchone()[0].lower() != "wal":
            raise JournalFormatError(f"{self.path}: SQLite refused WAL mode (is it on a network filesystem?)")
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(schema.SCHEMA)
        own = self._key.public if self._key is not None else None
        own_key = own.ed25519.hex() if own is not None else None
        own_mldsa = own.mldsa.hex() if own is not None and own.mldsa is not None else None
        meta = dict(db.execute("SELECT key, value FROM meta"))
        if own_key is not None and meta.get("public_key", own_key) != own_key:
            raise JournalFormatError(
                f"{self.path}: this journal was signed by another key ({meta['public_key'][:16]}...); "
                "start a new journal file after re-keying a unit")
        if own_key is not None and "mldsa_public" in meta and meta["mldsa_public"] != own_mldsa:
            raise JournalFormatError(
                f"{self.path}: this journal is signed with ML-DSA-65 too, by "
                + ("another ML-DSA-65 key; start a new journal file after re-keying a unit" if own_mldsa else
                   "a key this signer does not have: continuing it with Ed25519 alone would downgrade it"))
        with immediate(db):
            schema.migrate(db, self.path)
            if own_key is not None:
                db.execute("INSERT OR IGNORE INTO meta VALUES ('public_key', ?)", (own_key,))
            if own_mldsa is not None:
                db.execute("INSERT OR IGNORE INTO meta VALUES ('mldsa_public', ?)", (own_mldsa,))
            if unit:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('unit', ?)", (unit,))
            if self._static_public is not None and own_key is not None:
                db.execute("INSERT OR IGNORE INTO meta VALUES ('static_public', ?)", (self._static_public.hex(),))
            if self._mlkem_public is not None and own_mldsa is not None:
                db.execute("INSERT OR IGNORE INTO meta VALUES ('mlkem_public', ?)", (self._mlkem_public.hex(),))
        last = db.execute("SELECT seq, wall_us, mono_us, boot_id FROM records ORDER BY seq DESC LIMIT 1").fetchone()
        # Clock-offset baseline: only meaningful against a record from this same boot.
        self._offset_us = last[1] - last[2] if last and last[3] == self._boot_id else None
        cp = db.execute("SELECT MAX(seq) FROM checkpoints").fetchone()[0]
        self._checkpoint_seq = cp or 0
        self._checkpoint_mono = self._mono_ns()
        if self._head_path is not None:
            # Records past the head must be signed as the journal was before this open: with both
            # keys once it named an ML-DSA-65 key, with Ed25519 in a format-1 journal being upgraded.
            head_keys = None if own is None else PublicKeys(own.ed25519, own.mldsa if "mldsa_public" in meta else None)
            self._head = check_head(db, self.path, self._head_path, head_keys)
            self._write_head()

    # -- appending ---------------------------------------------------------

    def append(self, kind: str, call_id: str | None = None, **fields) -> Record:
        """Validate, chain, sign, write durably; returns the record once it is on disk.

        Raises JournalFieldError (a ValueError) for a kind or field that does
        not match kinds.KINDS, JournalRewritten when the journal no longer
        holds what this unit last wrote; nothing is written then.
        """
        return self.append_many([(kind, call_id, fields)])[0]

    def append_many(self, entries: list[tuple[str, str | None, dict]]) -> list[Record]:
        """Several records in one transaction, signed once at its end (group commit)."""
        for kind, call_id, fields in entries:
            check_record(kind, call_id, fields)
        with self._lock:
            return self._append(entries)

    def _append(self, entries: list[tuple[str, str | None, dict]]) -> list[Record]:
        db = self._open_db()
        wall_us, mono_us = self._wall_ns() // 1000, self._mono_ns() // 1000
        offset = wall_us - mono_us
        written = []
        with immediate(db):
            seq, prev = self._tail(db)
            self._still_ours(seq, prev)
            if self._offset_us is not None and abs(offset - self._offset_us) >= self._step_us:
                step = self._insert(db, seq + 1, prev, wall_us, mono_us, "clock_step", None,
                                    {"step_us": offset - self._offset_us})
                seq, prev = step.seq, step.hash
            for kind, call_id, fields in entries:
                record = self._insert(db, seq + 1, prev, wall_us, mono_us, kind, call_id, fields)
                seq, prev = record.seq, record.hash
                written.append(record)
            signed = self._checkpoint_if_due(db, seq, prev, wall_us)
        self._offset_us = offset
        self._signed(signed)
        self._wrote(seq, prev)
        return written

    def checkpoint(self) -> Checkpoint | None:
        """Sign the tail now (if anything is unsigned); returns the checkpoint written."""
        with self._lock:
            return self._checkpoint()

    def _checkpoint(self) -> Checkpoint | None:
        db = self._open_db()
        with immediate(db):
            seq, last_hash = self._tail(db)
            self._still_ours(seq, last_hash)
            due = seq > self._checkpoint_seq and self._key is not None
            cp = self._write_checkpoint(db, seq, last_hash, self._wall_ns() // 1000) if due else None
        self._signed(cp)
        return cp

    def get_timer(self) -> float | None:
        """Monotonic deadline (seconds, as loop.time()) for the next time-based checkpoint, or None."""
        with self._lock:
            seq = self._tail(self._open_db())[0]
        if seq <= self._checkpoint_seq or self._key is None:
            return None
        return (self._checkpoint_mono + self._seconds_ns) / 1e9

    def handle_timer(self) -> Checkpoint | None:
        """Call at get_timer(): signs the tail if it is due."""
        if self._mono_ns() - self._checkpoint_mono >= self._seconds_ns:
            return self.checkpoint()
        return None

    def close(self) -> None:
        """Sign the tail and close the file. Idempotent."""
        with self._lock:
            if self._db is None:
                return
            try:
                if self._db is not None and self._head_ok():
                    self._checkpoint()
            finally:
                self._db.close()
                self._db = None
                self._writer.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- reading -----------------------------------------------------------

    def records(self, call_id: str | None = None) -> list[Record]:
        """All records, or one call's, in sequence order."""
        with self._lock:
            db = self._open_db()
            if call_id is None:
                rows = db.execute(schema.SELECT_RECORDS + " ORDER BY seq").fetchall()
            else:
                rows = db.execute(schema.SELECT_RECORDS + " WHERE call_id = ? ORDER BY seq", (call_id,)).fetchall()
        return [schema.record_from_row(row) for row in rows]

    def find(self, kinds: tuple[str, ...]) -> list[Record]:
        """Every record of these kinds, in sequence order."""
        with self._lock:
            rows = self._open_db().execute(
                schema.SELECT_RECORDS + f" WHERE kind IN ({','.join('?' * len(kinds))}) ORDER BY seq",
                kinds).fetchall()
        return [schema.record_from_row(row) for row in rows]

    @property
    def last_seq(self) -> int:
        with self._lock:
            return self._tail(self._open_db())[0]

    # -- internals ---------------------------------------------------------

    def _open_db(self) -> sqlite3.Connection:
        if self._db is None:
            raise JournalFormatError(f"{self.path}: the journal is closed")
        return self._db

    @staticmethod
    def _tail(db: sqlite3.Connection) -> tuple[int, str]:
        row = db.execute("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, canonical.GENESIS_HASH)

    def _insert(self, db, seq, prev, wall_us, mono_us, kind, call_id, fields) -> Record:
        body = {"seq": seq, "wall_us": wall_us, "mono_us": mono_us, "boot_id": self._boot_id,
                "kind": kind, "call_id": call_id, "fields": fields, "prev_hash": prev}
        record = Record(**body, hash=canonical.record_hash(body))
        db.execute(schema.INSERT_RECORD, (seq, wall_us, mono_us, self._boot_id, kind, call_id,
                                          canonical.encode(fields).decode("utf-8"), prev, record.hash))
        return record

    def _checkpoint_if_due(self, db, seq: int, record_hash: str, wall_us: int) -> Checkpoint | None:
        due = self._key is not None and (seq - self._checkpoint_seq >= self._every
                                         or self._mono_ns() - self._checkpoint_mono >= self._seconds_ns)
        return self._write_checkpoint(db, seq, record_hash, wall_us) if due else None

    def _write_checkpoint(self, db, seq: int, record_hash: str, wall_us: int) -> Checkpoint:
        cp = self._key.sign(seq, record_hash, wall_us)
        db.execute(schema.INSERT_CHECKPOINT, schema.checkpoint_row(cp))
        return cp

    def _signed(self, cp: Checkpoint | None) -> None:
        """After a commit that wrote `cp`: restart the checkpoint counters."""
        if cp is not None:
            self._checkpoint_seq = cp.seq
            self._checkpoint_mono = self._mono_ns()
            self.last_checkpoint = cp

    # -- the head: what this unit last wrote, kept outside the database ----

    def _head_ok(self) -> bool:
        if self._head is None:
            return True
        return self._tail(self._db) == self._head

    def _still_ours(self, seq: int, last_hash: str) -> None:
        """Inside a write transaction: the tail must be the record this unit last wrote."""
        if self._head is not None and (seq, last_hash) != self._head:
            raise JournalRewritten(
                f"{self.path}: the journal's last record is {seq}, not record {self._head[0]} that this unit "
                "last wrote: it was changed behind the unit's back; not appending to or signing it")

    def _wrote(self, seq: int, last_hash: str) -> None:
        if self._head_path is None:
            return
        self._head = (seq, last_hash)
        try:
            self._write_head()
        except OSError as exc:   # the commit stands; the next append tries again
            log.error("%s: cannot write the journal head file %s (%s)", self.path, self._head_path, exc)

    def _write_head(self) -> None:
        seq, last_hash = self._head
        key = self._key.public.ed25519.hex() if self._key is not None else None
        doc = {"public_key": key, "seq": seq, "hash": last_hash, "journal": self.path.name}
        self._head_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # No directory fsync: after a power cut the previous head is fine (check_head accepts
        # records after it that this key signed), and it halves the cost of every append.
        atomic_write(self._head_path, (json.dumps(doc, sort_keys=True) + "\n").encode(), sync_dir=False)


def check_head(db: sqlite3.Connection, journal: Path, head_path: Path,
               own_public: PublicKeys | bytes | None) -> tuple[int, str]:
    """The journal holds the head this unit last wrote, unchanged, and what follows it is signed by
    `own_public` up to the tail (both signatures when it names an ML-DSA-65 key): commits whose head
    write a power cut or a full disk stopped. Only the holder of the keys can sign, so that is as
    strong as the head itself against anyone without them; without a key nothing may follow it
    (KEYLESS_SLACK).
    Returns the journal's tail; raises JournalRewritten saying what is wrong."""
    tail = Journal._tail(db)
    head = read_head(head_path)
    own_public = None if own_public is None else PublicKeys.of(own_public)
    if head is not None and own_public is not None and head.get("public_key") not in (None, own_public.ed25519.hex()):
        head = None    # a head from before a re-key: its journal was archived at enrol
    base_seq, base_hash = (head["seq"], head["hash"]) if head else (0, canonical.GENESIS_HASH)
    where = f"{journal}: checked against {head_path}"
    if tail[0] < base_seq:
        raise JournalRewritten(f"{where}: the journal ends at record {tail[0]}, but this unit last wrote "
                               f"record {base_seq}: records were cut off")
    if base_seq:
        row = db.execute("SELECT hash FROM records WHERE seq = ?", (base_seq,)).fetchone()
        if row is None or row[0] != base_hash:
            raise JournalRewritten(f"{where}: record {base_seq} is not the record this unit wrote "
                                   "there: the journal was rewritten")
    if tail[0] == base_seq:
        return tail
    after = tail[0] - base_seq
    cps = db.execute(schema.SELECT_CHECKPOINTS_AFTER if schema.has_mldsa_column(db) else
                     "SELECT seq, hash, wall_us, signature, NULL FROM checkpoints WHERE seq > ? ORDER BY rowid",
                     (base_seq,)).fetchall()
    if own_public is None:
        ours = after <= KEYLESS_SLACK and not cps
    else:
        ours = any((row[0], row[1]) == tail and signature_ok(own_public, schema.checkpoint_from_row(row))
                   for row in cps)
    if not ours:
        missing = "" if head else f" ({head_path} is missing)"
        raise JournalRewritten(f"{where}: {after} record(s) after record {base_seq}, the last this unit "
                               f"wrote{missing}, were not written by it; not appending to or signing them")
    return tail


def unit_journal(unit) -> tuple[Path, Path]:
    """The journal and head file paths of a unit's config `[unit]` section."""
    return Path(unit.data_dir) / JOURNAL_FILE, Path(unit.key_dir) / HEAD_FILE


def read_head(path: Path | str) -> dict | None:
    """The head file's contents, None if there is none; JournalFormatError if it is not one."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise JournalFormatError(f"{path}: the journal head file is unreadable ({exc})") from None
    if not (isinstance(doc, dict) and isinstance(doc.get("seq"), int) and isinstance(doc.get("hash"), str)):
        raise JournalFormatError(f"{path}: not a journal head file (expected seq and hash)")
    return doc

