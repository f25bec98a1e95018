"""Cadence schedules and the per-country table."""

from __future__ import annotations

import pytest

from terminal.call.cadence import CadenceSchedule, Pattern
from terminal.call.tones import COUNTRIES, SPECIAL_INFORMATION, country_tones
from terminal.errors import ConfigError

UK = Pattern((0.4, 0.2, 0.4, 2.0))


@pytest.mark.parametrize("t, on, nxt", [
    (9.9, False, 10.0),          # before the start
    (10.0, True, 10.4),
    (10.3, True, 10.4),
    (10.5, False, 10.6),
    (10.7, True, 11.0),
    (12.0, False, 13.0),
    (13.1, True, 13.4),          # second cycle
    (1009.1, True, 1009.4),      # 333 periods of 3 s later
])
def test_uk_double_ring_schedule(t, on, nxt):
    s = CadenceSchedule(UK, 10.0)
    assert s.state_at(t) is on
    assert s.next_change(t) == pytest.approx(nxt)


def test_stop_ends_the_schedule():
    s = CadenceSchedule(Pattern((2.0, 4.0)), 0.0, stop=7.0)
    assert s.state_at(6.5) is True and s.next_change(6.5) == 7.0
    assert s.state_at(7.0) is False and s.next_change(7.0) is None


def test_steady_pattern():
    s = CadenceSchedule(Pattern((1.0,)), 0.0)
    assert s.state_at(500.0) is True and s.next_change(500.0) is None


@pytest.mark.parametrize("segments, error", [
    ((), "at least one duration"),
    ((1.0, 2.0, 3.0), "even count; got 3"),
    ((1.0, 0.0), "positive finite seconds; got 0.0"),
    ((1.0, float("inf")), "positive finite seconds; got inf"),
])
def test_bad_patterns(segments, error):
    with pytest.raises(ValueError, match=error):
        Pattern(segments)


@pytest.mark.parametrize("code, freqs, ring", [
    ("US", (440.0, 480.0), (2.0, 4.0)),
    ("uk", (400.0, 450.0), (0.4, 0.2, 0.4, 2.0)),
    ("CN", (450.0,), (1.0, 4.0)),
    ("RU", (425.0,), (0.8, 3.2)),
    ("JP", (400.0,), (1.0, 2.0)),
    ("EU", (425.0,), (1.0, 4.0)),
])
def test_e180_table(code, freqs, ring):
    entry = country_tones(code)
    assert entry.ring.segments == ring
    assert entry.ringback.steps[0].frequencies == freqs
    assert tuple(s.seconds for s in entry.ringback.steps) == ring       # ringback follows the ringer's cadence
    assert all(not s.frequencies for s in entry.ringback.steps[1::2])


def test_japan_ringback_is_modulated():
    assert country_tones("JP").ringback.modulation_hz == 16.0


def test_every_entry_has_all_tones():
    for entry in COUNTRIES.values():
        for tone in (entry.ringback, entry.busy, entry.congestion):
            assert tone.steps and tone.steps[0].frequencies
    assert [s.frequencies for s in SPECIAL_INFORMATION.steps] == [(950.0,), (1400.0,), (1800.0,), ()]


def test_unknown_country():
    with pytest.raises(ConfigError, match=r"no ring cadence for country 'XX'; known: CN, DE, EU"):
        country_tones("XX")
