"""Issue 13's link, sans-I/O on a fake clock: cookies under load, persisted timestamps,
drop counters, two paths with one cut mid-call, NAT rebinding, and handshakes under loss."""

import hmac

import pytest

from terminal.link import cookie as cookie_mod
from terminal.link.constants import CHANNEL_TEXT, CHANNEL_VOICE, MSG_COOKIE_REPLY, PROBE_INTERVAL
from terminal.link.events import DataReceived, PathUp, PeerReachable
from terminal.link.messages import Initiation
from terminal.link.noise import public_bytes
from terminal.link.messages import Initiation  # noqa: F811
from terminal.link.session import LinkSession, mac, mac1_key
from terminal.text.channel import TextChannel
from terminal.text.effects import Stored
from terminal.text.precedence import Precedence

from .conftest import A_ADDR, B_ADDR, PathNet, make_keys, make_pair


def session(key, peer_key, endpoints, **kw):
    return LinkSession(static=key, peer_static=public_bytes(peer_key), endpoints=endpoints,
                       pairing_id="test-pair", **kw)


def stranger_initiations(target_key, count):
    """Well-formed initiations with a valid mac1 for `target_key`, from keys it does not pin."""
    out = []
    for _ in range(count):
        s = session(make_keys(), target_key, [B_ADDR])
        s.start(0.0)
        out.append(s.datagrams_to_send(0.0)[0][0])
    return out


# ----- cookies ---------------------------------------------------------------------

def test_under_load_an_initiation_without_mac2_gets_a_cookie_and_the_retry_with_mac2_is_answered(keys):
    a, b, net = make_pair(*keys)
    for packet in stranger_initiations(keys[1], 20):           # put B under load
        b.receive_datagram(packet, ("203.0.113.9", 7), 0.0)
    b.datagrams_to_send(0.0)
    dh_before = b.stats["dropped_unknown_key"]
    a.start(0.01)
    initiation, _ = a.datagrams_to_send(0.01)[0]
    assert initiation[-16:] == bytes(16)                       # A holds no cookie yet: mac2 is zeros
    b.receive_datagram(initiation, A_ADDR, 0.01)
    (reply, dst), = b.datagrams_to_send(0.01)
    assert reply[0] == MSG_COOKIE_REPLY and len(reply) == 64 and dst == A_ADDR
    assert b.stats["dropped_unknown_key"] == dh_before         # no DH was spent on it
    a.receive_datagram(reply, B_ADDR, 0.02)
    assert a.stats["cookies_received"] == 1
    assert a.get_timer() <= 0.02                               # the retry is due at once, not after ~1 s
    a.handle_timer(0.02)
    retry, _ = a.datagrams_to_send(0.02)[0]
    assert Initiation.parse(retry).mac2 != bytes(16)
    b.receive_datagram(retry, A_ADDR, 0.03)
    response, _ = b.datagrams_to_send(0.03)[0]
    a.receive_datagram(response, B_ADDR, 0.04)
    assert a.current is not None and b.next is not None


def test_mac2_for_one_source_address_is_refused_from_another(keys):
    a, b, net = make_pair(*keys)
    for packet in stranger_initiations(keys[1], 20):
        b.receive_datagram(packet, ("203.0.113.9", 7), 0.0)
    b.datagrams_to_send(0.0)
    a.start(0.01)
    initiation, _ = a.datagrams_to_send(0.01)[0]
    b.receive_datagram(initiation, A_ADDR, 0.01)
    reply, _ = b.datagrams_to_send(0.01)[0]
    a.receive_datagram(reply, B_ADDR, 0.02)
    a.handle_timer(0.02)
    retry, _ = a.datagrams_to_send(0.02)[0]
    b.receive_datagram(retry, ("192.0.2.99", 4870), 0.03)      # the cookie is bound to A_ADDR
    out = b.datagrams_to_send(0.03)
    assert [p[0] for p, _ in out] == [MSG_COOKIE_REPLY] and b.next is None


def test_a_forged_cookie_reply_is_dropped_and_does_not_drive_a_retry(keys):
    a, b, net = make_pair(*keys)
    a.start(0.0)
    initiation, _ = a.datagrams_to_send(0.0)[0]
    sender = Initiation.parse(initiation).sender
    forged = bytes((MSG_COOKIE_REPLY, 0, 0, 0)) + sender.to_bytes(4, "little") + bytes(56)
    a.receive_datagram(forged, B_ADDR, 0.01)
    assert a.stats["dropped_unauthenticated"] == 1 and a.datagrams_to_send(0.01) == []


