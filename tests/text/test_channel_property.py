"""Two channel cores through a lossy, duplicating, reordering path on a fake clock."""

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from terminal.text import wire
from terminal.text.channel import TextChannel
from terminal.text.effects import Released, Stored
from terminal.text.events import MessageDelivered, MessageRead, MessageSent
from terminal.text.precedence import Precedence
from tests.text.lossy import LossyPath, run


class Unit:
    """A channel and the bookkeeping its owner would do (the store's part, in memory).

    The channel is given a wall clock, test time plus `offset`, which `step` moves; the owner
    reports a step it measured to the channel (`clock_stepped`), as the daemon does.
    """

    def __init__(self, stream: bytes) -> None:
        self.ch = TextChannel(stream, initial_rto=0.2, max_rto=2.0)
        self.offset = 0.0
        self.samples: list[float] = []          # every round trip the estimator was fed
        self.transmissions: list[tuple[float, tuple]] = []    # (test time, what) of data and receipts
        sample = self.ch.rtt.sample
        self.ch.rtt.sample = lambda rtt: (self.samples.append(rtt), sample(rtt))
        self.slots: dict[tuple[bytes, int], str] = {}
        self.shown: list[str] = []
        self.sent: list[str] = []
        self.delivered: list[str] = []
        self.read: set[str] = set()
        self.queued: list[str] = []

    def step(self, delta: float, reported: bool) -> None:
        self.offset += delta
        if reported:
            self.ch.clock_stepped(delta)

    def deliver(self, payload: bytes, now: float) -> None:
        self.ch.receive(payload, now + self.offset)

    def timer(self) -> float | None:
        deadline = self.ch.get_timer()
        return None if deadline is None else deadline - self.offset

    def fire(self, now: float) -> None:
        # the timer went off, so its deadline is reached, even if test time -> wall time rounds
        # just below it (left as is, nothing would be due and the fake clock would never move)
        deadline = self.ch.get_timer()
        wall = now + self.offset
        self.ch.handle_timer(wall if deadline is None else max(wall, deadline))

    def outgoing(self, now: float) -> list[bytes]:
        self.drain(now + self.offset)
        payloads = self.ch.payloads_to_send(now + self.offset)
        for payload in payloads:
            message = wire.parse(payload)
            if isinstance(message, wire.Data):
                self.transmissions.append((now, ("data", message.seq)))
            elif isinstance(message, wire.Read):
                self.transmissions.append((now, ("read", message.id)))
        return payloads

    def longest_wait(self, excused: list[tuple[float, float]]) -> float:
        """The longest gap between two sends of one message or receipt, not spanning `excused`."""
        last: dict[tuple, float] = {}
        longest = 0.0
        for now, what in self.transmissions:
            if what in last and not any(last[what] <= end and start <= now for start, end in excused):
                longest = max(longest, now - last[what])
            last[what] = now
        return longest

    def drain(self, now: float) -> None:
        while (effect := self.ch.next_effect()) is not None:
            if isinstance(effect, Stored):
                self.slots[effect.stream, effect.seq] = effect.id
            elif isinstance(effect, Released):
                for seq in range(effect.first, effect.next_seq):
                    id = self.slots[effect.stream, seq]
                    self.shown.append(id)
                    self.ch.send_read_receipt(bytes.fromhex(id), now, now)
            elif isinstance(effect, MessageSent):
                self.sent.append(effect.id)
            elif isinstance(effect, MessageDelivered):
                self.delivered.append(effect.id)
            elif isinstance(effect, MessageRead):
                self.read.add(effect.id)


texts = st.one_of(st.text(min_size=1, max_size=40).filter(str.strip),
                  st.integers(1, 17000).map(lambda n: ("é" * n)[: 16384 // 2]))
outbound = st.lists(st.tuples(texts, st.sampled_from(Precedence), st.floats(0, 20)), max_size=10)
# (unit, which send it follows, how soon, by how much, reported?): steps land while messages
# are in flight. The channel alone cannot tell a backward step, so one its owner did not
# measure is forward only (the service notices backward ones itself).
_step_when = (st.sampled_from("ab"), st.integers(0, 19), st.floats(0, 0.5))
clock_steps = st.lists(st.one_of(
    st.tuples(*_step_when, st.sampled_from([-3600.0, -45.0, -0.5, 0.3, 7.0, 3600.0]), st.just(True)),
    st.tuples(*_step_when, st.sampled_from([0.3, 7.0, 3600.0]), st.just(False))), max_size=3)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a_sends=outbound, b_sends=outbound, loss=st.floats(0, 0.4), duplicate=st.floats(0, 0.3),
       max_delay=st.floats(0.001, 0.6), outages=st.lists(st.tuples(st.floats(0, 30), st.floats(0.1, 20)),
                                                           max_size=2),
       told=st.booleans(), steps=clock_steps, seed=st.integers(0, 2**32))
def test_every_message_is_shown_exactly_once_in_order_with_receipts(
        a_sends, b_sends, loss, duplicate, max_delay, outages, told, steps, seed):
    units = {"a": Unit(b"A" * 8), "b": Unit(b"B" * 8)}
    path = LossyPath(random.Random(seed), loss, duplicate, (0.001, max_delay),
                     [(start, start + length) for start, length in outages])
    scheduled = [(0.0, lambda now: [u.ch.peer_reachable(now + u.offset) for u in units.values()])]
    for name, sends in (("a", a_sends), ("b", b_sends)):
        for n, (text, precedence, at) in enumerate(sends):
            id = f"{name}{n:031x}"
            units[name].queued.append(id)
            scheduled.append((at, lambda now, u=units[name], id=id, t=text, p=precedence:
                              u.ch.queue(bytes.fromhex(id),
                                         p, t, now + u.offset, now + u.offset)))
    if told:
        for start, end in path.down:
            scheduled.append((start, lambda now: [u.ch.peer_unreachable(now + u.offset)
                                                  for u in units.values()]))
            scheduled.append((end, lambda now: [u.ch.peer_reachable(now + u.offset) for u in units.values()]))
    send_times = sorted(at for _, _, at in a_sends + b_sends) or [0.0]
    for name, after_send, soon, delta, reported in steps:
        at = send_times[after_send % len(send_times)] + soon
        scheduled.append((at, lambda now, u=units[name], d=delta, r=reported: u.step(d, r)))

    end = run(units, path, scheduled, until=1000)

    for sender, receiver in (("a", "b"), ("b", "a")):
        s, r = units[sender], units[receiver]
        assert sorted(s.sent) == sorted(s.queued)          # every message left, once
        assert r.shown == s.sent                           # shown once each, in the order sent
        assert sorted(s.delivered) == sorted(s.queued)     # one delivery receipt each
        assert s.read == set(s.queued)                     # and a read receipt each
        assert s.ch.in_flight == 0 and s.ch.queued == 0
        assert all(0.0 <= rtt <= s.ch.rtt.maximum for rtt in s.samples)   # no step in a sample
        assert s.longest_wait(path.down if told else []) <= s.ch.rtt.maximum + 1e-6
    assert end < 1000                                      # nothing waited out an hour (or ran on)
