"""The outbox and inbox on a real SQLite file: states, restarts, a locked and a damaged database."""

import sqlite3

import pytest

from terminal.text import wire
from terminal.text.errors import StoreError, TextRefused, UnknownMessage
from terminal.text.events import MessageReceived
from terminal.text.precedence import Precedence
from terminal.text.service import TextService
from terminal.text.store import MessageStore


@pytest.fixture
def pair(tmp_path):
    a, b = TextService(tmp_path / "a.db"), TextService(tmp_path / "b.db")
    for s in (a, b):
        s.start(0.0)
        s.on_peer_reachable(0.0)
    yield a, b
    a.close()
    b.close()


def hop(src: TextService, dst: TextService, now: float, keep=lambda i, p: True) -> int:
    payloads = [p for i, p in enumerate(src.payloads_to_send(now)) if keep(i, p)]
    for p in payloads:
        dst.on_payload(p, now)
    return len(payloads)


def states(service: TextService) -> dict[str, str]:
    return {m.id: m.state for m in service.list()}


def test_pragmas_are_wal_and_full_sync(tmp_path):
    store = MessageStore(tmp_path / "m.db")
    assert store.durability == ("wal", "full")
    store.close()


def test_states_go_queued_sent_delivered_read_on_both_sides(pair):
    a, b = pair
    a.on_peer_unreachable(1.0)
    id = a.send("hello", "flash", 1.0)
    assert states(a) == {id: "queued"}
    a.on_peer_reachable(2.0)
    assert states(a) == {id: "sent"}
    hop(a, b, 2.1)
    assert states(b) == {id: "received"}
    hop(b, a, 2.2)
    assert states(a) == {id: "delivered"}
    assert b.ack(id[:8], 3.0) == id
    hop(b, a, 3.1)
    assert states(a) == {id: "read"} and states(b) == {id: "read"}
    out = a.list()[0]
    assert (out.direction, out.sent_at, out.delivered_at, out.read_at) == ("out", 2.0, 2.2, 3.0)
    assert out.to_json()["precedence"] == "flash"


def test_a_restart_of_both_units_mid_transfer_delivers_once(tmp_path, pair):
    a, b = pair
    id = a.send("z" * 5000, Precedence.ROUTINE, 1.0)
    assert hop(a, b, 1.1, keep=lambda i, p: i < 2) == 2     # two of five fragments arrive
    a.close(), b.close()
    a, b = TextService(tmp_path / "a.db"), TextService(tmp_path / "b.db")
    for s in (a, b):
        s.start(5.0)
        s.on_peer_reachable(5.0)
    assert states(a) == {id: "sent"} and states(b) == {}
    hop(a, b, 5.1)
    hop(a, b, 5.2)                                            # nothing new: already all sent
    assert [e.id for e in iter(b.next_event, None) if isinstance(e, MessageReceived)] == [id]
    hop(b, a, 5.3)
    assert states(a) == {id: "delivered"}
    a.close(), b.close()


def test_a_replayed_message_id_under_a_new_sequence_number_is_shown_once(pair):
    a, b = pair
    id = a.send("once", "routine", 1.0)
    first = [wire.parse(p) for p in a.payloads_to_send(1.0)]
    for p in first:
        b.on_payload(bytes(p), 1.1)
    replay = wire.Data(**{**first[0].__dict__, "seq": 2})
    b.on_payload(bytes(replay), 1.2)
    assert [m.id for m in b.list()] == [id]
    assert [e.id for e in iter(b.next_event, None) if isinstance(e, MessageReceived)] == [id]


@pytest.mark.parametrize("text, precedence, message", [
    ("x" * (16 * 1024 + 1), "routine", "16385 bytes of UTF-8; the limit is 16384"),
    ("é" * (8 * 1024 + 1), "routine", "16386 bytes of UTF-8"),
    (b"caf\xe9", "routine", "not valid UTF-8 \\(byte 3"),
    ("\ud800", "routine", "not valid UTF-8 \\(character 0"),
    ("   ", "routine", "message is empty"),
    ("hi", "urgent", "unknown precedence 'urgent'; expected one of flash, immediate, priority, routine"),
])
def test_bad_input_is_refused_whole_and_nothing_is_queued(pair, text, precedence, message):
    a, _ = pair
    with pytest.raises(TextRefused, match=message):
        a.send(text, precedence, 1.0)
    assert a.list() == []


def test_the_longest_message_is_kept_whole(pair):
    a, b = pair
    text = "€" * (16 * 1024 // 3) + "a"
    id = a.send(text, "priority", 1.0)
    hop(a, b, 1.1)
    assert b.list()[0].text == text and b.list()[0].id == id


@pytest.mark.parametrize("given, message", [
    ("abc", "too short"), ("ffffffff", "no received message with id 'ffffffff'"),
])
def test_acknowledging_an_unknown_id_says_so(pair, given, message):
    with pytest.raises(UnknownMessage, match=message):
        pair[1].ack(given, 1.0)


def test_a_locked_database_refuses_clearly_and_loses_nothing(tmp_path):
    a = TextService(tmp_path / "a.db", store_timeout=0.05)
    b = TextService(tmp_path / "b.db", store_timeout=0.05)
    for s in (a, b):
        s.start(0.0)
        s.on_peer_reachable(0.0)
    kept = a.send("before the lock", "routine", 0.5)
    blocker = sqlite3.connect(tmp_path / "b.db", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    with pytest.raises(StoreError, match="locked by another process.*nothing was changed"):
        hop(a, b, 1.0)
    assert b.payloads_to_send(1.0) == []              # no delivery receipt for what is not stored
    lock_a = sqlite3.connect(tmp_path / "a.db", isolation_level=None)
    lock_a.execute("BEGIN EXCLUSIVE")
    with pytest.raises(StoreError, match="locked"):
        a.send("during the lock", "routine", 1.5)
    lock_a.execute("ROLLBACK")
    blocker.execute("ROLLBACK")
    a.handle_timer(2.0)                               # retransmission after the lock is gone
    hop(a, b, 2.0)
    hop(b, a, 2.1)
    assert states(a) == {kept: "delivered"} and states(b) == {kept: "received"}
    a.close(), b.close()


@pytest.mark.parametrize("content", [b"this is not a database" * 100, b"SQLite format 3\x00" + b"\xff" * 4000])
def test_a_damaged_database_is_reported_and_left_untouched(tmp_path, content):
    path = tmp_path / "m.db"
    path.write_bytes(content)
    with pytest.raises(StoreError, match="is damaged .* keep the file for inspection"):
        TextService(path)
    assert path.read_bytes() == content
