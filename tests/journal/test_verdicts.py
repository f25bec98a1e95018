"""Each verdict an auditor can get from `hotline journal verify`, produced the way it happens:
a tamperer with sqlite3 on the real file, a mixed-up bundle, a peer's witness journal."""

from __future__ import annotations

import argparse
import json

import pytest

from terminal.journal import canonical, load_sqlite
from terminal.journal.commands import register
from terminal.journal.errors import JournalFormatError, JournalRewritten
from terminal.journal.verify import Witnessed, verify
from terminal.keys import generate_keys
from terminal.provisioning.bundle import make_bundle
from tests.journal.helpers import call, open_journal, unlock


def run(*argv) -> int:
    parser = argparse.ArgumentParser(prog="hotline")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args([str(a) for a in argv])
    return args.func(args)


@pytest.fixture
def unit(tmp_path):
    """A unit's keys and its bundle file, as `hotline-host export` writes it."""
    keys = generate_keys(tmp_path / "keys-a")
    bundle = tmp_path / "A.bundle.json"
    bundle.write_text(json.dumps(make_bundle(keys, "alpha", ["192.0.2.1:4870"], "pair-1")))
    return keys, bundle


@pytest.fixture
def journal(tmp_path, unit, clock):
    """Fourteen records, each signed as the unit signs them."""
    keys, _ = unit
    path = tmp_path / "A.sqlite"
    with open_journal(path, keys.journal_signer, clock, unit="alpha", static_public=keys.identity.static_public,
                      mlkem_public=keys.identity.mlkem_public) as j:
        j.append("boot", version="1")
        for n in range(1, 4):
            call(j, clock, f"c{n}", answer_after=2.0 if n != 2 else None)
            clock.advance(60)
        j.append("message_read", message_id="m1", precedence="FLASH")
    return path


def verdict_of(path, unit, *extra) -> dict:
    return json.loads(_out(path, unit, "--json", *extra))


def _out(path, unit, *extra) -> str:
    import contextlib
    import io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = run("journal", "verify", "--db", path, "--bundle", unit[1], *extra)
    return json.dumps({"code": code, **json.loads(buf.getvalue())}) if "--json" in extra else buf.getvalue()


def records_count(path) -> int:
    return len(load_sqlite(path).records)


def test_a_whole_journal_is_intact_and_named_by_its_spoken_fingerprint(journal, unit):
    v = verdict_of(journal, unit)
    assert (v["code"], v["status"], v["unsigned"]) == (0, "intact", 0)
    assert v["expected_fingerprint"] == unit[0].identity.fingerprint


def test_no_checkpoint_at_all_is_no_signature(journal, unit):
    with unlock(journal) as s:
        s.execute("DELETE FROM checkpoints")
    v = verdict_of(journal, unit)
    assert (v["code"], v["status"]) == (1, "NO SIGNATURE")
    assert f"none of its {records_count(journal)} records is covered" in v["reason"]


def test_a_journal_written_without_a_key_is_no_signature(tmp_path, unit, clock):
    path = tmp_path / "keyless.sqlite"
    with open_journal(path, None, clock) as j:
        j.append("boot", version="1")
    assert verdict_of(path, unit)["status"] == "NO SIGNATURE"


def test_tail_cut_with_its_checkpoint_is_unsigned(journal, unit):
    with unlock(journal) as s:
        s.execute("DELETE FROM records WHERE seq > 9")
        s.execute("DELETE FROM checkpoints WHERE seq > 6")
    v = verdict_of(journal, unit)
    assert (v["code"], v["status"], v["unsigned"], v["last_checkpoint_seq"]) == (1, "UNSIGNED", 3, 6)
    assert "may have been cut or rewritten" in v["reason"]


def test_a_forged_record_after_the_last_checkpoint_is_unsigned(journal, unit):
    data = load_sqlite(journal)
    last = data.records[-1]
    body = {**last.body(), "seq": last.seq + 1, "kind": "answered", "call_id": "c2",
            "fields": {"time_to_answer_ms": 900}, "prev_hash": last.hash}
    with unlock(journal) as s:
        s.execute("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  (body["seq"], body["wall_us"], body["mono_us"], body["boot_id"], "answered", "c2",
                   '{"time_to_answer_ms":900}', last.hash, canonical.record_hash(body)))
    v = verdict_of(journal, unit)
    assert (v["code"], v["status"], v["unsigned"]) == (1, "UNSIGNED", 1)


