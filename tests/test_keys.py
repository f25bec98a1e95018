"""Key files: 0600, atomic, refused when unsafe or malformed."""

import os
import stat

import pytest

from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA65PrivateKey

from terminal import keys as keys_mod
from terminal.errors import KeyFileError
from terminal.keys import (PRIVATE_KEYS_FILE, KeyGenerationFailed, LegacyKeyFile, UnitKeys, add_post_quantum_keys,
                           atomic_write, encode_key, fingerprint, generate_keys, load_keys, pairwise_consistency)


def test_generate_writes_0600_in_a_0700_dir_and_loads_back(tmp_path):
    keys = generate_keys(tmp_path / "keys")
    path = tmp_path / "keys" / PRIVATE_KEYS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    assert load_keys(tmp_path / "keys").identity == keys.identity
    assert not [p for p in (tmp_path / "keys").iterdir() if p.name != PRIVATE_KEYS_FILE]   # no temp left


def test_refuses_to_replace_existing_keys(tmp_path):
    first = generate_keys(tmp_path)
    with pytest.raises(KeyFileError, match="refusing to replace"):
        generate_keys(tmp_path)
    assert load_keys(tmp_path).identity == first.identity
    assert generate_keys(tmp_path, overwrite=True).identity != first.identity


def test_refuses_a_key_file_others_can_read(tmp_path):
    generate_keys(tmp_path)
    (tmp_path / PRIVATE_KEYS_FILE).chmod(0o644)
    with pytest.raises(KeyFileError, match=r"mode 0644 .* expected 0600"):
        load_keys(tmp_path)


@pytest.mark.parametrize(
    "content, message",
    [
        ("static = AAAA\nsigning = AAAA\n", "is 3 bytes; expected 32"),
        ("static = not base64!\n", "not valid base64"),
        ("static = " + "A" * 43 + "=\n", "the signing key is missing"),
        ("private = x\n", "expected one each of 'static = ...', 'signing = ...', 'mlkem = ...', 'mldsa = ...'"),
        ("static = " + "A" * 43 + "=\nsigning = " + "A" * 43 + "=\nmlkem = AAAA\n", "mlkem key is 3 bytes; expected 64"),
        ("static = " + "A" * 43 + "=\nsigning = " + "A" * 43 + "=\nmlkem = " + "A" * 86 + "==\n",
         "the mldsa key is missing"),
        (b"\xff\xfe", "not a key file"),
    ],
)
def test_refuses_malformed_key_files(tmp_path, content, message):
    path = tmp_path / PRIVATE_KEYS_FILE
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match=message):
        load_keys(tmp_path)


def test_missing_key_file_says_how_to_make_one(tmp_path):
    with pytest.raises(KeyFileError, match="hotline keygen"):
        load_keys(tmp_path)


def test_atomic_write_failure_leaves_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "f"
    atomic_write(target, b"old")

    def boom(*a):
        raise OSError("disk pulled")
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_fingerprint_is_six_groups_of_five_digits_and_covers_all_four_keys():
    keys = [b"\x01" * 32, b"\x02" * 32, b"\x03" * 1184, b"\x04" * 1952]
    fp = fingerprint(*keys)
    assert [len(g) for g in fp.split(" ")] == [5] * 6 and fp.replace(" ", "").isdigit()
    for i in range(4):       # a swapped post-quantum key is caught when it is read aloud, as a swapped X25519 key
        other = list(keys)
        other[i] = bytes([keys[i][0] ^ 1]) + keys[i][1:]
        assert fingerprint(*other) != fp
    with pytest.raises(KeyFileError, match="the ML-DSA-65 public key is 1951 bytes; expected 1952"):
        fingerprint(keys[0], keys[1], keys[2], keys[3][:-1])


def test_the_key_file_holds_all_four_keys_and_the_post_quantum_ones_as_their_seeds(tmp_path):
    keys = generate_keys(tmp_path)
    lines = dict(line.split(" = ") for line in (tmp_path / PRIVATE_KEYS_FILE).read_text().splitlines()
                 if not line.startswith("#"))
    assert list(lines) == ["static", "signing", "mlkem", "mldsa"]
    assert lines["mlkem"] == encode_key(keys.mlkem.private_bytes_raw()) and len(keys.mlkem.private_bytes_raw()) == 64
    assert lines["mldsa"] == encode_key(keys.mldsa.private_bytes_raw()) and len(keys.mldsa.private_bytes_raw()) == 32
    identity = load_keys(tmp_path).identity
    assert (len(identity.mlkem_public), len(identity.mldsa_public)) == (1184, 1952)
    assert identity == keys.identity


class _BrokenMLDSA:
    """An ML-DSA-65 key whose signatures do not verify with its public key (a faulty library or RAM)."""

    def __init__(self):
        self._key, self._other = MLDSA65PrivateKey.generate(), MLDSA65PrivateKey.generate()

    def public_key(self):
        return self._key.public_key()

    def private_bytes_raw(self):
        return self._other.private_bytes_raw()     # what would be stored is another key's seed


def test_the_pairwise_consistency_test_names_a_key_pair_that_does_not_match(tmp_path):
    good = generate_keys(tmp_path)
    assert pairwise_consistency(good) == []
    broken = UnitKeys(good.static, good.signing, good.mlkem, _BrokenMLDSA())
    assert pairwise_consistency(broken) == [
        "ML-DSA-65: a signature by the new key does not verify with its public key"]


def test_keys_that_fail_the_pairwise_consistency_test_are_never_written(tmp_path, monkeypatch):
    monkeypatch.setattr(keys_mod, "pairwise_consistency",
                        lambda keys: ["ML-KEM-768: decapsulation does not give the encapsulated secret"])
    with pytest.raises(KeyGenerationFailed, match=r"pairwise-consistency test \(ML-KEM-768: decapsulation does "
                                                  r"not give the encapsulated secret\); no keys were written"):
        generate_keys(tmp_path / "keys")
    assert not (tmp_path / "keys" / PRIVATE_KEYS_FILE).exists()


def _legacy_file(key_dir, keys):
    """A key file as firmware before the post-quantum keys wrote it: X25519 and Ed25519 only."""
    raw = keys_mod._raw_private(keys)
    key_dir.mkdir(mode=0o700, exist_ok=True)
    atomic_write(key_dir / PRIVATE_KEYS_FILE, (f"static = {encode_key(raw['static'])}\n"
                                               f"signing = {encode_key(raw['signing'])}\n").encode())


def test_a_legacy_key_file_is_refused_and_upgraded_keeping_its_classical_keys(tmp_path):
    old = keys_mod.new_keys()
    _legacy_file(tmp_path / "keys", old)
    with pytest.raises(LegacyKeyFile, match="keys from firmware without post-quantum keys .* run `hotline-host enrol`"):
        load_keys(tmp_path / "keys")
    upgraded = add_post_quantum_keys(tmp_path / "keys")
    loaded = load_keys(tmp_path / "keys").identity
    assert loaded == upgraded.identity
    assert (loaded.static_public, loaded.signing_public) == (old.identity.static_public, old.identity.signing_public)
    assert loaded.mldsa_public != old.identity.mldsa_public and loaded.fingerprint != old.identity.fingerprint
    assert stat.S_IMODE((tmp_path / "keys" / PRIVATE_KEYS_FILE).stat().st_mode) == 0o600
    with pytest.raises(KeyFileError, match="already holds post-quantum keys"):
        add_post_quantum_keys(tmp_path / "keys")
