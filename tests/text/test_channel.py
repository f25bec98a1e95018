"""The channel core step by step on a fake clock."""

import pytest

from terminal.text import wire
from terminal.text.channel import TextChannel
from terminal.text.constants import CHUNK_BYTES, RECEIVE_AHEAD
from terminal.text.effects import Released, Stored
from terminal.text.events import MessageDelivered, MessageSent
from terminal.text.precedence import Precedence

A, B = b"A" * 8, b"B" * 8


def mid(n: int) -> bytes:
    return n.to_bytes(16, "big")


def effects(ch: TextChannel) -> list:
    out = []
    while (e := ch.next_effect()) is not None:
        out.append(e)
    return out


def sent(ch: TextChannel, now: float = 0.0) -> list:
    return [wire.parse(p) for p in ch.payloads_to_send(now)]


def test_messages_queued_during_an_outage_leave_by_precedence_then_age():
    ch = TextChannel(A)
    for n, (p, t) in enumerate([(Precedence.ROUTINE, 1), (Precedence.FLASH, 3), (Precedence.PRIORITY, 2),
                                (Precedence.FLASH, 2), (Precedence.IMMEDIATE, 4)]):
        ch.queue(mid(n), p, f"m{n}", t, now=t)
    assert sent(ch) == [] and ch.get_timer() is None
    ch.peer_reachable(10.0)
    order = [e.id for e in effects(ch) if isinstance(e, MessageSent)]
    assert order == [mid(n).hex() for n in (3, 1, 4, 2, 0)]
    assert [d.seq for d in sent(ch)] == [1, 2, 3, 4, 5]


def test_only_a_window_of_messages_is_in_flight():
    ch = TextChannel(A, window=2)
    ch.peer_reachable(0.0)
    for n in range(4):
        ch.queue(mid(n), Precedence.ROUTINE, "x", 0.0, now=0.0)
    assert [d.seq for d in sent(ch)] == [1, 2]
    ch.receive(bytes(wire.Ack(A, 1, 1)), 0.5)
    assert [d.seq for d in sent(ch)] == [3]
    assert [type(e) for e in effects(ch)] == [MessageSent, MessageSent, MessageDelivered, MessageSent]


@pytest.mark.parametrize("initial, maximum, expected", [
    (1.0, 30.0, [1, 3, 7, 15, 31, 61, 91]),
    (0.5, 2.0, [0.5, 1.5, 3.5, 5.5, 7.5]),
])
def test_retransmission_backs_off_exponentially_to_a_ceiling(initial, maximum, expected):
    ch = TextChannel(A, initial_rto=initial, max_rto=maximum)
    ch.peer_reachable(0.0)
    ch.queue(mid(1), Precedence.FLASH, "hello", 0.0, now=0.0)
    sent(ch)
    deadlines = []
    for _ in expected:
        deadlines.append(ch.get_timer())
        ch.handle_timer(deadlines[-1])
        assert [d.seq for d in sent(ch)] == [1]
    assert deadlines == expected


def test_an_outage_holds_retransmissions_and_the_return_resends_at_once():
    ch = TextChannel(A)
    ch.peer_reachable(0.0)
    ch.queue(mid(1), Precedence.FLASH, "hello", 0.0, now=0.0)
    sent(ch)
    ch.peer_unreachable(0.5)
    assert ch.get_timer() is None
    ch.handle_timer(100.0)
    assert sent(ch) == []
    ch.peer_reachable(200.0)
    assert [d.seq for d in sent(ch)] == [1]
    assert ch.get_timer() == 201.0


def test_only_fragments_not_yet_held_are_resent_and_a_forgetful_peer_gets_all_again():
    ch = TextChannel(A)
    ch.peer_reachable(0.0)
    ch.queue(mid(1), Precedence.ROUTINE, "y" * (CHUNK_BYTES * 2 + 1), 0.0, now=0.0)
    assert [d.index for d in sent(ch)] == [0, 1, 2]
    ch.receive(bytes(wire.Ack(A, 1, 0b101)), 0.1)
    ch.handle_timer(1.0)
    assert [d.index for d in sent(ch)] == [1]
    ch.receive(bytes(wire.Ack(A, 1, 0b010)), 1.1)       # the peer restarted and lost 0 and 2
    ch.handle_timer(3.0)
    assert [d.index for d in sent(ch)] == [0, 2]


def data(seq, index=0, count=1, chunk=b"hi", id=None, stream=B):
    return bytes(wire.Data(stream, seq, index, count, Precedence.ROUTINE, id or mid(seq), 5.0, chunk))


def test_the_receiver_stores_then_releases_in_order_and_acks_duplicates_in_full():
    ch = TextChannel(A)
    ch.receive(data(2), 1.0)
    assert effects(ch) == [Stored(B, 2, mid(2).hex(), Precedence.ROUTINE, "hi", 5.0, 1.0)]
    assert sent(ch) == [wire.Ack(B, 2, 1)]
    ch.receive(data(1), 2.0)
    assert effects(ch) == [Stored(B, 1, mid(1).hex(), Precedence.ROUTINE, "hi", 5.0, 2.0),
                           Released(B, 1, 3, 2.0)]
    for seq in (1, 2, 1):
        ch.receive(data(seq), 3.0)
    assert effects(ch) == [] and sent(ch)[-3:] == [wire.Ack(B, 1, 1), wire.Ack(B, 2, 1), wire.Ack(B, 1, 1)]


