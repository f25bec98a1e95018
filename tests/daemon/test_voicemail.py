"""Received voice messages survive a restart until they are played."""

import base64
import stat

import pytest

from terminal.daemon.voicemail import VoicemailBox


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
