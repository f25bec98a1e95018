"""The simulated pair's scenario and its summary.

Both units run the daemon's own Unit on real loopback UDP sockets; only the
keys and configs are made here. The summary is one JSON object whose keys
later layers add to (handshake, echo, ...).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import tempfile
from pathlib import Path

from terminal import config as config_mod
from terminal.daemon.unit import Unit
from terminal.errors import HotlineError
from terminal.keys import load_keys
from terminal.link.constants import CHANNEL_VOICE
from terminal.link.events import HandshakeCompleted, PeerReachable
from terminal.voice.packet import TYPE_VOICE
from terminal.link.noise import public_bytes
from terminal.link.session import LinkSession
from terminal.control.client import ControlClient
from terminal.audio.wavfile import FileHandset
from terminal.netsim.impairment import Impairment
from terminal.netsim.relay import UdpImpairmentRelay
from terminal.journal import load as load_journal
from terminal.journal.audit import ExpectedKey, audit
from terminal.journal.store import JOURNAL_FILE
from terminal.hardware.profile import load_profile
from terminal.selftest.post import run_post
from terminal.selftest.sim import sim_selftest
from terminal.hardware.mockboard import wire_relay_feedback
from terminal.sim.call import place_call, unanswered_call, voice_summary
from terminal.sim.provision import provision_pair
from terminal.sim.speech import SAMPLES, padded_speech, speech_match
from terminal.text import events as text_events
from terminal.text.tally import TextTally

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from gpiozero.pins.mock import MockFactory

# The simulation shortens the call timers so a default run stays well under 30 s.
SIM_TIMERS = {"call": {"alert_after": 2.0, "ring_timeout": 5.0, "no_answer_tone_for": 0.5,
                       "voice_message_max": 3.0, "realert_every": 10.0, "realert_ring_for": 1.0}}
# Each unit serves its metrics on a port of its own; the run keeps a last scrape of each.
# A desk counts as staffed for 6 s after its PIR saw someone, so B's empty room by the second
# call (nobody moved there since before the first) shows within one run.
# Above this much loss the speech scores are reported, not judged: what survives 30 % loss each
# way depends on which frames the seed drops (measured 0.28-0.99), and every stage must still
# complete (issue 13).
SPEECH_JUDGED_UP_TO_LOSS = 10.0
SIM_METRICS = {"metrics": {"listen": "127.0.0.1:0"}, "presence": {"staffed_window": 6.0}}


class SimFailure(HotlineError):
    """The simulated pair did not do what a healthy pair does."""


def load_unit(config_path: Path, **options) -> Unit:
    cfg = config_mod.load(config_path)
    return Unit(cfg, load_keys(cfg.unit.key_dir), **options)


def relay_wired_pins() -> MockFactory:
    """Mock pins whose ringer relay drives its feedback contact, as the board's relay does."""
    pins = MockFactory()
    wire_relay_feedback(pins, load_profile("pi4"))
    return pins


def file_handsets(unit_dir: Path, mouths: list[Path | None]):
    """A handset factory for a simulated unit: off-hook period N reads mouths[N] (the last one
    for later periods) and writes what the earpiece played to heard-N.wav."""
    count = 0

    def factory():
        nonlocal count
        count += 1
        return FileHandset(mouths[min(count, len(mouths)) - 1], unit_dir / f"heard-{count}.wav")
    return factory


def talking_units(out_dir: Path, sims, lead_in: float) -> tuple[Unit, Unit]:
    """The pair's Units with relay-wired mock pins and file handsets: each speaks its sample
    after `lead_in` seconds of an off-hook period (for benchmarks and tests that need a call)."""
    units = []
    for sim in sims:
        mouth = padded_speech(SAMPLES / f"speech_{sim.name.lower()}.wav", out_dir / sim.name / "mouth.wav", lead_in)
        units.append(load_unit(sim.config_path, pin_factory=relay_wired_pins(),
                               handset_factory=file_handsets(out_dir / sim.name, [mouth])))
    return units[0], units[1]


