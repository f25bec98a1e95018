"""The ringdown call state machine, sans-I/O: events and `now` in, actions and outcome events out.

    IDLE --lift, peer reachable--> CALLING --RINGING--> RINGBACK --ANSWER--> CONNECTED
    IDLE --lift, unreachable--> WAITING (unreachable tone, fault) --peer reachable--> CALLING
    IDLE --RING--> RINGING --lift--> CONNECTED --replace--> IDLE
    RINGBACK --T2--> NO_ANSWER (no-answer tone) --> RECORDING (voice message) --> CLEARED
    CONNECTED --peer HANGUP--> CLEARED (busy tone) --replace--> IDLE

A RING arriving while this handset is already up (glare, a callback) connects
at once. Each entry point returns the outputs in order (terminal.call.actions).
The owner calls `handle_timer(now)` at `get_timer()`.
"""

from __future__ import annotations

import enum
import secrets
from collections import deque
from typing import Callable

from terminal.call.actions import (
    CallAnswered, CallEnded, CallFailed, CallMissed, CallStarted, EscalationStep, Output, PeerRinging,
    PlayTone, SecondaryAlert, SendControl, SetIndicator, StartRecording, StartRinger, StartVoice, StopRecording,
    StopRinger, StopVoice,
)
from terminal.call.escalation import MissedCall
from terminal.call.messages import ControlMessage, Kind, MalformedControl, Reason
from terminal.call.outbox import Outbox
from terminal.call.settings import CallSettings
from terminal.call.tones import SPECIAL_INFORMATION, country_tones

_REMEMBERED = 256      # processed (call_id, kind) pairs kept to recognise duplicates


class State(enum.Enum):
    IDLE = "idle"
    WAITING = "waiting"          # off-hook, peer unreachable: keep trying
    CALLING = "calling"          # RING sent, peer has not confirmed ringing
    RINGBACK = "ringback"        # the peer's ringer is on
    RINGING = "ringing"          # our ringer is on
    CONNECTED = "connected"
    NO_ANSWER = "no_answer"      # ring gave up; no-answer tone before the voice message
    RECORDING = "recording"      # recording a voice message for the peer
    CLEARED = "cleared"          # off-hook after the call ended; busy tone


_OFF_HOOK_UNCONNECTED = {State.WAITING, State.CALLING, State.RINGBACK, State.NO_ANSWER, State.RECORDING,
                         State.CLEARED}


