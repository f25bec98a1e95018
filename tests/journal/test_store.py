"""The writer on a real SQLite file: chaining, reopening, checkpoint timing, clock steps."""

import sqlite3

import pytest
from terminal.journal import JournalFieldError, JournalFormatError, load_sqlite, verify
from terminal.journal.outcome import summarize_call
from terminal.journal.signatures import SigningKeys
from terminal.journal.store import public_key_bytes
from tests.journal.helpers import call, open_journal


def test_records_chain_and_come_back_in_order(tmp_path, key, clock):
    with open_journal(tmp_path / "j.db", key, clock) as j:
        a = j.append("boot", version="1")
        b = j.append("link_up")
    assert (a.seq, b.seq, b.prev_hash) == (1, 2, a.hash)
    assert load_sqlite(tmp_path / "j.db").records == [a, b]


def test_wal_mode_is_set_on_the_file(tmp_path, key, clock):
    open_journal(tmp_path / "j.db", key, clock).close()
    assert sqlite3.connect(tmp_path / "j.db").execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_reopening_continues_the_chain_past_the_last_checkpoint(tmp_path, key, clock):
    path = tmp_path / "j.db"
    j = open_journal(path, key, clock, checkpoint_every=10)
    for _ in range(3):
        j.append("link_up")
    del j  # dropped without close(), as a crash leaves it: nothing signed yet
    with open_journal(path, key, clock, checkpoint_every=10) as j2:
        rec = j2.append("link_down", reason="test")
    assert rec.seq == 4
    data = load_sqlite(path)
    verdict = verify(data.records, data.checkpoints, key.public)
    assert verdict.ok and verdict.last_checkpoint_seq == 4


def test_checkpoint_every_n_records(tmp_path, key, clock):
    with open_journal(tmp_path / "j.db", key, clock, checkpoint_every=3, checkpoint_seconds=1e6) as j:
        for _ in range(7):
            j.append("link_up")
    assert [c.seq for c in load_sqlite(tmp_path / "j.db").checkpoints] == [3, 6, 7]  # 7 by close()


def test_checkpoint_after_m_seconds_through_the_timer(tmp_path, key, clock):
    j = open_journal(tmp_path / "j.db", key, clock, checkpoint_every=1000, checkpoint_seconds=60)
    assert j.get_timer() is None  # nothing unsigned
    j.append("link_up")
    assert j.get_timer() == pytest.approx(clock.mono / 1e9 + 60)
    clock.advance(59)
    assert j.handle_timer() is None
    clock.advance(1)
    cp = j.handle_timer()
    assert cp is not None and cp.seq == 1 and j.get_timer() is None
    j.close()
    assert len(load_sqlite(tmp_path / "j.db").checkpoints) == 1  # close() had nothing new to sign


def test_append_after_m_seconds_signs_itself(tmp_path, key, clock):
    with open_journal(tmp_path / "j.db", key, clock, checkpoint_every=1000, checkpoint_seconds=60) as j:
        j.append("link_up")
        clock.advance(61)
        j.append("link_down")
        assert [c.seq for c in load_sqlite(tmp_path / "j.db").checkpoints] == [2]


def test_close_is_idempotent_and_refuses_later_appends(tmp_path, key, clock):
    j = open_journal(tmp_path / "j.db", key, clock)
    j.append("boot")
    j.close()
    j.close()
    with pytest.raises(JournalFormatError, match="the journal is closed"):
        j.append("boot")


def test_clock_step_is_journalled_before_the_next_record(tmp_path, key, clock):
    with open_journal(tmp_path / "j.db", key, clock) as j:
        j.append("link_up")
        clock.advance(10)
        clock.step_wall(-3600)
        rec = j.append("link_down")
    kinds = [(r.kind, r.fields) for r in load_sqlite(tmp_path / "j.db").records]
    assert kinds == [("link_up", {}), ("clock_step", {"step_us": -3_600_000_000}), ("link_down", {})]
    assert rec.seq == 3


