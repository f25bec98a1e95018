"""Voice pipeline numbers (not pass/fail): processing cost, added delay, PESQ-WB and bitrate under loss.

Run from the project root:  .venv/bin/python tests/bench/bench_voice.py
Everything goes through VoiceSender -> in-memory lossy channel -> VoiceReceiver on
a fake clock (tests/voice/channel.py): 30 ms one-way delay, receiver ticks every
20 ms, speech after a 2 s lead-in of silence as in a call already answered.

Every quality figure stands beside the bitrate it cost: the payload bytes the
sender produced for the speech's own frames plus the link's per-packet overhead,
per second of speech.  The PESQ runs are spread over two worker processes.
"""

import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pesq import pesq
from scipy.signal import correlate, resample_poly

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from terminal.link import inner  # noqa: E402
from terminal.link.constants import CHANNEL_VOICE  # noqa: E402
from terminal.link.messages import TRANSPORT_HEADER_LEN, Transport  # noqa: E402
from terminal.link.noise import CipherState  # noqa: E402
from terminal.voice.codec import DEFAULT_BITRATE, DEFAULT_FRAME_MS  # noqa: E402
from terminal.voice.stream import VoiceReceiver, VoiceSender  # noqa: E402
from tests.voice.channel import read_speech, speech_through  # noqa: E402

SAMPLES = ("speech_a.wav", "speech_b.wav")
# Loss patterns per clip, each clip its own seeds (clip i: i*n+1 .. i*n+n): one seed gives
# both clips the same pattern. Bursts are rarer events and need more patterns to average
# near their nominal loss and length.
RANDOM_SEEDS = 4
BURST_SEEDS = 8
WORKERS = 2
NETWORK_DELAY = 0.030
FRAME_S = DEFAULT_FRAME_MS / 1000
BUDGET = 2 * DEFAULT_BITRATE              # bit/s on the wire, link overhead included
UDP_IPV4, UDP_IPV6 = 8 + 20, 8 + 40       # bytes per datagram below the link, not in the figures


@dataclass(frozen=True)
class Config:
    bitrate: int                          # Opus target, bit/s (VBR: the frames average near it)
    fec: bool                             # Opus in-band FEC
    max_redundancy: int                   # earlier frames a packet may repeat (depth follows loss)
    note: str = ""

    @property
    def label(self) -> str:
        return (f"{self.bitrate // 1000:2d} kbit/s  FEC {'on ' if self.fec else 'off'}"
                f"  red <= {self.max_redundancy}")


DEFAULT = Config(DEFAULT_BITRATE, True, 3, "shipped default")
CONFIGS = (
    DEFAULT,
    Config(DEFAULT_BITRATE, True, 1),
    Config(DEFAULT_BITRATE, True, 0),
    Config(DEFAULT_BITRATE, False, 0),
    # Chosen by measuring to fit 2 x 24 kbit/s on the wire at 10 % loss:
    Config(32000, True, 0, "budget spent on the primary"),
    Config(14000, True, 1, "budget split over 2 copies"),
    Config(9000, True, 2, "budget split over 3 copies"),
)


@dataclass(frozen=True)
class Condition:
    label: str
    loss: float
    burst: float | None = None            # mean burst in packets (Gilbert-Elliott), None: random

    @property
    def seeds(self) -> int:
        """Loss patterns per clip; 0 % loss with no jitter draws nothing random, so one."""
        return 1 if not self.loss else BURST_SEEDS if self.burst else RANDOM_SEEDS


CONDITIONS = (
    Condition("0 %", 0.0),
    Condition("5 % random", 0.05),
    Condition("10 % random", 0.10),
    Condition("20 % random", 0.20),
    Condition("10 % in bursts of 4 (Gilbert-Elliott)", 0.10, 4),
)


def link_overhead() -> int:
    """Bytes a transport packet adds to a voice payload, built the way Session._seal builds it."""
    payload = bytes(100)
    sealed = CipherState(bytes(32)).encrypt_with_nonce(0, b"", inner.encode(CHANNEL_VOICE, payload))
    return len(bytes(Transport(0, 0, sealed))) - len(payload)


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


