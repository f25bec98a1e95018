"""Voice messages: on disk until someone has heard them, and the recording and playing of one.

Each part arrives over the records channel and is written (atomically, 0600)
before it is acknowledged, so a restart loses nothing the peer was told we
have; a complete message becomes one file, deleted once it has been played.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from terminal.daemon.records import VoiceMessage
from terminal.keys import atomic_write
from terminal.voice.codec import Decoder, Encoder

_CALL_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")
FRAME_MS = (10, 20, 40)
VOICE_MESSAGE_BITRATE = 16000     # a recorded voice message's Opus bitrate
log = logging.getLogger(__name__)


class VoicemailBox:
    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def add_part(self, item: dict) -> VoiceMessage | None:
        """Store one part; the whole message once its last part is in (None before)."""
        call_id, part, parts = str(item["call_id"]), int(item["part"]), int(item["parts"])
        if not _CALL_ID.fullmatch(call_id) or not 0 <= part < parts <= 1000:
            raise ValueError(f"voice message part {part}/{parts} of call {call_id!r} is not valid")
        if item.get("frame_ms") not in FRAME_MS:
            raise ValueError(f"voice message frame length {item.get('frame_ms')!r} ms is not one of {FRAME_MS}")
        for frame in item["frames"]:
            base64.b64decode(frame, validate=True)      # binascii.Error is a ValueError
        atomic_write(self.directory / f"{call_id}.part{part}", json.dumps(item).encode())
        stored = [self.directory / f"{call_id}.part{i}" for i in range(parts)]
        if not all(p.exists() for p in stored):
            return None
        chunks = [json.loads(p.read_text()) for p in stored]
        whole = {"call_id": call_id, "frame_ms": int(item["frame_ms"]),
                 "frames": [f for chunk in chunks for f in chunk["frames"]]}
        atomic_write(self.directory / f"{call_id}.json", json.dumps(whole).encode())
        for p in stored:
            p.unlink()
        return _message(whole)

    def pending(self) -> list[VoiceMessage]:
        """Complete messages not yet played, oldest first; an unreadable file is set aside, logged."""
        messages = []
        for path in sorted(self.directory.glob("*.json"), key=lambda p: p.stat().st_mtime):
            try:
                messages.append(_message(json.loads(path.read_text())))
            except (ValueError, KeyError, TypeError, OSError) as exc:
                log.error("voice message %s is unreadable (%s); moved aside", path, exc)
                path.rename(path.with_suffix(".unreadable"))
        return messages

    def played(self, call_id: str) -> None:
        (self.directory / f"{call_id}.json").unlink(missing_ok=True)


def _message(data: dict) -> VoiceMessage:
    return VoiceMessage(data["call_id"], data["frame_ms"], tuple(base64.b64decode(f) for f in data["frames"]))


@dataclass
class Recording:
    """A voice message being recorded from the handset microphone, one frame per tick."""
    call_id: str
    frame_ms: int
    encoder: Encoder
    frames: list[bytes] = field(default_factory=list)

    @classmethod
    def start(cls, call_id: str, frame_ms: int) -> "Recording":
        return cls(call_id, frame_ms, Encoder(frame_ms, VOICE_MESSAGE_BITRATE, fec=False))

    def add(self, mic: bytes) -> None:
        self.frames.append(self.encoder.encode(mic))

    def finish(self) -> VoiceMessage | None:
        """Stop recording: the message, or None if not one frame was recorded."""
        self.encoder.close()
        return VoiceMessage(self.call_id, self.frame_ms, tuple(self.frames)) if self.frames else None


@dataclass
class Playback:
    """A received voice message being played into the earpiece, one frame per tick."""
    message: VoiceMessage
    decoder: Decoder
    played: int = 0           # frames played so far

    @classmethod
    def start(cls, message: VoiceMessage) -> "Playback":
        return cls(message, Decoder(message.frame_ms))

    def next_frame(self) -> bytes | None:
        """The next frame for the earpiece, or None once the message has played to its end."""
        if self.played >= len(self.message.frames):
            return None
        self.played += 1
        return self.decoder.decode(self.message.frames[self.played - 1])

    def close(self) -> None:
        self.decoder.close()
