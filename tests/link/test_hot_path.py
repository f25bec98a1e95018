"""Property: the link's hot paths (`send_data`, `receive`) give the same bytes, the same
events (a routine packet's data in the place its DataReceived would take), the same counters
and the same deadlines as the general paths (`send`, `receive_datagram`), and never move a
deadline earlier than what the adapter re-arms for.

Twins: two receivers and two senders built alike, with the same transport keys installed, so
that sealing (ChaCha20-Poly1305 with counter nonces) is deterministic and one twin of each
pair runs the hot path, the other the general one, on the same inputs."""

import random
import secrets

from hypothesis import example, given, settings, strategies as st

from terminal.link.constants import (CHANNEL_CONTROL, CHANNEL_PATH, CHANNEL_PQ, CHANNEL_TEXT,
                                     CHANNEL_VOICE, MSG_TRANSPORT)
from terminal.link.events import DataReceived
from terminal.link.noise import CipherState, public_bytes
from terminal.link.paths import PROBE, encode_probe
from terminal.link.session import Keypair, LinkSession

from .conftest import A_ADDR, B_ADDR, make_keys

NEW_ADDR = ("203.0.113.9", 4870)     # an address the receiver has not heard from
INF = float("inf")


def twin(static, peer_static, endpoint, send_key, receive_key, indices, seed):
    session = LinkSession(static=static, peer_static=public_bytes(peer_static), endpoints=[endpoint],
                          pairing_id="hot-path", rng=random.Random(seed))
    session.start(0.0)
    session.datagrams_to_send(0.0)   # the twins' first initiations differ (random ephemerals): not compared
    session.pending = None           # ... and no handshake is under way: the installed keys are the link's
    local, remote = indices
    session.current = Keypair(local, remote, CipherState(send_key), CipherState(receive_key), 0.0, True,
                              secret=bytes(32))
    return session


def pairs():
    a_key, b_key = make_keys(), make_keys()
    a_to_b, b_to_a = secrets.token_bytes(32), secrets.token_bytes(32)
    senders = [twin(a_key, b_key, B_ADDR, a_to_b, b_to_a, (1, 2), seed=7) for _ in range(2)]
    receivers = [twin(b_key, a_key, A_ADDR, b_to_a, a_to_b, (2, 1), seed=8) for _ in range(2)]
    return senders, receivers


def drained(session, now):
    """(datagrams, events). A handshake message carries a random ephemeral key and index, so the
    twins' differ: those are compared by kind, length and address, transport packets byte for byte."""
    out = [(data if data[0] == MSG_TRANSPORT else (data[0], len(data)), addr)
           for data, addr in session.datagrams_to_send(now)]
    events = []
    while (e := session.next_event()) is not None:
        events.append(e)
    return out, events


def drain_both(b_hot, b_general, now, seen_hot, seen_general):
    """Drain B's twins: the same datagrams, and the same events so far (the hot twin's
    returned data counted where it came)."""
    out_hot, events_hot = drained(b_hot, now)
    out_general, events_general = drained(b_general, now)
    assert out_hot == out_general
    seen_hot += events_hot
    seen_general += events_general
    assert seen_hot == seen_general


def timer(session):
    t = session.get_timer()
    return INF if t is None else t


PAYLOADS = st.one_of(
    st.tuples(st.sampled_from([CHANNEL_VOICE, CHANNEL_CONTROL, CHANNEL_TEXT]), st.binary(max_size=40)),
    st.tuples(st.just(CHANNEL_PATH), st.one_of(st.binary(max_size=12),
                                               st.integers(1, 9).map(lambda i: encode_probe(PROBE, i)))),
    st.tuples(st.just(CHANNEL_PQ), st.binary(max_size=20)),
)
OPS = st.lists(st.one_of(
    st.tuples(st.just("a_sends"), PAYLOADS),
    st.tuples(st.just("b_sends"), PAYLOADS),
    st.tuples(st.just("deliver"), st.integers(0, 10**6), st.sampled_from([A_ADDR, A_ADDR, A_ADDR, NEW_ADDR]),
              st.one_of(st.none(), st.integers(0, 80)), st.booleans()),
    st.tuples(st.just("advance"), st.floats(0.001, 4.0)),
), min_size=1, max_size=60)