@dataclass
class Run:
    pesq: float
    payload_bytes: int                    # voice payloads the sender produced for the speech frames
    packets: int                          # one per speech frame
    lost: list[bool]
    buffer_ms: float                      # the jitter buffer's mean wait over the call


_speech: dict[str, bytes] = {}


def one_run(job: tuple) -> Run:
    """One clip through one configuration under one loss pattern (runs in a worker)."""
    config, condition, clip, seed, lead_in_s = job
    if clip not in _speech:
        _speech[clip] = read_speech(clip)
    pcm = _speech[clip]
    result = speech_through(pcm, lead_in_s=lead_in_s, loss=condition.loss, burst=condition.burst,
                            seed=seed, bitrate=config.bitrate, fec=config.fec,
                            max_redundancy=config.max_redundancy)
    return Run(pesq_wb(pcm, result.pcm), sum(result.sent_bytes), len(result.sent_bytes),
               result.lost, result.receiver["mean_delay_ms"])


def wire_bitrate(runs: list[Run], overhead: int) -> tuple[float, float]:
    """(payload + link overhead, payload alone) in bit/s, over all the runs' speech."""
    payload = sum(run.payload_bytes for run in runs)
    packets = sum(run.packets for run in runs)
    seconds = packets * FRAME_S
    return (payload + packets * overhead) * 8 / seconds, payload * 8 / seconds


def loss_seen(runs: list[Run]) -> tuple[float, float]:
    """(share of speech packets lost, mean length of a run of lost packets)."""
    losses = [lost for run in runs for lost in run.lost]
    bursts, run = [], 0
    for lost in losses + [False]:
        if lost:
            run += 1
        elif run:
            bursts.append(run)
            run = 0
    return sum(losses) / len(losses), statistics.mean(bursts) if bursts else 0.0


