"""The charts' time axes: dates and UTC clock times, never fractional seconds; a day's bar a day wide."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from terminal.journal.signatures import SigningKeys
from matplotlib.dates import date2num, num2date
from matplotlib.figure import Figure

from host.report import summarize
from host.report_charts import CHARTS, TIME_LABEL, answer_rate_chart, day_start, missed_chart, time_axis
from terminal.journal import load
from tests.journal.helpers import FakeClock, open_journal
from tests.report.scenario import build

LABEL = re.compile(r"\d{4}|[A-Z][a-z]{2}|\d\d [A-Z][a-z]{2}|\d\d:\d\d|\d\d:\d\d:\d\d")
OFFSET = re.compile(r"(\d{4}(-\d\d-\d\d)? )?UTC")
T0 = datetime(2026, 9, 21, 14, 13, 20, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    s = build(tmp_path_factory.mktemp("charts"))
    s["summary"] = summarize(s["paths"], s["expected"])
    pair = s["summary"]["pair"]
    s["period"] = (pair["first_us"], pair["last_us"])
    return s


def tick_labels(fig: Figure) -> tuple[list[str], str, list[datetime]]:
    fig.draw_without_rendering()
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    lo, hi = ax.get_xlim()
    ticks = [num2date(t, tz=timezone.utc) for t in ax.get_xticks() if lo <= t <= hi]
    return labels, ax.xaxis.get_major_formatter().get_offset(), ticks


@pytest.mark.parametrize("span", [timedelta(milliseconds=40), timedelta(seconds=20), timedelta(hours=3),
                                  timedelta(days=2), timedelta(days=17), timedelta(days=200)])
def test_time_axis_labels_are_dates_and_clock_times_in_utc(span):
    fig = Figure()
    ax = fig.subplots()
    ax.plot([T0, T0 + span], [0, 1])
    time_axis(ax, T0, T0 + span)
    labels, offset, ticks = tick_labels(fig)
    shown = [label for label in labels if label]
    assert len(shown) >= 3, labels
    assert all(LABEL.fullmatch(label) for label in shown), labels
    assert "." not in "".join(shown), "fractional seconds on a time axis"
    if span < timedelta(days=1):
        assert len(set(shown)) == len(shown), f"ticks that read the same: {labels}"
    steps = {b - a for a, b in zip(ticks, ticks[1:])}
    assert len(steps) == 1 or span > timedelta(days=120), f"unevenly spaced ticks: {labels}"
    assert offset == "" or OFFSET.fullmatch(offset), offset
    assert ax.get_xlabel() == TIME_LABEL and "UTC" in TIME_LABEL
    if span < timedelta(minutes=1):
        assert all(t.microsecond == 0 for t in ticks)


def test_a_multi_week_axis_ticks_at_midnight_utc_evenly(scenario):
    b = scenario["summary"]["units"][1]
    labels, offset, ticks = tick_labels(missed_chart(b, scenario["period"]))
    assert len(ticks) >= 3 and all((t.hour, t.minute, t.second) == (0, 0, 0) for t in ticks)
    assert len({b - a for a, b in zip(ticks, ticks[1:])}) == 1
    assert [label for label in labels if label] == [t.strftime("%d %b") for t in ticks]
    assert offset == "2026 UTC"


@pytest.mark.parametrize("days", [60, 100])
def test_a_months_long_axis_ticks_on_mondays(days):
    fig = Figure()
    ax = fig.subplots()
    time_axis(ax, T0, T0 + timedelta(days=days))
    _, _, ticks = tick_labels(fig)
    assert len(ticks) >= 3 and all(t.weekday() == 0 and t.hour == 0 for t in ticks)


def test_a_days_missed_rings_bar_is_that_day_wide(scenario):
    b = scenario["summary"]["units"][1]
    ax = missed_chart(b, scenario["period"]).axes[0]
    days = sorted({datetime.fromtimestamp(r.wall_us / 1e6, timezone.utc).date()
                   for r in load(scenario["paths"][1]).records if r.kind == "missed"})
    bars = [(p.get_x(), p.get_width(), p.get_height()) for p in ax.patches]
    assert bars == [(date2num(day_start(d.isoformat())), 1.0, 1) for d in days]


def test_a_weeks_bar_runs_monday_to_monday(scenario):
    b = scenario["summary"]["units"][1]
    ax = answer_rate_chart(b, scenario["period"]).axes[0]
    starts = [num2date(p.get_x(), tz=timezone.utc) for p in ax.patches]
    assert [p.get_width() for p in ax.patches] == [7.0] * 3
    assert all(s.weekday() == 0 and s.hour == 0 for s in starts)
    assert [s.isocalendar()[1] for s in starts] == [int(w["week"][-2:]) for w in b["weekly"]]


def test_every_time_chart_of_a_short_run_reads_in_whole_seconds(tmp_path):
    """Like `hotline sim`: everything within half a minute, self-tests milliseconds apart."""
    clock = FakeClock()
    path = tmp_path / "short.db"
    with open_journal(path, SigningKeys.generate(), clock, unit="A") as j:
        j.append("boot", version="1")
        j.append("link_up", path="primary")
        for n in range(5):
            clock.advance(0.004)
            j.append("selftest", check=f"check-{n}", passed=True, detail="ok")
        clock.advance(20)
        j.append("shutdown", reason="stop")
    summary = summarize([path])
    stats, pair = summary["units"][0], summary["pair"]
    for name, chart in CHARTS:
        if name in ("link", "selftests"):
            labels, offset, _ = tick_labels(chart(stats, (pair["first_us"], pair["last_us"])))
            shown = [label for label in labels if label]
            assert shown and all(re.fullmatch(r"\d\d:\d\d:\d\d", label) for label in shown), (name, labels)
            assert offset == datetime.fromtimestamp(pair["last_us"] / 1e6, timezone.utc).strftime("%Y-%m-%d UTC")
