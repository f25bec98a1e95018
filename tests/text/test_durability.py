"""SIGKILL the sender right after send() returns and the receiver right after it stores,
restart both, and find every message delivered exactly once with both receipts.
Real processes, real loopback UDP, real SQLite files."""

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.daemonlog import PipeLines

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Unit:
    def __init__(self, db: Path, port: int, peer: int, *extra: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.text.udp_unit", "--db", str(db), "--port", str(port),
             "--peer", str(peer), *extra], cwd=ROOT, stdout=subprocess.PIPE)
        self.lines = PipeLines(self.proc.stdout)
        self.seen: list[dict] = []

    def expect(self, event: str, count: int = 1, timeout: float = 30.0) -> list[dict]:
        """Read reports until `count` of `event` have been seen in total (an event, not a sleep)."""
        deadline = time.monotonic() + timeout
        while len(self.events(event)) < count:
            line = self.lines.next_line(deadline)
            if line is None:
                state = "exited" if self.proc.poll() is not None else "still running"
                pytest.fail(f"no {count} x {event} within {timeout} s (unit {state}); saw {self.seen}")
            self.seen.append(json.loads(line))
        return self.events(event)

    def events(self, event: str) -> list[dict]:
        return [e for e in self.seen if e["event"] == event]

    def kill(self) -> None:
        """SIGKILL, then keep every report it printed before it died: a killed sender may
        already have committed a receipt, and that process is the only one to report it."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        while (line := self.lines.next_line(time.monotonic() + 5.0)) is not None:
            self.seen.append(json.loads(line))
        self.proc.stdout.close()


def expect_read(last: Unit, earlier: list[Unit], wanted: set[str], timeout: float = 30.0) -> set[str]:
    """Wait on `last` until the read receipts of all `wanted` ids have been reported by
    `last` or by any `earlier` (killed) process of the same unit."""
    def read() -> set[str]:
        return {e["id"] for unit in (*earlier, last) for e in unit.events("MessageRead")}
    deadline = time.monotonic() + timeout
    while not wanted <= read():
        line = last.lines.next_line(deadline)
        if line is None:
            pytest.fail(f"read receipts for {sorted(wanted - read())} not seen within {timeout} s; "
                        f"saw {[e for unit in (*earlier, last) for e in unit.seen]}")
        last.seen.append(json.loads(line))
    return read()


def ids(db: Path, table: str) -> list[str]:
    with sqlite3.connect(db) as c:
        return [r[0] for r in c.execute(f"SELECT id FROM {table} ORDER BY rowid")]


@pytest.fixture
def spawn():
    """Start units; whatever is still running when the test ends (a failure) is killed."""
    started: list[Unit] = []

    def start(*args) -> Unit:
        started.append(Unit(*args))
        return started[-1]
    yield start
    for unit in started:
        if unit.proc.poll() is None:
            unit.proc.kill()
            unit.proc.wait()


def test_killed_and_restarted_units_deliver_each_message_once_with_receipts(tmp_path, spawn):
    Unit = spawn
    a_db, b_db, pa, pb = tmp_path / "a.db", tmp_path / "b.db", free_port(), free_port()
    b = Unit(b_db, pb, pa, "--auto-ack")
    b.expect("ready")
    sent, senders = [], []
    for n in range(3):
        a = Unit(a_db, pa, pb, "--send", f"message {n}")
        sent.append(a.expect("send-returned")[0]["id"])
        a.kill()                                            # right after send() returned
        senders.append(a)
    # A killed sender may have committed a receipt and died before printing it: its own
    # database says so. The restarted one need only report the rest.
    with sqlite3.connect(a_db) as c:
        committed = {r[0] for r in c.execute("SELECT id FROM outbox WHERE state = 'read'")}
    a = Unit(a_db, pa, pb)
    first_b = b
    first_b.expect("MessageReceived")
    first_b.kill()                                          # right after it stored one
    b = Unit(b_db, pb, pa, "--auto-ack")
    read = expect_read(a, senders, set(sent) - committed) | committed
    a.kill(), b.kill()

    shown = [e["id"] for unit in (first_b, b) for e in unit.events("MessageReceived")]
    assert len(shown) == len(set(shown)) and set(shown) <= set(sent)   # never shown twice

    assert read == set(sent)
    assert ids(a_db, "outbox") == sent
    assert sorted(ids(b_db, "inbox")) == sorted(sent)       # stored once each (id is the key)
    with sqlite3.connect(a_db) as c:
        assert c.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall() == [("read", 3)]
    with sqlite3.connect(b_db) as c:
        rows = c.execute("SELECT seq, read_at IS NOT NULL FROM inbox ORDER BY seq")
        assert rows.fetchall() == [(1, 1), (2, 1), (3, 1)]