def main() -> None:
    began = time.perf_counter()
    speech = {name: read_speech(name) for name in SAMPLES}
    overhead = link_overhead()
    assert overhead == TRANSPORT_HEADER_LEN + 2 + 16, overhead

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

    def plan(config, condition, lead_in_s=2.0):
        n = condition.seeds
        return [(config, condition, clip, i * n + k + 1, lead_in_s)
                for i, clip in enumerate(SAMPLES) for k in range(n)]

    jobs = {(config, condition): plan(config, condition)
            for condition in CONDITIONS for config in CONFIGS}
    jobs["cold"] = plan(DEFAULT, CONDITIONS[2], lead_in_s=0.0)
    with ProcessPoolExecutor(WORKERS) as pool:
        futures = {key: [pool.submit(one_run, job) for job in batch] for key, batch in jobs.items()}
        runs = {key: [future.result() for future in batch] for key, batch in futures.items()}

    packets_per_s = 1 / FRAME_S
    print("\nPESQ-WB and bitrate on the wire under loss")
    print(f"  Codec Opus 48 kHz mono (VoIP, VBR), {DEFAULT_FRAME_MS} ms frames, one packet per frame;"
          f" nominal bitrate, in-band FEC\n  on/off and the redundancy cap per row. Redundancy depth"
          f" follows the receiver's loss reports\n  (up to the cap); FEC's loss hint is what"
          f" redundancy leaves over (terminal/voice/stream.py).")
    print(f"  Compared: PESQ-WB (P.862.2) of what the receiver plays from where the speech was sent,"
          f"\n  against the clean clip, both resampled 48 -> 16 kHz; so 0 % loss scores the codec"
          f" alone.\n  Mean over {len(SAMPLES)} clips x n loss patterns, each clip its own seeds:"
          f" n = {RANDOM_SEEDS} under random loss,\n  {BURST_SEEDS} under bursts, 1 at 0 %"
          f" (nothing random there). Same patterns for every configuration.")
    print(f"  Wire kbit/s = (voice payloads VoiceSender sent for the speech frames, lost ones too,"
          f"\n  + {overhead} B/packet link overhead: transport header {TRANSPORT_HEADER_LEN} B"
          f" + inner framing 2 B + Poly1305 tag 16 B)\n  / seconds of speech (pauses included),"
          f" in one direction on one path (the link sends every\n  packet on each live path)."
          f" Not included: UDP + IPv4 {UDP_IPV4} B/packet = {UDP_IPV4 * 8 * packets_per_s / 1000:.1f}"
          f" kbit/s\n  (IPv6 {UDP_IPV6} B = {UDP_IPV6 * 8 * packets_per_s / 1000:.1f} kbit/s),"
          f" link-layer framing, receiver reports the other way.")
    print(f"  '*': within the budget of 2 x nominal {DEFAULT_BITRATE // 1000} kbit/s ="
          f" {BUDGET // 1000} kbit/s on the wire (as above).\n  Of that, the link overhead alone"
          f" takes {overhead * 8 * packets_per_s / 1000:.1f} kbit/s.")

    lossless = {config: statistics.mean(run.pesq for run in runs[config, CONDITIONS[0]])
                for config in CONFIGS}
    reference = lossless[DEFAULT]
    header = (f"    {'configuration':<32} {'wire kbit/s':>11} {'(payload)':>9}  {'PESQ-WB':>7}"
              f" {'own 0%':>6} {'ref 0%':>6} {'worst':>5} {'buffer':>6}")
    summary = {}
    for condition in CONDITIONS:
        seen = f"  ({len(SAMPLES)} x {condition.seeds} runs"
        if condition.loss:
            share, burst = loss_seen(runs[CONFIGS[0], condition])
            seen += f"; speech packets lost {share:.1%}, mean burst {burst:.2f}"
        seen += ")"
        print(f"\n  {condition.label}{seen}")
        print(header)
        for config in CONFIGS:
            cell = runs[config, condition]
            wire, payload = wire_bitrate(cell, overhead)
            score = statistics.mean(run.pesq for run in cell)
            within = wire <= BUDGET
            summary[config, condition] = (score, wire, within)
            note = f"  {config.note}" if config.note else ""
            print(f"    {config.label:<30} {'*' if within else ' '} {wire / 1000:11.1f}"
                  f" {payload / 1000:9.1f}  {score:7.2f} {score / lossless[config]:6.0%}"
                  f" {score / reference:6.0%} {min(run.pesq for run in cell):5.2f}"
                  f" {statistics.mean(run.buffer_ms for run in cell):4.0f}ms{note}")
    print(f"\n  own 0%: share of the same configuration's lossless score; ref 0%: share of the"
          f" shipped\n  default's lossless score ({reference:.2f}); worst: the worst single run;"
          f" buffer: the jitter buffer's\n  mean wait over the call; it holds a frame for each"
          f" recovery step it expects to use, so\n  FEC and redundancy cost delay as well as bits.")
    cold = statistics.mean(run.pesq for run in runs["cold"])
    print(f"  10 % random loss, speech from the very first frame (no lead-in), shipped default:"
          f" {cold:.2f} ({cold / reference:.0%})")

    print(f"\nTargets from issue 14 (reported, not pass/fail), against the shipped default's"
          f" lossless {reference:.2f}")
    for condition, target in ((CONDITIONS[2], 0.90), (CONDITIONS[3], 0.80)):
        fits = [(summary[c, condition][0], c) for c in CONFIGS if summary[c, condition][2]]
        best_score, best = max(fits, key=lambda fit: fit[0])
        verdict = "met" if best_score >= target * reference else "not met"
        print(f"  {condition.label}, <= {BUDGET // 1000} kbit/s on the wire: PESQ-WB >= {target:.0%}"
              f" of reference -> {verdict}: best is\n    {best.label}, {best_score:.2f}"
              f" ({best_score / reference:.0%}; {best_score / lossless[best]:.0%} of its own"
              f" lossless {lossless[best]:.2f}) at {summary[best, condition][1] / 1000:.1f} kbit/s")
    burst = CONDITIONS[4]
    fits = [(summary[c, burst][0], c) for c in CONFIGS if summary[c, burst][2]]
    best_score, best = max(fits, key=lambda fit: fit[0])
    default_score = summary[DEFAULT, burst][0]
    print(f"  {burst.label}: reported above; shipped default {default_score:.2f}"
          f" ({default_score / reference:.0%}),\n    best within budget {best.label},"
          f" {best_score:.2f} ({best_score / reference:.0%})")
    print(f"\nbenchmark took {time.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    main()
