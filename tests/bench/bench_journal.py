"""Journal benchmarks: durable append cost, and time to verify 1,000,000 records.

    .venv/bin/python tests/bench/bench_journal.py [--appends N] [--records N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from terminal.journal import Checkpoint, Journal, Record, canonical, verify
from terminal.journal.store import public_key_bytes


def bench_append(key: Ed25519PrivateKey, n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        with Journal(Path(tmp) / "bench.db", key, checkpoint_every=100) as journal:
            costs = []
            for i in range(n):
                t0 = time.perf_counter()
                journal.append("answered", call_id=f"call-{i}", time_to_answer_ms=i)
                costs.append((time.perf_counter() - t0) * 1000)
    costs.sort()
    print(f"durable append (WAL, synchronous=FULL, one transaction each, checkpoint every 100): n={n} "
          f"mean {statistics.fmean(costs):.2f} ms, p50 {costs[n // 2]:.2f} ms, "
          f"p95 {costs[int(n * 0.95)]:.2f} ms, max {costs[-1]:.2f} ms")


def generate(key: Ed25519PrivateKey, n: int, every: int) -> tuple[list[Record], list[Checkpoint]]:
    records, checkpoints = [], []
    prev = canonical.GENESIS_HASH
    for seq in range(1, n + 1):
        body = {"seq": seq, "wall_us": 1_790_000_000_000_000 + seq * 1000, "mono_us": seq * 1000,
                "boot_id": "bench", "kind": "answered", "call_id": f"call-{seq}",
                "fields": {"time_to_answer_ms": seq % 30_000}, "prev_hash": prev}
        prev = canonical.record_hash(body)
        records.append(Record(**body, hash=prev))
        if seq % every == 0 or seq == n:
            msg = canonical.checkpoint_message(seq, prev, body["wall_us"])
            checkpoints.append(Checkpoint(seq, prev, body["wall_us"], key.sign(msg).hex()))
    return records, checkpoints


def bench_verify(key: Ed25519PrivateKey, n: int) -> None:
    t0 = time.perf_counter()
    records, checkpoints = generate(key, n, every=100)
    t1 = time.perf_counter()
    verdict = verify(records, checkpoints, public_key_bytes(key))
    t2 = time.perf_counter()
    assert verdict.ok and verdict.records == n
    print(f"generate {n:,} records + {len(checkpoints):,} checkpoints: {t1 - t0:.1f} s")
    print(f"verify {n:,} records + {len(checkpoints):,} checkpoints: {t2 - t1:.1f} s "
          f"({(t2 - t1) / n * 1e6:.2f} us/record)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=500)
    parser.add_argument("--records", type=int, default=1_000_000)
    args = parser.parse_args()
    key = Ed25519PrivateKey.generate()
    bench_append(key, args.appends)
    bench_verify(key, args.records)


if __name__ == "__main__":
    main()
