"""What an auditor runs: a journal file, the key it must be signed by, and the peer's journal as
witness -> a verdict, in words and as JSON. Shared by `hotline journal verify`,
`hotline-host journal verify`, the HTML report, the simulation and the unit's self-test.

The expected keys come from what the technicians compared by phone: the unit's
identity bundle (its spoken fingerprint covers all four of its public keys), an
identity JSON, or a bare Ed25519 signing key, which can only ever give ED25519
ONLY, since it says nothing about the unit's ML-DSA-65 key. Verdicts name keys by
that spoken fingerprint; a journal file also names its own keys in its meta,
which is informational (whoever edits the file can change it) and used only to
say whose signature a WRONG KEY journal carries.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from terminal.errors import HotlineError
from terminal.journal.errors import JournalFormatError
from terminal.journal.load import JournalData, load
from terminal.journal.pubkey import parse_identity
from terminal.journal.signatures import PublicKeys
from terminal.journal.verify import Verdict, verify, witnessed_from, witnessed_signers
from terminal.keys import fingerprint


@dataclass(frozen=True)
class ExpectedKey:
    """The keys a journal must be signed by, and where the auditor got them."""

    signing_public: bytes
    static_public: bytes | None = None
    source: str = ""
    unit_id: str | None = None
    mldsa_public: bytes | None = None      # None: a bare Ed25519 key; the verdict can then be ED25519 ONLY at best
    mlkem_public: bytes | None = None      # only for the spoken fingerprint

    @classmethod
    def of_identity(cls, identity, source: str = "", unit_id: str | None = None) -> ExpectedKey:
        """From a terminal.keys.Identity (a unit's own keys, or a bundle's)."""
        return cls(identity.signing_public, identity.static_public, source, unit_id, identity.mldsa_public,
                   identity.mlkem_public)

    @property
    def public_keys(self) -> PublicKeys:
        return PublicKeys(self.signing_public, self.mldsa_public)


def key_from_bundle(path: Path | str) -> ExpectedKey:
    """A unit's identity bundle (as `hotline-host export` writes it); one clear error if it is not one."""
    from terminal.provisioning.bundle import verify_bundle   # the bundle format lives with provisioning
    path = Path(path)
    try:
        doc = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise JournalFormatError(f"{path}: no such identity bundle") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise JournalFormatError(f"{path}: not an identity bundle (not JSON: {exc})") from None
    try:
        bundle = verify_bundle(doc)
    except HotlineError as exc:
        raise JournalFormatError(f"{path}: not a valid identity bundle ({exc})") from None
    return ExpectedKey(bundle.signing_public, bundle.static_public, str(path), bundle.unit_id,
                       bundle.mldsa_public, bundle.mlkem_public)


def key_from_text(value: str) -> ExpectedKey:
    """A bare signing key (base64, hex) or a file holding one or an identity JSON (whose ML-DSA-65
    and other keys are taken too, as `hotline identity` exports them)."""
    keys = parse_identity(value)
    return ExpectedKey(keys["signing_public"], keys.get("static_public"),
                       value if Path(value).is_file() else "public key", None,
                       keys.get("mldsa_public"), keys.get("mlkem_public"))


def spoken(signing_public: bytes, static_public: bytes | None, mlkem_public: bytes | None = None,
           mldsa_public: bytes | None = None) -> str:
    """The fingerprint the technicians read aloud (it covers all four public keys), or, without
    them all, the signing key's start."""
    if static_public is None or mlkem_public is None or mldsa_public is None:
        return (f"signing key {signing_public.hex()[:16]}... (not all four public keys are known, so no "
                "spoken fingerprint)")
    return fingerprint(static_public, signing_public, mlkem_public, mldsa_public)


@dataclass
class Audit:
    """A verdict with the names an auditor needs to read it."""

    verdict: Verdict
    path: str
    expected: ExpectedKey
    expected_fingerprint: str
    signer_fingerprint: str | None
    witness_path: str | None = None

    @property
    def exit_code(self) -> int:
        return 0 if self.verdict.ok else 1

    def as_dict(self) -> dict:
        return {"file": self.path, **self.verdict.as_dict(), "expected_fingerprint": self.expected_fingerprint,
                "signer_fingerprint": self.signer_fingerprint, "witness_file": self.witness_path}

    def describe(self) -> str:
        return describe(self)


