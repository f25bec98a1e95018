"""Every call-state transition, table-driven on a fake clock (default settings: T1 20 s, T2 60 s)."""

from __future__ import annotations

import pytest

from terminal.call.actions import (
    CallAnswered, CallEnded, CallFailed, CallMissed, CallStarted, EscalationStep, PeerRinging, PlayTone,
    PlayVoiceMessage, SecondaryAlert, SetIndicator, StartRecording, StartRinger, StartVoice, StopRecording, StopRinger,
    StopVoice, StopVoiceMessage,
)
from terminal.call.machine import State
from terminal.call.messages import ControlMessage
from terminal.call.tones import SPECIAL_INFORMATION, country_tones

from tests.call.harness import (
    ACK, ANSWER, CALLER_ID, HANGUP, PEER_ID, RING, RINGING, Reason, machine, msg, run, sent,
)

EU = country_tones("EU")
C, P = CALLER_ID, PEER_ID
SILENCE = PlayTone(None, None)

CALLING = [("lift", 0.0)]
RINGBACK = CALLING + [("recv", msg(RINGING, C), 0.25)]
CALLER_CONNECTED = RINGBACK + [("recv", msg(ANSWER, C), 4.25)]
GAVE_UP = RINGBACK + [("timer", 60.25)]
RECORDING = GAVE_UP + [("timer", 64.25)]
WAITING = [("unreachable", 0.0), ("lift", 1.0)]
RINGING_HERE = [("recv", msg(RING, P), 0.0)]
CALLEE_CONNECTED = RINGING_HERE + [("lift", 3.0)]
MISSED_HERE = RINGING_HERE + [("timer", 20.0), ("timer", 60.0)]
LISTENING = [("lift_message", 0.0)]
LISTENED = LISTENING + [("message_ended", 3.0)]

