"""The post-quantum ratchet (terminal/link/pq.py) in the link: sessions become hybrid, data waits
for hybrid keys, the combiner holds if either secret does, no downgrade, sizes, persistence."""

import pytest
from hypothesis import given, settings, strategies as st
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from terminal.link import pq
from terminal.link.constants import CHANNEL_PQ, CHANNEL_TEXT
from terminal.link.events import DataReceived, HandshakeCompleted
from terminal.link.messages import Initiation
from terminal.link.noise import HandshakeError, HandshakeState, public_bytes
from terminal.link.session import LinkSession

from .conftest import A_ADDR, B_ADDR, make_keys, make_pair
from .test_pq_review import classical_initiation


def hybrid_pair(**kw):
    """Two sessions that carry data on hybrid keys only, both started (either may be the offerer)."""
    a, b, net = make_pair(make_keys(), make_keys(), require_hybrid=True, **kw)
    b.start(0.0)
    net.datagrams = b.datagrams_to_send(0.0)       # B's own first initiation: lost, A starts the pair
    return a, b, net


def offerer_first(a, b):
    return (a, b) if a.offerer else (b, a)


def test_the_first_handshake_is_followed_by_a_ratchet_step_and_hybrid_keys():
    a, b, net = hybrid_pair()
    a.start(0.0)
    net.advance(2.0)
    completed = [e for s in (a, b) for e in net.events(s) if isinstance(e, HandshakeCompleted)]
    assert completed[0].hybrid is False and completed[-1].hybrid   # classical first, hybrid from the re-key on
    assert a.mode == b.mode == "hybrid-mlkem768"
    assert a.ratchet.confirmed == b.ratchet.confirmed is not None
    # One exchange before the hybrid keys, and one after them (every handshake steps the ratchet).
    assert a.stats["pq_exchanges"] + b.stats["pq_exchanges"] >= 2


def test_no_service_data_travels_on_keys_without_the_post_quantum_secret():
    a, b, net = hybrid_pair()
    a.start(0.0)
    a.send(CHANNEL_TEXT, b"sent before any handshake", 0.0)         # staged until hybrid keys
    sealed_with = []
    real_seal = a._seal

    def spy(keypair, plaintext, now, via=None, copies=1):
        if plaintext[1:2] == bytes((CHANNEL_TEXT,)):
            sealed_with.append(keypair.hybrid)
        return real_seal(keypair, plaintext, now, via, copies)
    a._seal = spy
    net.advance(2.0)
    assert [(e.channel, e.payload) for e in net.events(b) if isinstance(e, DataReceived)] == [
        (CHANNEL_TEXT, b"sent before any handshake")]
    assert sealed_with == [True]


def test_the_ratchet_keeps_stepping_at_each_rekey_and_both_sides_agree():
    from terminal.link.constants import CHANNEL_TEST, REKEY_AFTER_TIME
    a, b, net = hybrid_pair()
    a.start(0.0)
    secrets_seen = set()
    t = 0.0
    while t < 4 * REKEY_AFTER_TIME:
        t += 5.0
        net.advance(t)
        a.send(CHANNEL_TEST, b"a", t)
        b.send(CHANNEL_TEST, b"b", t)
        net.flush()
        secrets_seen.add(a.ratchet.confirmed)
        assert a.ratchet.confirmed in (b.ratchet.confirmed, b.ratchet.previous, b.ratchet.pending)
    assert len(secrets_seen) >= 4 and a.rejected == b.rejected == 0
    assert a.stats["dropped_ratchet_refused"] == b.stats["dropped_ratchet_refused"] == 0


def test_session_keys_need_both_secrets():
    """An attacker who later breaks X25519 holds every X25519 private key of a handshake; one who
    breaks ML-KEM holds the ratchet secret. Neither alone reproduces the session keys."""
    a_static, b_static, e = X25519PrivateKey.generate(), X25519PrivateKey.generate(), X25519PrivateKey.generate()
    re = X25519PrivateKey.generate()
    secret = b"\x42" * 32
    prologue, zeros = b"p", bytes(32)

    def run(psk_i, psk_r, responder_static=b_static):
        i = HandshakeState(initiator=True, static=a_static, remote_static=public_bytes(b_static), prologue=prologue,
                           psk=psk_i, ephemeral=e)
        r = HandshakeState(initiator=False, static=responder_static, prologue=prologue, psk=psk_r, ephemeral=re)
        r.read_initiation(i.write_initiation(b"t" * 12))
        i.read_response(r.write_response(b""))
        return i.result().send.encrypt_with_nonce(0, b"", b"probe")

    real = run(pq.handshake_psk(zeros, secret), pq.handshake_psk(zeros, secret))
    assert run(zeros, zeros) != real                       # X25519 known, the ML-KEM secret not
    with pytest.raises(HandshakeError):                     # the ML-KEM secret known, X25519 not
        run(pq.handshake_psk(zeros, secret), pq.handshake_psk(zeros, secret),
            responder_static=X25519PrivateKey.generate())


