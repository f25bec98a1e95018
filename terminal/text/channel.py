"""The reliable text channel, sans-I/O: payloads and `now` in, payloads and effects out.

Sender: messages wait in a queue ordered by precedence; while the peer is
reachable up to `window` of them are in flight. A message gets its sequence
number when it first leaves (effect `MessageSent`), so precedence decides the
send order and the receiver can deliver each stream strictly in seq order.
Unacknowledged fragments are resent with exponential backoff.

Receiver: fragments are reassembled in memory; a complete message becomes a
`Stored` effect and only then is acknowledged in full (a delivery receipt).
Slots are released to the reader in seq order (`Released`). Anything already
held is simply acknowledged again, so duplicates and replays are delivered once.

The owner keeps the durable state: it applies every effect before sending the
payloads of the same call, and rebuilds a channel from its store after a restart
(`restore_*`). Nothing here reads the clock, sleeps or touches a file.
"""

from __future__ import annotations

import heapq
import itertools
import logging
from collections import Counter, deque
from dataclasses import dataclass, field

from terminal.text import wire
from terminal.text.constants import INITIAL_RTO, MAX_RTO, MIN_RTO, RECEIVE_AHEAD, SEND_WINDOW
from terminal.text.effects import Effect, ReceiptConfirmed, Released, Stored
from terminal.text.events import MessageDelivered, MessageRead, MessageSent
from terminal.text.fragments import Reassembly, full, split
from terminal.text.precedence import Precedence
from terminal.text.retry import Retry, RttEstimator

log = logging.getLogger(__name__)


@dataclass
class _Outgoing:
    id: bytes
    seq: int
    precedence: Precedence
    created: float
    chunks: list[bytes]
    retry: Retry
    received: int = 0
    sent_at: float | None = None            # first transmission, for an RTT sample
    resent: bool = False                    # Karn: no RTT sample from a retransmitted message


@dataclass
class _Receipt:
    id: bytes
    at: float
    retry: Retry


@dataclass
class _Incoming:
    next_seq: int = 1
    held: set[int] = field(default_factory=set)      # stored slots at or beyond next_seq