def test_fragments_in_any_order_make_one_message():
    ch = TextChannel(A)
    ch.receive(data(1, 2, 3, b"c"), 0.0)
    ch.receive(data(1, 0, 3, b"a"), 0.0)
    ch.receive(data(1, 0, 3, b"a"), 0.0)
    assert effects(ch) == [] and [a.received for a in sent(ch)] == [0b100, 0b101, 0b101]
    ch.receive(data(1, 1, 3, b"b"), 0.0)
    assert [e.text for e in effects(ch) if isinstance(e, Stored)] == ["abc"]
    assert sent(ch) == [wire.Ack(B, 1, 0b111)]


@pytest.mark.parametrize("payloads, reason", [
    ([b"\x09junk"], "malformed"),
    ([data(RECEIVE_AHEAD + 1)], "too far ahead"),
    ([data(1, 0, 2, b"a"), data(1, 1, 3, b"b")], "inconsistent fragment"),
    ([data(1, chunk=b"\xff\xfe")], "bad message body"),
    ([bytes(wire.Ack(B, 1, 1))], "foreign stream"),
    ([data(1, 0, 2, stream=bytes([n]) * 8) for n in range(RECEIVE_AHEAD + 1)], "too many partial messages"),
])
def test_bad_input_is_dropped_and_counted_never_stored(payloads, reason):
    ch = TextChannel(A)
    for payload in payloads:
        ch.receive(payload, 0.0)
    assert ch.dropped[reason] == 1
    assert [e for e in effects(ch) if isinstance(e, Stored)] == []


def test_a_read_receipt_implies_delivery_and_is_confirmed_every_time():
    ch = TextChannel(A)
    ch.peer_reachable(0.0)
    ch.queue(mid(1), Precedence.FLASH, "hello", 0.0, now=0.0)
    sent(ch)
    effects(ch)
    for _ in range(2):
        ch.receive(bytes(wire.Read(mid(1), 7.0)), 8.0)
        assert sent(ch) == [wire.ReadAck(mid(1))]
    kinds = [type(e).__name__ for e in effects(ch)]
    assert kinds == ["MessageDelivered", "MessageRead", "MessageRead"]
    assert ch.in_flight == 0


def test_a_read_receipt_is_resent_until_confirmed():
    ch = TextChannel(A, initial_rto=1.0)
    ch.peer_reachable(0.0)
    ch.send_read_receipt(mid(9), 0.0, 0.0)
    assert sent(ch) == [wire.Read(mid(9), 0.0)]
    ch.handle_timer(1.0)
    assert sent(ch) == [wire.Read(mid(9), 0.0)]
    ch.receive(bytes(wire.ReadAck(mid(9))), 1.5)
    assert ch.get_timer() is None
    assert [type(e).__name__ for e in effects(ch)] == ["ReceiptConfirmed"]


def test_a_stream_id_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match="stream id is 3 bytes; expected 8"):
        TextChannel(b"abc")


@pytest.mark.parametrize("samples, rto", [
    ([], 1.0),
    ([0.1], 0.3),                     # srtt 0.1, rttvar 0.05
    ([0.01], 0.2),                    # floored
    ([0.1, 0.3], 0.475),              # rttvar 0.0875, srtt 0.125
    ([30.0], 10.0),                   # capped
])
def test_the_round_trip_estimate_follows_rfc_6298(samples, rto):
    from terminal.text.retry import RttEstimator
    est = RttEstimator(1.0, 0.2, 10.0)
    for s in samples:
        est.sample(s)
    assert est.rto == pytest.approx(rto)


def test_rtt_is_sampled_from_clean_sends_only_and_sets_the_next_timeout():
    ch = TextChannel(A)
    ch.peer_reachable(0.0)
    ch.queue(mid(1), Precedence.ROUTINE, "one", 0.0, now=0.0)
    ch.handle_timer(1.0)                                     # resent: Karn says no sample
    ch.receive(bytes(wire.Ack(A, 1, 1)), 1.1)
    assert ch.rtt.srtt is None
    ch.queue(mid(2), Precedence.ROUTINE, "two", 2.0, now=2.0)
    ch.receive(bytes(wire.Ack(A, 2, 1)), 2.1)
    assert ch.rtt.srtt == pytest.approx(0.1)
    ch.queue(mid(3), Precedence.ROUTINE, "three", 3.0, now=3.0)
    assert ch.get_timer() == pytest.approx(3.3)


def test_progress_on_a_long_message_restarts_the_backoff():
    ch = TextChannel(A)
    ch.peer_reachable(0.0)
    ch.queue(mid(1), Precedence.ROUTINE, "y" * (CHUNK_BYTES * 2), 0.0, now=0.0)
    ch.handle_timer(1.0)
    ch.handle_timer(3.0)
    assert ch.get_timer() == 7.0
    ch.receive(bytes(wire.Ack(A, 1, 0b01)), 3.5)
    assert ch.get_timer() == 4.5
    ch.receive(bytes(wire.Ack(A, 1, 0b01)), 3.6)            # no news: the timer stands
    assert ch.get_timer() == 4.5