def test_edit_rechain_and_strip_is_unsigned_and_caught_by_the_witness(journal, unit, tmp_path):
    data = load_sqlite(journal)
    witnessed = [Witnessed(cp, cp.wall_us + 50_000, 100 + i) for i, cp in enumerate(data.checkpoints)]
    with unlock(journal) as s:     # call c2 was missed; make it answered and rechain from there
        prev = data.records[5].hash
        for rec in data.records[6:]:
            fields = {"rang_for_ms": 1} if rec.kind == "missed" else rec.fields
            body = {**rec.body(), "fields": fields, "prev_hash": prev}
            prev = canonical.record_hash(body)
            s.execute("UPDATE records SET fields = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                      (canonical.encode(fields).decode(), body["prev_hash"], prev, rec.seq))
        s.execute("DELETE FROM checkpoints WHERE seq > 6")
    alone = verify(load_sqlite(journal).records, load_sqlite(journal).checkpoints, unit[0].identity.journal_public)
    assert alone.status == "UNSIGNED"
    held = verify(load_sqlite(journal).records, load_sqlite(journal).checkpoints,
                  unit[0].identity.journal_public, witnessed=witnessed)
    assert held.status == "TAMPERED"
    assert held.problems[0].seq == 9 and "has changed: the peer witnessed" in held.problems[0].what


def test_the_wrong_bundle_is_wrong_key_not_forgery(journal, unit, tmp_path):
    other = generate_keys(tmp_path / "keys-b")
    wrong = tmp_path / "B.bundle.json"
    wrong.write_text(json.dumps(make_bundle(other, "bravo", ["192.0.2.2:4870"], "pair-1")))
    text = _out(journal, (None, wrong))
    assert text.startswith("WRONG KEY: ")
    assert f"  signed by fingerprint {unit[0].identity.fingerprint}" in text.splitlines()
    assert f"  expected fingerprint  {other.identity.fingerprint} (from {wrong})" in text.splitlines()
    v = verdict_of(journal, (None, wrong))
    assert (v["code"], v["status"], v["signer"]) == (1, "WRONG KEY", unit[0].identity.signing_public.hex())


def _witness_journal(tmp_path, clock, signer_keys, checkpoints, peer_keys=None) -> object:
    """The peer's journal, holding `checkpoints` of the unit as peer_checkpoint records."""
    peer_keys = peer_keys or generate_keys(tmp_path / "keys-peer")
    path = tmp_path / "B.sqlite"
    with open_journal(path, peer_keys.journal_signer, clock, unit="bravo") as j:
        for cp in checkpoints:
            j.append("peer_checkpoint", seq=cp.seq, hash=cp.hash, wall_us=cp.wall_us, signature=cp.signature,
                     mldsa_signature=cp.mldsa_signature, signer=signer_keys.identity.signing_public.hex(),
                     peer="alpha")
    return path


def test_a_cut_behind_a_witnessed_checkpoint_is_caught_only_with_the_witness(journal, unit, tmp_path, clock):
    witness = _witness_journal(tmp_path, clock, unit[0], load_sqlite(journal).checkpoints[:9])
    with unlock(journal) as s:
        s.execute("DELETE FROM records WHERE seq > 7")
        s.execute("DELETE FROM checkpoints WHERE seq > 7")
    alone = verdict_of(journal, unit)
    assert (alone["code"], alone["status"]) == (0, "intact")       # the limit of any hash chain
    held = verdict_of(journal, unit, "--witness", witness)
    assert (held["code"], held["status"]) == (1, "TAMPERED")
    assert held["problems"][0]["seq"] == 8
    assert "is missing: the peer witnessed this unit's checkpoint at record 8 on 2026-" in held["problems"][0]["what"]
    assert held["witness"]["matched"] == 7


def test_an_untouched_journal_matches_its_witness(journal, unit, tmp_path, clock):
    witness = _witness_journal(tmp_path, clock, unit[0], load_sqlite(journal).checkpoints)
    v = verdict_of(journal, unit, "--witness", witness)
    assert (v["code"], v["status"], v["witness"]["matched"], v["witness"]["last_seq"]) == (0, "intact", 14, 14)
    assert f"witness {witness}: 14 of its checkpoints witnessed by the peer, the last at record 14" in \
        _out(journal, unit, "--witness", witness)


def test_a_witness_from_another_pair_is_refused(journal, unit, tmp_path, clock):
    stranger = generate_keys(tmp_path / "keys-x")
    other_journal = tmp_path / "X.sqlite"
    with open_journal(other_journal, stranger.journal_signer, clock) as j:
        j.append("boot", version="1")
    foreign = _witness_journal(tmp_path, clock, stranger, load_sqlite(other_journal).checkpoints)
    with pytest.raises(JournalFormatError, match="a witness journal from a different pair"):
        run("journal", "verify", "--db", journal, "--bundle", unit[1], "--witness", foreign)


@pytest.mark.parametrize("content, message", [
    (b"not a journal at all", "not a JSON journal export"),
    (b"SQLite format 3\x00" + b"\x00" * 200, "not a hotline journal"),
])
def test_a_file_that_is_not_a_journal_is_one_clear_error(tmp_path, unit, content, message):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(content)
    with pytest.raises(JournalFormatError, match=message):
        run("journal", "verify", "--export", bad, "--bundle", unit[1])


def test_a_bundle_that_is_not_a_bundle_is_one_clear_error(journal, tmp_path):
    bad = tmp_path / "bundle.json"
    bad.write_text('{"bundle": {}, "signature": ""}')
    with pytest.raises(JournalFormatError, match=f"{bad}: not a valid identity bundle"):
        run("journal", "verify", "--db", journal, "--bundle", bad)


def test_the_cli_exits_2_with_one_line_on_bad_input(tmp_path, capsys):
    from terminal.cli import main
    bad = tmp_path / "bad.sqlite"
    bad.write_text("hello")
    assert main(["journal", "verify", "--export", str(bad), "--public-key", "00" * 32]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{bad}: not a JSON journal export" in err


def test_a_gap_is_shown_and_does_not_hide_behind_intact(tmp_path, unit, clock):
    keys, _ = unit
    path = tmp_path / "gap.sqlite"
    with open_journal(path, keys.journal_signer, clock) as j:
        j.append("boot", version="1")
        j.append("gap", lost=13, kinds="ring_started:2,answered:2,missed:1", from_us=1, to_us=2,
                 reason="disk full")
    text = _out(path, unit)
    assert text.startswith("intact: ")
    assert "  record 2: GAP of 13 record(s) the unit could not write (ring_started:2,answered:2,missed:1; disk full)" \
        in text.splitlines()
    assert verdict_of(path, unit)["gaps"][0]["lost"] == 13


# -- the unit's own side: the head file ---------------------------------------------------


def test_a_unit_never_signs_a_journal_rewritten_behind_its_back(tmp_path, unit, clock):
    keys, _ = unit
    path, head = tmp_path / "journal.sqlite", tmp_path / "journal.head"
    with open_journal(path, keys.journal_signer, clock, head_path=head) as j:
        for n in range(5):
            j.append("link_up", path=f"p{n}")
    data = load_sqlite(path)
    with unlock(path) as s:                    # cut the tail and its checkpoints
        s.execute("DELETE FROM records WHERE seq > 3")
        s.execute("DELETE FROM checkpoints WHERE seq > 3")
    with pytest.raises(JournalRewritten, match="the journal ends at record 3, but this unit last wrote record 5"):
        open_journal(path, keys.journal_signer, clock, head_path=head)
    with unlock(path) as s:                    # or put records 4..5 back with 5 edited
        for rec in data.records[3:]:
            s.execute("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      (rec.seq, rec.wall_us, rec.mono_us, rec.boot_id, rec.kind, rec.call_id,
                       canonical.encode(rec.fields).decode(), rec.prev_hash,
                       rec.hash if rec.seq < 5 else "ee" * 32))
    with pytest.raises(JournalRewritten, match="record 5 is not the record this unit wrote"):
        open_journal(path, keys.journal_signer, clock, head_path=head)
    assert len(load_sqlite(path).checkpoints) == 3      # nothing signed


def test_records_appended_by_someone_else_are_not_signed(tmp_path, unit, clock):
    keys, _ = unit
    path, head = tmp_path / "journal.sqlite", tmp_path / "journal.head"
    with open_journal(path, keys.journal_signer, clock, head_path=head) as j:
        j.append("boot", version="1")
        last = load_sqlite(path).records[-1]
        body = {**last.body(), "seq": 2, "kind": "link_up", "fields": {}, "prev_hash": last.hash}
        with unlock(path) as s:
            s.execute("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      (2, last.wall_us, last.mono_us, last.boot_id, "link_up", None, "{}", last.hash,
                       canonical.record_hash(body)))
        with pytest.raises(JournalRewritten, match="the journal.s last record is 2, not record 1"):
            j.append("link_up", path="p")
    assert max(cp.seq for cp in load_sqlite(path).checkpoints) == 1


def test_a_power_cut_before_the_head_file_is_written_is_tolerated(tmp_path, unit, clock):
    """The transaction committed, the head write did not happen: one signed transaction past the head."""
    keys, _ = unit
    path, head = tmp_path / "journal.sqlite", tmp_path / "journal.head"
    with open_journal(path, keys.journal_signer, clock, head_path=head) as j:
        j.append("boot", version="1")
        saved = head.read_bytes()
        j.append_many([("link_up", None, {}), ("link_down", None, {"reason": "x"})])
    head.write_bytes(saved)          # as if the power went before the head's rename
    with open_journal(path, keys.journal_signer, clock, head_path=head) as j:
        j.append("boot", version="1")
    assert verify(load_sqlite(path).records, load_sqlite(path).checkpoints,
                  unit[0].identity.journal_public).status == "intact"
