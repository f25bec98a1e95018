"""The post-quantum ratchet: an ML-KEM-768 exchange inside each session, fed into the next
handshake's PSK slot (as Rosenpass feeds WireGuard's). Pure; docs/security.md has the why.

After every handshake the *offerer* (of the two units, the one whose static public key
sorts higher: one side only, so two exchanges never race) sends a fresh ML-KEM-768
encapsulation key on the link's channel 8; the other encapsulates to it and answers
with the ciphertext.
Both then hold

    next = HKDF-BLAKE2s(chaining key = the secret the just-finished handshake used (or zeros),
                        input = the KEM shared secret | BLAKE2s(encapsulation key | ciphertext))

and the next handshake's Noise PSK is HKDF(configured PSK or zeros, that secret): its
session keys are secret while X25519 or ML-KEM-768 holds. The ephemeral decapsulation
key is dropped as soon as it is used, and each secret replaces the one before it, so a
thief who later takes a unit's files holds only the newest: what was recorded before
the last rekey stays closed.

The initiation names the secret it used by an 8-byte id (zeros: none yet, the first
handshake after pairing). Each side keeps `pending` (derived, not yet used), `confirmed`
(the newest a completed handshake used) and `previous` (the one before, for one more
epoch: the peer may initiate with it before it has seen the promotion). The offerer knows
its peer holds `pending` (it answered), so it initiates with it, and tells the other side
(a "taken" message naming it) so that it can too; until then that side initiates with
`confirmed`. A secret is promoted when a handshake that used it completes. An id
this side does not hold, or zeros once it has confirmed a secret, is refused: never a
silent fall back to a classical handshake.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey, MLKEM768PublicKey

from terminal.link.messages import MalformedPacket
from terminal.link.noise import Suite

ID_LEN = 8
NO_SECRET = bytes(ID_LEN)
EK_LEN, CT_LEN = 1184, 1088
OFFER, ANSWER, TAKEN = 1, 2, 3
LABEL = b"hotline pq ratchet v1"
STATE_VERSION = 1
STATE_LEN = 2 + 32 * 4
_BLAKE2S = Suite("BLAKE2s")


def secret_id(secret: bytes | None) -> bytes:
    if secret is None:
        return NO_SECRET
    return hashlib.blake2s(LABEL + b" id" + secret).digest()[:ID_LEN]


def handshake_psk(configured_psk: bytes, secret: bytes | None) -> bytes:
    """The 32 bytes that go into Noise's psk2 slot."""
    if secret is None:
        return configured_psk
    return _BLAKE2S.hkdf(configured_psk, LABEL + secret, 2)[0]


def next_secret(used: bytes | None, shared: bytes, ek: bytes, ct: bytes) -> bytes:
    transcript = hashlib.blake2s(ek + ct).digest()
    return _BLAKE2S.hkdf(used or bytes(32), shared + transcript, 2)[0]


def encode_offer(ek: bytes) -> bytes:
    return bytes((OFFER,)) + ek


def encode_answer(ct: bytes) -> bytes:
    return bytes((ANSWER,)) + ct


def encode_taken(secret: bytes) -> bytes:
    return bytes((TAKEN,)) + secret_id(secret)


_NAMES = {OFFER: ("offer", EK_LEN), ANSWER: ("answer", CT_LEN), TAKEN: ("taken", ID_LEN)}


def decode(payload: bytes) -> tuple[int, bytes]:
    if not payload:
        raise MalformedPacket("empty ratchet message")
    kind, body = payload[0], payload[1:]
    if kind not in _NAMES:
        raise MalformedPacket(f"ratchet message kind {kind}; expected 1, 2 or 3")
    name, expected = _NAMES[kind]
    if len(body) != expected:
        raise MalformedPacket(f"ratchet {name} carries {len(body)} bytes; expected {expected}")
    return kind, body


class RatchetRefused(Exception):
    """An initiation names a secret this side does not hold (or none, while it holds one)."""