CASES = [
    # name, steps, state after, outputs the last step must include
    ("lift, peer reachable: ring at once", CALLING, State.CALLING,
     [CallStarted(C, "outgoing", 0.0), msg(RING, C)]),
    ("lift, peer unreachable: tone and fault LED at once", WAITING, State.WAITING,
     [CallStarted(C, "outgoing", 1.0), PlayTone("unreachable", EU.congestion), SetIndicator("fault", True)]),
    ("waiting, peer becomes reachable: ring", WAITING + [("reachable", 5.0)], State.CALLING,
     [SetIndicator("link", True), SetIndicator("fault", False), SILENCE, msg(RING, C)]),
    ("waiting, handset replaced: failed, unreachable", WAITING + [("replace", 9.0)], State.IDLE,
     [SILENCE, SetIndicator("fault", False), CallFailed(C, "unreachable", 8.0, 9.0)]),
    ("calling, peer confirms ringing: ringback", RINGBACK, State.RINGBACK,
     [msg(ACK, C, RINGING), PlayTone("ringback", EU.ringback), PeerRinging(C, 0.25, 0.25)]),
    ("ringback, peer answers: connected", CALLER_CONNECTED, State.CONNECTED,
     [SILENCE, StartVoice(C), CallAnswered(C, 4.0, "outgoing", 4.25)]),
    ("calling, answer without ringing (RINGING lost)", CALLING + [("recv", msg(ANSWER, C), 1.0)], State.CONNECTED,
     [StartVoice(C), CallAnswered(C, 0.0, "outgoing", 1.0)]),
    ("calling, handset replaced: hangup, failed", CALLING + [("replace", 0.5)], State.IDLE,
     [msg(HANGUP, C, Reason.ABANDONED), CallFailed(C, "hung_up", 0.5, 0.5)]),
    ("ringback, handset replaced: hangup, missed", RINGBACK + [("replace", 10.25)], State.IDLE,
     [msg(HANGUP, C, Reason.ABANDONED), SILENCE, CallMissed(C, 10.0, "caller_hung_up", "outgoing", 10.25)]),
    ("calling, link drops: waiting on the same call", CALLING + [("unreachable", 2.0)], State.WAITING,
     [SetIndicator("link", False), PlayTone("unreachable", EU.congestion), SetIndicator("fault", True)]),
    ("calling, link drops, handset replaced: failed, timed from the lift",
     CALLING + [("unreachable", 2.0), ("replace", 3.0)], State.IDLE, [CallFailed(C, "unreachable", 3.0, 3.0)]),
    ("ringback, link drops: missed, new attempt waits", RINGBACK + [("unreachable", 5.25)], State.WAITING,
     [CallMissed(C, 5.0, "link_lost", "outgoing", 5.25), CallStarted(C + 1, "outgoing", 5.25),
      SetIndicator("fault", True)]),
    ("connected, handset replaced: hangup, ended local", CALLER_CONNECTED + [("replace", 14.25)], State.IDLE,
     [msg(HANGUP, C, Reason.NORMAL), StopVoice(C), CallEnded(C, 10.0, "local", 14.25)]),
    ("connected, far side hangs up: busy tone", CALLER_CONNECTED + [("recv", msg(HANGUP, C), 9.25)], State.CLEARED,
     [msg(ACK, C, HANGUP), StopVoice(C), CallEnded(C, 5.0, "peer", 9.25), PlayTone("busy", EU.busy)]),
    ("cleared, handset replaced: idle, silent",
     CALLER_CONNECTED + [("recv", msg(HANGUP, C), 9.25), ("replace", 10.0)], State.IDLE, [SILENCE]),
    ("connected, link drops mid-call: ended by link, keep trying", CALLER_CONNECTED + [("unreachable", 20.25)],
     State.WAITING,
     [StopVoice(C), CallEnded(C, 16.0, "link", 20.25), CallStarted(C + 1, "outgoing", 20.25),
      PlayTone("unreachable", EU.congestion), SetIndicator("fault", True)]),
    ("link back after a mid-call drop: ring again",
     CALLER_CONNECTED + [("unreachable", 20.25), ("reachable", 30.0)], State.CALLING, [msg(RING, C + 1)]),
    ("idle, ring arrives: ringer on, confirm", RINGING_HERE, State.RINGING,
     [msg(ACK, P, RING), StartRinger(EU.ring), msg(RINGING, P), CallStarted(P, "incoming", 0.0)]),
    ("ringing, handset lifted: answer", CALLEE_CONNECTED, State.CONNECTED,
     [StopRinger(), msg(ANSWER, P), SILENCE, StartVoice(P), CallAnswered(P, 3.0, "incoming", 3.0)]),
    ("ringing, caller hangs up: missed, shown", RINGING_HERE + [("recv", msg(HANGUP, P, Reason.ABANDONED), 8.0)],
     State.IDLE,
     [StopRinger(), CallMissed(P, 8.0, "caller_hung_up", "incoming", 8.0), SetIndicator("missed", True),
      EscalationStep(P, "missed_shown", 8.0)]),
    ("ringing, link drops: missed", RINGING_HERE + [("unreachable", 6.0)], State.IDLE,
     [StopRinger(), CallMissed(P, 6.0, "link_lost", "incoming", 6.0), SetIndicator("missed", True)]),
    ("callee connected, caller hangs up", CALLEE_CONNECTED + [("recv", msg(HANGUP, P), 13.0)], State.CLEARED,
     [StopVoice(P), CallEnded(P, 10.0, "peer", 13.0)]),
    ("glare: our RING crossed theirs, both connect on the lower id", CALLING + [("recv", msg(RING, P), 0.05)],
     State.CONNECTED,
     [msg(ACK, P, RING), ControlMessage(ANSWER, P, 0, C), SILENCE, StartVoice(P),
      CallAnswered(P, 0.0, "both", 0.05, (C,))]),
    ("waiting, peer's RING arrives first: connect", WAITING + [("recv", msg(RING, P), 2.0)], State.CONNECTED,
     [SetIndicator("fault", False), msg(ANSWER, P), StartVoice(P)]),
    ("connected, the peer rings a call we do not know (it lost track of ours): end ours, answer theirs",
     CALLER_CONNECTED + [("recv", msg(RING, P), 8.0)], State.CONNECTED,
     [StopVoice(C), CallEnded(C, 3.75, "peer", 8.0), CallStarted(P, "incoming", 8.0), msg(ANSWER, P),
      StartVoice(P), CallAnswered(P, 0.0, "incoming", 8.0)]),
    ("glare, the peer answered ours and names its own call: a late copy of its RING changes nothing",
     CALLING + [("recv", ControlMessage(ANSWER, C, 0, 500), 0.1), ("recv", msg(RING, 500), 0.2)], State.CONNECTED,
     [msg(ACK, 500, RING)]),
    ("glare, our call id is the lower: connect on it, hurry our RING, do not answer theirs",
     CALLING + [("recv", msg(RING, 500), 0.05)], State.CONNECTED,
     [msg(ACK, 500, RING), msg(RING, C), SILENCE, StartVoice(C), CallAnswered(C, 0.0, "both", 0.05, (500,))]),
    ("glare winner: the peer's answer to our RING then changes nothing",
     CALLING + [("recv", msg(RING, 500), 0.05), ("recv", msg(ANSWER, C), 0.1)], State.CONNECTED,
     [msg(ACK, C, ANSWER)]),
    ("the peer hangs up a call we never saw: its late RING will not ring",
     [("recv", msg(HANGUP, 9, Reason.ABANDONED), 1.0), ("recv", msg(RING, 9), 1.1)], State.IDLE, [msg(ACK, 9, RING)]),
    ("far hangup while our RING is unacknowledged: withdraw it",
     CALLING + [("recv", msg(RING, 500), 0.05), ("recv", msg(HANGUP, 500), 3.0)], State.CLEARED,
     [CallEnded(C, 2.95, "peer", 3.0), msg(HANGUP, C, Reason.ABANDONED)]),
    ("ringback, T2: missed, no-answer tone, message offered", GAVE_UP, State.NO_ANSWER,
     [msg(HANGUP, C, Reason.NO_ANSWER), EscalationStep(C, "ring_stopped", 60.25),
      CallMissed(C, 60.0, "no_answer", "outgoing", 60.25), PlayTone("no_answer", SPECIAL_INFORMATION),
      EscalationStep(C, "voice_message_offered", 60.25)]),
    ("ringback, the peer timed out first: no answer", RINGBACK + [("recv", msg(HANGUP, C, Reason.NO_ANSWER), 59.0)],
     State.NO_ANSWER,
     [CallMissed(C, 58.75, "no_answer", "outgoing", 59.0), PlayTone("no_answer", SPECIAL_INFORMATION)]),
    ("calling, T2 with no ring confirmation: failed", CALLING + [("timer", 60.0)], State.NO_ANSWER,
     [msg(HANGUP, C, Reason.NO_ANSWER), CallFailed(C, "no_ring_confirmation", 60.0, 60.0)]),
    ("no answer, tone done: record", RECORDING, State.RECORDING, [SILENCE, StartRecording(C, 60.0)]),
    ("recording, handset replaced: stop, deliver", RECORDING + [("replace", 80.0)], State.IDLE,
     [StopRecording(C, "hung_up"), SILENCE]),
    ("recording, 60 s limit: stop, busy", RECORDING + [("timer", 124.25)], State.CLEARED,
     [StopRecording(C, "limit"), PlayTone("busy", EU.busy)]),
    ("recording, the peer calls back: connect", RECORDING + [("recv", msg(RING, P), 70.0)], State.CONNECTED,
     [StopRecording(C, "callback"), CallStarted(P, "incoming", 70.0), msg(ANSWER, P),
      CallAnswered(P, 0.0, "incoming", 70.0)]),
    ("no answer, handset replaced before recording", GAVE_UP + [("replace", 61.0)], State.IDLE, [SILENCE]),
    ("callee T1: secondary alert", RINGING_HERE + [("timer", 20.0)], State.RINGING,
     [SecondaryAlert(True), EscalationStep(P, "secondary_alert", 20.0)]),
    ("callee T2: ringing stops, missed shown", MISSED_HERE, State.IDLE,
     [StopRinger(), SecondaryAlert(False), msg(HANGUP, P, Reason.NO_ANSWER), EscalationStep(P, "ring_stopped", 60.0),
      CallMissed(P, 60.0, "no_answer", "incoming", 60.0), SetIndicator("missed", True),
      EscalationStep(P, "missed_shown", 60.0)]),
    ("missed shown, re-alert on schedule", MISSED_HERE + [("timer", 360.0)], State.IDLE,
     [StartRinger(EU.ring), SecondaryAlert(True), EscalationStep(P, "realert", 360.0, 1)]),
    ("re-alert burst ends", MISSED_HERE + [("timer", 360.0), ("timer", 364.0)], State.IDLE,
     [StopRinger(), SecondaryAlert(False)]),
    ("second re-alert", MISSED_HERE + [("timer", 360.0), ("timer", 364.0), ("timer", 660.0)], State.IDLE,
     [EscalationStep(P, "realert", 660.0, 2)]),
    ("missed acknowledged during a re-alert", MISSED_HERE + [("timer", 360.0), ("ack_missed", 361.0)], State.IDLE,
     [StopRinger(), SecondaryAlert(False), SetIndicator("missed", False), EscalationStep(P, "acknowledged", 361.0, 1)]),
    ("lifting acknowledges a missed call and calls back", MISSED_HERE + [("lift", 100.0)], State.CALLING,
     [SetIndicator("missed", False), EscalationStep(P, "acknowledged", 100.0, 0), msg(RING, C)]),
    ("a ring during a re-alert takes over the ringer", MISSED_HERE + [("timer", 360.0), ("recv", msg(RING, 9), 361.0)],
     State.RINGING, [SecondaryAlert(False), StartRinger(EU.ring), msg(RINGING, 9)]),
    # Each lift does one thing: a waiting voice message is played, and that lift places no call.
    ("idle, lift while a voice message waits: play it", LISTENING, State.LISTENING, [PlayVoiceMessage()]),
    ("listening, the message ends: busy tone, still no call", LISTENED, State.CLEARED, [PlayTone("busy", EU.busy)]),
    ("listened, handset replaced: idle, silent", LISTENED + [("replace", 4.0)], State.IDLE, [SILENCE]),
    ("listened, replaced and lifted again: ring", LISTENED + [("replace", 4.0), ("lift", 5.0)], State.CALLING,
     [CallStarted(C, "outgoing", 5.0), msg(RING, C)]),
    ("listening, handset replaced mid-message: stop it (it stays waiting)", LISTENING + [("replace", 1.0)],
     State.IDLE, [StopVoiceMessage()]),
    ("listening, the peer rings: stop the message, connect", LISTENING + [("recv", msg(RING, P), 1.0)],
     State.CONNECTED,
     [StopVoiceMessage(), CallStarted(P, "incoming", 1.0), msg(ANSWER, P), StartVoice(P),
      CallAnswered(P, 0.0, "incoming", 1.0)]),
    ("ringing, lift with a voice message waiting: answer (the message waits)", RINGING_HERE + [("lift_message", 3.0)],
     State.CONNECTED, [StopRinger(), msg(ANSWER, P), StartVoice(P), CallAnswered(P, 3.0, "incoming", 3.0)]),
    ("lifting to hear a message acknowledges a missed call, and does not call back",
     MISSED_HERE + [("lift_message", 100.0)], State.LISTENING,
     [SetIndicator("missed", False), EscalationStep(P, "acknowledged", 100.0, 0), PlayVoiceMessage()]),
]