def test_small_drift_is_not_a_clock_step(tmp_path, key, clock):
    with open_journal(tmp_path / "j.db", key, clock) as j:
        j.append("link_up")
        clock.step_wall(1.5)
        j.append("link_down")
    assert [r.kind for r in load_sqlite(tmp_path / "j.db").records] == ["link_up", "link_down"]


def test_bad_fields_write_nothing(tmp_path, key, clock):
    with open_journal(tmp_path / "j.db", key, clock) as j:
        with pytest.raises(JournalFieldError):
            j.append("answered", call_id="c1", time_to_answer_ms="soon")
        assert j.last_seq == 0


def test_a_journal_refuses_a_different_key(tmp_path, key, clock):
    open_journal(tmp_path / "j.db", key, clock).close()
    with pytest.raises(JournalFormatError, match="signed by another key"):
        open_journal(tmp_path / "j.db", SigningKeys.generate(), clock)
    with pytest.raises(JournalFormatError, match="signed with ML-DSA-65 too, by another ML-DSA-65 key"):
        open_journal(tmp_path / "j.db", SigningKeys(key.ed25519, SigningKeys.generate().mldsa), clock)
    with pytest.raises(JournalFormatError, match="continuing it with Ed25519 alone would downgrade it"):
        open_journal(tmp_path / "j.db", SigningKeys(key.ed25519, None), clock)
    with pytest.raises(TypeError, match="SigningKeys"):
        open_journal(tmp_path / "j.db", key.ed25519, clock)


def test_records_for_one_call_and_its_summary(tmp_path, key, clock):
    with open_journal(tmp_path / "j.db", key, clock) as j:
        call(j, clock, "a", answer_after=4.0, talk=30)
        call(j, clock, "b", miss_after=60)
        assert summarize_call(j.records("a")) == {
            "outcome": "answered", "escalations": 0, "peer_seq": 4, "direction": "incoming",
            "time_to_answer_ms": 4200, "duration_ms": 30_000, "who_hung_up": "peer"}
        summary = summarize_call(j.records("b"))
        assert summary == {"outcome": "missed", "escalations": 1, "peer_seq": 8, "direction": "incoming",
                           "rang_for_ms": 60_200}
        j.append("peer_call_outcome", call_id="b", **summary)  # the peer's copy is a valid record


def test_appends_from_worker_threads_keep_one_chain(tmp_path, key, clock):
    from concurrent.futures import ThreadPoolExecutor
    with open_journal(tmp_path / "j.db", key, clock, checkpoint_every=7) as j:
        with ThreadPoolExecutor(4) as pool:
            seqs = list(pool.map(lambda i: j.append("message_sent", message_id=f"m{i}").seq, range(60)))
    assert sorted(seqs) == list(range(1, 61))
    data = load_sqlite(tmp_path / "j.db")
    assert verify(data.records, data.checkpoints, key.public).ok


def test_unopenable_path_is_a_clear_error(tmp_path, key, clock):
    with pytest.raises(JournalFormatError, match="cannot open the journal"):
        open_journal(tmp_path / "no-such-dir" / "j.db", key, clock)


def test_without_a_key_records_chain_unsigned_until_the_key_is_back(tmp_path, key, clock):
    path = tmp_path / "j.db"
    with open_journal(path, None, clock, checkpoint_every=1, checkpoint_seconds=1) as j:
        for _ in range(3):
            j.append("selftest", check="keystore", passed=False, detail="key file unusable")
            clock.advance(2)
        assert j.get_timer() is None and j.handle_timer() is None and j.checkpoint() is None
    data = load_sqlite(path)
    assert len(data.records) == 3 and data.checkpoints == []
    assert verify(data.records, data.checkpoints, key.public).unsigned_tail == 3

    with open_journal(path, key, clock) as j:                   # the key mended: the chain goes on
        j.append("boot")
    data = load_sqlite(path)
    verdict = verify(data.records, data.checkpoints, key.public)
    assert verdict.ok and verdict.records == 4 and verdict.unsigned_tail == 0
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'public_key'").fetchone()[0] == \
            public_key_bytes(key).hex()
