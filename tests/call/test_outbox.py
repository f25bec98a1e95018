"""Retransmission until acknowledged, with backoff, pause/resume and give-up, on a fake clock."""

from __future__ import annotations

import pytest

from terminal.call.messages import ControlMessage, Kind
from terminal.call.outbox import Outbox

RING = ControlMessage(Kind.RING, 42)


def test_backoff_doubles_to_the_ceiling_then_stops_on_ack():
    box = Outbox(initial=0.2, maximum=1.0, give_up=30.0)
    payload = box.send(RING, 0.0)
    times = []
    now = 0.0
    while len(times) < 5:
        now = box.deadline()
        if box.due(now) == [payload]:
            times.append(round(now, 3))
    assert times == [0.2, 0.6, 1.4, 2.4, 3.4]
    assert box.ack(42, Kind.RING) is True
    assert box.deadline() is None and box.due(100.0) == []


def test_ack_of_something_not_pending_is_harmless():
    box = Outbox()
    assert box.ack(1, Kind.ANSWER) is False


def test_paused_holds_retransmissions_and_resume_sends_at_once():
    box = Outbox(initial=0.2, maximum=2.0, give_up=30.0)
    payload = box.send(RING, 0.0)
    box.pause()
    assert box.due(5.0) == []
    assert box.deadline() == 30.0                  # only the give-up expiry remains
    assert box.resume(6.0) == [payload]
    assert box.deadline() == pytest.approx(6.4)


def test_unacknowledged_messages_are_given_up_and_counted():
    box = Outbox(initial=0.2, maximum=2.0, give_up=3.0)
    box.send(RING, 0.0)
    assert box.due(3.0) == []
    assert box.given_up == 1 and box.deadline() is None


def test_a_newer_send_of_the_same_kind_and_call_replaces_the_old():
    box = Outbox()
    box.send(RING, 0.0)
    box.send(RING, 5.0)
    assert box.is_pending(42, Kind.RING) and box.due(5.2) == [bytes(RING)]


def test_give_up_happens_exactly_at_the_reported_deadline():
    box = Outbox(initial=0.2, maximum=2.0, give_up=30.0)
    box.send(RING, 0.3)                 # 30.3 - 0.3 < 30.0 in floating point
    box.pause()
    assert box.due(box.deadline()) == [] and box.deadline() is None
