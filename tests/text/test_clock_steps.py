"""The wall clock behind `now` steps (NTP fixing a unit that booted with the wrong time).

Test time is the network's (think: a monotonic clock); each unit's service sees its wall
clock, test time plus an offset that a test steps. Units are driven as the daemon drives
them: one timer on the monotonic clock, armed for `get_timer() - wall` after each call.
"""

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from terminal.daemon.texting import TextLink
from terminal.text import wire
from terminal.text.channel import TextChannel
from terminal.text.constants import INITIAL_RTO
from terminal.text.events import RingerBurst
from terminal.text.precedence import Precedence
from terminal.text.service import TextService
from tests.text.lossy import LossyPath, run
from tests.text.nodes import ServiceNode

HOUR = 3600.0
BOOT = 1_700_000_000.0            # the wall clock at test time 0
EPS = 1e-5                        # float error of test time + BOOT
A = b"A" * 8


class SteppedNode(ServiceNode):
    """A ServiceNode whose wall clock steps, driven as the daemon's TextLink drives it."""

    def __init__(self, path, **options) -> None:
        super().__init__(path, offset=BOOT, **options)
        self.armed: float | None = None        # the daemon's call_later, in test time
        self.transmitted: list[tuple[float, bytes]] = []
        self._called = True

    def step(self, delta: float, report: bool) -> None:
        """The wall clock jumps; the daemon would measure and report it (`report`)."""
        self.offset += delta
        if report:
            self.service.clock_stepped(delta)

    def send(self, text: str, precedence: Precedence, now: float) -> None:
        self.service.send(text, precedence, self.wall(now))
        self._called = True

    def reach(self, now: float) -> None:
        self.service.on_peer_reachable(self.wall(now))
        self._called = True

    def deliver(self, payload: bytes, now: float) -> None:
        super().deliver(payload, now)
        self._called = True

    def fire(self, now: float) -> None:
        super().fire(now)
        self._called = True

    def timer(self) -> float | None:
        return self.armed

    def outgoing(self, now: float) -> list[bytes]:
        """The daemon's pump: only after a call, then re-arm the one timer."""
        if not self._called:
            return []
        self._called = False
        payloads = super().outgoing(now)
        self.transmitted += [(now, p) for p in payloads]
        deadline = self.service.get_timer()
        self.armed = None if deadline is None else now + max(0.0, deadline - self.wall(now))
        return payloads

    def data_sent(self) -> list[tuple[float, int]]:
        """(test time, seq) of every text fragment this unit sent."""
        return [(t, m.seq) for t, p in self.transmitted if isinstance(m := wire.parse(p), wire.Data)]

    def longest_wait(self) -> float:
        """The longest gap between two sends of one message or one read receipt."""
        last: dict[object, float] = {}
        longest = 0.0
        for now, payload in self.transmitted:
            message = wire.parse(payload)
            if isinstance(message, wire.Data):
                what = ("data", message.seq)
            elif isinstance(message, wire.Read):
                what = ("read", message.id)
            else:
                continue
            longest = max(longest, now - last.get(what, now))
            last[what] = now
        return longest

    def restart(self, now: float, reachable: bool = True) -> None:
        super().restart(now, reachable)
        self._called = True


def pair(tmp_path, b_auto_ack=True):
    return SteppedNode(tmp_path / "a.db"), SteppedNode(tmp_path / "b.db", auto_ack=b_auto_ack)


def reach(*nodes):
    return lambda now: [n.reach(now) for n in nodes]


# --- a backward step: nothing stalls ------------------------------------------------

NOTICED = ["reported by the daemon", "noticed when the timer fires", "noticed at another call"]


@pytest.mark.parametrize("noticed", NOTICED)
def test_a_message_in_flight_when_the_clock_steps_back_an_hour_is_resent_within_one_rto_and_delivered_once(
        tmp_path, noticed):
    a, b = pair(tmp_path)
    path = LossyPath(random.Random(0), delay=(0.05, 0.05), down=[(0.0, 0.5)])   # the first send is lost
    step_at = 0.6
    scheduled = [(0.0, reach(a, b)),
                 (0.1, lambda now: a.send("hello", Precedence.FLASH, now)),
                 (step_at, lambda now: a.step(-HOUR, report=noticed == NOTICED[0]))]
    if noticed == NOTICED[2]:          # b's message reaches a just after the step
        scheduled.append((step_at - 0.05, lambda now: b.send("are you there", Precedence.ROUTINE, now)))

    run({"a": a, "b": b}, path, scheduled, until=60)

    resent = [t for t, seq in a.data_sent() if seq == 1 and t > step_at]
    assert resent and resent[0] <= step_at + INITIAL_RTO + EPS
    assert b.counts["MessageReceived"] == 1
    assert a.counts["MessageDelivered"] == a.counts["MessageRead"] == 1
    assert a.armed is None and a.service.channel.in_flight == 0


