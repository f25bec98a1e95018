"""The unit's public keys from what a technician or auditor has at hand."""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path

from terminal.journal.errors import JournalFormatError

KEY_LEN = 32
# The other keys an identity JSON (`hotline keygen --json`, or the `identity` of `hotline-host info --json`)
# names, and their lengths.
_IDENTITY_KEYS = {"static_public": 32, "mlkem_public": 1184, "mldsa_public": 1952}


def parse_public_key(value: str) -> bytes:
    """32 raw bytes from base64, hex, or a file holding either or an identity JSON
    (`{"signing_public": "..."}`, as `hotline identity` exports it)."""
    return parse_identity(value)["signing_public"]


def parse_identity(value: str) -> dict[str, bytes]:
    """The Ed25519 key as `signing_public` (see parse_public_key) and, from an identity JSON, its
    other public keys too: `mldsa_public` above all, without which no ML-DSA-65 signature can be
    checked. A key of the wrong length is an error naming the file and the field."""
    path = Path(value)
    keys: dict[str, bytes] = {}
    if len(value) < 200 and path.is_file():
        text = path.read_text("utf-8", errors="replace").strip()
        where = str(path)
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
        if isinstance(doc, dict) and "signing_public" not in doc and isinstance(doc.get("identity"), dict):
            doc = doc["identity"]           # `hotline-host info --json` nests it
        if isinstance(doc, dict):
            if "signing_public" not in doc:
                raise JournalFormatError(f"{where}: identity JSON has no 'signing_public' key")
            text = str(doc["signing_public"])
            for name, length in _IDENTITY_KEYS.items():
                if doc.get(name) is not None:
                    keys[name] = _decode(str(doc[name]), length, f"{where}: {name}")
    else:
        text, where = value.strip(), "public key"
    if len(text) == 2 * KEY_LEN:
        try:
            keys["signing_public"] = bytes.fromhex(text)
            return keys
        except ValueError:
            pass
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != KEY_LEN:
        raise JournalFormatError(
            f"{where}: expected the unit's Ed25519 public key as base64 or hex of {KEY_LEN} bytes, "
            "or a file holding it")
    keys["signing_public"] = raw
    return keys


def _decode(text: str, length: int, what: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise JournalFormatError(f"{what} is not valid base64") from None
    if len(raw) != length:
        raise JournalFormatError(f"{what} is {len(raw)} bytes; expected {length}")
    return raw
