"""The in-daemon schedule, step by step on a fake clock (table-driven)."""

import pytest

from terminal.selftest.schedule import Schedule

# (action, now, busy) -> (handle_timer's answer or None for other actions, get_timer() afterwards)
STEPS = [
    ("start", 0.0, False, None, 60.0),
    ("timer", 59.9, False, False, 60.0),          # early: nothing
    ("timer", 60.0, True, False, 120.0),          # due during a call: put off by retry_after
    ("timer", 120.0, False, True, None),          # run starts; no timer while it runs
    ("timer", 121.0, False, False, None),         # a second timer while running: nothing
    ("done", 125.0, False, None, 3725.0),         # next one interval after it finished
    ("timer", 99999.0, False, True, None),        # long sleep: one run, not a backlog
    ("done", 100000.0, False, None, 103600.0),
]


def test_schedule_steps():
    schedule = Schedule(interval=3600, first_after=60, retry_after=60)
    assert schedule.get_timer() is None
    for action, now, busy, answer, timer in STEPS:
        if action == "start":
            schedule.start(now)
        elif action == "timer":
            assert schedule.handle_timer(now, busy=busy) is answer, (action, now)
        else:
            schedule.done(now)
        assert schedule.get_timer() == timer, (action, now)


@pytest.mark.parametrize("args", [(0, 60, 60), (3600, -1, 60), (3600, 60, 0)])
def test_bad_schedule_settings_are_refused(args):
    with pytest.raises(ValueError, match="self-test schedule needs"):
        Schedule(*args)
