"""The link to the peer as a sans-I/O state machine (aioquic's shape).

    receive_datagram(data, addr, now)     datagrams_to_send(now) -> [(bytes, addr)]
    get_timer() -> deadline | None        handle_timer(now)
    send(channel, payload, now)           next_event() -> Event | None

`now` is seconds on a monotonic clock owned by the caller; `wall_offset` turns
it into Unix time for the initiation timestamp. Nothing here reads a clock,
sleeps or touches a socket.

Rules, after WireGuard: every unauthenticated, malformed, replayed or unknown
packet is dropped, counted in `stats` and never answered; the replay window
moves only after a packet authenticates; a responder does not send on new
keys until the initiator has used them; keys are renewed after
REKEY_AFTER_TIME and refused after REJECT_AFTER_TIME.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections import Counter, deque
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from terminal.link import inner, tai64n
from terminal.link.constants import (
    INITIATION_BURST, INITIATIONS_PER_SECOND, KEEPALIVE_TIMEOUT, MIN_INITIATION_INTERVAL,
    PROLOGUE_LABEL, PROTOCOL_VERSION, REJECT_AFTER_MESSAGES, REJECT_AFTER_TIME,
    REKEY_AFTER_MESSAGES, REKEY_AFTER_TIME, REKEY_TIMEOUT, UNREACHABLE_AFTER,
)
from terminal.link.events import DataReceived, Event, HandshakeCompleted, PeerReachable, PeerUnreachable
from terminal.link.messages import MAC_LEN, Initiation, MalformedPacket, Response, Transport, parse_packet
from terminal.link.noise import CipherState, HandshakeError, HandshakeState, Suite, public_bytes
from terminal.link.ratelimit import TokenBucket
from terminal.link.replay import ReplayFilter

log = logging.getLogger(__name__)

Addr = tuple  # (host, port) as asyncio gives it
LABEL_MAC1 = b"mac1----"
STAGED_LIMIT = 64
RESPONDER_REKEY_AFTER = REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT
_BLAKE2S = Suite("BLAKE2s")


def prologue(pairing_id: str) -> bytes:
    """Binds the protocol version and the pairing into every handshake hash."""
    return PROLOGUE_LABEL + bytes((PROTOCOL_VERSION,)) + pairing_id.encode("utf-8")


def mac1_key(static_public: bytes) -> bytes:
    return _BLAKE2S.hash(LABEL_MAC1 + static_public)


def mac(key: bytes, data: bytes) -> bytes:
    """Keyed BLAKE2s-128, WireGuard's MAC."""
    return hashlib.blake2s(data, key=key, digest_size=MAC_LEN).digest()


@dataclass
class Keypair:
    """Transport keys from one handshake."""

    local_index: int
    remote_index: int
    send: CipherState
    receive: CipherState
    created: float
    initiator: bool
    send_counter: int = 0
    replay: ReplayFilter = field(default_factory=ReplayFilter)

    # Deadlines are compared as `now >= created + limit`, exactly as get_timer() computes
    # them: `now - created >= limit` can round the other way and re-arm a timer forever.
    def expired(self, now: float) -> bool:
        return now >= self.created + REJECT_AFTER_TIME

    def can_send(self, now: float) -> bool:
        return not self.expired(now) and self.send_counter < REJECT_AFTER_MESSAGES

    def wants_rekey(self, now: float) -> bool:
        return now >= self.created + self.rekey_after or self.send_counter >= REKEY_AFTER_MESSAGES

    @property
    def rekey_after(self) -> float:
        return REKEY_AFTER_TIME if self.initiator else RESPONDER_REKEY_AFTER


@dataclass
class PendingHandshake:
    local_index: int
    state: HandshakeState
    sent_at: float
    addr: Addr


