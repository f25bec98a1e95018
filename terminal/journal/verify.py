"""The pure verifier: records + checkpoints + the unit's public key -> a verdict.

No SQLite, no files: `host/` runs it on exported data, the unit on its own
database (see load.py). It walks the records once, in the order given:

- sequence numbers must run 1, 2, 3 ... (a gap is a deletion, a step back an
  insertion or reordering);
- each record's hash must be the SHA-256 of its canonical body (else edited);
- each record's prev_hash must be the hash of the record before (else a record
  was edited, removed, inserted or moved);
- each checkpoint's signatures must verify with the unit's keys: Ed25519 and
  ML-DSA-65 over the same bytes (terminal/journal/signatures.py; else forged,
  altered or removed, and the problem says which signature), and the record it
  names must still have the hash it signed (else the chain was rewritten after
  signing); a checkpoint past the last record means the tail was cut off;
- each checkpoint the peer witnessed (its `peer_checkpoint` records, given as
  `witnessed`) must match this journal too: the peer holds its copy in another
  country, so cutting or rewriting behind it is caught even by someone who holds
  this unit's signing key.

A valid checkpoint at record N covers records 1..N through the hash chain. The
verdict's `status` says what an auditor may conclude:

    intact        every record is covered by a checkpoint whose Ed25519 and ML-DSA-65 signatures
                  both verify with the expected keys
    UNSIGNED      N records after the last valid checkpoint: they may have been cut or rewritten
    ED25519 ONLY  every record is covered by a valid Ed25519 signature, but not by ML-DSA-65:
                  a journal from before the unit had its ML-DSA-65 key, or checked without
                  that key (a bare --public-key). Proof only while Ed25519 stands; not intact.
    NO SIGNATURE  not one valid checkpoint (an empty journal proves nothing either)
    WRONG KEY     validly signed, but by another key (`signer`): a mixed-up bundle, not forgery
    TAMPERED      the chain, a checkpoint or a witnessed checkpoint disagrees with the records

Journals written before the unit had ML-DSA-65 (format 1) hold Ed25519-only checkpoints.
Those before the first hybrid checkpoint are accepted as what they are: the first hybrid
checkpoint covers every record before it through the hash chain. An Ed25519-only checkpoint
*after* a hybrid one is a problem (a hybrid unit never writes one: its ML-DSA-65 signature
was stripped, or the firmware was downgraded), and so is a hybrid checkpoint whose ML-DSA-65
signature is missing, since its Ed25519 signature covers a message that names both.

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

from terminal.journal.canonical import GENESIS_HASH
from terminal.journal.record import Checkpoint, Record
from terminal.journal.signatures import HYBRID, PublicKeys, Verifier

MAX_PROBLEMS = 1000

INTACT = "intact"
UNSIGNED = "UNSIGNED"
ED25519_ONLY = "ED25519 ONLY"
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
    expected_mldsa: bytes | None = None     # the ML-DSA-65 key checked against (None: a bare Ed25519 key)
    signer_mldsa: bytes | None = None       # with `signer`: the ML-DSA-65 key the journal is signed by
    hybrid_seq: int | None = None           # the highest checkpoint with both signatures valid
    ed25519_only_checkpoints: int = 0       # Ed25519-only checkpoints, before the first hybrid one
    first_hybrid_seq: int | None = None

    @property
    def mldsa_checked(self) -> bool:
        return self.expected_mldsa is not None

    @property
    def status(self) -> str:
        if self.signer is not None:
            return WRONG_KEY
        if self.problem_count:
            return TAMPERED
        if not self.last_checkpoint_seq:
            return NO_SIGNATURE
        if not self.hybrid_seq:
            return ED25519_ONLY
        if self.unsigned_tail:
            return UNSIGNED
        return INTACT

    @property
    def ok(self) -> bool:
        return self.status == INTACT

    @property
    def signatures(self) -> str:
        """Which signatures cover the journal, in words."""
        if self.hybrid_seq:
            return "Ed25519 + ML-DSA-65"
        return "Ed25519 only" if self.last_checkpoint_seq else "none"

    @property
    def reason(self) -> str:
        """One line saying why the status is what it is."""
        status = self.status
        if status == WRONG_KEY:
            which = ("ML-DSA-65 key" if self.signer == self.expected_key else "key")
            return f"validly signed, but by a different {which} than the one expected"
        if status == TAMPERED:
            return f"{self.problem_count} problem(s); first: {self.problems[0]}"
        if status == NO_SIGNATURE:
            return ("no records at all" if not self.records else
                    f"none of its {self.records} records is covered by a valid signature")
        if status == ED25519_ONLY:
            tail = (f"; and {self.unsigned_tail} record(s) after the last one at record "
                    f"{self.last_checkpoint_seq} are not signed" if self.unsigned_tail else "")
            if not self.mldsa_checked:
                return ("only the Ed25519 signatures were checked (no ML-DSA-65 key was given: verify against "
                        f"the unit's identity bundle to check both){tail}")
            return ("its records are covered by valid Ed25519 signatures but by no ML-DSA-65 signature: a journal "
                    "from before the unit had its ML-DSA-65 key (or one whose ML-DSA-65 signatures were all "
                    f"removed); it is proof only while Ed25519 is unbroken{tail}")
        if status == UNSIGNED:
            return (f"{self.unsigned_tail} record(s) after the last valid checkpoint at record "
                    f"{self.last_checkpoint_seq} are not signed: they may have been cut or rewritten")
        return ("every record is covered by valid Ed25519 and ML-DSA-65 signatures "
                f"(last at record {self.last_checkpoint_seq})")

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
            "expected_mldsa_key": None if self.expected_mldsa is None else self.expected_mldsa.hex(),
            "signer_mldsa_key": None if self.signer_mldsa is None else self.signer_mldsa.hex(),
            "signatures": self.signatures, "mldsa_checked": self.mldsa_checked,
            "hybrid_seq": self.hybrid_seq, "first_hybrid_seq": self.first_hybrid_seq,
            "ed25519_only_checkpoints": self.ed25519_only_checkpoints,
            "signatures_checked": self.signatures_checked,
            "gaps": [{"seq": g.seq, "lost": g.lost, "kinds": g.kinds, "from_us": g.from_us, "to_us": g.to_us,
                      "reason": g.reason} for g in self.gaps],
            "witness": None if self.witness is None else self.witness.as_dict(),
            "problem_count": self.problem_count,
            "problems": [{"seq": p.seq, "what": p.what} for p in self.problems],
        }


def signature_ok(public: PublicKeys | bytes, cp: Checkpoint) -> bool:
    """Does `cp` carry valid signatures by `public` (both, when it names an ML-DSA-65 key;
    an Ed25519-only checkpoint passes only without one)?"""
    verifier = PublicKeys.of(public).loaded()
    result = verifier.check(cp)
    return result.ok and (result.kind == HYBRID or not verifier.hybrid)


@dataclass
class _Pending:
    """A checkpoint waiting for the record it names: our own, an earlier copy's, or the peer's."""

    checkpoint: Checkpoint
    witnessed: Witnessed | None = None


class _Walk:
    """One verification: the state the record walk carries."""

    def __init__(self, verifier: Verifier, verdict: Verdict, all_signatures: bool):
        self.verifier = verifier
        self.verdict = verdict
        self.all = all_signatures
        self.matched: list[Checkpoint] = []      # own checkpoints that match the chain, in seq order
        self.last_good = 0                        # highest matching checkpoint seen so far

    def check(self, cp: Checkpoint):
        result = self.verifier.check(cp)
        self.verdict.signatures_checked += result.verified
        return result

    def at_record(self, rec: Record, intact: bool, pending: list[_Pending]) -> None:
        for p in pending:
            cp, matches = p.checkpoint, intact and p.checkpoint.hash == rec.hash
            if p.witnessed is not None:
                self.witnessed(p.witnessed, rec.seq, matches)
            elif matches:
                self.matched.append(cp)
                self.last_good = rec.seq
            else:
                result = self.check(cp)
                if result.ok:
                    self.verdict.add(rec.seq, f"does not match the signed checkpoint at record {rec.seq}: records "
                                              f"after record {self.last_good} up to it were rewritten after signing")
                else:
                    self.verdict.add(rec.seq, f"checkpoint: {result.problem}")

    def witnessed(self, w: Witnessed, seq: int, matches: bool | None) -> None:
        """`matches` None: the journal has no record `seq` at all."""
        check = self.verdict.witness
        if not self.check(w.checkpoint).ok:
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

    def coverage(self) -> tuple[int, int]:
        """The highest matching checkpoint with valid signatures, and the highest of those that is
        hybrid (both verified); forged, altered and stripped ones are problems."""
        verdict = self.verdict
        first_hybrid = next((cp.seq for cp in self.matched if cp.hybrid), None)
        verdict.first_hybrid_seq = first_hybrid
        bad: list[tuple[int, str]] = []
        stripped = set()        # found by their form, so in either mode; checked only to say how
        for i, cp in enumerate(self.matched):
            if first_hybrid is not None and not cp.hybrid and cp.seq > first_hybrid:
                stripped.add(i)
                result = self.check(cp)
                bad.append((cp.seq, f"checkpoint: {result.problem}" if not result.ok else
                            f"the checkpoint carries an Ed25519 signature only, but the one at record {first_hybrid} "
                            "before it is signed with ML-DSA-65 too: a hybrid unit never writes one (its ML-DSA-65 "
                            "signature was stripped, or the firmware downgraded)"))
        verdict.ed25519_only_checkpoints = sum(1 for i, cp in enumerate(self.matched)
                                               if not cp.hybrid and i not in stripped)
        covered = hybrid = 0
        for i in reversed(range(len(self.matched))):
            cp = self.matched[i]
            if i in stripped:
                continue
            if covered and not self.all:
                break
            result = self.check(cp)
            if not result.ok:
                bad.append((cp.seq, f"checkpoint: {result.problem}"))
                continue
            covered = covered or cp.seq
            if result.kind == HYBRID:
                hybrid = hybrid or cp.seq
        for seq, what in sorted(bad, key=lambda b: b[0]):
            verdict.add(seq, what)
        verdict.checkpoints = len(self.matched) - len(bad)
        return covered, hybrid


def _utc(us: int) -> str:
    import datetime as _dt
    return _dt.datetime.fromtimestamp(us / 1e6, _dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def verify(records: Iterable[Record], checkpoints: Iterable[Checkpoint], public_key: PublicKeys | bytes, *,
           witnessed: Iterable[Witnessed] | None = None, claimed_key: PublicKeys | bytes | None = None,
           signatures: str = "all") -> Verdict:
    """Check the chain, the checkpoints and what the peer witnessed; every problem names where it is.

    `public_key`: the expected keys (PublicKeys: Ed25519 and ML-DSA-65), or raw Ed25519 bytes
    alone, which can at best give ED25519 ONLY. `claimed_key`: the keys the journal file names
    (its meta). Only used to tell a mixed-up bundle (WRONG KEY) from forgery: when no checkpoint
    verifies with the expected keys but they do with the claimed ones.
    """
    if signatures not in ("all", "needed"):
        raise ValueError("signatures must be 'all' or 'needed'")
    expected = PublicKeys.of(public_key)
    claimed = None if claimed_key is None else PublicKeys.of(claimed_key)
    records = records if isinstance(records, list) else list(records)
    checkpoints = checkpoints if isinstance(checkpoints, list) else list(checkpoints)
    witnessed = None if witnessed is None else list(witnessed)
    verdict = _verify(records, checkpoints, expected, witnessed, signatures == "all")
    if (verdict.status in (TAMPERED, NO_SIGNATURE) and claimed is not None and claimed != expected
            and checkpoints and not verdict.last_checkpoint_seq):
        other = _verify(records, checkpoints, claimed, None, signatures == "all")
        if other.last_checkpoint_seq:
            other.signer, other.signer_mldsa = claimed.ed25519, claimed.mldsa
            other.expected_key, other.expected_mldsa = expected.ed25519, expected.mldsa
            return other
    return verdict


def _verify(records: list[Record], checkpoints: list[Checkpoint], keys: PublicKeys,
            witnessed: list[Witnessed] | None, all_signatures: bool) -> Verdict:
    verdict = Verdict(expected_key=keys.ed25519, expected_mldsa=keys.mldsa)
    walk = _Walk(keys.loaded(), verdict, all_signatures)
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
                continue
            result = walk.check(p.checkpoint)
            if not result.ok:
                verdict.add(seq, f"checkpoint: {result.problem}")
            elif seq > prev_seq:
                verdict.add(seq, f"a signed checkpoint covers record {seq} but the records end at {prev_seq}: "
                                 f"records {prev_seq + 1}..{seq} were cut off")
            else:
                verdict.add(seq, "a signed checkpoint names this record but it is missing")
    covered, hybrid = walk.coverage()
    if keys.mldsa is None:
        hybrid = 0               # nothing checked the ML-DSA-65 signatures: at best ED25519 ONLY
    counted = hybrid or covered
    verdict.last_checkpoint_seq = counted or None
    verdict.hybrid_seq = hybrid or None
    verdict.unsigned_tail = prev_seq - counted if verdict.records else 0
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
            cp = Checkpoint(f["seq"], f["hash"], f["wall_us"], f["signature"], f.get("mldsa_signature"))
            out.append(Witnessed(cp, r.wall_us, r.seq))
    return out


def witnessed_signers(records: Iterable[Record]) -> set[str]:
    """Every signer (hex) a journal holds peer checkpoints of: who it witnesses."""
    return {r.fields.get("signer") for r in records if r.kind == "peer_checkpoint"}
