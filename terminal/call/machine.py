"""The ringdown call state machine, sans-I/O: events and `now` in, actions and outcome events out.

    IDLE --lift, peer reachable--> CALLING --RINGING--> RINGBACK --ANSWER--> CONNECTED
    IDLE --lift, unreachable--> WAITING (unreachable tone, fault) --peer reachable--> CALLING
    IDLE --RING--> RINGING --lift--> CONNECTED --replace--> IDLE
    RINGBACK --T2--> NO_ANSWER (no-answer tone) --> RECORDING (voice message) --> CLEARED
    CONNECTED --peer HANGUP--> CLEARED (busy tone) --replace--> IDLE
    IDLE --lift, voice message waiting--> LISTENING (plays it) --message ends--> CLEARED (busy tone)

Each lift does one thing. A lift while the peer rings here answers. Otherwise,
a lift while a voice message waits plays the oldest one and places no call: the
peer does not ring, nothing is journalled as a call, and when the message ends
the busy tone says "hang up"; the duty officer replaces the handset and lifts
again to ring (or to hear the next message). A handset replaced mid-message
leaves it waiting.

A RING arriving while this handset is already up (glare, a callback, the peer
calling while its message plays here) connects at once. Each entry point
returns the outputs in order (terminal.call.actions). The owner calls
`handle_timer(now)` at `get_timer()`.
"""

from __future__ import annotations

import enum
import secrets
from collections import deque
from typing import Callable

