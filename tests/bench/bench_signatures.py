"""Hybrid checkpoint signatures: what Ed25519 + ML-DSA-65 costs against Ed25519 alone, to sign
and to verify one checkpoint, and how long `hotline journal verify` takes on a 1,000,000-record
journal with the peer's witness journal.

    .venv/bin/python tests/bench/bench_signatures.py [--repeats N] [--records N] [--every N]

Sign and verify: one checkpoint message, --repeats times each way, same process.

Verify: a real SQLite journal of --records records with a hybrid checkpoint every --every
records, and a witness journal holding every 10th of those checkpoints as the peer journals
them (`peer_checkpoint` records with both signatures). Measured is what the auditor's command
runs (load both files, then terminal.journal.audit.audit: walk the chain, check signatures),
with signatures=needed (the unit's power-on check) and =all (the auditor). Generating the files
takes longer than the benchmark (an ML-DSA-65 signature per checkpoint, about 1 ms each), so
they are made once, with fixed keys, in the temp directory and reused: the first run says how
long that took. The unit signs every transaction, so at one record per transaction a journal
carries one checkpoint per record: that figure is inferred from the measured cost per
checkpoint and printed as inferred.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA65PrivateKey

from terminal.journal import canonical, schema
from terminal.journal.audit import ExpectedKey, audit
from terminal.journal.load import load
from terminal.journal.signatures import PublicKeys, SigningKeys


def fixed_keys() -> SigningKeys:
    """The same keys every run, so the cached journal still verifies."""
    return SigningKeys(Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"bench ed25519").digest()),
                       MLDSA65PrivateKey.from_seed_bytes(hashlib.sha256(b"bench ml-dsa-65").digest()))


def stats(times_us: list[float]) -> str:
    times_us = sorted(times_us)
    n = len(times_us)
    return (f"mean {statistics.fmean(times_us):7.1f} us, p50 {times_us[n // 2]:7.1f} us, "
            f"p95 {times_us[int(n * 0.95)]:7.1f} us")


def timed(fn, repeats: int) -> list[float]:
    out = []
    for i in range(repeats):
        t0 = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - t0) * 1e6)
    return out


def bench_sign_verify(keys: SigningKeys, repeats: int) -> dict:
    classical = SigningKeys(keys.ed25519, None)
    record_hash = "ab" * 32
    print(f"one checkpoint, {repeats} times each (message {len(canonical.checkpoint_message(1, record_hash, 1))} B; "
          "Ed25519 64 B hex, ML-DSA-65 3309 B base64):")
    sign_ed = timed(lambda i: classical.sign(i, record_hash, i), repeats)
    sign_hybrid = timed(lambda i: keys.sign(i, record_hash, i), repeats)
    cps_ed = [classical.sign(i, record_hash, i) for i in range(repeats)]
    cps_hybrid = [keys.sign(i, record_hash, i) for i in range(repeats)]
    ed_only = PublicKeys(keys.public.ed25519).loaded()
    hybrid = keys.public.loaded()
    verify_ed = timed(lambda i: ed_only.check(cps_ed[i]), repeats)
    verify_hybrid = timed(lambda i: hybrid.check(cps_hybrid[i]), repeats)
    assert all(ed_only.check(cp).ok for cp in cps_ed) and all(hybrid.check(cp).ok for cp in cps_hybrid)
    out = {"sign_ed": statistics.fmean(sign_ed), "sign_hybrid": statistics.fmean(sign_hybrid),
           "verify_ed": statistics.fmean(verify_ed), "verify_hybrid": statistics.fmean(verify_hybrid)}
    print(f"  sign   Ed25519             {stats(sign_ed)}")
    print(f"  sign   Ed25519 + ML-DSA-65 {stats(sign_hybrid)}  ({out['sign_hybrid'] / out['sign_ed']:.0f}x)")
    print(f"  verify Ed25519             {stats(verify_ed)}")
    print(f"  verify Ed25519 + ML-DSA-65 {stats(verify_hybrid)}  ({out['verify_hybrid'] / out['verify_ed']:.1f}x)")
    return out


def _records(n: int, boot: str):
    """(row, body hash) for n well-formed records chained from the genesis hash."""
    prev = canonical.GENESIS_HASH
    for seq in range(1, n + 1):
        body = {"seq": seq, "wall_us": 1_790_000_000_000_000 + seq * 1000, "mono_us": seq * 1000,
                "boot_id": boot, "kind": "answered", "call_id": f"call-{seq}",
                "fields": {"time_to_answer_ms": seq % 30_000}, "prev_hash": prev}
        digest = canonical.record_hash(body)
        yield (seq, body["wall_us"], body["mono_us"], boot, "answered", f"call-{seq}",
               canonical.encode(body["fields"]).decode(), prev, digest)
        prev = digest


def _new_db(path: Path, keys: SigningKeys) -> sqlite3.Connection:
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")          # generation only; the unit's own writes are FULL
    db.executescript(schema.SCHEMA)
    db.execute("BEGIN")
    db.execute("INSERT INTO meta VALUES ('format', ?), ('public_key', ?), ('mldsa_public', ?)",
               (str(schema.FORMAT_VERSION), keys.public.ed25519.hex(), keys.public.mldsa.hex()))
    return db


def generate(folder: Path, keys: SigningKeys, n: int, every: int) -> tuple[Path, Path]:
    """The unit's journal and its peer's witness journal, made once and reused."""
    journal, witness, done = folder / "journal.sqlite", folder / "witness.sqlite", folder / "complete.json"
    if done.exists():
        print(f"  (reusing {folder}, made in {json.loads(done.read_text())['seconds']:.0f} s)")
        return journal, witness
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    db = _new_db(journal, keys)
    witnessed = []
    batch = []
    for row in _records(n, "bench"):
        batch.append(row)
        seq, wall_us, digest = row[0], row[1], row[8]
        if seq % every == 0 or seq == n:
            db.executemany(schema.INSERT_RECORD, batch)
            batch = []
            cp = keys.sign(seq, digest, wall_us)
            db.execute(schema.INSERT_CHECKPOINT, schema.checkpoint_row(cp))
            if (seq // every) % 10 == 0:
                witnessed.append(cp)
    db.execute("COMMIT")
    db.close()
    peer = SigningKeys.generate()
    db = _new_db(witness, peer)
    prev = canonical.GENESIS_HASH
    for seq, cp in enumerate(witnessed, 1):
        fields = {"seq": cp.seq, "hash": cp.hash, "wall_us": cp.wall_us, "signature": cp.signature,
                  "mldsa_signature": cp.mldsa_signature, "signer": keys.public.ed25519.hex()}
        body = {"seq": seq, "wall_us": cp.wall_us + 40_000, "mono_us": seq, "boot_id": "peer",
                "kind": "peer_checkpoint", "call_id": None, "fields": fields, "prev_hash": prev}
        digest = canonical.record_hash(body)
        db.execute(schema.INSERT_RECORD, (seq, body["wall_us"], seq, "peer", "peer_checkpoint", None,
                                          canonical.encode(fields).decode(), prev, digest))
        prev = digest
    db.execute("COMMIT")
    db.close()
    seconds = time.perf_counter() - t0
    done.write_text(json.dumps({"seconds": seconds, "records": n, "every": every}))
    print(f"  (generated in {folder} in {seconds:.0f} s: {n:,} records, an ML-DSA-65 signature per checkpoint)")
    return journal, witness


def bench_verify(keys: SigningKeys, n: int, every: int) -> None:
    folder = Path(tempfile.gettempdir()) / f"hotline-bench-signatures-{n}-{every}-v1"
    checkpoints = -(-n // every)
    print(f"`hotline journal verify` on {n:,} records, {checkpoints:,} hybrid checkpoints (one per {every} records), "
          f"with a witness journal holding {len(range(10 * every, n + 1, 10 * every)):,} of them:")
    journal, witness = generate(folder, keys, n, every)
    size = (journal.stat().st_size + witness.stat().st_size) / 1e6
    expected = ExpectedKey(keys.public.ed25519, mldsa_public=keys.public.mldsa, source="bench")
    t0 = time.perf_counter()
    data, peer = load(journal), load(witness)
    loading = time.perf_counter() - t0
    print(f"  loading the two files ({size:.0f} MB, as the command does first): {loading:.1f} s")
    timings = {}
    for mode in ("needed", "all"):
        t0 = time.perf_counter()
        result = audit(data, expected, witness=peer, signatures=mode)
        timings[mode] = time.perf_counter() - t0
        v = result.verdict
        assert v.ok and v.records == n and v.witness.matched == v.witness.given, result.describe()
        print(f"  signatures={mode:6s}: verify {timings[mode]:5.1f} s, with loading {loading + timings[mode]:5.1f} s "
              f"({(loading + timings[mode]) / n * 1e6:.1f} us/record), {v.signatures_checked:,} signatures checked, "
              f"status {v.status}")
    per_checkpoint = (timings["all"] - timings["needed"]) / (checkpoints - 1)
    print(f"  inferred, one checkpoint per record (the unit at one record per transaction): signatures=all "
          f"{loading + timings['needed'] + per_checkpoint * (n - 1):.0f} s with loading ({per_checkpoint * 1e6:.0f} us "
          f"per hybrid checkpoint), signatures=needed {loading + timings['needed']:.1f} s plus loading the larger "
          f"file: {n * 3309 / 1e9:.1f} GB of ML-DSA-65 signatures")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=500)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--every", type=int, default=10)
    args = parser.parse_args()
    keys = fixed_keys()
    bench_sign_verify(keys, args.repeats)
    bench_verify(keys, args.records, args.every)


if __name__ == "__main__":
    main()
