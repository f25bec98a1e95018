"""Journal benchmarks: what a durable, signed append costs, and how long verifying 1,000,000
records with the peer's witness journal takes.

    .venv/bin/python tests/bench/bench_journal.py [--appends N] [--records N]

Appends: three ways in the same run, same disk, same record: a checkpoint every 100 records
(before issue 10), a signed checkpoint in every transaction, and that plus the head file
beside the keys (what the unit runs). The differences are the cost of signing each record
and of the head file. Verify: measured on --records records with a checkpoint every 10
records and a witness holding every 10th checkpoint; the unit signs every transaction, so
with one record per transaction a journal carries one signature per record: that figure is
inferred from the measured cost of one signature check and printed as inferred.
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
from terminal.journal.verify import Witnessed


def append_costs(key: Ed25519PrivateKey, n: int, every: int, head: bool) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        with Journal(Path(tmp) / "bench.db", key, checkpoint_every=every, checkpoint_seconds=1e9,
                     head_path=Path(tmp) / "journal.head" if head else None) as journal:
            costs = []
            for i in range(n):
                t0 = time.perf_counter()
                journal.append("answered", call_id=f"call-{i}", time_to_answer_ms=i)
                costs.append((time.perf_counter() - t0) * 1000)
    return sorted(costs)


def bench_append(key: Ed25519PrivateKey, n: int) -> None:
    print(f"durable append, n={n} each (WAL, synchronous=FULL, one transaction per record), this disk:")
    means = {}
    for label, every, head in (("checkpoint every 100 records", 100, False),
                               ("signed every transaction", 1, False),
                               ("signed every transaction + head file (the unit)", 1, True)):
        costs = append_costs(key, n, every, head)
        means[label] = statistics.fmean(costs)
        print(f"  {label:50s} mean {means[label]:.3f} ms, p50 {costs[n // 2]:.3f} ms, "
              f"p95 {costs[int(n * 0.95)]:.3f} ms, max {costs[-1]:.3f} ms")
    msg = canonical.checkpoint_message(1, "ab" * 32, 1)
    t0 = time.perf_counter()
    for _ in range(2000):
        key.sign(msg)
    sign_us = (time.perf_counter() - t0) / 2000 * 1e6
    labels = list(means)
    print(f"  measured: Ed25519 signature {sign_us:.0f} us; signing every record adds "
          f"{(means[labels[1]] - means[labels[0]]) * 1000:.0f} us per append (signature + checkpoint row), "
          f"the head file {(means[labels[2]] - means[labels[1]]) * 1000:.0f} us more (temp file, fsync, rename; "
          "no directory fsync)")


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
    records, checkpoints = generate(key, n, every=10)
    witnessed = [Witnessed(cp, cp.wall_us + 40_000, i) for i, cp in enumerate(checkpoints[::10])]
    t1 = time.perf_counter()
    print(f"verify {n:,} records, {len(checkpoints):,} checkpoints (one per 10 records), witness journal "
          f"holding {len(witnessed):,} of them (generated in {t1 - t0:.1f} s):")
    public = public_key_bytes(key)
    timings = {}
    for mode in ("needed", "all"):
        t0 = time.perf_counter()
        verdict = verify(records, checkpoints, public, witnessed=witnessed, signatures=mode)
        timings[mode] = time.perf_counter() - t0
        assert verdict.ok and verdict.records == n and verdict.witness.matched == len(witnessed)
        print(f"  signatures={mode:6s}: {timings[mode]:.1f} s ({timings[mode] / n * 1e6:.2f} us/record), "
              f"{verdict.signatures_checked:,} signatures checked")
    per_sig = (timings["all"] - timings["needed"]) / (len(checkpoints) - 1)
    inferred = timings["needed"] + per_sig * n
    print(f"  inferred, one signed checkpoint per record (the unit at one record per transaction): "
          f"signatures=all {inferred:.0f} s ({per_sig * 1e6:.0f} us per signature check), "
          f"signatures=needed {timings['needed']:.1f} s as measured")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=300)
    parser.add_argument("--records", type=int, default=1_000_000)
    args = parser.parse_args()
    key = Ed25519PrivateKey.generate()
    bench_append(key, args.appends)
    bench_verify(key, args.records)


if __name__ == "__main__":
    main()
