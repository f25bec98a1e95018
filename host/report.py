"""The auditor's report: one self-contained HTML file (charts as PNG data URIs) and its numbers.

    summary = build_report(["a.db", "b.json"], "report.html")   # also returns summarize()
    summary = summarize(["a.db"], public_keys=[key_bytes])        # for --json

Each journal is verified first; with `public_keys` (one per file, or None) it
is verified against keys you trust, otherwise against the key the file names,
which the report says plainly. With two or more journals, a last section lines
up the first two units' records of each call by call id.
"""

from __future__ import annotations

import html
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from host.report_charts import CHARTS
from host.report_stats import line_up, unit_stats
from terminal.journal.load import JournalData, load

SUMMARY_ROWS = (
    ("Records", "records", "n"),
    ("First record (UTC)", "first_utc", "s"),
    ("Last record (UTC)", "last_utc", "s"),
    ("Rings at this desk", "incoming.calls", "n"),
    ("Answered here", "incoming.answered", "n"),
    ("Missed here", "incoming.missed", "n"),
    ("Abandoned by the caller", "incoming.abandoned", "n"),
    ("Answer rate here", "incoming.answer_rate", "%"),
    ("Time to answer, median (s)", "time_to_answer.median_ms", "ms"),
    ("Time to answer, p95 (s)", "time_to_answer.p95_ms", "ms"),
    ("Calls from this desk", "outgoing.calls", "n"),
    ("Answered by the peer", "outgoing.answer_rate", "%"),
    ("Escalation steps", "escalations", "n"),
    ("Link availability", "link.availability", "%"),
    ("Link outages", "link.outages", "n"),
    ("Self-tests run", "selftests.runs", "n"),
    ("Self-tests failed", "selftests.failed", "n"),
    ("Messages read", "messages.read", "n"),
    ("Clock steps", "clock_steps", "n"),
)

CSS = """
body{font-family:sans-serif;margin:2em;color:#222;max-width:1100px}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:13px}
th{background:#f3f3f3}.ok{color:#2e7d32}.bad{color:#c62828;font-weight:bold}.warn{color:#b26a00}
img{display:block;margin:0.5em 0;max-width:100%}
"""


def _load_all(journal_files: Sequence[Path | str], public_keys) -> list[tuple[JournalData, str, bytes | None]]:
    keys = list(public_keys) if public_keys is not None else [None] * len(journal_files)
    if len(keys) != len(journal_files):
        raise ValueError(f"{len(journal_files)} journals but {len(keys)} public keys")
    loaded, names = [], []
    for path, key in zip(journal_files, keys):
        data = load(path)
        name = data.unit or Path(path).stem
        if name in names:
            name = f"{name} ({len(names) + 1})"
        names.append(name)
        loaded.append((data, name, key))
    return loaded


def _summary(loaded) -> dict:
    units = [unit_stats(data, name, key) for data, name, key in loaded]
    result = {"units": units}
    if len(loaded) >= 2:
        result["two_unit"] = {"a": units[0]["unit"], "b": units[1]["unit"],
                              "calls": line_up(loaded[0][0], loaded[1][0])}
        result["two_unit"]["disagreements"] = sum(not c["agree"] for c in result["two_unit"]["calls"])
    return result


def summarize(journal_files: Sequence[Path | str], public_keys: Sequence[bytes | None] | None = None) -> dict:
    """The report's numbers as a JSON-ready dict (the same one build_report returns)."""
    return _summary(_load_all(journal_files, public_keys))


def build_report(journal_files: Sequence[Path | str], out_html: Path | str,
                 public_keys: Sequence[bytes | None] | None = None, title: str = "Hotline journal report") -> dict:
    """Write the HTML report to `out_html`; returns summarize()'s dict."""
    summary = summarize(journal_files, public_keys)
    Path(out_html).write_text(render(summary, title), "utf-8")
    return summary


# -- HTML ------------------------------------------------------------------

def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _get(stats: dict, dotted: str):
    for part in dotted.split("."):
        stats = stats[part]
    return stats


def _show(value, how: str) -> str:
    if value is None:
        return "–"
    if how == "%":
        return f"{100 * value:.2f}%"
    if how == "ms":
        return f"{value / 1000:.1f}"
    return str(value)


