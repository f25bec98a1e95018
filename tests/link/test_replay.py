"""The replay window, case by case (RFC 6479 style ring of 64-bit blocks)."""

import pytest

from terminal.link.constants import REJECT_AFTER_MESSAGES, REPLAY_WINDOW_SIZE
from terminal.link.replay import WINDOW, ReplayFilter

assert WINDOW >= 2048  # the floor


def filter_after(*counters):
    f = ReplayFilter()
    for c in counters:
        assert f.accept(c)
    return f


@pytest.mark.parametrize(
    "seen, counter, fresh",
    [
        ((), 0, True),                                      # first packet
        ((0, 1, 2), 3, True),                               # in order
        ((0, 1, 2), 2, False),                              # duplicate of the highest
        ((0, 1, 2), 1, False),                              # duplicate inside
        ((0, 2), 1, True),                                  # reordered, inside
        ((5000,), 5000 - WINDOW + 1, True),                 # just inside the window
        ((5000,), 5000 - WINDOW, False),                    # just outside
        ((5000,), 0, False),                                # far behind
        ((0,), 10**15, True),                               # far future jumps the window
        ((0, 10**15), 5, False),                            # ... and old ones are then refused
        ((0, 10**15), 10**15 - 1, True),                    # ... but its recent past is open
        ((), REJECT_AFTER_MESSAGES - 1, True),              # last allowed counter
        ((), REJECT_AFTER_MESSAGES, False),                 # counter wrap limit
        ((), 2**64 - 1, False),
    ],
)
def test_window(seen, counter, fresh):
    f = filter_after(*seen)
    assert f.check(counter) is fresh
    assert f.accept(counter) is fresh
    assert f.accept(counter) is False          # never twice


def test_sliding_across_many_blocks_forgets_nothing_inside_the_window():
    f = ReplayFilter()
    for c in range(0, 3 * REPLAY_WINDOW_SIZE, 2):     # every even counter
        assert f.accept(c)
    top = 3 * REPLAY_WINDOW_SIZE - 2
    for c in range(top - WINDOW + 1, top + 1):
        assert f.check(c) is (c % 2 == 1), c