def test_a_flood_from_the_peers_own_address_does_not_lock_out_its_genuine_handshake(keys):
    """3000 stranger initiations a second, spoofed from A's address, at B while A re-handshakes."""
    a_key, b_key = keys
    net = PathNet()
    a = session(a_key, b_key, [B_ADDR])
    b = session(b_key, a_key, [A_ADDR])
    net.attach(A_ADDR, a)
    net.attach(B_ADDR, b)
    a.start(0.0)
    net.run(0.5)
    assert a.current is not None
    flood = stranger_initiations(b_key, 50)

    def spray(now, n=[0]):
        for _ in range(3):
            b.receive_datagram(flood[n[0] % len(flood)], A_ADDR, now)
            n[0] += 1
        b.datagrams_to_send(now)                       # cookie replies to A's address: A ignores them
        if now < 4.0:
            net.at(now + 0.001, spray)

    net.at(1.0, spray)
    old = a.current.local_index
    net.at(2.0, lambda now: a._begin_handshake(now))
    net.run(3.0)
    assert b.stats["dropped_under_load"] > 2500            # the flood met cookies, not DH
    assert b.stats["dropped_unknown_key"] <= 20            # DH spent on it: at most the first bursts
    assert a.current is not None and a.current.local_index != old
    assert a.current.created - 2.0 < 1.0, "the genuine handshake took longer than 1 s under the flood"


def test_mac2_and_cookie_checks_use_constant_time_comparison(keys, monkeypatch):
    compared = []
    real = hmac.compare_digest
    monkeypatch.setattr(cookie_mod.hmac, "compare_digest", lambda x, y: compared.append(len(x)) or real(x, y))
    checker = cookie_mod.CookieChecker(public_bytes(keys[1]))
    checker.reply(1, bytes(16), A_ADDR, 0.0, known_path=True)     # creates the secret
    assert checker.mac2_ok(bytes(148), A_ADDR, 0.0) is False
    assert compared == [16]


# ----- timestamps -------------------------------------------------------------------

def test_the_timestamp_is_saved_before_the_response_leaves_and_a_failed_save_answers_nothing(keys):
    a, b, net = make_pair(*keys)
    saved = []
    b.on_timestamp = lambda ts: saved.append((ts, list(b._out)))
    a.start(0.0)
    initiation, _ = a.datagrams_to_send(0.0)[0]
    b.receive_datagram(initiation, A_ADDR, 0.0)
    assert len(saved) == 1 and saved[0][1] == []               # nothing queued when it was saved
    assert saved[0][0] == b.last_timestamp

    def full_disk(ts):
        raise OSError(28, "No space left on device")
    b.on_timestamp = full_disk
    a._initiate(1.0, 1)
    newer, _ = a.datagrams_to_send(1.0)[0]
    b.receive_datagram(newer, A_ADDR, 1.0)
    assert b.datagrams_to_send(1.0)[2:] == [] and b.stats["dropped_timestamp_unsaved"] == 1
    assert b.last_timestamp == saved[0][0]


# ----- counters -----------------------------------------------------------------------

def test_drops_are_counted_per_reason(up):
    a, b, net = up
    b.receive_datagram(b"", ("203.0.113.5", 9), 1.0)
    b.receive_datagram(b"\x04" + bytes(40), ("203.0.113.5", 9), 1.0)
    b.receive_datagram(b"\x01" + bytes(155), ("203.0.113.5", 9), 1.0)
    b.receive_datagram(bytes(148), ("203.0.113.5", 9), 1.0)
    assert b.drops == {"malformed": 2, "unknown_index": 1, "bad_mac": 1}
    assert b.rejected == 4


def test_debug_lines_about_drops_are_rate_limited(up, caplog):
    a, b, net = up
    caplog.set_level("DEBUG", logger="terminal.link.session")
    for i in range(1000):
        b.receive_datagram(b"", ("203.0.113.5", 9), 1.0 + i * 0.01)    # 10 s of garbage
    lines = [r for r in caplog.records if "dropped datagram" in r.getMessage()]
    assert b.stats["dropped_malformed"] == 1000 and 1 <= len(lines) <= 2


# ----- two paths ------------------------------------------------------------------------

A2 = ("192.0.2.101", 4870)
B2 = ("198.51.100.102", 4870)


def two_path_pair(keys, **net_kw):
    a_key, b_key = keys
    net = PathNet(**net_kw)
    a = session(a_key, b_key, [B_ADDR, B2])
    b = session(b_key, a_key, [A_ADDR, A2])
    for addr, s in ((A_ADDR, a), (A2, a), (B_ADDR, b), (B2, b)):
        net.attach(addr, s)
    net.route(a, B2, A2)            # path 2 is A2 <-> B2 both ways
    net.route(b, A2, B2)
    return a, b, net


