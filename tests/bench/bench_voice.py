"""Voice pipeline numbers (not pass/fail): processing cost, PESQ-WB under loss, added delay.

Run from the project root:  .venv/bin/python tests/bench/bench_voice.py
Everything goes through VoiceSender -> in-memory lossy channel -> VoiceReceiver on
a fake clock (tests/voice/channel.py): 30 ms one-way delay, receiver ticks every
20 ms, speech after a 2 s lead-in of silence as in a call already answered.
"""

import statistics
import sys
import time
from pathlib import Path

import numpy as np
from pesq import pesq
from scipy.signal import correlate, resample_poly

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from terminal.voice.stream import VoiceReceiver, VoiceSender  # noqa: E402
from tests.voice.channel import read_speech, speech_through  # noqa: E402

SAMPLES = ("speech_a.wav", "speech_b.wav")
LOSSES = (0.0, 0.05, 0.10, 0.20)
SEEDS = (1, 2, 3, 4)
CONFIGS = {                              # name: (fec, max_redundancy)
    "FEC+redundancy": (True, 3),
    "FEC only": (True, 0),
    "both off": (False, 0),
}
NETWORK_DELAY = 0.030
FRAME_S = 0.020


def to_16k(pcm: bytes) -> np.ndarray:
    return resample_poly(np.frombuffer(pcm, dtype="<i2").astype(float), 1, 3)


def pesq_wb(reference: bytes, degraded: bytes) -> float:
    return pesq(16000, to_16k(reference), to_16k(degraded), "wb")


def cost_per_frame(speech: bytes, redundancy: int) -> tuple[float, float]:
    """CPU seconds per frame: capture->encode->packet, and packet->jitter->decode."""
    sender, receiver = VoiceSender(max_redundancy=redundancy), VoiceReceiver()
    if redundancy:
        sender.on_report(b"\x02\xff\x00\x00")            # force the deepest redundancy
    size = sender.frame_bytes
    frames = [speech[i:i + size] for i in range(0, len(speech) - size + 1, size)] * 4
    start = time.process_time()
    payloads = [sender.encode(frame) for frame in frames]
    send = (time.process_time() - start) / len(frames)
    start = time.process_time()
    for i, payload in enumerate(payloads):
        receiver.on_payload(payload, i * FRAME_S)
        receiver.pull(i * FRAME_S + 0.005)
    receive = (time.process_time() - start) / len(frames)
    sender.close(), receiver.close()
    return send, receive


def added_delay(speech: bytes, jitter: float) -> tuple[float, float]:
    """(jitter-buffer wait, capture-to-playout minus network delay), both in ms, at 0 % loss."""
    result = speech_through(speech, jitter=jitter, seed=1)
    ref = np.frombuffer(speech, dtype="<i2").astype(float)
    out = np.frombuffer(result.pcm, dtype="<i2").astype(float)
    lag = int(np.argmax(correlate(out, ref, method="fft"))) - (len(ref) - 1)
    mean_network = NETWORK_DELAY + jitter / 2
    return result.receiver["mean_delay_ms"], (lag / 48000 - mean_network) * 1000


def main() -> None:
    began = time.perf_counter()
    speech = {name: read_speech(name) for name in SAMPLES}

    print("Processing cost per 20 ms frame (CPU time, one core of this machine)")
    for redundancy in (0, 3):
        send, receive = cost_per_frame(speech["speech_a.wav"], redundancy)
        print(f"  redundancy {redundancy}: send {send * 1e6:6.0f} us ({send / FRAME_S:.2%} of the"
              f" frame)   receive {receive * 1e6:6.0f} us ({receive / FRAME_S:.2%})")

    print("\nAdded delay at 0 % loss (30 ms network delay + uniform jitter)")
    for jitter in (0.0, 0.010, 0.020):
        waits, total = zip(*(added_delay(pcm, jitter) for pcm in speech.values()))
        print(f"  jitter 0..{jitter * 1000:2.0f} ms: jitter-buffer wait"
              f" {statistics.mean(waits):5.1f} ms,  mouth-to-ear added (frame + codec + buffer)"
              f" {statistics.mean(total):5.1f} ms")

    print(f"\nPESQ-WB (16 kHz), mean over {len(SAMPLES)} clips x {len(SEEDS)} loss patterns")
    print(f"  {'loss':>5}  " + "  ".join(f"{name:>22}" for name in CONFIGS))
    lossless = {}
    for loss in LOSSES:
        cells = []
        for name, (fec, redundancy) in CONFIGS.items():
            scores = [pesq_wb(pcm, speech_through(pcm, loss=loss, seed=seed, fec=fec,
                                                  max_redundancy=redundancy).pcm)
                      for pcm in speech.values() for seed in SEEDS]
            score = statistics.mean(scores)
            lossless.setdefault(name, score)
            cells.append(f"{score:5.2f} ({score / lossless[name]:4.0%}, min {min(scores):4.2f})")
        print(f"  {loss:5.0%}  " + "  ".join(f"{cell:>22}" for cell in cells))
    print("  (in brackets: share of the same configuration's lossless score; worst single run)")
    cold = statistics.mean(
        pesq_wb(pcm, speech_through(pcm, lead_in_s=0.0, loss=0.10, seed=seed).pcm)
        for pcm in speech.values() for seed in SEEDS)
    print(f"  10 % loss, speech from the very first frame (no lead-in), FEC+redundancy: {cold:.2f}"
          f" ({cold / lossless['FEC+redundancy']:.0%})")
    print(f"\nbenchmark took {time.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    main()
