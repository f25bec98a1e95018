"""data/link.ratchet: the post-quantum ratchet's saved state (terminal/daemon/linkstate.py). Secret:
0600 whatever the umask, replaced atomically, refused loudly when damaged, ignored for another peer."""

import logging
import os
import stat

import pytest

from terminal.daemon.linkstate import RATCHET_FILE, load_ratchet, save_ratchet
from terminal.link import pq

PEER = bytes(range(32))


def a_state():
    ratchet = pq.Ratchet(confirmed=b"c" * 32, pending=b"p" * 32, peer_has_pending=True, previous=b"v" * 32,
                         offers_made=7, answered=0)
    return ratchet


def test_saved_0600_whatever_the_umask_and_read_back_whole(tmp_path):
    old = os.umask(0)
    try:
        save_ratchet(tmp_path / RATCHET_FILE, a_state(), PEER)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / RATCHET_FILE).stat().st_mode) == 0o600
    assert (tmp_path / RATCHET_FILE).stat().st_size == pq.STATE_LEN
    assert load_ratchet(tmp_path / RATCHET_FILE, PEER) == a_state()


def test_an_answerers_state_keeps_the_answer_it_sent(tmp_path):
    answer = bytes(pq.Answer(b"i" * pq.ID_LEN, b"t" * pq.CT_LEN))
    state = pq.Ratchet(confirmed=b"c" * 32, pending=b"p" * 32, answered=12, answer=answer)
    save_ratchet(tmp_path / RATCHET_FILE, state, PEER)
    assert load_ratchet(tmp_path / RATCHET_FILE, PEER) == state


def test_a_write_that_fails_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / RATCHET_FILE
    save_ratchet(path, pq.Ratchet(confirmed=b"o" * 32), PEER)

    def no_space(fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(OSError):
        save_ratchet(path, a_state(), PEER)
    monkeypatch.undo()
    assert load_ratchet(path, PEER).confirmed == b"o" * 32
    assert sorted(p.name for p in tmp_path.iterdir()) == [RATCHET_FILE]


def test_absent_for_another_peer_or_damaged_starts_fresh(tmp_path, caplog):
    path = tmp_path / RATCHET_FILE
    assert load_ratchet(path, PEER) == pq.Ratchet()
    save_ratchet(path, a_state(), PEER)
    assert load_ratchet(path, bytes(32)) == pq.Ratchet()          # re-paired: another peer's state
    path.write_bytes(path.read_bytes()[:-1])
    with caplog.at_level(logging.ERROR):
        assert load_ratchet(path, PEER) == pq.Ratchet()
    assert "not a ratchet state" in caplog.text
