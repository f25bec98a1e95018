"""The peer witnesses hybrid checkpoints: both signatures travel on the records channel, in
datagrams that fit IPv6's minimum MTU, and land in the peer's journal; a malformed one is
dropped with a warning, never an exception out of the receive path. Two RecordsLinks on real
SQLite stores, wired to each other, on a fake loop."""

from __future__ import annotations

import base64
import json
import logging

import pytest

from terminal.daemon.records import RecordsLink, witness_item
from terminal.journal.kinds import check_record
from terminal.journal.signatures import MLDSA65_SIGNATURE_LEN, SigningKeys
from terminal.link.messages import TRANSPORT_HEADER_LEN
from terminal.text.service import TextService

IPV6_MIN_PAYLOAD = 1280 - 40 - 8      # the UDP payload a 1280-byte IPv6 packet leaves
LINK_OVERHEAD = TRANSPORT_HEADER_LEN + 2 + 16    # transport header, inner version|channel, AEAD tag


class FakeLoop:
    def __init__(self):
        self.t = 1000.0

    def time(self) -> float:
        return self.t

    def call_later(self, delay, callback):
        return _Handle()


class _Handle:
    def cancel(self):
        pass


class Journal:
    """What the daemon's journal writer gets: each record checked as the real journal checks it."""

    def __init__(self):
        self.records: list[tuple[str, dict]] = []

    def record(self, kind, call_id=None, **fields):
        check_record(kind, call_id, fields)
        self.records.append((kind, fields))


class Pair:
    def __init__(self, tmp_path):
        self.loop = FakeLoop()
        self.wire: list[tuple[str, bytes]] = []
        self.journals = {"a": Journal(), "b": Journal()}
        self.links = {name: RecordsLink(TextService(tmp_path / f"{name}.sqlite"),
                                        lambda channel, payload, n=name: self.wire.append((n, payload)),
                                        self.journals[name], self.loop, voicemail=None, on_voice_message=None,
                                        signer="ab" * 32)
                      for name in "ab"}
        for link in self.links.values():
            link._clock = lambda: self.loop.t
            link.start(reachable=True)
        self.sent: list[bytes] = []

    def deliver(self) -> None:
        """Hand every datagram to the other side until nothing more is sent."""
        while self.wire:
            sender, payload = self.wire.pop(0)
            self.sent.append(payload)
            self.loop.t += 0.001
            self.links["b" if sender == "a" else "a"].on_payload(payload, self.loop.t)

    def close(self):
        for link in self.links.values():
            link.close()


@pytest.fixture
def pair(tmp_path):
    p = Pair(tmp_path)
    yield p
    p.close()


def test_a_hybrid_checkpoint_is_witnessed_whole_in_datagrams_that_are_never_ip_fragmented(pair):
    cp = SigningKeys.generate().sign(41, "cd" * 32, 1_790_000_000_000_000)
    item = json.dumps(witness_item(cp, "ab" * 32), separators=(",", ":")).encode()
    assert 4700 < len(item) < 4900                   # 4412 characters of it are the ML-DSA-65 signature
    pair.links["a"].witness(cp)
    pair.deliver()
    assert pair.links["a"].witnessed == 1
    (kind, fields), = pair.journals["b"].records
    assert kind == "peer_checkpoint"
    assert (fields["signature"], fields["mldsa_signature"]) == (cp.signature, cp.mldsa_signature)
    assert len(base64.b64decode(fields["mldsa_signature"])) == MLDSA65_SIGNATURE_LEN
    data = [p for p in pair.sent if p[0] == 1]       # the text channel's data fragments
    assert len(data) == 5
    assert max(len(p) for p in pair.sent) + LINK_OVERHEAD <= IPV6_MIN_PAYLOAD
    assert max(len(p) for p in pair.sent) + LINK_OVERHEAD == 1174


@pytest.mark.parametrize("mutate, said", [
    (lambda item: item.update(mldsa_signature=item["mldsa_signature"][:-4]), "mldsa_signature is 3306 bytes; expected 3309"),
    (lambda item: item.update(mldsa_signature="***"), "mldsa_signature is not valid base64"),
    (lambda item: item.update(signature="00" * 63), "signature is 126 hex characters; expected 128"),
])
def test_a_malformed_witnessed_checkpoint_is_dropped_with_a_warning_not_raised(pair, caplog, mutate, said):
    cp = SigningKeys.generate().sign(7, "ee" * 32, 1)
    item = witness_item(cp, "ab" * 32)
    mutate(item)
    caplog.set_level(logging.WARNING, "terminal.daemon.records")
    pair.links["a"]._queue(item)
    pair.deliver()                                   # no exception out of b's receive path
    assert pair.journals["b"].records == []
    assert any(said in r.getMessage() and "dropped a malformed record from the peer" in r.getMessage()
               for r in caplog.records)
    assert pair.links["a"].service.store.snapshot().outgoing == []     # acknowledged all the same: not resent forever


def test_a_checkpoint_from_firmware_before_ml_dsa_is_still_witnessed(pair):
    cp = SigningKeys(SigningKeys.generate().ed25519, None).sign(3, "aa" * 32, 1)
    pair.links["a"].witness(cp)
    pair.deliver()
    (kind, fields), = pair.journals["b"].records
    assert kind == "peer_checkpoint" and "mldsa_signature" not in fields