def test_a_classical_peer_and_a_downgrade_are_refused_without_a_reply():
    a, b, net = hybrid_pair()
    a.start(0.0)
    net.advance(2.0)
    assert b.ratchet.confirmed is not None
    stranger = LinkSession(static=a.static, peer_static=b.static_public, endpoints=[B_ADDR], pairing_id="test-pair")
    stranger.start(3.0)
    initiation, _ = stranger.datagrams_to_send(3.0)[0]       # A's own keys, but no ratchet secret (zeros)
    assert Initiation.parse(initiation).secret_id == pq.NO_SECRET
    b.receive_datagram(initiation, A_ADDR, 3.0)
    classical = classical_initiation(a, b, 4.0)              # what firmware before the ratchet sends: 148 bytes
    assert len(classical) == 148
    b.receive_datagram(classical, A_ADDR, 4.0)
    assert b.datagrams_to_send(3.0) == []
    assert b.stats["dropped_ratchet_refused"] == 1 and b.stats["dropped_classical_peer"] == 1


def test_every_single_byte_change_to_a_hybrid_initiation_gets_no_reply():
    a, b, net = hybrid_pair()
    a.start(0.0)
    net.advance(2.0)
    a._begin_handshake(3.0)
    initiation, _ = a.datagrams_to_send(3.0)[0]
    assert Initiation.parse(initiation).secret_id != pq.NO_SECRET
    b.receive_datagram(initiation, A_ADDR, 3.0)
    assert len(b.datagrams_to_send(3.0)) == 2                # the genuine one is answered (twice)
    replies = 0
    for i in range(len(initiation)):
        for value in range(256):
            if value != initiation[i]:
                b.receive_datagram(initiation[:i] + bytes([value]) + initiation[i + 1:], A_ADDR, 3.0)
                replies += sum(1 for p, _ in b.datagrams_to_send(3.0) if p[0] == 2)
    assert replies == 0


def test_no_datagram_is_over_1232_bytes_the_ipv6_minimum_mtu_leaves():
    a, b, net = hybrid_pair()
    a.start(0.0)
    net.advance(30.0)
    sizes = sorted({len(data) for _, _, _, data in net.log})
    assert max(sizes) <= 1232 and a.largest_sent <= 1232 and b.largest_sent <= 1232
    assert max(sizes) >= pq.EK_LEN                            # the offer itself went through this net


def test_the_state_survives_a_restart_and_the_next_handshake_is_hybrid_at_once():
    a, b, net = hybrid_pair()
    a.start(0.0)
    net.advance(2.0)
    saved_a, saved_b = a.ratchet.to_bytes(b.static_public), b.ratchet.to_bytes(a.static_public)
    a2 = LinkSession(static=a.static, peer_static=b.static_public, endpoints=[B_ADDR], pairing_id="test-pair",
                     ratchet=pq.Ratchet.from_bytes(saved_a, b.static_public), require_hybrid=True)
    b2 = LinkSession(static=b.static, peer_static=a.static_public, endpoints=[A_ADDR], pairing_id="test-pair",
                     ratchet=pq.Ratchet.from_bytes(saved_b, a.static_public), require_hybrid=True,
                     last_timestamp=b.last_timestamp)
    from .conftest import Net
    net2 = Net()
    net2.attach(A_ADDR, a2)
    net2.attach(B_ADDR, b2)
    a2.start(10.0)
    net2.flush()
    first = [e for e in net2.events(a2) if isinstance(e, HandshakeCompleted)][0]
    assert first.hybrid and a2.mode == "hybrid-mlkem768"
    # A state saved for another peer is not used.
    assert pq.Ratchet.from_bytes(saved_a, bytes(32)).confirmed is None


def test_a_malformed_ratchet_message_is_dropped_and_counted():
    a, b, net = hybrid_pair()
    a.start(0.0)
    net.advance(2.0)
    for payload in (b"", b"\x01" + bytes(10), b"\x07" + bytes(1088)):
        a.send(CHANNEL_PQ, payload, 3.0)
    net.flush()
    assert b.stats["dropped_malformed_inner"] == 3 and not net.events(b)[-1:] == [DataReceived]


# ----- the ratchet's messages and state -------------------------------------------------------

def _samples():
    state, offer = pq.Ratchet(confirmed=b"c" * 32).make_offer()
    return [offer.message, pq.Answer(b"o" * pq.ID_LEN, b"t" * pq.CT_LEN), pq.Taken(b"s" * pq.ID_LEN)]


