"""A simulated call between two running units: A lifts, B's ringer follows its
cadence, B answers after a moment, they talk, A hangs up.

The hook switches are gpiozero MockFactory pins driven as a person would;
everything else is the daemon's own code.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from terminal.call import actions as act
from terminal.daemon.calling import VoiceMessagePlayed
from terminal.daemon.records import VoiceMessage
from terminal.daemon.unit import Unit
from terminal.link.events import PeerReachable


class CallWatcher:
    """Collects one unit's call actions and events with their times."""

    def __init__(self, unit: Unit):
        self.unit = unit
        self.seen: list[tuple[object, float]] = []
        self._changed = asyncio.Event()
        unit.call.listeners.append(self._on_output)

    def _on_output(self, out, now):
        self.seen.append((out, now))
        self._changed.set()

    def first(self, kind, after: float = float("-inf")):
        return next(((o, t) for o, t in self.seen if isinstance(o, kind) and t >= after), None)

    async def wait_for(self, kind, timeout: float, after: float = float("-inf")):
        while (found := self.first(kind, after)) is None:
            self._changed.clear()
            await asyncio.wait_for(self._changed.wait(), timeout)
        return found


async def bring_up(a: Unit, b: Unit, socks=(None, None), *, control: bool = False, timeout: float = 10.0) -> None:
    """Start B, then A, and wait until A hears B (the link is up)."""
    up = asyncio.Event()
    a.listeners.append(lambda event: isinstance(event, PeerReachable) and up.set())
    await b.start(socks[1], control=control)
    await a.start(socks[0], control=control)
    await asyncio.wait_for(up.wait(), timeout)


async def connect_call(a: Unit, b: Unit, timeout: float = 5.0) -> tuple["CallWatcher", "CallWatcher"]:
    """A lifts, B's ringer starts, B lifts, voice flows both ways; the two watchers."""
    wa, wb = CallWatcher(a), CallWatcher(b)
    lift(a)
    await wb.wait_for(act.StartRinger, timeout)
    lift(b)
    await wa.wait_for(act.StartVoice, timeout)
    await wb.wait_for(act.StartVoice, timeout)
    return wa, wb


async def hang_up(a: Unit, b: Unit, wb: "CallWatcher", timeout: float = 5.0):
    """A hangs up, B sees the call end, B replaces its handset; B's CallEnded and its time."""
    replace(a)
    ended = await wb.wait_for(act.CallEnded, timeout)
    replace(b)
    return ended


def hook_pin(unit: Unit):
    return unit.pin_factory.pin(unit.call.hardware.profile.hook.pin)


def lift(unit: Unit):
    """The hook contact closes to ground when the handset is lifted."""
    hook_pin(unit).drive_low()


def replace(unit: Unit):
    hook_pin(unit).drive_high()


async def place_call(a: Unit, b: Unit, *, answer_after: float, talk_for: float, timeout: float = 10.0,
                     during=None) -> dict:
    """A rings B, B answers after `answer_after`, they talk for `talk_for`, A hangs up.
    `during`: (seconds into the talk, fn) to do something to the network mid-call."""
    loop = asyncio.get_running_loop()
    wa, wb = CallWatcher(a), CallWatcher(b)
    start = loop.time()
    lift(a)
    (_, lifted_at) = await wa.wait_for(act.CallStarted, timeout, after=start)
    (_, ringing_at) = await wb.wait_for(act.StartRinger, timeout, after=start)
    await asyncio.sleep(answer_after)      # the person at B takes a moment to pick up
    lift(b)
    await wa.wait_for(act.CallAnswered, timeout, after=start)
    await wb.wait_for(act.StartVoice, timeout, after=start)
    if during is not None:
        loop.call_later(during[0], during[1])
    await asyncio.sleep(talk_for)          # they talk
    replace(a)
    (ended_a, _) = await wa.wait_for(act.CallEnded, timeout, after=start)
    (ended_b, _) = await wb.wait_for(act.CallEnded, timeout, after=start)
    replace(b)
    answered = wa.first(act.CallAnswered, after=start)
    return {
        "ringdown_ms": round((ringing_at - lifted_at) * 1000, 2),
        "debounce_ms": round((lifted_at - start) * 1000, 2),
        "answered": answered is not None,
        "time_to_answer_ms": round(answered[0].time_to_answer * 1000) if answered else None,
        "duration_ms": round(ended_a.duration * 1000),
        "who_hung_up": {"A": ended_a.who_hung_up, "B": ended_b.who_hung_up},
        "ringer_cadence_s": list(wb.first(act.StartRinger, after=start)[0].pattern.segments),
    }


async def unanswered_call(a: Unit, b: Unit, *, timeout: float = 20.0) -> dict:
    """A lifts; nobody answers at B. Escalation runs its course, A leaves a voice message,
    then the person at B comes back, lifts, hears it, and replaces the handset."""
    loop = asyncio.get_running_loop()
    wa, wb = CallWatcher(a), CallWatcher(b)
    start = loop.time()
    lift(a)
    await wb.wait_for(act.StartRinger, timeout, after=start)
    (_, alert_at) = await wb.wait_for(act.SecondaryAlert, timeout, after=start)
    (missed, _) = await wa.wait_for(act.CallMissed, timeout, after=start)
    await wa.wait_for(act.StartRecording, timeout, after=start)
    await wa.wait_for(act.StopRecording, timeout, after=start)     # the recording limit
    replace(a)
    await wb.wait_for(VoiceMessage, timeout, after=start)
    led_lit = b.call.hardware.leds["message"].is_active
    lift(b)                                                         # back at the desk
    await wb.wait_for(VoiceMessagePlayed, timeout, after=start)
    replace(b)
    steps = {w.unit.name: [o.step for o, t in w.seen if isinstance(o, act.EscalationStep) and t >= start]
             for w in (wa, wb)}
    message = wb.first(VoiceMessage, after=start)[0]
    return {
        "missed": True,
        "rang_for_ms": round(missed.rang_for * 1000),
        "secondary_alert_after_ms": round((alert_at - start) * 1000),
        "escalation_steps": steps,
        "message_led_lit": led_lit,
        "voice_message_seconds": len(message.frames) * message.frame_ms / 1000,
        "voice_message_played": True,
    }


def voice_summary(units: dict[str, Unit], heard: dict[str, Path]) -> dict:
    stats = {name: unit.call.last_voice_stats for name, unit in units.items()}

    def total(key):
        return sum(s.get(key, 0) for s in stats.values())
    return {
        "frames_sent": total("frames_sent"),
        "frames_received": total("frames_received"),
        "frames_concealed": total("frames_concealed"),
        "frames_fec_recovered": total("frames_fec_recovered"),
        "frames_redundancy_recovered": total("frames_redundancy_recovered"),
        "jitter_buffer_ms": round(max(s.get("mean_delay_ms", 0.0) for s in stats.values()), 1),
        "wav": {name: str(path) for name, path in heard.items()},
    }
