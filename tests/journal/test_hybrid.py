"""Hybrid checkpoints: Ed25519 and ML-DSA-65 over the same bytes; `intact` needs both, and a
verdict that is not says which signature failed. Journals from before ML-DSA-65 (format 1)
are read, reported as ED25519 ONLY, migrated and continued. Done on real SQLite files, with
sqlite3 as a tamperer would."""

from __future__ import annotations

import base64
import json
import sqlite3
from dataclasses import replace

import pytest

from terminal.journal import canonical, load, load_sqlite, verify
from terminal.journal.audit import ExpectedKey, audit
from terminal.journal.errors import JournalFormatError
from terminal.journal.export import to_json
from terminal.journal.signatures import MLDSA65_SIGNATURE_LEN, SigningKeys
from terminal.journal.verify import Witnessed
from tests.journal.helpers import identity_file, open_journal, unlock
from tests.journal.test_commands import run

RECORDS = 8      # one checkpoint per append, as the unit writes them
TARGET = 5       # the checkpoint each tampering touches: neither the first nor the last


@pytest.fixture
def db(tmp_path, key, clock):
    path = tmp_path / "journal.sqlite"
    with open_journal(path, key, clock, unit="A") as journal:
        for n in range(RECORDS):
            journal.append("link_up", path=f"p{n}")
            clock.advance(1)
    return path


def cp_row(path, seq):
    with sqlite3.connect(path) as s:
        return s.execute("SELECT signature, mldsa_signature FROM checkpoints WHERE seq = ?", (seq,)).fetchone()


def flip(data: bytes, at: int = 10) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1:]


def test_every_checkpoint_carries_both_signatures_and_verifies_intact(db, key):
    rows = sqlite3.connect(db).execute("SELECT signature, mldsa_signature FROM checkpoints").fetchall()
    assert len(rows) == RECORDS
    assert all(len(ed) == 128 and isinstance(ml, bytes) and len(ml) == MLDSA65_SIGNATURE_LEN for ed, ml in rows)
    data = load_sqlite(db)
    assert data.mldsa_public == key.public.mldsa
    for mode in ("all", "needed"):
        verdict = verify(data.records, data.checkpoints, key.public, signatures=mode)
        assert (verdict.status, verdict.signatures, verdict.hybrid_seq) == ("intact", "Ed25519 + ML-DSA-65", RECORDS)
    assert verify(data.records, data.checkpoints, key.public).signatures_checked == 2 * RECORDS


def _remove_ed(s, seq, sig, ml):
    s.execute("UPDATE checkpoints SET signature = '' WHERE seq = ?", (seq,))


def _alter_ed(s, seq, sig, ml):
    s.execute("UPDATE checkpoints SET signature = ? WHERE seq = ?", (flip(bytes.fromhex(sig)).hex(), seq))


def _remove_ml(s, seq, sig, ml):
    s.execute("UPDATE checkpoints SET mldsa_signature = NULL WHERE seq = ?", (seq,))


def _alter_ml(s, seq, sig, ml):
    s.execute("UPDATE checkpoints SET mldsa_signature = ? WHERE seq = ?", (flip(ml, 2000), seq))


def _cut_ml(s, seq, sig, ml):
    s.execute("UPDATE checkpoints SET mldsa_signature = ? WHERE seq = ?", (ml[:-1], seq))


def _other_ml(s, seq, sig, ml):      # a valid ML-DSA-65 signature over the same bytes, by another key
    other = SigningKeys.generate().sign(*s.execute("SELECT seq, hash, wall_us FROM checkpoints WHERE seq = ?",
                                                   (seq,)).fetchone())
    s.execute("UPDATE checkpoints SET mldsa_signature = ? WHERE seq = ?",
              (base64.b64decode(other.mldsa_signature), seq))