@pytest.mark.parametrize("noticed", NOTICED)
def test_an_unread_flash_message_re_alerts_on_its_interval_across_a_backward_step(tmp_path, noticed):
    a, b = pair(tmp_path, b_auto_ack=False)
    path = LossyPath(random.Random(0), delay=(0.05, 0.05))
    step_at = 100.0                    # between the rings at 61.05 and 121.05
    scheduled = [(0.0, reach(a, b)),
                 (1.0, lambda now: a.send("fire in the hole", Precedence.FLASH, now)),
                 (step_at, lambda now: b.step(-HOUR, report=noticed == NOTICED[0]))]
    if noticed == NOTICED[2]:
        scheduled.append((step_at - 0.05, lambda now: a.send("also", Precedence.ROUTINE, now)))

    run({"a": a, "b": b}, path, scheduled, until=400)

    rings = [t for t, e in b.events if isinstance(e, RingerBurst)]
    gaps = [later - earlier for earlier, later in zip(rings, rings[1:])]
    assert len(rings) >= 5 and rings[0] == pytest.approx(1.05)
    assert min(gaps) >= 60.0 - EPS                       # never a ring early
    assert next(t for t in rings if t > step_at) <= step_at + 60.0 + EPS
    if noticed != NOTICED[2]:                            # the step's size is known: no ring late
        assert gaps == pytest.approx([60.0] * len(gaps))


# --- round-trip samples ---------------------------------------------------------------

@pytest.mark.parametrize("step, reported, srtt", [
    (-HOUR, True, 0.1),            # measured: timed across the step
    (+HOUR, True, 0.1),
    (-HOUR, False, None),          # -3599.9 s: no sample
    (+HOUR, False, None),          # 3600.1 s, longer than any timeout: no sample
    (-0.05, True, 0.1),
])
def test_a_round_trip_across_a_clock_step_is_timed_right_or_not_at_all(step, reported, srtt):
    ch = TextChannel(A)
    ch.peer_reachable(BOOT)
    ch.queue(b"\x01" * 16, Precedence.ROUTINE, "one", BOOT, now=BOOT)
    if reported:
        ch.clock_stepped(step)
    ch.receive(bytes(wire.Ack(A, 1, 1)), BOOT + step + 0.1)
    assert ch.rtt.srtt == (None if srtt is None else pytest.approx(srtt))
    assert ch.dropped_samples == (srtt is None)


def test_a_backward_step_the_service_only_notices_gives_no_round_trip_sample(tmp_path):
    service = TextService(tmp_path / "t.db")
    service.start(BOOT)
    service.on_peer_reachable(BOOT)
    service.send("one", "routine", BOOT)
    service.on_payload(bytes(wire.Ack(service.channel.stream, 1, 1)), BOOT - HOUR + 0.1)
    assert service.channel.rtt.srtt is None and service.channel.dropped_samples == 0
    assert service.channel.in_flight == 0                # delivered all the same


# --- a forward step: at most one burst ----------------------------------------------

def test_a_forward_step_of_an_hour_makes_at_most_one_burst_of_retransmissions_and_no_duplicates(tmp_path):
    a, b = pair(tmp_path)
    path = LossyPath(random.Random(0), delay=(0.05, 0.05), down=[(0.0, 30.0)])
    step_at = 2.0
    scheduled = [(0.0, reach(a, b)),
                 *[(0.1, lambda now, n=n: a.send(f"message {n}", Precedence.PRIORITY, now)) for n in range(3)],
                 (step_at, lambda now: a.step(+HOUR, report=False)),
                 (step_at, lambda now: a.send("message 3", Precedence.PRIORITY, now))]    # a call: re-arm now

    run({"a": a, "b": b}, path, scheduled, until=200)

    sends = a.data_sent()
    burst = [seq for t, seq in sends if step_at <= t < step_at + INITIAL_RTO / 2]
    assert sorted(burst) == [1, 2, 3, 4]                 # each message once, the new one included
    for seq in (1, 2, 3, 4):
        times = [t for t, s in sends if s == seq and t >= step_at]
        assert all(later - earlier >= INITIAL_RTO - EPS for earlier, later in zip(times, times[1:]))
    assert b.counts["MessageReceived"] == a.counts["MessageDelivered"] == 4
    assert b.shown == a.sent


