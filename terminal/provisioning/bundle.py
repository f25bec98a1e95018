"""The identity bundle: a unit's public keys, id and endpoints, signed by its Ed25519 key.

On disk and on the wire it is a JSON object {"bundle": {...}, "signature": b64}.
The signature covers the canonical JSON of "bundle" (sorted keys, no spaces).
It proves the bundle is whole and came from the holder of the signing key; that
the key is the right unit's is what the fingerprint read over the phone proves.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from terminal.config import parse_host_port
from terminal.errors import HotlineError, KeyFileError
from terminal.keys import UnitKeys, decode_key, encode_key, fingerprint

BUNDLE_FORMAT = "hotline-identity-v1"
_FIELDS = {"format", "unit_id", "static_public", "signing_public", "endpoints", "pairing_id"}


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

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.static_public, self.signing_public)


def make_bundle(keys: UnitKeys, unit_id: str, endpoints: list[str], pairing_id: str | None) -> dict:
    identity = keys.identity
    body = {
        "format": BUNDLE_FORMAT,
        "unit_id": unit_id,
        "static_public": encode_key(identity.static_public),
        "signing_public": encode_key(identity.signing_public),
        "endpoints": list(endpoints),
        "pairing_id": pairing_id,
    }
    signature = base64.b64encode(keys.signing.sign(_canonical(body))).decode("ascii")
    return {"bundle": body, "signature": signature}


def _text(body: dict, name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise BundleError(f"identity bundle: '{name}' must be a non-empty string")
    return value


def verify_bundle(doc: object) -> PeerBundle:
    """Check a bundle document's shape and signature; return the peer it names."""
    if not isinstance(doc, dict) or set(doc) != {"bundle", "signature"}:
        raise BundleError("identity bundle: expected a JSON object with exactly 'bundle' and 'signature'")
    body = doc["bundle"]
    if not isinstance(body, dict):
        raise BundleError("identity bundle: 'bundle' must be a JSON object")
    if body.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"identity bundle: format is {body.get('format')!r}; expected {BUNDLE_FORMAT!r}")
    unknown = set(body) - _FIELDS
    if unknown:
        raise BundleError(f"identity bundle: unknown fields {sorted(unknown)}")
    try:
        static_public = decode_key(_text(body, "static_public"), "identity bundle: static_public")
        signing_public = decode_key(_text(body, "signing_public"), "identity bundle: signing_public")
    except KeyFileError as exc:
        raise BundleError(str(exc)) from None
    endpoints = body.get("endpoints")
    if not isinstance(endpoints, list) or not endpoints:
        raise BundleError("identity bundle: 'endpoints' must be a non-empty list of host:port strings")
    for endpoint in endpoints:
        try:
            parse_host_port(endpoint)
        except ValueError as exc:
            raise BundleError(f"identity bundle: endpoint {endpoint!r}: {exc}") from None
    pairing_id = body.get("pairing_id")
    if pairing_id is not None and not isinstance(pairing_id, str):
        raise BundleError("identity bundle: 'pairing_id' must be a string or null")
    try:
        signature = base64.b64decode(_text(doc, "signature"), validate=True)
        Ed25519PublicKey.from_public_bytes(signing_public).verify(signature, _canonical(body))
    except (binascii.Error, ValueError, InvalidSignature):
        raise BundleError(
            "identity bundle: the signature does not verify; the file was altered or is not from that unit",
            bad_signature=True,
        ) from None
    return PeerBundle(_text(body, "unit_id"), static_public, signing_public, tuple(endpoints), pairing_id)