TAMPERINGS = {
    "Ed25519 removed": (_remove_ed, "its Ed25519 signature is missing (removed)"),
    "Ed25519 altered": (_alter_ed, "its Ed25519 signature does not verify with the unit's key (forged or altered)"),
    "ML-DSA-65 removed": (_remove_ml, "its ML-DSA-65 signature is missing, but its Ed25519 signature says it was "
                                      "signed with both (removed)"),
    "ML-DSA-65 altered": (_alter_ml, "its ML-DSA-65 signature does not verify with the unit's key (forged or altered)"),
    "ML-DSA-65 cut short": (_cut_ml, "its ML-DSA-65 signature (mldsa_signature) is 3308 bytes; expected 3309 (altered)"),
    "ML-DSA-65 by another key": (_other_ml, "its ML-DSA-65 signature does not verify with the unit's key "
                                            "(forged or altered)"),
}


@pytest.mark.parametrize("how", TAMPERINGS)
def test_either_signature_removed_or_altered_fails_and_the_verdict_says_which(db, key, tmp_path, capsys, how):
    tamper, said = TAMPERINGS[how]
    with unlock(db) as s:
        tamper(s, TARGET, *cp_row(db, TARGET))
    data = load_sqlite(db)
    verdict = verify(data.records, data.checkpoints, key.public)
    assert verdict.status == "TAMPERED" and not verdict.ok
    assert [(p.seq, p.what) for p in verdict.problems] == [(TARGET, f"checkpoint: {said}")]
    assert verdict.checkpoints == RECORDS - 1 and verdict.hybrid_seq == RECORDS   # the others still stand
    # The auditor's command names the file, the record and the signature.
    ident = identity_file(tmp_path / "identity.json", key)
    assert run("journal", "verify", "--db", str(db), "--public-key", str(ident)) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"TAMPERED: {db}: 1 problem(s); first: record {TARGET}: checkpoint: {said}")


@pytest.mark.parametrize("how", ["ML-DSA-65 removed", "ML-DSA-65 altered", "Ed25519 removed"])
def test_the_last_checkpoint_tampered_is_caught_by_the_units_own_check_too(db, key, how):
    """signatures='needed' (the power-on check) checks the highest checkpoint: both of its signatures."""
    tamper, said = TAMPERINGS[how]
    with unlock(db) as s:
        tamper(s, RECORDS, *cp_row(db, RECORDS))
    data = load_sqlite(db)
    verdict = verify(data.records, data.checkpoints, key.public, signatures="needed")
    assert verdict.status == "TAMPERED" and verdict.problems[0].what == f"checkpoint: {said}"
    assert verdict.problems[0].seq == RECORDS and verdict.last_checkpoint_seq == RECORDS - 1


def test_every_ml_dsa_signature_stripped_is_tampered_not_an_old_journal(db, key):
    """The Ed25519 signatures cover bytes that name ML-DSA-65: stripping them all is still seen."""
    with unlock(db) as s:
        s.execute("UPDATE checkpoints SET mldsa_signature = NULL")
    data = load_sqlite(db)
    verdict = verify(data.records, data.checkpoints, key.public)
    assert verdict.status == "TAMPERED" and verdict.problem_count == RECORDS
    assert all("ML-DSA-65 signature is missing" in p.what for p in verdict.problems)
    alone = verify(data.records, data.checkpoints, key.public.ed25519)      # even with the Ed25519 key alone
    assert alone.status == "TAMPERED"


def test_a_bare_ed25519_key_is_never_told_intact(db, key):
    data = load_sqlite(db)
    verdict = verify(data.records, data.checkpoints, key.public.ed25519)
    assert (verdict.status, verdict.ok, verdict.mldsa_checked) == ("ED25519 ONLY", False, False)
    assert verdict.reason.startswith("only the Ed25519 signatures were checked (no ML-DSA-65 key was given")


def test_a_journal_signed_with_the_right_ed25519_but_another_ml_dsa_key_is_wrong_key(tmp_path, key, clock):
    path = tmp_path / "other.sqlite"
    other = SigningKeys(key.ed25519, SigningKeys.generate().mldsa)
    with open_journal(path, other, clock) as journal:
        journal.append("boot", version="1")
    data = load_sqlite(path)
    verdict = verify(data.records, data.checkpoints, key.public, claimed_key=data.claimed_keys)
    assert verdict.status == "WRONG KEY"
    assert verdict.reason == "validly signed, but by a different ML-DSA-65 key than the one expected"
    assert verdict.signer_mldsa == other.public.mldsa


