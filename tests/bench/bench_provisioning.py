"""Provisioning over a real pty pair: request round-trip time and journal pull rate.

    .venv/bin/python tests/bench/bench_provisioning.py

A USB full-speed CDC-ACM link is slower than a pty; these numbers are the
protocol's own cost (framing, JSON, base64, SQLite snapshot), not the cable's.
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from host import commands  # noqa: E402
from terminal.provisioning.status import Command  # noqa: E402
from tests.provisioning.harness import FakeClock, SimUnit  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        unit = SimUnit(Path(tmp) / "A", "A", "192.0.2.10:4870", FakeClock())
        device = unit.device()
        try:
            unit.press()
            commands.enrol(device)
            times = []
            for _ in range(300):
                start = time.perf_counter()
                device.request(Command.HELLO)
                times.append(time.perf_counter() - start)
            times.sort()
            print(f"hello round trip over pty: median {statistics.median(times) * 1e3:.2f} ms, "
                  f"p95 {times[int(len(times) * 0.95)] * 1e3:.2f} ms (n={len(times)})")

            journal = unit.data_dir / "journal.sqlite"
            import sqlite3
            with sqlite3.connect(journal) as db:
                db.execute("CREATE TABLE t (pad BLOB)")
                db.executemany("INSERT INTO t VALUES (?)", [(os.urandom(1000),) for _ in range(4000)])
            db.close()
            out = Path(tmp) / "pulled.sqlite"
            result = commands.journal_pull(device, out)
            print(f"journal pull: {result['size'] / 1e6:.2f} MB in {result['seconds']:.2f} s = "
                  f"{result['rate'] / 1e6:.2f} MB/s (4 KiB chunks, base64 in JSON)")
        finally:
            device.close()
            unit.close()


if __name__ == "__main__":
    main()