@pytest.mark.parametrize("name, steps, state, expected", CASES, ids=[c[0] for c in CASES])
def test_transition(name, steps, state, expected):
    m = machine(reachable=True)
    out = run(m, steps)
    assert m.state is state
    missing = [e for e in expected if e not in out]
    assert not missing, f"missing {missing} in {out}"
    order = [out.index(e) for e in expected]
    assert order == sorted(order), f"out of order: {out}"


NOTHING_CASES = [
    # name, steps, state after, what must not happen on the last step
    ("duplicate RING while ringing: only re-ACKed", RINGING_HERE + [("recv", msg(RING, P), 0.3)], State.RINGING,
     "duplicate"),
    ("stale HANGUP of another call while connected", CALLER_CONNECTED + [("recv", msg(HANGUP, 55), 5.0)],
     State.CONNECTED, "stale"),
    ("stale RING of an ended call", CALLEE_CONNECTED + [("recv", msg(HANGUP, P), 4.0), ("replace", 5.0),
                                                        ("recv", msg(RING, P), 6.0)], State.IDLE, "duplicate"),
    ("stale ANSWER after giving up", GAVE_UP + [("recv", msg(ANSWER, C), 61.0)], State.NO_ANSWER, "stale"),
    ("stale RINGING in ringback", RINGBACK + [("recv", msg(RINGING, 55), 1.0)], State.RINGBACK, "stale"),
    ("lift while connected does nothing", CALLER_CONNECTED + [("lift", 5.0)], State.CONNECTED, None),
    ("replace while idle does nothing", [("replace", 1.0)], State.IDLE, None),
    ("a message ending after its handset was replaced does nothing", LISTENING + [("replace", 1.0),
                                                                              ("message_ended", 1.1)],
     State.IDLE, None),
    ("a message ending during a call does nothing", CALLER_CONNECTED + [("message_ended", 5.0)], State.CONNECTED, None),
]