class TextChannel:
    def __init__(self, stream: bytes, *, next_seq: int = 1, window: int = SEND_WINDOW,
                 initial_rto: float = INITIAL_RTO, min_rto: float = MIN_RTO,
                 max_rto: float = MAX_RTO) -> None:
        if len(stream) != wire.STREAM_LEN:
            raise ValueError(f"stream id is {len(stream)} bytes; expected {wire.STREAM_LEN}")
        self.stream = stream
        self.next_seq = next_seq
        self.window = window
        self.reachable = False
        self.dropped: Counter[str] = Counter()
        self.dropped_samples = 0                    # round-trip samples a clock step made absurd
        self.rtt = RttEstimator(initial_rto, min_rto, max_rto)
        self._queue: list[tuple[int, float, int, bytes, str]] = []
        self._order = itertools.count()
        self._inflight: dict[int, _Outgoing] = {}
        self._receipts: dict[bytes, _Receipt] = {}
        self._incoming: dict[bytes, _Incoming] = {}
        self._partial: dict[tuple[bytes, int], tuple[wire.Data, Reassembly]] = {}
        self._out: list[bytes] = []
        self._effects: deque[Effect] = deque()

    # --- restoring from the store (call before anything else) ---------------

    def restore_outgoing(self, id: bytes, precedence: Precedence, text: str, created: float,
                         seq: int | None) -> None:
        """An outbox message not yet delivered: queued (seq None) or in flight."""
        if seq is None:
            self.queue(id, precedence, text, created)
            return
        self._inflight[seq] = _Outgoing(id, seq, precedence, created,
                                        split(text.encode("utf-8")), self._retry())

    def restore_incoming(self, stream: bytes, next_seq: int, held: set[int]) -> None:
        """How far a peer stream has been released, and which later slots are stored."""
        self._incoming[stream] = _Incoming(next_seq, set(held))

    def restore_receipt(self, id: bytes, at: float) -> None:
        """A read receipt the peer has not yet confirmed."""
        self._receipts[id] = _Receipt(id, at, self._retry())

    # --- inputs ---------------------------------------------------------------

    def queue(self, id: bytes, precedence: Precedence, text: str, created: float,
              now: float | None = None) -> None:
        """Add a checked message to the outbox queue; it leaves when the peer is reachable."""
        heapq.heappush(self._queue, (int(precedence), created, next(self._order), id, text))
        if now is not None:
            self._pump(now)

    def send_read_receipt(self, id: bytes, at: float, now: float) -> None:
        """A person here acknowledged message `id` at `at`: tell the peer until it confirms."""
        receipt = _Receipt(id, at, self._retry())
        self._receipts[id] = receipt
        if self.reachable:
            self._out.append(bytes(wire.Read(id, at)))
            receipt.retry.arm(now)

    def peer_reachable(self, now: float) -> None:
        """Call on the link's PeerReachable: resend everything outstanding at once."""
        self.reachable = True
        for out in self._inflight.values():
            out.resent = True
            self._transmit(out)
            out.retry.restart(self.rtt.rto, now)
        for receipt in self._receipts.values():
            self._out.append(bytes(wire.Read(receipt.id, receipt.at)))
            receipt.retry.restart(self.rtt.rto, now)
        self._pump(now)

    def peer_unreachable(self, now: float) -> None:
        """Call on the link's PeerUnreachable: hold everything until the peer is back."""
        self.reachable = False

    def receive(self, payload: bytes, now: float) -> None:
        """A payload that arrived on CHANNEL_TEXT. Malformed input is dropped and counted."""
        try:
            message = wire.parse(payload)
        except wire.MalformedText as e:
            self._drop("malformed", str(e))
            return
        if isinstance(message, wire.Data):
            self._on_data(message, now)
        elif isinstance(message, wire.Ack):
            self._on_ack(message, now)
        elif isinstance(message, wire.Read):
            self._on_read(message, now)
        else:
            self._on_read_ack(message)

    # --- outputs --------------------------------------------------------------

    def payloads_to_send(self, now: float) -> list[bytes]:
        out, self._out = self._out, []
        return out

    def next_effect(self) -> Effect | None:
        return self._effects.popleft() if self._effects else None

    def get_timer(self) -> float | None:
        if not self.reachable:
            return None
        deadlines = [i.retry.deadline for i in (*self._inflight.values(), *self._receipts.values())
                     if i.retry.deadline is not None]
        return min(deadlines, default=None)

    def handle_timer(self, now: float) -> None:
        if not self.reachable:
            return
        for out in self._inflight.values():
            if out.retry.due(now):
                out.resent = True
                self._transmit(out)
                out.retry.back_off(now)
        for receipt in self._receipts.values():
            if receipt.retry.due(now):
                self._out.append(bytes(wire.Read(receipt.id, receipt.at)))
                receipt.retry.back_off(now)
        self._pump(now)

    def clock_stepped(self, step: float, *, exact: bool = True) -> None:
        """Call when the clock behind `now` stepped by `step` seconds (negative: backwards).

        Retransmission deadlines move with it, so every wait keeps its length. A round trip
        under way is timed across the step if `step` was measured (`exact`); if it is only
        a guess, that round trip gives no sample. Stored times (`created`, a receipt's `at`)
        are what a person saw and stay as they are.
        """
        for out in self._inflight.values():
            out.retry.clock_stepped(step)
            if out.sent_at is not None:
                out.sent_at = out.sent_at + step if exact else None
        for receipt in self._receipts.values():
            receipt.retry.clock_stepped(step)

    @property
    def queued(self) -> int:
        return len(self._queue)

    @property
    def in_flight(self) -> int:
        return len(self._inflight)

    # --- sender side ----------------------------------------------------------

    def _retry(self) -> Retry:
        return Retry(self.rtt.rto, self.rtt.maximum)

    def _pump(self, now: float) -> None:
        while self.reachable and self._queue and len(self._inflight) < self.window:
            precedence, created, _, id, text = heapq.heappop(self._queue)
            out = _Outgoing(id, self.next_seq, Precedence(precedence), created,
                            split(text.encode("utf-8")), self._retry())
            self.next_seq += 1
            self._inflight[out.seq] = out
            self._effects.append(MessageSent(id.hex(), out.seq, now))
            self._transmit(out)
            out.sent_at = now
            out.retry.arm(now)

    def _transmit(self, out: _Outgoing) -> None:
        """Send every fragment the peer has not said it holds."""
        count = len(out.chunks)
        for index, chunk in enumerate(out.chunks):
            if not out.received >> index & 1:
                self._out.append(bytes(wire.Data(self.stream, out.seq, index, count,
                                                 out.precedence, out.id, out.created, chunk)))


    def _on_ack(self, ack: wire.Ack, now: float) -> None:
        if ack.stream != self.stream:
            self._drop("foreign stream", f"ack for stream {ack.stream.hex()}")
            return
        out = self._inflight.get(ack.seq)
        if out is None:
            return                                  # already delivered: a duplicate ack
        if not out.resent and out.sent_at is not None:
            self._sample(now - out.sent_at)
            out.sent_at = None                      # one sample per message
        progress = ack.received & ~out.received
        out.received = ack.received                 # latest word wins: a restarted peer forgets fragments
        if ack.received == full(len(out.chunks)):
            self._deliver(out, now)
        elif progress:
            out.retry.progress(self.rtt.rto, now)   # the path works: resend the rest soon, never later

    def _sample(self, rtt: float) -> None:
        """Feed a clean round trip to the estimator, unless the clock stepped under it.

        A negative one, or one longer than the longest timeout, can only come from a step the
        owner did not report (a real round trip that long would have timed out first, and a
        resent message gives no sample), so it is ignored rather than skewing every timeout.
        """
        if 0.0 <= rtt <= self.rtt.maximum:
            self.rtt.sample(rtt)
        else:
            self.dropped_samples += 1
            log.debug("round-trip sample of %.3f s ignored: the clock stepped", rtt)

    def _deliver(self, out: _Outgoing, now: float) -> None:
        del self._inflight[out.seq]
        self._effects.append(MessageDelivered(out.id.hex(), now))
        self._pump(now)

    def _on_read(self, read: wire.Read, now: float) -> None:
        for out in list(self._inflight.values()):
            if out.id == read.id:                   # the delivery receipt was lost; this implies it
                self._deliver(out, now)
        self._effects.append(MessageRead(read.id.hex(), now, read.at))
        self._out.append(bytes(wire.ReadAck(read.id)))

    # --- receiver side --------------------------------------------------------

    def _on_data(self, data: wire.Data, now: float) -> None:
        incoming = self._incoming.setdefault(data.stream, _Incoming())
        if data.seq < incoming.next_seq or data.seq in incoming.held:
            self._ack(data, full(data.count))
            return
        if data.seq >= incoming.next_seq + RECEIVE_AHEAD:
            self._drop("too far ahead", f"seq {data.seq}, expecting {incoming.next_seq}")
            return
        key = (data.stream, data.seq)
        if key not in self._partial and len(self._partial) >= RECEIVE_AHEAD:
            self._drop("too many partial messages", f"seq {data.seq}")
            return
        first, parts = self._partial.setdefault(key, (data, Reassembly(data.count)))
        if (first.count, first.id, first.precedence, first.created) != (
                data.count, data.id, data.precedence, data.created):
            self._drop("inconsistent fragment", f"seq {data.seq} fragment {data.index}")
            return
        parts.add(data.index, data.chunk)
        if not parts.complete():
            self._ack(data, parts.held)
            return
        del self._partial[key]
        try:
            text = parts.text()
        except ValueError as e:
            self._drop("bad message body", f"seq {data.seq}: {e}")
            return
        self._effects.append(Stored(data.stream, data.seq, data.id.hex(), data.precedence,
                                    text, data.created, now))
        incoming.held.add(data.seq)
        first_seq = incoming.next_seq
        while incoming.next_seq in incoming.held:
            incoming.held.remove(incoming.next_seq)
            incoming.next_seq += 1
        if incoming.next_seq != first_seq:
            self._effects.append(Released(data.stream, first_seq, incoming.next_seq, now))
        self._ack(data, full(data.count))

    def _ack(self, data: wire.Data, received: int) -> None:
        self._out.append(bytes(wire.Ack(data.stream, data.seq, received)))

    def _on_read_ack(self, ack: wire.ReadAck) -> None:
        if self._receipts.pop(ack.id, None) is not None:
            self._effects.append(ReceiptConfirmed(ack.id.hex()))

    def _drop(self, reason: str, detail: str) -> None:
        self.dropped[reason] += 1
        log.debug("text payload dropped (%s): %s", reason, detail)
