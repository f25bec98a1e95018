"""The post-quantum ratchet: an ML-KEM-768 exchange inside each session, fed into the next
handshake's PSK slot (as Rosenpass feeds WireGuard's). Pure; docs/security.md has the why.

One unit is the *offerer* (of the two, the one whose static public key sorts higher: one
side only, so two exchanges never race). It sends a fresh ML-KEM-768 encapsulation key
on the link's channel 8; the other (the *answerer*) encapsulates to it and answers with
the ciphertext. Both then hold

    next = HKDF-BLAKE2s(chaining key = the secret the offer names (or zeros),
                        input = the KEM shared secret | BLAKE2s(offer | ciphertext))

and the next handshake's Noise PSK is HKDF(configured PSK or zeros, that secret): its
session keys are secret while X25519 or ML-KEM-768 holds.

Messages (channel 8 payloads):

    offer   1 | number u32 | chain id 8 | encapsulation key 1184     (1197 bytes)
    answer  2 | offer id 8 | ciphertext 1088                          (1097 bytes)
    taken   3 | secret id 8                                           (9 bytes)

(integers big-endian, as in the saved state)

- An offer *names the secret it chains from* (its id; zeros: none yet), so the answerer
  derives from the same secret whichever keys carried the offer, and *is numbered*: the
  answerer refuses a number older than the newest it answered, and answers a copy of that
  one with the very answer it sent (saved with the state), so one offer has one answer.
- An answer *names its offer* (offer id = BLAKE2s of the offer, 8 bytes): the offerer
  decapsulates only an answer to the offer it holds the key for, so a late copy meeting
  a newer key is ignored rather than turned into a random secret by implicit rejection.
- The offerer makes a new offer only when it holds no `pending`: the chain is one line,
  and the answerer holds at most one derived-but-unused secret.

Each side keeps `confirmed` (the newest secret a completed handshake used), `previous`
(the one before, for one more epoch: a handshake already under way may name it) and
`pending` (derived, no handshake has used it yet). The offerer knows its peer holds
`pending` (it answered), so it initiates with it, and tells the other side (a "taken"
message naming it) so that it can too; until then that side initiates with `confirmed`.
A secret is promoted when a handshake that used it completes, or on the answerer when an
offer chains from it. An id this side does not hold, or zeros once it has confirmed a
secret, is refused: never a silent fall back to a classical handshake.

Every method that changes the state returns a new Ratchet and leaves this one as it is:
the session saves the new one and only then uses it (a failed save changes nothing).
The offerer's decapsulation key (`OpenOffer`) is never saved and is dropped once used.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field, replace

from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey, MLKEM768PublicKey

from terminal.link.messages import MalformedPacket
from terminal.link.noise import Suite

ID_LEN = 8
NO_SECRET = bytes(ID_LEN)
EK_LEN, CT_LEN = 1184, 1088
NUMBER_MAX = 2**32 - 1
OFFER, ANSWER, TAKEN = 1, 2, 3
OFFER_LEN = 1 + 4 + ID_LEN + EK_LEN        # 1197
ANSWER_LEN = 1 + ID_LEN + CT_LEN           # 1097
TAKEN_LEN = 1 + ID_LEN                     # 9
LABEL = b"hotline pq ratchet v2"
STATE_VERSION = 2
STATE_LEN = 2 + 32 * 4 + 4 + 4 + ANSWER_LEN   # 1235
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


def next_secret(chain: bytes | None, shared: bytes, offer: bytes, ct: bytes) -> bytes:
    """The secret an exchange makes: chained from `chain`, over the KEM secret and the transcript."""
    transcript = hashlib.blake2s(offer + ct).digest()
    return _BLAKE2S.hkdf(chain or bytes(32), shared + transcript, 2)[0]


# ----- wire messages --------------------------------------------------------------------

@dataclass(frozen=True)
class Offer:
    number: int              # 1, 2, ...: never reused (the offerer saves it before the offer leaves)
    chain_id: bytes          # the id of the secret it chains from; NO_SECRET for none
    ek: bytes                # ML-KEM-768 encapsulation key
    key: MLKEM768PublicKey | None = field(default=None, compare=False, repr=False)   # ek, parsed

    def __bytes__(self) -> bytes:
        return struct.pack("!BI", OFFER, self.number) + self.chain_id + self.ek

    @property
    def offer_id(self) -> bytes:
        """What an answer names to say which offer it answers."""
        return hashlib.blake2s(LABEL + b" offer" + bytes(self)).digest()[:ID_LEN]

    @classmethod
    def parse(cls, data: bytes) -> "Offer":
        _length(data, OFFER_LEN, "offer")
        (number,) = struct.unpack_from("!I", data, 1)
        if number == 0:
            raise MalformedPacket("ratchet offer number 0; offers are numbered from 1")
        ek = bytes(data[1 + 4 + ID_LEN:])
        try:
            key = MLKEM768PublicKey.from_public_bytes(ek)
        except ValueError:       # a coefficient not below q (FIPS 203's modulus check)
            raise MalformedPacket("ratchet offer's encapsulation key is not a valid ML-KEM-768 key") from None
        return cls(number, bytes(data[5:5 + ID_LEN]), ek, key)


@dataclass(frozen=True)
class Answer:
    offer_id: bytes
    ct: bytes

    def __bytes__(self) -> bytes:
        return bytes((ANSWER,)) + self.offer_id + self.ct

    @classmethod
    def parse(cls, data: bytes) -> "Answer":
        _length(data, ANSWER_LEN, "answer")
        return cls(bytes(data[1:1 + ID_LEN]), bytes(data[1 + ID_LEN:]))


@dataclass(frozen=True)
class Taken:
    secret_id: bytes

    def __bytes__(self) -> bytes:
        return bytes((TAKEN,)) + self.secret_id

    @classmethod
    def parse(cls, data: bytes) -> "Taken":
        _length(data, TAKEN_LEN, "taken")
        return cls(bytes(data[1:]))


def _length(data: bytes, expected: int, name: str) -> None:
    if len(data) != expected:
        raise MalformedPacket(f"ratchet {name} is {len(data)} bytes; expected {expected}")


_KINDS = {OFFER: Offer, ANSWER: Answer, TAKEN: Taken}


def decode(payload: bytes) -> Offer | Answer | Taken:
    """A channel-8 payload -> its message; MalformedPacket (a ValueError) says why not."""
    if not payload:
        raise MalformedPacket("empty ratchet message")
    kind = _KINDS.get(payload[0])
    if kind is None:
        raise MalformedPacket(f"ratchet message kind {payload[0]}; expected 1, 2 or 3")
    return kind.parse(payload)


class RatchetRefused(Exception):
    """An initiation names a secret this side does not hold (or none, while it holds one)."""


@dataclass
class OpenOffer:
    """The offerer's side of one offer: its decapsulation key lives in memory only."""

    message: Offer
    chain: bytes | None                 # the secret it chains from
    key: MLKEM768PrivateKey = field(repr=False)

    @property
    def payload(self) -> bytes:
        return bytes(self.message)


