"""Shared by the journal and report tests: a fake clock and a journal with a known history."""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path

from terminal.journal import Journal
from terminal.journal.signatures import SigningKeys

START_WALL_NS = 1_790_000_000 * 10**9  # 2026-09-21, a Monday night


class FakeClock:
    """Wall and monotonic clocks that move only when told (plus 1 ms per read, like a real clock)."""

    def __init__(self, wall_ns: int = START_WALL_NS, mono_ns: int = 5 * 10**9):
        self.wall, self.mono = wall_ns, mono_ns

    def advance(self, seconds: float) -> None:
        self.wall += int(seconds * 1e9)
        self.mono += int(seconds * 1e9)

    def step_wall(self, seconds: float) -> None:
        self.wall += int(seconds * 1e9)

    def wall_ns(self) -> int:
        return self.wall

    def mono_ns(self) -> int:
        return self.mono


def open_journal(path: Path, key, clock: FakeClock, **kw) -> Journal:
    return Journal(path, key, wall_ns=clock.wall_ns, mono_ns=clock.mono_ns, boot_id="boot-1", **kw)


def call(journal: Journal, clock: FakeClock, call_id: str, *, direction="incoming", answer_after=None,
         miss_after=30.0, talk=60.0) -> None:
    """One call's records as the call loop would write them."""
    journal.append("ring_started", call_id=call_id, direction=direction)
    clock.advance(0.2)
    journal.append("peer_ringing", call_id=call_id)
    if answer_after is not None:
        clock.advance(answer_after)
        journal.append("answered", call_id=call_id, time_to_answer_ms=round((answer_after + 0.2) * 1000))
        clock.advance(talk)
        journal.append("call_ended", call_id=call_id, duration_ms=round(talk * 1000), who_hung_up="peer",
                       frames_lost=3, frames_concealed=2, frames_fec_recovered=1, jitter_us=4200)
    else:
        clock.advance(miss_after / 2)
        journal.append("escalation", call_id=call_id, step="secondary_alert")
        clock.advance(miss_after / 2)
        journal.append("missed", call_id=call_id, rang_for_ms=round(miss_after * 1000 + 200))


def identity_file(path: Path, keys: SigningKeys) -> Path:
    """An identity JSON naming the Ed25519 and ML-DSA-65 keys, as `hotline keygen --json` prints them."""
    public = keys.public
    path.write_text(json.dumps({"signing_public": base64.b64encode(public.ed25519).decode(),
                                "mldsa_public": base64.b64encode(public.mldsa).decode()}))
    return path


def unlock(path: Path) -> sqlite3.Connection:
    """A raw sqlite3 session on the file with the append-only triggers dropped, as a tamperer would."""
    db = sqlite3.connect(path, isolation_level=None)
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        db.execute(f"DROP TRIGGER {name}")
    return db