def test_a_json_export_carries_both_signatures_and_a_missing_one_is_named_not_refused(db, key, tmp_path):
    doc = json.loads(to_json(load_sqlite(db)))
    assert doc["version"] == 2 and doc["mldsa_public"] == key.public.mldsa.hex()
    assert all(len(base64.b64decode(c["mldsa_signature"])) == MLDSA65_SIGNATURE_LEN for c in doc["checkpoints"])
    del doc["checkpoints"][TARGET - 1]["signature"]
    doc["checkpoints"][1]["mldsa_signature"] = "not base64!"
    path = tmp_path / "export.json"
    path.write_text(json.dumps(doc))
    data = load(path)
    verdict = verify(data.records, data.checkpoints, key.public)
    assert [(p.seq, p.what) for p in verdict.problems] == [
        (2, "checkpoint: its ML-DSA-65 signature (mldsa_signature) is not valid base64 (altered)"),
        (TARGET, "checkpoint: its Ed25519 signature is missing (removed)")]


def test_an_ml_dsa_column_that_is_not_bytes_is_an_error_naming_file_and_field(db):
    with unlock(db) as s:
        s.execute("UPDATE checkpoints SET mldsa_signature = 42 WHERE seq = 3")
    with pytest.raises(JournalFormatError, match=rf"^{db}: checkpoint at 3: 'mldsa_signature' must be the ML-DSA-65 "
                                                 r"signature's bytes, got int"):
        load_sqlite(db)


# -- the peer's witness -------------------------------------------------------------------

def test_witnessed_checkpoints_carry_both_and_a_stripped_copy_is_not_evidence(db, key):
    data = load_sqlite(db)
    witnessed = [Witnessed(cp, cp.wall_us + 1, 100 + i) for i, cp in enumerate(data.checkpoints)]
    verdict = verify(data.records, data.checkpoints, key.public, witnessed=witnessed)
    assert verdict.ok and verdict.witness.matched == RECORDS and verdict.witness.foreign == 0
    stripped = [Witnessed(replace(w.checkpoint, mldsa_signature=None), w.witnessed_us, w.peer_seq)
                for w in witnessed]
    verdict = verify(data.records, data.checkpoints, key.public, witnessed=stripped)
    assert verdict.witness.matched == 0 and verdict.witness.foreign == RECORDS


# -- journals from before ML-DSA-65 (format 1) ---------------------------------------------

