"""CPU per call-minute of our pair against baresip's (numbers, not pass/fail; about 45 s).

Both of our units run the daemon's own code in this process (link, call loop,
Opus with FEC and adaptive redundancy, jitter buffer, journal, text), talking
looped speech over loopback UDP; CPU is this process's user+system time over
the connected stretch. baresip is two processes measured the same way
(tests/bench/bench_baresip.py), in the same run, over SRTP. Both sides use the
same encoder settings (bench_baresip.SETTINGS, checked against our encoder at
run time), both decode what they receive and write it to a WAV (ours: the
simulated handset's earpiece; baresip: its sndfile module), and the run fails
unless each WAV holds the measured stretch.

    .venv/bin/python tests/bench/bench_cpu.py [seconds=20]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gpiozero.pins.mock import MockFactory  # noqa: E402

from terminal.sim.call import bring_up, connect_call, hang_up  # noqa: E402
from terminal.sim.provision import provision_pair  # noqa: E402
from terminal.sim.run import SIM_TIMERS, file_handsets, load_unit  # noqa: E402
from tests.bench.bench_baresip import SETTINGS, _long_speech, measure_baresip_call, settings_line  # noqa: E402
from terminal.audio.wavfile import open_pcm_wav  # noqa: E402


async def our_call(seconds: float) -> float:
    """CPU seconds of our pair per minute of connected call."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        speech = tmp / "speech.wav"
        _long_speech(speech, seconds + 10)
        a_sim, b_sim = provision_pair(tmp, extra=SIM_TIMERS)
        a, b = (load_unit(s.config_path, pin_factory=MockFactory(),
                          handset_factory=file_handsets(tmp / s.name, [speech])) for s in (a_sim, b_sim))
        try:
            await bring_up(a, b, (a_sim.sock, b_sim.sock))
            wa, wb = await connect_call(a, b)
            await asyncio.sleep(1.0)                    # past call set-up
            cpu0, wall0 = time.process_time(), time.monotonic()
            await asyncio.sleep(seconds)
            cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
            frames = a.call.voice.stats["frames_received"] + b.call.voice.stats["frames_received"]
            wire = a.call.voice.sender.counts["bytes_sent"] / max(1, a.call.voice.sender.counts["frames_sent"])
            _check_settings(a.call.voice.sender)
            await hang_up(a, b, wb)
        finally:
            await a.close()
            await b.close()
        for name in ("A", "B"):
            with open_pcm_wav(tmp / name / "heard-1.wav") as wav:
                heard = wav.getnframes() / wav.getframerate()
            if heard < wall:
                raise RuntimeError(f"unit {name} wrote {heard:.1f} s of earpiece audio, less than the {wall:.1f} s measured")
    print(f"  ours: {wall:.1f} s connected, {cpu:.3f} CPU s, {frames} frames received by the pair, "
          f"{wire:.0f} B of voice payload per frame (link overhead 34 B more)")
    return cpu * 60 / wall


def _check_settings(sender) -> None:
    """Our encoder runs the settings printed for both sides."""
    encoder = sender.encoder
    mine = {"complexity": encoder.complexity, "in-band FEC": "on" if encoder.fec else "off",
            "application": encoder.application}
    wanted = {k: SETTINGS[k] for k in mine}
    if mine != wanted:
        raise RuntimeError(f"our encoder runs {mine}, not the compared settings {wanted}")


def main(argv):
    seconds = float(argv[1]) if len(argv) > 1 else 20.0
    print(f"CPU per call-minute, pair on loopback (this machine); both sides: {settings_line()}")
    ours = asyncio.run(our_call(seconds))
    theirs = measure_baresip_call(seconds).pair_per_call_minute
    print(f"  ours:    {ours:6.3f} CPU s per call-minute for the pair, {ours / 2:6.3f} per unit "
          f"({ours / 2 / 60 * 100:.2f} % of one core)")
    print(f"  baresip: {theirs:6.3f} CPU s per call-minute for the pair, {theirs / 2:6.3f} per unit "
          f"({theirs / 2 / 60 * 100:.2f} % of one core)")
    print(f"  ratio ours / baresip: {ours / theirs:.2f}  (target <= 0.75, and <= 2 % of one core per unit)")


if __name__ == "__main__":
    main(sys.argv)
