"""The pure verifier: records + checkpoints + the unit's public key -> a verdict.

No SQLite, no files: `host/` runs it on exported data, the unit on its own
database (see load.py). It walks the records once, in the order given:

- sequence numbers must run 1, 2, 3 ... (a gap is a deletion, a step back an
  insertion or reordering);
- each record's hash must be the SHA-256 of its canonical body (else edited);
- each record's prev_hash must be the hash of the record before (else a record
  was edited, removed, inserted or moved);
- each checkpoint's Ed25519 signature must verify with the unit's key (else
  forged), and the record it names must still have the hash it signed (else the
  chain was rewritten after signing); a checkpoint past the last record means
  the tail was cut off.

Records after the last valid checkpoint are linked but unsigned: anyone can
rewrite or cut them. The verdict counts them (`unsigned_tail`) so an auditor
knows; the journal signs at least every N records or M seconds and at close().
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from terminal.journal.canonical import GENESIS_HASH
from terminal.journal.errors import JournalFormatError
from terminal.journal.record import Checkpoint, Record

MAX_PROBLEMS = 1000


@dataclass(frozen=True)
class Problem:
    """Something wrong, at a sequence number (None when it is not about one record)."""

    seq: int | None
    what: str

    def __str__(self) -> str:
        return f"record {self.seq}: {self.what}" if self.seq is not None else self.what


@dataclass
class Verdict:
    records: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    checkpoints: int = 0              # valid checkpoints that matched their record
    last_checkpoint_seq: int | None = None
    unsigned_tail: int = 0            # records after the last matched checkpoint
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0            # all problems, even past MAX_PROBLEMS

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def add(self, seq: int | None, what: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(seq, what))

    def as_dict(self) -> dict:
        return {
            "ok": self.ok, "records": self.records, "first_seq": self.first_seq, "last_seq": self.last_seq,
            "checkpoints": self.checkpoints, "last_checkpoint_seq": self.last_checkpoint_seq,
            "unsigned_tail": self.unsigned_tail, "problem_count": self.problem_count,
            "problems": [{"seq": p.seq, "what": p.what} for p in self.problems],
        }


def _public_key(raw: bytes) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise JournalFormatError(f"the unit's public key must be 32 raw Ed25519 bytes, got {len(raw)}") from None


def _signed(checkpoints: Iterable[Checkpoint], key: Ed25519PublicKey, verdict: Verdict) -> dict[int, set[str]]:
    """Checkpoints whose signature verifies, as seq -> signed hashes; the others are problems."""
    signed: dict[int, set[str]] = {}
    for cp in checkpoints:
        try:
            key.verify(bytes.fromhex(cp.signature), cp.message())
        except (InvalidSignature, ValueError):
            verdict.add(cp.seq, "checkpoint signature does not verify with the unit's key (forged or altered)")
            continue
        signed.setdefault(cp.seq, set()).add(cp.hash)
    return signed


def verify(records: Iterable[Record], checkpoints: Iterable[Checkpoint], public_key: bytes) -> Verdict:
    """Check the chain and the checkpoints; every problem names where it is."""
    verdict = Verdict()
    pending = _signed(checkpoints, _public_key(public_key), verdict)
    last_good_checkpoint = 0
    prev_seq, prev_hash = 0, GENESIS_HASH
    for rec in records:
        verdict.records += 1
        if verdict.first_seq is None:
            verdict.first_seq = rec.seq
        expected = prev_seq + 1
        if rec.seq > expected:
            gap = f"record {expected} is" if rec.seq == expected + 1 else f"records {expected}..{rec.seq - 1} are"
            verdict.add(rec.seq, f"{gap} missing before it (deleted)")
        elif rec.seq < expected:
            verdict.add(rec.seq, f"comes after record {prev_seq}: out of order or duplicated (inserted or reordered)")
        try:
            intact = rec.computed_hash() == rec.hash
        except (TypeError, ValueError):
            intact = False
        if not intact:
            verdict.add(rec.seq, "contents do not match the record's hash (edited)")
        if rec.prev_hash != prev_hash:
            verdict.add(rec.seq, f"prev_hash does not match the hash of record {prev_seq} before it "
                                 "(a record was edited, removed, inserted or moved)")
        for signed_hash in pending.pop(rec.seq, ()):
            if intact and signed_hash == rec.hash:
                verdict.checkpoints += 1
                verdict.last_checkpoint_seq = rec.seq
            else:
                verdict.add(rec.seq, f"does not match the signed checkpoint at record {rec.seq}: records after "
                                     f"record {last_good_checkpoint} up to it were rewritten after signing")
        if verdict.last_checkpoint_seq == rec.seq:
            last_good_checkpoint = rec.seq
        prev_seq, prev_hash = max(prev_seq, rec.seq), rec.hash
    verdict.last_seq = prev_seq if verdict.records else None
    for seq in sorted(pending):
        if seq > prev_seq:
            verdict.add(seq, f"a signed checkpoint covers record {seq} but the records end at {prev_seq}: "
                             f"records {prev_seq + 1}..{seq} were cut off")
        else:
            verdict.add(seq, "a signed checkpoint names this record but it is missing")
    verdict.unsigned_tail = prev_seq - (verdict.last_checkpoint_seq or 0)
    return verdict