def test_ratchet_messages_round_trip_and_every_truncation_is_refused_with_a_specific_error():
    for message in _samples():
        data = bytes(message)
        assert len(data) == {pq.Offer: pq.OFFER_LEN, pq.Answer: pq.ANSWER_LEN, pq.Taken: pq.TAKEN_LEN}[type(message)]
        assert pq.decode(data) == message
        for n in range(len(data)):
            with pytest.raises(pq.MalformedPacket, match="empty ratchet message" if n == 0 else "bytes; expected"):
                pq.decode(data[:n])
    offer = bytes(_samples()[0])
    with pytest.raises(pq.MalformedPacket, match="not a valid ML-KEM-768 key"):
        pq.decode(offer[:13] + b"\xff" * pq.EK_LEN)
    with pytest.raises(pq.MalformedPacket, match="number 0"):
        pq.decode(offer[:1] + bytes(4) + offer[5:])
    with pytest.raises(pq.MalformedPacket, match="kind 9"):
        pq.decode(b"\x09" + offer[1:])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=1300).flatmap(lambda b: st.sampled_from([b, b"\x01" + b, b"\x02" + b, b"\x03" + b])))
def test_the_ratchet_parser_raises_only_its_value_error(data):
    try:
        pq.decode(data)
    except pq.MalformedPacket:
        pass


def test_an_answer_names_its_offer_and_a_copy_of_the_offer_gets_the_same_answer():
    offerer, open_offer = pq.Ratchet().make_offer()
    answerer, answer, outcome = pq.Ratchet().on_offer(pq.decode(open_offer.payload))
    assert outcome == "answered" and pq.decode(answer).offer_id == open_offer.message.offer_id
    assert answerer.on_offer(pq.decode(open_offer.payload)) == (None, answer, "repeated")
    # The answer meets another offer's key: ignored, not decapsulated into a random secret.
    _, newer = offerer.make_offer()
    assert offerer.on_answer(newer, pq.decode(answer)) is None
    taken = offerer.on_answer(open_offer, pq.decode(answer))
    assert taken.pending == answerer.pending is not None
    # Numbered: an older offer changes nothing once a newer one is answered.
    answerer2, _, _ = answerer.on_offer(pq.decode(newer.payload))
    assert answerer2.on_offer(pq.decode(open_offer.payload)) == (None, None, "stale")


def test_an_offer_chains_from_the_secret_it_names_and_the_answerer_needs_to_hold_it():
    offerer, open_offer = pq.Ratchet(confirmed=b"x" * 32).make_offer()
    assert open_offer.message.chain_id == pq.secret_id(b"x" * 32)
    assert pq.Ratchet(confirmed=b"y" * 32).on_offer(pq.decode(open_offer.payload)) == (None, None, "unknown_chain")
    # Held as pending: the offerer chains only from what its own handshake used, so it is promoted.
    state, answer, _ = pq.Ratchet(confirmed=b"w" * 32, pending=b"x" * 32).on_offer(pq.decode(open_offer.payload))
    assert (state.confirmed, state.previous) == (b"x" * 32, b"w" * 32)
    assert offerer.on_answer(open_offer, pq.decode(answer)).pending == state.pending
    with pytest.raises(ValueError, match="fork"):
        offerer.on_answer(open_offer, pq.decode(answer)).make_offer()


def test_any_ratchet_payload_from_the_authenticated_peer_is_taken_or_dropped_never_raised():
    import random
    rng = random.Random(8)
    a, b, net = hybrid_pair()
    a.start(0.0)
    net.advance(2.0)
    offerer, answerer = offerer_first(a, b)
    _, open_offer = pq.Ratchet().make_offer()
    valid = [open_offer.payload, bytes(pq.Answer(b"o" * 8, b"t" * pq.CT_LEN)), bytes(pq.Taken(b"s" * 8))]
    t = 3.0
    for i in range(300):
        payload = bytearray(rng.choice(valid))
        for _ in range(rng.randrange(4)):
            where = rng.randrange(len(payload))
            payload[where] = rng.randrange(256)
        if rng.random() < 0.2:
            payload = payload[:rng.randrange(len(payload) + 1)]
        sender = rng.choice((offerer, answerer))
        sender.send(CHANNEL_PQ, bytes(payload), t)
        net.flush()
    for s in (a, b):
        s.send(CHANNEL_TEXT, b"still talking", t)
    net.flush()
    assert all(e.payload == b"still talking" for s in (a, b) for e in net.events(s)[-1:])
    assert a.mode == b.mode == "hybrid-mlkem768"
