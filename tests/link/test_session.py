"""LinkSession step by step on a fake clock and a fake network."""

import pytest

from terminal.link.constants import (
    CHANNEL_TEST, CHANNEL_TEXT, HANDSHAKE_COPIES, KEEPALIVE_TIMEOUT, MSG_COOKIE_REPLY, PROBE_INTERVAL,
    REJECT_AFTER_TIME, REKEY_AFTER_TIME, REKEY_TIMEOUT,
)
from terminal.link.events import DataReceived, HandshakeCompleted, PeerReachable, PeerUnreachable
from terminal.link.messages import Initiation
from terminal.link.session import LinkSession

from .conftest import A_ADDR, B_ADDR, make_keys, make_pair


def data(events):
    return [(e.channel, e.payload) for e in events if isinstance(e, DataReceived)]


def test_handshake_then_data_both_ways(pair):
    a, b, net = pair
    a.start(0.0)
    net.flush()
    ea, eb = net.events(a), net.events(b)
    assert [type(e) for e in ea] == [HandshakeCompleted, PeerReachable]
    assert ea[0].initiator and ea[0].rtt == 0.0
    # B heard A's confirming keepalive: its keys are promoted and A is reachable to it.
    assert [type(e) for e in eb] == [HandshakeCompleted, PeerReachable]
    a.send(CHANNEL_TEST, b"ping", 0.1)
    b.send(CHANNEL_TEXT, b"pong", 0.1)
    net.flush()
    assert data(net.events(b)) == [(CHANNEL_TEST, b"ping")]
    assert data(net.events(a)) == [(CHANNEL_TEXT, b"pong")]
    assert a.rejected == b.rejected == 0


def test_data_sent_before_handshake_is_staged_and_delivered(pair):
    a, b, net = pair
    a.send(CHANNEL_TEST, b"early", 0.0)     # no keys yet: starts a handshake
    net.flush()
    assert data(net.events(b)) == [(CHANNEL_TEST, b"early")]


def test_psk_mismatch_never_completes(keys):
    a, b, net = make_pair(*keys)
    b.psk = bytes(range(32))
    a.start(0.0)
    net.advance(20.0)
    # psk2 mixes the PSK into message 2: B answers A's (statically authenticated)
    # initiation, and A refuses every response, so no keys are ever confirmed.
    assert a.current is None and b.current is None
    assert a.stats["dropped_unauthenticated"] >= 3
    a.send(CHANNEL_TEST, b"never", 20.0)
    net.flush()
    assert not data(net.events(b))


def test_replayed_initiation_is_ignored_and_not_answered(pair):
    a, b, net = pair
    a.start(0.0)
    initiation, _ = a.datagrams_to_send(0.0)[0]
    b.receive_datagram(initiation, A_ADDR, 0.0)
    assert len(b.datagrams_to_send(0.0)) == HANDSHAKE_COPIES     # the response, twice
    b.receive_datagram(initiation, A_ADDR, 1.0)                  # a copy of the one answered
    assert b.datagrams_to_send(1.0) == []
    assert b.stats["duplicates"] == 1
    # After a restart B knows only the saved timestamp, not the message: the same bytes are a replay.
    restarted = LinkSession(static=b.static, peer_static=a.static_public, endpoints=[A_ADDR],
                            pairing_id="test-pair", last_timestamp=b.last_timestamp)
    restarted.start(2.0)
    restarted.datagrams_to_send(2.0)
    restarted.receive_datagram(initiation, A_ADDR, 2.0)
    assert restarted.datagrams_to_send(2.0) == []
    assert restarted.stats["dropped_replayed_initiation"] == 1
    assert restarted.next is None and restarted.current is None


def test_older_initiation_is_ignored(pair):
    a, b, net = pair
    a.start(0.0)
    older, _ = a.datagrams_to_send(0.0)[0]
    a._initiate(5.0, 1)
    newer, _ = a.datagrams_to_send(5.0)[0]
    b.receive_datagram(newer, A_ADDR, 5.0)
    b.receive_datagram(older, A_ADDR, 5.1)
    assert b.stats["dropped_replayed_initiation"] == 1
    assert len(b.datagrams_to_send(5.1)) == HANDSHAKE_COPIES      # only the newer was answered


def test_initiation_from_unknown_key_is_dropped_without_reply(keys):
    a, b, net = make_pair(*keys)
    stranger, _, _ = make_pair(make_keys(), keys[1])   # a unit that knows B's key, but B does not pin it
    stranger.start(0.0)
    packet, _ = stranger.datagrams_to_send(0.0)[0]
    b.receive_datagram(packet, ("203.0.113.9", 1), 0.0)
    assert b.datagrams_to_send(0.0) == []
    assert b.stats["dropped_unknown_key"] == 1