def _hostile_datagrams(target: Unit) -> list[bytes]:
    """What an attacker on the path might send: garbage, a stranger's initiation, forged transport."""
    stranger = LinkSession(
        static=X25519PrivateKey.generate(), peer_static=public_bytes(target.keys.static),
        endpoints=[("127.0.0.1", 9)], pairing_id=target.config.link.pairing_id,
    )
    stranger.start(0.0)
    initiation = stranger.datagrams_to_send(0.0)[0][0]
    return [
        b"",
        os.urandom(64),
        b"\x04\x00\x00\x00" + os.urandom(60),          # transport for keys nobody has
        initiation,                                     # a well-formed initiation from an unpinned key
    ]


@contextlib.contextmanager
def stage(name: str, expected: str):
    """A stage that times out fails in one line: which stage, what was expected."""
    try:
        yield
    except (asyncio.TimeoutError, TimeoutError):
        raise SimFailure(f"{name}: {expected}, and it did not happen in time") from None


async def run_pair(out_dir: Path, *, echoes: int = 20, loss: float = 0.0, delay: float = 0.0,
                   jitter: float = 0.0, answer_after: float = 1.0, talk_for: float = 7.0, seed: int = 1,
                   paths: int = 1, cut_path_at: float | None = None) -> dict:
    if paths < 1 or (cut_path_at is not None and (paths < 2 or not 0 <= cut_path_at < talk_for)):
        raise HotlineError(f"--cut-path-at needs --paths 2 or more and a time within the {talk_for:g} s call")
    relays: list[UdpImpairmentRelay] = []
    endpoints = None
    if loss or delay or jitter or paths > 1:
        impairment = Impairment(delay=delay / 1000, jitter=jitter / 1000, loss=loss / 100)
        for n in range(paths):
            relays.append(await UdpImpairmentRelay.open(impairment, impairment, seed=seed + 1000 * n))
        endpoints = {"A": [r.a_address for r in relays], "B": [r.b_address for r in relays]}
    a_sim, b_sim = provision_pair(out_dir, endpoints=endpoints, extra={**SIM_TIMERS, **SIM_METRICS})
    timers = SIM_TIMERS["call"]
    mouths = {
        # Call 1: A speaks once B has had time to answer; B as soon as it lifts.
        # Call 2: A speaks once the no-answer tone has given way to the voice message.
        "A": [padded_speech(SAMPLES / "speech_a.wav", out_dir / "A" / "mouth-1.wav", answer_after + 0.5),
              padded_speech(SAMPLES / "speech_a.wav", out_dir / "A" / "mouth-2.wav",
                            timers["ring_timeout"] + timers["no_answer_tone_for"] + 0.1)],
        "B": [padded_speech(SAMPLES / "speech_b.wav", out_dir / "B" / "mouth-1.wav", 0.3)],
    }
    a, b = (load_unit(s.config_path, pin_factory=relay_wired_pins(),
                      handset_factory=file_handsets(out_dir / s.name, mouths[s.name])) for s in (a_sim, b_sim))
    posts = {s.name: run_post(s.config_path) for s in (a_sim, b_sim)}
    for name, post in posts.items():
        if not post.go_on_line:
            raise SimFailure(f"unit {name} failed its power-on self-test: {post.reason}")
    up = {name: asyncio.Event() for name in "AB"}
    handshake = {}

    def listener(unit, event):
        # A starts last, so its own initiation measures the handshake (B's waited for A to start).
        if unit is a and isinstance(event, HandshakeCompleted) and event.initiator and "rtt" not in handshake:
            handshake["rtt"] = event.rtt
        if isinstance(event, PeerReachable):
            up[unit.name].set()

    for unit in (a, b):
        unit.listeners.append(lambda event, unit=unit: listener(unit, event))
    try:
        await b.start(b_sim.sock)
        await a.start(a_sim.sock)
        with stage("handshake", "both units reachable to each other within 10 s"):
            await asyncio.wait_for(asyncio.gather(up["A"].wait(), up["B"].wait()), timeout=10)
        arrivals = {unit.name: time_voice(unit) for unit in (a, b)}

        attacker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        attacker.setblocking(False)
        hostile = _hostile_datagrams(b)
        for data in hostile:
            attacker.sendto(data, b_sim.sock.getsockname())
        rtts = await asyncio.gather(*(a.echo_test(f"test message {i}".encode(), timeout=5.0) for i in range(echoes)))
        # Loopback keeps order per socket: B read the hostile datagrams before the echoes it answered.
        attacker.close()
        received = [r for r in rtts if r is not None]
        selftest = {unit.name: await sim_selftest(unit, posts[unit.name], out_dir, hardware=unit.call.hardware)
                    for unit in (a, b)}
        with stage("text", "a message each way delivered and read within 10 s"):
            text = await _exchange_messages(a, b)
        cut = {}
        during = None
        if cut_path_at is not None:
            def cut_now():
                cut["at"] = asyncio.get_running_loop().time()
                relays[0].cut()
            during = (cut_path_at, cut_now)
        call_bytes = sum(r.bytes_relayed for r in relays)
        cut["duplicates"] = a.session.stats["duplicates"] + b.session.stats["duplicates"]
        with stage("presence", "each unit hears the far desk is staffed once someone moves there"):
            presence = await _people_at_both_desks(a, b)
        with stage("call", "A rings B, B answers, both talk, A hangs up"):
            call = await place_call(a, b, answer_after=answer_after, talk_for=talk_for, during=during)
        heard = {"A": out_dir / "A" / "heard-1.wav", "B": out_dir / "B" / "heard-1.wav"}
        call.update(voice_summary({"A": a, "B": b}, heard))
        call["speech_match"] = {
            "A_heard_B": round(speech_match(heard["A"], SAMPLES / "speech_b.wav"), 3),
            "B_heard_A": round(speech_match(heard["B"], SAMPLES / "speech_a.wav"), 3),
        }
        failover = None
        if "at" in cut:
            failover = failover_summary(cut, arrivals, a, b, frame_ms=a.config.voice.frame_ms)
            failover["bytes_on_the_wire"] = sum(r.bytes_relayed for r in relays) - call_bytes
        with stage("missed_call", "B's ring goes unanswered and A leaves a voice message"):
            b_empty = await _far_desk_empty(a)
            missed = await unanswered_call(a, b)
        with stage("witness", "each unit's journal witnessed by its peer within 20 s"):
            await _witnessed(a, b)
        missed["far_desk_staffed"] = a.presence.core.far_view(a.now())["staffed"]
        missed["far_desk_last_motion_s"] = a.presence.core.far_view(a.now())["last_motion_ago"]
        missed["far_desk_empty_before_ring"] = b_empty
        missed["voice_message_match"] = round(speech_match(
            out_dir / "B" / "heard-2.wav", SAMPLES / "speech_a.wav", missed["voice_message_seconds"]), 3)
        drops = {}
        for unit in (a, b):
            for name, n in unit.session.stats.items():
                if name.startswith("dropped_"):
                    drops[name[8:]] = drops.get(name[8:], 0) + n
        summary = {
            "handshake": {"ok": "rtt" in handshake, "ms": round(handshake.get("rtt", 0.0) * 1000, 3),
                          "mode": a.session.mode, "modes_agree": a.session.mode == b.session.mode,
                          "largest_datagram": max(a.session.largest_sent, b.session.largest_sent),
                          "pq_exchanges": a.session.stats["pq_exchanges"] + b.session.stats["pq_exchanges"]},
            "echo": {
                "sent": len(rtts),
                "received": len(received),
                "rejected": a.session.rejected + b.session.rejected,
                "rejected_by_reason": drops,
                "rtt_ms_median": round(sorted(received)[len(received) // 2] * 1000, 3) if received else None,
            },
            "selftest": selftest,
            "text": text,
            "presence": presence,
            "speech_judged": loss <= SPEECH_JUDGED_UP_TO_LOSS,
            "call": call,
            "missed_call": missed,
            "paths": {name: unit.session.path_report(unit.now()) for name, unit in (("A", a), ("B", b))},
            "metrics": {unit.name: str(await scrape_to(unit, out_dir / unit.name / "metrics.prom")) for unit in (a, b)},
            **({"failover": failover} if failover is not None else {}),
            **({"network": {"loss_percent": loss, "delay_ms": delay, "jitter_ms": jitter, "paths": paths,
                            "relay": relays[0].stats, "relays": [r.stats for r in relays]}} if relays else {}),
        }
    finally:
        await a.close()
        await b.close()
        for relay in relays:
            relay.close()
    summary["journal"] = journal_summary(out_dir, {"A": a, "B": b})
    return summary


def _changed(unit: Unit, where: str, staffed: bool) -> asyncio.Event:
    """Set when `unit`'s presence view of `where` ("here"/"far") changes to `staffed`."""
    event = asyncio.Event()
    unit.presence.listeners.append(lambda c: c.where == where and c.staffed == staffed and event.set())
    return event


async def _people_at_both_desks(a: Unit, b: Unit, timeout: float = 8.0) -> dict:
    """Someone walks past each desk's PIR; each unit then shows the far desk as staffed."""
    heard = {unit.name: _changed(unit, "far", True) for unit in (a, b)}
    for unit in (a, b):
        pin = unit.call.hardware.presence.pin
        pin.drive_high()        # the PIR's output pulses while it sees movement
        pin.drive_low()
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in heard.values())), timeout)
    return {unit.name: {"far_staffed": unit.presence.core.far_view(unit.now())["staffed"],
                        "far_last_motion_s": unit.presence.core.far_view(unit.now())["last_motion_ago"]}
            for unit in (a, b)}