@pytest.mark.parametrize("cut", [B_ADDR, B2])
def test_a_path_cut_mid_call_loses_no_voice_frame_and_the_copies_are_counted(keys, cut):
    a, b, net = two_path_pair(keys, delay=0.03)
    received = {"a": [], "b": []}
    net.on_event(a, lambda e, now: isinstance(e, DataReceived) and received["a"].append(e.payload))
    net.on_event(b, lambda e, now: isinstance(e, DataReceived) and received["b"].append(e.payload))
    a.start(0.0)
    net.run(3.0)
    assert {p["state"] for p in a.path_report(3.0)} == {"up"}
    frames = 500                                    # 10 s of 20 ms frames each way

    def frame(now, n=[0]):
        a.send(CHANNEL_VOICE, b"a%d" % n[0], now)
        b.send(CHANNEL_VOICE, b"b%d" % n[0], now)
        n[0] += 1
        if n[0] < frames:
            net.at(now + 0.02, frame)

    net.at(3.0, frame)
    net.at(8.0, lambda now: net.cut.add(cut))       # one path goes dark mid-call
    net.run(14.0)
    assert received["b"] == [b"a%d" % i for i in range(frames)]
    assert received["a"] == [b"b%d" % i for i in range(frames)]
    assert a.stats["duplicates"] > 200 and b.stats["duplicates"] > 200
    assert a.rejected == b.rejected == 0
    states = {p["endpoint"]: p["state"] for p in a.path_report(net.now)}
    assert states["%s:%d" % cut] == "down" and list(states.values()).count("up") == 1


def test_each_path_reports_its_round_trip_and_loss(keys):
    a, b, net = two_path_pair(keys, delay=0.04)
    a.start(0.0)
    net.run(20.0)
    report = a.path_report(net.now)
    assert [p["state"] for p in report] == ["up", "up"]
    assert all(75 <= p["rtt_ms"] <= 85 and p["loss"] == 0.0 for p in report)
    net.cut.add(B2)
    net.run(40.0)
    report = {p["endpoint"]: p for p in a.path_report(net.now)}
    assert report["%s:%d" % B2]["state"] == "down" and report["%s:%d" % B2]["loss"] == 1.0
    assert report["%s:%d" % B_ADDR]["best"]


# ----- NAT rebinding ------------------------------------------------------------------------

B_PUBLIC = ("198.51.100.2", 4870)      # B's port forward: what A is configured with
B_NAT = ("198.51.100.2", 40000)         # where B's own packets appear to come from
A_PUBLIC = ("192.0.2.1", 4870)
A_NAT = ("192.0.2.1", 50000)


class TextPair:
    """Two link sessions and two text channels on a PathNet, as the daemon wires them."""

    def __init__(self, keys, net):
        self.net = net
        self.a = session(keys[0], keys[1], [B_PUBLIC])
        self.b = session(keys[1], keys[0], [A_PUBLIC])
        self.text = {id(self.a): TextChannel(b"A" * 8, initial_rto=0.5, max_rto=2.0),
                     id(self.b): TextChannel(b"B" * 8, initial_rto=0.5, max_rto=2.0)}
        self.delivered: dict[str, float] = {}
        for s in (self.a, self.b):
            net.on_event(s, lambda e, now, s=s: self._event(s, e, now))

    def _event(self, s, event, now):
        ch = self.text[id(s)]
        if isinstance(event, (PeerReachable, PathUp)):
            ch.peer_reachable(now)
        elif isinstance(event, DataReceived) and event.channel == CHANNEL_TEXT:
            ch.receive(event.payload, now)
        self.pump(s, now)

    def pump(self, s, now):
        ch = self.text[id(s)]
        while (effect := ch.next_effect()) is not None:
            if isinstance(effect, Stored):
                self.delivered.setdefault(effect.text, now)
        for payload in ch.payloads_to_send(now):
            s.send(CHANNEL_TEXT, payload, now)

    def tick(self, now):
        for s in (self.a, self.b):
            ch = self.text[id(s)]
            if (t := ch.get_timer()) is not None and t <= now:
                ch.handle_timer(now)
            self.pump(s, now)
        self.net.at(now + 0.05, self.tick)


