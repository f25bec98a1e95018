"""The unit's keys: generation, atomic 0600 storage, loading, public identity.

A key directory holds one file, `private.keys`, with both private keys as
base64 over the 32 raw key bytes (as WireGuard writes its keys):

    static = ...    X25519, the link's Noise static key
    signing = ...   Ed25519, signs journal checkpoints and identity bundles

One file, so the pair is replaced atomically: a power cut or a pulled cable
leaves either the old pair or the new pair, never one of each.

Private keys never leave the unit: nothing here prints or returns them except
as `cryptography` key objects.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from terminal.errors import KeyFileError

PRIVATE_KEYS_FILE = "private.keys"
_HEADER = "# hotline unit private keys: never copy them off this unit\n"
KEY_LEN = 32
FINGERPRINT_LABEL = b"hotline identity fingerprint v1"

_RAW = dict(encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw)


def atomic_write(path: Path | str, data: bytes, mode: int = 0o600, *, sync_dir: bool = True) -> None:
    """Replace `path` with `data` so a crash at any point leaves old or new, never a mix.

    Temp file in the same directory (created with `mode`, never wider), write,
    fsync, rename over the target, fsync the directory so the rename is durable
    (`sync_dir=False` for a file whose reader accepts the previous version after a
    power cut, and would rather not pay for a second fsync on every write).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if sync_dir:
        fsync_dir(path.parent)


def fsync_dir(path: Path | str) -> None:
    """Make the latest renames and unlinks in directory `path` durable."""
    dir_fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def encode_key(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def decode_key(text: str, what: str = "key") -> bytes:
    """Base64 of exactly 32 bytes, or KeyFileError saying what is wrong."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyFileError(f"{what} is not valid base64") from None
    if len(raw) != KEY_LEN:
        raise KeyFileError(f"{what} is {len(raw)} bytes; expected {KEY_LEN}")
    return raw


def fingerprint(static_public: bytes, signing_public: bytes) -> str:
    """Six groups of five digits, to be read aloud and compared over the phone."""
    digest = hashlib.sha256(FINGERPRINT_LABEL + static_public + signing_public).digest()
    groups = (int.from_bytes(digest[i * 5:(i + 1) * 5], "big") % 100_000 for i in range(6))
    return " ".join(f"{g:05d}" for g in groups)


@dataclass(frozen=True)
class Identity:
    """A unit's public identity: what the far side needs to pin."""

    static_public: bytes
    signing_public: bytes

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.static_public, self.signing_public)

    def as_dict(self) -> dict:
        return {
            "static_public": encode_key(self.static_public),
            "signing_public": encode_key(self.signing_public),
            "fingerprint": self.fingerprint,
        }


@dataclass(frozen=True)
class UnitKeys:
    """The unit's two private keys, loaded."""

    static: X25519PrivateKey
    signing: Ed25519PrivateKey

    @property
    def identity(self) -> Identity:
        return Identity(
            self.static.public_key().public_bytes(**_RAW),
            self.signing.public_key().public_bytes(**_RAW),
        )

    def static_private_bytes(self) -> bytes:
        """Raw X25519 bytes for the Noise handshake. Stays inside the unit."""
        return self.static.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )


def _read_private(path: Path) -> dict[str, bytes]:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise KeyFileError(f"{path}: no such key file (run `hotline keygen --dir {path.parent}`)") from None
    if not stat.S_ISREG(st.st_mode):
        raise KeyFileError(f"{path}: not a regular file")
    if st.st_mode & 0o077:
        raise KeyFileError(
            f"{path}: mode {stat.S_IMODE(st.st_mode):04o} lets others read a private key; "
            f"expected 0600 (chmod 600 {path})"
        )
    try:
        lines = path.read_text("ascii").splitlines()
    except UnicodeDecodeError:
        raise KeyFileError(f"{path}: not a key file (expected ASCII lines 'name = base64')") from None
    found: dict[str, bytes] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        name, sep, value = (part.strip() for part in line.partition("="))
        if not sep or name not in ("static", "signing") or name in found:
            raise KeyFileError(f"{path}, line {number}: expected 'static = ...' or 'signing = ...' once each")
        found[name] = decode_key(value, f"{path}: {name} key")
    for name in ("static", "signing"):
        if name not in found:
            raise KeyFileError(f"{path}: the {name} key is missing")
    return found


def load_keys(key_dir: Path | str) -> UnitKeys:
    raw = _read_private(Path(key_dir) / PRIVATE_KEYS_FILE)
    return UnitKeys(
        X25519PrivateKey.from_private_bytes(raw["static"]),
        Ed25519PrivateKey.from_private_bytes(raw["signing"]),
    )


def write_keys(key_dir: Path | str, keys: UnitKeys) -> None:
    """Replace the key file atomically (0600, fsync, rename, fsync of the directory)."""
    key_dir = Path(key_dir)
    key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    signing_raw = keys.signing.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    text = (
        _HEADER
        + f"static = {encode_key(keys.static_private_bytes())}\n"
        + f"signing = {encode_key(signing_raw)}\n"
    )
    atomic_write(key_dir / PRIVATE_KEYS_FILE, text.encode("ascii"))


def generate_keys(key_dir: Path | str, *, overwrite: bool = False) -> UnitKeys:
    """Create the unit's key pair in `key_dir`.

    Refuses to replace existing keys unless `overwrite`: a unit's identity is
    pinned by its peer, and losing it unpairs the hotline.
    """
    target = Path(key_dir) / PRIVATE_KEYS_FILE
    if target.exists() and not overwrite:
        raise KeyFileError(f"{target}: keys already exist; refusing to replace them")
    keys = UnitKeys(X25519PrivateKey.generate(), Ed25519PrivateKey.generate())
    write_keys(key_dir, keys)
    return keys
