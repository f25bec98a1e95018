"""Outbox and inbox in one SQLite file on disk: the durable truth behind the channel.

Pragmas, and why:
- journal_mode=WAL: a commit is one append to the write-ahead log, atomic
  across power loss, and a reader (the console's `msg list`) never blocks the
  writer that is storing an incoming message.
- synchronous=FULL: the WAL is fsynced at every commit. With NORMAL a power
  cut can roll back the last commits, and we would have sent a delivery
  receipt for a message that is no longer on disk.
- or, with `deferred_sync=True` (the daemon's choice), synchronous=NORMAL and
  the fsync of the WAL done by `sync()`, which the daemon runs in a worker
  thread: a commit on the event loop is then a write to the page cache, and the
  loop does not wait for the card. The durability is FULL's all the same,
  because the caller holds back every payload and every answer a commit caused
  until `sync()` has covered it (`unsynced` says whether one is owed; see
  terminal/daemon/texting.py). A failed fsync is final until a restart (see
  `sync`). SQLite's own checkpoints still fsync on the committing thread,
  rarely (every 1000 pages of WAL).
- busy_timeout: wait briefly for another writer, then report "locked" clearly.

A locked or damaged database raises StoreError and changes nothing: every
write is one transaction, rolled back on any error, and the file is never
replaced or repaired behind the operator's back.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from terminal.text.effects import Effect, ReceiptConfirmed, Released, Stored
from terminal.text.errors import StoreError, UnknownMessage
from terminal.text.events import (Event, MessageDelivered, MessageRead, MessageReceived,
                                  MessageSent)
from terminal.text.precedence import Precedence
from terminal.text.wire import STREAM_LEN

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
MIN_ID_PREFIX = 6
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY, precedence INTEGER NOT NULL, text TEXT NOT NULL, created REAL NOT NULL,
    seq INTEGER UNIQUE,
    state TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'delivered', 'read')),
    sent_at REAL, delivered_at REAL, read_at REAL);
CREATE TABLE IF NOT EXISTS inbox (
    id TEXT PRIMARY KEY, stream BLOB NOT NULL, seq INTEGER NOT NULL,
    precedence INTEGER NOT NULL, text TEXT NOT NULL, created REAL NOT NULL,
    received_at REAL NOT NULL, read_at REAL, receipt_confirmed INTEGER NOT NULL DEFAULT 0,
    UNIQUE (stream, seq));
CREATE TABLE IF NOT EXISTS streams (stream BLOB PRIMARY KEY, next_seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS held (stream BLOB NOT NULL, seq INTEGER NOT NULL,
                                 PRIMARY KEY (stream, seq));
CREATE INDEX IF NOT EXISTS outbox_created ON outbox (created, id);
CREATE INDEX IF NOT EXISTS inbox_created ON inbox (created, id);
CREATE TABLE IF NOT EXISTS send_keys (key TEXT PRIMARY KEY, id TEXT NOT NULL);
"""
PAGE_MAX = 500
_VISIBLE = "inbox.seq < (SELECT next_seq FROM streams WHERE streams.stream = inbox.stream)"


@dataclass(frozen=True)
class Record:
    """One message as the reader sees it. `direction` is 'out' or 'in'.

    Outgoing states: queued, sent, delivered, read. Incoming: received, read.
    """
    id: str
    direction: str
    precedence: Precedence
    text: str
    created: float
    state: str
    sent_at: float | None = None
    delivered_at: float | None = None
    read_at: float | None = None

    def to_json(self) -> dict:
        return {**self.__dict__, "precedence": self.precedence.name.lower()}


def sort_key(record: Record) -> tuple[float, str, str]:
    """How messages are ordered (and a page's cursor): time written, then direction, then id."""
    return (record.created, record.direction, record.id)


@dataclass(frozen=True)
class Snapshot:
    """What a channel needs to carry on after a restart."""
    stream: bytes
    next_seq: int
    outgoing: list[tuple[bytes, Precedence, str, float, int | None]]
    incoming: list[tuple[bytes, int, set[int]]]
    receipts: list[tuple[bytes, float]]