FORMAT_1_SCHEMA = """
CREATE TABLE records (seq INTEGER PRIMARY KEY, wall_us INTEGER NOT NULL, mono_us INTEGER NOT NULL,
    boot_id TEXT NOT NULL, kind TEXT NOT NULL, call_id TEXT, fields TEXT NOT NULL, prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL);
CREATE TABLE checkpoints (seq INTEGER NOT NULL, hash TEXT NOT NULL, wall_us INTEGER NOT NULL, signature TEXT NOT NULL);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def format_1_journal(path, ed_key, records=4):
    """A journal as firmware before ML-DSA-65 wrote it: the format-1 table, Ed25519-only checkpoints."""
    classical = SigningKeys(ed_key, None)
    db = sqlite3.connect(path)
    db.executescript(FORMAT_1_SCHEMA)
    db.execute("INSERT INTO meta VALUES ('format', '1'), ('public_key', ?)", (classical.public.ed25519.hex(),))
    prev = canonical.GENESIS_HASH
    for seq in range(1, records + 1):
        body = {"seq": seq, "wall_us": 1_790_000_000_000_000 + seq, "mono_us": seq, "boot_id": "old",
                "kind": "link_up", "call_id": None, "fields": {"path": "p"}, "prev_hash": prev}
        prev = canonical.record_hash(body)
        db.execute("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (seq, body["wall_us"], seq, "old", "link_up", None, '{"path":"p"}', body["prev_hash"], prev))
        cp = classical.sign(seq, prev, body["wall_us"])
        db.execute("INSERT INTO checkpoints VALUES (?, ?, ?, ?)", (cp.seq, cp.hash, cp.wall_us, cp.signature))
    db.commit()
    db.close()
    return path


def test_a_format_1_journal_is_reported_as_ed25519_only_explicitly(tmp_path, key):
    path = format_1_journal(tmp_path / "old.sqlite", key.ed25519)
    data = load_sqlite(path)
    assert all(not cp.hybrid for cp in data.checkpoints) and data.mldsa_public is None
    verdict = verify(data.records, data.checkpoints, key.public, claimed_key=data.claimed_keys)
    assert (verdict.status, verdict.ok, verdict.signatures) == ("ED25519 ONLY", False, "Ed25519 only")
    assert verdict.reason.startswith("its records are covered by valid Ed25519 signatures but by no ML-DSA-65 "
                                     "signature: a journal from before the unit had its ML-DSA-65 key")
    assert verdict.ed25519_only_checkpoints == 4 and verdict.problem_count == 0


def test_a_format_1_journal_is_migrated_continued_and_then_intact(tmp_path, key, clock):
    path = format_1_journal(tmp_path / "journal.sqlite", key.ed25519)
    before = load_sqlite(path)
    with open_journal(path, key, clock) as journal:       # the upgraded unit opens it
        journal.append("boot", version="2")
    with sqlite3.connect(path) as s:
        assert dict(s.execute("SELECT key, value FROM meta"))["format"] == "2"
        assert [c[1] for c in s.execute("PRAGMA table_info(checkpoints)")][-1] == "mldsa_signature"
    data = load_sqlite(path)
    assert data.records[:4] == before.records and data.checkpoints[:4] == before.checkpoints   # left as signed
    verdict = verify(data.records, data.checkpoints, key.public)
    assert (verdict.status, verdict.hybrid_seq, verdict.first_hybrid_seq) == ("intact", 5, 5)
    assert verdict.ed25519_only_checkpoints == 4
    text = audit(data, ExpectedKey(key.public.ed25519, mldsa_public=key.public.mldsa)).describe()
    assert ("  4 checkpoint(s) before record 5 carry Ed25519 only (written before the unit had its ML-DSA-65 key); "
            "the hybrid checkpoint at record 5 covers them through the hash chain") in text.splitlines()


def test_an_ed25519_only_checkpoint_after_a_hybrid_one_is_tampered(tmp_path, key, clock):
    path = format_1_journal(tmp_path / "journal.sqlite", key.ed25519)
    with open_journal(path, key, clock) as journal:
        journal.append("boot", version="2")
        journal.append("link_up", path="q")
    last = load_sqlite(path).records[-1]
    downgraded = SigningKeys(key.ed25519, None).sign(last.seq, last.hash, last.wall_us + 1)
    with unlock(path) as s:        # as firmware without ML-DSA-65, or a forger of Ed25519, would add it
        s.execute("INSERT INTO checkpoints VALUES (?, ?, ?, ?, NULL)",
                  (downgraded.seq, downgraded.hash, downgraded.wall_us, downgraded.signature))
    data = load_sqlite(path)
    for mode in ("all", "needed"):
        verdict = verify(data.records, data.checkpoints, key.public, signatures=mode)
        assert verdict.status == "TAMPERED"
        assert verdict.problems[0].what.startswith(
            "the checkpoint carries an Ed25519 signature only, but the one at record 5 before it is signed with "
            "ML-DSA-65 too")


def test_a_hybrid_signer_never_continues_with_ed25519_alone(tmp_path, key, clock):
    path = tmp_path / "j.sqlite"
    with open_journal(path, key, clock) as journal:
        journal.append("boot", version="2")
    with pytest.raises(JournalFormatError, match="would downgrade it"):
        open_journal(path, SigningKeys(key.ed25519, None), clock)


def test_a_newer_journal_format_is_refused_by_name(tmp_path, key, clock):
    path = tmp_path / "j.sqlite"
    open_journal(path, key, clock).close()
    with sqlite3.connect(path) as s:
        s.execute("UPDATE meta SET value = '3' WHERE key = 'format'")
    with pytest.raises(JournalFormatError, match="journal format 3; this firmware writes format 2 and reads 1, 2"):
        open_journal(path, key, clock)
