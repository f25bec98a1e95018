"""The unit's keys: generation, atomic 0600 storage, loading, public identity.

A key directory holds one file, `private.keys`, with the four private keys as
base64 of their raw bytes (as WireGuard writes its keys):

    static = ...    X25519 (32 B), the link's Noise static key
    signing = ...   Ed25519 (32 B), signs journal checkpoints and identity bundles
    mlkem = ...     ML-KEM-768 seed d|z (64 B, FIPS 203): its encapsulation key is published in
                    the identity bundle for the link's post-quantum authentication (not used yet)
    mldsa = ...     ML-DSA-65 seed xi (32 B, FIPS 204): signs journal checkpoints and identity
                    bundles beside Ed25519

One file, so the set is replaced atomically: a power cut or a pulled cable
leaves either the old keys or the new ones, never a mix. A file with only the
first two is from firmware before the post-quantum keys: `load_keys` refuses it
(LegacyKeyFile) and `add_post_quantum_keys` (what enrol runs on such a unit)
keeps those two and adds the others.

Keys are generated on the unit and checked before they are written: a
pairwise-consistency test (FIPS 140-3 IG 10.3.A) signs and verifies with each
signing key and encapsulates and decapsulates with the ML-KEM key, after
rebuilding each post-quantum key from the very seed that is stored.

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

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA65PrivateKey, MLDSA65PublicKey
from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey, MLKEM768PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from terminal.errors import KeyFileError

PRIVATE_KEYS_FILE = "private.keys"
_HEADER = "# hotline unit private keys: never copy them off this unit\n"
KEY_LEN = 32
MLKEM_SEED_LEN = 64                 # FIPS 203 d|z
MLDSA_SEED_LEN = 32                 # FIPS 204 xi
MLKEM768_PUBLIC_LEN = 1184          # the encapsulation key
MLDSA65_PUBLIC_LEN = 1952
MLDSA65_SIGNATURE_LEN = 3309
FINGERPRINT_LABEL = b"hotline identity fingerprint v2"
PCT_MESSAGE = b"hotline pairwise-consistency test"

# name in the key file -> length of its raw bytes, in file order
PRIVATE_KEYS = {"static": KEY_LEN, "signing": KEY_LEN, "mlkem": MLKEM_SEED_LEN, "mldsa": MLDSA_SEED_LEN}
CLASSICAL_KEYS = ("static", "signing")

_RAW = dict(encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw)


class LegacyKeyFile(KeyFileError):
    """A key file from firmware before the post-quantum keys: X25519 and Ed25519 only."""


class KeyGenerationFailed(KeyFileError):
    """New keys failed their pairwise-consistency test; nothing was written."""


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


def decode_key(text: str, what: str = "key", length: int = KEY_LEN) -> bytes:
    """Base64 of exactly `length` bytes, or KeyFileError saying what is wrong."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyFileError(f"{what} is not valid base64") from None
    if len(raw) != length:
        raise KeyFileError(f"{what} is {len(raw)} bytes; expected {length}")
    return raw


def check_mlkem_public(raw: bytes, what: str = "ML-KEM-768 encapsulation key") -> bytes:
    """`raw` as a usable ML-KEM-768 encapsulation key (length and FIPS 203's modulus check)."""
    return _check_public(raw, MLKEM768_PUBLIC_LEN, MLKEM768PublicKey, what,
                         "is not a valid ML-KEM-768 key (FIPS 203 modulus check failed)")


def check_mldsa_public(raw: bytes, what: str = "ML-DSA-65 public key") -> bytes:
    return _check_public(raw, MLDSA65_PUBLIC_LEN, MLDSA65PublicKey, what, "is not a valid ML-DSA-65 public key")


def _check_public(raw: bytes, length: int, key_type, what: str, invalid: str) -> bytes:
    """`raw` if it is `length` bytes that `key_type.from_public_bytes` accepts, else KeyFileError."""
    if len(raw) != length:
        raise KeyFileError(f"{what} is {len(raw)} bytes; expected {length}")
    try:
        key_type.from_public_bytes(raw)
    except ValueError:
        raise KeyFileError(f"{what} {invalid}") from None
    return raw


