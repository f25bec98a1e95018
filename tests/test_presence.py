"""The presence core on a fake clock: staffed within the window, reports to the peer, changes."""

import pytest

from terminal.link.messages import MalformedPacket
from terminal.presence import REPEAT_CHANGE, REPORT_EVERY, Changed, Presence, SendReport


def run(p: Presence, until: float):
    out = []
    while (t := p.get_timer()) is not None and t <= until:
        p.handle_timer(t)
        out += [(t, o) for o in p.outputs()]
    return out


def test_motion_makes_the_desk_staffed_for_the_window_and_the_peer_hears_each_change():
    here = Presence(sensor=True, window=600, now=0.0)
    far = Presence(sensor=True, window=600, now=0.0)
    assert [type(o) for _, o in run(here, 0.0)] == [SendReport]          # the first report at once
    here.motion(10.0)
    changes = [o for o in here.outputs() if isinstance(o, Changed)]
    assert changes == [Changed("here", True, 0.0)] and here.staffed
    sent = [(t, o) for t, o in run(here, 620.0) if isinstance(o, SendReport)]
    # Said again after each of REPEAT_CHANGE, then each minute, and when it ran out at 610 s.
    assert [t for t, _ in sent][:len(REPEAT_CHANGE)] == [10.0 + r for r in REPEAT_CHANGE]
    assert 610.0 in [t for t, _ in sent] and not here.staffed
    far.on_payload(sent[0][1].payload, 11.0)
    assert far.far_view(11.0) == {"known": True, "staffed": True, "window": 600.0, "last_motion_ago": 0.3,
                                  "report_age": 0.0}
    (change,) = far.outputs()
    assert (change.where, change.staffed) == ("far", True) and abs(change.motion_age - 0.3) < 1e-9
    far.on_payload(sent[-1][1].payload, 611.0)
    assert far.far_view(611.0)["staffed"] is False


def test_a_unit_without_a_sensor_says_so_and_is_never_staffed_or_empty():
    here = Presence(sensor=False, window=600, now=0.0)
    far = Presence(sensor=True, window=600, now=0.0)
    (t, report), = run(here, 0.0)
    here.motion(1.0)
    assert here.staffed is None and here.outputs() == []
    far.on_payload(report.payload, 0.5)
    assert far.far_view(0.5)["staffed"] is None


def test_reports_keep_coming_each_minute():
    here = Presence(sensor=True, window=600, now=0.0)
    times = [t for t, o in run(here, 5 * REPORT_EVERY) if isinstance(o, SendReport)]
    assert times == [0.0, 60.0, 120.0, 180.0, 240.0, 300.0]


@pytest.mark.parametrize("payload", [b"", b"\x02\x01" + bytes(8), bytes(11)])
def test_a_malformed_report_is_refused(payload):
    with pytest.raises(MalformedPacket):
        Presence(sensor=True, window=600, now=0.0).on_payload(payload, 0.0)
