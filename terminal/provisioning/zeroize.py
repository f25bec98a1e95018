"""Zeroize: the messages' plaintext goes with the keys.

The provisioning service destroys the key file and removes the peer; the
daemon, told so, goes off the line at once and then destroys what it kept in
the clear: the text of every message (text.sqlite), the records channel's
store (records.sqlite: call outcomes, voice-message parts) and the voice
messages (voicemail/). Each store is emptied with SQLite's secure_delete (freed
pages are overwritten with zeros), vacuumed, its write-ahead log truncated, and
then the file itself is overwritten with zeros, fsynced and removed. The
journal stays: it is the evidence, and it holds no message text.

Zeroize is recorded first as a marker beside the keys (`zeroize.pending`,
written by the provisioning service before it destroys anything), and the daemon
destroys the plaintext at the start of every life while the marker is there,
removing it last: a daemon stopped, crashed or killed mid-way still does it the
next time it starts, before it opens any store.

An SD card's wear levelling may keep old copies of blocks that no file names any
more; only destroying the card removes those. What this does is leave nothing
that a file on the unit, or SQLite, can still read.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

from terminal.keys import fsync_dir

log = logging.getLogger(__name__)

STORES = ("text.sqlite", "records.sqlite")
VOICEMAIL_DIR = "voicemail"


def _overwrite_and_remove(path: Path) -> bool:
    if not path.exists():
        return False
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.write(bytes(size))
        f.flush()
        os.fsync(f.fileno())
    path.unlink()
    return True


def _empty_store(path: Path) -> None:
    db = sqlite3.connect(path, isolation_level=None, timeout=5)
    try:
        db.execute("PRAGMA secure_delete=ON")
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            db.execute(f'DELETE FROM "{table}"')
        db.execute("VACUUM")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


PENDING = "zeroize.pending"


def mark_pending(key_dir: Path | str) -> None:
    """Before anything is destroyed: the daemon will finish the job even if it is not running now."""
    from terminal.keys import atomic_write
    Path(key_dir).mkdir(mode=0o700, parents=True, exist_ok=True)
    atomic_write(Path(key_dir) / PENDING, b"zeroize requested; the daemon destroys the message stores\n")


def finish_pending(key_dir: Path | str, data_dir: Path | str) -> list[str] | None:
    """If a zeroize is pending, destroy the plaintext and clear the marker; what went, or None."""
    marker = Path(key_dir) / PENDING
    if not marker.exists():
        return None
    gone = destroy_plaintext(data_dir)
    marker.unlink()
    fsync_dir(marker.parent)
    return gone


def destroy_plaintext(data_dir: Path | str) -> list[str]:
    """Destroy the message stores and voice messages in `data_dir`; the names of what went."""
    data_dir = Path(data_dir)
    gone = []
    for name in STORES:
        path = data_dir / name
        if path.exists():
            try:
                _empty_store(path)
            except sqlite3.Error as exc:      # unreadable: overwriting the file below still destroys it
                log.warning("zeroize: %s could not be emptied by SQLite (%s); overwriting it", path, exc)
        for suffix in ("", "-wal", "-shm", "-journal"):
            if _overwrite_and_remove(path.with_name(name + suffix)) and not suffix:
                gone.append(name)
    from terminal.daemon.linkstate import RATCHET_FILE
    if _overwrite_and_remove(data_dir / RATCHET_FILE):    # the link's post-quantum secrets: the pair re-pairs
        gone.append(RATCHET_FILE)
    voicemail = data_dir / VOICEMAIL_DIR
    if voicemail.is_dir():
        files = [p for p in sorted(voicemail.rglob("*")) if p.is_file()]
        for path in files:
            _overwrite_and_remove(path)
        if files:
            gone.append(f"{VOICEMAIL_DIR}/ ({len(files)} file(s))")
    if data_dir.is_dir():
        fsync_dir(data_dir)
    log.warning("zeroize: destroyed %s", ", ".join(gone) or "nothing (no messages were stored)")
    return gone