def fingerprint(static_public: bytes, signing_public: bytes, mlkem_public: bytes, mldsa_public: bytes) -> str:
    """Six groups of five digits, to be read aloud and compared over the phone.

    SHA-256 over a label and all four public keys (fixed lengths, so their concatenation is
    unambiguous): a swapped post-quantum key changes it exactly as a swapped X25519 key does."""
    for raw, length, name in ((static_public, KEY_LEN, "X25519"), (signing_public, KEY_LEN, "Ed25519"),
                              (mlkem_public, MLKEM768_PUBLIC_LEN, "ML-KEM-768"),
                              (mldsa_public, MLDSA65_PUBLIC_LEN, "ML-DSA-65")):
        if len(raw) != length:
            raise KeyFileError(f"fingerprint: the {name} public key is {len(raw)} bytes; expected {length}")
    digest = hashlib.sha256(FINGERPRINT_LABEL + static_public + signing_public + mlkem_public
                            + mldsa_public).digest()
    groups = (int.from_bytes(digest[i * 5:(i + 1) * 5], "big") % 100_000 for i in range(6))
    return " ".join(f"{g:05d}" for g in groups)


@dataclass(frozen=True)
class Identity:
    """A unit's public identity: what the far side needs to pin."""

    static_public: bytes
    signing_public: bytes
    mlkem_public: bytes
    mldsa_public: bytes

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.static_public, self.signing_public, self.mlkem_public, self.mldsa_public)

    @property
    def journal_public(self):
        """The keys checkpoints must verify with (terminal.journal.signatures.PublicKeys)."""
        from terminal.journal.signatures import PublicKeys
        return PublicKeys(self.signing_public, self.mldsa_public)

    def as_dict(self) -> dict:
        return {
            "static_public": encode_key(self.static_public),
            "signing_public": encode_key(self.signing_public),
            "mlkem_public": encode_key(self.mlkem_public),
            "mldsa_public": encode_key(self.mldsa_public),
            "fingerprint": self.fingerprint,
        }


@dataclass(frozen=True)
class UnitKeys:
    """The unit's four private keys, loaded."""

    static: X25519PrivateKey
    signing: Ed25519PrivateKey
    mlkem: MLKEM768PrivateKey
    mldsa: MLDSA65PrivateKey

    @property
    def identity(self) -> Identity:
        return Identity(
            self.static.public_key().public_bytes(**_RAW),
            self.signing.public_key().public_bytes(**_RAW),
            self.mlkem.public_key().public_bytes_raw(),
            self.mldsa.public_key().public_bytes_raw(),
        )

    @property
    def journal_signer(self):
        """What signs the journal's checkpoints: Ed25519 and ML-DSA-65 (terminal.journal.signatures)."""
        from terminal.journal.signatures import SigningKeys
        return SigningKeys(self.signing, self.mldsa)

    def static_private_bytes(self) -> bytes:
        """Raw X25519 bytes for the Noise handshake. Stays inside the unit."""
        return self.static.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )


def _raw_private(keys: UnitKeys) -> dict[str, bytes]:
    none = serialization.NoEncryption()
    return {
        "static": keys.static_private_bytes(),
        "signing": keys.signing.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, none),
        "mlkem": keys.mlkem.private_bytes_raw(),      # the 64-byte seed d|z
        "mldsa": keys.mldsa.private_bytes_raw(),      # the 32-byte seed xi
    }


def _from_raw(raw: dict[str, bytes]) -> UnitKeys:
    return UnitKeys(
        X25519PrivateKey.from_private_bytes(raw["static"]),
        Ed25519PrivateKey.from_private_bytes(raw["signing"]),
        MLKEM768PrivateKey.from_seed_bytes(raw["mlkem"]),
        MLDSA65PrivateKey.from_seed_bytes(raw["mldsa"]),
    )


def pairwise_consistency(keys: UnitKeys) -> list[str]:
    """FIPS 140-3's pairwise-consistency test on freshly made keys: what failed, or nothing.

    Each signing key signs and its public key verifies; the ML-KEM key's public half
    encapsulates and the private half decapsulates to the same secret. The post-quantum keys
    are first rebuilt from the seeds that will be stored, so what is tested is what is kept."""
    problems = []
    try:
        stored = _from_raw(_raw_private(keys))
    except (ValueError, TypeError) as exc:
        return [f"the keys do not rebuild from their stored form ({exc})"]
    for name, private, public in (("Ed25519", stored.signing, keys.signing.public_key()),
                                  ("ML-DSA-65", stored.mldsa, keys.mldsa.public_key())):
        try:
            public.verify(private.sign(PCT_MESSAGE), PCT_MESSAGE)
        except (InvalidSignature, ValueError, TypeError):
            problems.append(f"{name}: a signature by the new key does not verify with its public key")
    try:
        shared, ciphertext = keys.mlkem.public_key().encapsulate()
        if stored.mlkem.decapsulate(ciphertext) != shared:
            problems.append("ML-KEM-768: decapsulation does not give the encapsulated secret")
    except (ValueError, TypeError) as exc:
        problems.append(f"ML-KEM-768: encapsulation round trip failed ({exc})")
    return problems


