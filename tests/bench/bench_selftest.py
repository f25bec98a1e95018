"""How long the self-tests take: each power-on check, and a scheduled run on mocks, files and loopback UDP.

Run: .venv/bin/python tests/bench/bench_selftest.py
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from gpiozero.pins.mock import MockFactory

from terminal.hardware.profile import load_profile
from terminal.link.events import PeerReachable
from terminal.selftest.codec_check import check_codec
from terminal.selftest.kat import KATS, known_answer_test
from terminal.selftest.post import run_post
from terminal.selftest.sim import sim_selftest
from terminal.hardware.mockboard import wire_relay_feedback
from terminal.sim.provision import provision_pair
from terminal.sim.run import load_unit

REPEATS = 50


def wired_pins() -> MockFactory:
    pins = MockFactory()
    wire_relay_feedback(pins, load_profile("pi4"))
    return pins


def timed_ms(fn, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


async def scheduled_runs(root: Path, runs: int) -> tuple[float, float]:
    a_sim, b_sim = provision_pair(root)
    a, b = (load_unit(sim.config_path, pin_factory=wired_pins()) for sim in (a_sim, b_sim))
    post = run_post(a_sim.config_path)
    up = asyncio.Event()
    a.listeners.append(lambda e: isinstance(e, PeerReachable) and up.set())
    await b.start(b_sim.sock, control=False)
    await a.start(a_sim.sock, control=False)
    await asyncio.wait_for(up.wait(), 5)
    times, rtts = [], []
    try:
        for _ in range(runs):
            start = time.perf_counter()
            entries = await sim_selftest(a, post, root, hardware=a.call.hardware)
            times.append((time.perf_counter() - start) * 1000)
            assert all(e["passed"] for e in entries.values()), entries
            rtts.append(entries["link_primary"]["data"]["rtt_ms"])
    finally:
        await a.close()
        await b.close()
    return statistics.median(times), statistics.median(rtts)


def main() -> None:
    for primitive in KATS:
        print(f"kat_{primitive:<18} {timed_ms(lambda: known_answer_test(primitive)):8.3f} ms (median of {REPEATS})")
    print(f"{'opus_codec':<22} {timed_ms(check_codec):8.3f} ms")
    with tempfile.TemporaryDirectory() as tmp:
        a, b = provision_pair(Path(tmp))
        a.sock.close()
        b.sock.close()
        print(f"{'whole power-on test':<22} {timed_ms(lambda: run_post(a.config_path), 20):8.3f} ms (median of 20)")
    with tempfile.TemporaryDirectory() as tmp:
        run_ms, rtt_ms = asyncio.run(scheduled_runs(Path(tmp), 20))
    print(f"{'scheduled run':<22} {run_ms:8.3f} ms (median of 20; POST journalled + relay and hook on "
          "mock pins + audio via WAV files + disk + clock + link on loopback)")
    print(f"{'link RTT on loopback':<22} {rtt_ms:8.3f} ms (median)")


if __name__ == "__main__":
    main()
