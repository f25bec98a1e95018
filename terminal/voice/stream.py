"""A call's voice, both ways: PCM frames to voice-channel payloads and back.

``VoiceSender`` turns a PCM frame into a ``VoicePacket`` payload and adapts to
the far side's ``ReceiverReport`` (Opus loss hint and redundancy depth follow
the measured loss).  ``VoiceReceiver`` takes payloads, plays one frame per tick
through the jitter buffer and the decoder, and writes the reports.
``VoiceSession`` holds one of each and routes incoming payloads by type.
"""

import secrets
from collections import deque

import numpy as np

from terminal.voice.codec import DEFAULT_BITRATE, DEFAULT_FRAME_MS, CodecError, Decoder, Encoder
from terminal.voice.jitter import JitterBuffer, Source
from terminal.voice.packet import (MAX_REDUNDANT, TYPE_REPORT, TYPE_VOICE, MalformedVoicePacket,
                                   ReceiverReport, VoicePacket)
from terminal.voice.seqnum import seq_add

REPORT_INTERVAL = 0.5            # seconds between receiver reports
URGENT_REPORT_GAP = 0.1          # seconds after the last report when loss starts
QUIET_PEAK = 600                 # int16 peak below which a frame counts as quiet (about -35 dBFS)
QUIET_FRAMES = 12                # quiet frames in a row (a pause, not a stop consonant) before the
                                 # jitter buffer may stretch or cut
LOSS_DECAY = 0.15                # per report, how fast the loss estimate falls back
# (loss estimate at or above, redundant frames carried): RFC 2198 style, adaptive.
REDUNDANCY_STEPS = ((0.003, 1), (0.04, 2), (0.15, 3))


def redundancy_depth(loss: float, max_depth: int) -> int:
    """How many earlier frames each packet repeats at this loss estimate."""
    depth = 0
    for threshold, steps in REDUNDANCY_STEPS:
        if loss >= threshold:
            depth = steps
    return min(depth, max_depth)


class VoiceSender:
    """PCM frames in, voice-channel payloads out; ``on_report`` adapts FEC and redundancy."""

    def __init__(self, frame_ms: int = DEFAULT_FRAME_MS, bitrate: int = DEFAULT_BITRATE,
                 fec: bool = True, max_redundancy: int = 3, initial_seq: int | None = None,
                 initial_timestamp: int | None = None):
        if not 0 <= max_redundancy <= MAX_REDUNDANT:
            raise CodecError(f"redundancy depth must be 0..{MAX_REDUNDANT}, not {max_redundancy!r}")
        self._encoder = Encoder(frame_ms, bitrate, fec)
        self.max_redundancy = max_redundancy
        self._history = deque(maxlen=max(1, max_redundancy))
        self._seq = secrets.randbelow(1 << 16) if initial_seq is None else initial_seq
        self._timestamp = (secrets.randbelow(1 << 32) if initial_timestamp is None
                           else initial_timestamp)
        self.loss = 0.0
        self.depth = 0
        self.last_report: ReceiverReport | None = None
        self.counts = {"frames_sent": 0, "bytes_sent": 0, "reports": 0, "reports_malformed": 0}

    @property
    def frame_bytes(self) -> int:
        return self._encoder.frame_bytes

    @property
    def encoder(self) -> Encoder:
        """The Opus encoder, for reading its settings."""
        return self._encoder

    def encode(self, pcm: bytes) -> bytes:
        """Encode one PCM frame (48 kHz mono int16) into the payload to send on CHANNEL_VOICE."""
        primary = self._encoder.encode(pcm)
        recent = list(self._history)[-self.depth:] if self.depth else []
        redundant = tuple((len(recent) - i, frame) for i, frame in enumerate(recent))
        payload = bytes(VoicePacket(self._seq, self._timestamp, primary, redundant))
        self._history.append(primary)
        self._seq = seq_add(self._seq, 1)
        self._timestamp = (self._timestamp + self._encoder.samples) % (1 << 32)
        self.counts["frames_sent"] += 1
        self.counts["bytes_sent"] += len(payload)
        return payload

    def on_report(self, data: bytes) -> None:
        """Take a receiver report from the far side; a malformed one is counted and ignored."""
        try:
            report = ReceiverReport.parse(data)
        except MalformedVoicePacket:
            self.counts["reports_malformed"] += 1
            return
        self.counts["reports"] += 1
        self.last_report = report
        loss = report.loss
        self.loss = loss if loss >= self.loss else self.loss + (loss - self.loss) * LOSS_DECAY
        wanted = redundancy_depth(self.loss, self.max_redundancy)
        if wanted > self.depth:
            self.depth = wanted
        else:  # step down only once twice the loss would not call for the current depth
            self.depth = min(self.depth, redundancy_depth(2 * self.loss, self.max_redundancy))
        # Redundant copies already repair most losses; FEC (which costs the primary
        # frame bits) is sized for what is left after them.
        residual = self.loss ** (self.depth + 1)
        self._encoder.set_loss_percent(min(100, round(residual * 100)))

    @property
    def stats(self) -> dict:
        report = self.last_report
        return {**self.counts, "redundancy_depth": self.depth,
                "loss_hint_percent": self._encoder.loss_percent,
                "peer_loss_percent": round(report.loss * 100, 1) if report else None,
                "peer_jitter_ms": report.jitter_ms if report else None}

    def close(self) -> None:
        self._encoder.close()


