"""A call over two impairment relays with one cut mid-call: the audio gap, the frames lost, and
what sending every packet on both paths costs in bandwidth.

    .venv/bin/python tests/bench/bench_failover.py [--delay MS] [--talk S] [--cut-at S]

Both sides run in the same run with the same settings: the same pair of daemons' Units (real
UDP on loopback, real Opus at the configured bitrate, file handsets), first a call over one
relay (the baseline: what one path carries), then a call over two relays with the first cut
`--cut-at` seconds into the talk. Measured: arrival time and sequence number of every voice
frame the link delivered to each unit's call (after the link dropped the copies), the bytes
each relay carried during the call, and the copies each link counted. The gap is the longest
silence between two delivered frames around the cut, less one frame interval.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from terminal.netsim.impairment import Impairment
from terminal.netsim.relay import UdpImpairmentRelay
from terminal.sim.call import bring_up, place_call
from terminal.sim.provision import provision_pair
from terminal.sim.run import SIM_TIMERS, failover_summary, talking_units, time_voice


async def one_call(out: Path, paths: int, delay_ms: float, talk: float, cut_at: float | None) -> dict:
    impairment = Impairment(delay=delay_ms / 1000)
    relays = [await UdpImpairmentRelay.open(impairment, impairment, seed=n) for n in range(paths)]
    a_sim, b_sim = provision_pair(out, endpoints={"A": [r.a_address for r in relays],
                                                  "B": [r.b_address for r in relays]}, extra=SIM_TIMERS)
    a, b = talking_units(out, (a_sim, b_sim), lead_in=0.3)
    try:
        await bring_up(a, b, (a_sim.sock, b_sim.sock))
        await asyncio.sleep(2.5)        # both paths probed and live before the call (a paced wait: the probes run at 1 s)
        arrivals = {u.name: time_voice(u) for u in (a, b)}
        cut: dict = {"duplicates": a.session.stats["duplicates"] + b.session.stats["duplicates"]}
        before = [r.bytes_relayed for r in relays]

        def cut_now():
            cut["at"] = asyncio.get_running_loop().time()
            relays[0].cut()
        await place_call(a, b, answer_after=0.5, talk_for=talk,
                         during=(cut_at, cut_now) if cut_at is not None else None)
        carried = sum(r.bytes_relayed for r in relays) - sum(before)
        frames = a.call.last_voice_stats.get("frames_sent", 0) + b.call.last_voice_stats.get("frames_sent", 0)
        result = {"bytes": carried, "frames_sent": frames, "bitrate": a.config.voice.bitrate,
                  "frame_ms": a.config.voice.frame_ms}
        if "at" in cut:
            result.update(failover_summary(cut, arrivals, a, b, frame_ms=a.config.voice.frame_ms))
        return result
    finally:
        await a.close()
        await b.close()
        for r in relays:
            r.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--delay", type=float, default=20.0, help="one-way delay on each relay, ms (default 20)")
    p.add_argument("--talk", type=float, default=6.0, help="seconds of talk per call (default 6)")
    p.add_argument("--cut-at", type=float, default=3.0, help="seconds into the talk the first path is cut")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = asyncio.run(one_call(Path(tmp) / "one", 1, args.delay, args.talk, None))
        two = asyncio.run(one_call(Path(tmp) / "two", 2, args.delay, args.talk, args.cut_at))
    print(f"settings: Opus {base['bitrate'] // 1000} kbit/s, {base['frame_ms']} ms frames, file handsets "
          f"(speech samples in; each earpiece plays out to a WAV), {args.delay:g} ms one-way per relay, no loss, "
          f"{args.talk:g} s of talk per call; "
          f"two-path call: first relay cut {args.cut_at:g} s into the talk")
    print(f"measured: audio gap at the cut {two['gap_ms']} ms beyond one frame (target 0, at most "
          f"{two['frame_ms']}); frames never delivered around the cut: {two['frames_lost']} "
          f"(window {two['window_s'][0]:g} s before to {two['window_s'][1]:g} s after)")
    print(f"measured: copies dropped by the links as duplicates during the two-path call: {two['duplicates']}")
    per_frame = {name: r["bytes"] / max(1, r["frames_sent"]) for name, r in (("one", base), ("two", two))}
    print(f"measured: bytes on the wire per voice frame sent (both ways, all relays, incl. probes and "
          f"control): one path {per_frame['one']:.0f} B ({per_frame['one'] * 8 * 1000 / base['frame_ms'] / 1000:.1f} "
          f"kbit/s on the wire), two paths {per_frame['two']:.0f} B "
          f"({per_frame['two'] / per_frame['one']:.2f}x; the cut path carried nothing after "
          f"{args.cut_at:g} of {args.talk:g} s, so inferred for two paths throughout: about 2x)")


if __name__ == "__main__":
    main()
