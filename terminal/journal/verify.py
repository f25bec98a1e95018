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
  the tail was cut off;
- each checkpoint the peer witnessed (its `peer_checkpoint` records, given as
  `witnessed`) must match this journal too: the peer holds its copy in another
  country, so cutting or rewriting behind it is caught even by someone who holds
  this unit's signing key.

A valid checkpoint at record N covers records 1..N through the hash chain. The
verdict's `status` says what an auditor may conclude:

    intact        every record is covered by a valid signature of the expected key
    UNSIGNED      N records after the last valid checkpoint: they may have been cut or rewritten
    NO SIGNATURE  not one valid checkpoint (an empty journal proves nothing either)
    WRONG KEY     validly signed, but by another key (`signer`): a mixed-up bundle, not forgery
    TAMPERED      the chain, a checkpoint or a witnessed checkpoint disagrees with the records

`gap` records (the unit could not write its journal for a while, e.g. a full
disk, and says what it lost) do not change the status, since the unit signed
them; they are listed in `gaps` so a hole is never silent.

`signatures="all"` (the default) checks every checkpoint's signature;
`"needed"` checks only the highest checkpoint that matches the chain and any
that disagree with it, which proves the same coverage and is what the unit's
own power-on check uses (one signature instead of one per record).
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

INTACT = "intact"
UNSIGNED = "UNSIGNED"
NO_SIGNATURE = "NO SIGNATURE"
WRONG_KEY = "WRONG KEY"
TAMPERED = "TAMPERED"


@dataclass(frozen=True)
class Problem:
    """Something wrong, at a sequence number (None when it is not about one record)."""

    seq: int | None
    what: str

    def __str__(self) -> str:
        return f"record {self.seq}: {self.what}" if self.seq is not None else self.what


@dataclass(frozen=True)
class Witnessed:
    """One of this unit's checkpoints as its peer journalled it (a `peer_checkpoint` record there)."""

    checkpoint: Checkpoint
    witnessed_us: int          # the peer's wall time when it journalled it
    peer_seq: int              # the peer's record that holds it


@dataclass(frozen=True)
class Gap:
    """A `gap` record: appends the unit could not write, and what they were."""

    seq: int
    lost: int
    kinds: str
    from_us: int
    to_us: int
    reason: str

    def __str__(self) -> str:
        return (f"record {self.seq}: GAP of {self.lost} record(s) the unit could not write "
                f"({self.kinds or 'kinds unknown'}; {self.reason})")


@dataclass
class WitnessCheck:
    given: int = 0             # witnessed checkpoints offered
    matched: int = 0           # found in this journal with the hash the peer holds
    last_seq: int | None = None
    foreign: int = 0           # signature not this unit's: not evidence about this journal

    def as_dict(self) -> dict:
        return {"given": self.given, "matched": self.matched, "last_seq": self.last_seq, "foreign": self.foreign}


@dataclass
class Verdict:
    records: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    checkpoints: int = 0              # checkpoints that matched the chain (the highest one validly signed)
    last_checkpoint_seq: int | None = None
    unsigned_tail: int = 0            # records after the last validly signed checkpoint
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0            # all problems, even past MAX_PROBLEMS
    expected_key: bytes = b""
    signer: bytes | None = None       # another key that signs this journal (WRONG KEY)
    gaps: list[Gap] = field(default_factory=list)
    witness: WitnessCheck | None = None
    signatures_checked: int = 0

    @property
    def status(self) -> str:
        if self.signer is not None:
            return WRONG_KEY
        if self.problem_count:
            return TAMPERED
        if not self.last_checkpoint_seq:
            return NO_SIGNATURE
        if self.unsigned_tail:
            return UNSIGNED
        return INTACT

    @property
    def ok(self) -> bool:
        return self.status == INTACT

    @property
    def reason(self) -> str:
        """One line saying why the status is what it is."""
        status = self.status
        if status == WRONG_KEY:
            return "validly signed, but by a different key than the one expected"
        if status == TAMPERED:
            return f"{self.problem_count} problem(s); first: {self.problems[0]}"
        if status == NO_SIGNATURE:
            return ("no records at all" if not self.records else
                    f"none of its {self.records} records is covered by a valid signature")
        if status == UNSIGNED:
            return (f"{self.unsigned_tail} record(s) after the last valid checkpoint at record "
                    f"{self.last_checkpoint_seq} are not signed: they may have been cut or rewritten")
        return f"every record is covered by a valid signature (last at record {self.last_checkpoint_seq})"

    def add(self, seq: int | None, what: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(seq, what))

    def as_dict(self) -> dict:
        return {
            "status": self.status, "ok": self.ok, "reason": self.reason,
            "records": self.records, "first_seq": self.first_seq, "last_seq": self.last_seq,
            "checkpoints": self.checkpoints, "last_checkpoint_seq": self.last_checkpoint_seq,
            "unsigned": self.unsigned_tail, "unsigned_tail": self.unsigned_tail,
            "expected_key": self.expected_key.hex(), "signer": None if self.signer is None else self.signer.hex(),
            "signatures_checked": self.signatures_checked,
            "gaps": [{"seq": g.seq, "lost": g.lost, "kinds": g.kinds, "from_us": g.from_us, "to_us": g.to_us,
                      "reason": g.reason} for g in self.gaps],
            "witness": None if self.witness is None else self.witness.as_dict(),
            "problem_count": self.problem_count,
            "problems": [{"seq": p.seq, "what": p.what} for p in self.problems],
        }