class CallMachine:
    def __init__(self, settings: CallSettings | None = None, *, reachable: bool = False,
                 new_call_id: Callable[[], int] | None = None):
        self.settings = settings or CallSettings()
        self.tones = country_tones(self.settings.country)
        self._new_call_id = new_call_id or (lambda: secrets.randbits(64))
        self.state = State.IDLE
        self.reachable = reachable
        self.call_id: int | None = None
        self._call_ids: set[int] = set()
        self._ended: deque[int] = deque(maxlen=_REMEMBERED)
        self._seen: dict[tuple[int, Kind], None] = {}
        self._since = 0.0                 # off-hook, RING sent or ring started (per state)
        self._ring_started: float | None = None
        self._connected_at = 0.0
        self._alert_on = False
        self._timers: dict[str, float] = {}
        s = self.settings
        self.outbox = Outbox(s.retransmit_initial, s.retransmit_max, s.retransmit_give_up)
        self.missed = MissedCall(s, self.tones.ring)
        self.dropped = {"malformed": 0, "duplicate": 0, "stale": 0}

    # --- entry points ----------------------------------------------------------

    def hook_lifted(self, now: float) -> list[Output]:
        out: list[Output] = []
        if self.missed.shown and self.settings.lift_acknowledges_missed:
            out += self.missed.acknowledge(now)
        if self.state is State.IDLE:
            out += self._start_outgoing(now)
        elif self.state is State.RINGING:
            out += self._stop_ringing()
            out += [self._send(Kind.ANSWER, cid, now) for cid in sorted(self._call_ids)]
            out += self._connect(now, "incoming")
        return out

    def hook_replaced(self, now: float) -> list[Output]:
        state, cid = self.state, self.call_id
        if state is State.IDLE or state is State.RINGING:
            return []
        out: list[Output] = []
        if state is State.WAITING:
            out += [PlayTone(None, None), SetIndicator("fault", False),
                    CallFailed(cid, "unreachable", now - self._since, now)]
        elif state is State.CALLING:
            out += [self._send(Kind.HANGUP, cid, now, Reason.ABANDONED), CallFailed(cid, "hung_up", now - self._since, now)]
        elif state is State.RINGBACK:
            out += [self._send(Kind.HANGUP, cid, now, Reason.ABANDONED), PlayTone(None, None),
                    CallMissed(cid, now - self._ring_started, "caller_hung_up", "outgoing", now)]
        elif state is State.CONNECTED:
            out += [self._send(Kind.HANGUP, cid, now, Reason.NORMAL), StopVoice(cid),
                    CallEnded(cid, now - self._connected_at, "local", now)]
        elif state is State.RECORDING:
            out += [StopRecording(cid, "hung_up"), PlayTone(None, None)]
        else:
            out += [PlayTone(None, None)]
        self._to_idle()
        return out

    def peer_reachable(self, now: float) -> list[Output]:
        out: list[Output] = [] if self.reachable else [SetIndicator("link", True)]
        self.reachable = True
        out += [SendControl(p) for p in self.outbox.resume(now)]
        if self.state is State.WAITING:
            out += [SetIndicator("fault", False), PlayTone(None, None)]
            out += self._send_ring(now)
        return out

    def peer_unreachable(self, now: float) -> list[Output]:
        out: list[Output] = [SetIndicator("link", False)] if self.reachable else []
        self.reachable = False
        self.outbox.pause()
        state, cid = self.state, self.call_id
        if state is State.CALLING:
            self.state = State.WAITING
            self._timers.pop("ring_timeout", None)
            out += self._unreachable_signal()
        elif state is State.RINGBACK:
            out += [CallMissed(cid, now - self._ring_started, "link_lost", "outgoing", now)]
            out += self._retry_after_loss(now)
        elif state is State.CONNECTED:
            out += [StopVoice(cid), CallEnded(cid, now - self._connected_at, "link", now)]
            out += self._retry_after_loss(now)
        elif state is State.RINGING:
            out += self._stop_ringing()
            out += [CallMissed(cid, now - self._ring_started, "link_lost", "incoming", now)]
            out += self.missed.show(cid, now)
            self._to_idle()
        return out

    def acknowledge_missed(self, now: float) -> list[Output]:
        """A person acknowledged the missed-call indicator (a button, the UI)."""
        return self.missed.acknowledge(now)

    def receive(self, payload: bytes, now: float) -> list[Output]:
        """A CHANNEL_CONTROL payload from the peer. Malformed input is dropped and counted."""
        try:
            msg = ControlMessage.parse(payload)
        except MalformedControl:
            self.dropped["malformed"] += 1
            return []
        if msg.kind is Kind.ACK:
            self.outbox.ack(msg.call_id, msg.arg)
            return []
        out: list[Output] = [SendControl(bytes(msg.ack()))]
        key = (msg.call_id, msg.kind)
        if key in self._seen:
            self.dropped["duplicate"] += 1
            return out
        self._seen[key] = None
        if len(self._seen) > _REMEMBERED:
            del self._seen[next(iter(self._seen))]
        handler = {Kind.RING: self._on_ring, Kind.RINGING: self._on_ringing,
                   Kind.ANSWER: self._on_answer, Kind.HANGUP: self._on_hangup}[msg.kind]
        return out + handler(msg, now)

    def get_timer(self) -> float | None:
        times = [t for t in (*self._timers.values(), self.outbox.deadline(), self.missed.deadline()) if t is not None]
        return min(times) if times else None

    def handle_timer(self, now: float) -> list[Output]:
        out: list[Output] = [SendControl(p) for p in self.outbox.due(now)]
        for name, when in sorted(self._timers.items(), key=lambda item: item[1]):
            if when <= now and self._timers.get(name) == when:
                del self._timers[name]
                out += getattr(self, f"_on_{name}")(now)
        out += self.missed.handle_timer(now, idle=self.state is State.IDLE)
        return out

    # --- control messages ------------------------------------------------------

    def _stale(self) -> list[Output]:
        self.dropped["stale"] += 1
        return []

    def _on_ring(self, msg: ControlMessage, now: float) -> list[Output]:
        cid = msg.call_id
        if cid in self._ended:
            return self._stale()
        if self.state is State.IDLE:
            self.state, self.call_id, self._call_ids = State.RINGING, cid, {cid}
            self._ring_started = now
            if self.settings.alert_after is not None:
                self._timers["alert"] = now + self.settings.alert_after
            self._timers["ring_timeout"] = now + self.settings.ring_timeout
            out = self.missed.yield_ringer()
            return out + [StartRinger(self.tones.ring), self._send(Kind.RINGING, cid, now),
                          CallStarted(cid, "incoming", now)]
        if self.state is State.RINGING:        # the peer restarted its call: ring on under the new id
            self._call_ids.add(cid)
            return [self._send(Kind.RINGING, cid, now)]
        if self.state is State.CONNECTED:      # the peer lost track of this call: answer, keep talking
            self._call_ids.add(cid)
            return [self._send(Kind.ANSWER, cid, now)]
        out: list[Output] = []               # off-hook here already: glare or a callback connects
        if self.state is State.RECORDING:
            out.append(StopRecording(self.call_id, "callback"))
        if self.state is State.WAITING:
            out.append(SetIndicator("fault", False))
        if self.state in (State.WAITING, State.CALLING, State.RINGBACK):
            direction = "both"               # glare: both ids name this call; both sides pick the lower
        else:                                # after our own call ended: a new, incoming call
            direction, self._ring_started = "incoming", None
            self._ended.extend(self._call_ids)
            self._call_ids = set()
            out.append(CallStarted(cid, "incoming", now))
        self._call_ids.add(cid)
        self.call_id = min(self._call_ids)
        return out + [self._send(Kind.ANSWER, cid, now)] + self._connect(now, direction)

    def _on_ringing(self, msg: ControlMessage, now: float) -> list[Output]:
        if self.state is not State.CALLING or msg.call_id not in self._call_ids:
            return self._stale()
        self.state = State.RINGBACK
        self._ring_started = now
        self._timers["ring_timeout"] = now + self.settings.ring_timeout
        return [PlayTone("ringback", self.tones.ringback), PeerRinging(self.call_id, now - self._since, now)]

    def _on_answer(self, msg: ControlMessage, now: float) -> list[Output]:
        if self.state not in (State.CALLING, State.RINGBACK) or msg.call_id not in self._call_ids:
            return self._stale()
        return self._connect(now, "outgoing")

    def _on_hangup(self, msg: ControlMessage, now: float) -> list[Output]:
        cid = self.call_id
        if msg.call_id not in self._call_ids:
            return self._stale()
        if self.state is State.RINGING:
            reason = "no_answer" if msg.arg == Reason.NO_ANSWER else "caller_hung_up"
            out = self._stop_ringing() + [CallMissed(cid, now - self._ring_started, reason, "incoming", now)]
            out += self.missed.show(cid, now)
            self._to_idle()
            return out
        if self.state in (State.CALLING, State.RINGBACK):   # the far unit's ring timed out first
            return self._give_up(now, tell_peer=False)
        if self.state is State.CONNECTED:
            self.state = State.CLEARED
            return [StopVoice(cid), CallEnded(cid, now - self._connected_at, "peer", now),
                    PlayTone("busy", self.tones.busy)]
        return self._stale()

    # --- timers ------------------------------------------------------------------

    def _on_alert(self, now: float) -> list[Output]:
        if self.state is not State.RINGING:
            return []
        self._alert_on = True
        return [SecondaryAlert(True), EscalationStep(self.call_id, "secondary_alert", now)]

    def _on_ring_timeout(self, now: float) -> list[Output]:
        cid = self.call_id
        if self.state is State.RINGING:
            out = self._stop_ringing() + [self._send(Kind.HANGUP, cid, now, Reason.NO_ANSWER),
                                          EscalationStep(cid, "ring_stopped", now),
                                          CallMissed(cid, now - self._ring_started, "no_answer", "incoming", now)]
            out += self.missed.show(cid, now)
            self._to_idle()
            return out
        if self.state in (State.CALLING, State.RINGBACK):
            return self._give_up(now, tell_peer=True)
        return []

    def _on_record_start(self, now: float) -> list[Output]:
        if self.state is not State.NO_ANSWER:
            return []
        self.state = State.RECORDING
        self._timers["record_limit"] = now + self.settings.voice_message_max
        return [PlayTone(None, None), StartRecording(self.call_id, self.settings.voice_message_max)]

    def _on_record_limit(self, now: float) -> list[Output]:
        if self.state is not State.RECORDING:
            return []
        self.state = State.CLEARED
        return [StopRecording(self.call_id, "limit"), PlayTone("busy", self.tones.busy)]

    # --- helpers -----------------------------------------------------------------

    def _send(self, kind: Kind, call_id: int, now: float, arg: int = 0) -> SendControl:
        return SendControl(self.outbox.send(ControlMessage(kind, call_id, arg), now))

    def _start_outgoing(self, now: float) -> list[Output]:
        cid = self._new_call_id()
        self.call_id, self._call_ids, self._since, self._ring_started = cid, {cid}, now, None
        out: list[Output] = [CallStarted(cid, "outgoing", now)]
        if self.reachable:
            return out + self._send_ring(now)
        self.state = State.WAITING
        return out + self._unreachable_signal()

    def _send_ring(self, now: float) -> list[Output]:
        self.state, self._since = State.CALLING, now
        self._timers["ring_timeout"] = now + self.settings.ring_timeout
        return [self._send(Kind.RING, self.call_id, now)]

    def _unreachable_signal(self) -> list[Output]:
        return [PlayTone("unreachable", self.tones.congestion), SetIndicator("fault", True)]

    def _retry_after_loss(self, now: float) -> list[Output]:
        """The handset is still up after the link dropped: a new attempt, rung when the peer is back."""
        self._ended.extend(self._call_ids)
        self._timers.clear()
        return self._start_outgoing(now)

    def _stop_ringing(self) -> list[Output]:
        self._timers.pop("alert", None)
        self._timers.pop("ring_timeout", None)
        out: list[Output] = [StopRinger()]
        if self._alert_on:
            self._alert_on = False
            out.append(SecondaryAlert(False))
        return out

    def _connect(self, now: float, direction: str) -> list[Output]:
        self._timers.clear()
        started = self._ring_started if self._ring_started is not None else now
        self.state, self._connected_at = State.CONNECTED, now
        return [PlayTone(None, None), StartVoice(self.call_id),
                CallAnswered(self.call_id, now - started, direction, now)]

    def _give_up(self, now: float, tell_peer: bool) -> list[Output]:
        """The ring went unanswered (T2 here, or the peer's HANGUP saying so)."""
        cid = self.call_id
        out: list[Output] = [self._send(Kind.HANGUP, cid, now, Reason.NO_ANSWER)] if tell_peer else []
        out.append(EscalationStep(cid, "ring_stopped", now))
        if tell_peer and self._ring_started is None:
            out.append(CallFailed(cid, "no_ring_confirmation", now - self._since, now))
        else:
            out.append(CallMissed(cid, now - (self._ring_started or self._since), "no_answer", "outgoing", now))
        self._timers.pop("ring_timeout", None)
        self.state = State.NO_ANSWER
        out.append(PlayTone("no_answer", SPECIAL_INFORMATION))
        if self.settings.voice_message:
            self._timers["record_start"] = now + self.settings.no_answer_tone_for
            out.append(EscalationStep(cid, "voice_message_offered", now))
        return out

    def _to_idle(self) -> None:
        self._ended.extend(self._call_ids)
        self.state, self.call_id, self._call_ids, self._ring_started = State.IDLE, None, set(), None
        self._timers.clear()
