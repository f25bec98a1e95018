"""SIGKILL in the middle of bursts of appends never loses a returned record, breaks the chain or leaves
a record unsigned: every append is signed in its own transaction."""

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from terminal.journal import load_sqlite, verify
from terminal.journal.signatures import SigningKeys

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 6


def test_sigkill_during_bursts_keeps_every_returned_record(tmp_path):
    key = SigningKeys.generate()
    key_hex = key.ed25519.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                        serialization.NoEncryption()).hex() + key.mldsa.private_bytes_raw().hex()
    path = tmp_path / "journal.db"
    rng = random.Random(20261123)
    reported: list[int] = []
    for round_ in range(ROUNDS):
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.journal.appender", str(path), key_hex, f"{round_}"],
            cwd=ROOT, stdout=subprocess.PIPE, text=True)
        kill_after = rng.randint(5, 120)
        for _ in range(kill_after):
            line = child.stdout.readline()
            assert line, f"appender exited early in round {round_} (rc {child.poll()})"
            reported.append(int(line))
        os.kill(child.pid, signal.SIGKILL)
        reported += [int(line) for line in child.stdout.read().split()]  # returned before the kill
        child.stdout.close()
        assert child.wait() == -signal.SIGKILL

        data = load_sqlite(path)
        verdict = verify(data.records, data.checkpoints, key.public)
        assert verdict.status == "intact" and verdict.unsigned_tail == 0, [str(p) for p in verdict.problems]
        held = {r.seq for r in data.records}
        assert set(reported) <= held, f"round {round_}: lost {sorted(set(reported) - held)}"
        assert reported == sorted(reported) and len(set(reported)) == len(reported)
    assert verdict.records >= len(reported) >= ROUNDS * 5
