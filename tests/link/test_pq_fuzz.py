"""The post-quantum ratchet under faults: two LinkSessions (data on hybrid keys only) on a fake
clock for 25 simulated minutes, through a network that drops, duplicates, reorders and delays
datagrams by up to several seconds, while either unit restarts from what it saved and saves
sometimes fail. Fault windows alternate with clean ones; after every fault window the pair
must be back on hybrid keys that carry data both ways within RECONVERGE seconds, and the two
must agree on the ratchet: each holds the secret the other would initiate with.

Seeded (the network, the faults, the static keys); the ML-KEM and X25519 ephemerals are not,
but nothing the test does depends on their bytes. No sleeps: the clock is the loop's.
"""

from __future__ import annotations

import heapq
import random

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from terminal.link import pq
from terminal.link.constants import CHANNEL_TEST
from terminal.link.events import DataReceived
from terminal.link.noise import public_bytes
from terminal.link.session import LinkSession
from tests.emulation import EMULATED

from .conftest import A_ADDR, B_ADDR

HYBRID = "hybrid-mlkem768"
DURATION = 25 * 60.0
RECONVERGE = 20.0           # s after a fault window ends (its delayed datagrams still arriving)
PROMPT = 1.5                # s: a message that takes longer than this has not "moved"
LOSS, DUPLICATE, LONG_DELAY, MAX_DELAY = 0.20, 0.10, 0.15, 5.0
SAVE_FAILS = 0.10           # share of saves (ratchet and timestamp) that fail in a fault window
RESTART_EVERY = 45.0        # s: mean time between restarts in a fault window
BLACKOUT_EVERY = 60.0       # s: mean time between blackouts (one direction or both) in a fault window
BLACKOUT_LONGEST = 25.0     # s
# 200 seeds natively (~48 s). Under qemu-user (the arm64 stage) the same pure-Python state
# machines run about ten times slower, so there the first 24: the arm64 run is for what the
# architecture could change (the libraries' builds), and these seeds still cover every fault.
SEEDS = 24 if EMULATED else 200


class Unit:
    """One desk unit: its keys, the files it saved, and its session (a new one at each restart)."""

    def __init__(self, name, static, peer_static, addr, peer_addr, world):
        self.name, self.static, self.peer_static = name, static, peer_static
        self.addr, self.peer_addr, self.world = addr, peer_addr, world
        self.saved_ratchet: bytes | None = None
        self.saved_timestamp: bytes | None = None
        self.retired: list[LinkSession] = []
        self.session: LinkSession | None = None

    def boot(self, now):
        if self.session is not None:
            self.retired.append(self.session)
        ratchet = None if self.saved_ratchet is None else pq.Ratchet.from_bytes(self.saved_ratchet, self.peer_static)
        self.session = LinkSession(
            static=self.static, peer_static=self.peer_static, endpoints=[self.peer_addr], pairing_id="fuzz",
            require_hybrid=True, ratchet=ratchet, on_ratchet=self._save_ratchet,
            last_timestamp=self.saved_timestamp, on_timestamp=self._save_timestamp,
            rng=random.Random(self.world.rng.random()), probe_interval=5.0)
        self.session.start(now)

    def _fail(self):
        if self.world.faulty and self.world.rng.random() < SAVE_FAILS:
            raise OSError("injected: no space left on device")

    def _save_ratchet(self, ratchet):
        self._fail()
        self.saved_ratchet = ratchet.to_bytes(self.peer_static)

    def _save_timestamp(self, timestamp):
        self._fail()
        self.saved_timestamp = timestamp

    def sessions(self):
        return self.retired + [self.session]


