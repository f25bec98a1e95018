"""Known-answer tests: each primitive the unit relies on, run on a published vector.

A primitive that gives a wrong answer (a broken build, a miscompiled library,
failing hardware) must keep the unit off the line. Every function takes its
vector, so a test can hand it a wrong one and see the failure named.
"""

from __future__ import annotations

import hashlib
from typing import Callable

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA65PrivateKey
from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from terminal.selftest import vectors
from terminal.selftest.result import CheckResult
from terminal.selftest.vectors import Vector

_RAW_PUBLIC = dict(encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw)


def _h(vector: Vector, name: str) -> bytes:
    return bytes.fromhex(vector.values[name])


def _digest(algorithm: hashes.HashAlgorithm, data: bytes) -> bytes:
    h = hashes.Hash(algorithm)
    h.update(data)
    return h.finalize()


def x25519(v: Vector) -> list[str]:
    shared = X25519PrivateKey.from_private_bytes(_h(v, "INPUT_SCALAR")).exchange(
        X25519PublicKey.from_public_bytes(_h(v, "INPUT_U")))
    return [] if shared == _h(v, "OUTPUT_U") else ["shared secret differs from the RFC 7748 answer"]


def chacha20_poly1305(v: Vector) -> list[str]:
    aead = ChaCha20Poly1305(_h(v, "Key"))
    sealed = _h(v, "Ciphertext") + _h(v, "Tag")
    problems = []
    if aead.encrypt(_h(v, "IV"), _h(v, "Plaintext"), _h(v, "AAD")) != sealed:
        problems.append("encryption differs from the RFC 7539 answer")
    try:
        if aead.decrypt(_h(v, "IV"), sealed, _h(v, "AAD")) != _h(v, "Plaintext"):
            problems.append("decryption differs from the RFC 7539 plaintext")
    except InvalidTag:
        problems.append("the RFC 7539 ciphertext did not authenticate")
    tampered = bytes([sealed[0] ^ 1]) + sealed[1:]
    try:
        aead.decrypt(_h(v, "IV"), tampered, _h(v, "AAD"))
        problems.append("a tampered ciphertext was accepted")
    except InvalidTag:
        pass
    return problems


def blake2s(v: Vector) -> list[str]:
    ok = _digest(hashes.BLAKE2s(32), _h(v, "Msg")) == _h(v, "MD")
    return [] if ok else ["BLAKE2s-256 digest differs from the published answer"]


def sha256(v: Vector) -> list[str]:
    problems = []
    if _digest(hashes.SHA256(), _h(v, "Msg")) != _h(v, "MD"):
        problems.append("SHA-256 (cryptography, used by the link) differs from the NIST answer")
    if hashlib.sha256(_h(v, "Msg")).digest() != _h(v, "MD"):
        problems.append("SHA-256 (hashlib, used by the journal chain) differs from the NIST answer")
    return problems


def ed25519(v: Vector) -> list[str]:
    key = Ed25519PrivateKey.from_private_bytes(_h(v, "secret"))
    problems = []
    if key.public_key().public_bytes(**_RAW_PUBLIC) != _h(v, "public"):
        problems.append("public key derived from the RFC 8032 secret differs")
    if key.sign(_h(v, "message")) != _h(v, "signature"):
        problems.append("signature differs from the RFC 8032 answer")
    try:
        key.public_key().verify(_h(v, "signature"), _h(v, "message"))
    except InvalidSignature:
        problems.append("the RFC 8032 signature did not verify")
    return problems


def mlkem768(v: Vector) -> list[str]:
    """FIPS 203: the key pair from the seed d|z, decapsulation of the KAT's ciphertext, and the
    implicit rejection of its bad one (which must give the KAT's other secret, not an error)."""
    key = MLKEM768PrivateKey.from_seed_bytes(_h(v, "d") + _h(v, "z"))
    problems = []
    if key.public_key().public_bytes_raw() != _h(v, "pk"):
        problems.append("encapsulation key derived from the seed differs from the FIPS 203 answer")
    if key.decapsulate(_h(v, "ct")) != _h(v, "ss"):
        problems.append("decapsulated secret differs from the FIPS 203 answer")
    if key.decapsulate(_h(v, "ct_n")) != _h(v, "ss_n"):
        problems.append("implicit rejection of a bad ciphertext differs from the FIPS 203 answer")
    shared, ciphertext = key.public_key().encapsulate()           # pairwise consistency, FIPS 140-3
    if key.decapsulate(ciphertext) != shared:
        problems.append("a fresh encapsulation did not decapsulate to its own secret")
    return problems


def mldsa65(v: Vector) -> list[str]:
    """FIPS 204: the key pair from the seed xi, the KAT's signature verifying (the deterministic
    one the KAT holds; ours are hedged), a tampered one not, and our own signature verifying."""
    key = MLDSA65PrivateKey.from_seed_bytes(_h(v, "xi"))
    public = key.public_key()
    message, context = _h(v, "msg"), _h(v, "ctx")
    signature = _h(v, "sm")[:-len(message)]                      # sm = signature | message
    problems = []
    if public.public_bytes_raw() != _h(v, "pk"):
        problems.append("public key derived from the seed differs from the FIPS 204 answer")
    try:
        public.verify(signature, message, context)
    except InvalidSignature:
        problems.append("the FIPS 204 signature did not verify")
    try:
        public.verify(bytes([signature[0] ^ 1]) + signature[1:], message, context)
        problems.append("a tampered signature verified")
    except InvalidSignature:
        pass
    try:
        public.verify(key.sign(message, context), message, context)   # pairwise consistency
    except InvalidSignature:
        problems.append("a fresh signature did not verify")
    return problems


KATS: dict[str, tuple[Callable[[Vector], list[str]], str]] = {
    "x25519": (x25519, "X25519"),
    "chacha20poly1305": (chacha20_poly1305, "ChaCha20-Poly1305"),
    "blake2s": (blake2s, "BLAKE2s"),
    "sha256": (sha256, "SHA-256"),
    "ed25519": (ed25519, "Ed25519"),
    "mlkem768": (mlkem768, "ML-KEM-768"),
    "mldsa65": (mldsa65, "ML-DSA-65"),
}


def known_answer_test(primitive: str, vector: Vector | None = None) -> CheckResult:
    """Run one primitive's KAT (on `vector`, default the embedded one) as check `kat_<primitive>`."""
    run, label = KATS[primitive]
    vector = vector or vectors.ALL[primitive]
    name = f"kat_{primitive}"
    try:
        problems = run(vector)
    except (ValueError, TypeError) as exc:      # a vector the primitive refuses outright
        problems = [f"the primitive refused the vector: {exc}"]
    where = f"{vector.source} {vector.locator[0]}={vector.locator[1]}"
    if problems:
        return CheckResult(name, False, f"{label} known-answer test FAILED ({where}): " + "; ".join(problems))
    return CheckResult(name, True, f"{label} matches {where}")