@dataclass
class Ratchet:
    confirmed: bytes | None = None
    pending: bytes | None = None
    peer_has_pending: bool = False
    previous: bytes | None = None
    _offer_key: MLKEM768PrivateKey | None = field(default=None, repr=False)
    _offer_from: bytes | None = field(default=None, repr=False)      # the secret the offer chains from
    _answered: dict = field(default_factory=dict, repr=False)         # ek -> the answer sent (a repeated offer)

    # --- the handshake's use of it ------------------------------------------------------

    def for_initiation(self) -> tuple[bytes, bytes | None]:
        """(id, secret) a new initiation uses."""
        secret = self.pending if self.pending is not None and self.peer_has_pending else self.confirmed
        return secret_id(secret), secret

    def for_response(self, wanted: bytes) -> bytes | None:
        """The secret an initiation names; RatchetRefused if this side does not hold it. Changes nothing."""
        for secret in (self.confirmed, self.pending, self.previous):
            if secret is not None and secret_id(secret) == wanted:
                return secret
        if wanted == NO_SECRET and self.confirmed is None:
            return None
        raise RatchetRefused("the initiation names a post-quantum secret this unit does not hold" if wanted != NO_SECRET
                             else "a handshake without the post-quantum secret this unit holds (a downgrade, or "
                                  "the peer lost its link state)")

    def peer_holds(self, secret: bytes | None) -> bool:
        """The peer initiated with `secret`: it holds it, so our own next initiation may use it too."""
        if secret is not None and secret == self.pending and not self.peer_has_pending:
            self.peer_has_pending = True
            return True
        return False

    def used(self, secret: bytes | None) -> bool:
        """A handshake that used `secret` completed: promote it if it was pending. True if the state changed."""
        if secret is not None and secret == self.pending:
            self.previous, self.confirmed = self.confirmed, secret
            self.pending, self.peer_has_pending = None, False
            self._answered.clear()
            return True
        return False

    # --- the exchange inside the session -------------------------------------------------

    def offer(self, used: bytes | None) -> bytes:
        """A new offer (channel 8 payload) chaining from the secret this session's handshake used."""
        self._offer_key = MLKEM768PrivateKey.generate()
        self._offer_from = used
        return encode_offer(self._offer_key.public_key().public_bytes_raw())

    @property
    def offering(self) -> bool:
        return self._offer_key is not None

    def on_offer(self, ek: bytes, used: bytes | None) -> bytes:
        """The peer's offer: encapsulate, hold the next secret as pending, return the answer."""
        if ek in self._answered:
            return self._answered[ek]                 # a copy of an offer already answered: same answer
        shared, ct = MLKEM768PublicKey.from_public_bytes(ek).encapsulate()
        self.pending, self.peer_has_pending = next_secret(used, shared, ek, ct), False
        self._answered = {ek: encode_answer(ct)}
        return self._answered[ek]

    def on_taken(self, wanted: bytes) -> bool:
        """The offerer says it derived `pending` too: this side may initiate with it. True if it was ours."""
        if self.pending is not None and secret_id(self.pending) == wanted:
            self.peer_has_pending = True
            return True
        return False

    def on_answer(self, ct: bytes) -> bool:
        """The answer to our offer: the next secret, which the peer holds too. False if we offered nothing."""
        key, self._offer_key = self._offer_key, None
        if key is None:
            return False
        ek = key.public_key().public_bytes_raw()
        self.pending = next_secret(self._offer_from, key.decapsulate(ct), ek, ct)
        self.peer_has_pending = True
        return True

    # --- persistence ---------------------------------------------------------------------

    def to_bytes(self, peer_static: bytes) -> bytes:
        flags = ((1 if self.confirmed else 0) | (2 if self.pending else 0) | (4 if self.peer_has_pending else 0)
                 | (8 if self.previous else 0))
        return (struct.pack("!BB", STATE_VERSION, flags) + peer_static + (self.confirmed or bytes(32))
                + (self.pending or bytes(32)) + (self.previous or bytes(32)))

    @classmethod
    def from_bytes(cls, data: bytes, peer_static: bytes) -> "Ratchet":
        """The saved state, if it is for this peer; a fresh one (no secret) if it is for another."""
        if len(data) != STATE_LEN or data[0] != STATE_VERSION:
            raise ValueError(f"not a ratchet state ({len(data)} bytes, version {data[:1].hex() or 'none'})")
        flags = data[1]
        if data[2:34] != peer_static:
            return cls()
        return cls(data[34:66] if flags & 1 else None, data[66:98] if flags & 2 else None, bool(flags & 4),
                   data[98:130] if flags & 8 else None)