@pytest.mark.parametrize("name, steps, state, counter", NOTHING_CASES, ids=[c[0] for c in NOTHING_CASES])
def test_ignored(name, steps, state, counter):
    m = machine(reachable=True)
    before = dict(m.dropped)
    *setup, last = steps
    run(m, setup)
    before = dict(m.dropped)
    out = run(m, [last])
    assert m.state is state
    if last[0] == "recv":
        assert out == [last[1].ack()]          # acknowledged so the peer stops resending, nothing else
        assert m.dropped[counter] == before[counter] + 1
    else:
        assert out == []


def test_listening_to_a_waiting_voice_message_places_no_call():
    """Issue 10: the lift that plays a waiting message rang the peer too (a phantom call in both journals)."""
    m = machine(reachable=True)
    for s in LISTENED + [("timer", 100.0), ("replace", 101.0)]:
        out = run(m, [s])
        assert sent(out) == [] and not [o for o in out if isinstance(o, (CallStarted, CallMissed, CallFailed))], s
    assert m.get_timer() is None and m.state is State.IDLE


def test_stale_ring_of_a_finished_call_is_not_rung_again():
    m = machine()
    run(m, CALLEE_CONNECTED + [("recv", msg(HANGUP, P), 4.0), ("replace", 5.0)])
    m._seen.clear()                            # the duplicate memory forgot it; the ended-call memory has not
    out = run(m, [("recv", msg(RING, P), 6.0)])
    assert m.state is State.IDLE and out == [msg(RING, P).ack()] and m.dropped["stale"] == 1


