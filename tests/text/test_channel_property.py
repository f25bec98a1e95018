"""Two channel cores through a lossy, duplicating, reordering path on a fake clock."""

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from terminal.text.channel import TextChannel
from terminal.text.effects import Released, Stored
from terminal.text.events import MessageDelivered, MessageRead, MessageSent
from terminal.text.precedence import Precedence
from tests.text.lossy import LossyPath, run


class Unit:
    """A channel and the bookkeeping its owner would do (the store's part, in memory)."""

    def __init__(self, stream: bytes) -> None:
        self.ch = TextChannel(stream, initial_rto=0.2, max_rto=2.0)
        self.slots: dict[tuple[bytes, int], str] = {}
        self.shown: list[str] = []
        self.sent: list[str] = []
        self.delivered: list[str] = []
        self.read: set[str] = set()
        self.queued: list[str] = []

    def deliver(self, payload: bytes, now: float) -> None:
        self.ch.receive(payload, now)

    def timer(self) -> float | None:
        return self.ch.get_timer()

    def fire(self, now: float) -> None:
        self.ch.handle_timer(now)

    def outgoing(self, now: float) -> list[bytes]:
        self.drain(now)
        return self.ch.payloads_to_send(now)

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


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a_sends=outbound, b_sends=outbound, loss=st.floats(0, 0.4), duplicate=st.floats(0, 0.3),
       max_delay=st.floats(0.001, 0.6), outages=st.lists(st.tuples(st.floats(0, 30), st.floats(0.1, 20)),
                                                           max_size=2),
       told=st.booleans(), seed=st.integers(0, 2**32))
def test_every_message_is_shown_exactly_once_in_order_with_receipts(
        a_sends, b_sends, loss, duplicate, max_delay, outages, told, seed):
    units = {"a": Unit(b"A" * 8), "b": Unit(b"B" * 8)}
    path = LossyPath(random.Random(seed), loss, duplicate, (0.001, max_delay),
                     [(start, start + length) for start, length in outages])
    scheduled = [(0.0, lambda now: [u.ch.peer_reachable(now) for u in units.values()])]
    for name, sends in (("a", a_sends), ("b", b_sends)):
        for n, (text, precedence, at) in enumerate(sends):
            id = f"{name}{n:031x}"
            units[name].queued.append(id)
            scheduled.append((at, lambda now, u=units[name], id=id, t=text, p=precedence:
                              u.ch.queue(bytes.fromhex(id),
                                         p, t, now, now)))
    if told:
        for start, end in path.down:
            scheduled.append((start, lambda now: [u.ch.peer_unreachable(now) for u in units.values()]))
            scheduled.append((end, lambda now: [u.ch.peer_reachable(now) for u in units.values()]))

    run(units, path, scheduled, until=5000)

    for sender, receiver in (("a", "b"), ("b", "a")):
        s, r = units[sender], units[receiver]
        assert sorted(s.sent) == sorted(s.queued)          # every message left, once
        assert r.shown == s.sent                           # shown once each, in the order sent
        assert sorted(s.delivered) == sorted(s.queued)     # one delivery receipt each
        assert s.read == set(s.queued)                     # and a read receipt each
        assert s.ch.in_flight == 0 and s.ch.queued == 0
