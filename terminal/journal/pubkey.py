"""The unit's Ed25519 public key from what a technician or auditor has at hand."""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path

from terminal.journal.errors import JournalFormatError

KEY_LEN = 32


def parse_public_key(value: str) -> bytes:
    """32 raw bytes from base64, hex, or a file holding either or an identity JSON
    (`{"signing_public": "..."}`, as `hotline identity` exports it)."""
    path = Path(value)
    if len(value) < 200 and path.is_file():
        text = path.read_text("utf-8", errors="replace").strip()
        where = str(path)
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            if "signing_public" not in doc:
                raise JournalFormatError(f"{where}: identity JSON has no 'signing_public' key")
            text = str(doc["signing_public"])
    else:
        text, where = value.strip(), "public key"
    if len(text) == 2 * KEY_LEN:
        try:
            return bytes.fromhex(text)
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
    return raw