async def _far_desk_empty(a: Unit, timeout: float = 10.0) -> bool:
    """Before the second call: A's view of B's desk goes to nobody seen once B's window runs out."""
    far = a.presence.core.far
    if far is not None and far.staffed is False:
        return True
    await asyncio.wait_for(_changed(a, "far", False).wait(), timeout)
    return True


async def _witnessed(a: Unit, b: Unit, timeout: float = 20.0) -> None:
    """Each unit's peer has taken at least one of its checkpoints (over a lossy network the
    records channel may still be retrying when the calls are over)."""
    waits = []
    for unit in (a, b):
        done = asyncio.Event()
        unit.records.on_witnessed.append(done.set)
        if unit.records.witnessed:
            done.set()
        waits.append(done.wait())
    await asyncio.wait_for(asyncio.gather(*waits), timeout)


async def scrape_to(unit: Unit, path: Path) -> Path:
    """What the watch floor's Prometheus would read from `unit` now, kept in `path`."""
    import urllib.request

    unit.metrics.refresh()
    url = unit.status()["metrics"]
    path.write_bytes(await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=5).read()))
    return path


def time_voice(unit: Unit) -> list[tuple[float, int]]:
    """(arrival time, sequence number) of every voice frame the link delivers to `unit`'s call."""
    arrivals: list[tuple[float, int]] = []
    handler = unit.handlers[CHANNEL_VOICE]

    def timed(payload: bytes, at: float) -> None:
        if len(payload) >= 3 and payload[0] == TYPE_VOICE:
            arrivals.append((at, int.from_bytes(payload[1:3], "big")))
        handler(payload, at)
    unit.handlers[CHANNEL_VOICE] = timed
    return arrivals


