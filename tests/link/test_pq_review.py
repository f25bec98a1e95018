"""The second reader's repros of the post-quantum ratchet (docs/security.md, "Review findings and
their fixes"), one test each, step by step on a fake clock. Each failed before the fix.

The ratchet's messages are told apart by size, as an observer on the path could: an offer is
over 1200 bytes, an answer 1100-1200, a "taken" 43.
"""

from __future__ import annotations

import logging
import os
import struct

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from terminal.link import pq, tai64n
from terminal.link.constants import CHANNEL_PQ, CHANNEL_TEST, CHANNEL_TEXT, REKEY_AFTER_TIME
from terminal.link.cookie import mac
from terminal.link.events import DataReceived
from terminal.link.messages import Initiation
from terminal.link.noise import HandshakeState, public_bytes
from terminal.link.session import LinkSession, mac1_key

from .conftest import A_ADDR, B_ADDR, Net

HYBRID = "hybrid-mlkem768"


def is_offer(data):
    return len(data) > 1200


def is_answer(data):
    return 1100 < len(data) <= 1200


def is_taken(data):
    return len(data) == 43


class Unit:
    """A session and the files it saved: `restart` builds the next session from them."""

    def __init__(self, static, peer_static, addr, peer_addr, net):
        self.static, self.peer_static, self.addr, self.peer_addr, self.net = static, peer_static, addr, peer_addr, net
        self.saved = None
        self.timestamp = None
        self.saves_fail = False
        self.session = None
        self.restart(0.0, start=False)

    def _save(self, ratchet):
        if self.saves_fail:
            raise OSError("injected: read-only file system")
        self.saved = ratchet.to_bytes(self.peer_static)

    def _save_timestamp(self, timestamp):
        self.timestamp = timestamp

    def restart(self, now, start=True):
        ratchet = None if self.saved is None else pq.Ratchet.from_bytes(self.saved, self.peer_static)
        self.session = LinkSession(static=self.static, peer_static=self.peer_static, endpoints=[self.peer_addr],
                                   pairing_id="test-pair", require_hybrid=True, ratchet=ratchet,
                                   on_ratchet=self._save, last_timestamp=self.timestamp,
                                   on_timestamp=self._save_timestamp)
        self.net.attach(self.addr, self.session)
        if start:
            self.session.start(now)
            self.net.flush()
        return self.session


def hybrid_units():
    """(offerer, answerer, net): a pair on hybrid keys at t = 5 s, each saving its state."""
    net = Net()
    ka, kb = X25519PrivateKey.generate(), X25519PrivateKey.generate()
    a = Unit(ka, public_bytes(kb), A_ADDR, B_ADDR, net)
    b = Unit(kb, public_bytes(ka), B_ADDR, A_ADDR, net)
    a.session.start(0.0)
    b.session.start(0.0)
    net.advance(5.0)
    assert a.session.mode == b.session.mode == HYBRID
    return (a, b, net) if a.session.offerer else (b, a, net)


def rekey(unit, net, now):
    """`unit` starts a handshake at `now` (as its rekey timer would)."""
    net.advance(now)
    unit.session._begin_handshake(now)
    net.flush()


def assert_healthy(offerer, answerer, net, start, duration=3 * REKEY_AFTER_TIME + 30):
    """From `start` on: every message moves both ways, every re-key is hybrid and accepted, and the
    ratchet keeps stepping with both units agreeing on it."""
    o, a = offerer.session, answerer.session
    refused = o.stats["dropped_ratchet_refused"] + a.stats["dropped_ratchet_refused"]
    seen = {o.ratchet.confirmed}
    got = {id(o): [], id(a): []}
    sent = 0
    t = start
    while t < start + duration:
        t += 5.0
        net.advance(t)
        for s in (o, a):
            s.send(CHANNEL_TEST, b"%d" % sent, t)
        sent += 1
        net.flush()
        for s in (o, a):
            got[id(s)] += [e.payload for e in net.events(s) if isinstance(e, DataReceived)]
        seen.add(o.ratchet.confirmed)
    assert o.mode == a.mode == HYBRID
    assert o.stats["dropped_ratchet_refused"] + a.stats["dropped_ratchet_refused"] == refused
    # The first few may have waited for hybrid keys; all of them arrive.
    assert got[id(o)] == got[id(a)] == [b"%d" % i for i in range(sent)]
    assert len(seen) >= 3, "the ratchet stopped stepping"
    for x, y in ((o, a), (a, o)):
        y.ratchet.for_response(x.ratchet.for_initiation()[0])     # RatchetRefused: they disagree
    assert o.stats["dropped_unauthenticated"] == a.stats["dropped_unauthenticated"] == 0


