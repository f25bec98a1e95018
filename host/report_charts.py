"""The report's charts: matplotlib figures (no pyplot state), rendered to PNG data URIs by the report.

Each chart is `chart(stats, period) -> Figure`: one unit's numbers (report_stats)
and the report's period, (first, last) record time in microseconds, so every
time axis of the report spans the same dates. Time axes are dates and clock
times in UTC, said on the axis; a day's bar is one day wide, a week's seven.
"""

from __future__ import annotations

import base64
import io
import math
from datetime import datetime, timedelta, timezone

from matplotlib.dates import (DAILY, MO, AutoDateLocator, ConciseDateFormatter, RRuleLocator, WeekdayLocator,
                              rrulewrapper)
from matplotlib.figure import Figure

from host.report_stats import utc

SIZE = (7.5, 3.0)
DPI = 100
GREEN, RED, BLUE, GREY, AMBER = "#2e7d32", "#c62828", "#1565c0", "#9e9e9e", "#ef6c00"
MIN_SPAN = timedelta(minutes=1)     # a shorter period is widened so no tick needs fractional seconds
DAYS_SPAN = (timedelta(days=3), timedelta(days=120))   # ticks at midnight every few days, or on Mondays
MAX_TICKS = 8
TIME_LABEL = "date and time (UTC)"
# ConciseDateFormatter levels: years, months, days, hours, minutes, seconds (never fractions).
TICK_FORMATS = ["%Y", "%b", "%d %b", "%H:%M", "%H:%M", "%H:%M:%S"]
ZERO_FORMATS = ["", "%Y", "%d %b", "%d %b", "%H:%M", "%H:%M:%S"]
OFFSET_FORMATS = ["UTC", "%Y UTC", "%Y UTC", "%Y-%m-%d UTC", "%Y-%m-%d UTC", "%Y-%m-%d UTC"]

Period = tuple[int, int]            # first and last record, wall microseconds


def data_uri(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(title: str, height: float = SIZE[1]):
    fig = Figure(figsize=(SIZE[0], height), dpi=DPI)
    ax = fig.subplots()
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    return fig, ax


def _empty(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color=GREY)
    ax.set_xticks([])
    ax.set_yticks([])


def time_axis(ax, start: datetime, end: datetime) -> None:
    """Dates and UTC clock times on the x axis over start..end (widened to at least MIN_SPAN)."""
    span = end - start
    pad = (MIN_SPAN - span) / 2 if span < MIN_SPAN else span * 0.02
    ax.set_xlim(start - pad, end + pad)
    locator = _locator(start - pad, end + pad)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator, tz=timezone.utc, formats=TICK_FORMATS,
                                                      zero_formats=ZERO_FORMATS, offset_formats=OFFSET_FORMATS))
    ax.set_xlabel(TIME_LABEL, fontsize=8)


def _locator(start: datetime, end: datetime):
    """Evenly spaced ticks: at midnight every few days, or on Mondays (as ISO weeks start) every
    week or more; matplotlib's own choice for hours and for months."""
    span = end - start
    if not DAYS_SPAN[0] <= span < DAYS_SPAN[1]:
        return AutoDateLocator(tz=timezone.utc, minticks=3, maxticks=MAX_TICKS)
    step = math.ceil(span / timedelta(days=MAX_TICKS - 1))
    if step >= 7:
        return WeekdayLocator(byweekday=MO, interval=math.ceil(step / 7), tz=timezone.utc)
    return RRuleLocator(rrulewrapper(DAILY, interval=step, byhour=0, byminute=0, bysecond=0), tz=timezone.utc)


def _bounds(period: Period, *extra: datetime) -> tuple[datetime, datetime]:
    times = [utc(period[0]), utc(period[1]), *extra]
    return min(times), max(times)


def day_start(day: str) -> datetime:
    """Midnight UTC at the start of an ISO date ("2026-09-22")."""
    return datetime.fromisoformat(day).replace(tzinfo=timezone.utc)


def week_start(week: str) -> datetime:
    """Monday 00:00 UTC of an ISO week ("2026-W39")."""
    year, number = week.split("-W")
    return datetime.fromisocalendar(int(year), int(number), 1).replace(tzinfo=timezone.utc)


