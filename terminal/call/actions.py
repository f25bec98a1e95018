"""What the call machine asks its owner to do (actions) and what it reports (events).

Every entry point of `CallMachine` returns a list of these, in order. Actions
drive I/O (link, ringer, handset audio, recording, indicators); events are the
outcomes the journal records.
"""

from __future__ import annotations

from dataclasses import dataclass

from terminal.call.cadence import Pattern
from terminal.call.tones import Tone


# --- actions -----------------------------------------------------------------

@dataclass(frozen=True)
class SendControl:
    """Send `payload` to the peer on CHANNEL_CONTROL."""
    payload: bytes


@dataclass(frozen=True)
class StartRinger:
    """Play `pattern` on the ringer relay (replaces any pattern playing)."""
    pattern: Pattern


@dataclass(frozen=True)
class StopRinger:
    pass


@dataclass(frozen=True)
class SecondaryAlert:
    """Switch the secondary alert output (strobe, louder bell, pager contact)."""
    on: bool


@dataclass(frozen=True)
class PlayTone:
    """Play `tone` (repeating) in the handset; name None and tone None mean silence.

    Names: "ringback", "unreachable", "no_answer", "busy".
    """
    name: str | None
    tone: Tone | None


@dataclass(frozen=True)
class StartVoice:
    call_id: int


@dataclass(frozen=True)
class StopVoice:
    call_id: int


@dataclass(frozen=True)
class SetIndicator:
    """An indicator state: "link" (peer reachable), "fault" (off-hook, peer unreachable), "missed"."""
    name: str
    on: bool


@dataclass(frozen=True)
class StartRecording:
    """Record the handset microphone as a voice message for the peer, at most `max_seconds`."""
    call_id: int
    max_seconds: float


@dataclass(frozen=True)
class StopRecording:
    """Stop recording; reason "hung_up" or "limit" (deliver it) or "callback" (the peer rang; discard)."""
    call_id: int
    reason: str


@dataclass(frozen=True)
class PlayVoiceMessage:
    """Play the oldest waiting voice message in the earpiece; tell the machine `voice_message_ended`
    once it has played to its end."""


@dataclass(frozen=True)
class StopVoiceMessage:
    """Stop a voice message before its end (handset replaced, or the peer rang): it stays waiting."""


# --- events (outcomes for the journal) -----------------------------------------

@dataclass(frozen=True)
class CallStarted:
    call_id: int
    direction: str                 # "outgoing" | "incoming"
    at: float


@dataclass(frozen=True)
class PeerRinging:
    """The peer confirmed its ringer is on, `after` seconds after our RING was first sent."""
    call_id: int
    after: float
    at: float


@dataclass(frozen=True)
class CallAnswered:
    call_id: int
    time_to_answer: float          # seconds the ring lasted before the answer
    direction: str                 # "outgoing" | "incoming" | "both" (both lifted at once)
    at: float
    aliases: tuple[int, ...] = ()  # other call ids merged into this call (glare: the other side's attempt)


@dataclass(frozen=True)
class CallMissed:
    call_id: int
    rang_for: float
    reason: str                    # "no_answer" | "caller_hung_up" | "link_lost"
    direction: str
    at: float


@dataclass(frozen=True)
class CallFailed:
    """An off-hook attempt that never made the peer ring."""
    call_id: int
    reason: str                    # "unreachable" | "hung_up" | "no_ring_confirmation"
    tried_for: float
    at: float


@dataclass(frozen=True)
class CallEnded:
    call_id: int
    duration: float
    who_hung_up: str               # "local" | "peer" (hung up, or rang anew) | "link" (dropped mid-call)
    at: float


@dataclass(frozen=True)
class EscalationStep:
    """One escalation step: "secondary_alert", "ring_stopped", "voice_message_offered",
    "missed_shown", "realert" (detail = count), "acknowledged"."""
    call_id: int
    step: str
    at: float
    detail: int = 0


Action = (SendControl | StartRinger | StopRinger | SecondaryAlert | PlayTone | StartVoice | StopVoice
          | SetIndicator | StartRecording | StopRecording | PlayVoiceMessage | StopVoiceMessage)
Event = CallStarted | PeerRinging | CallAnswered | CallMissed | CallFailed | CallEnded | EscalationStep
Output = Action | Event
