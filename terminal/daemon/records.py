"""A reliable side channel between the units for things that are not a person's text:
each call's outcome (so both journals hold both sides' view) and voice messages.

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


class RecordsLink(TextLink):
    def __init__(self, service: TextService, send, journal, loop, voicemail,
                 on_voice_message: Callable[[VoiceMessage], None]):
        """`voicemail`: a VoicemailBox that keeps parts and whole messages on disk."""
        super().__init__(service, send, journal, loop, channel=CHANNEL_RECORDS, journal_kinds={})
        self._voicemail = voicemail
        self._on_voice_message = on_voice_message
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

    def _queue(self, item: dict) -> None:
        self.service.send(json.dumps(item, separators=(",", ":")), "routine", self.now())
        self.pump()

    def _on_event(self, event) -> None:
        if not isinstance(event, ev.MessageReceived):
            return
        try:
            item = json.loads(event.text)
            kind = item["t"]
            if kind == "outcome":
                self._journal.record("peer_call_outcome", str(item["call_id"]), **item["fields"])
            elif kind == "voicemail":
                message = self._voicemail.add_part(item)     # on disk before it is acknowledged
                if message is not None:
                    self._on_voice_message(message)
        except (ValueError, KeyError, TypeError, JournalFieldError) as exc:
            log.warning("dropped a malformed record from the peer: %s", exc)
        self.service.ack(event.id, self.now())     # consumed by the unit, not waiting for a person
