"""The call loop on the unit's event loop: hook, ringer, handset audio, voice and the journal.

The call machine (terminal/call) decides; this adapter carries its actions
out: control messages onto the link, ringer and indicators through the
Actuator, tones and voice through the handset, outcomes into the journal.
The handset runs (paced frame by frame) while the handset is off the cradle;
each tick one microphone frame goes to the voice encoder when a call is
connected, and one frame goes to the earpiece: the far side's voice, a tone,
or silence. Whether a lift plays a waiting voice message or rings the peer is the
call machine's rule (terminal/call/machine.py); this adapter plays what it is told to.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING, Callable

from terminal.alarm import Alarm
from terminal.audio.handset import PacedHandset
from terminal.audio.pump import pump_frames
from terminal.call import actions as act
from terminal.call.cadence import Pattern
from terminal.call.machine import CallMachine
from terminal.call.settings import CallSettings
from terminal.hardware.actuate import Actuator
from terminal.hardware.unit import Hardware
from terminal.link.constants import CHANNEL_CONTROL, CHANNEL_VOICE
from terminal.daemon.records import VoiceMessage
from terminal.daemon.voicemail import Playback, Recording
from terminal.voice.stream import VoiceSession
from terminal.voice.tones import ToneGenerator, ToneSpec

if TYPE_CHECKING:
    from terminal.audio.device_clock import DeviceClockHandset

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class VoiceMessagePlayed:
    """Told to listeners: a received voice message finished playing in the earpiece."""
    call_id: str


_HARDWARE = (act.StartRinger, act.StopRinger, act.SecondaryAlert, act.SetIndicator)
_FINAL = (act.CallEnded, act.CallMissed, act.CallFailed)
# A handset that will not open is tried again for about a second before the call is
# declared without audio: a self-test's loopback gives the device up within a frame.
AUDIO_OPEN_ATTEMPTS = 20
AUDIO_OPEN_RETRY = 0.05
VOICE_MESSAGE_DIR = "voicemail"


class CallLink:
    def __init__(self, *, settings: CallSettings, voice: SimpleNamespace, hardware: Hardware,
                 handset_factory: Callable[[], PacedHandset], send: Callable[[int, bytes], None],
                 journal, loop: asyncio.AbstractEventLoop, reachable: bool = False,
                 liveness: Callable[[bool], None] = lambda in_call: None,
                 on_voice_message: Callable[[VoiceMessage], None] = lambda message: None,
                 on_call_over: Callable[[str], None] = lambda call_id: None,
                 voicemail=None):
        """`liveness(in_call)`: tighten the link's unreachable timeout while voice flows;
        `on_voice_message`: a recorded message to deliver to the peer; `on_call_over(call_id)`:
        the call's outcome is final (send it to the peer); `voicemail`: the VoicemailBox holding
        received messages until they are played."""
        self.machine = CallMachine(settings, reachable=reachable)
        self.voice_config = voice
        self.hardware = hardware
        self.actuator = Actuator(hardware)
        self.handset_factory = handset_factory
        self._send = send
        self._liveness = liveness
        self._on_voice_message = on_voice_message
        self._on_call_over = on_call_over
        self._recording: Recording | None = None
        self._voicemail = voicemail
        self.voice_messages: list[VoiceMessage] = voicemail.pending() if voicemail else []   # not yet played
        self._playback: Playback | None = None
        self._text_unread = False
        self._journal = journal
        self._loop = loop
        self.voice: VoiceSession | None = None
        self.last_voice_stats: dict = {}
        self.last_audio_counts: dict = {}       # the last handset's local lateness (device_clock.py)
        self.listeners: list[Callable[[object, float], None]] = []   # every action and event, with `now`
        self._tone: ToneGenerator | None = None
        self._handset: PacedHandset | DeviceClockHandset | None = None
        self._audio_stop: asyncio.Event | None = None
        self._audio_task: asyncio.Task | None = None
        self._audio_retry: asyncio.TimerHandle | None = None
        self._alarm = Alarm(loop, self._on_timer)
        self._call_started: dict[int, float] = {}
        hardware.hook.when_lifted = self._lifted
        hardware.hook.when_replaced = self._replaced

    def now(self) -> float:
        return self._loop.time()

    # ----- inputs ------------------------------------------------------------

    def on_control(self, payload: bytes, now: float) -> None:
        self._run(self.machine.receive(payload, now), now)

    def on_voice(self, payload: bytes, now: float) -> None:
        if self.voice is not None:
            self.voice.on_payload(payload, now)

    def on_link(self, reachable: bool, now: float) -> None:
        step = self.machine.peer_reachable if reachable else self.machine.peer_unreachable
        self._run(step(now), now)

    def acknowledge_missed(self) -> None:
        now = self.now()
        self._run(self.machine.acknowledge_missed(now), now)

    def set_text_unread(self, unread: bool) -> None:
        self._text_unread = unread
        self.actuator.set_unread(unread or bool(self.voice_messages))

    def ringer_burst(self, seconds: float) -> None:
        """A short ring for an urgent unread message, unless a call is using the ringer."""
        now = self.now()
        if self.machine.state.name == "IDLE":
            self.hardware.ringer.ring(Pattern((seconds,)), now, stop=now + seconds)
            self._arm()

    def _tell(self, out) -> None:
        now = self.now()
        for listener in self.listeners:
            listener(out, now)

    def add_voice_message(self, message: VoiceMessage) -> None:
        self.voice_messages.append(message)
        self._tell(message)
        self._journal.record("escalation", message.call_id, step="voice_message_received",
                             detail=f"{len(message.frames) * message.frame_ms / 1000:.1f} s")
        self.set_text_unread(self._text_unread)

    def _lifted(self) -> None:
        now = self.now()
        self._run(self.machine.hook_lifted(now, message_waiting=bool(self.voice_messages)), now)
        self._start_audio()                             # the call goes ahead even if audio fails

    def _replaced(self) -> None:
        now = self.now()
        self._run(self.machine.hook_replaced(now), now)
        self._stop_audio()

    # ----- outputs -----------------------------------------------------------

    def _run(self, outputs: list, now: float) -> None:
        for out in outputs:
            self._apply(out, now)
            for listener in self.listeners:
                listener(out, now)
        self._arm()

    def _apply(self, out, now: float) -> None:
        if isinstance(out, act.SendControl):
            self._send(CHANNEL_CONTROL, out.payload)
        elif isinstance(out, _HARDWARE):
            self.actuator.apply(out, now)
        elif isinstance(out, act.PlayTone):
            self._tone = None if out.tone is None else ToneGenerator(
                ToneSpec.from_tone(out.tone), self._frame_samples())
        elif isinstance(out, act.StartVoice):
            self._start_voice()
            self._start_audio()
            self._liveness(True)
        elif isinstance(out, act.StopVoice):
            self._stop_voice()
            self._liveness(False)
        elif isinstance(out, act.StartRecording):
            self._recording = Recording.start(f"{out.call_id}", self.voice_config.frame_ms)
        elif isinstance(out, act.StopRecording):
            self._stop_recording(deliver=out.reason in ("hung_up", "limit"))
        elif isinstance(out, act.PlayVoiceMessage):
            self._stop_playback()
            self._playback = Playback.start(self.voice_messages[0])     # it ticks once audio runs
        elif isinstance(out, act.StopVoiceMessage):
            self._stop_playback()
        else:
            self._journal_event(out)
            if isinstance(out, _FINAL):
                self._on_call_over(f"{out.call_id}")

    def _journal_event(self, out) -> None:
        entry = JOURNAL_RECORDS.get(type(out))
        if entry is not None:
            kind, fields = entry
            stats = self.voice.stats if self.voice is not None else self.last_voice_stats
            self._journal.record(kind, f"{out.call_id}", **fields(out, stats))

    # ----- voice and audio ---------------------------------------------------

    def _frame_samples(self) -> int:
        return 48 * self.voice_config.frame_ms

    def _start_voice(self) -> None:
        self._stop_voice()
        v = self.voice_config
        self.voice = VoiceSession(v.frame_ms, v.bitrate, v.fec, v.max_redundancy)

    def _stop_recording(self, deliver: bool) -> None:
        if self._recording is None:
            return
        message, self._recording = self._recording.finish(), None
        if deliver and message is not None:
            self._journal.record("escalation", message.call_id, step="voice_message_recorded",
                                 detail=f"{len(message.frames) * message.frame_ms / 1000:.1f} s")
            self._on_voice_message(message)

    def _play_voice_message(self, now: float) -> bytes | None:
        """The next frame of a voice message being played, or None when there is none (or it ended)."""
        if self._playback is None:
            return None
        if (frame := self._playback.next_frame()) is not None:
            return frame
        message = self._playback.message
        self._stop_playback()
        self.voice_messages.remove(message)
        if self._voicemail is not None:
            self._voicemail.played(message.call_id)
        self._journal.record("escalation", message.call_id, step="voice_message_played")
        self.set_text_unread(self._text_unread)
        self._tell(VoiceMessagePlayed(message.call_id))
        self._run(self.machine.voice_message_ended(now), now)
        return None

    def _stop_playback(self) -> None:
        """Close the message being played; one stopped before its end stays in voice_messages."""
        if self._playback is not None:
            self._playback.close()
            self._playback = None

    def _stop_voice(self) -> None:
        if self.voice is not None:
            self.last_voice_stats = self.voice.stats
            self.voice.close()
            self.voice = None

    def _start_audio(self) -> None:
        """Run the handset's audio unless it runs already (a pending retry starts over)."""
        self._cancel_audio_retry()
        if self._audio_task is None:
            self._open_audio(attempt=1)

    def _open_audio(self, attempt: int) -> None:
        """Open the handset and start its pump; one that will not open is tried again, then a fault."""
        self._audio_retry = None
        try:
            self._handset = self.handset_factory()
        except Exception as exc:    # device busy or unplugged: say so loudly, keep the call machine going
            if attempt < AUDIO_OPEN_ATTEMPTS:   # e.g. a self-test's loopback giving the device up
                log.warning("handset audio not ready (%s); trying again", exc)
                self._audio_retry = self._loop.call_later(AUDIO_OPEN_RETRY, self._open_audio, attempt + 1)
                return
            self._audio_failed(exc)
            return
        self._audio_stop = asyncio.Event()
        self.last_tick = self._loop.time()
        self._audio_task = self._loop.create_task(pump_frames(self._handset, self._tick, self._audio_stop))
        self._audio_task.add_done_callback(self._audio_done)

    def _audio_done(self, task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            if self._audio_task is task:
                self._audio_task = None        # failed, not hung: the watchdog need not restart the unit
                if self._handset is not None:  # its streams (and threads) go, so the next call can open it
                    self._handset.close()
                    self._handset = None
            self._audio_failed(task.exception())

    def _audio_failed(self, exc: BaseException) -> None:
        log.error("handset audio failed: %s", exc)
        self.hardware.leds["fault"].on()
        self._journal.record("selftest", check="handset_audio", passed=False, detail=str(exc)[:300])

    def _cancel_audio_retry(self) -> None:
        if self._audio_retry is not None:
            self._audio_retry.cancel()
            self._audio_retry = None

    def _stop_audio(self) -> None:
        self._cancel_audio_retry()
        if self._audio_task is None:
            return
        self._audio_stop.set()
        self._audio_task = None
        if self._handset is not None:
            self._handset.close()
            counts = self._handset.counts           # the desk unit's audio threads; a paced handset's is empty
            self.last_audio_counts = dict(counts)
            if any(counts.values()):
                log.warning("handset audio ran late: %s", ", ".join(f"{k} {v}" for k, v in counts.items()))
            self._handset = None

    def audio_stalled(self, now: float) -> float | None:
        """Seconds since the running handset audio last delivered a frame, if it is running."""
        return None if self._audio_task is None else now - self.last_tick

    def _tick(self, mic: bytes, now: float) -> None:
        """One frame period: microphone frame out, one frame to the earpiece."""
        self.last_tick = now
        voice = self.voice
        if self._recording is not None:
            self._recording.add(mic)
        if voice is not None:
            self._send(CHANNEL_VOICE, voice.encode(mic))
            earpiece = voice.pull(now)
            report = voice.report(now)
            if report is not None:
                self._send(CHANNEL_VOICE, report)
        elif (played := self._play_voice_message(now)) is not None:
            earpiece = played
        elif self._tone is not None:
            earpiece = self._tone.next_frame()
        else:
            earpiece = bytes(len(mic))
        if self._handset is not None:
            self._handset.write(earpiece)

    # ----- timers ------------------------------------------------------------

    def _arm(self) -> None:
        deadlines = [t for t in (self.machine.get_timer(), self.actuator.deadline()) if t is not None]
        self._alarm.arm(min(deadlines, default=None))

    def _on_timer(self) -> None:
        now = self.now()
        self.actuator.poll(now)
        self._run(self.machine.handle_timer(now), now)

    def close(self) -> None:
        """Shutting down off-hook ends the call as hanging up would (HANGUP to the peer, the
        journal's call_ended or missed), while the link is still open."""
        if self.hardware.hook.is_lifted:
            now = self.now()
            self._run(self.machine.hook_replaced(now), now)
        self._alarm.cancel()
        self._stop_voice()
        self._stop_recording(deliver=False)
        self._stop_playback()
        self._stop_audio()
        self.hardware.close()


def _ms(seconds: float) -> int:
    return max(0, round(seconds * 1000))


def _call_ended(out: act.CallEnded, stats: dict) -> dict:
    concealed, fec = stats.get("frames_concealed", 0), stats.get("frames_fec_recovered", 0)
    return {"duration_ms": _ms(out.duration), "who_hung_up": out.who_hung_up,
            "frames_lost": concealed + fec + stats.get("frames_redundancy_recovered", 0),
            "frames_concealed": concealed, "frames_fec_recovered": fec,
            "jitter_us": int(stats.get("jitter_ms", 0) * 1000)}


# Each outcome event of the call machine as a journal record: its kind, and its fields from the
# event and the call's voice statistics (terminal/journal/kinds.py says what each kind carries).
JOURNAL_RECORDS: dict[type, tuple[str, Callable[[object, dict], dict]]] = {
    act.CallStarted: ("ring_started", lambda out, stats: {"direction": out.direction}),
    act.PeerRinging: ("peer_ringing", lambda out, stats: {}),
    act.CallAnswered: ("answered", lambda out, stats: {
        "time_to_answer_ms": _ms(out.time_to_answer),
        "answered_by": "local" if out.direction == "incoming" else "peer"}),
    act.CallMissed: ("missed", lambda out, stats: {"rang_for_ms": _ms(out.rang_for)}),
    act.CallFailed: ("call_failed", lambda out, stats: {"reason": out.reason, "tried_for_ms": _ms(out.tried_for)}),
    act.EscalationStep: ("escalation", lambda out, stats: {
        "step": out.step, **({} if out.detail is None else {"detail": str(out.detail)})}),
    act.CallEnded: ("call_ended", _call_ended),
}