# ----- the state ------------------------------------------------------------------------

@dataclass
class Ratchet:
    confirmed: bytes | None = None
    pending: bytes | None = None
    peer_has_pending: bool = False
    previous: bytes | None = None
    offers_made: int = 0                # offerer: the newest offer number used
    answered: int = 0                   # answerer: the newest offer number answered
    answer: bytes | None = None         # answerer: what it answered to that offer, while its secret is pending

    # --- the handshake's use of it ------------------------------------------------------

    def for_initiation(self) -> tuple[bytes, bytes | None]:
        """(id, secret) a new initiation uses."""
        secret = self.pending if self.pending is not None and self.peer_has_pending else self.confirmed
        return secret_id(secret), secret

    def _held(self, wanted: bytes) -> tuple[bool, bytes | None]:
        for secret in (self.confirmed, self.pending, self.previous):
            if secret is not None and secret_id(secret) == wanted:
                return True, secret
        if wanted == NO_SECRET and self.confirmed is None:
            return True, None
        return False, None

    def for_response(self, wanted: bytes) -> bytes | None:
        """The secret an initiation names; RatchetRefused if this side does not hold it. Changes nothing."""
        held, secret = self._held(wanted)
        if held:
            return secret
        raise RatchetRefused("the initiation names a post-quantum secret this unit does not hold" if wanted != NO_SECRET
                             else "a handshake without the post-quantum secret this unit holds (a downgrade, or "
                                  "the peer lost its link state)")

    def responded(self, secret: bytes | None) -> "Ratchet | None":
        """The peer initiated with `secret`: it holds it, so our own initiations may use it too."""
        if secret is not None and secret == self.pending and not self.peer_has_pending:
            return replace(self, peer_has_pending=True)
        return None

    def used(self, secret: bytes | None) -> "Ratchet | None":
        """A handshake that used `secret` completed: promote it if it was pending."""
        if secret is not None and secret == self.pending:
            return self._promoted()
        return None

    def _promoted(self) -> "Ratchet":
        return replace(self, previous=self.confirmed, confirmed=self.pending, pending=None, peer_has_pending=False,
                       answer=None)

    # --- the offerer --------------------------------------------------------------------

    def make_offer(self) -> tuple["Ratchet", OpenOffer]:
        """A new offer chaining from `confirmed`, numbered past every earlier one. Only while nothing is
        pending: the answer to the last offer must be used by a handshake first."""
        if self.pending is not None:
            raise ValueError("an offer while a secret is pending would fork the chain")
        if self.offers_made >= NUMBER_MAX:
            raise ValueError("offer numbers are used up: re-pair the units")
        key = MLKEM768PrivateKey.generate()
        message = Offer(self.offers_made + 1, secret_id(self.confirmed), key.public_key().public_bytes_raw())
        return replace(self, offers_made=message.number), OpenOffer(message, self.confirmed, key)

    def on_answer(self, offer: OpenOffer, answer: Answer) -> "Ratchet | None":
        """The answer to `offer`: the next secret, which the peer holds too. None if it answers another offer."""
        if answer.offer_id != offer.message.offer_id:
            return None
        pending = next_secret(offer.chain, offer.key.decapsulate(answer.ct), offer.payload, answer.ct)
        return replace(self, pending=pending, peer_has_pending=True)

    # --- the answerer -------------------------------------------------------------------

    def on_offer(self, offer: Offer) -> tuple["Ratchet | None", bytes | None, str]:
        """(new state or None, the answer to send or None, what it was: "answered", "repeated" (a copy of
        the one answered last: the same answer), "stale" (older than that) or "unknown_chain")."""
        if offer.number <= self.answered:
            if (offer.number == self.answered and self.answer is not None
                    and Answer.parse(self.answer).offer_id == offer.offer_id):
                return None, self.answer, "repeated"
            return None, None, "stale"
        held, chain = self._held(offer.chain_id)
        if not held:
            return None, None, "unknown_chain"
        state = self
        if chain is not None and chain == self.pending:
            state = self._promoted()      # the offerer chains only from what a handshake of its own used
        shared, ct = (offer.key or MLKEM768PublicKey.from_public_bytes(offer.ek)).encapsulate()
        answer = bytes(Answer(offer.offer_id, ct))
        return (replace(state, pending=next_secret(chain, shared, bytes(offer), ct), peer_has_pending=False,
                        answered=offer.number, answer=answer), answer, "answered")

    def on_taken(self, taken: Taken) -> "Ratchet | None":
        """The offerer says it derived `pending` too: this side may initiate with it."""
        if self.pending is not None and not self.peer_has_pending and secret_id(self.pending) == taken.secret_id:
            return replace(self, peer_has_pending=True)
        return None

    # --- persistence ---------------------------------------------------------------------

    def to_bytes(self, peer_static: bytes) -> bytes:
        flags = ((1 if self.confirmed else 0) | (2 if self.pending else 0) | (4 if self.peer_has_pending else 0)
                 | (8 if self.previous else 0) | (16 if self.answer else 0))
        return (struct.pack("!BB", STATE_VERSION, flags) + peer_static + (self.confirmed or bytes(32))
                + (self.pending or bytes(32)) + (self.previous or bytes(32))
                + struct.pack("!II", self.offers_made, self.answered) + (self.answer or bytes(ANSWER_LEN)))

    @classmethod
    def from_bytes(cls, data: bytes, peer_static: bytes) -> "Ratchet":
        """The saved state, if it is for this peer; a fresh one (no secret) if it is for another."""
        if len(data) != STATE_LEN or data[0] != STATE_VERSION:
            raise ValueError(f"not a ratchet state ({len(data)} bytes, version {data[:1].hex() or 'none'}; "
                             f"expected {STATE_LEN} bytes, version {STATE_VERSION})")
        flags = data[1]
        if data[2:34] != peer_static:
            return cls()
        offers_made, answered = struct.unpack_from("!II", data, 130)
        answer = data[138:138 + ANSWER_LEN] if flags & 16 else None
        if answer is not None and answer[0] != ANSWER:
            raise ValueError("not a ratchet state (the saved answer is damaged)")
        return cls(data[34:66] if flags & 1 else None, data[66:98] if flags & 2 else None, bool(flags & 4),
                   data[98:130] if flags & 8 else None, offers_made, answered, answer)