def answer_rate_chart(stats: dict, period: Period) -> Figure:
    fig, ax = _figure("Rings at this desk answered, per ISO week (Monday to Sunday, UTC)")
    weeks = stats["weekly"]
    if not weeks:
        _empty(ax, "no incoming rings")
        return fig
    starts = [week_start(w["week"]) for w in weeks]
    rates = [100 * (w["answer_rate"] or 0) for w in weeks]
    bars = ax.bar(starts, rates, width=timedelta(days=7), align="edge", edgecolor="white",
                  color=[GREEN if r >= 95 else RED for r in rates])
    for bar, w in zip(bars, weeks):
        ax.annotate(f"{w['week'].split('-')[1]}: {w['answered']}/{w['answered'] + w['missed']}",
                    (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom", fontsize=8)
    ax.set_ylim(0, 115)
    ax.set_ylabel("answered %")
    time_axis(ax, *_bounds(period, starts[0], starts[-1] + timedelta(days=7)))
    return fig


def time_to_answer_chart(stats: dict, period: Period) -> Figure:
    fig, ax = _figure("Time to answer (rings at this desk)")
    seconds = [c["time_to_answer_ms"] / 1000 for c in stats["calls"]
               if c.get("direction") == "incoming" and "time_to_answer_ms" in c]
    if not seconds:
        _empty(ax, "no answered rings")
        return fig
    ax.hist(seconds, bins=min(30, max(5, len(seconds))), color=BLUE)
    dist = stats["time_to_answer"]
    for value, label, style in ((dist["median_ms"], "median", "--"), (dist["p95_ms"], "p95", ":")):
        ax.axvline(value / 1000, color=RED, linestyle=style, label=f"{label} {value / 1000:.1f} s")
    ax.legend(fontsize=8)
    ax.set_xlabel("seconds from the first ring to the handset lifted")
    ax.set_ylabel("calls")
    return fig


def missed_chart(stats: dict, period: Period) -> Figure:
    fig, ax = _figure("Missed rings at this desk, per day (UTC)")
    days = stats["missed_by_day"]
    if not days:
        _empty(ax, "no missed rings")
        return fig
    starts = [day_start(d["day"]) for d in days]
    ax.bar(starts, [d["missed"] for d in days], width=timedelta(days=1), align="edge", color=RED,
           edgecolor="white")
    ax.set_ylabel("missed")
    ax.yaxis.get_major_locator().set_params(integer=True)
    time_axis(ax, *_bounds(period, starts[0], starts[-1] + timedelta(days=1)))
    return fig


def link_chart(stats: dict, period: Period) -> Figure:
    link = stats["link"]
    avail = link["availability"]
    fig, ax = _figure("Link to the peer" + (f": {100 * avail:.2f}% available" if avail is not None else ""))
    timeline = link["timeline"]
    if len(timeline) < 2:
        _empty(ax, "no link events")
        return fig
    times = [utc(p["wall_us"]) for p in timeline]
    states = [1 if p["up"] else 0 for p in timeline]
    ax.step(times, states, where="post", color=BLUE)
    ax.fill_between(times, states, step="post", color=GREEN, alpha=0.3)
    for n, gap in enumerate(stats["verification"]["gaps"]):
        ax.axvspan(utc(gap["from_us"]), utc(gap["to_us"]), color=AMBER, alpha=0.4,
                   label="journal gap (not written)" if n == 0 else None)
    if stats["verification"]["gaps"]:
        ax.legend(fontsize=8, loc="lower left")
    ax.set_yticks([0, 1], ["down", "up"])
    ax.set_ylim(-0.1, 1.2)
    time_axis(ax, *_bounds(period))
    return fig


def selftest_chart(stats: dict, period: Period) -> Figure:
    history = stats["selftests"]["history"]
    checks = sorted({h["check"] for h in history})
    fig, ax = _figure("Self-test history (green passed, red failed)", max(SIZE[1], 1.2 + 0.2 * len(checks)))
    if not history:
        _empty(ax, "no self-tests")
        return fig
    ax.scatter([utc(h["wall_us"]) for h in history], [checks.index(h["check"]) for h in history],
               c=[GREEN if h["passed"] else RED for h in history], s=30, marker="s")
    ax.set_yticks(range(len(checks)), checks, fontsize=8)
    ax.set_ylim(-0.5, len(checks) - 0.5)
    time_axis(ax, *_bounds(period))
    return fig


CHARTS = (
    ("answer-rate", answer_rate_chart),
    ("time-to-answer", time_to_answer_chart),
    ("missed", missed_chart),
    ("link", link_chart),
    ("selftests", selftest_chart),
)
