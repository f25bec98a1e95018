"""Checkpoint signatures: Ed25519 and ML-DSA-65 over the same bytes, and the check of both.

A hybrid checkpoint carries two signatures over `canonical.checkpoint_message(..., hybrid=True)`,
whose domain line names both algorithms:

    signature          Ed25519, 64 bytes, hex (128 characters), as before
    mldsa_signature    ML-DSA-65 (FIPS 204, pure, empty context), 3309 bytes, base64
                       (4412 characters; hex would be 6618: it travels to the peer and is
                       journalled there, so the shorter text form)

Because the Ed25519 signature covers a message that says "ed25519+mldsa65", removing the
ML-DSA-65 signature is caught by the Ed25519 key alone: such a checkpoint no longer verifies
as a classical one. A classical checkpoint (format-1 journals, written before the unit had
an ML-DSA-65 key) signs `checkpoint_message(..., hybrid=False)` with Ed25519 only.

`check(keys, cp)` says for one checkpoint which signatures hold and, if any does not,
which one and why, in words the verifier puts in its problems.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from functools import cached_property

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA65PrivateKey, MLDSA65PublicKey

from terminal.journal import canonical
from terminal.journal.errors import JournalFormatError
from terminal.journal.record import Checkpoint

ED25519_PUBLIC_LEN = 32
ED25519_SIGNATURE_LEN = 64
MLDSA65_PUBLIC_LEN = 1952
MLDSA65_SIGNATURE_LEN = 3309

HYBRID = "hybrid"            # Ed25519 and ML-DSA-65, both verified
CLASSICAL = "ed25519-only"   # a checkpoint signed with Ed25519 alone (before the unit had ML-DSA-65)
UNCHECKED = "ml-dsa-unchecked"   # hybrid, Ed25519 verified, but no ML-DSA-65 key was given to check the other


@dataclass(frozen=True)
class PublicKeys:
    """The keys a journal's checkpoints must verify with: Ed25519, and ML-DSA-65 unless the
    auditor has only a bare Ed25519 key (then nothing can be said about ML-DSA-65)."""

    ed25519: bytes
    mldsa: bytes | None = None

    def __post_init__(self):
        if len(self.ed25519) != ED25519_PUBLIC_LEN:
            raise JournalFormatError(f"the unit's Ed25519 public key must be {ED25519_PUBLIC_LEN} bytes, "
                                     f"got {len(self.ed25519)}")
        if self.mldsa is not None and len(self.mldsa) != MLDSA65_PUBLIC_LEN:
            raise JournalFormatError(f"the unit's ML-DSA-65 public key must be {MLDSA65_PUBLIC_LEN} bytes, "
                                     f"got {len(self.mldsa)}")

    @classmethod
    def of(cls, keys: PublicKeys | bytes) -> PublicKeys:
        """PublicKeys as given, or from raw Ed25519 bytes alone."""
        return keys if isinstance(keys, PublicKeys) else cls(bytes(keys))

    def loaded(self) -> Verifier:
        return Verifier(self)


class Verifier:
    """PublicKeys parsed once, for checking many checkpoints."""

    def __init__(self, keys: PublicKeys):
        self.keys = keys
        try:
            self._ed = Ed25519PublicKey.from_public_bytes(keys.ed25519)
            self._mldsa = None if keys.mldsa is None else MLDSA65PublicKey.from_public_bytes(keys.mldsa)
        except ValueError as exc:
            raise JournalFormatError(f"the unit's public key is not usable: {exc}") from None

    @property
    def hybrid(self) -> bool:
        return self._mldsa is not None

    def _ed_ok(self, signature: bytes, message: bytes) -> bool:
        try:
            self._ed.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def check(self, cp: Checkpoint) -> Check:
        return check(self, cp)


@dataclass(frozen=True)
class Check:
    """One checkpoint's signatures against the expected keys."""

    ok: bool               # every signature the keys can check verifies
    kind: str | None       # HYBRID, CLASSICAL or UNCHECKED when ok
    problem: str | None    # which signature failed and why, when not ok
    verified: int = 0      # signatures verified (for the verdict's count)


def _decode_ed(text) -> tuple[bytes | None, str | None]:
    if not text:
        return None, "missing"
    try:
        raw = bytes.fromhex(text)
    except (TypeError, ValueError):
        return None, "not hex"
    if len(raw) != ED25519_SIGNATURE_LEN:
        return None, f"{len(raw)} bytes; expected {ED25519_SIGNATURE_LEN}"
    return raw, None


