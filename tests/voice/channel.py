"""A lossy, delaying in-memory link between a VoiceSender and a VoiceReceiver, on a fake clock.

Loss is independent per packet by default; ``burst=`` switches each direction to
its own seeded Gilbert-Elliott model (``GilbertElliott``) with that mean burst.
"""

import heapq
import itertools
import random
import wave
from dataclasses import dataclass

from terminal.sim.speech import SAMPLES      # the installed package's speech fixtures
from terminal.voice.codec import DEFAULT_BITRATE, frame_samples
from terminal.voice.stream import VoiceReceiver, VoiceSender


def read_speech(name: str) -> bytes:
    """48 kHz mono int16 PCM of one of the committed speech fixtures."""
    with wave.open(str(SAMPLES / name), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (48000, 1, 2)
        return wav.readframes(wav.getnframes())


class GilbertElliott:
    """Two-state Markov packet loss: every packet in the Bad state is lost, none in Good.

    (The Gilbert-Elliott model with loss probability 0 in Good and 1 in Bad.)
    Before each packet the state moves Good -> Bad with probability ``p`` and
    Bad -> Good with ``r``, so the long-run loss is p / (p + r) and a burst of
    consecutive losses lasts 1 / r packets on average (geometrically distributed).
    The first state is drawn from that long-run distribution.
    """

    def __init__(self, p: float, r: float, rng: random.Random):
        if not (0 < p <= 1 and 0 < r <= 1):
            raise ValueError(f"transition probabilities must be in (0, 1], not p={p!r}, r={r!r}")
        self.p, self.r, self._rng = p, r, rng
        self.bad = rng.random() < p / (p + r)

    @classmethod
    def with_bursts(cls, loss: float, mean_burst: float, rng: random.Random) -> "GilbertElliott":
        """The model whose long-run loss is ``loss`` in bursts of ``mean_burst`` packets on average."""
        if not 0 < loss < 1:
            raise ValueError(f"loss must be in (0, 1), not {loss!r}")
        if mean_burst < 1:
            raise ValueError(f"a burst is at least 1 packet long on average, not {mean_burst!r}")
        r = 1 / mean_burst
        p = r * loss / (1 - loss)
        if p > 1:
            raise ValueError(f"{loss:.0%} loss in bursts of {mean_burst} is not reachable (p = {p:.2f})")
        return cls(p, r, rng)

    def lost(self) -> bool:
        """Step to the next packet; True if it is lost."""
        self.bad = self._rng.random() >= self.r if self.bad else self._rng.random() < self.p
        return self.bad


@dataclass
class Result:
    pcm: bytes                 # everything the receiver played, one frame per tick from t = 0
    receiver: dict
    sender: dict
    sent_bytes: list[int]      # length of each voice payload the sender produced, in capture order
    lost: list[bool]           # whether the channel lost that payload


def simulate(pcm: bytes, *, loss: float = 0.0, burst: float | None = None, seed: int = 1,
             delay: float = 0.030, jitter: float = 0.0, bitrate: int = DEFAULT_BITRATE,
             fec: bool = True, max_redundancy: int = 3, frame_ms: int = 20,
             tick_phase: float = 0.007, tail_frames: int = 25) -> Result:
    """Send ``pcm`` frame by frame through loss and delay; collect what is played.

    Frame i is captured over [i F, (i+1) F) and sent at (i+1) F; packets (and the
    reports going back) are lost with probability ``loss`` and arrive after
    ``delay`` plus a uniform 0..``jitter``; the receiver ticks at k F + ``tick_phase``.
    With ``burst`` (mean burst length in packets) each direction loses packets by
    its own ``GilbertElliott`` model with long-run loss ``loss``, seeded from ``seed``.
    """
    rng = random.Random(seed)
    if burst is None or loss == 0:   # one generator for loss and jitter: seeds replay as they always did
        lost = dict.fromkeys(("voice", "report"), lambda: rng.random() < loss)
    else:
        lost = {kind: GilbertElliott.with_bursts(loss, burst, random.Random(f"{seed}:{kind}")).lost
                for kind in ("voice", "report")}
    sender = VoiceSender(frame_ms, bitrate, fec=fec, max_redundancy=max_redundancy,
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

    def transmit(now, kind, data) -> bool:
        if lost[kind]():
            return False
        heapq.heappush(events, (now + delay + rng.random() * jitter, next(order), kind, data))
        return True

    played, sent_bytes, voice_lost = [], [], []
    while events:
        now, _, kind, data = heapq.heappop(events)
        if kind == "capture":
            payload = sender.encode(data)
            sent_bytes.append(len(payload))
            voice_lost.append(not transmit(now, "voice", payload))
        elif kind == "voice":
            receiver.on_payload(data, now)
        elif kind == "report":
            sender.on_report(data)
        else:
            played.append(receiver.pull(now))
            report = receiver.report(now)
            if report is not None:
                transmit(now, "report", report)
    result = Result(b"".join(played), receiver.stats, sender.stats, sent_bytes, voice_lost)
    sender.close()
    receiver.close()
    return result


def speech_through(pcm: bytes, lead_in_s: float = 2.0, **options) -> Result:
    """``simulate`` with silence first, as in a call where voice flows from the answer on.

    The lead-in lets loss reports reach the sender before the speech starts; the
    returned PCM starts where the speech was sent (plus the pipeline's own delay),
    and ``sent_bytes`` and ``lost`` cover only the speech's own frames.
    """
    frame_ms = options.get("frame_ms", 20)
    lead_frames = round(lead_in_s * 1000 / frame_ms)
    lead_in = bytes(lead_frames * frame_samples(frame_ms) * 2)
    result = simulate(lead_in + pcm, **options)
    result.pcm = result.pcm[len(lead_in):]
    speech_frames = -(-len(pcm) // (frame_samples(frame_ms) * 2))
    speech_part = slice(lead_frames, lead_frames + speech_frames)
    result.sent_bytes, result.lost = result.sent_bytes[speech_part], result.lost[speech_part]
    return result