# ----- 1. an answer is tied to its offer -------------------------------------------------

def test_a_late_answer_copy_after_a_re_offer_is_not_decapsulated_with_the_new_key():
    offerer, answerer, net = hybrid_units()
    held = []

    def hold_answers(src, dst, data):
        if is_answer(data):
            held.append((src, dst, data))
        return is_answer(data)
    net.intercept = hold_answers
    rekey(offerer, net, 10.0)                 # the next offer: answered, and every answer lost for now
    net.advance(22.0)                         # (before the fix its 10 copies ran out here)
    assert held
    rekey(offerer, net, 25.0)                 # new keys: before the fix, a new offer with a new key
    first = held[0]
    net.intercept = None
    net.inject(*first)                        # a late copy of an answer to the first offer
    assert_healthy(offerer, answerer, net, 25.0)


def test_an_answer_to_an_offer_from_before_a_restart_is_ignored():
    offerer, answerer, net = hybrid_units()
    held = []

    def hold_offers(src, dst, data):
        if is_offer(data):
            held.append((src, dst, data))
            return True
        return False
    net.intercept = hold_offers
    rekey(offerer, net, 10.0)                 # the next offer: every copy held in the network
    net.advance(11.0)
    assert held
    stale_offer = held[0]
    offerer.restart(12.0)                     # its key is gone; after the handshake, a new offer (held too)
    net.advance(13.0)
    answers = []

    def hold_offers_and_answers(src, dst, data):
        if is_answer(data):
            answers.append((src, dst, data))
        return is_offer(data) or is_answer(data)
    net.intercept = hold_offers_and_answers
    net.inject(*stale_offer)                  # the old offer arrives late; its answer goes out on new keys
    assert answers, "the late offer was not answered"
    net.intercept = None
    for copy in answers:
        net.inject(*copy)                     # ... and meets the new offer's key
    assert_healthy(offerer, answerer, net, 13.0)


# ----- 2. offers are numbered and an old one changes nothing ------------------------------

def test_a_stale_offer_copy_does_not_overwrite_the_pending_secret():
    offerer, answerer, net = hybrid_units()
    offers, copies = [], []

    def hold_the_retry(src, dst, data):
        if is_offer(data):
            if data not in offers:            # (each offer goes out in HANDSHAKE_COPIES identical copies)
                offers.append(data)
            if len(offers) == 2:
                copies.append((src, dst, data))   # the offer's first retry: held in the network
                return True
        return is_answer(data) and len(offers) < 2   # (the first answer lost, so that there is a retry)
    net.intercept = hold_the_retry
    rekey(offerer, net, 10.0)
    net.advance(15.0)                         # a third copy is answered, and taken
    assert copies and offerer.session.ratchet.pending is not None
    net.intercept = None
    rekey(offerer, net, 20.0)                 # that exchange's secret used; the next one answered
    before = answerer.session.ratchet.pending
    assert before is not None and offerer.session.ratchet.pending == before
    net.advance(30.0)
    net.inject(*copies[0])                    # the older offer's held retry arrives, late (a new counter:
    #                                           not a replay, so the ratchet itself must refuse it)
    assert answerer.session.ratchet.pending == before
    assert answerer.session.stats["pq_offers_stale"] == 1
    rekey(offerer, net, 40.0)
    assert offerer.session.mode == HYBRID and offerer.session.ratchet.confirmed == before
    assert_healthy(offerer, answerer, net, 40.0)