def audit(data: JournalData, expected: ExpectedKey, *, witness: JournalData | None = None,
          signatures: str = "all") -> Audit:
    """Verify `data` against `expected`, and against what `witness` (the peer's journal) holds of it."""
    witnessed = None
    if witness is not None:
        witnessed = witnessed_from(witness.records, expected.signing_public)
        others = witnessed_signers(witness.records) - {expected.signing_public.hex()}
        if not witnessed and others:
            raise JournalFormatError(
                f"{witness.source}: a witness journal from a different pair: it holds checkpoints of "
                f"{len(others)} other key(s), none of the unit expected ({spoken(*_keys(expected))})")
    verdict = verify(data.records, data.checkpoints, expected.public_keys, witnessed=witnessed,
                     claimed_key=data.claimed_keys, signatures=signatures)
    static, mlkem, mldsa = expected.static_public, expected.mlkem_public, expected.mldsa_public
    if data.public_key == expected.signing_public and mldsa in (None, data.mldsa_public):
        # the file's own note of its other keys, for the spoken form only (never to verify with)
        static, mlkem, mldsa = static or data.static_public, mlkem or data.mlkem_public, mldsa or data.mldsa_public
    signer_fp = None
    if verdict.signer is not None:
        own = data.public_key == verdict.signer
        signer_fp = spoken(verdict.signer, data.static_public if own else None, data.mlkem_public if own else None,
                           verdict.signer_mldsa)
    return Audit(verdict, data.source, expected, spoken(expected.signing_public, static, mlkem, mldsa), signer_fp,
                 None if witness is None else witness.source)


def audit_file(path: Path | str, expected: ExpectedKey, *, witness: Path | str | None = None,
               signatures: str = "all") -> Audit:
    return audit(load(path), expected, witness=None if witness is None else load(witness), signatures=signatures)


def _keys(expected: ExpectedKey) -> tuple:
    return expected.signing_public, expected.static_public, expected.mlkem_public, expected.mldsa_public


def describe(a: Audit) -> str:
    """The verdict in words: the status and why first, then the numbers, then each problem."""
    v = a.verdict
    span = f"records {v.first_seq}..{v.last_seq}" if v.records else "no records"
    lines = [f"{v.status}: {a.path}: {v.reason}"]
    if v.signer is not None:
        lines.append(f"  signed by fingerprint {a.signer_fingerprint}")
        lines.append(f"  expected fingerprint  {a.expected_fingerprint} (from {a.expected.source})")
        lines.append("  a different unit's journal, or the wrong bundle: check which unit this file came from")
    else:
        lines.append(f"  unit fingerprint {a.expected_fingerprint}")
    lines.append(f"  {v.records} records ({span}), {v.checkpoints} signed checkpoints, "
                 f"{v.unsigned_tail} unsigned; signatures: {v.signatures}"
                 + ("" if v.mldsa_checked else " (ML-DSA-65 not checked: no ML-DSA-65 key given)"))
    if v.ed25519_only_checkpoints and v.hybrid_seq:
        lines.append(f"  {v.ed25519_only_checkpoints} checkpoint(s) before record {v.first_hybrid_seq} carry "
                     "Ed25519 only (written before the unit had its ML-DSA-65 key); the hybrid checkpoint at "
                     f"record {v.hybrid_seq} covers them through the hash chain")
    if v.witness is not None:
        w = v.witness
        seen = (f"{w.matched} of its checkpoints witnessed by the peer, the last at record {w.last_seq}"
                if w.matched else "none of its checkpoints is in the witness journal")
        lines.append(f"  witness {a.witness_path}: {seen}"
                     + (f"; {w.foreign} witnessed entries whose signatures are not this unit's" if w.foreign else ""))
    for gap in v.gaps:
        lines.append(f"  {gap}")
    if v.status != "WRONG KEY":
        lines += [f"  {p}" for p in v.problems]
        if v.problem_count > len(v.problems):
            lines.append(f"  ... and {v.problem_count - len(v.problems)} more")
    return "\n".join(lines)
