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
from tests.journal.helpers import call, open_journal, unlock


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


def test_verify_intact(db, key, capsys):
    assert run("journal", "verify", "--db", str(db), "--public-key", public_key_bytes(key).hex()) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"intact: {db}: every record is covered by a valid signature (last at record 6)")
    assert "  6 records (records 1..6), 6 signed checkpoints, 0 unsigned" in out.splitlines()


def test_verify_tampered_names_the_record(db, key, capsys):
    with unlock(db) as s:
        s.execute("UPDATE records SET fields = '{\"time_to_answer_ms\":1}' WHERE seq = 4")
    b64 = base64.b64encode(public_key_bytes(key)).decode()
    assert run("journal", "verify", "--db", str(db), "--public-key", b64) == 1
    out = capsys.readouterr().out
    assert out.startswith("TAMPERED: ")
    assert "  record 4: contents do not match the record's hash (edited)" in out.splitlines()


def test_verify_json_output_and_earlier_checkpoints(db, key, tmp_path, capsys):
    ident = tmp_path / "identity.json"
    ident.write_text(json.dumps({"signing_public": base64.b64encode(public_key_bytes(key)).decode()}))
    assert run("journal", "export", "--db", str(db), "--format", "json", "-o", str(tmp_path / "e.json")) == 0
    assert run("journal", "verify", "--export", str(tmp_path / "e.json"), "--public-key", str(ident),
               "--checkpoints-from", str(tmp_path / "e.json"), "--json") == 0
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["ok"] and verdict["records"] == 6 and verdict["last_checkpoint_seq"] == 6


def test_json_export_round_trips_and_verifies(db, key, tmp_path):
    out = tmp_path / "e.json"
    run("journal", "export", "--db", str(db), "--format", "json", "-o", str(out))
    data, original = load(out), load(db)
    assert data.records == original.records and data.checkpoints == original.checkpoints
    assert data.unit == "desk-a" and data.public_key == public_key_bytes(key)
    assert verify(data.records, data.checkpoints, public_key_bytes(key)).ok


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
    with open_journal(tmp_path / "unit.db", keys.signing, clock) as j:
        j.append("provisioning", change="keys generated")
    assert run("journal", "verify", "--db", str(tmp_path / "unit.db"), "--key-dir", str(tmp_path / "keys")) == 0
    out = capsys.readouterr().out
    assert out.startswith("intact: ") and f"  unit fingerprint {keys.identity.fingerprint}" in out.splitlines()
