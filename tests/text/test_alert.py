"""The message LED and the re-alerting ringer burst, on a fake clock."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from terminal.text.alert import AlertPolicy
from terminal.text.events import MessageLed, RingerBurst
from terminal.text.precedence import Precedence
from terminal.text.service import TextService

F, I, P, R = Precedence.FLASH, Precedence.IMMEDIATE, Precedence.PRIORITY, Precedence.ROUTINE


def actions(policy):
    return list(iter(policy.next_action, None))


def test_table_of_unread_sets_and_what_the_desk_does():
    policy = AlertPolicy({F: 10.0, I: 30.0}, burst_seconds=2.0)
    steps = [
        # (now, unread, handle_timer?, expected actions, next timer)
        (0.0, [], False, [MessageLed(False, 0.0)], None),
        (1.0, [("r", R)], False, [MessageLed(True, 1.0)], None),
        (2.0, [("r", R), ("f", F)], False, [RingerBurst("f", F, 2.0, 2.0)], 12.0),
        (3.0, [("r", R), ("f", F), ("i", I)], False, [RingerBurst("i", I, 2.0, 3.0)], 12.0),
        (12.0, None, True, [RingerBurst("f", F, 2.0, 12.0)], 22.0),
        (33.0, None, True, [RingerBurst("f", F, 2.0, 33.0)], 43.0),
        (34.0, [("r", R), ("i", I)], False, [], 63.0),
        (40.0, [("r", R)], False, [], None),
        (41.0, [], False, [MessageLed(False, 41.0)], None),
    ]
    for now, unread, timer, expected, next_timer in steps:
        if timer:
            assert policy.get_timer() <= now
            policy.handle_timer(now)
        else:
            policy.update(unread, now)
        assert actions(policy) == expected, now
        assert policy.get_timer() == next_timer, now


@pytest.mark.parametrize("intervals, message", [
    ({R: 5.0}, "ROUTINE messages do not re-alert"),
    ({F: 0.0}, "interval for FLASH must be positive"),
])
def test_bad_alert_settings_are_refused(intervals, message):
    with pytest.raises(ValueError, match=message):
        AlertPolicy(intervals)


def test_an_unread_flash_keeps_alerting_after_a_restart_until_acknowledged(tmp_path):
    a, b = TextService(tmp_path / "a.db"), TextService(tmp_path / "b.db", alert_intervals={F: 60.0})
    for s in (a, b):
        s.start(0.0)
        s.on_peer_reachable(0.0)
    id = a.send("come to the phone", "flash", 1.0)
    for p in a.payloads_to_send(1.0):
        b.on_payload(p, 1.1)
    assert [e for e in iter(b.next_event, None) if isinstance(e, (MessageLed, RingerBurst))][-2:] == [
        MessageLed(True, 1.1), RingerBurst(id, F, 1.5, 1.1)]
    b.close()
    b = TextService(tmp_path / "b.db", alert_intervals={F: 60.0})
    b.start(500.0)
    assert [e for e in iter(b.next_event, None)] == [MessageLed(True, 500.0), RingerBurst(id, F, 1.5, 500.0)]
    assert b.get_timer() == 560.0
    b.ack(id, 510.0)
    assert [type(e).__name__ for e in iter(b.next_event, None)] == ["MessageAcknowledged", "MessageLed"]
    assert b.get_timer() is None
    a.close(), b.close()


steps = st.lists(st.one_of(
    st.tuples(st.just("arrived"), st.sampled_from("abcdef"), st.sampled_from(list(Precedence))),
    st.tuples(st.just("read"), st.sampled_from("abcdefg"), st.none()),
    st.tuples(st.just("timer"), st.none(), st.none()),
), max_size=40)


@given(steps, st.lists(st.floats(0.0, 40.0), min_size=40, max_size=40))
def test_one_message_at_a_time_does_what_the_whole_unread_set_does(steps, gaps):
    """The service tells the policy of each arrival and acknowledgement (arrived, read), not the
    whole unread set each time: both ways must light, ring and re-arm the same."""
    whole, each = AlertPolicy({F: 10.0, I: 30.0}), AlertPolicy({F: 10.0, I: 30.0})
    unread: dict[str, Precedence] = {}
    whole.update([], 0.0), each.update([], 0.0)
    now = 0.0
    for (what, id, precedence), gap in zip(steps, gaps):
        now += gap
        if what == "timer":
            whole.handle_timer(now), each.handle_timer(now)
        elif what == "arrived" and id not in unread:     # an id arrives once
            unread[id] = precedence
            whole.update(unread.items(), now), each.arrived(id, precedence, now)
        elif what == "read":
            unread.pop(id, None)
            whole.update(unread.items(), now), each.read(id, now)
        assert actions(each) == actions(whole)
        assert each.get_timer() == whole.get_timer()
        assert each.led == whole.led == bool(unread)