# --- the daemon's adapter ---------------------------------------------------------------

class FakeLoop:
    """The parts of an asyncio loop TextLink uses: a monotonic time() and call_later."""

    class Handle:
        def __init__(self, at, callback):
            self.at, self.callback, self.cancelled = at, callback, False

        def cancel(self):
            self.cancelled = True

    def __init__(self) -> None:
        self.t = 0.0
        self.handles: list[FakeLoop.Handle] = []

    def time(self) -> float:
        return self.t

    def call_later(self, delay, callback):
        handle = self.Handle(self.t + delay, callback)
        self.handles.append(handle)
        return handle

    def advance(self, to: float) -> None:
        while due := sorted((h for h in self.handles if not h.cancelled and h.at <= to), key=lambda h: h.at):
            handle = due[0]
            self.handles.remove(handle)
            self.t = handle.at
            handle.callback()
        self.t = to


class Journal:
    def record(self, kind, *args, **fields):
        pass


@pytest.mark.parametrize("step", [-HOUR, +HOUR])
def test_the_daemon_keeps_the_retransmission_schedule_when_the_wall_clock_steps(tmp_path, step):
    loop, wall = FakeLoop(), [BOOT]
    sent = []
    link = TextLink(TextService(tmp_path / "t.db"), lambda channel, p: sent.append((loop.t, p)), Journal(),
                    loop, clock=lambda: loop.t + wall[0])
    link.start(reachable=True)
    loop.advance(10.0)
    link.service.send("hello", "flash", link.now())
    link.pump()
    loop.advance(10.5)
    wall[0] += step                                  # NTP steps the clock
    link.on_payload(b"\xff stray", loop.t)           # a call right after it (dropped as malformed)
    loop.advance(14.0)
    assert [t for t, _ in sent] == pytest.approx([10.0, 11.0, 13.0])   # RTO 1 s, then 2 s
    assert [h.at for h in loop.handles if not h.cancelled] == pytest.approx([17.0])   # then 4 s
    link.close()


# --- properties -------------------------------------------------------------------------

# (unit, which send it follows, how soon, by how much, reported by the daemon?)
clock_steps = st.lists(st.tuples(st.sampled_from("ab"), st.integers(0, 7), st.floats(0, 0.3),
                                 st.sampled_from([-HOUR, -90.0, -2.5, -0.3, 0.4, 3.0, 120.0, HOUR]),
                                 st.booleans()), min_size=1, max_size=4)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(sends=st.lists(st.tuples(st.sampled_from("ab"), st.integers(1, 3000), st.sampled_from(Precedence),
                                st.floats(0, 30)), min_size=1, max_size=8),
       loss=st.floats(0.1, 0.5), duplicate=st.floats(0, 0.2), steps=clock_steps,
       restarts=st.lists(st.tuples(st.sampled_from("ab"), st.floats(0, 30)), max_size=2),
       seed=st.integers(0, 2**32))
def test_clock_steps_either_way_reported_or_not_lose_and_duplicate_nothing(
        tmp_path_factory, sends, loss, duplicate, steps, restarts, seed):
    root = tmp_path_factory.mktemp("units")
    nodes = {"a": SteppedNode(root / "a.db", initial_rto=0.2, max_rto=2.0),
             "b": SteppedNode(root / "b.db", initial_rto=0.2, max_rto=2.0)}
    path = LossyPath(random.Random(seed), loss, duplicate, (0.001, 0.2))
    scheduled = [(0.0, reach(*nodes.values()))]
    for name, size, precedence, at in sends:
        scheduled.append((at, lambda now, n=nodes[name], t="x" * size, p=precedence: n.send(t, p, now)))
    send_times = sorted(at for *_, at in sends)
    for name, after_send, soon, delta, report in steps:
        at = send_times[after_send % len(send_times)] + soon
        scheduled.append((at, lambda now, n=nodes[name], d=delta, r=report: n.step(d, r)))
    for name, at in restarts:
        scheduled.append((at, lambda now, n=nodes[name]: n.restart(now)))

    end = run(nodes, path, scheduled, until=3000)

    assert end < 200                                      # nothing waited out an hour
    for node in nodes.values():
        # a step the service had to guess may stretch one wait by at most one more timeout
        assert node.longest_wait() <= 2 * 2.0 + EPS
    for sender, receiver in (("a", "b"), ("b", "a")):
        s, r = nodes[sender], nodes[receiver]
        assert len(s.sent) == sum(1 for name, *_ in sends if name == sender)
        assert r.shown == s.sent
        assert set(s.delivered) == set(s.read) == set(s.sent)
    for node in nodes.values():
        node.service.close()
