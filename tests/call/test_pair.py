"""Two call machines wired back to back through a lossy in-memory link, on one fake clock."""

from __future__ import annotations

from terminal.call.actions import CallAnswered, CallMissed, StartVoice
from terminal.call.machine import State

from tests.call.harness import ONE_WAY, Pair

def test_full_call_over_the_link():
    p = Pair()
    p.feed(p.a, p.a.hook_lifted(0.0))
    p.run_until(0.1)
    assert p.b.state is State.RINGING and p.a.state is State.RINGBACK      # one round trip
    p.feed(p.b, p.b.hook_lifted(3.0))
    p.now = 3.0
    p.run_until(3.1)
    assert p.a.state is p.b.state is State.CONNECTED
    p.now = 10.0
    p.feed(p.a, p.a.hook_replaced(10.0))
    p.run_until(10.1)
    assert p.a.state is State.IDLE and p.b.state is State.CLEARED
    p.run_until(60.0)
    assert p.a.outbox.deadline() is None and p.b.outbox.deadline() is None     # everything acknowledged


def test_lifting_to_hear_a_voice_message_does_not_ring_the_peer():
    p = Pair()
    p.feed(p.a, p.a.hook_lifted(0.0, message_waiting=True))
    p.run_until(3.0)
    p.feed(p.a, p.a.voice_message_ended(3.0))
    p.run_until(10.0)
    assert p.a.state is State.CLEARED and p.b.state is State.IDLE
    assert p.outputs["b"] == [] and not p.in_flight
    p.feed(p.a, p.a.hook_replaced(10.0))
    p.feed(p.a, p.a.hook_lifted(11.0))              # lifted again: now it rings
    p.run_until(11.1)
    assert p.a.state is State.RINGBACK and p.b.state is State.RINGING


def test_glare_both_lift_at_once_connects_on_one_call_id():
    p = Pair()
    p.feed(p.a, p.a.hook_lifted(0.0))
    p.feed(p.b, p.b.hook_lifted(0.0))
    p.run_until(1.0)
    assert p.a.state is p.b.state is State.CONNECTED
    assert p.a.call_id == p.b.call_id == 1000
    assert StartVoice(1000) in p.outputs["a"] and StartVoice(1000) in p.outputs["b"]
    assert CallAnswered(1000, 0.0, "both", ONE_WAY, (2000,)) in p.outputs["a"]
    assert CallAnswered(1000, 0.0, "both", ONE_WAY, (2000,)) in p.outputs["b"]


def test_lost_control_messages_are_retransmitted_until_acknowledged():
    lost = {"a": 2, "b": 2}                     # each side's first two datagrams vanish

    def drop(sender, payload):
        lost[sender] -= 1
        return lost[sender] >= 0

    p = Pair(drop)
    p.feed(p.a, p.a.hook_lifted(0.0))
    p.run_until(2.0)
    assert p.b.state is State.RINGING and p.a.state is State.RINGBACK
    assert p.a.outbox.retransmitted >= 2
    p.feed(p.b, p.b.hook_lifted(5.0))
    p.now = 5.0
    p.run_until(8.0)
    assert p.a.state is p.b.state is State.CONNECTED


def test_unanswered_ring_is_missed_on_both_sides():
    p = Pair()
    p.feed(p.a, p.a.hook_lifted(0.0))
    p.run_until(61.0)
    missed_a = [o for o in p.outputs["a"] if isinstance(o, CallMissed)]
    missed_b = [o for o in p.outputs["b"] if isinstance(o, CallMissed)]
    assert [m.direction for m in missed_a] == ["outgoing"] and [m.direction for m in missed_b] == ["incoming"]
    assert missed_a[0].reason == missed_b[0].reason == "no_answer"
    assert p.a.state is State.NO_ANSWER and p.b.state is State.IDLE and p.b.missed.shown