def test_initiation_flood_is_rate_limited_before_any_dh(pair):
    a, b, net = pair
    a.start(0.0)
    packet, _ = a.datagrams_to_send(0.0)[0]
    forged = packet[:8] + bytes(108) + packet[116:]          # mac1 now wrong
    for _ in range(5):
        b.receive_datagram(forged, A_ADDR, 0.0)
    assert b.stats["dropped_bad_mac"] == 5
    # Correct mac1, garbage Noise body: the token bucket caps DH work per source.
    body = Initiation.parse(packet)
    from terminal.link.session import mac, mac1_key
    junk = Initiation(body.sender, bytes(32) + bytes(76))
    junk_bytes = junk.body() + mac(mac1_key(b.static_public), junk.body()) + bytes(16)
    for _ in range(100):
        b.receive_datagram(junk_bytes, A_ADDR, 0.0)
    # The token bucket caps DH work per source (burst 10); past UNDER_LOAD_RATE the rest get
    # a cookie reply, which costs no DH, and nothing else.
    assert b.stats["dropped_unauthenticated"] <= 10
    assert b.stats["dropped_under_load"] >= 80
    replies = b.datagrams_to_send(0.0)
    assert replies and all(p[0] == MSG_COOKIE_REPLY and len(p) == 64 and dst == A_ADDR for p, dst in replies)


def test_every_single_byte_change_to_a_transport_packet_is_rejected(up):
    a, b, net = up
    a.send(CHANNEL_TEST, b"x" * 24, 1.0)
    (packet, _), = a.datagrams_to_send(1.0)
    accepted = 0
    for i in range(len(packet)):
        for value in range(256):
            if value == packet[i]:
                continue
            b.receive_datagram(packet[:i] + bytes([value]) + packet[i + 1:], A_ADDR, 1.0)
            accepted += len(data(net.events(b)))
    assert accepted == 0
    assert b.datagrams_to_send(1.0) == []
    b.receive_datagram(packet, A_ADDR, 1.0)                 # the original still authenticates
    assert data(net.events(b)) == [(CHANNEL_TEST, b"x" * 24)]


def test_replayed_transport_packet_is_dropped(up):
    a, b, net = up
    a.send(CHANNEL_TEST, b"once", 1.0)
    (packet, _), = a.datagrams_to_send(1.0)
    before = b.stats["duplicates"]
    b.receive_datagram(packet, A_ADDR, 1.0)
    b.receive_datagram(packet, A_ADDR, 1.1)
    assert data(net.events(b)) == [(CHANNEL_TEST, b"once")]
    assert b.stats["duplicates"] == before + 1                 # inside the window: a copy, delivered once
    for t in range(5000):                              # push the counter out of the window
        a.send(CHANNEL_TEST, b"n", 2.0)
    net.flush()
    net.events(b)
    b.receive_datagram(packet, A_ADDR, 2.0)
    assert b.stats["dropped_replayed"] == 1 and not data(net.events(b))


def test_keepalive_after_idle_and_unreachable_detection():
    a, b, net = make_pair(make_keys(), make_keys(), unreachable_after=30.0)
    a.start(0.0)
    net.advance(0.5)
    net.events(a), net.events(b)
    assert a.keepalive_interval == KEEPALIVE_TIMEOUT and a.probe_interval == PROBE_INTERVAL
    sent = a.stats["probes_sent"]
    net.advance(PROBE_INTERVAL - 0.01)
    assert a.stats["probes_sent"] == sent                   # one probe per path per interval
    net.advance(10 * PROBE_INTERVAL + 0.01)
    assert a.stats["probes_sent"] == sent + 10
    assert a.reachable and b.reachable
    last_heard = net.now
    net.advance(60.0)
    assert a.reachable and not any(isinstance(e, PeerUnreachable) for e in net.events(a))
    net.flush()
    net.cut.add(B_ADDR)                                     # B's uplink dies
    cut_at = net.now
    net.advance(cut_at + 40.0)
    gone = [e for e in net.events(a) if isinstance(e, PeerUnreachable)]
    assert len(gone) == 1 and a.reachable is False
    # Noticed within unreachable_after of the last packet heard (plus one keepalive gap at most).
    assert gone[0].at - cut_at <= 30.0 + KEEPALIVE_TIMEOUT
    assert gone[0].silent_for >= 30.0
    net.cut.clear()
    net.advance(net.now + 2 * REKEY_TIMEOUT + 1)
    assert [type(e) for e in net.events(a) if isinstance(e, (PeerReachable, PeerUnreachable))] == [PeerReachable]
    assert last_heard  # sanity: something was heard before the cut


