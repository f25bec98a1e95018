"""The link to the peer as a sans-I/O state machine (aioquic's shape).

    receive_datagram(data, addr, now)     datagrams_to_send(now) -> [(bytes, addr)]
    get_timer() -> deadline | None        handle_timer(now)
    send(channel, payload, now)           next_event() -> Event | None

`now` is seconds on a monotonic clock owned by the caller; `wall_offset` turns
it into Unix time for the initiation timestamp. Nothing here reads a clock,
sleeps or touches a socket. The one call out is `on_timestamp`, which the owner
gives to make the newest accepted initiation timestamp durable before the
response leaves (a replay after a restart then gets no answer).

Rules, after WireGuard: every unauthenticated, malformed, replayed or unknown
packet is dropped, counted in `stats` and never answered (the one exception:
under load a mac1-valid initiation without a valid mac2 gets a cookie reply,
terminal/link/cookie.py); the replay window moves only after a packet
authenticates; a responder does not send on new keys until the initiator has
used them; keys are renewed after REKEY_AFTER_TIME and refused after
REJECT_AFTER_TIME.

Paths (terminal/link/paths.py): data goes on every live path, so a path that
dies mid-call loses nothing and the copy is counted in `duplicates`; each path
is probed every PROBE_INTERVAL; handshakes go to every candidate address.
"""

from __future__ import annotations

import hmac
import logging
import random
import secrets
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from terminal.link import inner, tai64n
from terminal.link import pq
from terminal.link.constants import (
    CHANNEL_PATH, CHANNEL_PQ, HANDSHAKE_COPIES, HANDSHAKE_RETRY_FIRST, HANDSHAKE_RETRY_GROWTH, HANDSHAKE_RETRY_JITTER,
    PQ_OFFER_RETRY_GROWTH, PQ_OFFER_RETRY_MAX, PQ_OFFER_RETRY_MIN, PQ_OFFER_RETRY_RTTS,
    INITIATION_BURST, INITIATIONS_PER_SECOND, KEEPALIVE_TIMEOUT, MIN_INITIATION_INTERVAL, PROBE_INTERVAL,
    PROLOGUE_LABEL, PROTOCOL_VERSION, REJECT_AFTER_MESSAGES, REJECT_AFTER_TIME, REKEY_AFTER_MESSAGES,
    REKEY_AFTER_TIME, REKEY_TIMEOUT, RESPONSE_DH_TRIES, UNREACHABLE_AFTER,
)
from terminal.link.cookie import CookieChecker, CookieJar, mac
from terminal.link.events import DataReceived, Event, HandshakeCompleted, PathUp, PeerReachable, PeerUnreachable
from terminal.link.messages import (
    CLASSICAL_INITIATION_LEN, MAC_LEN, CookieReply, Initiation, MalformedPacket, Response, Transport, parse_packet,
    transport_packet,
)
from terminal.link.noise import CipherState, HandshakeError, HandshakeState, Suite, public_bytes
from terminal.link.paths import PROBE, Path, PathTable, decode_probe, encode_probe, PROBE_REPLY
from terminal.link.ratelimit import TokenBucket
from terminal.link.replay import ReplayFilter

log = logging.getLogger(__name__)

Addr = tuple  # (host, port) as asyncio gives it
LABEL_MAC1 = b"mac1----"
STAGED_LIMIT = 64
RESPONDER_REKEY_AFTER = REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT
DROP_LOG_EVERY = 10.0      # seconds between debug lines about drops of one reason
WARN_DROPS = frozenset({"classical_peer", "ratchet_refused", "ratchet_unknown_chain"})   # warnings: a person must act
HYBRID_UPGRADE_AFTER = 0.25            # s: well past the peer's MIN_INITIATION_INTERVAL after a glare
SENT_KEPT = 8              # handshake messages remembered for matching a cookie reply
_BLAKE2S = Suite("BLAKE2s")


def prologue(pairing_id: str) -> bytes:
    """Binds the protocol version and the pairing into every handshake hash."""
    return PROLOGUE_LABEL + bytes((PROTOCOL_VERSION,)) + pairing_id.encode("utf-8")


def mac1_key(static_public: bytes) -> bytes:
    return _BLAKE2S.hash(LABEL_MAC1 + static_public)


def retry_after(attempt: int, rng: random.Random) -> float:
    """How long handshake try number `attempt` (0 = the first) waits before the next one."""
    growth = HANDSHAKE_RETRY_GROWTH ** min(attempt, 16)     # bounded: 1.5**1751 overflows a float
    base = min(REKEY_TIMEOUT, HANDSHAKE_RETRY_FIRST * growth)
    return base * (1 + rng.uniform(-HANDSHAKE_RETRY_JITTER, HANDSHAKE_RETRY_JITTER))