def public_key(raw: bytes) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise JournalFormatError(f"the unit's public key must be 32 raw Ed25519 bytes, got {len(raw)}") from None


def _valid(key: Ed25519PublicKey, cp: Checkpoint) -> bool:
    try:
        key.verify(bytes.fromhex(cp.signature), cp.message())
    except (InvalidSignature, ValueError):
        return False
    return True


def signature_ok(public_raw: bytes, cp: Checkpoint) -> bool:
    """Does `cp` carry a valid signature by the Ed25519 key `public_raw`?"""
    return _valid(public_key(public_raw), cp)


@dataclass
class _Pending:
    """A checkpoint waiting for the record it names: our own, an earlier copy's, or the peer's."""

    checkpoint: Checkpoint
    witnessed: Witnessed | None = None


class _Walk:
    """One verification: the state the record walk carries."""

    def __init__(self, key: Ed25519PublicKey, verdict: Verdict, all_signatures: bool):
        self.key = key
        self.verdict = verdict
        self.all = all_signatures
        self.matched: list[Checkpoint] = []      # own checkpoints that match the chain, in seq order
        self.last_good = 0                        # highest matching checkpoint seen so far

    def valid(self, cp: Checkpoint) -> bool:
        self.verdict.signatures_checked += 1
        return _valid(self.key, cp)

    def at_record(self, rec: Record, intact: bool, pending: list[_Pending]) -> None:
        for p in pending:
            cp, matches = p.checkpoint, intact and p.checkpoint.hash == rec.hash
            if p.witnessed is not None:
                self.witnessed(p.witnessed, rec.seq, matches)
            elif matches:
                self.matched.append(cp)
                self.last_good = rec.seq
            elif self.valid(cp):
                self.verdict.add(rec.seq, f"does not match the signed checkpoint at record {rec.seq}: records "
                                          f"after record {self.last_good} up to it were rewritten after signing")
            else:
                self.verdict.add(rec.seq, "checkpoint signature does not verify with the unit's key "
                                          "(forged or altered)")

    def witnessed(self, w: Witnessed, seq: int, matches: bool | None) -> None:
        """`matches` None: the journal has no record `seq` at all."""
        check = self.verdict.witness
        if not self.valid(w.checkpoint):
            check.foreign += 1
            return
        if matches:
            check.matched += 1
            check.last_seq = max(check.last_seq or 0, seq)
            return
        when = _utc(w.witnessed_us)
        what = "is missing" if matches is None else "has changed"
        self.verdict.add(seq, f"{what}: the peer witnessed this unit's checkpoint at record {seq} on {when} "
                              f"(peer record {w.peer_seq}), so the journal was cut or rewritten behind it")

    def coverage(self) -> int:
        """The highest matching checkpoint with a valid signature; forged ones are problems."""
        covered, forged = 0, []
        for cp in reversed(self.matched):
            if covered and not self.all:
                break
            if self.valid(cp):
                covered = covered or cp.seq
            else:
                forged.append(cp.seq)
        for seq in reversed(forged):
            self.verdict.add(seq, "checkpoint signature does not verify with the unit's key (forged or altered)")
        self.verdict.checkpoints = len(self.matched) - len(forged)
        return covered