def failover_summary(cut: dict, arrivals: dict, a: Unit, b: Unit, *, frame_ms: int, before: float = 1.0,
              after: float = 3.0) -> dict:
    """What the path cut cost: the longest silence beyond one frame and the frames never delivered,
    each way, from `before` s before the cut to `after` s after it; and the copies both links
    counted over the whole call (every frame went on both paths until the cut)."""
    at = cut["at"]
    gaps, lost = [], 0
    for name in ("A", "B"):
        window = [(t, seq) for t, seq in arrivals[name] if at - before <= t <= at + after]
        if len(window) < 2:
            return {"cut_at": round(at, 3), "gap_ms": None, "frames_lost": None,
                    "error": f"{name} received {len(window)} voice frames around the cut"}
        times = [t for t, _ in window]
        gaps.append(max(b2 - b1 for b1, b2 in zip(times, times[1:])) * 1000 - frame_ms)
        seqs = sorted({seq for _, seq in window})   # 16-bit, but a 4 s window never wraps twice
        span = (seqs[-1] - seqs[0]) % 65536 + 1
        lost += span - len(seqs)
    return {"gap_ms": round(max(0.0, max(gaps)), 1), "frames_lost": lost,
            "duplicates": a.session.stats["duplicates"] + b.session.stats["duplicates"] - cut["duplicates"],
            "window_s": [before, after], "frame_ms": frame_ms}