@dataclass
class Keypair:
    """Transport keys from one handshake."""

    local_index: int
    remote_index: int
    send: CipherState
    receive: CipherState
    created: float
    initiator: bool
    secret: bytes | None = None   # the post-quantum ratchet secret its handshake's PSK held
    send_counter: int = 0
    replay: ReplayFilter = field(default_factory=ReplayFilter)

    @property
    def hybrid(self) -> bool:
        return self.secret is not None

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
    attempt: int                  # 0 for the first try of this handshake
    retry_at: float
    secret: bytes | None = None   # the ratchet secret its PSK holds
    dh_tries: int = 0             # responses we spent DH on for this initiation within this second
    dh_window: float = 0.0        # when that second began
    cookie_retried: bool = False  # this handshake already retried early once because a cookie came


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
        probe_interval: float = PROBE_INTERVAL,
        last_timestamp: bytes | None = None,
        on_timestamp: Callable[[bytes], None] | None = None,
        rng: random.Random | None = None,
        ratchet: pq.Ratchet | None = None,
        on_ratchet: Callable[[pq.Ratchet], None] | None = None,
        require_hybrid: bool = False,
    ):
        if len(peer_static) != 32:
            raise ValueError(f"peer static key is {len(peer_static)} bytes; expected 32")
        self.static = static
        self.static_public = public_bytes(static)
        self.peer_static = peer_static
        self.paths = PathTable(endpoints)
        self.prologue = prologue(pairing_id)
        self.psk = psk if psk is not None else bytes(32)   # zero PSK when none, as WireGuard does
        self.wall_offset = wall_offset
        self.unreachable_after = unreachable_after
        self.probe_every = probe_interval
        self.on_timestamp = on_timestamp
        self.ratchet = ratchet if ratchet is not None else pq.Ratchet()
        self.on_ratchet = on_ratchet
        self.require_hybrid = require_hybrid    # carry no data on keys without a post-quantum secret
        self.offerer = self.static_public > peer_static   # the one side that starts ratchet exchanges
        self._offer: pq.OpenOffer | None = None     # the offer not answered yet (its key: memory only)
        self._offer_due: float | None = None        # its next copy (or the next try to make one) is due
        self._offer_gap = PQ_OFFER_RETRY_MIN        # ... this long after the copy before
        self._unsaved_logged = float("-inf")
        self._rng = rng or random.SystemRandom()
        self._mac1_in = mac1_key(self.static_public)
        self._mac1_out = mac1_key(peer_static)
        self._limiter = TokenBucket(INITIATIONS_PER_SECOND, INITIATION_BURST)
        self._cookies = CookieChecker(self.static_public)
        self._jar = CookieJar(peer_static)

        self.stats: Counter[str] = Counter()
        self.reachable: bool | None = None      # None until first known either way
        self.rtt: float | None = None
        self.current: Keypair | None = None
        self.previous: Keypair | None = None
        self.next: Keypair | None = None         # responder keys not yet used by the initiator
        self.pending: PendingHandshake | None = None
        self.staged: deque[tuple[int, bytes, Addr | None]] = deque()
        self._sent_handshakes: deque[tuple[int, bytes]] = deque(maxlen=SENT_KEPT)   # (sender index, mac1)
        self._last_timestamp = last_timestamp
        self._last_initiation: bytes | None = None        # body of the newest one answered
        self._last_response = b""                          # ... our response to it
        self._answered_at: set[Addr] = set()               # ... and where that response went
        self._last_initiation_consumed = float("-inf")
        self._started: float | None = None
        self._now = 0.0
        self._last_received: float | None = None
        self._silence_from = float("-inf")
        self._last_sent = float("-inf")
        self._dropped_logged: dict[str, tuple[float, int]] = {}
        self._out: list[tuple[bytes, Addr]] = []
        self.largest_sent = 0                    # bytes: the biggest datagram this session has sent
        self._events: deque[Event] = deque()

    # ----- owner's API -------------------------------------------------------

    @property
    def destination(self) -> Addr:
        """The best path: the live one with the lowest round trip, else the one heard last."""
        return self.paths.best(self._now, self.live_window).addr

    @property
    def endpoints(self) -> list[Addr]:
        return [p.addr for p in self.paths.paths if p.configured]

    @property
    def last_received(self) -> float | None:
        """When the last authenticated packet arrived (the caller's clock), or None."""
        return self._last_received

    @property
    def last_timestamp(self) -> bytes | None:
        """The newest initiation timestamp accepted from the peer (what `on_timestamp` was given)."""
        return self._last_timestamp

    @property
    def keepalive_interval(self) -> float:
        """At most KEEPALIVE_TIMEOUT, and short enough that two lost keepalives are not 'unreachable'."""
        return min(KEEPALIVE_TIMEOUT, self.unreachable_after / 3)

    @property
    def probe_interval(self) -> float:
        return min(self.probe_every, self.keepalive_interval)

    @property
    def live_window(self) -> float:
        """A path not heard from for this long is down: two probes and a second of slack."""
        return 2 * self.probe_interval + 1.0

    def set_unreachable_after(self, seconds: float, now: float) -> None:
        """Change how fast silence counts as unreachable (a call in progress wants ~2 s).

        Silence is counted afresh from `now`: the peer's traffic before the change was paced
        for the old timeout (idle keepalives come every few seconds), so it proves nothing.
        """
        self.unreachable_after = seconds
        self._silence_from = now

    def start(self, now: float) -> None:
        """Begin: initiate a handshake so the link is up before anyone needs it."""
        self._now = now
        self._started = now
        self._begin_handshake(now)

    def send(self, channel: int, payload: bytes, now: float, via: Addr | None = None) -> None:
        """Seal and queue `payload` for every live path; `via` forces one (a link test of a path)."""
        self._now = now
        plaintext = inner.encode(channel, payload)
        keypair = self._data_keypair(now)
        if keypair is None:
            if len(self.staged) >= STAGED_LIMIT:
                self.staged.popleft()
                self.stats["staged_dropped"] += 1
            self.staged.append((channel, payload, via))
            if self.pending is None and self._sending_keypair(now) is None:
                self._begin_handshake(now)       # no keys at all (classical ones re-key by themselves)
            return
        self._seal(keypair, plaintext, now, via)

    def send_data(self, channel: int, payload: bytes, now: float) -> bool:
        """The hot path of `send` (a voice frame): seal and queue `payload` exactly as `send`
        would, when that changes nothing but the counters and when data was last sent, that is,
        when data keys are up and a path is live. Returns False, having changed nothing, when
        `send` must do it. After True the one deadline that can have come earlier is
        `deadline_after_send()`."""
        keypair = self.current
        if (keypair is None or not keypair.can_send(now) or (self.require_hybrid and not keypair.hybrid)
                or self.staged):
            return False
        live = self.paths.live(now, self.live_window)
        if not live:
            return False                         # `send` falls back to the candidates (and forgets some)
        self._now = now
        self._seal(keypair, inner.encode(channel, payload), now, targets=live)
        return True

    def deadline_after_send(self) -> float | None:
        """After `send_data`: sent data with nothing heard since arms the dead-peer re-key
        (`_rekey_deadline`'s third clause); no other deadline moves earlier on a send."""
        if self.pending is not None or self.current is None or self._last_received is None:
            return None
        return self._last_received + self.keepalive_interval + REKEY_TIMEOUT

    def receive(self, data: bytes, addr: Addr, now: float) -> tuple[int, bytes] | None:
        """`receive_datagram`, with a hot path: routine data (on the current keys, from a live
        validated path, the peer already reachable, nothing queued before it) is returned as
        `(channel, payload)` instead of queued as a `DataReceived` event at `now`; such a packet
        queues no datagram and moves no deadline earlier, so the owner need not look at either.
        Everything else returns None and is exactly `receive_datagram`."""
        return self._receive(data, addr, now, direct=True)

    def receive_datagram(self, data: bytes, addr: Addr, now: float) -> None:
        self._receive(data, addr, now, direct=False)

    def _receive(self, data: bytes, addr: Addr, now: float, direct: bool) -> tuple[int, bytes] | None:
        self._now = now
        addr = tuple(addr)
        self.stats["datagrams_received"] += 1
        try:
            if len(data) == CLASSICAL_INITIATION_LEN and data[:1] == b"\x01":
                message = Initiation.parse_classical(data)   # authenticated before it is refused
            else:
                message = parse_packet(data)
        except MalformedPacket as exc:
            self._drop("malformed", addr, str(exc), now)
            return
        if isinstance(message, Transport):
            return self._consume_transport(message, addr, now, direct)
        if isinstance(message, Initiation):
            self._consume_initiation(message, data, addr, now)
        elif isinstance(message, Response):
            self._consume_response(message, addr, now)
        else:
            self._consume_cookie_reply(message, addr, now)
        return None

    def datagrams_to_send(self, now: float) -> list[tuple[bytes, Addr]]:
        out, self._out = self._out, []
        if out:
            self.largest_sent = max(self.largest_sent, max(len(d) for d, _ in out))
        return out

    def next_event(self) -> Event | None:
        return self._events.popleft() if self._events else None

    def path_report(self, now: float) -> list[dict]:
        """Each path's state, round trip and loss, for `link.status` and the metrics."""
        window, timeout = self.live_window, self.probe_timeout
        best = self.destination
        return [{"endpoint": "%s:%d" % p.addr[:2], "configured": p.configured, "state": p.state(now, window),
                 "best": p.addr == best, "rtt_ms": None if p.rtt is None else round(p.rtt * 1000, 1),
                 "loss": None if (loss := p.loss(now, timeout)) is None else round(loss, 3),
                 "last_heard_ago": None if p.last_heard is None else round(now - p.last_heard, 1)}
                for p in self.paths.paths]

    @property
    def drops(self) -> dict[str, int]:
        """Dropped datagrams by reason."""
        return {name[len("dropped_"):]: n for name, n in sorted(self.stats.items()) if name.startswith("dropped_") and n}

    @property
    def rejected(self) -> int:
        """Every datagram dropped for any reason."""
        return sum(self.drops.values())

    # ----- timers: one deadline and one handler each (wireguard-go's timers.go) ------------

    def get_timer(self) -> float | None:
        if self._started is None:
            return None
        deadlines = [deadline for deadline, _ in self._timers() if deadline is not None]
        return min(deadlines, default=None)

    def handle_timer(self, now: float) -> None:
        if self._started is None:
            return
        self._now = now
        for deadline, handler in self._timers():
            if deadline is not None and now >= deadline:
                handler(now)

    def _timers(self):
        return ((self._keys_deadline(), self._on_keys_expired),
                (self._retry_deadline(), self._on_handshake_retry),
                (self._rekey_deadline(), self._on_rekey),
                (self._probe_deadline(), self._on_probe),
                (self._offer_deadline(), self._on_offer_retry),
                (self._silence_deadline(), self._on_silence))

    def _keys_deadline(self) -> float | None:
        held = [k.created + REJECT_AFTER_TIME for k in (self.previous, self.current, self.next) if k is not None]
        return min(held, default=None)

    def _on_keys_expired(self, now: float) -> None:
        if self.previous is not None and self.previous.expired(now):
            self.previous = None
        if self.current is not None and self.current.expired(now):
            self.current = None
        if self.next is not None and self.next.expired(now):
            self.next = None

    def _retry_deadline(self) -> float | None:
        pending = self.pending
        if pending is None:
            return None
        current = self.current
        if (self.require_hybrid and self.offerer and pending.secret is None and current is not None
                and not current.hybrid and self._pending_usable):
            # A handshake of ours from before the exchange (glare at start) would hold the upgrade
            # to hybrid keys until its retry: retry it now, with the secret.
            return min(pending.retry_at, max(pending.sent_at, current.created) + HYBRID_UPGRADE_AFTER)
        return pending.retry_at

    def _on_handshake_retry(self, now: float) -> None:
        self.stats["handshake_timeouts"] += 1
        self._initiate(now, self.pending.attempt + 1)

    def _rekey_deadline(self) -> float | None:
        if self.pending is not None:
            return None
        keypair = self.current
        if keypair is None:
            return self._started                  # no keys and no handshake: start one now
        deadlines = [keypair.created + keypair.rekey_after]
        if self.require_hybrid and self.offerer and not keypair.hybrid and self._pending_usable:
            # The first keys after pairing: onto hybrid ones as soon as the responder takes a new
            # initiation (it refuses two within MIN_INITIATION_INTERVAL). The offerer only: if both
            # did, they would collide again.
            deadlines.append(keypair.created + HYBRID_UPGRADE_AFTER)
        if self._last_received is not None and self._last_sent > self._last_received:
            deadlines.append(self._last_received + self.keepalive_interval + REKEY_TIMEOUT)
        return min(deadlines)

    def _on_rekey(self, now: float) -> None:
        if self.pending is None:
            self._begin_handshake(now)

    def _probe_deadline(self) -> float | None:
        if self.current is None:
            return None
        return min((p.last_probe for p in self.paths.to_probe(self._now)), default=float("inf")) + self.probe_interval

    def _on_probe(self, now: float) -> None:
        keypair = self._sending_keypair(now)
        if keypair is None:
            return
        for path in self.paths.to_probe(now):
            if now >= path.last_probe + self.probe_interval:
                self._probe(keypair, path, now)

    def _probe(self, keypair: Keypair, path: Path, now: float) -> None:
        self.stats["probes_sent"] += 1
        self._seal(keypair, inner.encode(CHANNEL_PATH, self.paths.probe(path, now)), now, path.addr)

    def _offer_deadline(self) -> float | None:
        return self._offer_due

    def _on_offer_retry(self, now: float) -> None:
        self._offer_due = None
        self.stats["pq_offer_retries"] += 1
        self._send_offer(now)

    def _silence_deadline(self) -> float | None:
        since = self._silent_since()
        if self.reachable is False or since is None:
            return None
        return since + self.unreachable_after

    def _on_silence(self, now: float) -> None:
        self.reachable = False
        self._events.append(PeerUnreachable(now, silent_for=now - self._silent_since()))

    # ----- handshake -----------------------------------------------------------

    def _begin_handshake(self, now: float) -> None:
        self.pending = None             # a new handshake: the cookie retry and the backoff start over
        self._initiate(now, 0)

    def _initiate(self, now: float, attempt: int) -> None:
        secret_id, secret = self.ratchet.for_initiation()
        state = HandshakeState(
            initiator=True, static=self.static, remote_static=self.peer_static,
            prologue=self._prologue_for(secret_id), psk=pq.handshake_psk(self.psk, secret),
        )
        index = self._new_index()
        noise = state.write_initiation(tai64n.encode(now + self.wall_offset))
        cookie_retried = self.pending.cookie_retried if self.pending is not None else False
        self.pending = PendingHandshake(index, state, now, attempt, now + retry_after(attempt, self._rng),
                                        cookie_retried=cookie_retried, secret=secret)
        self.stats["initiations_sent"] += 1
        packet = self._stamp(Initiation(index, noise, secret_id).body(), index, now)
        for path in self.paths.candidates(now):
            self._out.extend([(packet, path.addr)] * HANDSHAKE_COPIES)

    def _prologue_for(self, secret_id: bytes | None) -> bytes:
        """The initiation's secret id goes into the handshake hash: changed on the way, the
        initiation fails to authenticate (instead of naming a secret its sender did not use).
        None: a classical initiation, whose prologue is the pairing's alone."""
        return self.prologue if secret_id is None else self.prologue + secret_id

    def _stamp(self, body: bytes, sender: int, now: float) -> bytes:
        """body | mac1 | mac2 (the peer's cookie, if we hold a fresh one)."""
        mac1 = mac(self._mac1_out, body)
        self._sent_handshakes.append((sender, mac1))
        return body + mac1 + self._jar.mac2(body + mac1, now)

    def _consume_initiation(self, message: Initiation, packet: bytes, addr: Addr, now: float) -> None:
        if not hmac.compare_digest(mac(self._mac1_in, message.body()), message.mac1):
            self._drop("bad_mac", addr, "initiation mac1 does not match our key", now)
            return
        if self._last_initiation is not None and hmac.compare_digest(message.body(), self._last_initiation):
            self.stats["duplicates"] += 1          # another copy (or path) of the one just answered
            if addr not in self._answered_at and self.paths.find(addr) is not None and self.paths.find(addr).validated:
                self._answered_at.add(addr)        # its first copy via this path: the response goes here too,
                self._out.append((self._last_response, addr))   # in case the first path's way back is broken
            return
        if self._cookies.under_load(now) and not self._cookies.mac2_ok(packet, addr, now):
            reply = self._cookies.reply(message.sender, message.mac1, addr, now,
                                        known_path=self.paths.find(addr) is not None)
            if reply is None:
                self._drop("under_load", addr, "under load and over the cookie reply budget", now)
                return
            self.stats["cookie_replies_sent"] += 1
            self._drop("under_load", addr, "under load: answered with a cookie, no DH", now)
            self._out.append((reply, addr))
            return
        if not self._limiter.allow(addr[0], now):
            self._drop("rate_limited", addr, "initiations from this address over the limit", now)
            return
        # IKpsk2's first message depends only on there being a PSK (its `e` token's MixKey), not on
        # its value, which first enters at the response: so the initiator is authenticated before
        # this side decides anything from the secret id (or its absence), and the PSK comes after.
        state = HandshakeState(initiator=False, static=self.static, prologue=self._prologue_for(message.secret_id),
                               psk=self.psk)
        try:
            timestamp = state.read_initiation(message.noise)
        except HandshakeError as exc:
            self._drop("unauthenticated", addr, str(exc), now)
            return
        if not hmac.compare_digest(state.rs, self.peer_static):
            self._drop("unknown_key", addr, "initiation from a static key that is not our peer's", now)
            return
        if not tai64n.is_newer(timestamp, self._last_timestamp):
            self._drop("replayed_initiation", addr, "initiation timestamp is not newer than the last", now)
            return
        if now - self._last_initiation_consumed < MIN_INITIATION_INTERVAL:
            self._drop("rate_limited", addr, "peer initiating faster than allowed", now)
            return
        if message.secret_id is None:
            self._drop("classical_peer", addr, "the peer's initiation has no post-quantum ratchet (firmware before "
                       "it): refused; upgrade the far unit", now)
            return
        try:
            secret = self.ratchet.for_response(message.secret_id)
        except pq.RatchetRefused as exc:
            self._drop("ratchet_refused", addr, f"{exc}: refused; re-pair both units if it persists", now)
            return
        state.psk = pq.handshake_psk(self.psk, secret)
        if self.on_timestamp is not None:
            try:
                self.on_timestamp(timestamp)
            except Exception as exc:      # cannot make it durable: answering would open a replay after a restart
                self._drop("timestamp_unsaved", addr, f"could not save the initiation timestamp: {exc}", now)
                return
        self._last_timestamp = timestamp
        self._last_initiation = message.body()
        self._last_initiation_consumed = now
        local_index = self._new_index()
        packet = self._stamp(Response(local_index, message.sender, state.write_response(b"")).body(), local_index, now)
        self._out.extend([(packet, addr)] * HANDSHAKE_COPIES)
        self._last_response, self._answered_at = packet, {addr}
        responded = self.ratchet.responded(secret)   # our own retries (glare) may name it too
        if responded is not None:
            self._commit(responded)
        keys = state.result()
        self.next = Keypair(local_index, message.sender, keys.send, keys.receive, now, initiator=False, secret=secret)
        self.stats["handshakes_responded"] += 1
        self._events.append(HandshakeCompleted(now, initiator=False, rtt=None, hybrid=secret is not None))

    def _consume_response(self, message: Response, addr: Addr, now: float) -> None:
        if not hmac.compare_digest(mac(self._mac1_in, message.body()), message.mac1):
            self._drop("bad_mac", addr, "response mac1 does not match our key", now)
            return
        pending = self.pending
        if pending is None or message.receiver != pending.local_index:
            keypair = self.current
            if keypair is not None and keypair.initiator and message.receiver == keypair.local_index:
                self.stats["duplicates"] += 1      # the second copy of the response we completed with
            else:
                self._drop("unknown_index", addr, "response to no initiation of ours", now)
            return
        if now - pending.dh_window >= 1.0:
            pending.dh_tries, pending.dh_window = 0, now
        if pending.dh_tries >= RESPONSE_DH_TRIES:   # a second's budget, so forgeries cannot use up the try
            self._drop("rate_limited", addr, "too many responses to one initiation this second", now)
            return
        pending.dh_tries += 1
        try:
            pending.state.read_response(message.noise)
        except HandshakeError as exc:
            self._drop("unauthenticated", addr, str(exc), now)
            return
        keys = pending.state.result()
        self.pending = None
        self._install(Keypair(pending.local_index, message.sender, keys.send, keys.receive, now, initiator=True,
                              secret=pending.secret))
        self._ratchet_used(pending.secret)
        self.rtt = now - pending.sent_at
        self.stats["handshakes_initiated"] += 1
        self._events.append(HandshakeCompleted(now, initiator=True, rtt=self.rtt, hybrid=pending.secret is not None))
        self._authenticated(addr, now)
        # Confirm the new keys to the responder at once (the offer right after is on them too).
        self.stats["keepalives_sent"] += 1
        self._seal(self.current, b"", now, copies=HANDSHAKE_COPIES)
        self._new_keys(now)

    def _consume_cookie_reply(self, reply: CookieReply, addr: Addr, now: float) -> None:
        sent = next((mac1 for sender, mac1 in self._sent_handshakes if sender == reply.receiver), None)
        if sent is None:
            self._drop("unknown_index", addr, "cookie reply to no handshake message of ours", now)
            return
        if not self._jar.consume(reply, sent, now):
            self._drop("unauthenticated", addr, "cookie reply failed to authenticate", now)
            return
        self._sent_handshakes.remove(next(e for e in self._sent_handshakes if e[0] == reply.receiver))  # no replay
        self.stats["cookies_received"] += 1
        pending = self.pending
        if pending is not None and pending.local_index == reply.receiver and not pending.cookie_retried:
            # Once per handshake (a forged reply needs only what travels in clear), and as an earlier
            # retry: the pending state stays, in case another copy's response is on its way.
            pending.cookie_retried = True
            pending.retry_at = now

    # ----- transport -------------------------------------------------------------

    def _consume_transport(self, message: Transport, addr: Addr, now: float,
                           direct: bool = False) -> tuple[int, bytes] | None:
        keypair = self._keypair_by_index(message.receiver)
        if keypair is None or keypair.expired(now):
            self._drop("unknown_index", addr, "transport for no live keys", now)
            return
        if not keypair.replay.check(message.counter):
            if keypair.replay.seen(message.counter):
                self.stats["duplicates"] += 1      # a copy from another path (or the network): not an attack
            else:
                self._drop("replayed", addr, f"counter {message.counter} replayed or too old", now)
            return
        try:
            plaintext = keypair.receive.decrypt_with_nonce(message.counter, b"", message.ciphertext)
        except InvalidTag:
            self._drop("unauthenticated", addr, "transport packet failed to authenticate", now)
            return
        keypair.replay.accept(message.counter)
        self.stats["packets_received"] += 1
        routine = keypair is self.current and self.reachable is True and not self._events
        if keypair is self.next:
            self.next = None
            self._install(keypair)
            self._ratchet_used(keypair.secret)
            self._new_keys(now)
        path, routine_path = self._authenticated(addr, now)
        if not plaintext:
            self.stats["keepalives_received"] += 1
            return None
        try:
            channel, payload = inner.decode(plaintext)
        except MalformedPacket as exc:
            self._drop("malformed_inner", addr, str(exc), now)
            return None
        if channel == CHANNEL_PATH:
            self._consume_probe(payload, path, now)
            return None
        if channel == CHANNEL_PQ:
            self._consume_ratchet(payload, addr, now)
            return None
        if direct and routine and routine_path:
            return channel, payload
        self._events.append(DataReceived(channel, payload, now))
        return None

    # ----- the post-quantum ratchet (terminal/link/pq.py) ----------------------------------

    def _new_keys(self, now: float) -> None:
        """A handshake's keys are in use on both sides: the offerer starts the next ratchet step."""
        if self.offerer:
            self._ratchet_step(now)
        self._flush_staged(now)

    @property
    def _pending_usable(self) -> bool:
        return self.ratchet.pending is not None and self.ratchet.peer_has_pending

    def _ratchet_step(self, now: float) -> None:
        keypair = self._sending_keypair(now)
        if keypair is None:
            return
        pending = self.ratchet.pending
        if pending is not None:
            # The last answer is not used yet: our next handshake uses it (no new offer, which
            # would fork the chain). Keys that did not use it: say again that it is taken.
            if keypair.secret != pending:
                self._seal(keypair, inner.encode(CHANNEL_PQ, bytes(pq.Taken(pq.secret_id(pending)))), now)
            return
        self._offer_gap = max(PQ_OFFER_RETRY_MIN, PQ_OFFER_RETRY_RTTS * (self.rtt or 0.0))
        self._send_offer(now)        # a new offer, or again the one not answered yet, on these keys

    def _send_offer(self, now: float) -> None:
        """Send the open offer (making one if there is none), and arm the timer for its next copy."""
        if self._offer is None:
            if self.ratchet.pending is not None:
                return
            try:
                state, offer = self.ratchet.make_offer()
            except ValueError as exc:
                log.error("no post-quantum ratchet offer: %s", exc)
                return
            if not self._commit(state):      # its number must be durable before it leaves: try again later
                self._offer_due = now + self._offer_gap
                self._offer_gap = min(PQ_OFFER_RETRY_MAX, self._offer_gap * PQ_OFFER_RETRY_GROWTH)
                return
            self._offer = offer
            self.stats["pq_offers_made"] += 1
        keypair = self._sending_keypair(now)
        if keypair is None:
            return                           # no keys: it goes again on the next ones (_ratchet_step)
        self.stats["pq_offers_sent"] += 1
        # Twice, as a handshake's messages: until this exchange is through (and the handshake it
        # allows), data waits (require_hybrid), and one copy each way is through at 30 % loss
        # only half the time, behind a retry gap growing to 4 s.
        self._seal(keypair, inner.encode(CHANNEL_PQ, self._offer.payload), now, copies=HANDSHAKE_COPIES)
        self._offer_due = now + self._offer_gap
        self._offer_gap = min(PQ_OFFER_RETRY_MAX, self._offer_gap * PQ_OFFER_RETRY_GROWTH)

    def _consume_ratchet(self, payload: bytes, addr: Addr, now: float) -> None:
        try:
            message = pq.decode(payload)
        except MalformedPacket as exc:
            self._drop("malformed_inner", addr, str(exc), now)
            return
        if self.offerer != isinstance(message, pq.Answer):     # offers and "taken" go to the answerer only
            self.stats["pq_wrong_role"] += 1
            return
        if isinstance(message, pq.Offer):
            state, answer, outcome = self.ratchet.on_offer(message)
            if outcome == "unknown_chain":        # only if a unit's state went back (a restored backup)
                self._drop("ratchet_unknown_chain", addr, "a post-quantum ratchet offer chains from a secret this "
                           "unit does not hold: ignored; re-pair both units if it persists", now)
                return
            self.stats["pq_offers_" + outcome] += 1
            if state is not None and not self._commit(state):
                return                      # fail closed: no answer whose secret a restart would lose
            sending = self._sending_keypair(now)
            if answer is not None and sending is not None:
                self._seal(sending, inner.encode(CHANNEL_PQ, answer), now, copies=HANDSHAKE_COPIES)
            return
        if isinstance(message, pq.Taken):
            state = self.ratchet.on_taken(message)
            if state is not None:
                self._commit(state)
            return
        offer = self._offer
        state = None if offer is None else self.ratchet.on_answer(offer, message)
        if state is None:
            self.stats["pq_answers_unmatched"] += 1   # a copy of one taken, or an answer to an offer before a restart
            return
        if not self._commit(state):
            return                          # the offer stays open: a copy of the answer tries again
        self._offer, self._offer_due = None, None
        self.stats["pq_exchanges"] += 1     # with require_hybrid, classical keys now re-key at once (_rekey_deadline)
        sending = self._sending_keypair(now)
        if sending is not None:             # so either side may initiate with it (a lost copy: it waits for ours)
            self._seal(sending, inner.encode(CHANNEL_PQ, bytes(pq.Taken(pq.secret_id(state.pending)))), now,
                       copies=HANDSHAKE_COPIES)

    def _ratchet_used(self, secret: bytes | None) -> None:
        state = self.ratchet.used(secret)
        if state is not None:
            self._commit(state)

    def _commit(self, state: pq.Ratchet) -> bool:
        """Make `state` durable, and only then the state in use: a save that fails changes nothing
        (as with the timestamp in `on_timestamp`), so a restart never finds the unit behind."""
        if self.on_ratchet is not None:
            try:
                self.on_ratchet(state)
            except Exception as exc:
                self.stats["pq_state_unsaved"] += 1
                if self._now - self._unsaved_logged >= DROP_LOG_EVERY:
                    self._unsaved_logged = self._now
                    log.error("could not save the post-quantum ratchet state (%s): the ratchet waits until it "
                              "can (%d failed saves so far)", exc, self.stats["pq_state_unsaved"])
                return False
        self.ratchet = state
        return True

    @property
    def mode(self) -> str:
        """What the current keys are: "hybrid-mlkem768" or "classical" (the first after pairing)."""
        current = self.current
        if current is None:
            return "none"
        return "hybrid-mlkem768" if current.hybrid else "classical"

    def _consume_probe(self, payload: bytes, path: Path, now: float) -> None:
        try:
            kind, probe_id = decode_probe(payload)
        except MalformedPacket as exc:
            self._drop("malformed_inner", path.addr, str(exc), now)
            return
        if kind == PROBE:
            keypair = self._sending_keypair(now)
            if keypair is not None:               # answered where it came from: that path's round trip
                self._seal(keypair, inner.encode(CHANNEL_PATH, encode_probe(PROBE_REPLY, probe_id)), now, path.addr)
        else:
            answered = self.paths.probe_answered(path, probe_id, now)
            if answered is None:
                self.stats["probe_replies_unmatched"] += 1
            elif answered:                           # a learned address proved it is the peer's
                self.stats["paths_validated"] += 1
                self._events.append(PathUp(path.addr, now))

    def _seal(self, keypair: Keypair, plaintext: bytes, now: float, via: Addr | None = None,
              copies: int = 1, targets: list[Path] | None = None) -> None:
        counter = keypair.send_counter
        keypair.send_counter += 1
        packet = transport_packet(keypair.remote_index, counter, keypair.send.encrypt_with_nonce(counter, b"", plaintext))
        self._last_sent = now
        self.stats["packets_sent"] += 1
        if via is not None:
            self._out.extend([(packet, via)] * copies)
            return
        for path in targets if targets is not None else self.paths.targets(now, self.live_window):
            self._out.extend([(packet, path.addr)] * copies)

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

    def _data_keypair(self, now: float) -> Keypair | None:
        """Keys for a service's data: with `require_hybrid`, only keys a post-quantum secret went into."""
        keypair = self._sending_keypair(now)
        if keypair is not None and self.require_hybrid and not keypair.hybrid:
            return None
        return keypair

    def _flush_staged(self, now: float) -> None:
        keypair = self._data_keypair(now)
        while keypair is not None and self.staged:
            channel, payload, via = self.staged.popleft()
            self._seal(keypair, inner.encode(channel, payload), now, via)

    def _authenticated(self, addr: Addr, now: float) -> tuple[Path, bool]:
        """(the path, whether it was routine: a known validated path already live, the peer
        already reachable, so that nothing but liveness changed)."""
        known = self.paths.find(addr) is not None
        path, came_up = self.paths.heard(addr, now, self.live_window)
        routine = known and path.validated and not came_up and self.reachable is True
        self._last_received = now
        keypair = self._sending_keypair(now)
        if not known and not path.validated and keypair is not None:
            self._probe(keypair, path, now)          # challenge a new address at once (NAT rebinding)
        if self.reachable is not True:
            self.reachable = True
            self._events.append(PeerReachable(now))
        elif came_up:
            self._events.append(PathUp(path.addr, now))
        return path, routine

    @property
    def probe_timeout(self) -> float:
        """A probe unanswered this long counts as lost."""
        return max(1.0, 3 * (self.rtt or 0.0))

    def _silent_since(self) -> float | None:
        since = self._last_received if self._last_received is not None else self._started
        return None if since is None else max(since, self._silence_from)

    def _drop(self, reason: str, addr: Addr, detail: str, now: float) -> None:
        """Count it; a debug line for the first of a reason, then at most one per DROP_LOG_EVERY."""
        self.stats["dropped_" + reason] += 1
        last, suppressed = self._dropped_logged.get(reason, (None, 0))
        if last is None or now - last >= DROP_LOG_EVERY:
            more = f" ({suppressed} more like it since the last line)" if suppressed else ""
            level = logging.WARNING if reason in WARN_DROPS else logging.DEBUG
            log.log(level, "dropped datagram from %s: %s%s", addr, detail, more)
            self._dropped_logged[reason] = (now, 0)
        else:
            self._dropped_logged[reason] = (last, suppressed + 1)
