"""Two LinkSessions wired by a fake network and advanced on a fake clock."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from terminal.link.noise import public_bytes
from terminal.link.session import LinkSession

A_ADDR = ("192.0.2.1", 4870)
B_ADDR = ("198.51.100.2", 4870)


class Net:
    """Delivers datagrams between sessions by address; `cut` addresses swallow everything."""

    def __init__(self):
        self.by_addr: dict[tuple, LinkSession] = {}
        self.source: dict[int, tuple] = {}
        self.cut: set[tuple] = set()
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
                    target = self.by_addr.get(dst)
                    if target is not None:
                        target.receive_datagram(data, src, self.now)

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
            self.flush()
            assert session.get_timer() is None or session.get_timer() > t, "handle_timer left its deadline due"
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
