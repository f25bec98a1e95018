"""A lossy, delaying in-memory link between a VoiceSender and a VoiceReceiver, on a fake clock."""

import heapq
import itertools
import random
import wave
from dataclasses import dataclass

from terminal.sim.speech import SAMPLES      # the installed package's speech fixtures
from terminal.voice.stream import VoiceReceiver, VoiceSender


def read_speech(name: str) -> bytes:
    """48 kHz mono int16 PCM of one of the committed speech fixtures."""
    with wave.open(str(SAMPLES / name), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (48000, 1, 2)
        return wav.readframes(wav.getnframes())


@dataclass
class Result:
    pcm: bytes                 # everything the receiver played, one frame per tick from t = 0
    receiver: dict
    sender: dict


def simulate(pcm: bytes, *, loss: float = 0.0, seed: int = 1, delay: float = 0.030,
             jitter: float = 0.0, fec: bool = True, max_redundancy: int = 3,
             frame_ms: int = 20, tick_phase: float = 0.007, tail_frames: int = 25) -> Result:
    """Send ``pcm`` frame by frame through random loss and delay; collect what is played.

    Frame i is captured over [i F, (i+1) F) and sent at (i+1) F; packets (and the
    reports going back) are lost with probability ``loss`` and arrive after
    ``delay`` plus a uniform 0..``jitter``; the receiver ticks at k F + ``tick_phase``.
    """
    rng = random.Random(seed)
    sender = VoiceSender(frame_ms, fec=fec, max_redundancy=max_redundancy,
                         initial_seq=65500, initial_timestamp=2**32 - 10000)
    receiver = VoiceReceiver(frame_ms)
    step = frame_ms / 1000
    size = sender.frame_bytes
    frames = [pcm[i:i + size].ljust(size, b"\0") for i in range(0, len(pcm), size)]
    frames += [bytes(size)] * tail_frames
    order = itertools.count()
    events = []
    for i, frame in enumerate(frames):
        heapq.heappush(events, ((i + 1) * step, next(order), "capture", frame))
        heapq.heappush(events, (i * step + tick_phase, next(order), "tick", None))

    def transmit(now, kind, data):
        if rng.random() >= loss:
            heapq.heappush(events, (now + delay + rng.random() * jitter, next(order), kind, data))

    played = []
    while events:
        now, _, kind, data = heapq.heappop(events)
        if kind == "capture":
            transmit(now, "voice", sender.encode(data))
        elif kind == "voice":
            receiver.on_payload(data, now)
        elif kind == "report":
            sender.on_report(data)
        else:
            played.append(receiver.pull(now))
            report = receiver.report(now)
            if report is not None:
                transmit(now, "report", report)
    result = Result(b"".join(played), receiver.stats, sender.stats)
    sender.close()
    receiver.close()
    return result


def speech_through(pcm: bytes, lead_in_s: float = 2.0, **options) -> Result:
    """``simulate`` with silence first, as in a call where voice flows from the answer on.

    The lead-in lets loss reports reach the sender before the speech starts; the
    returned PCM starts where the speech was sent (plus the pipeline's own delay).
    """
    lead_in = bytes(int(lead_in_s * 48000) * 2)
    result = simulate(lead_in + pcm, **options)
    result.pcm = result.pcm[len(lead_in):]
    return result