def rebinding_net(keys):
    net = PathNet(delay=0.02)
    pair = TextPair(keys, net)
    net.attach(B_PUBLIC, pair.b)
    net.attach(A_PUBLIC, pair.a)
    net.nat[B_PUBLIC] = B_NAT
    net.nat[A_PUBLIC] = A_NAT
    net.by_addr[B_NAT] = pair.b
    net.by_addr[A_NAT] = pair.a
    return net, pair


def rebind(net, public, port, now):
    old = net.nat[public]
    new = (old[0], port)
    session = net.by_addr.pop(old)
    net.by_addr[new] = session
    net.nat[public] = new


@pytest.mark.parametrize("side", ["A", "B"])
def test_nat_rebinding_five_times_during_a_message_stream_delivers_every_message_within_2_s(keys, side):
    net, pair = rebinding_net(keys)
    pair.a.start(0.0)
    net.at(0.0, pair.tick)
    net.run(2.0)
    sent = {}

    def send(now, n=[0]):
        text = f"message {n[0]}"
        pair.text[id(pair.a)].queue(text.encode()[:16].ljust(16, b"."), Precedence.ROUTINE, text, now, now)
        sent[text] = now
        n[0] += 1
        if now < 30.0:
            net.at(now + 0.25, send)

    net.at(2.0, send)
    public = B_PUBLIC if side == "B" else A_PUBLIC
    rebinds = [5.0, 10.0, 15.0, 20.0, 25.0]
    for i, t in enumerate(rebinds):
        net.at(t, lambda now, i=i: rebind(net, public, 41000 + i, now))
    net.run(40.0)
    assert set(pair.delivered) == set(sent), "a message was never delivered"
    late = {t: pair.delivered[t] - max(sent[t], max([r for r in rebinds if r <= pair.delivered[t]], default=0))
            for t in sent}
    assert max(late.values()) <= 2.0, f"slowest delivery after a rebind: {max(late.values()):.2f} s"


def test_both_ports_rebinding_at_once_recovers_as_soon_as_a_configured_address_works_again(keys):
    net, pair = rebinding_net(keys)
    pair.a.start(0.0)
    net.at(0.0, pair.tick)
    net.run(2.0)
    net.cut.update({B_PUBLIC, A_PUBLIC})           # port forwards down ...
    rebind(net, B_PUBLIC, 42000, 2.0)              # ... while both NATs rebind
    rebind(net, A_PUBLIC, 52000, 2.0)
    text = "after both rebound"
    net.run(10.0)
    pair.text[id(pair.a)].queue(b"x" * 16, Precedence.ROUTINE, text, 10.0, 10.0)
    net.run(20.0)
    assert text not in pair.delivered              # no address works: nothing can get through
    net.cut.discard(B_PUBLIC)                      # B's configured address works again
    net.run(40.0)
    assert text in pair.delivered and pair.delivered[text] - 20.0 <= 2.0


# ----- handshake under loss -------------------------------------------------------------------

def time_to_up(seed, loss=0.3, delay=0.05, jitter=0.02):
    import random
    a_key, b_key = make_keys(), make_keys()
    net = PathNet(loss=loss, delay=delay, jitter=jitter, seed=seed)
    a = session(a_key, b_key, [B_ADDR], rng=random.Random(seed))
    b = session(b_key, a_key, [A_ADDR], rng=random.Random(seed + 1))
    net.attach(A_ADDR, a)
    net.attach(B_ADDR, b)
    a.start(0.0)
    t = 0.0
    while t < 30.0:
        t += 0.01
        net.run(t)
        if a.current is not None and b.current is not None:
            return t
    return float("inf")


def test_the_link_comes_up_within_3_s_at_30_percent_loss_at_p95_over_200_seeds():
    times = sorted(time_to_up(seed) for seed in range(200))
    p95 = times[int(0.95 * len(times)) - 1]
    assert p95 <= 3.0, f"p95 {p95:.2f} s; median {times[100]:.2f} s"


# ----- from the review: what an attacker who sees our packets could do -----------------------

def test_forged_cookie_replies_drive_at_most_one_early_retry_per_handshake(keys):
    """A cookie reply needs only B's public key and the mac1 our initiation carries in clear."""
    from terminal.link.cookie import CookieChecker
    a, b, net = make_pair(*keys)
    forger = CookieChecker(public_bytes(keys[1]))
    a.start(0.0)
    t = 0.0
    for _ in range(50):
        for initiation, _ in a.datagrams_to_send(t)[:1]:
            body = Initiation.parse(initiation)
            reply = forger.reply(body.sender, body.mac1, A_ADDR, t, known_path=True)
            a.receive_datagram(reply, B_ADDR, t)
        t += 0.01
        if a.get_timer() <= t:
            a.handle_timer(t)
    # The first initiation, one early retry for the first cookie, and nothing more in 0.5 s.
    assert a.stats["initiations_sent"] == 2 and a.stats["cookies_received"] >= 1