class MessageStore:
    def __init__(self, path: str | os.PathLike, *, timeout: float = 2.0, deferred_sync: bool = False) -> None:
        self.path = Path(path)
        self.deferred_sync = deferred_sync
        self._committed = 0                 # write transactions committed (the owner's thread counts)
        self._synced = 0                    # of those, how many an fsync is known to cover
        self._dir_synced = False
        self._sync_failed: str | None = None    # the first fsync error: nothing since counts as synced
        try:
            self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None,
                                       check_same_thread=False)   # one owner at a time, any thread
        except sqlite3.Error as e:
            raise StoreError(f"cannot open message store {self.path}: {e}") from e
        try:
            with self._translate("open"):
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=%s" % ("NORMAL" if deferred_sync else "FULL"))
                check = self._db.execute("PRAGMA quick_check").fetchone()[0]
                if check != "ok":
                    raise sqlite3.DatabaseError(f"integrity check failed: {check}")
                with self._transaction("create the schema"):
                    for statement in SCHEMA.split(";"):
                        if statement.strip():
                            self._db.execute(statement)
                    self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
                    self._db.execute("INSERT OR IGNORE INTO meta VALUES ('stream', ?)",
                                     (os.urandom(STREAM_LEN),))
                version = self._meta("schema")
                if version != SCHEMA_VERSION:
                    raise sqlite3.DatabaseError(f"schema version {version}, this build reads {SCHEMA_VERSION}")
            if deferred_sync:
                self.sync()
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        """Close; a commit still owed its fsync gets it first (a failure is logged: close goes on)."""
        try:
            if self.unsynced:
                self.sync()
        except StoreError as e:
            log.error("%s; closing all the same", e)
        finally:
            self._db.close()

    @property
    def durability(self) -> tuple[str, str]:
        """How commits reach the card, as SQLite reports it: (journal mode, synchronous level),
        e.g. ("wal", "normal") with deferred_sync, ("wal", "full") without."""
        with self._translate("read the store's settings"):
            mode = self._db.execute("PRAGMA journal_mode").fetchone()[0]
            level = self._db.execute("PRAGMA synchronous").fetchone()[0]
        return mode, {0: "off", 1: "normal", 2: "full", 3: "extra"}[level]

    @property
    def unsynced(self) -> bool:
        """Whether a commit is not yet known to be on the card (always False without deferred_sync)."""
        return self.deferred_sync and self._synced < self._committed

    def sync(self) -> None:
        """fsync the write-ahead log, covering every commit made before the call (safe to run on
        another thread than the one committing; the first also fsyncs the directory holding it).
        Raises StoreError if the card refuses, and from then on: Linux reports a failed writeback
        once and may mark the pages clean, so a later fsync that succeeds proves nothing about
        the commits before it. What they caused stays held until the unit restarts and reads
        the store again (the peer resends whatever did not survive)."""
        if self._sync_failed is not None:
            raise StoreError(f"message store {self.path}: an fsync failed ({self._sync_failed}); the commits "
                             "since the last good one are not known to be on the card; restart the unit")
        upto = self._committed
        wal = self.path.with_name(self.path.name + "-wal")
        try:
            with suppress(FileNotFoundError):      # no WAL: every commit is checkpointed
                fd = os.open(wal, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            if not self._dir_synced:
                fd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
                self._dir_synced = True
        except OSError as e:
            self._sync_failed = str(e)
            raise StoreError(f"message store {self.path}: could not fsync {wal.name}: {e}") from e
        self._synced = max(self._synced, upto)

    # --- transactions and errors ----------------------------------------------

    @contextmanager
    def _translate(self, doing: str) -> Iterator[None]:
        try:
            yield
        except (sqlite3.ProgrammingError, sqlite3.InterfaceError):
            raise                                   # a bug here, not a problem with the file
        except sqlite3.OperationalError as e:
            if "locked" in str(e) or "busy" in str(e):
                raise StoreError(f"message store {self.path} is locked by another process; "
                                 f"could not {doing}, nothing was changed") from e
            raise StoreError(f"message store {self.path}: could not {doing}: {e}") from e
        except sqlite3.IntegrityError as e:
            raise StoreError(f"message store {self.path} refused an inconsistent write ({e}); "
                             f"could not {doing}, nothing was changed") from e
        except sqlite3.DatabaseError as e:
            raise StoreError(f"message store {self.path} is damaged ({e}); could not {doing}, "
                             "nothing was changed; keep the file for inspection") from e

    @contextmanager
    def _transaction(self, doing: str) -> Iterator[sqlite3.Connection]:
        with self._translate(doing):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            self._committed += 1

    def _meta(self, key: str):
        return self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0]

    # --- reading ----------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        with self._translate("read the outbox"):
            db = self._db
            stream = self._meta("stream")
            (top,) = db.execute("SELECT coalesce(max(seq), 0) FROM outbox").fetchone()
            outgoing = [(bytes.fromhex(i), Precedence(p), t, c, s) for i, p, t, c, s in db.execute(
                "SELECT id, precedence, text, created, seq FROM outbox "
                "WHERE state IN ('queued', 'sent') ORDER BY created")]
            incoming = [(s, n, {h for (h,) in db.execute(
                "SELECT seq FROM held WHERE stream = ?", (s,))})
                for s, n in db.execute("SELECT stream, next_seq FROM streams")]
            receipts = [(bytes.fromhex(i), r) for i, r in db.execute(
                "SELECT id, read_at FROM inbox WHERE read_at IS NOT NULL AND NOT receipt_confirmed")]
        return Snapshot(stream, top + 1, outgoing, incoming, receipts)

    def list(self) -> list[Record]:
        """Every message, both directions, oldest first."""
        with self._translate("list messages"):
            out = [Record(i, "out", Precedence(p), t, c, s, sa, da, ra) for i, p, t, c, s, sa, da, ra in
                   self._db.execute("SELECT id, precedence, text, created, state, sent_at, "
                                    "delivered_at, read_at FROM outbox")]
            inn = [Record(i, "in", Precedence(p), t, c, "read" if ra is not None else "received",
                          None, rcv, ra) for i, p, t, c, rcv, ra in
                   self._db.execute("SELECT id, precedence, text, created, received_at, read_at "
                                    f"FROM inbox WHERE {_VISIBLE}")]
        return sorted(out + inn, key=lambda r: (r.created, r.direction))

    def page(self, limit: int, after: tuple[float, str, str] | None = None) -> list[Record]:
        """Up to `limit` messages, newest first, from just past `after` (the sort key
        (created, direction, id) of the last one a previous page ended with). Each side reads
        at most `limit` rows by its index, so no page costs more than that however big the store."""
        outbox_where, inbox_where, args_out, args_in = "1", "1", [], []
        if after is not None:
            created, direction, id = after
            # The order is (created, direction, id) descending, and 'out' sorts after 'in'.
            if direction == "out":
                outbox_where, args_out = "(created < ? OR (created = ? AND id < ?))", [created, created, id]
                inbox_where, args_in = "created <= ?", [created]
            else:
                outbox_where, args_out = "created < ?", [created]
                inbox_where, args_in = "(created < ? OR (created = ? AND id < ?))", [created, created, id]
        with self._translate("list messages"):
            out = [Record(i, "out", Precedence(p), t, c, s, sa, da, ra) for i, p, t, c, s, sa, da, ra in
                   self._db.execute("SELECT id, precedence, text, created, state, sent_at, delivered_at, "
                                    f"read_at FROM outbox WHERE {outbox_where} ORDER BY created DESC, id DESC "
                                    "LIMIT ?", (*args_out, limit))]
            inn = [Record(i, "in", Precedence(p), t, c, "read" if ra is not None else "received",
                          None, rcv, ra) for i, p, t, c, rcv, ra in
                   self._db.execute("SELECT id, precedence, text, created, received_at, read_at FROM inbox "
                                    f"WHERE {_VISIBLE} AND {inbox_where} ORDER BY created DESC, id DESC LIMIT ?",
                                    (*args_in, limit))]
        return sorted(out + inn, key=sort_key, reverse=True)[:limit]

    def sent_with_key(self, key: str) -> str | None:
        """The id a send with this idempotency key was given, if there was one."""
        with self._translate("look up the send key"):
            row = self._db.execute("SELECT id FROM send_keys WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def unread(self) -> list[tuple[str, Precedence]]:
        """Received messages no person has acknowledged yet."""
        with self._translate("list unread messages"):
            return [(i, Precedence(p)) for i, p in self._db.execute(
                f"SELECT id, precedence FROM inbox WHERE read_at IS NULL AND {_VISIBLE} "
                "ORDER BY received_at")]

    def unread_urgent(self, limit: int = 10) -> list[dict]:
        """The oldest `limit` FLASH and IMMEDIATE messages received and not yet acknowledged
        (FLASH first), each with the first 200 characters of its text."""
        urgent = [int(p) for p in Precedence if p.urgent]
        with self._translate("list unread urgent messages"):
            return [{"id": i, "precedence": Precedence(p).name.lower(), "text": t, "created": c, "received_at": r}
                    for i, p, t, c, r in self._db.execute(
                        "SELECT id, precedence, substr(text, 1, 200), created, received_at FROM inbox "
                        f"WHERE read_at IS NULL AND {_VISIBLE} AND precedence IN ({','.join('?' * len(urgent))}) "
                        "ORDER BY precedence, received_at LIMIT ?", (*urgent, limit))]

    def unread_counts(self) -> dict[str, tuple[int, float | None]]:
        """Per precedence: how many received messages wait unread, and since when the oldest."""
        with self._translate("count unread messages"):
            found = {Precedence(p).name.lower(): (n, oldest) for p, n, oldest in self._db.execute(
                f"SELECT precedence, count(*), min(received_at) FROM inbox WHERE read_at IS NULL AND {_VISIBLE} "
                "GROUP BY precedence")}
        return {p.name.lower(): found.get(p.name.lower(), (0, None)) for p in Precedence}

    # --- writing ----------------------------------------------------------------

    def enqueue(self, id: str, precedence: Precedence, text: str, created: float, key: str | None = None) -> None:
        """Queue a message; with `key`, remember it in the same transaction (a retried send finds it)."""
        with self._transaction("queue the message") as db:
            db.execute("INSERT INTO outbox (id, precedence, text, created, state) "
                       "VALUES (?, ?, ?, ?, 'queued')", (id, int(precedence), text, created))
            if key is not None:
                db.execute("INSERT INTO send_keys VALUES (?, ?)", (key, id))

    def acknowledge(self, id: str, at: float) -> tuple[str, bool]:
        """A person read inbox message `id` (or a unique prefix): (full id, newly read?)."""
        with self._transaction("acknowledge the message") as db:
            full_id = self._resolve(id)
            changed = db.execute("UPDATE inbox SET read_at = ? WHERE id = ? AND read_at IS NULL",
                                 (at, full_id)).rowcount
        return full_id, bool(changed)

    def _resolve(self, id: str) -> str:
        key = id.strip().lower()
        if len(key) < MIN_ID_PREFIX:
            raise UnknownMessage(f"message id {id!r} is too short; give at least {MIN_ID_PREFIX} hex digits")
        rows = self._db.execute(f"SELECT id FROM inbox WHERE substr(id, 1, ?) = ? AND {_VISIBLE}",
                                (len(key), key)).fetchall()
        if len(rows) != 1:
            what = "no received message" if not rows else f"{len(rows)} received messages"
            raise UnknownMessage(f"{what} with id {id!r}")
        return rows[0][0]

    def apply(self, effects: Iterable[Effect]) -> list[Event]:
        """Store a batch of channel effects in one transaction; return what newly happened."""
        events: list[Event] = []
        with self._transaction("store message state") as db:
            for effect in effects:
                events.extend(self._apply(db, effect))
        return events

    def _apply(self, db: sqlite3.Connection, effect: Effect) -> list[Event]:
        if isinstance(effect, MessageSent):
            db.execute("UPDATE outbox SET state = 'sent', seq = ?, sent_at = ? "
                       "WHERE id = ? AND state = 'queued'", (effect.seq, effect.at, effect.id))
            return [effect]
        if isinstance(effect, MessageDelivered):
            changed = db.execute("UPDATE outbox SET state = 'delivered', delivered_at = ? "
                                 "WHERE id = ? AND state = 'sent'", (effect.at, effect.id)).rowcount
            return [effect] if changed else []
        if isinstance(effect, MessageRead):
            changed = db.execute("UPDATE outbox SET state = 'read', read_at = ?, "
                                 "delivered_at = coalesce(delivered_at, ?) "
                                 "WHERE id = ? AND state IN ('sent', 'delivered')",
                                 (effect.read_at, effect.at, effect.id)).rowcount
            return [effect] if changed else []
        if isinstance(effect, Stored):
            db.execute("INSERT OR IGNORE INTO streams VALUES (?, 1)", (effect.stream,))
            db.execute("INSERT OR IGNORE INTO held VALUES (?, ?)", (effect.stream, effect.seq))
            db.execute("INSERT OR IGNORE INTO inbox (id, stream, seq, precedence, text, created, "
                       "received_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (effect.id, effect.stream, effect.seq, int(effect.precedence), effect.text,
                        effect.created, effect.at))
            return []
        if isinstance(effect, Released):
            db.execute("UPDATE streams SET next_seq = ? WHERE stream = ?", (effect.next_seq, effect.stream))
            db.execute("DELETE FROM held WHERE stream = ? AND seq < ?", (effect.stream, effect.next_seq))
            return [MessageReceived(i, Precedence(p), t, c, effect.at) for i, p, t, c in db.execute(
                "SELECT id, precedence, text, created FROM inbox "
                "WHERE stream = ? AND seq >= ? AND seq < ? ORDER BY seq",
                (effect.stream, effect.first, effect.next_seq))]
        if isinstance(effect, ReceiptConfirmed):
            db.execute("UPDATE inbox SET receipt_confirmed = 1 WHERE id = ?", (effect.id,))
            return []
        raise TypeError(f"not a text-channel effect: {effect!r}")
