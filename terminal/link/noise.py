"""The Noise framework pieces the link uses: IK and IKpsk2 over 25519/ChaChaPoly.

Follows the Noise specification (revision 34) section 5 object for object:
CipherState, SymmetricState, HandshakeState. Primitives come from
`cryptography`; nothing here is a new primitive. Nonces are explicit on
`encrypt_with_ad` / `decrypt_with_ad` so the transport can carry its counter
on the wire (WireGuard style) and survive loss and reordering.

Reproduces the cacophony vectors in tests/vectors/noise_ik.json byte for byte.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from terminal.errors import HotlineError

DHLEN = 32
TAGLEN = 16
MAX_NONCE = 2**64 - 1
_HASHES = {"BLAKE2s": lambda: hashes.BLAKE2s(32), "SHA256": hashes.SHA256}
_RAW_PUBLIC = dict(encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw)


class HandshakeError(HotlineError, ValueError):
    """A handshake message failed to authenticate or arrived in the wrong state."""


def public_bytes(private: X25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(**_RAW_PUBLIC)


def dh(private: X25519PrivateKey, public: bytes) -> bytes:
    try:
        return private.exchange(X25519PublicKey.from_public_bytes(public))
    except ValueError:  # an all-zero shared secret: a low-order point
        raise HandshakeError("peer sent a low-order public key") from None


def aead_nonce(n: int) -> bytes:
    """ChaChaPoly nonce: 32 bits of zeros then the 64-bit counter little-endian."""
    return b"\x00\x00\x00\x00" + n.to_bytes(8, "little")


class Suite:
    """The hash-dependent functions: HASH, HMAC-HASH and HKDF as Noise defines them."""

    def __init__(self, hash_name: str):
        if hash_name not in _HASHES:
            raise ValueError(f"unsupported Noise hash {hash_name!r}; expected one of {sorted(_HASHES)}")
        self.algorithm = _HASHES[hash_name]
        self.hashlen = self.algorithm().digest_size

    def hash(self, data: bytes) -> bytes:
        h = hashes.Hash(self.algorithm())
        h.update(data)
        return h.finalize()

    def hmac(self, key: bytes, data: bytes) -> bytes:
        h = hmac.HMAC(key, self.algorithm())
        h.update(data)
        return h.finalize()

    def hkdf(self, chaining_key: bytes, ikm: bytes, outputs: int) -> list[bytes]:
        temp_key = self.hmac(chaining_key, ikm)
        out, prev = [], b""
        for i in range(1, outputs + 1):
            prev = self.hmac(temp_key, prev + bytes([i]))
            out.append(prev)
        return out


class CipherState:
    """A key and a counter; `encrypt`/`decrypt` use the implicit counter, `*_with_nonce` an explicit one."""

    def __init__(self, key: bytes | None = None):
        self.key = key
        self.aead = ChaCha20Poly1305(key) if key is not None else None
        self.n = 0

    def has_key(self) -> bool:
        return self.key is not None

    def encrypt_with_nonce(self, n: int, ad: bytes, plaintext: bytes) -> bytes:
        return self.aead.encrypt(aead_nonce(n), plaintext, ad)

    def decrypt_with_nonce(self, n: int, ad: bytes, ciphertext: bytes) -> bytes:
        """Raises InvalidTag when the ciphertext does not authenticate."""
        return self.aead.decrypt(aead_nonce(n), ciphertext, ad)

    def encrypt(self, ad: bytes, plaintext: bytes) -> bytes:
        if self.aead is None:
            return plaintext
        if self.n >= MAX_NONCE:
            raise HandshakeError("nonce exhausted")
        out = self.encrypt_with_nonce(self.n, ad, plaintext)
        self.n += 1
        return out

    def decrypt(self, ad: bytes, ciphertext: bytes) -> bytes:
        if self.aead is None:
            return ciphertext
        if self.n >= MAX_NONCE:
            raise HandshakeError("nonce exhausted")
        out = self.decrypt_with_nonce(self.n, ad, ciphertext)
        self.n += 1
        return out


class SymmetricState:
    def __init__(self, suite: Suite, protocol_name: bytes):
        self.suite = suite
        if len(protocol_name) <= suite.hashlen:
            self.h = protocol_name.ljust(suite.hashlen, b"\x00")
        else:
            self.h = suite.hash(protocol_name)
        self.ck = self.h
        self.cipher = CipherState()

    def mix_key(self, ikm: bytes) -> None:
        self.ck, temp_k = self.suite.hkdf(self.ck, ikm, 2)
        self.cipher = CipherState(temp_k[:32])

    def mix_hash(self, data: bytes) -> None:
        self.h = self.suite.hash(self.h + data)

    def mix_key_and_hash(self, ikm: bytes) -> None:
        self.ck, temp_h, temp_k = self.suite.hkdf(self.ck, ikm, 3)
        self.mix_hash(temp_h)
        self.cipher = CipherState(temp_k[:32])

    def encrypt_and_hash(self, plaintext: bytes) -> bytes:
        ciphertext = self.cipher.encrypt(self.h, plaintext)
        self.mix_hash(ciphertext)
        return ciphertext

    def decrypt_and_hash(self, ciphertext: bytes) -> bytes:
        try:
            plaintext = self.cipher.decrypt(self.h, ciphertext)
        except InvalidTag:
            raise HandshakeError("handshake message failed to authenticate") from None
        self.mix_hash(ciphertext)
        return plaintext

    def split(self) -> tuple[CipherState, CipherState]:
        k1, k2 = self.suite.hkdf(self.ck, b"", 2)
        return CipherState(k1[:32]), CipherState(k2[:32])


class Step(enum.Enum):
    """Where a handshake is; each Create/Consume checks it is in the right step."""

    WRITE_INITIATION = "write initiation"
    READ_INITIATION = "read initiation"
    WRITE_RESPONSE = "write response"
    READ_RESPONSE = "read response"
    DONE = "done"


@dataclass
class Result:
    """A finished handshake: the transport keys and the handshake hash (channel binding)."""

    send: CipherState
    receive: CipherState
    handshake_hash: bytes
    remote_static: bytes


class HandshakeState:
    """Noise IK (`psk=None`) or IKpsk2 (`psk=` 32 bytes) for one side.

    Messages: -> e, es, s, ss  /  <- e, ee, se [, psk]. The initiator knows the
    responder's static key in advance (pinned at pairing); the responder learns
    the initiator's from message 1 and the caller decides whether to accept it.
    """

    def __init__(
        self,
        *,
        initiator: bool,
        static: X25519PrivateKey,
        prologue: bytes,
        remote_static: bytes | None = None,
        psk: bytes | None = None,
        hash_name: str = "BLAKE2s",
        ephemeral: X25519PrivateKey | None = None,
    ):
        if initiator and remote_static is None:
            raise ValueError("the IK initiator needs the responder's static key")
        if psk is not None and len(psk) != 32:
            raise ValueError(f"a Noise PSK is 32 bytes, got {len(psk)}")
        pattern = "IKpsk2" if psk is not None else "IK"
        self.protocol_name = f"Noise_{pattern}_25519_ChaChaPoly_{hash_name}".encode()
        self.initiator = initiator
        self.psk = psk
        self.s = static
        self.e = ephemeral
        self.rs = remote_static
        self.re: bytes | None = None
        self.ss = SymmetricState(Suite(hash_name), self.protocol_name)
        self.ss.mix_hash(prologue)
        responder_static = remote_static if initiator else public_bytes(static)
        self.ss.mix_hash(responder_static)
        self.step = Step.WRITE_INITIATION if initiator else Step.READ_INITIATION

    def _expect(self, step: Step) -> None:
        if self.step is not step:
            raise HandshakeError(f"handshake is at {self.step.value!r}, not {step.value!r}")

    def _mix_ephemeral(self, public: bytes) -> None:
        self.ss.mix_hash(public)
        if self.psk is not None:
            self.ss.mix_key(public)

    def write_initiation(self, payload: bytes = b"") -> bytes:
        self._expect(Step.WRITE_INITIATION)
        if self.e is None:
            self.e = X25519PrivateKey.generate()
        e_pub = public_bytes(self.e)
        self._mix_ephemeral(e_pub)
        self.ss.mix_key(dh(self.e, self.rs))
        encrypted_static = self.ss.encrypt_and_hash(public_bytes(self.s))
        self.ss.mix_key(dh(self.s, self.rs))
        message = e_pub + encrypted_static + self.ss.encrypt_and_hash(payload)
        self.step = Step.READ_RESPONSE
        return message

    def read_initiation(self, message: bytes) -> bytes:
        """Consume message 1; afterwards `remote_static` names the initiator. Returns the payload."""
        self._expect(Step.READ_INITIATION)
        message = bytes(message)
        if len(message) < DHLEN + DHLEN + TAGLEN + TAGLEN:
            raise HandshakeError(f"initiation is {len(message)} bytes, shorter than the minimum 96")
        self.re = message[:DHLEN]
        self._mix_ephemeral(self.re)
        self.ss.mix_key(dh(self.s, self.re))
        self.rs = self.ss.decrypt_and_hash(message[DHLEN:DHLEN + DHLEN + TAGLEN])
        self.ss.mix_key(dh(self.s, self.rs))
        payload = self.ss.decrypt_and_hash(message[DHLEN + DHLEN + TAGLEN:])
        self.step = Step.WRITE_RESPONSE
        return payload

    def write_response(self, payload: bytes = b"") -> bytes:
        self._expect(Step.WRITE_RESPONSE)
        if self.e is None:
            self.e = X25519PrivateKey.generate()
        e_pub = public_bytes(self.e)
        self._mix_ephemeral(e_pub)
        self.ss.mix_key(dh(self.e, self.re))
        self.ss.mix_key(dh(self.e, self.rs))
        if self.psk is not None:
            self.ss.mix_key_and_hash(self.psk)
        message = e_pub + self.ss.encrypt_and_hash(payload)
        self.step = Step.DONE
        return message

    def read_response(self, message: bytes) -> bytes:
        """Consume message 2. On failure the state is as before, so a forged response
        cannot spoil the genuine one that follows (the sender index travels in clear)."""
        self._expect(Step.READ_RESPONSE)
        saved = (self.ss.h, self.ss.ck, self.ss.cipher, self.re)
        try:
            return self._read_response(bytes(message))
        except HandshakeError:
            self.ss.h, self.ss.ck, self.ss.cipher, self.re = saved
            raise

    def _read_response(self, message: bytes) -> bytes:
        if len(message) < DHLEN + TAGLEN:
            raise HandshakeError(f"response is {len(message)} bytes, shorter than the minimum 48")
        self.re = message[:DHLEN]
        self._mix_ephemeral(self.re)
        self.ss.mix_key(dh(self.e, self.re))
        self.ss.mix_key(dh(self.s, self.re))
        if self.psk is not None:
            self.ss.mix_key_and_hash(self.psk)
        payload = self.ss.decrypt_and_hash(message[DHLEN:])
        self.step = Step.DONE
        return payload

    def result(self) -> Result:
        """Transport keys: (send, receive) from this side's point of view."""
        self._expect(Step.DONE)
        c1, c2 = self.ss.split()
        send, receive = (c1, c2) if self.initiator else (c2, c1)
        return Result(send, receive, self.ss.h, self.rs)