@settings(max_examples=300, deadline=None)
@given(OPS)
@example([("a_sends", (CHANNEL_PQ, b"")), ("a_sends", (CHANNEL_VOICE, b"")),   # data held behind an
          ("deliver", 0, A_ADDR, None, True), ("deliver", 1, A_ADDR, None, False),   # undrained queue, then
          ("b_sends", (CHANNEL_PQ, b""))])                                       # drained by a send
def test_hot_paths_match_the_general_paths(ops):
    (a_hot, a_general), (b_hot, b_general) = pairs()
    now = 0.0
    wire: list[bytes] = []                        # what A sent, to deliver (again) to B
    seen_hot: list = []                           # B's events, the hot twin's returned data in place
    seen_general: list = []
    for op in ops:
        if op[0] in ("a_sends", "b_sends"):
            channel, payload = op[1]
            hot, general = (a_hot, a_general) if op[0] == "a_sends" else (b_hot, b_general)
            before = timer(hot)
            if hot.send_data(channel, payload, now):
                hint = hot.deadline_after_send()
                assert timer(hot) >= min(before, INF if hint is None else hint), "a send brought a deadline forward"
            else:
                hot.send(channel, payload, now)
            general.send(channel, payload, now)
            out_hot, events_hot = drained(hot, now)
            out_general, events_general = drained(general, now)
            assert out_hot == out_general
            if op[0] == "a_sends":
                assert events_hot == events_general == []      # A hears nothing here
                wire.extend(data for data, _ in out_hot if isinstance(data, bytes))   # B gets transport only
            else:                                              # B's events so far, all drained now
                seen_hot += events_hot
                seen_general += events_general
                assert seen_hot == seen_general
        elif op[0] == "deliver":
            _, pick, source, flip, drain = op
            if not wire:
                continue
            data = bytearray(wire[pick % len(wire)])
            if flip is not None:
                data[flip % len(data)] ^= 0x01
            before = timer(b_hot)
            routine = b_hot.receive(bytes(data), source, now)
            b_general.receive_datagram(bytes(data), source, now)
            if routine is not None:
                assert b_hot.datagrams_to_send(now) == [], "a routine packet queued a datagram"
                assert b_hot.next_event() is None, "a routine packet queued an event"
                assert timer(b_hot) >= before, "a routine packet brought a deadline forward"
                seen_hot.append(DataReceived(routine[0], routine[1], now))
            if drain:                             # sometimes events wait: data must then queue behind them
                drain_both(b_hot, b_general, now, seen_hot, seen_general)
        else:
            now += op[1]
            for session in (a_hot, a_general, b_hot, b_general):
                if timer(session) <= now:
                    session.handle_timer(now)
            assert drained(a_hot, now) == drained(a_general, now)
            drain_both(b_hot, b_general, now, seen_hot, seen_general)
        assert b_hot.stats == b_general.stats and a_hot.stats == a_general.stats
        assert timer(b_hot) == timer(b_general) and timer(a_hot) == timer(a_general)
    drain_both(b_hot, b_general, now, seen_hot, seen_general)


def test_the_hot_paths_are_taken_in_a_call():
    """Not vacuous: once a path is live both ways, voice takes the hot path both ways."""
    (a_hot, _), (b_hot, _) = pairs()
    assert a_hot.send_data(CHANNEL_VOICE, b"frame", 0.0) is False          # no live path yet: `send` does it
    a_hot.send(CHANNEL_VOICE, b"frame", 0.0)
    first = a_hot.datagrams_to_send(0.0)[0][0]
    assert b_hot.receive(first, A_ADDR, 0.0) is None                          # the first makes the peer reachable
    assert [type(e).__name__ for e in drained(b_hot, 0.0)[1]] == ["PeerReachable", "DataReceived"]
    b_hot.send(CHANNEL_VOICE, b"back", 0.01)
    a_hot.receive_datagram(b_hot.datagrams_to_send(0.01)[0][0], B_ADDR, 0.01)
    drained(a_hot, 0.01)
    assert a_hot.send_data(CHANNEL_VOICE, b"frame 2", 0.02) is True
    packet = a_hot.datagrams_to_send(0.02)[0][0]
    assert b_hot.receive(packet, A_ADDR, 0.02) == (CHANNEL_VOICE, b"frame 2")
