"""The report's charts: matplotlib figures (no pyplot state) rendered to PNG data URIs."""

from __future__ import annotations

import base64
import io
from datetime import datetime

from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from host.report_stats import utc

SIZE = (7.5, 3.0)
DPI = 100
GREEN, RED, BLUE, GREY = "#2e7d32", "#c62828", "#1565c0", "#9e9e9e"


def data_uri(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(title: str):
    fig = Figure(figsize=SIZE, dpi=DPI)
    ax = fig.subplots()
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    return fig, ax


def _empty(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color=GREY)
    ax.set_xticks([])
    ax.set_yticks([])


def _dates(ax) -> None:
    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))


def answer_rate_chart(stats: dict) -> str:
    fig, ax = _figure("Rings at this desk answered, per ISO week")
    weeks = stats["weekly"]
    if not weeks:
        _empty(ax, "no incoming rings")
        return data_uri(fig)
    labels = [w["week"] for w in weeks]
    rates = [100 * (w["answer_rate"] or 0) for w in weeks]
    bars = ax.bar(labels, rates, color=[GREEN if r >= 95 else RED for r in rates])
    for bar, w in zip(bars, weeks):
        ax.annotate(f"{w['answered']}/{w['answered'] + w['missed']}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=8)
    ax.set_ylim(0, 110)
    ax.set_ylabel("answered %")
    return data_uri(fig)


def time_to_answer_chart(stats: dict) -> str:
    fig, ax = _figure("Time to answer (rings at this desk)")
    seconds = [c["time_to_answer_ms"] / 1000 for c in stats["calls"]
               if c.get("direction") == "incoming" and "time_to_answer_ms" in c]
    if not seconds:
        _empty(ax, "no answered rings")
        return data_uri(fig)
    ax.hist(seconds, bins=min(30, max(5, len(seconds))), color=BLUE)
    dist = stats["time_to_answer"]
    for value, label, style in ((dist["median_ms"], "median", "--"), (dist["p95_ms"], "p95", ":")):
        ax.axvline(value / 1000, color=RED, linestyle=style, label=f"{label} {value / 1000:.1f} s")
    ax.legend(fontsize=8)
    ax.set_xlabel("seconds")
    ax.set_ylabel("calls")
    return data_uri(fig)


def missed_chart(stats: dict) -> str:
    fig, ax = _figure("Missed rings at this desk, per day")
    days = stats["missed_by_day"]
    if not days:
        _empty(ax, "no missed rings")
        return data_uri(fig)
    ax.bar([datetime.fromisoformat(d["day"]) for d in days], [d["missed"] for d in days], color=RED, width=0.8)
    ax.set_ylabel("missed")
    ax.yaxis.get_major_locator().set_params(integer=True)
    _dates(ax)
    return data_uri(fig)


def link_chart(stats: dict) -> str:
    link = stats["link"]
    avail = link["availability"]
    fig, ax = _figure("Link to the peer" + (f": {100 * avail:.2f}% available" if avail is not None else ""))
    timeline = link["timeline"]
    if len(timeline) < 2:
        _empty(ax, "no link events")
        return data_uri(fig)
    times = [utc(p["wall_us"]) for p in timeline]
    states = [1 if p["up"] else 0 for p in timeline]
    ax.step(times, states, where="post", color=BLUE)
    ax.fill_between(times, states, step="post", color=GREEN, alpha=0.3)
    ax.set_yticks([0, 1], ["down", "up"])
    ax.set_ylim(-0.1, 1.2)
    _dates(ax)
    return data_uri(fig)


def selftest_chart(stats: dict) -> str:
    fig, ax = _figure("Self-test history (green passed, red failed)")
    history = stats["selftests"]["history"]
    if not history:
        _empty(ax, "no self-tests")
        return data_uri(fig)
    checks = sorted({h["check"] for h in history})
    ax.scatter([utc(h["wall_us"]) for h in history], [checks.index(h["check"]) for h in history],
               c=[GREEN if h["passed"] else RED for h in history], s=30, marker="s")
    ax.set_yticks(range(len(checks)), checks)
    ax.set_ylim(-0.5, len(checks) - 0.5)
    _dates(ax)
    return data_uri(fig)


CHARTS = (
    ("answer-rate", answer_rate_chart),
    ("time-to-answer", time_to_answer_chart),
    ("missed", missed_chart),
    ("link", link_chart),
    ("selftests", selftest_chart),
)