def test_the_retry_backoff_survives_a_peer_unreachable_for_days(keys):
    a, b, net = make_pair(*keys)
    net.cut.add(B_ADDR)
    a.start(0.0)
    a.pending.attempt = 5000                               # ~7 h of 5 s retries
    due = a.get_timer()
    a.handle_timer(due)
    assert a.pending.attempt == 5001 and a.get_timer() > due
    assert 4.0 <= a.get_timer() - due <= 6.0


def test_eight_forged_responses_do_not_spoil_the_genuine_one(pair):
    from terminal.link.messages import Response
    a, b, net = pair
    a.start(0.0)
    initiation, _ = a.datagrams_to_send(0.0)[0]
    sender = Initiation.parse(initiation).sender
    for i in range(20):
        forged = Response(1000 + i, sender, bytes(48)).body()
        a.receive_datagram(forged + mac(mac1_key(a.static_public), forged) + bytes(16), ("203.0.113.66", 9), 0.0)
    b.receive_datagram(initiation, A_ADDR, 1.5)             # the genuine response, a second later
    response, _ = b.datagrams_to_send(1.5)[0]
    a.receive_datagram(response, B_ADDR, 1.5)
    assert a.current is not None


def test_a_forged_source_on_a_copied_packet_gets_no_traffic_but_challenges(keys):
    """An attacker who copies a genuine packet and forges its source: the unit challenges that
    address with a few probes and sends it nothing else, however much voice flows."""
    a, b, net = make_pair(*keys)
    a.start(0.0)
    b.start(0.0)
    net.advance(0.5)
    victim = ("203.0.113.200", 9999)
    a.send(CHANNEL_VOICE, b"frame", 1.0)
    (packet, _), = a.datagrams_to_send(1.0)
    b.receive_datagram(packet, victim, 1.0)                # the copy arrives first, from the forged source
    t = 1.0
    for n in range(200):
        t += 0.02
        b.send(CHANNEL_VOICE, b"v%d" % n, t)
        net.advance(t)
    net.advance(20.0)
    to_victim = [data for when, src, dst, data in net.log if dst == victim]
    assert 1 <= len(to_victim) <= 3                        # probes only: at most MAX_CHALLENGES
    assert victim not in [p.addr for p in b.paths.paths]   # forgotten once it never answered


def test_a_copy_of_the_initiation_via_another_known_path_is_answered_there_once(keys):
    """The first copy came on a path whose way back is broken: the one via the other path
    gets the same response (once), so our own initiations still complete."""
    a, b, net = make_pair(*keys, a_endpoints=[B_ADDR, B2], b_endpoints=[A_ADDR, A2])
    a.start(0.0)
    initiation, _ = a.datagrams_to_send(0.0)[0]
    b.receive_datagram(initiation, A_ADDR, 0.0)
    first = b.datagrams_to_send(0.0)
    b.receive_datagram(initiation, A2, 0.0)
    b.receive_datagram(initiation, A2, 0.0)
    again = b.datagrams_to_send(0.0)
    assert [dst for _, dst in again] == [A2] and again[0][0] == first[0][0]
    b.receive_datagram(initiation, ("203.0.113.9", 1), 0.0)       # not one of A's paths: nothing
    assert b.datagrams_to_send(0.0) == []


def test_a_spray_from_many_sources_does_not_use_up_the_peers_own_cookie_budget(keys):
    from terminal.link.cookie import CookieChecker
    checker = CookieChecker(public_bytes(keys[1]))
    sprayed = sum(checker.reply(1, bytes(16), (f"10.0.{i // 250}.{i % 250}", 7), 0.0, known_path=False) is not None
                  for i in range(5000))
    assert sprayed == 2000                                   # the cap on everyone else
    assert checker.reply(1, bytes(16), A_ADDR, 0.0, known_path=True) is not None


def test_a_full_rate_limiter_does_not_scan_every_key_on_every_packet():
    from terminal.link.ratelimit import TokenBucket
    bucket = TokenBucket(5, 5, max_keys=4096)
    for i in range(4096):
        bucket.allow(i, 0.0)
    refused = sum(not bucket.allow(10_000 + i, 0.1) for i in range(20000))   # a spray of new sources
    assert bucket.prunes == 1 and refused == 20000        # one pass over the table, not one per packet
    assert bucket.allow(99_999, 1.2) and bucket.prunes == 2   # after a refill time, room again
