"""`hotline journal verify|export` through argparse, on a real file."""

import argparse
import base64
import csv
import io
import json

import pytest

from terminal.journal import JournalFormatError, load, verify
from terminal.journal.commands import register
from terminal.journal.pubkey import parse_public_key
from terminal.journal.store import public_key_bytes
from tests.journal.helpers import call, identity_file, open_journal, unlock


@pytest.fixture
def db(tmp_path, key, clock):
    with open_journal(tmp_path / "j.db", key, clock, unit="desk-a") as j:
        j.append("boot", version="1")
        call(j, clock, "c1", answer_after=2.0)
        j.append("message_read", message_id="m1", precedence="FLASH")
    return tmp_path / "j.db"


def run(*argv):
    parser = argparse.ArgumentParser(prog="hotline")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    return args.func(args)


def test_verify_intact(db, key, tmp_path, capsys):
    ident = identity_file(tmp_path / "identity.json", key)
    assert run("journal", "verify", "--db", str(db), "--public-key", str(ident)) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"intact: {db}: every record is covered by valid Ed25519 and ML-DSA-65 signatures "
                          "(last at record 6)")
    assert ("  6 records (records 1..6), 6 signed checkpoints, 0 unsigned; signatures: Ed25519 + ML-DSA-65"
            in out.splitlines())


def test_a_bare_ed25519_key_can_only_say_ed25519_only(db, key, capsys):
    """Without the ML-DSA-65 key nothing can be said about those signatures: never `intact`."""
    assert run("journal", "verify", "--db", str(db), "--public-key", public_key_bytes(key).hex()) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"ED25519 ONLY: {db}: only the Ed25519 signatures were checked (no ML-DSA-65 key")
    assert "(ML-DSA-65 not checked: no ML-DSA-65 key given)" in out


def test_verify_tampered_names_the_record(db, key, capsys):
    with unlock(db) as s:
        s.execute("UPDATE records SET fields = '{\"time_to_answer_ms\":1}' WHERE seq = 4")
    b64 = base64.b64encode(public_key_bytes(key)).decode()
    assert run("journal", "verify", "--db", str(db), "--public-key", b64) == 1
    out = capsys.readouterr().out
    assert out.startswith("TAMPERED: ")
    assert "  record 4: contents do not match the record's hash (edited)" in out.splitlines()


def test_verify_json_output_and_earlier_checkpoints(db, key, tmp_path, capsys):
    ident = identity_file(tmp_path / "identity.json", key)
    assert run("journal", "export", "--db", str(db), "--format", "json", "-o", str(tmp_path / "e.json")) == 0
    assert run("journal", "verify", "--export", str(tmp_path / "e.json"), "--public-key", str(ident),
               "--checkpoints-from", str(tmp_path / "e.json"), "--json") == 0
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["ok"] and verdict["records"] == 6 and verdict["last_checkpoint_seq"] == 6
    assert (verdict["signatures"], verdict["mldsa_checked"], verdict["hybrid_seq"]) == ("Ed25519 + ML-DSA-65", True, 6)


def test_json_export_round_trips_and_verifies(db, key, tmp_path):
    out = tmp_path / "e.json"
    run("journal", "export", "--db", str(db), "--format", "json", "-o", str(out))
    data, original = load(out), load(db)
    assert data.records == original.records and data.checkpoints == original.checkpoints
    assert data.unit == "desk-a" and data.public_key == public_key_bytes(key)
    assert data.mldsa_public == key.public.mldsa and all(cp.hybrid for cp in data.checkpoints)
    assert verify(data.records, data.checkpoints, key.public).ok


def test_csv_export(db, capsys):
    run("journal", "export", "--db", str(db), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["kind"] for r in rows] == ["boot", "ring_started", "peer_ringing", "answered", "call_ended", "message_read"]
    assert rows[3]["call_id"] == "c1" and json.loads(rows[3]["fields"]) == {"time_to_answer_ms": 2200}
    assert rows[0]["wall_utc"] == "2026-09-21T14:13:20.000+00:00"


@pytest.mark.parametrize("value, message", [
    ("abc", "expected the unit's Ed25519 public key as base64 or hex of 32 bytes"),
    ("00" * 31, "expected the unit's Ed25519 public key"),
])
def test_bad_public_key_is_refused(value, message):
    with pytest.raises(JournalFormatError, match=message):
        parse_public_key(value)


def test_missing_db_is_a_clear_error(tmp_path):
    with pytest.raises(JournalFormatError, match="no such journal file"):
        run("journal", "verify", "--db", str(tmp_path / "nope.db"), "--public-key", "00" * 32)


def test_not_a_journal_is_a_clear_error(tmp_path):
    (tmp_path / "x.json").write_text("[1, 2]")
    with pytest.raises(JournalFormatError, match="not a journal export"):
        load(tmp_path / "x.json")


def test_verify_with_the_units_key_dir(tmp_path, clock, capsys):
    from terminal.keys import generate_keys
    keys = generate_keys(tmp_path / "keys")
    with open_journal(tmp_path / "unit.db", keys.journal_signer, clock) as j:
        j.append("provisioning", change="keys generated")
    assert run("journal", "verify", "--db", str(tmp_path / "unit.db"), "--key-dir", str(tmp_path / "keys")) == 0
    out = capsys.readouterr().out
    assert out.startswith("intact: ") and f"  unit fingerprint {keys.identity.fingerprint}" in out.splitlines()


def test_an_identity_json_gives_both_keys_and_a_wrong_length_names_file_and_field(db, key, tmp_path, capsys):
    from terminal.journal.pubkey import parse_identity
    info = tmp_path / "info.json"            # as `hotline-host info --json` prints it: the identity nested
    info.write_text(json.dumps({"unit_id": "A", "identity": json.loads(identity_file(tmp_path / "i.json", key)
                                                                       .read_text())}))
    assert parse_identity(str(info))["mldsa_public"] == key.public.mldsa
    assert run("journal", "verify", "--db", str(db), "--public-key", str(info)) == 0
    short = json.loads((tmp_path / "i.json").read_text())
    short["mldsa_public"] = base64.b64encode(key.public.mldsa[:-1]).decode()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(short))
    with pytest.raises(JournalFormatError, match=rf"^{bad}: mldsa_public is 1951 bytes; expected 1952$"):
        parse_identity(str(bad))