# ----- 3. an offer names the secret it chains from ----------------------------------------

def test_an_offer_retried_on_keys_of_another_secret_chains_from_the_same_secret_on_both_sides():
    offerer, answerer, net = hybrid_units()
    net.intercept = lambda src, dst, data: is_taken(data)      # the answerer never hears "taken"
    rekey(offerer, net, 10.0)
    assert offerer.session.ratchet.pending is not None and not answerer.session.ratchet.peer_has_pending
    net.intercept = lambda src, dst, data: is_offer(data) or is_taken(data)
    rekey(answerer, net, 20.0)                # with the older secret (it does not know of "taken")
    net.advance(20.5)
    rekey(offerer, net, 21.0)                 # with the newer one; an offer still open goes on these keys
    net.intercept = None
    net.advance(30.0)
    assert_healthy(offerer, answerer, net, 30.0)


# ----- 4. a save that fails changes nothing ------------------------------------------------

def test_no_answer_leaves_while_the_answerers_state_cannot_be_saved_and_a_restart_is_not_behind():
    offerer, answerer, net = hybrid_units()
    answers = []
    def watch(src, dst, data):
        if is_answer(data):
            answers.append(data)
        return False
    net.intercept = watch
    answerer.saves_fail = True
    saved = answerer.saved
    rekey(offerer, net, 10.0)
    net.advance(20.0)                         # the offer and its copies arrive; nothing can be saved
    assert answerer.session.stats["pq_state_unsaved"] > 0
    assert answers == [], "an answer left whose secret a restart would lose"
    assert answerer.saved == saved
    answerer.saves_fail = False
    answerer.restart(21.0)                    # from what it could save
    net.advance(30.0)
    assert answers, "the offer is answered once the state can be saved"
    net.intercept = None
    assert_healthy(offerer, answerer, net, 30.0)


def test_the_offerer_takes_an_answer_only_once_it_is_saved():
    offerer, answerer, net = hybrid_units()
    taken = []

    def watch(src, dst, data):
        if is_offer(data):
            offerer.saves_fail = True         # from the moment the offer has left
        if is_taken(data):
            taken.append(data)
        return False
    net.intercept = watch
    rekey(offerer, net, 10.0)
    net.advance(15.0)                         # its answer (and the copies of it) arrive; none can be saved
    assert offerer.session.stats["pq_state_unsaved"] > 0
    assert taken == [] and offerer.session.ratchet.pending is None, "taken, but not saved"
    net.intercept = None
    offerer.saves_fail = False
    net.advance(25.0)                         # the next copy of the offer, the same answer, taken now
    assert offerer.session.ratchet.pending == answerer.session.ratchet.pending is not None
    offerer.restart(26.0)
    net.advance(30.0)
    assert_healthy(offerer, answerer, net, 30.0)


# ----- 5. offers are retried while the keys live -------------------------------------------

def test_ten_lost_offers_do_not_hold_data_back_for_a_rekey_interval():
    net = Net()
    ka, kb = X25519PrivateKey.generate(), X25519PrivateKey.generate()
    a = Unit(ka, public_bytes(kb), A_ADDR, B_ADDR, net)
    b = Unit(kb, public_bytes(ka), B_ADDR, A_ADDR, net)
    net.intercept = lambda src, dst, data: is_offer(data)       # 12 s of offers lost
    a.session.start(0.0)
    b.session.start(0.0)
    a.session.send(CHANNEL_TEXT, b"waits for hybrid keys", 0.0)
    net.advance(12.0)
    assert a.session.mode == b.session.mode == "classical"
    net.intercept = None
    net.advance(12.0 + 8.0)
    assert a.session.mode == b.session.mode == HYBRID
    assert [e.payload for e in net.events(b.session) if isinstance(e, DataReceived)] == [b"waits for hybrid keys"]