def decode_mldsa(text) -> tuple[bytes | None, str | None]:
    """The raw ML-DSA-65 signature from its base64, or why not (None, None when there is none)."""
    if text is None or text == "":
        return None, None
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError):
        return None, "not valid base64"
    if len(raw) != MLDSA65_SIGNATURE_LEN:
        return None, f"{len(raw)} bytes; expected {MLDSA65_SIGNATURE_LEN}"
    return raw, None


def check(verifier: Verifier, cp: Checkpoint) -> Check:
    """Which of `cp`'s signatures verify with `verifier`'s keys, in words when one does not."""
    ed, ed_bad = _decode_ed(cp.signature)
    mldsa_present = cp.mldsa_signature not in (None, "")
    if not mldsa_present:
        if ed is None:
            what = "carries no signature at all" if ed_bad == "missing" else f"its Ed25519 signature is {ed_bad}"
            return Check(False, None, what)
        if verifier._ed_ok(ed, canonical.checkpoint_message(cp.seq, cp.hash, cp.wall_us)):
            return Check(True, CLASSICAL, None, 1)
        if verifier._ed_ok(ed, canonical.checkpoint_message(cp.seq, cp.hash, cp.wall_us, hybrid=True)):
            return Check(False, None, "its ML-DSA-65 signature is missing, but its Ed25519 signature says it "
                                      "was signed with both (removed)", 2)
        return Check(False, None, "its Ed25519 signature does not verify with the unit's key (forged or altered)", 2)
    message = canonical.checkpoint_message(cp.seq, cp.hash, cp.wall_us, hybrid=True)
    failed, verified = [], 0
    if ed is None:
        failed.append("its Ed25519 signature is missing (removed)" if ed_bad == "missing"
                      else f"its Ed25519 signature is {ed_bad}")
    else:
        verified += 1
        if not verifier._ed_ok(ed, message):
            failed.append("its Ed25519 signature does not verify with the unit's key (forged or altered)")
    raw, mldsa_bad = decode_mldsa(cp.mldsa_signature)
    if mldsa_bad is not None:
        failed.append(f"its ML-DSA-65 signature (mldsa_signature) is {mldsa_bad} (altered)")
    elif verifier._mldsa is not None:
        verified += 1
        try:
            verifier._mldsa.verify(raw, message)
        except InvalidSignature:
            failed.append("its ML-DSA-65 signature does not verify with the unit's key (forged or altered)")
    if failed:
        return Check(False, None, "; ".join(failed), verified)
    return Check(True, HYBRID if verifier._mldsa is not None else UNCHECKED, None, verified)


@dataclass(frozen=True)
class SigningKeys:
    """The private keys that sign checkpoints. `mldsa=None` is a classical signer: what
    firmware before ML-DSA-65 wrote, kept so that such journals can be made in tests."""

    ed25519: Ed25519PrivateKey
    mldsa: MLDSA65PrivateKey | None

    def __post_init__(self):
        if not isinstance(self.ed25519, Ed25519PrivateKey):
            raise TypeError(f"SigningKeys.ed25519 must be an Ed25519 private key, not {type(self.ed25519).__name__}")
        if self.mldsa is not None and not isinstance(self.mldsa, MLDSA65PrivateKey):
            raise TypeError(f"SigningKeys.mldsa must be an ML-DSA-65 private key, not {type(self.mldsa).__name__}")

    @classmethod
    def generate(cls) -> SigningKeys:
        return cls(Ed25519PrivateKey.generate(), MLDSA65PrivateKey.generate())

    @cached_property
    def public(self) -> PublicKeys:
        raw = dict(encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw)
        return PublicKeys(self.ed25519.public_key().public_bytes(**raw),
                          None if self.mldsa is None else self.mldsa.public_key().public_bytes_raw())

    def sign(self, seq: int, record_hash: str, wall_us: int) -> Checkpoint:
        """A checkpoint over record `seq` (whose hash is `record_hash`) at wall time `wall_us`."""
        if self.mldsa is None:
            message = canonical.checkpoint_message(seq, record_hash, wall_us)
            return Checkpoint(seq, record_hash, wall_us, self.ed25519.sign(message).hex())
        message = canonical.checkpoint_message(seq, record_hash, wall_us, hybrid=True)
        return Checkpoint(seq, record_hash, wall_us, self.ed25519.sign(message).hex(),
                          base64.b64encode(self.mldsa.sign(message)).decode("ascii"))
