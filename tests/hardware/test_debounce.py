"""The pure debouncer, step by step."""

from __future__ import annotations

import pytest

from terminal.hardware.debounce import Debouncer

# (raw level or "poll", time) -> expected return
CASES = [
    ("clean press", [(True, 0.0, None), ("poll", 0.029, None), ("poll", 0.03, True)], True),
    ("bounce then settle", [(True, 0.0, None), (False, 0.005, None), (True, 0.01, None),
                            ("poll", 0.035, None), ("poll", 0.04, True)], True),
    ("glitch shorter than hold", [(True, 0.0, None), (False, 0.01, None), ("poll", 1.0, None)], False),
    ("held level confirmed by the next edge", [(True, 0.0, None), (False, 0.5, True)], True),
    ("release after press", [(True, 0.0, None), ("poll", 0.03, True), (False, 1.0, None), ("poll", 1.03, False)],
     False),
]


@pytest.mark.parametrize("name, steps, final", CASES, ids=[c[0] for c in CASES])
def test_debouncer(name, steps, final):
    d = Debouncer(0.03)
    for level, now, expected in steps:
        got = d.poll(now) if level == "poll" else d.update(level, now)
        assert got == expected, (level, now)
    assert d.state is final


def test_deadline():
    d = Debouncer(0.03)
    assert d.deadline() is None
    d.update(True, 1.0)
    assert d.deadline() == pytest.approx(1.03)
    d.update(False, 1.01)
    assert d.deadline() is None


def test_zero_hold_confirms_at_once():
    d = Debouncer(0.0)
    assert d.update(True, 5.0) is True


def test_negative_hold_refused():
    with pytest.raises(ValueError, match="must not be negative; got -1"):
        Debouncer(-1)


def test_poll_at_the_reported_deadline_confirms():
    d = Debouncer(0.03)
    d.update(True, 0.3)                 # 0.33 - 0.3 < 0.03 in floating point
    assert d.poll(d.deadline()) is True