def test_default_keepalive_keeps_two_lost_keepalives_from_counting_as_unreachable(pair):
    a, b, net = pair
    assert a.unreachable_after == 15.0 and a.keepalive_interval == 5.0


def test_unreachable_from_start_when_peer_never_answers(pair):
    a, b, net = pair
    net.cut.add(B_ADDR)
    a.start(0.0)
    net.advance(20.0)
    events = net.events(a)
    assert [e.at for e in events if isinstance(e, PeerUnreachable)] == [15.0]
    assert a.stats["handshake_timeouts"] >= 3


def test_rekey_on_time_with_traffic_continuing(up):
    a, b, net = up
    first = a.current.local_index
    received = []
    t = 0.0
    while t < 3 * REJECT_AFTER_TIME:
        t += 1.0
        net.advance(t)
        a.send(CHANNEL_TEST, str(t).encode(), t)
        b.send(CHANNEL_TEST, str(t).encode(), t)
        net.flush()
        received.append((len(data(net.events(a))), len(data(net.events(b)))))
    assert all(r == (1, 1) for r in received), "a message was lost across a rekey"
    assert a.current.local_index != first
    assert a.stats["handshakes_initiated"] >= 4        # every REKEY_AFTER_TIME, from the initiator
    assert b.stats["handshakes_initiated"] == 0        # the responder never needed to
    assert a.rejected == b.rejected == 0
    assert net.now - a.current.created < REKEY_AFTER_TIME + REKEY_TIMEOUT


@pytest.mark.parametrize("created", [121.00172340291478, 0.1 + 0.2, 1e9 + 0.3, 7.000000000000001])
def test_a_deadline_from_get_timer_is_due_when_handled(up, created):
    """`now - created >= limit` rounds below the limit for some floats; that re-armed a timer forever."""
    a, b, net = up
    a.current.created = created
    assert a.current.wants_rekey(created + a.current.rekey_after)
    assert a.current.expired(created + REJECT_AFTER_TIME)
    a.handle_timer(created + a.current.rekey_after)
    assert a.pending is not None


def test_keys_are_refused_after_reject_after_time(up):
    a, b, net = up
    a.send(CHANNEL_TEST, b"old", 1.0)
    (stale, _), = a.datagrams_to_send(1.0)
    net.advance(REJECT_AFTER_TIME + 5.0)
    b.receive_datagram(stale, A_ADDR, net.now)           # keys that sealed it are gone
    assert not data(net.events(b))
    assert b.stats["dropped_unknown_index"] == 1


def test_failover_to_backup_endpoint_when_primary_is_silent(keys):
    dead = ("203.0.113.77", 4870)
    a, b, net = make_pair(*keys, a_endpoints=[dead, B_ADDR])
    a.start(0.0)
    net.flush()
    # Every handshake goes to every candidate at once, so a dead primary costs no retry.
    assert a.current is not None and a.destination == B_ADDR
    assert [dst for _, src, dst, _ in net.log if src == A_ADDR][:4] == [dead, dead, B_ADDR, B_ADDR]
    net.advance(a.live_window + 1.0)
    a.send(CHANNEL_TEST, b"x", net.now)
    assert [dst for _, dst in a.datagrams_to_send(net.now)] == [B_ADDR]   # data only on the live path


def test_roaming_follows_the_last_authenticated_source(up):
    a, b, net = up
    moved = ("192.0.2.200", 5000)
    net.move(A_ADDR, moved)
    a.send(CHANNEL_TEST, b"from new address", 2.0)
    net.flush()
    assert data(net.events(b)) == [(CHANNEL_TEST, b"from new address")]
    assert moved in [p.addr for p in b.paths.live(2.0, b.live_window)]
    b.send(CHANNEL_TEST, b"reply", 2.1)
    net.flush()
    assert data(net.events(a)) == [(CHANNEL_TEST, b"reply")]
    net.advance(2.0 + b.live_window + 1.0)                # the old address has gone quiet
    assert b.destination == moved
    b.send(CHANNEL_TEST, b"later", net.now)
    assert [dst for _, dst in b.datagrams_to_send(net.now)] == [moved]