# ----- 6. a malformed encapsulation key is dropped -----------------------------------------

def test_a_malformed_encapsulation_key_from_the_peer_is_dropped_and_counted():
    offerer, answerer, net = hybrid_units()
    bad_key = b"\xff" * pq.EK_LEN                    # coefficients not below q: not an ML-KEM-768 key
    for payload in (b"\x01" + bad_key,                          # the layout before the fix
                    struct.pack("!BI", pq.OFFER, 99) + pq.NO_SECRET + bad_key,
                    struct.pack("!BI", pq.OFFER, 99) + pq.secret_id(answerer.session.ratchet.confirmed) + bad_key):
        offerer.session.send(CHANNEL_PQ, payload, 6.0)
        net.flush()
    assert answerer.session.stats["dropped_malformed_inner"] == 3
    assert answerer.session.ratchet.answered < 99
    assert_healthy(offerer, answerer, net, 6.0)


# ----- 8. warnings only after the initiator authenticated ----------------------------------

def forged_initiation(responder, secret_id):
    """What anyone who knows the responder's public key can send: mac1 right, the Noise part noise."""
    body = b"\x01\x00\x00\x00" + os.urandom(4) + os.urandom(108) + (b"" if secret_id is None else secret_id)
    return body + mac(mac1_key(responder.static_public), body) + bytes(16)


def classical_initiation(initiator, responder, now):
    """A genuine initiation from firmware before the ratchet: 148 bytes, the configured (zero) PSK."""
    state = HandshakeState(initiator=True, static=initiator.static, remote_static=responder.static_public,
                           prologue=responder.prologue, psk=bytes(32))
    body = b"\x01\x00\x00\x00" + os.urandom(4) + state.write_initiation(tai64n.encode(now))
    return body + mac(mac1_key(responder.static_public), body) + bytes(16)


def test_off_path_packets_cannot_raise_the_classical_peer_or_ratchet_refused_warnings(caplog):
    offerer, answerer, net = hybrid_units()
    b, a = answerer.session, offerer.session
    caplog.set_level(logging.DEBUG, logger="terminal.link.session")
    for packet in (forged_initiation(b, None), forged_initiation(b, os.urandom(8)),
                   forged_initiation(b, pq.NO_SECRET)):
        b.receive_datagram(packet, ("203.0.113.9", 4870), 6.0)
    assert b.datagrams_to_send(6.0) == []
    assert b.stats["dropped_classical_peer"] == b.stats["dropped_ratchet_refused"] == 0
    assert b.stats["dropped_unauthenticated"] == 3
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]

    # On the path: a genuine initiation with another secret id (mac1 made anew) no longer
    # authenticates, so it cannot name a secret its sender did not use.
    a._begin_handshake(7.0)
    genuine, _ = a.datagrams_to_send(7.0)[0]
    message = Initiation.parse(genuine)
    changed = Initiation(message.sender, message.noise, os.urandom(8))
    changed_body = changed.body()
    b.receive_datagram(changed_body + mac(mac1_key(b.static_public), changed_body) + bytes(16), A_ADDR, 7.0)
    assert b.stats["dropped_ratchet_refused"] == 0 and b.stats["dropped_unauthenticated"] == 4
    assert b.datagrams_to_send(7.0) == []

    # The peer's own classical initiation, and its own downgrade, are still refused, with a warning.
    b.receive_datagram(classical_initiation(a, b, 8.0), A_ADDR, 8.0)
    stranger = LinkSession(static=a.static, peer_static=b.static_public, endpoints=[B_ADDR], pairing_id="test-pair")
    stranger.start(9.0)
    zeros, _ = stranger.datagrams_to_send(9.0)[0]
    b.receive_datagram(zeros, A_ADDR, 9.0)
    assert b.datagrams_to_send(9.0) == []
    assert b.stats["dropped_classical_peer"] == b.stats["dropped_ratchet_refused"] == 1
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 2