def _checked(keys: UnitKeys) -> UnitKeys:
    problems = pairwise_consistency(keys)
    if problems:
        raise KeyGenerationFailed("new keys failed the pairwise-consistency test (" + "; ".join(problems)
                                  + "); no keys were written: try again, and if it fails again the unit's "
                                  "cryptographic library or hardware is faulty")
    return keys


def _read_private(path: Path, *, allow_legacy: bool = False) -> dict[str, bytes]:
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
        if not sep or name not in PRIVATE_KEYS or name in found:
            raise KeyFileError(f"{path}, line {number}: expected one each of "
                               + ", ".join(f"'{n} = ...'" for n in PRIVATE_KEYS))
        found[name] = decode_key(value, f"{path}: {name} key", PRIVATE_KEYS[name])
    missing = [name for name in PRIVATE_KEYS if name not in found]
    if missing == ["mlkem", "mldsa"]:
        if allow_legacy:
            return found
        raise LegacyKeyFile(
            f"{path}: keys from firmware without post-quantum keys (X25519 and Ed25519 only, no ML-KEM-768 "
            "or ML-DSA-65): run `hotline-host enrol` (with the button) to add them, then export the bundle "
            "and pair both units again")
    if missing:
        raise KeyFileError(f"{path}: the {missing[0]} key is missing")
    return found


def load_keys(key_dir: Path | str) -> UnitKeys:
    return _from_raw(_read_private(Path(key_dir) / PRIVATE_KEYS_FILE))


def write_keys(key_dir: Path | str, keys: UnitKeys) -> None:
    """Replace the key file atomically (0600, fsync, rename, fsync of the directory)."""
    key_dir = Path(key_dir)
    key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    raw = _raw_private(keys)
    text = _HEADER + "".join(f"{name} = {encode_key(raw[name])}\n" for name in PRIVATE_KEYS)
    atomic_write(key_dir / PRIVATE_KEYS_FILE, text.encode("ascii"))


def new_keys() -> UnitKeys:
    """Four fresh key pairs that passed the pairwise-consistency test (KeyGenerationFailed if not)."""
    return _checked(UnitKeys(X25519PrivateKey.generate(), Ed25519PrivateKey.generate(),
                             MLKEM768PrivateKey.generate(), MLDSA65PrivateKey.generate()))


def generate_keys(key_dir: Path | str, *, overwrite: bool = False) -> UnitKeys:
    """Create the unit's keys in `key_dir`.

    Refuses to replace existing keys unless `overwrite`: a unit's identity is
    pinned by its peer, and losing it unpairs the hotline.
    """
    target = Path(key_dir) / PRIVATE_KEYS_FILE
    if target.exists() and not overwrite:
        raise KeyFileError(f"{target}: keys already exist; refusing to replace them")
    keys = new_keys()
    write_keys(key_dir, keys)
    return keys


def is_legacy(key_dir: Path | str) -> bool:
    """Does `key_dir` hold a key file from before the post-quantum keys (and nothing wrong besides)?"""
    try:
        load_keys(key_dir)
    except LegacyKeyFile:
        return True
    except KeyFileError:
        return False
    return False


def add_post_quantum_keys(key_dir: Path | str) -> UnitKeys:
    """On a unit upgraded from firmware before the post-quantum keys: keep its X25519 and Ed25519
    keys (its peer pins the one, its journal is signed by the other) and add new ML-KEM-768 and
    ML-DSA-65 keys, tested and written atomically with them. The fingerprint changes."""
    path = Path(key_dir) / PRIVATE_KEYS_FILE
    raw = _read_private(path, allow_legacy=True)
    if set(raw) != set(CLASSICAL_KEYS):
        raise KeyFileError(f"{path}: already holds post-quantum keys")
    keys = _checked(UnitKeys(X25519PrivateKey.from_private_bytes(raw["static"]),
                             Ed25519PrivateKey.from_private_bytes(raw["signing"]),
                             MLKEM768PrivateKey.generate(), MLDSA65PrivateKey.generate()))
    write_keys(key_dir, keys)
    return keys