def test_failover_mid_session_when_current_path_goes_silent(keys):
    backup_a = ("192.0.2.50", 4871)
    a, b, net = make_pair(*keys, b_endpoints=[A_ADDR, backup_a])
    net.attach(backup_a, a)     # A is reachable on two addresses
    b.start(0.0)
    net.advance(1.0)
    assert b.destination == A_ADDR
    net.cut.add(A_ADDR)
    net.advance(60.0)
    b.send(CHANNEL_TEST, b"via backup", 60.0)
    net.flush()
    assert data(net.events(a))[-1:] == [(CHANNEL_TEST, b"via backup")]
    # With no path live, data goes to every candidate: the backup carried it.
    assert (60.0, B_ADDR, backup_a) in [(t, src, dst) for t, src, dst, _ in net.log]


def test_glare_both_initiate_at_once(pair):
    a, b, net = pair
    a.start(0.0)
    b.start(0.0)
    net.flush()
    net.advance(1.0)
    a.send(CHANNEL_TEST, b"a", 1.0)
    b.send(CHANNEL_TEST, b"b", 1.0)
    net.flush()
    assert data(net.events(b))[-1] == (CHANNEL_TEST, b"a")
    assert data(net.events(a))[-1] == (CHANNEL_TEST, b"b")
    assert a.rejected == b.rejected == 0


def test_garbage_gets_no_reply(up):
    a, b, net = up
    for junk in (b"", b"\x01", b"\x04" + bytes(40), b"\x02" * 92, bytes(148), b"\xff" * 2000):
        b.receive_datagram(junk, ("203.0.113.5", 9), 2.0)
    assert b.datagrams_to_send(2.0) == []
    assert b.rejected == 6


def test_send_via_forces_one_path(keys):
    backup_b = ("198.51.100.99", 4870)
    a, b, net = make_pair(*keys, a_endpoints=[B_ADDR, backup_b])
    net.attach(backup_b, b)
    a.start(0.0)
    net.advance(1.0)
    a.send(CHANNEL_TEST, b"probe", 1.0, via=backup_b)
    (packet, dst), = a.datagrams_to_send(1.0)
    assert dst == backup_b and a.destination == B_ADDR


def test_a_forged_response_does_not_spoil_the_genuine_one(pair):
    """The initiation's sender index travels in clear; a forger who knows our public key
    (for mac1) answers first with garbage. The genuine response must still complete."""
    from terminal.link.messages import Response
    from terminal.link.session import mac, mac1_key

    a, b, net = pair
    a.start(0.0)
    initiation, _ = a.datagrams_to_send(0.0)[0]
    forged = Response(12345, Initiation.parse(initiation).sender, bytes(48)).body()
    a.receive_datagram(forged + mac(mac1_key(a.static_public), forged) + bytes(16), ("203.0.113.66", 9), 0.0)
    assert a.stats["dropped_unauthenticated"] == 1 and a.current is None
    b.receive_datagram(initiation, A_ADDR, 0.0)
    response, _ = b.datagrams_to_send(0.0)[0]
    a.receive_datagram(response, B_ADDR, 0.0)
    assert a.current is not None and a.reachable


def test_tightening_the_unreachable_timeout_counts_silence_from_then(up):
    """Idle keepalives come every few seconds; a call that tightens the timeout to 1.5 s
    must not call the peer unreachable for the quiet before it."""
    a, b, net = up
    heard = a.last_received
    net.cut.add(B_ADDR)
    net.advance(heard + 4.0)
    a.set_unreachable_after(1.5, net.now)
    net.advance(heard + 5.4)
    assert a.reachable is True
    net.advance(heard + 5.6)
    gone = [e for e in net.events(a) if isinstance(e, PeerUnreachable)]
    assert a.reachable is False and len(gone) == 1 and 1.5 <= gone[0].silent_for < 1.7


def test_mac1_is_compared_in_constant_time(pair, monkeypatch):
    """Both handshake messages' mac1 checks go through hmac.compare_digest, never ==."""
    import hmac

    from terminal.link import session as session_mod

    compared = []
    real = hmac.compare_digest
    monkeypatch.setattr(session_mod.hmac, "compare_digest", lambda x, y: compared.append(len(x)) or real(x, y))
    a, b, net = pair
    a.start(0.0)
    packet, _ = a.datagrams_to_send(0.0)[0]
    b.receive_datagram(packet, A_ADDR, 0.0)                 # initiation: B checks its mac1
    response, _ = b.datagrams_to_send(0.0)[0]
    a.receive_datagram(response, B_ADDR, 0.0)               # response: A checks its mac1
    # mac1 of the initiation, the peer's static key, mac1 of the response.
    assert compared == [16, 32, 16] and b.stats["dropped_bad_mac"] == a.stats["dropped_bad_mac"] == 0
