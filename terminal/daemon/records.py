"""A reliable side channel between the units for things that are not a person's text:
each call's outcome (so both journals hold both sides' view), voice messages, and the
unit's signed journal checkpoints, which the peer journals as `peer_checkpoint` records:
a second, independent copy of the unit's journal head in another country. A checkpoint
item carries both signatures (Ed25519 hex, ML-DSA-65 base64): about 4.8 KB of JSON, which
the channel sends as 5 fragments of at most 1100 bytes, each in one datagram of at most
1174 bytes (under the 1232 that IPv6's minimum MTU leaves), so never IP-fragmented.

Checkpoints are coalesced: at most one is on its way at a time, and when it is
delivered the newest signed since then follows. The newest covers every record
before it through the hash chain, so nothing is lost by skipping those between.

It reuses the text channel's machinery (exactly-once, receipts, an SQLite
outbox that survives restarts and outages) as a second, separate service on
CHANNEL_RECORDS with its own store. Items are JSON; a voice message is split
into parts that each fit the channel's 16 KiB message limit.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from typing import Callable

from terminal.daemon.texting import TextLink
from terminal.journal import JournalFieldError
from terminal.journal.recovery import checkpoint_fields
from terminal.link.constants import CHANNEL_RECORDS
from terminal.text import events as ev
from terminal.text.service import TextService

log = logging.getLogger(__name__)

FRAMES_PER_PART = 200     # 4 s of 20 ms Opus frames at 16 kbit/s: about 11 KiB of base64


@dataclass(frozen=True)
class VoiceMessage:
    call_id: str
    frame_ms: int
    frames: tuple[bytes, ...]     # Opus packets


def witness_item(cp, signer: str) -> dict:
    """The records-channel item that asks the peer to witness checkpoint `cp`."""
    item = {"t": "checkpoint", "seq": cp.seq, "hash": cp.hash, "wall_us": cp.wall_us, "signature": cp.signature,
            "signer": signer}
    if cp.mldsa_signature is not None:
        item["mldsa_signature"] = cp.mldsa_signature
    return item


class RecordsLink(TextLink):
    def __init__(self, service: TextService, send, journal, loop, voicemail,
                 on_voice_message: Callable[[VoiceMessage], None], signer: str = "", sync_worker=None):
        """`voicemail`: a VoicemailBox that keeps parts and whole messages on disk; `signer`: the
        unit's signing key (hex), named in each checkpoint it sends for the peer to witness."""
        super().__init__(service, send, journal, loop, channel=CHANNEL_RECORDS, journal_kinds={},
                         sync_worker=sync_worker)
        self._voicemail = voicemail
        self._on_voice_message = on_voice_message
        self._signer = signer
        self._witness_sent: str | None = None       # id of the checkpoint message on its way
        self._witness_next = None                   # the newest checkpoint waiting for it
        self.witnessed = 0                          # checkpoints the peer has taken
        self.on_witnessed: list = []                # called after each (the sim waits on it)
        self.held = False                           # during a call: keep the newest, send it after
        self.listeners.append(self._on_event)

    def send_outcome(self, call_id: str, fields: dict) -> None:
        self._queue({"t": "outcome", "call_id": call_id, "fields": fields})

    def send_voice_message(self, message: VoiceMessage) -> None:
        frames = message.frames
        parts = max(1, -(-len(frames) // FRAMES_PER_PART))
        for i in range(parts):
            chunk = frames[i * FRAMES_PER_PART:(i + 1) * FRAMES_PER_PART]
            self._queue({"t": "voicemail", "call_id": message.call_id, "part": i, "parts": parts,
                         "frame_ms": message.frame_ms, "frames": [base64.b64encode(f).decode() for f in chunk]})

    def witness(self, checkpoint) -> None:
        """Send this signed checkpoint for the peer to journal, or keep it until the one on its way lands."""
        self._witness_next = checkpoint
        if self._witness_sent is None and not self.held:
            self._send_witness()

    def hold(self, held: bool) -> None:
        """While voice flows, witness nothing: each send is a store commit on the loop the audio runs
        on (its fsync is on a worker, but the commit of a 4.8 KB item is not free). The newest
        checkpoint still goes, as soon as the call is over."""
        self.held = held
        if not held and self._witness_sent is None:
            self._send_witness()

    def _send_witness(self) -> None:
        cp, self._witness_next = self._witness_next, None
        if cp is not None:
            self._witness_sent = self._queue(witness_item(cp, self._signer))

    def _queue(self, item: dict) -> str:
        id = self.service.send(json.dumps(item, separators=(",", ":")), "routine", self.now())
        self.pump()
        return id

    def _on_event(self, event) -> None:
        if isinstance(event, ev.MessageDelivered) and event.id == self._witness_sent:
            self.witnessed += 1
            self._witness_sent = None
            for callback in self.on_witnessed:
                callback()
            if not self.held:
                self._send_witness()
            return
        if not isinstance(event, ev.MessageReceived):
            return
        try:
            item = json.loads(event.text)
            kind = item["t"]
            if kind == "outcome":
                self._journal.record("peer_call_outcome", str(item["call_id"]), **item["fields"])
            elif kind == "checkpoint":
                self._journal.record("peer_checkpoint", **checkpoint_fields(item))
            elif kind == "voicemail":
                message = self._voicemail.add_part(item)     # on disk before it is acknowledged
                if message is not None:
                    self._on_voice_message(message)
        except (ValueError, KeyError, TypeError, JournalFieldError) as exc:
            log.warning("dropped a malformed record from the peer: %s", exc)
        self.service.ack(event.id, self.now())     # consumed by the unit, not waiting for a person
