"""The identity bundle: a unit's public keys, id and endpoints, signed by its Ed25519 and ML-DSA-65 keys.

On disk and on the wire it is a JSON object (format 2):

    {"bundle": {"format": "hotline-identity-v2", "unit_id": ..., "static_public": b64 (X25519, 32 B),
                "signing_public": b64 (Ed25519, 32 B), "mlkem_public": b64 (ML-KEM-768
                encapsulation key, 1184 B), "mldsa_public": b64 (ML-DSA-65, 1952 B),
                "endpoints": [...], "pairing_id": ... | null},
     "signature": b64 Ed25519 (64 B), "mldsa_signature": b64 ML-DSA-65 (3309 B)}

Both signatures cover the canonical JSON of "bundle" (sorted keys, no spaces), and both must
verify. They prove the bundle is whole and came from the holder of both signing keys (so a
bundle cannot name another unit's ML-DSA-65 key as its own); that the keys are the right
unit's is what the fingerprint read over the phone proves, and it covers all four keys.

A format-1 bundle (`hotline-identity-v1`: X25519 and Ed25519 only) is from firmware before
the post-quantum keys. It is refused, naming its format: pairing with it would silently give
up the post-quantum half, so the far unit is upgraded and enrolled first.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA65PublicKey

from terminal.config import parse_host_port
from terminal.errors import HotlineError, KeyFileError
from terminal.keys import (KEY_LEN, MLDSA65_PUBLIC_LEN, MLDSA65_SIGNATURE_LEN, MLKEM768_PUBLIC_LEN, UnitKeys,
                           check_mldsa_public, check_mlkem_public, decode_key, encode_key, fingerprint)

BUNDLE_FORMAT = "hotline-identity-v2"
LEGACY_FORMATS = ("hotline-identity-v1",)
_FIELDS = {"format", "unit_id", "static_public", "signing_public", "mlkem_public", "mldsa_public", "endpoints",
           "pairing_id"}
_DOC_FIELDS = {"bundle", "signature", "mldsa_signature"}
ED25519_SIGNATURE_LEN = 64


class BundleError(HotlineError, ValueError):
    """An identity bundle that is malformed or whose signature does not verify."""

    def __init__(self, message: str, bad_signature: bool = False):
        super().__init__(message)
        self.bad_signature = bad_signature


def _canonical(body: dict) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True)
class PeerBundle:
    unit_id: str
    static_public: bytes
    signing_public: bytes
    endpoints: tuple[str, ...]
    pairing_id: str | None
    mlkem_public: bytes
    mldsa_public: bytes

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.static_public, self.signing_public, self.mlkem_public, self.mldsa_public)


def make_bundle(keys: UnitKeys, unit_id: str, endpoints: list[str], pairing_id: str | None) -> dict:
    identity = keys.identity
    body = {
        "format": BUNDLE_FORMAT,
        "unit_id": unit_id,
        "static_public": encode_key(identity.static_public),
        "signing_public": encode_key(identity.signing_public),
        "mlkem_public": encode_key(identity.mlkem_public),
        "mldsa_public": encode_key(identity.mldsa_public),
        "endpoints": list(endpoints),
        "pairing_id": pairing_id,
    }
    message = _canonical(body)
    return {"bundle": body, "signature": encode_key(keys.signing.sign(message)),
            "mldsa_signature": encode_key(keys.mldsa.sign(message))}


def _text(body: dict, name: str, where: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise BundleError(f"{where}: '{name}' must be a non-empty string")
    return value


def _public(body: dict, name: str, length: int, where: str) -> bytes:
    try:
        raw = decode_key(_text(body, name, where), f"{where}: {name}", length)
        if name == "mlkem_public":
            check_mlkem_public(raw, f"{where}: {name}")
        elif name == "mldsa_public":
            check_mldsa_public(raw, f"{where}: {name}")
    except KeyFileError as exc:
        raise BundleError(str(exc)) from None
    return raw


def _signature(doc: dict, name: str, length: int, where: str) -> bytes:
    """A signature field's bytes; a malformed one is a bad signature, named with its size."""
    text = doc.get(name)
    if not isinstance(text, str) or not text:
        raise BundleError(f"{where}: '{name}' must be a non-empty string", bad_signature=True)
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BundleError(f"{where}: {name} is not valid base64; the signature does not verify",
                          bad_signature=True) from None
    if len(raw) != length:
        raise BundleError(f"{where}: {name} is {len(raw)} bytes; expected {length}: the signature does not verify",
                          bad_signature=True)
    return raw


