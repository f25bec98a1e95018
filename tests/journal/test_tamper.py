"""Every kind of tampering, done with sqlite3 on the real file, is detected and located."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from terminal.journal import canonical
from terminal.journal.export import to_json
from terminal.journal.load import load, load_sqlite
from terminal.journal.schema import checkpoint_row
from terminal.journal.signatures import SigningKeys
from terminal.journal.verify import verify
from tests.journal.helpers import call, open_journal, unlock

RECORDS = 20  # checkpoints every 5: at 5, 10, 15, 20


@pytest.fixture
def db(tmp_path, key, clock):
    path = tmp_path / "journal.db"
    with open_journal(path, key, clock, checkpoint_every=5, checkpoint_seconds=1e6) as journal:
        journal.append("boot", version="1.0")
        n = 0
        while journal.last_seq < RECORDS - 3:  # boot + 4 calls of 4 records
            n += 1
            call(journal, clock, f"call-{n}", answer_after=3.0 if n % 2 else None)
            clock.advance(600)
        while journal.last_seq < RECORDS:
            journal.append("link_up", path="primary")
    return path


def check(path, key, extra_checkpoints=()):
    data = load_sqlite(path)
    return verify(data.records, [*data.checkpoints, *extra_checkpoints], key.public)


def first(verdict):
    assert not verdict.ok
    return verdict.problems[0]


def test_untouched_journal_verifies(db, key):
    verdict = check(db, key)
    assert verdict.ok, verdict.problems
    assert (verdict.records, verdict.checkpoints, verdict.last_checkpoint_seq, verdict.unsigned_tail) == (20, 4, 20, 0)


def test_edited_field_is_found_at_its_record(db, key):
    with unlock(db) as s:
        (fields,) = s.execute("SELECT fields FROM records WHERE seq = 7").fetchone()
        edited = {**json.loads(fields), "probe": 1}
        s.execute("UPDATE records SET fields = ? WHERE seq = 7", (json.dumps(edited),))
    p = first(check(db, key))
    assert p.seq == 7 and "edited" in p.what


def test_edited_kind_is_found(db, key):
    with unlock(db) as s:
        s.execute("UPDATE records SET kind = 'link_down', fields = '{}' WHERE seq = 12")
    p = first(check(db, key))
    assert p.seq == 12 and "edited" in p.what


def test_edited_hash_breaks_the_link_to_the_next_record(db, key):
    with unlock(db) as s:
        s.execute("UPDATE records SET hash = ? WHERE seq = 7", ("ab" * 32,))
    verdict = check(db, key)
    assert [p.seq for p in verdict.problems[:2]] == [7, 8]
    assert verdict.problems[0].what == "contents do not match the record's hash (edited)"
    assert "prev_hash does not match the hash of record 7" in verdict.problems[1].what


def test_edit_with_recomputed_hashes_is_caught_by_the_next_checkpoint(db, key):
    """A tamperer who rewrites the chain from record 7 on gets past every hash but not the signature."""
    data = load_sqlite(db)
    with unlock(db) as s:
        prev = data.records[5].hash
        for rec in data.records[6:]:
            fields = {**rec.fields, "detail": "rewritten"} if rec.seq == 7 else rec.fields
            body = {**rec.body(), "fields": fields, "prev_hash": prev}
            prev = canonical.record_hash(body)
            s.execute("UPDATE records SET fields = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                      (canonical.encode(fields).decode(), body["prev_hash"], prev, rec.seq))
    p = first(check(db, key))
    assert p.seq == 10
    assert "signed checkpoint at record 10" in p.what and "after record 5" in p.what


def test_deleted_record_is_found(db, key):
    with unlock(db) as s:
        s.execute("DELETE FROM records WHERE seq = 7")
    verdict = check(db, key)
    p = first(verdict)
    assert p.seq == 8 and p.what.startswith("record 7 is missing")


def test_inserted_record_is_found(db, key):
    """Renumber records 7.. up by one and slip a well-formed record in at 7."""
    data = load_sqlite(db)
    with unlock(db) as s:
        s.execute("UPDATE records SET seq = -seq WHERE seq >= 7")
        s.execute("UPDATE records SET seq = 1 - seq WHERE seq < 0")
        body = {**data.records[6].body(), "kind": "link_up", "call_id": None, "fields": {},
                "prev_hash": data.records[5].hash}
        s.execute("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  (7, body["wall_us"], body["mono_us"], body["boot_id"], "link_up", None, "{}",
                   body["prev_hash"], canonical.record_hash(body)))
    p = first(check(db, key))
    assert p.seq == 8 and "edited" in p.what  # the old record 7 no longer hashes with seq 8


def test_inserted_record_in_an_export_is_found(db, key, tmp_path):
    doc = json.loads(to_json(load_sqlite(db)))
    doc["records"].insert(7, dict(doc["records"][3]))
    path = tmp_path / "export.json"
    path.write_text(json.dumps(doc))
    data = load(path)
    p = first(verify(data.records, data.checkpoints, key.public))
    assert p.seq == 4 and "after record 7: out of order or duplicated" in p.what


def test_swapped_records_are_found(db, key):
    with unlock(db) as s:
        s.execute("UPDATE records SET seq = -1 WHERE seq = 7")
        s.execute("UPDATE records SET seq = 7 WHERE seq = 9")
        s.execute("UPDATE records SET seq = 9 WHERE seq = -1")
    verdict = check(db, key)
    assert verdict.problems[0].seq == 7 and "edited" in verdict.problems[0].what
    assert {p.seq for p in verdict.problems} >= {7, 8, 9, 10}


def test_reordered_export_is_found(db, key, tmp_path):
    doc = json.loads(to_json(load_sqlite(db)))
    doc["records"][6], doc["records"][8] = doc["records"][8], doc["records"][6]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(doc))
    data = load(path)
    verdict = verify(data.records, data.checkpoints, key.public)
    assert str(verdict.problems[0]) == "record 9: records 7..8 are missing before it (deleted)"
    assert any(p.seq == 7 and "out of order" in p.what for p in verdict.problems)


def test_tail_cut_past_a_checkpoint_is_found(db, key):
    with unlock(db) as s:
        s.execute("DELETE FROM records WHERE seq > 17")
    p = first(check(db, key))
    assert p.seq == 20 and "records end at 17: records 18..20 were cut off" in p.what


def test_tail_cut_with_its_checkpoints_is_found_against_an_earlier_export(db, key):
    earlier = load_sqlite(db).checkpoints
    with unlock(db) as s:
        s.execute("DELETE FROM records WHERE seq > 17")
        s.execute("DELETE FROM checkpoints WHERE seq > 15")
    alone = check(db, key)   # alone, the shortened file is consistent but says its tail is unsigned
    assert alone.status == "UNSIGNED" and alone.unsigned_tail == 2 and not alone.problems
    p = first(check(db, key, earlier))
    assert p.seq == 20 and "cut off" in p.what


def test_forged_checkpoint_signature_is_rejected(db, key):
    forged = Ed25519PrivateKey.generate().sign(b"anything").hex()
    with unlock(db) as s:
        s.execute("UPDATE checkpoints SET signature = ? WHERE seq = 15", (forged,))
    verdict = check(db, key)
    p = first(verdict)
    assert p.seq == 15 and "signature does not verify" in p.what
    assert verdict.checkpoints == 3


def test_journal_resigned_with_another_key_is_rejected(db, key):
    """A tamperer who rewrites everything and signs with their own key fails every checkpoint."""
    other = SigningKeys.generate()
    with unlock(db) as s:
        for seq, hash_, wall_us in s.execute("SELECT seq, hash, wall_us FROM checkpoints").fetchall():
            _, _, _, sig, mldsa = checkpoint_row(other.sign(seq, hash_, wall_us))
            s.execute("UPDATE checkpoints SET signature = ?, mldsa_signature = ? WHERE seq = ?", (sig, mldsa, seq))
    verdict = check(db, key)
    assert [p.seq for p in verdict.problems] == [5, 10, 15, 20]
    assert verdict.checkpoints == 0 and verdict.unsigned_tail == 20


def test_malformed_fields_column_is_reported_with_its_seq(db):
    from terminal.journal.errors import JournalFormatError
    with unlock(db) as s:
        s.execute("UPDATE records SET fields = '{not json' WHERE seq = 3")
    with pytest.raises(JournalFormatError, match="record 3: the fields column is not JSON"):
        load_sqlite(db)
