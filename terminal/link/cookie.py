"""Cookies under load, as WireGuard does them (its paper, section 5.4.7), sans-I/O.

A unit under load answers a mac1-valid initiation that lacks a valid mac2 with a
cookie reply instead of doing Diffie-Hellman work:

    cookie      = MAC(secret, source address)           secret: random, new every 2 minutes
    cookie reply type=3 | 3 zero | receiver u32 | nonce 24 | XChaCha20-Poly1305(cookie) 32
                key = HASH("cookie--" | responder's static public), aad = the answered mac1

The initiator keeps the cookie and puts mac2 = MAC(cookie, message up to mac2) on
what it sends next. Only a sender that can receive at its source address can
learn the cookie, so a spoofing flood never gets past the cookie check, and the
per-source rate limit after it spends no real peer's budget.

"Under load" is counted here, before any DH: more than UNDER_LOAD_RATE mac1-valid
handshake messages a second (a genuine peer sends at most 2 copies to each of a
few paths per try, tries at most once a second), and it stays on for
UNDER_LOAD_FOR after the last excess, WireGuard's UnderLoadAfterTime.

Time is always the caller's `now`; the only other input is randomness for the
secret and the nonce.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import struct

from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt, crypto_aead_xchacha20poly1305_ietf_encrypt,
)
from nacl.exceptions import CryptoError

from terminal.link.messages import MAC_LEN, CookieReply
from terminal.link.ratelimit import TokenBucket

LABEL_COOKIE = b"cookie--"
NONCE_LEN = 24
SECRET_LIFETIME = 120.0          # the responder's cookie secret is replaced this often
COOKIE_LIFETIME = SECRET_LIFETIME - 5.0    # an initiator stops using a cookie a little before that
UNDER_LOAD_RATE = 16             # mac1-valid handshake messages per second before cookies are demanded
UNDER_LOAD_FOR = 1.0
REPLIES_PER_SOURCE = 5           # cookie replies per second to an address that is not one of the peer's paths
REPLIES_PER_SECOND = 2000        # cookie replies per second to all other sources: caps what a flood makes us send
KNOWN_PATH_REPLIES = 2000        # ... and to each of the peer's known paths, a budget of their own


def mac(key: bytes, data: bytes) -> bytes:
    """Keyed BLAKE2s-128, WireGuard's MAC."""
    return hashlib.blake2s(data, key=key, digest_size=MAC_LEN).digest()


def cookie_key(static_public: bytes) -> bytes:
    return hashlib.blake2s(LABEL_COOKIE + static_public).digest()


def address_bytes(addr: tuple) -> bytes:
    """The source address a cookie is bound to: packed IP and port."""
    host, port = addr[0], addr[1]
    try:
        packed = ipaddress.ip_address(host).packed
    except ValueError:
        packed = str(host).encode()
    return packed + struct.pack(">H", port & 0xFFFF)


class CookieChecker:
    """The responder's side: is it under load, is mac2 valid, and the reply that hands out a cookie."""

    def __init__(self, static_public: bytes, random=secrets.token_bytes):
        self._key = cookie_key(static_public)
        self._random = random
        self._secret = b""
        self._secret_from = float("-inf")
        self._load = TokenBucket(UNDER_LOAD_RATE, UNDER_LOAD_RATE, max_keys=1)
        self._loaded_until = float("-inf")
        self._per_source = TokenBucket(REPLIES_PER_SOURCE, REPLIES_PER_SOURCE)
        self._total = TokenBucket(REPLIES_PER_SECOND, REPLIES_PER_SECOND, max_keys=1)
        self._known = TokenBucket(KNOWN_PATH_REPLIES, KNOWN_PATH_REPLIES, max_keys=16)

    def under_load(self, now: float) -> bool:
        """Count one mac1-valid handshake message; True while cookies are demanded."""
        if not self._load.allow("all", now):
            self._loaded_until = now + UNDER_LOAD_FOR
        return now < self._loaded_until

    def mac2_ok(self, packet: bytes, addr: tuple, now: float) -> bool:
        """Does `packet`'s mac2 (its last 16 bytes) carry the cookie of the current secret for `addr`?"""
        if now - self._secret_from >= SECRET_LIFETIME:
            return False                      # no live secret, so no cookie handed out is valid
        expected = mac(self._cookie(addr), packet[:-MAC_LEN])
        return hmac.compare_digest(expected, packet[-MAC_LEN:])

    def reply(self, sender: int, mac1: bytes, addr: tuple, now: float, *, known_path: bool) -> bytes | None:
        """The cookie reply to send to `addr`, or None when replies to it are over their budget.

        A known path of the peer has a budget of its own, apart from everyone else's: a spray
        from elsewhere cannot use it up. A flood spoofed from that very path shares it with the
        real peer, whose copy then gets a reply with p = KNOWN_PATH_REPLIES / flood rate.
        """
        if known_path:
            if not self._known.allow(tuple(addr), now):
                return None
        elif not self._per_source.allow(addr[0], now) or not self._total.allow("all", now):
            return None
        if now - self._secret_from >= SECRET_LIFETIME:
            self._secret, self._secret_from = self._random(32), now
        nonce = self._random(NONCE_LEN)
        sealed = crypto_aead_xchacha20poly1305_ietf_encrypt(self._cookie(addr), mac1, nonce, self._key)
        return bytes(CookieReply(sender, nonce, sealed))

    def _cookie(self, addr: tuple) -> bytes:
        return mac(self._secret, address_bytes(addr))


class CookieJar:
    """The sender's side: keeps the peer's latest cookie and stamps mac2 with it."""

    def __init__(self, peer_static_public: bytes):
        self._key = cookie_key(peer_static_public)
        self._cookie: bytes | None = None
        self._received = float("-inf")

    def consume(self, reply: CookieReply, mac1_sent: bytes, now: float) -> bool:
        """Open a cookie reply to the message whose mac1 was `mac1_sent`; False if it is not genuine."""
        try:
            cookie = crypto_aead_xchacha20poly1305_ietf_decrypt(reply.encrypted_cookie, mac1_sent, reply.nonce, self._key)
        except CryptoError:
            return False
        self._cookie, self._received = cookie, now
        return True

    def has_cookie(self, now: float) -> bool:
        return self._cookie is not None and now - self._received < COOKIE_LIFETIME

    def mac2(self, packet_to_mac1: bytes, now: float) -> bytes:
        """mac2 for a message (everything before mac2); zeros without a fresh cookie."""
        if not self.has_cookie(now):
            return bytes(MAC_LEN)
        return mac(self._cookie, packet_to_mac1)