def _utc(us: int) -> str:
    import datetime as _dt
    return _dt.datetime.fromtimestamp(us / 1e6, _dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def verify(records: Iterable[Record], checkpoints: Iterable[Checkpoint], public_key_raw: bytes, *,
           witnessed: Iterable[Witnessed] | None = None, claimed_key: bytes | None = None,
           signatures: str = "all") -> Verdict:
    """Check the chain, the checkpoints and what the peer witnessed; every problem names where it is.

    `claimed_key`: the key the journal file names (its meta). Only used to tell a mixed-up
    bundle (WRONG KEY) from forgery: when no checkpoint verifies with the expected key but
    they do with the claimed one.
    """
    if signatures not in ("all", "needed"):
        raise ValueError("signatures must be 'all' or 'needed'")
    records = records if isinstance(records, list) else list(records)
    checkpoints = checkpoints if isinstance(checkpoints, list) else list(checkpoints)
    witnessed = None if witnessed is None else list(witnessed)
    verdict = _verify(records, checkpoints, public_key_raw, witnessed, signatures == "all")
    if (verdict.status in (TAMPERED, NO_SIGNATURE) and claimed_key and claimed_key != public_key_raw
            and checkpoints and not verdict.last_checkpoint_seq):
        other = _verify(records, checkpoints, claimed_key, None, signatures == "all")
        if other.last_checkpoint_seq:
            other.signer, other.expected_key = claimed_key, public_key_raw
            return other
    return verdict


def _verify(records: list[Record], checkpoints: list[Checkpoint], key_raw: bytes,
            witnessed: list[Witnessed] | None, all_signatures: bool) -> Verdict:
    verdict = Verdict(expected_key=key_raw)
    walk = _Walk(public_key(key_raw), verdict, all_signatures)
    pending: dict[int, list[_Pending]] = {}
    for cp in checkpoints:
        pending.setdefault(cp.seq, []).append(_Pending(cp))
    if witnessed is not None:
        verdict.witness = WitnessCheck(given=len(witnessed))
        for w in witnessed:
            pending.setdefault(w.checkpoint.seq, []).append(_Pending(w.checkpoint, w))
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
        if rec.kind == "gap":
            verdict.gaps.append(_gap(rec))
        waiting = pending.pop(rec.seq, None)
        if waiting:
            walk.at_record(rec, intact, waiting)
        prev_seq, prev_hash = max(prev_seq, rec.seq), rec.hash
    verdict.last_seq = prev_seq if verdict.records else None
    for seq in sorted(pending):
        for p in pending[seq]:
            if p.witnessed is not None:
                walk.witnessed(p.witnessed, seq, None)
            elif not walk.valid(p.checkpoint):
                verdict.add(seq, "checkpoint signature does not verify with the unit's key (forged or altered)")
            elif seq > prev_seq:
                verdict.add(seq, f"a signed checkpoint covers record {seq} but the records end at {prev_seq}: "
                                 f"records {prev_seq + 1}..{seq} were cut off")
            else:
                verdict.add(seq, "a signed checkpoint names this record but it is missing")
    covered = walk.coverage()
    verdict.last_checkpoint_seq = covered or None
    verdict.unsigned_tail = prev_seq - covered if verdict.records else 0
    return verdict


def _gap(rec: Record) -> Gap:
    f = rec.fields
    return Gap(rec.seq, f.get("lost", 0), f.get("kinds", ""), f.get("from_us", rec.wall_us),
               f.get("to_us", rec.wall_us), f.get("reason", ""))


def witnessed_from(records: Iterable[Record], signer: bytes) -> list[Witnessed]:
    """The checkpoints of the unit with signing key `signer` that a peer's journal witnessed."""
    want = signer.hex()
    out = []
    for r in records:
        if r.kind == "peer_checkpoint" and r.fields.get("signer") == want:
            f = r.fields
            out.append(Witnessed(Checkpoint(f["seq"], f["hash"], f["wall_us"], f["signature"]), r.wall_us, r.seq))
    return out


def witnessed_signers(records: Iterable[Record]) -> set[str]:
    """Every signer (hex) a journal holds peer checkpoints of: who it witnesses."""
    return {r.fields.get("signer") for r in records if r.kind == "peer_checkpoint"}
