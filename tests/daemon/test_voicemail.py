"""Received voice messages survive a restart until they are played, and playing one places no call."""

import base64
import stat

import pytest
from gpiozero.pins.mock import MockFactory

from terminal.call import actions as act
from terminal.daemon.calling import VoiceMessagePlayed
from terminal.daemon.records import VoiceMessage
from terminal.daemon.voicemail import VoicemailBox
from terminal.journal import load
from terminal.sim.call import CallWatcher, bring_up, lift, replace
from terminal.sim.provision import provision_pair
from terminal.sim.run import SIM_TIMERS, file_handsets, load_unit
from terminal.voice.codec import Encoder


def part(call_id, i, n, frames):
    return {"t": "voicemail", "call_id": call_id, "part": i, "parts": n, "frame_ms": 20,
            "frames": [base64.b64encode(f).decode() for f in frames]}


def test_parts_survive_a_restart_and_assemble_in_order(tmp_path):
    box = VoicemailBox(tmp_path / "vm")
    assert box.add_part(part("42", 1, 2, [b"c", b"d"])) is None
    box = VoicemailBox(tmp_path / "vm")                       # the unit restarted between parts
    message = box.add_part(part("42", 0, 2, [b"a", b"b"]))
    assert message.frames == (b"a", b"b", b"c", b"d") and message.frame_ms == 20
    assert [m.frames for m in VoicemailBox(tmp_path / "vm").pending()] == [message.frames]
    assert [p.name for p in (tmp_path / "vm").iterdir()] == ["42.json"]
    assert stat.S_IMODE((tmp_path / "vm" / "42.json").stat().st_mode) == 0o600
    box.played("42")
    assert VoicemailBox(tmp_path / "vm").pending() == []


@pytest.mark.parametrize("bad", [
    part("../../etc/passwd", 0, 1, [b"x"]),
    part("7", 3, 2, [b"x"]),
    part("7", 0, 0, [b"x"]),
])
def test_malformed_parts_are_refused_and_write_nothing(tmp_path, bad):
    box = VoicemailBox(tmp_path / "vm")
    with pytest.raises(ValueError):
        box.add_part(bad)
    assert list((tmp_path / "vm").iterdir()) == []


async def test_lifting_to_hear_a_waiting_voice_message_does_not_ring_the_peer(tmp_path):
    """Issue 10: the lift that plays a waiting message placed a call too, so the peer rang and
    both journals held a phantom call (missed on one side, incomplete on the other)."""
    a_sim, b_sim = provision_pair(tmp_path, extra=SIM_TIMERS)
    a, b = (load_unit(s.config_path, pin_factory=MockFactory(),
                      handset_factory=file_handsets(tmp_path / s.name, [None])) for s in (a_sim, b_sim))
    await bring_up(a, b, (a_sim.sock, b_sim.sock))
    wa, wb = CallWatcher(a), CallWatcher(b)
    encoder = Encoder(20, 16000, fec=False)
    frames = tuple(encoder.encode(bytes(1920)) for _ in range(10))
    encoder.close()
    try:
        a.call.add_voice_message(VoiceMessage("call-7", 20, frames))
        lift(a)                                               # message LED lit: the person listens
        await wa.wait_for(VoiceMessagePlayed, 5)
        assert a.call.voice_messages == []
        # Loopback keeps order: once B has answered an echo, it has read whatever A sent before it.
        assert await a.echo_test(b"after the lift", timeout=5) is not None
        assert b.call.machine.state.name == "IDLE" and wb.first(act.StartRinger) is None
        replace(a)
        assert await a.echo_test(b"after the hang-up", timeout=5) is not None
    finally:
        await a.close()
        await b.close()
    assert wa.first(act.CallStarted) is None and wb.first(act.CallStarted) is None
    for name in "AB":
        records = load(tmp_path / name / "data" / "journal.sqlite").records
        assert not [r for r in records if r.kind in ("ring_started", "missed", "call_failed", "call_ended")], name
    steps = [r.fields["step"] for r in load(tmp_path / "A" / "data" / "journal.sqlite").records
             if r.kind == "escalation"]
    assert steps == ["voice_message_received", "voice_message_played"]