def test_malformed_control_bytes_are_dropped_and_counted():
    m = machine()
    run(m, CALLER_CONNECTED)
    assert m.receive(b"\x01\x09" + bytes(9), 5.0) == []
    assert m.receive(b"junk", 5.0) == []
    assert m.dropped["malformed"] == 2 and m.state is State.CONNECTED


def test_no_voice_message_when_disabled():
    m = machine(voice_message=False)
    out = run(m, GAVE_UP)
    assert not any(isinstance(o, EscalationStep) and o.step == "voice_message_offered" for o in out)
    later = run(m, [("timer", 70.0)])
    assert sent(later) == later and m.state is State.NO_ANSWER      # only the HANGUP, resent until ACKed


def test_no_secondary_alert_when_disabled():
    m = machine(alert_after=None)
    run(m, RINGING_HERE)
    out = run(m, [("timer", 59.0), ("timer", 60.0)])
    assert SecondaryAlert(True) not in out and SecondaryAlert(False) not in out and m.state is State.IDLE


def test_timer_is_the_earliest_deadline():
    m = machine()
    run(m, RINGING_HERE)
    assert m.get_timer() == pytest.approx(0.2)          # RINGING retransmission
    run(m, [("recv", msg(ACK, P, RINGING), 0.1)])
    assert m.get_timer() == 20.0                        # T1
