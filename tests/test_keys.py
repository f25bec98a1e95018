"""Key files: 0600, atomic, refused when unsafe or malformed."""

import os
import stat

import pytest

from terminal.errors import KeyFileError
from terminal.keys import PRIVATE_KEYS_FILE, atomic_write, fingerprint, generate_keys, load_keys


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
        ("private = x\n", "expected 'static = ...'"),
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


def test_fingerprint_is_six_groups_of_five_digits_and_key_bound():
    fp = fingerprint(b"\x01" * 32, b"\x02" * 32)
    assert [len(g) for g in fp.split(" ")] == [5] * 6 and fp.replace(" ", "").isdigit()
    assert fingerprint(b"\x01" * 32, b"\x03" * 32) != fp
