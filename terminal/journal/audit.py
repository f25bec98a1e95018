"""What an auditor runs: a journal file, the key it must be signed by, and the peer's journal as
witness -> a verdict, in words and as JSON. Shared by `hotline journal verify`,
`hotline-host journal verify`, the HTML report, the simulation and the unit's self-test.

The expected key comes from what the technicians compared by phone: the unit's
identity bundle (its spoken fingerprint covers both of its public keys), an
identity JSON, or a bare signing key. Verdicts name keys by that spoken
fingerprint; a journal file also names its own keys in its meta, which is
informational (whoever edits the file can change it) and used only to say
whose signature a WRONG KEY journal carries.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from terminal.errors import HotlineError
from terminal.journal.errors import JournalFormatError
from terminal.journal.load import JournalData, load
from terminal.journal.pubkey import parse_public_key
from terminal.journal.verify import Verdict, verify, witnessed_from, witnessed_signers
from terminal.keys import fingerprint


@dataclass(frozen=True)
class ExpectedKey:
    """The key a journal must be signed by, and where the auditor got it."""

    signing_public: bytes
    static_public: bytes | None = None
    source: str = ""
    unit_id: str | None = None


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
    return ExpectedKey(bundle.signing_public, bundle.static_public, str(path), bundle.unit_id)


def key_from_text(value: str) -> ExpectedKey:
    """A bare signing key (base64, hex) or a file holding one or an identity JSON."""
    return ExpectedKey(parse_public_key(value), None, value if Path(value).is_file() else "public key")


def spoken(signing_public: bytes, static_public: bytes | None) -> str:
    """The fingerprint the technicians read aloud, or, without the static key, the signing key's start."""
    if static_public is None:
        return f"signing key {signing_public.hex()[:16]}... (no static key to make the spoken fingerprint)"
    return fingerprint(static_public, signing_public)


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
    verdict = verify(data.records, data.checkpoints, expected.signing_public, witnessed=witnessed,
                     claimed_key=data.public_key, signatures=signatures)
    static = expected.static_public
    if static is None and data.public_key == expected.signing_public:
        static = data.static_public       # the file's own note of its static key, for the spoken form
    signer_fp = None
    if verdict.signer is not None:
        signer_fp = spoken(verdict.signer, data.static_public if data.public_key == verdict.signer else None)
    return Audit(verdict, data.source, expected, spoken(expected.signing_public, static), signer_fp,
                 None if witness is None else witness.source)


def audit_file(path: Path | str, expected: ExpectedKey, *, witness: Path | str | None = None,
               signatures: str = "all") -> Audit:
    return audit(load(path), expected, witness=None if witness is None else load(witness), signatures=signatures)


def _keys(expected: ExpectedKey) -> tuple[bytes, bytes | None]:
    return expected.signing_public, expected.static_public


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
                 f"{v.unsigned_tail} unsigned")
    if v.witness is not None:
        w = v.witness
        seen = (f"{w.matched} of its checkpoints witnessed by the peer, the last at record {w.last_seq}"
                if w.matched else "none of its checkpoints is in the witness journal")
        lines.append(f"  witness {a.witness_path}: {seen}"
                     + (f"; {w.foreign} witnessed entries not signed by this unit" if w.foreign else ""))
    for gap in v.gaps:
        lines.append(f"  {gap}")
    if v.status != "WRONG KEY":
        lines += [f"  {p}" for p in v.problems]
        if v.problem_count > len(v.problems):
            lines.append(f"  ... and {v.problem_count - len(v.problems)} more")
    return "\n".join(lines)