def verify_bundle(doc: object, where: str = "identity bundle") -> PeerBundle:
    """Check a bundle document's shape and both signatures; return the peer it names.

    `where` starts every error message (the caller's file name, say), so each names the file
    and the field."""
    if not isinstance(doc, dict) or "bundle" not in doc:
        raise BundleError(f"{where}: expected a JSON object with 'bundle', 'signature' and 'mldsa_signature'")
    body = doc["bundle"]
    if not isinstance(body, dict):
        raise BundleError(f"{where}: 'bundle' must be a JSON object")
    if body.get("format") in LEGACY_FORMATS:
        raise BundleError(
            f"{where}: format {body['format']!r} is from firmware without post-quantum keys (no ML-KEM-768 or "
            f"ML-DSA-65 key); refused rather than paired classically: upgrade that unit, run `hotline-host enrol` "
            f"on it and export its bundle again (format {BUNDLE_FORMAT!r})")
    if body.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{where}: format is {body.get('format')!r}; expected {BUNDLE_FORMAT!r}")
    if set(doc) != _DOC_FIELDS:
        raise BundleError(f"{where}: expected a JSON object with exactly 'bundle', 'signature' and 'mldsa_signature'"
                          + (f" (missing {sorted(_DOC_FIELDS - set(doc))})" if _DOC_FIELDS - set(doc) else
                             f" (unknown {sorted(set(doc) - _DOC_FIELDS)})"))
    unknown = set(body) - _FIELDS
    if unknown:
        raise BundleError(f"{where}: unknown fields {sorted(unknown)}")
    static_public = _public(body, "static_public", KEY_LEN, where)
    signing_public = _public(body, "signing_public", KEY_LEN, where)
    mlkem_public = _public(body, "mlkem_public", MLKEM768_PUBLIC_LEN, where)
    mldsa_public = _public(body, "mldsa_public", MLDSA65_PUBLIC_LEN, where)
    endpoints = body.get("endpoints")
    if not isinstance(endpoints, list) or not endpoints:
        raise BundleError(f"{where}: 'endpoints' must be a non-empty list of host:port strings")
    for endpoint in endpoints:
        try:
            parse_host_port(endpoint)
        except ValueError as exc:
            raise BundleError(f"{where}: endpoint {endpoint!r}: {exc}") from None
    pairing_id = body.get("pairing_id")
    if pairing_id is not None and not isinstance(pairing_id, str):
        raise BundleError(f"{where}: 'pairing_id' must be a string or null")
    message = _canonical(body)
    ed_signature = _signature(doc, "signature", ED25519_SIGNATURE_LEN, where)
    mldsa_signature = _signature(doc, "mldsa_signature", MLDSA65_SIGNATURE_LEN, where)
    failed = []
    try:
        Ed25519PublicKey.from_public_bytes(signing_public).verify(ed_signature, message)
    except (ValueError, InvalidSignature):
        failed.append("Ed25519")
    try:
        MLDSA65PublicKey.from_public_bytes(mldsa_public).verify(mldsa_signature, message)
    except (ValueError, InvalidSignature):
        failed.append("ML-DSA-65")
    if failed:
        raise BundleError(
            f"{where}: the {' and the '.join(failed)} signature does not verify; the file was altered or is not "
            "from that unit", bad_signature=True)
    return PeerBundle(_text(body, "unit_id", where), static_public, signing_public, tuple(endpoints), pairing_id,
                      mlkem_public, mldsa_public)