def journal_summary(out_dir: Path, units: dict[str, Unit]) -> dict:
    """Both journals, each verified against its unit's key with the peer's journal as witness,
    and the auditor's two-unit report."""
    files = {name: out_dir / name / "data" / JOURNAL_FILE for name in units}
    data = {name: load_journal(path) for name, path in files.items()}
    keys = [ExpectedKey.of_identity(unit.keys.identity, name) for name, unit in units.items()]
    out = {}
    for (name, unit), peer, expected in zip(units.items(), reversed(list(units)), keys):
        result = audit(data[name], expected, witness=data[peer])
        verdict = result.verdict
        kinds = [r.kind for r in data[name].records]
        out[name] = {"records": len(data[name].records), "verified": verdict.ok, "verdict": verdict.status,
                     "unsigned": verdict.unsigned_tail, "witnessed_by_peer": verdict.witness.matched,
                     "witness_check": "ok" if verdict.status != "TAMPERED" and verdict.witness.matched else
                     ("none witnessed" if not verdict.witness.matched else "FAILED"),
                     "gaps": len(verdict.gaps), "missed": kinds.count("missed"),
                     "escalations": kinds.count("escalation"),
                     "peer_outcomes": kinds.count("peer_call_outcome"), "path": str(files[name])}
    report = auditors_report(list(files.values()), out_dir / "report.html", keys)
    return {
        "records": sum(v["records"] for v in out.values()),
        "verified": all(v["verified"] and v["witness_check"] == "ok" for v in out.values()),
        "missed": sum(v["missed"] for v in out.values()),
        "escalations": sum(v["escalations"] for v in out.values()),
        "units": out,
        "report": report,
    }


def auditors_report(journals: list[Path], html: Path, keys: list[bytes]) -> str:
    """The auditor's two-unit report, where the technician's tool is installed beside the unit's
    (a developer's checkout); a unit carries no matplotlib, and its summary says so."""
    try:
        from host.report import build_report
    except ImportError as exc:
        return f"not written: the auditor's report is hotline-host's ({exc})"
    build_report(journals, html, public_keys=keys, title="Simulated pair A-B")
    return str(html)


async def _exchange_messages(a: Unit, b: Unit, timeout: float = 10.0) -> dict:
    """A FLASH message each way through each unit's control socket; each reader acknowledges it."""
    tally = TextTally()
    received = {"A": asyncio.Queue(), "B": asyncio.Queue()}
    read = {"A": asyncio.Queue(), "B": asyncio.Queue()}

    def listener(name, event):
        tally.record(event)
        if isinstance(event, text_events.MessageReceived):
            received[name].put_nowait(event)
        elif isinstance(event, text_events.MessageRead):
            read[name].put_nowait(event)

    for unit in (a, b):
        unit.text.listeners.append(lambda event, name=unit.name: listener(name, event))
    clients = {unit.name: ControlClient(unit.config.control.socket) for unit in (a, b)}
    try:
        for name, peer, words in (("A", "B", "FLASH test from A: please acknowledge."),
                                  ("B", "A", "Routine test from B.")):
            precedence = "flash" if name == "A" else "routine"
            sent = await clients[name].call("msg.send", text=words, precedence=precedence)
            got = await asyncio.wait_for(received[peer].get(), timeout)
            if got.id != sent["id"] or got.text != words:
                raise SimFailure(f"unit {peer} showed {got.text!r} ({got.id}), not what {name} sent ({sent['id']})")
            await clients[peer].call("msg.ack", id=got.id)
            await asyncio.wait_for(read[name].get(), timeout)
    finally:
        for client in clients.values():
            await client.close()
    return tally.summary()


def run(out_dir: str | None = None, **options) -> dict:
    """Run the pair in `out_dir` (default: a fresh directory under sim-out/ that is kept,
    so the WAVs of what each handset heard can be listened to)."""
    if out_dir is None:
        Path("sim-out").mkdir(exist_ok=True)
        out_dir = tempfile.mkdtemp(prefix="run-", dir="sim-out")
    else:
        used = [name for name in ("A", "B") if (Path(out_dir) / name).exists()]
        if used:     # new keys over an old journal would fail the power-on check; never delete for the user
            raise HotlineError(f"{out_dir}: already holds a simulated unit ({', '.join(used)}/); "
                               "give --out an empty or new directory")
    return asyncio.run(run_pair(Path(out_dir).resolve(), **options))
