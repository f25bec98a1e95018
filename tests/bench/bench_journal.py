"""Journal benchmarks: what a durable, signed append costs.

    .venv/bin/python tests/bench/bench_journal.py [--appends N]

Four ways in the same run, same disk, same record: a hybrid checkpoint every 100 records (before
issue 10), an Ed25519-only checkpoint in every transaction (before issue 15), an Ed25519 +
ML-DSA-65 checkpoint in every transaction, and that plus the head file beside the keys (what
the unit runs). The differences are the cost of signing each record, of its ML-DSA-65
signature and of the head file. Verifying a 1,000,000-record journal, and each signature's
cost on its own: tests/bench/bench_signatures.py.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from terminal.journal import Journal, canonical
from terminal.journal.signatures import SigningKeys


def append_costs(key: SigningKeys, n: int, every: int, head: bool) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        with Journal(Path(tmp) / "bench.db", key, checkpoint_every=every, checkpoint_seconds=1e9,
                     head_path=Path(tmp) / "journal.head" if head else None) as journal:
            costs = []
            for i in range(n):
                t0 = time.perf_counter()
                journal.append("answered", call_id=f"call-{i}", time_to_answer_ms=i)
                costs.append((time.perf_counter() - t0) * 1000)
    return sorted(costs)


def bench_append(key: SigningKeys, n: int) -> None:
    print(f"durable append, n={n} each (WAL, synchronous=FULL, one transaction per record), this disk:")
    classical = SigningKeys(key.ed25519, None)
    means = {}
    for label, signer, every, head in (("hybrid checkpoint every 100 records", key, 100, False),
                                       ("Ed25519 only, every transaction", classical, 1, False),
                                       ("Ed25519 + ML-DSA-65, every transaction", key, 1, False),
                                       ("Ed25519 + ML-DSA-65, every transaction + head file (the unit)", key, 1, True)):
        costs = append_costs(signer, n, every, head)
        means[label] = statistics.fmean(costs)
        print(f"  {label:62s} mean {means[label]:.3f} ms, p50 {costs[n // 2]:.3f} ms, "
              f"p95 {costs[int(n * 0.95)]:.3f} ms, max {costs[-1]:.3f} ms")
    msg = canonical.checkpoint_message(1, "ab" * 32, 1, hybrid=True)
    t0 = time.perf_counter()
    for _ in range(200):
        key.mldsa.sign(msg)
    mldsa_us = (time.perf_counter() - t0) / 200 * 1e6
    m = list(means.values())
    print(f"  measured: an ML-DSA-65 signature {mldsa_us:.0f} us; signing every record with Ed25519 adds "
          f"{(m[1] - m[0]) * 1000:.0f} us per append, ML-DSA-65 {(m[2] - m[1]) * 1000:.0f} us more, "
          f"the head file {(m[3] - m[2]) * 1000:.0f} us more (temp file, fsync, rename; no directory fsync)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=300)
    args = parser.parse_args()
    bench_append(SigningKeys.generate(), args.appends)


if __name__ == "__main__":
    main()
