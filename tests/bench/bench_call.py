"""Call benchmarks (numbers, not pass/fail; about 40 s):

- processing cost per 20 ms frame each way, encryption included:
  capture -> encode -> encrypt, and decrypt -> jitter buffer -> decode;
- ringdown latency (A's confirmed off-hook to B's ringer relay on) at 0, 50 and
  150 ms one-way delay through the impairment relay;
- how fast a dead peer is noticed during a call (A's call ended by the link).

    .venv/bin/python tests/bench/bench_call.py
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey  # noqa: E402
from gpiozero.pins.mock import MockFactory  # noqa: E402

from terminal.call import actions as act  # noqa: E402
from terminal.link.constants import CHANNEL_VOICE  # noqa: E402
from terminal.link.events import DataReceived  # noqa: E402
from terminal.link.noise import public_bytes  # noqa: E402
from terminal.link.session import LinkSession  # noqa: E402
from terminal.netsim.impairment import Impairment  # noqa: E402
from terminal.netsim.relay import UdpImpairmentRelay  # noqa: E402
from terminal.sim.call import CallWatcher, bring_up, connect_call, lift, replace  # noqa: E402
from terminal.sim.provision import provision_pair  # noqa: E402
from terminal.sim.run import SIM_TIMERS, file_handsets, load_unit  # noqa: E402
from terminal.sim.speech import SAMPLES, read_wav  # noqa: E402
from terminal.voice.stream import VoiceSession  # noqa: E402

FRAME = 960
A, B = ("192.0.2.1", 1), ("192.0.2.2", 1)


def frame_cost(frames: int = 1500):
    ka, kb = X25519PrivateKey.generate(), X25519PrivateKey.generate()
    a = LinkSession(static=ka, peer_static=public_bytes(kb), endpoints=[B], pairing_id="bench")
    b = LinkSession(static=kb, peer_static=public_bytes(ka), endpoints=[A], pairing_id="bench")
    a.start(0.0)
    for _ in range(3):
        for src, dst, addr in ((a, b, A), (b, a, B)):
            for data, _ in src.datagrams_to_send(0.0):
                dst.receive_datagram(data, addr, 0.0)
    speech = read_wav(SAMPLES / "speech_a.wav").astype("<i2")
    pcm = [speech[i * FRAME:(i + 1) * FRAME].tobytes() for i in range(len(speech) // FRAME)]
    tx, rx = VoiceSession(), VoiceSession()
    send_t, recv_t = [], []
    for i in range(frames):
        now = 1.0 + i * 0.02
        t0 = time.perf_counter()
        a.send(CHANNEL_VOICE, tx.encode(pcm[i % len(pcm)]), now)
        (packet, _), = a.datagrams_to_send(now)
        t1 = time.perf_counter()
        b.receive_datagram(packet, A, now)
        while not isinstance(event := b.next_event(), DataReceived):   # skip the handshake's events
            assert event is not None
        rx.on_payload(event.payload, now)
        rx.pull(now)
        t2 = time.perf_counter()
        send_t.append(t1 - t0)
        recv_t.append(t2 - t1)
    return statistics.median(send_t), statistics.median(recv_t)


async def _pair(tmp: Path, delay_ms: float):
    relay = None
    endpoints = None
    if delay_ms:
        imp = Impairment(delay=delay_ms / 1000)
        relay = await UdpImpairmentRelay.open(imp, imp, seed=1)
        endpoints = {"A": relay.a_address, "B": relay.b_address}
    a_sim, b_sim = provision_pair(tmp, endpoints=endpoints, extra=SIM_TIMERS)
    a, b = (load_unit(s.config_path, pin_factory=MockFactory(), handset_factory=file_handsets(tmp / s.name, [None]))
            for s in (a_sim, b_sim))
    await bring_up(a, b, (a_sim.sock, b_sim.sock))
    return a, b, relay


async def _close(a, b, relay):
    await a.close()
    await b.close()
    if relay is not None:
        relay.close()


async def ringdown(delay_ms: float, trials: int = 5) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        a, b, relay = await _pair(Path(tmp), delay_ms)
        out = []
        try:
            for _ in range(trials):
                wa, wb = CallWatcher(a), CallWatcher(b)
                start = a.loop.time()
                lift(a)
                (_, lifted) = await wa.wait_for(act.CallStarted, 5, after=start)
                (_, ringing) = await wb.wait_for(act.StartRinger, 5, after=start)
                out.append((ringing - lifted) * 1000)
                replace(a)
                await wb.wait_for(act.StopRinger, 5, after=ringing)
                await asyncio.sleep(0.3)           # let both sides settle to idle between trials
        finally:
            await _close(a, b, relay)
        return out


async def dead_peer(trials: int = 3) -> list[float]:
    out = []
    for _ in range(trials):
        with tempfile.TemporaryDirectory() as tmp:
            a, b, relay = await _pair(Path(tmp), 0)
            try:
                wa, wb = await connect_call(a, b)
                await asyncio.sleep(0.5)
                died = a.loop.time()
                b.endpoint.close()
                b.endpoint = None
                (_, ended) = await wa.wait_for(act.CallEnded, 10, after=died)
                out.append((ended - died) * 1000)
            finally:
                replace(a)
                replace(b)
                await _close(a, b, relay)
    return out


def main():
    send, recv = frame_cost()
    print("call benchmark (this machine; medians)")
    print(f"  per 20 ms frame, capture->encode->encrypt:    {send * 1e6:7.1f} us  ({send / 0.02 * 100:.2f} % of the frame)")
    print(f"  per 20 ms frame, decrypt->jitter->decode:     {recv * 1e6:7.1f} us  ({recv / 0.02 * 100:.2f} % of the frame)")
    for delay in (0, 50, 150):
        times = asyncio.run(ringdown(delay))
        print(f"  ringdown at {delay:3d} ms one-way delay:           median {statistics.median(times):7.1f} ms, "
              f"max {max(times):7.1f} ms  (target <= {delay + 10} ms; n={len(times)})")
    times = asyncio.run(dead_peer())
    print(f"  dead peer noticed during a call:            median {statistics.median(times):7.1f} ms, "
          f"max {max(times):7.1f} ms  (target <= 2000 ms; n={len(times)})")


if __name__ == "__main__":
    main()