class LinkSession:
    def __init__(
        self,
        *,
        static: X25519PrivateKey,
        peer_static: bytes,
        endpoints: list[Addr],
        pairing_id: str,
        psk: bytes | None = None,
        unreachable_after: float = UNREACHABLE_AFTER,
        wall_offset: float = 0.0,
    ):
        if len(peer_static) != 32:
            raise ValueError(f"peer static key is {len(peer_static)} bytes; expected 32")
        self.static = static
        self.static_public = public_bytes(static)
        self.peer_static = peer_static
        self.endpoints = list(endpoints)
        self.prologue = prologue(pairing_id)
        self.psk = psk if psk is not None else bytes(32)   # zero PSK when none, as WireGuard does
        self.wall_offset = wall_offset
        self.unreachable_after = unreachable_after
        self._mac1_in = mac1_key(self.static_public)
        self._mac1_out = mac1_key(peer_static)
        self._limiter = TokenBucket(INITIATIONS_PER_SECOND, INITIATION_BURST)

        self.stats: Counter[str] = Counter()
        self.reachable: bool | None = None      # None until first known either way
        self.rtt: float | None = None
        self.endpoint_index = 0
        self.roamed: Addr | None = None          # source of the last authenticated packet
        self.current: Keypair | None = None
        self.previous: Keypair | None = None
        self.next: Keypair | None = None         # responder keys not yet used by the initiator
        self.pending: PendingHandshake | None = None
        self.staged: deque[tuple[int, bytes, Addr | None]] = deque()
        self._last_timestamp: bytes | None = None
        self._last_initiation_consumed = float("-inf")
        self._started: float | None = None
        self._last_received: float | None = None
        self._silence_from = float("-inf")
        self._last_sent = float("-inf")
        self._out: list[tuple[bytes, Addr]] = []
        self._events: deque[Event] = deque()

    # ----- owner's API -------------------------------------------------------

    @property
    def destination(self) -> Addr:
        return self.roamed or self.endpoints[self.endpoint_index]

    @property
    def last_received(self) -> float | None:
        """When the last authenticated packet arrived (the caller's clock), or None."""
        return self._last_received

    @property
    def keepalive_interval(self) -> float:
        """At most KEEPALIVE_TIMEOUT, and short enough that two lost keepalives are not 'unreachable'."""
        return min(KEEPALIVE_TIMEOUT, self.unreachable_after / 3)

    def set_unreachable_after(self, seconds: float, now: float) -> None:
        """Change how fast silence counts as unreachable (a call in progress wants ~2 s).

        Silence is counted afresh from `now`: the peer's traffic before the change was paced
        for the old timeout (idle keepalives come every few seconds), so it proves nothing.
        """
        self.unreachable_after = seconds
        self._silence_from = now

    def start(self, now: float) -> None:
        """Begin: initiate a handshake so the link is up before anyone needs it."""
        self._started = now
        self._initiate(now)

    def send(self, channel: int, payload: bytes, now: float, via: Addr | None = None) -> None:
        """Seal and queue `payload`; `via` forces one path (a link test of a backup endpoint)."""
        plaintext = inner.encode(channel, payload)
        keypair = self._sending_keypair(now)
        if keypair is None:
            if len(self.staged) >= STAGED_LIMIT:
                self.staged.popleft()
                self.stats["staged_dropped"] += 1
            self.staged.append((channel, payload, via))
            if self.pending is None:
                self._initiate(now)
            return
        self._seal(keypair, plaintext, now, via)

    def receive_datagram(self, data: bytes, addr: Addr, now: float) -> None:
        self.stats["datagrams_received"] += 1
        try:
            message = parse_packet(data)
        except MalformedPacket as exc:
            self._drop("malformed", addr, str(exc))
            return
        if isinstance(message, Transport):
            self._consume_transport(message, addr, now)
        elif isinstance(message, Initiation):
            self._consume_initiation(message, addr, now)
        else:
            self._consume_response(message, addr, now)

    def datagrams_to_send(self, now: float) -> list[tuple[bytes, Addr]]:
        out, self._out = self._out, []
        return out

    def next_event(self) -> Event | None:
        return self._events.popleft() if self._events else None

    def get_timer(self) -> float | None:
        if self._started is None:
            return None
        deadlines = [self._silence_deadline()]
        if self.pending is not None:
            deadlines.append(self.pending.sent_at + REKEY_TIMEOUT)
        keypair = self.current
        if keypair is not None:
            deadlines.append(self._last_sent + self.keepalive_interval)
            deadlines.append(keypair.created + REJECT_AFTER_TIME)
            if self.pending is None:
                deadlines.append(keypair.created + keypair.rekey_after)
                if self._last_received is not None and self._last_sent > self._last_received:
                    deadlines.append(self._last_received + self.keepalive_interval + REKEY_TIMEOUT)
        elif self.pending is None:
            deadlines.append(self._started)   # no keys and no handshake: start one now
        return min(d for d in deadlines if d is not None)

    def handle_timer(self, now: float) -> None:
        if self._started is None:
            return
        for name in ("previous", "current", "next"):
            keypair = getattr(self, name)
            if keypair is not None and keypair.expired(now):
                setattr(self, name, None)
        if self.pending is not None and now >= self.pending.sent_at + REKEY_TIMEOUT:
            self.stats["handshake_timeouts"] += 1
            self._next_path()
            self._initiate(now)
        if self.pending is None:
            if self.current is None or self.current.wants_rekey(now) or self._path_silent(now):
                if self.current is not None and self._path_silent(now):
                    self._next_path()
                self._initiate(now)
        keypair = self._sending_keypair(now)
        if keypair is not None and now >= self._last_sent + self.keepalive_interval:
            self.stats["keepalives_sent"] += 1
            self._seal(keypair, b"", now)
        self._check_silence(now)

    # ----- handshake -----------------------------------------------------------

    def _initiate(self, now: float) -> None:
        state = HandshakeState(
            initiator=True, static=self.static, remote_static=self.peer_static,
            prologue=self.prologue, psk=self.psk,
        )
        index = self._new_index()
        noise = state.write_initiation(tai64n.encode(now + self.wall_offset))
        body = Initiation(index, noise).body()
        packet = body + mac(self._mac1_out, body) + bytes(MAC_LEN)
        self.pending = PendingHandshake(index, state, now, self.destination)
        self.stats["initiations_sent"] += 1
        self._out.append((packet, self.pending.addr))

    def _consume_initiation(self, message: Initiation, addr: Addr, now: float) -> None:
        if not hmac.compare_digest(mac(self._mac1_in, message.body()), message.mac1):
            self._drop("bad_mac", addr, "initiation mac1 does not match our key")
            return
        if not self._limiter.allow(addr[0], now):
            self._drop("rate_limited", addr, "initiations from this address over the limit")
            return
        state = HandshakeState(initiator=False, static=self.static, prologue=self.prologue, psk=self.psk)
        try:
            timestamp = state.read_initiation(message.noise)
        except HandshakeError as exc:
            self._drop("unauthenticated", addr, str(exc))
            return
        if state.rs != self.peer_static:
            self._drop("unknown_key", addr, "initiation from a static key that is not our peer's")
            return
        if not tai64n.is_newer(timestamp, self._last_timestamp):
            self._drop("replayed_initiation", addr, "initiation timestamp is not newer than the last")
            return
        if now - self._last_initiation_consumed < MIN_INITIATION_INTERVAL:
            self._drop("rate_limited", addr, "peer initiating faster than allowed")
            return
        self._last_timestamp = timestamp
        self._last_initiation_consumed = now
        local_index = self._new_index()
        body = Response(local_index, message.sender, state.write_response(b"")).body()
        self._out.append((body + mac(self._mac1_out, body) + bytes(MAC_LEN), addr))
        keys = state.result()
        self.next = Keypair(local_index, message.sender, keys.send, keys.receive, now, initiator=False)
        self.stats["handshakes_responded"] += 1
        self._events.append(HandshakeCompleted(now, initiator=False, rtt=None))

    def _consume_response(self, message: Response, addr: Addr, now: float) -> None:
        if not hmac.compare_digest(mac(self._mac1_in, message.body()), message.mac1):
            self._drop("bad_mac", addr, "response mac1 does not match our key")
            return
        pending = self.pending
        if pending is None or message.receiver != pending.local_index:
            self._drop("unknown_index", addr, "response to no initiation of ours")
            return
        try:
            pending.state.read_response(message.noise)
        except HandshakeError as exc:
            self._drop("unauthenticated", addr, str(exc))
            return
        keys = pending.state.result()
        self.pending = None
        self._install(Keypair(pending.local_index, message.sender, keys.send, keys.receive, now, initiator=True))
        self.rtt = now - pending.sent_at
        self.stats["handshakes_initiated"] += 1
        self._events.append(HandshakeCompleted(now, initiator=True, rtt=self.rtt))
        self._authenticated(addr, now)
        if not self.staged:   # confirm the new keys to the responder at once
            self.stats["keepalives_sent"] += 1
            self._seal(self.current, b"", now)
        self._flush_staged(now)

    # ----- transport -------------------------------------------------------------

    def _consume_transport(self, message: Transport, addr: Addr, now: float) -> None:
        keypair = self._keypair_by_index(message.receiver)
        if keypair is None or keypair.expired(now):
            self._drop("unknown_index", addr, "transport for no live keys")
            return
        if not keypair.replay.check(message.counter):
            self._drop("replayed", addr, f"counter {message.counter} replayed or too old")
            return
        try:
            plaintext = keypair.receive.decrypt_with_nonce(message.counter, b"", message.ciphertext)
        except InvalidTag:
            self._drop("unauthenticated", addr, "transport packet failed to authenticate")
            return
        keypair.replay.accept(message.counter)
        self.stats["packets_received"] += 1
        if keypair is self.next:
            self.next = None
            self._install(keypair)
            self._flush_staged(now)
        self._authenticated(addr, now)
        if not plaintext:
            self.stats["keepalives_received"] += 1
            return
        try:
            channel, payload = inner.decode(plaintext)
        except MalformedPacket as exc:
            self._drop("malformed_inner", addr, str(exc))
            return
        self._events.append(DataReceived(channel, payload, now))

    def _seal(self, keypair: Keypair, plaintext: bytes, now: float, via: Addr | None = None) -> None:
        counter = keypair.send_counter
        keypair.send_counter += 1
        packet = Transport(keypair.remote_index, counter, keypair.send.encrypt_with_nonce(counter, b"", plaintext))
        self._last_sent = now
        self.stats["packets_sent"] += 1
        self._out.append((bytes(packet), via or self.destination))

    # ----- bookkeeping -----------------------------------------------------------

    def _install(self, keypair: Keypair) -> None:
        self.previous, self.current = self.current, keypair

    def _sending_keypair(self, now: float) -> Keypair | None:
        keypair = self.current
        return keypair if keypair is not None and keypair.can_send(now) else None

    def _keypair_by_index(self, index: int) -> Keypair | None:
        for keypair in (self.current, self.next, self.previous):
            if keypair is not None and keypair.local_index == index:
                return keypair
        return None

    def _new_index(self) -> int:
        used = {k.local_index for k in (self.current, self.previous, self.next) if k is not None}
        if self.pending is not None:
            used.add(self.pending.local_index)
        while True:
            index = secrets.randbits(32)
            if index not in used:
                return index

    def _flush_staged(self, now: float) -> None:
        keypair = self._sending_keypair(now)
        while keypair is not None and self.staged:
            channel, payload, via = self.staged.popleft()
            self._seal(keypair, inner.encode(channel, payload), now, via)

    def _authenticated(self, addr: Addr, now: float) -> None:
        self.roamed = addr
        self._last_received = now
        if self.reachable is not True:
            self.reachable = True
            self._events.append(PeerReachable(now))

    def _path_silent(self, now: float) -> bool:
        """We have been sending but heard nothing back for a keepalive interval plus a retry."""
        last = self._last_received
        return last is not None and self._last_sent > last and now >= last + self.keepalive_interval + REKEY_TIMEOUT

    def _next_path(self) -> None:
        self.roamed = None
        self.endpoint_index = (self.endpoint_index + 1) % len(self.endpoints)

    def _silent_since(self) -> float | None:
        since = self._last_received if self._last_received is not None else self._started
        return None if since is None else max(since, self._silence_from)

    def _silence_deadline(self) -> float | None:
        since = self._silent_since()
        if self.reachable is False or since is None:
            return None
        return since + self.unreachable_after

    def _check_silence(self, now: float) -> None:
        deadline = self._silence_deadline()
        if deadline is not None and now >= deadline:
            self.reachable = False
            self._events.append(PeerUnreachable(now, silent_for=now - self._silent_since()))

    def _drop(self, reason: str, addr: Addr, detail: str) -> None:
        self.stats["dropped_" + reason] += 1
        log.debug("dropped datagram from %s: %s", addr, detail)

    @property
    def rejected(self) -> int:
        """Every datagram dropped for any reason."""
        return sum(n for name, n in self.stats.items() if name.startswith("dropped_"))