def _verification_html(v: dict) -> str:
    if v["ok"] is None:
        return f'<p class="warn" data-verified="none">Not verified: {_e(v["detail"])}.</p>'
    key = f'key {_e(v["key"])}: <code>{_e(v["public_key"])}</code>'
    if v["ok"]:
        tail = f'; {v["unsigned_tail"]} record(s) after it not yet signed' if v["unsigned_tail"] else ""
        return (f'<p class="ok" data-verified="ok">Chain and signatures intact: {v["records"]} records, '
                f'{v["checkpoints"]} signed checkpoints, last at record {v["last_checkpoint_seq"]}{tail} ({key}).</p>')
    items = "".join(f"<li>{_e(p)}</li>" for p in v["problems"])
    return (f'<p class="bad" data-verified="tampered">TAMPERED: {v["problem_count"]} problem(s) ({key}).</p>'
            f"<ul>{items}</ul>")


def _unit_html(i: int, stats: dict) -> str:
    rows = "".join(
        f'<tr><th>{_e(label)}</th><td data-key="{key}" data-value="{_e(json.dumps(_get(stats, key)))}">'
        f"{_e(_show(_get(stats, key), how))}</td></tr>"
        for label, key, how in SUMMARY_ROWS)
    charts = "".join(f'<img data-chart="{name}" alt="{_e(name)} chart for {_e(stats["unit"])}" src="{draw(stats)}">'
                     for name, draw in CHARTS)
    tests = "".join(f'<tr><td>{_e(datetime.fromtimestamp(t["wall_us"] / 1e6, timezone.utc).isoformat())}</td>'
                    f'<td>{_e(t["check"])}</td><td class="{"ok" if t["passed"] else "bad"}">'
                    f'{"passed" if t["passed"] else "FAILED"}</td><td>{_e(t["detail"])}</td></tr>'
                    for t in stats["selftests"]["history"][-50:])
    return (f'<section id="unit-{i}" data-unit="{_e(stats["unit"])}"><h2>{_e(stats["unit"])}</h2>'
            f'<p>Source: <code>{_e(stats["source"])}</code></p>{_verification_html(stats["verification"])}'
            f'<table class="summary">{rows}</table>{charts}'
            f'<h3>Self-test history (last 50)</h3><table class="selftests"><tr><th>UTC</th><th>Check</th>'
            f"<th>Result</th><th>Detail</th></tr>{tests}</table></section>")


def _view_html(view: dict | None) -> str:
    if view is None:
        return '<span class="warn">no record</span>'
    extra = ", ".join(f"{k} {_e(v)}" for k, v in view.items() if k in ("time_to_answer_ms", "rang_for_ms", "escalations"))
    return f'{_e(view["outcome"])}' + (f" <small>({extra})</small>" if extra else "")


def _two_unit_html(two: dict) -> str:
    a, b = _e(two["a"]), _e(two["b"])
    rows = "".join(
        f'<tr data-call="{_e(c["call_id"])}" data-agree="{str(c["agree"]).lower()}"><td>{_e(c["call_id"])}</td>'
        f'<td>{_e(c["start_utc"])}</td><td>{_view_html(c["a_view"])}</td><td>{_view_html(c["b_copy_of_a"])}</td>'
        f'<td>{_view_html(c["b_view"])}</td><td>{_view_html(c["a_copy_of_b"])}</td>'
        f'<td class="{"ok" if c["agree"] else "bad"}">{"yes" if c["agree"] else "NO"}</td>'
        f'<td><small>{_e(", ".join(c["a_records"]))}</small></td><td><small>{_e(", ".join(c["b_records"]))}</small></td></tr>'
        for c in two["calls"])
    return (f'<section id="two-unit"><h2>Both sides of each call: {a} and {b}</h2>'
            f'<p>{two["disagreements"]} call(s) where the records disagree or one side has none.</p>'
            f'<table class="calls"><tr><th>Call</th><th>Start (UTC)</th><th>{a} says</th>'
            f"<th>{b}'s copy of {a}</th><th>{b} says</th><th>{a}'s copy of {b}</th><th>Agree</th>"
            f"<th>{a}'s records</th><th>{b}'s records</th></tr>"
            f"{rows}</table></section>")


def render(summary: dict, title: str) -> str:
    units = "".join(_unit_html(i, s) for i, s in enumerate(summary["units"]))
    two = _two_unit_html(summary["two_unit"]) if "two_unit" in summary else ""
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f"<style>{CSS}</style></head><body><h1>{_e(title)}</h1><p>Generated {now}.</p>"
            f"{units}{two}</body></html>\n")