class World:
    def __init__(self, seed):
        self.seed = seed
        self.rng = random.Random(seed)
        a_key, b_key = (X25519PrivateKey.from_private_bytes(self.rng.randbytes(32)) for _ in range(2))
        self.a = Unit("A", a_key, public_bytes(b_key), A_ADDR, B_ADDR, self)
        self.b = Unit("B", b_key, public_bytes(a_key), B_ADDR, A_ADDR, self)
        self.units = {A_ADDR: self.a, B_ADDR: self.b}
        self.queue: list = []
        self.actions: list = []
        self.order = 0
        self.now = 0.0
        self.faulty = False
        self.blackout: set[tuple] = set()                  # destinations nothing reaches for now
        self.sent: dict[bytes, tuple[str, float]] = {}     # message -> (sender, when)
        self.received: dict[bytes, float] = {}
        self.clean_windows: list[tuple[float, float]] = []
        self.failures: list[str] = []

    def at(self, t, fn):
        self.order += 1
        heapq.heappush(self.actions, (t, self.order, fn))

    def collect(self):
        for unit in (self.a, self.b):
            s = unit.session
            for data, dst in s.datagrams_to_send(self.now):
                copies = 1
                if dst in self.blackout:
                    continue
                if self.faulty:
                    copies = 0 if self.rng.random() < LOSS else (2 if self.rng.random() < DUPLICATE else 1)
                for _ in range(copies):
                    if self.faulty and self.rng.random() < LONG_DELAY:
                        delay = self.rng.uniform(0.05, MAX_DELAY)
                    else:
                        delay = self.rng.uniform(0.001, 0.05)
                    self.order += 1
                    heapq.heappush(self.queue, (self.now + delay, self.order, dst, unit.addr, data))
            while (event := s.next_event()) is not None:
                if isinstance(event, DataReceived) and event.payload in self.sent:
                    self.received.setdefault(event.payload, self.now)

    def run(self, until):
        units = (self.a, self.b)
        timers = [None, None]          # each session's get_timer(), asked again only after a call into it
        while True:
            candidates = []
            if self.queue:
                candidates.append((self.queue[0][0], 0))
            if self.actions:
                candidates.append((self.actions[0][0], 1))
            for i, unit in enumerate(units):
                if timers[i] is None:
                    timers[i] = (unit.session.get_timer(),)
                if timers[i][0] is not None:
                    candidates.append((timers[i][0], 2 + i))
            if not candidates:
                break
            t, which = min(candidates)
            if t > until:
                break
            self.now = max(self.now, t)
            if which == 0:
                _, _, dst, src, data = heapq.heappop(self.queue)
                self.units[dst].session.receive_datagram(data, src, self.now)
                timers[units.index(self.units[dst])] = None
            elif which == 1:
                _, _, fn = heapq.heappop(self.actions)
                fn(self.now)
                timers = [None, None]
            else:
                units[which - 2].session.handle_timer(self.now)
                timers[which - 2] = None
            self.collect()
        self.now = until

    # --- the schedule -------------------------------------------------------------------

    def plan(self):
        t, faulty = 0.0, self.rng.random() < 0.5
        while t < DURATION:
            length = self.rng.uniform(60, 300) if faulty else self.rng.uniform(45, 150)
            end = min(DURATION, t + length)
            if DURATION - end < 45:
                end = DURATION
            if faulty and end < DURATION:
                self.at(t, self._set_faulty(True))
                self.at(end, self._set_faulty(False))
                restart = t + self.rng.expovariate(1 / RESTART_EVERY)
                while restart < end:
                    unit = self.rng.choice((self.a, self.b))
                    self.at(restart, lambda now, unit=unit: (unit.boot(now), self.collect()))
                    restart += self.rng.expovariate(1 / RESTART_EVERY)
                dark = t + self.rng.expovariate(1 / BLACKOUT_EVERY)
                while dark < end:
                    cut = self.rng.choice(((A_ADDR,), (B_ADDR,), (A_ADDR, B_ADDR)))
                    until = min(end, dark + self.rng.uniform(2, BLACKOUT_LONGEST))
                    self.at(dark, lambda now, cut=cut: self.blackout.update(cut))
                    self.at(until, lambda now, cut=cut: self.blackout.difference_update(cut))
                    dark = until + self.rng.expovariate(1 / BLACKOUT_EVERY)
            else:
                self.clean_windows.append((t, end))
                self.at(end, self._check_agreement)
            t, faulty = end, not faulty
        for unit in (self.a, self.b):
            send = self.rng.uniform(0, 1)
            while send < DURATION:
                self.at(send, lambda now, unit=unit: self._send(unit, now))
                send += 1.0

    def _set_faulty(self, value):
        def act(now):
            self.faulty = value
        return act

    def _send(self, unit, now):
        message = b"%s %.6f" % (unit.name.encode(), now)
        self.sent[message] = (unit.name, now)
        unit.session.send(CHANNEL_TEST, message, now)
        self.collect()

    def _check_agreement(self, now):
        a, b = self.a.session, self.b.session
        if not (a.mode == b.mode == HYBRID):
            self.failures.append(f"t={now:.1f}: keys are {a.mode} / {b.mode} at the end of a clean window")
        for x, y in ((a, b), (b, a)):
            wanted, _ = x.ratchet.for_initiation()
            try:
                y.ratchet.for_response(wanted)
            except pq.RatchetRefused:
                self.failures.append(f"t={now:.1f}: one unit would refuse the other's next initiation")
            if x.ratchet.confirmed not in (y.ratchet.confirmed, y.ratchet.previous, y.ratchet.pending):
                self.failures.append(f"t={now:.1f}: a confirmed secret the other does not hold")

    # --- the verdict --------------------------------------------------------------------

    def reconverged_after(self, start, end):
        """Seconds from `start` after which every message sent in [start, end - PROMPT] moved promptly."""
        late = [when for message, (_, when) in self.sent.items()
                if start <= when <= end - PROMPT
                and self.received.get(message, float("inf")) - when > PROMPT]
        return max(late, default=start) - start


def simulate(seed):
    world = World(seed)
    world.plan()
    world.a.boot(0.0)
    world.b.boot(0.0)
    world.collect()
    world.run(DURATION)
    return world


def check(world):
    problems = list(world.failures)
    sessions = world.a.sessions() + world.b.sessions()
    for window in world.clean_windows:
        start, end = window
        if start == 0.0:
            continue                          # the first keys after pairing: not a recovery
        took = world.reconverged_after(*window)
        if took > RECONVERGE:
            problems.append(f"clean window {start:.0f}-{end:.0f} s: data moved both ways only after {took:.1f} s")
    # Agreement: a handshake or transport under a secret the other side derived differently would
    # fail to authenticate; nothing here forges packets.
    unauthenticated = sum(s.stats["dropped_unauthenticated"] for s in sessions)
    if unauthenticated:
        problems.append(f"{unauthenticated} packets failed to authenticate: the units disagreed on a secret")
    exchanges = sum(s.stats["pq_exchanges"] for s in sessions)
    if exchanges < 5:
        problems.append(f"only {exchanges} ratchet exchanges in 25 minutes")
    return problems


@pytest.mark.parametrize("chunk", range(4))
def test_the_ratchet_reconverges_after_loss_delay_reordering_restarts_and_failed_saves(chunk):
    failed = {}
    for seed in range(chunk, SEEDS, 4):
        problems = check(simulate(seed))
        if problems:
            failed[seed] = problems
    assert not failed, failed
