"""Two call machines wired back to back through a lossy in-memory link, on one fake clock."""

from __future__ import annotations

import itertools

from terminal.call.actions import CallAnswered, CallMissed, SendControl, StartVoice
from terminal.call.machine import CallMachine, State
from terminal.call.settings import CallSettings

ONE_WAY = 0.04


class Pair:
    """Units a and b; SendControl outputs travel to the other side after ONE_WAY unless `drop` says so."""

    def __init__(self, drop=lambda sender, payload: False):
        ids_a, ids_b = itertools.count(1000), itertools.count(2000)
        self.a = CallMachine(CallSettings(), reachable=True, new_call_id=lambda: next(ids_a))
        self.b = CallMachine(CallSettings(), reachable=True, new_call_id=lambda: next(ids_b))
        self.drop = drop
        self.in_flight: list[tuple[float, CallMachine, bytes]] = []
        self.outputs = {"a": [], "b": []}
        self.now = 0.0

    def _name(self, m):
        return "a" if m is self.a else "b"

    def feed(self, m: CallMachine, outputs) -> None:
        self.outputs[self._name(m)] += outputs
        other = self.b if m is self.a else self.a
        for o in outputs:
            if isinstance(o, SendControl) and not self.drop(self._name(m), o.payload):
                self.in_flight.append((self.now + ONE_WAY, other, o.payload))

    def run_until(self, end: float) -> None:
        while True:
            times = [t for t, _, _ in self.in_flight]
            times += [t for t in (self.a.get_timer(), self.b.get_timer()) if t is not None]
            nxt = min(times, default=None)
            if nxt is None or nxt > end:
                self.now = end
                return
            self.now = nxt
            due = [item for item in self.in_flight if item[0] <= nxt]
            self.in_flight = [item for item in self.in_flight if item[0] > nxt]
            for _, dest, payload in due:
                self.feed(dest, dest.receive(payload, nxt))
            for m in (self.a, self.b):
                if m.get_timer() is not None and m.get_timer() <= nxt:
                    self.feed(m, m.handle_timer(nxt))


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


def test_glare_both_lift_at_once_connects_on_one_call_id():
    p = Pair()
    p.feed(p.a, p.a.hook_lifted(0.0))
    p.feed(p.b, p.b.hook_lifted(0.0))
    p.run_until(1.0)
    assert p.a.state is p.b.state is State.CONNECTED
    assert p.a.call_id == p.b.call_id == 1000
    assert StartVoice(1000) in p.outputs["a"] and StartVoice(1000) in p.outputs["b"]
    assert CallAnswered(1000, 0.0, "both", ONE_WAY) in p.outputs["a"]


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