from terminal.call.actions import (
    CallAnswered, CallEnded, CallFailed, CallMissed, CallStarted, EscalationStep, Output, PeerRinging,
    PlayTone, PlayVoiceMessage, SecondaryAlert, SendControl, SetIndicator, StartRecording, StartRinger, StartVoice,
    StopRecording, StopRinger, StopVoice, StopVoiceMessage,
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
    LISTENING = "listening"      # off-hook, playing a waiting voice message; no call


_OFF_HOOK_UNCONNECTED = {State.WAITING, State.CALLING, State.RINGBACK, State.NO_ANSWER, State.RECORDING,
                         State.CLEARED, State.LISTENING}


class CallMachine:
    def __init__(self, settings: CallSettings | None = None, *, reachable: bool = False,
                 new_call_id: Callable[[], int] | None = None):
        self.settings = settings or CallSettings()
        self.tones = country_tones(self.settings.country)
        self._new_call_id = new_call_id or (lambda: secrets.randbits(64) or 1)     # 0 means "no call" in `ref`
        self.state = State.IDLE
        self.reachable = reachable
        self.call_id: int | None = None
        self._call_ids: set[int] = set()
        self._ended: deque[int] = deque(maxlen=_REMEMBERED)
        self._seen: dict[tuple[int, Kind], None] = {}
        self._off_hook_at = 0.0           # this attempt began (handset lifted, or the link dropped mid-call)
        self._ring_sent = 0.0             # RING first sent for this attempt
        self._rung: set[int] = set()      # ids of this call we sent a RING for
        self._closed: set[int] = set()    # ids of this call a HANGUP was sent or received for
        self._ring_started: float | None = None
        self._connected_at = 0.0
        self._alert_on = False
        self._timers: dict[str, float] = {}
        s = self.settings
        # A HANGUP must outlive the peer's ringing: given up sooner (a silent cut that heals), the
        # far ringer would go on to its own T2 for a caller who hung up long ago.
        self.outbox = Outbox(s.retransmit_initial, s.retransmit_max, max(s.retransmit_give_up, s.ring_timeout))
        self.missed = MissedCall(s, self.tones.ring)
        self.dropped = {"malformed": 0, "duplicate": 0, "stale": 0}

    # --- entry points ----------------------------------------------------------

    def hook_lifted(self, now: float, message_waiting: bool = False) -> list[Output]:
        """The handset went up. Ringing here: answer. Idle with `message_waiting` (a received voice
        message not yet played): play it, and place no call. Idle otherwise: ring the peer."""
        out: list[Output] = []
        if self.missed.shown and self.settings.lift_acknowledges_missed:
            out += self.missed.acknowledge(now)
        if self.state is State.IDLE and message_waiting:
            self.state = State.LISTENING
            out.append(PlayVoiceMessage())
        elif self.state is State.IDLE:
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
                    CallFailed(cid, "unreachable", now - self._off_hook_at, now)]
        elif state is State.CALLING:
            out += [self._send(Kind.HANGUP, cid, now, Reason.ABANDONED),
                    CallFailed(cid, "hung_up", now - self._off_hook_at, now)]
        elif state is State.RINGBACK:
            out += [self._send(Kind.HANGUP, cid, now, Reason.ABANDONED), PlayTone(None, None),
                    CallMissed(cid, now - self._ring_started, "caller_hung_up", "outgoing", now)]
        elif state is State.CONNECTED:
            out += [self._send(Kind.HANGUP, cid, now, Reason.NORMAL), StopVoice(cid),
                    CallEnded(cid, now - self._connected_at, "local", now)]
        elif state is State.RECORDING:
            out += [StopRecording(cid, "hung_up"), PlayTone(None, None)]
        elif state is State.LISTENING:
            out += [StopVoiceMessage()]
        else:
            out += [PlayTone(None, None)]
        return out + self._to_idle(now)

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
            out += self._to_idle(now)
        return out

    def voice_message_ended(self, now: float) -> list[Output]:
        """The voice message played to its end. The handset is still up: busy tone, no call."""
        if self.state is not State.LISTENING:
            return []
        self.state = State.CLEARED
        return [PlayTone("busy", self.tones.busy)]

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
        if cid in self._ended or cid in self._call_ids:
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
        our_ring_out = self.state is State.WAITING and self.call_id in self._rung
        if self.state in (State.CALLING, State.RINGBACK) or our_ring_out:
            out = [SetIndicator("fault", False)] if our_ring_out else []
            return out + self._glare(cid, now)
        # Off-hook here already, and the peer rings a call we do not know: after ours ended, or (when
        # connected) because the peer lost track of ours. It is a new call; connect at once.
        out: list[Output] = []
        if self.state is State.WAITING:          # our RING never left: the peer's call is the call
            out.append(SetIndicator("fault", False))
            direction = "both"
        else:
            if self.state is State.CONNECTED:
                out += [StopVoice(self.call_id), CallEnded(self.call_id, now - self._connected_at, "peer", now)]
            elif self.state is State.RECORDING:
                out.append(StopRecording(self.call_id, "callback"))
            elif self.state is State.LISTENING:
                out.append(StopVoiceMessage())
            direction = "incoming"
            out += self._retire(now)
            out.append(CallStarted(cid, direction, now))
        self._ring_started = None
        self._call_ids.add(cid)
        self.call_id = cid
        return out + [self._send(Kind.ANSWER, cid, now)] + self._connect(now, direction)

    def _glare(self, cid: int, now: float) -> list[Output]:
        """Both handsets went up and the RINGs crossed. The lower call id is the call: its owner connects
        and hurries its RING along; the other side answers that RING (on arrival, if not already)."""
        self._call_ids.add(cid)
        if self.call_id < cid:
            return [self._send(Kind.RING, self.call_id, now)] + self._connect(now, "both")
        own, self.call_id = self.call_id, cid
        self.outbox.cancel(own, Kind.RING)                # ours lost; `ref` tells the peer it is this call
        return [self._send(Kind.ANSWER, cid, now, ref=own)] + self._connect(now, "both")

    def _on_ringing(self, msg: ControlMessage, now: float) -> list[Output]:
        if self.state is not State.CALLING or msg.call_id not in self._call_ids:
            return self._stale()
        self.state = State.RINGBACK
        self._ring_started = now
        self._timers["ring_timeout"] = now + self.settings.ring_timeout
        return [PlayTone("ringback", self.tones.ringback), PeerRinging(self.call_id, now - self._ring_sent, now)]

    def _on_answer(self, msg: ControlMessage, now: float) -> list[Output]:
        if self.state not in (State.CALLING, State.RINGBACK) or msg.call_id not in self._call_ids:
            return self._stale()
        if msg.ref:                            # glare: the peer's own call, absorbed into ours
            self._call_ids.add(msg.ref)
            return self._connect(now, "both")
        return self._connect(now, "outgoing")

    def _on_hangup(self, msg: ControlMessage, now: float) -> list[Output]:
        cid = self.call_id
        if msg.call_id not in self._call_ids:
            self._ended.append(msg.call_id)      # a RING of it arriving late must not ring
            return self._stale()
        self._closed.add(msg.call_id)
        if self.state is State.RINGING:
            reason = "no_answer" if msg.arg == Reason.NO_ANSWER else "caller_hung_up"
            out = self._stop_ringing() + [CallMissed(cid, now - self._ring_started, reason, "incoming", now)]
            out += self.missed.show(cid, now)
            return out + self._to_idle(now)
        if self.state in (State.CALLING, State.RINGBACK):   # the far unit's ring timed out first
            return self._give_up(now, tell_peer=False)
        if self.state is State.CONNECTED:
            self.state = State.CLEARED
            return [StopVoice(cid), CallEnded(cid, now - self._connected_at, "peer", now),
                    PlayTone("busy", self.tones.busy)] + self._withdraw_rings(now)
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
            return out + self._to_idle(now)
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

    def _send(self, kind: Kind, call_id: int, now: float, arg: int = 0, ref: int = 0) -> SendControl:
        if kind is Kind.HANGUP:
            self._closed.add(call_id)
        return SendControl(self.outbox.send(ControlMessage(kind, call_id, arg, ref), now))

    def _start_outgoing(self, now: float) -> list[Output]:
        cid = self._new_call_id()
        self.call_id, self._call_ids, self._off_hook_at, self._ring_started = cid, {cid}, now, None
        out: list[Output] = [CallStarted(cid, "outgoing", now)]
        if self.reachable:
            return out + self._send_ring(now)
        self.state = State.WAITING
        return out + self._unreachable_signal()

    def _send_ring(self, now: float) -> list[Output]:
        self.state, self._ring_sent = State.CALLING, now
        self._rung.add(self.call_id)
        self._timers["ring_timeout"] = now + self.settings.ring_timeout
        return [self._send(Kind.RING, self.call_id, now)]

    def _unreachable_signal(self) -> list[Output]:
        return [PlayTone("unreachable", self.tones.congestion), SetIndicator("fault", True)]

    def _retry_after_loss(self, now: float) -> list[Output]:
        """The handset is still up after the link dropped: a new attempt, rung when the peer is back."""
        out = self._retire(now)
        self._timers.clear()
        return out + self._start_outgoing(now)

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
        aliases = tuple(sorted(self._call_ids - {self.call_id}))
        return [PlayTone(None, None), StartVoice(self.call_id),
                CallAnswered(self.call_id, now - started, direction, now, aliases)]

    def _give_up(self, now: float, tell_peer: bool) -> list[Output]:
        """The ring went unanswered (T2 here, or the peer's HANGUP saying so)."""
        cid = self.call_id
        out: list[Output] = [self._send(Kind.HANGUP, cid, now, Reason.NO_ANSWER)] if tell_peer else []
        out.append(EscalationStep(cid, "ring_stopped", now))
        if tell_peer and self._ring_started is None:
            out.append(CallFailed(cid, "no_ring_confirmation", now - self._off_hook_at, now))
        else:
            rang_from = self._ring_sent if self._ring_started is None else self._ring_started
            out.append(CallMissed(cid, now - rang_from, "no_answer", "outgoing", now))
        self._timers.pop("ring_timeout", None)
        self.state = State.NO_ANSWER
        out.append(PlayTone("no_answer", SPECIAL_INFORMATION))
        if self.settings.voice_message:
            self._timers["record_start"] = now + self.settings.no_answer_tone_for
            out.append(EscalationStep(cid, "voice_message_offered", now))
        return out

    def _withdraw_rings(self, now: float) -> list[Output]:
        """Every RING of ours in this call that no HANGUP has closed yet is withdrawn with one, so that
        a copy still on its way (a glare's losing RING, say) cannot ring the peer after the call."""
        out: list[Output] = []
        for cid in sorted(self._rung - self._closed):
            self.outbox.cancel(cid, Kind.RING)
            out.append(self._send(Kind.HANGUP, cid, now, Reason.ABANDONED))
        return out

    def _retire(self, now: float) -> list[Output]:
        """The current call is over here: withdraw its RINGs and remember its ids as ended."""
        out = self._withdraw_rings(now)
        self._ended.extend(self._call_ids)
        self._call_ids, self._rung, self._closed = set(), set(), set()
        return out

    def _to_idle(self, now: float) -> list[Output]:
        out = self._retire(now)
        self.state, self.call_id, self._ring_started = State.IDLE, None, None
        self._timers.clear()
        return out