class VoiceReceiver:
    """Voice-channel payloads in; one PCM frame per tick out; receiver reports back."""

    def __init__(self, frame_ms: int = DEFAULT_FRAME_MS, report_interval: float = REPORT_INTERVAL,
                 **jitter_options):
        self._decoder = Decoder(frame_ms)
        self.buffer = JitterBuffer(frame_ms, **jitter_options)
        self.report_interval = report_interval
        self._silence = bytes(self._decoder.frame_bytes)
        self._next_report = None
        self._reported_loss = False
        self._quiet_run = QUIET_FRAMES
        self.counts = {"malformed": 0, "decode_errors": 0}

    @property
    def frame_bytes(self) -> int:
        return self._decoder.frame_bytes

    def on_payload(self, data: bytes, now: float) -> None:
        """Take a voice packet that arrived at ``now``; a malformed one is counted and dropped."""
        try:
            packet = VoicePacket.parse(data)
        except MalformedVoicePacket:
            self.counts["malformed"] += 1
            return
        self.buffer.push(packet, now)
        if self._next_report is None:
            self._next_report = now + self.report_interval

    def pull(self, now: float) -> bytes:
        """The PCM frame to play at this tick; call exactly once per frame period."""
        pcm = self._produce(self.buffer.pop(now, self._quiet_run >= QUIET_FRAMES))
        samples = np.frombuffer(pcm, dtype="<i2")
        self._quiet_run = self._quiet_run + 1 if np.abs(samples).max(initial=0) < QUIET_PEAK else 0
        return pcm

    def _produce(self, playout) -> bytes:
        try:
            if playout.source is Source.SILENCE:
                return self._silence
            if playout.source is Source.CONCEALED:
                return self._decoder.conceal()
            if playout.source is Source.FEC:
                return self._decoder.decode_fec(playout.data)
            return self._decoder.decode(playout.data)
        except CodecError:
            self.counts["decode_errors"] += 1
            return self._decoder.conceal()

    def report(self, now: float) -> bytes | None:
        """A receiver report to send back on CHANNEL_VOICE when one is due, else None.

        Due every ``report_interval``, and sooner (``URGENT_REPORT_GAP`` after the
        last one) when loss starts after a loss-free report, so that the sender
        turns redundancy on within a round trip.
        """
        if self._next_report is None:
            return None
        reception = self.buffer.reception
        loss_started = (not self._reported_loss and (reception.interval_loss() or 0) > 0
                        and now >= self._next_report - self.report_interval + URGENT_REPORT_GAP)
        if now < self._next_report and not loss_started:
            return None
        self._next_report = now + self.report_interval
        loss = reception.take_interval_loss()
        if loss is None:
            return None
        self._reported_loss = loss > 0
        return bytes(ReceiverReport.from_measurement(loss, reception.jitter * 1000))

    @property
    def stats(self) -> dict:
        return {**self.buffer.stats, **self.counts}

    def close(self) -> None:
        self._decoder.close()


class VoiceSession:
    """Both directions of one call's voice; the caller owns the link, the clock and the audio."""

    def __init__(self, frame_ms: int = DEFAULT_FRAME_MS, bitrate: int = DEFAULT_BITRATE,
                 fec: bool = True, max_redundancy: int = 3, **receiver_options):
        self.sender = VoiceSender(frame_ms, bitrate, fec, max_redundancy)
        self.receiver = VoiceReceiver(frame_ms, **receiver_options)
        self.unknown = 0

    def encode(self, pcm: bytes) -> bytes:
        """Captured PCM frame -> payload to send on CHANNEL_VOICE."""
        return self.sender.encode(pcm)

    def on_payload(self, data: bytes, now: float) -> None:
        """Any CHANNEL_VOICE payload from the peer: voice to the receiver, reports to the sender."""
        kind = data[0] if data else None
        if kind == TYPE_VOICE:
            self.receiver.on_payload(data, now)
        elif kind == TYPE_REPORT:
            self.sender.on_report(data)
        else:
            self.unknown += 1

    def pull(self, now: float) -> bytes:
        """PCM frame to play at this tick."""
        return self.receiver.pull(now)

    def report(self, now: float) -> bytes | None:
        """Receiver report to send on CHANNEL_VOICE, when due."""
        return self.receiver.report(now)

    @property
    def stats(self) -> dict:
        return {**self.receiver.stats, **self.sender.stats, "unknown_messages": self.unknown}

    def close(self) -> None:
        self.sender.close()
        self.receiver.close()
