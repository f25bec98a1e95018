"""The canonical encoding that record hashes and checkpoint signatures cover.

JSON with sorted keys, no whitespace, UTF-8, no NaN/Infinity. Record values
are restricted (see `kinds.check_value`) to strings, integers, booleans and
null, never floats: with those types this is byte-for-byte the RFC 8785 (JCS)
encoding, so any language's JCS library reproduces our hashes, and a parse
followed by a re-encode gives back the same bytes.
"""

from __future__ import annotations

import hashlib
import json

RECORD_DOMAIN = b"hotline journal record v1\n"
CHECKPOINT_DOMAIN = b"hotline journal checkpoint v1\n"                  # Ed25519 alone (format 1)
HYBRID_CHECKPOINT_DOMAIN = b"hotline journal checkpoint v2 ed25519+mldsa65\n"   # both sign these bytes
GENESIS_HASH = "0" * 64

_encoder = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def encode(value) -> bytes:
    """Canonical bytes of a JSON value."""
    return _encoder.encode(value).encode("utf-8")


def record_hash(body: dict) -> str:
    """SHA-256 (hex) of a record's body: every column except its own hash."""
    return hashlib.sha256(RECORD_DOMAIN + encode(body)).hexdigest()


def checkpoint_message(seq: int, record_hash_hex: str, wall_us: int, *, hybrid: bool = False) -> bytes:
    """The bytes a checkpoint's signatures cover: with `hybrid`, both the Ed25519 and the
    ML-DSA-65 signature, under a domain line that names both (so the Ed25519 signature alone
    shows that an ML-DSA-65 one belongs beside it); without, the Ed25519-only form of format 1."""
    domain = HYBRID_CHECKPOINT_DOMAIN if hybrid else CHECKPOINT_DOMAIN
    return domain + encode({"hash": record_hash_hex, "seq": seq, "wall_us": wall_us})
