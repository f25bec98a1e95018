"""Two LinkSessions wired by a fake network and advanced on a fake clock."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from terminal.link.noise import public_bytes
from terminal.link.session import LinkSession

A_ADDR = ("192.0.2.1", 4870)
B_ADDR = ("198.51.100.2", 4870)


class Net:
    """Delivers datagrams between sessions by address; `cut` addresses swallow everything, and so
    does `intercept(src, dst, data)` when it returns True (a test holds the datagram, say, and
    hands it over later with `inject`)."""

    def __init__(self):
        self.by_addr: dict[tuple, LinkSession] = {}
        self.source: dict[int, tuple] = {}
        self.cut: set[tuple] = set()
        self.intercept = None
        self.now = 0.0
        self.log: list[tuple[float, tuple, tuple, bytes]] = []   # (time, src, dst, data)

    def attach(self, addr, session):
        """Route `addr` to `session`; the first address attached is the one it sends from."""
        self.by_addr[addr] = session
        self.source.setdefault(id(session), addr)

    def move(self, old, new):
        """The session at `old` now sends from and is reached at `new` (NAT rebinding)."""
        session = self.by_addr.pop(old)
        self.by_addr[new] = session
        self.source[id(session)] = new

    def flush(self):
        """Move datagrams until no session has anything to send."""
        moved = True
        while moved:
            moved = False
            for session in {id(s): s for s in self.by_addr.values()}.values():
                src = self.source[id(session)]
                for data, dst in session.datagrams_to_send(self.now):
                    moved = True
                    self.log.append((self.now, src, dst, data))
                    if dst in self.cut or src in self.cut:
                        continue
                    if self.intercept is not None and self.intercept(src, dst, data):
                        continue
                    target = self.by_addr.get(dst)
                    if target is not None:
                        target.receive_datagram(data, src, self.now)

    def inject(self, src, dst, data):
        """Deliver `data` now, as if it had just arrived from `src`, and whatever follows from it."""
        self.by_addr[dst].receive_datagram(data, src, self.now)
        self.flush()

    def advance(self, until: float):
        """Run every timer due up to `until`, in order, delivering as we go."""
        self.flush()
        while True:
            due = [(t, s) for s in self.by_addr.values() if (t := s.get_timer()) is not None and t <= until]
            if not due:
                break
            t, session = min(due, key=lambda x: x[0])
            self.now = max(self.now, t)
            session.handle_timer(self.now)
            # (before the flush: what arrives then may make a deadline due at once, rightly)
            assert session.get_timer() is None or session.get_timer() > t, "handle_timer left its deadline due"
            self.flush()
        self.now = until

    def events(self, session):
        out = []
        while (e := session.next_event()) is not None:
            out.append(e)
        return out


def make_keys():
    return X25519PrivateKey.generate()


@pytest.fixture
def keys():
    return make_keys(), make_keys()


def make_pair(a_key, b_key, *, a_endpoints=None, b_endpoints=None, psk=None, **kw):
    a = LinkSession(static=a_key, peer_static=public_bytes(b_key), endpoints=a_endpoints or [B_ADDR],
                    pairing_id="test-pair", psk=psk, **kw)
    b = LinkSession(static=b_key, peer_static=public_bytes(a_key), endpoints=b_endpoints or [A_ADDR],
                    pairing_id="test-pair", psk=psk, **kw)
    net = Net()
    net.attach(A_ADDR, a)
    net.attach(B_ADDR, b)
    return a, b, net


@pytest.fixture
def pair(keys):
    return make_pair(*keys)


@pytest.fixture
def up(pair):
    """A pair whose handshake has completed (A initiated) and whose events are drained."""
    a, b, net = pair
    a.start(0.0)
    net.advance(0.001)
    net.events(a), net.events(b)
    return a, b, net


class PathNet:
    """A seeded lossy, delaying network on a fake clock, with addresses per unit and per path.

    `route(session, dst, src)` makes `session` send from `src` whenever it sends to `dst` (so
    a path is one pair of addresses); `cut` addresses swallow everything to or from them;
    `moved[old] = new` rewrites a source address, as a NAT that rebinds a port does.
    Each step runs whichever is earliest: a delivery, a session timer, or an `at()` action.
    """

    def __init__(self, *, loss=0.0, delay=0.0, jitter=0.0, seed=0):
        import random
        self.rng = random.Random(seed)
        self.loss, self.delay, self.jitter = loss, delay, jitter
        self.by_addr: dict[tuple, object] = {}
        self.sources: dict[tuple[int, tuple], tuple] = {}
        self.default_source: dict[int, tuple] = {}
        self.cut: set[tuple] = set()
        self.nat: dict[tuple, tuple] = {}           # a source address as the far side sees it
        self.sessions: list = []
        self.listeners: dict[int, list] = {}
        self.queue: list = []
        self.actions: list = []
        self.order = 0
        self.now = 0.0
        self.sent_bytes: dict[tuple, int] = {}      # per destination

    def attach(self, addr, session):
        self.by_addr[addr] = session
        if session not in self.sessions:
            self.sessions.append(session)
            self.default_source[id(session)] = addr

    def route(self, session, dst, src):
        self.sources[(id(session), dst)] = src

    def on_event(self, session, fn):
        self.listeners.setdefault(id(session), []).append(fn)

    def at(self, t, fn):
        import heapq
        self.order += 1
        heapq.heappush(self.actions, (t, self.order, fn))

    def _collect(self):
        import heapq
        for session in self.sessions:
            for data, dst in session.datagrams_to_send(self.now):
                src = self.sources.get((id(session), dst), self.default_source[id(session)])
                seen_src = self.nat.get(src, src)
                self.sent_bytes[dst] = self.sent_bytes.get(dst, 0) + len(data)
                if dst in self.cut or seen_src in self.cut or self.rng.random() < self.loss:
                    continue
                self.order += 1
                at = self.now + max(0.0, self.delay + self.rng.uniform(-self.jitter, self.jitter))
                heapq.heappush(self.queue, (at, self.order, seen_src, dst, data))
            while (event := session.next_event()) is not None:
                for fn in self.listeners.get(id(session), []):
                    fn(event, self.now)

    def run(self, until):
        import heapq
        self._collect()
        while True:
            candidates = []
            if self.queue:
                candidates.append((self.queue[0][0], 0))
            if self.actions:
                candidates.append((self.actions[0][0], 1))
            for i, s in enumerate(self.sessions):
                t = s.get_timer()
                if t is not None:
                    candidates.append((t, 2 + i))
            if not candidates:
                break
            t, which = min(candidates)
            if t > until:
                break
            self.now = max(self.now, t)
            if which == 0:
                _, _, src, dst, data = heapq.heappop(self.queue)
                target = self.by_addr.get(dst)
                if target is not None and dst not in self.cut:
                    target.receive_datagram(data, src, self.now)
            elif which == 1:
                _, _, fn = heapq.heappop(self.actions)
                fn(self.now)
            else:
                self.sessions[which - 2].handle_timer(self.now)
            self._collect()
        self.now = max(self.now, until)
