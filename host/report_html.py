"""The report's HTML, from summarize()'s dict: the auditor's summary first, then missed rings
with both desks' records side by side, each unit's numbers and charts, and the call line-up.

Every time is printed in UTC with the zone named. Elements carry data-* attributes
(data-row, data-unit, data-status, data-value) so tests and scripts can read the
page without scraping its words.
"""

from __future__ import annotations

import html
import json
from datetime import datetime, timezone

from host.report_audit import NOT_VERIFIED
from host.report_charts import CHARTS, data_uri
from host.report_stats import duration_text, utc_text
from terminal.journal.verify import INTACT

SUMMARY_ROWS = (
    ("Records", "records", "n"),
    ("First record", "first_us", "t"),
    ("Last record", "last_us", "t"),
    ("Rings at this desk", "incoming.calls", "n"),
    ("Answered here", "incoming.answered", "n"),
    ("Missed here", "incoming.missed", "n"),
    ("Abandoned by the caller", "incoming.abandoned", "n"),
    ("Answer rate here", "incoming.answer_rate", "%"),
    ("Time to answer, median (s)", "time_to_answer.median_ms", "ms"),
    ("Time to answer, p95 (s)", "time_to_answer.p95_ms", "ms"),
    ("Time to answer, worst (s)", "time_to_answer.max_ms", "ms"),
    ("Calls from this desk", "outgoing.calls", "n"),
    ("Answered by the peer", "outgoing.answer_rate", "%"),
    ("Escalation steps", "escalations", "n"),
    ("Link availability", "link.availability", "%"),
    ("Link outages", "link.outages", "n"),
    ("Self-tests run", "selftests.runs", "n"),
    ("Self-tests failed", "selftests.failed", "n"),
    ("Messages read", "messages.read", "n"),
    ("Records written late at start-up (recovered)", "recovered.records", "n"),
    ("Clock steps", "clock_steps", "n"),
)

CSS = """
body{font-family:sans-serif;margin:2em;color:#222;max-width:1100px}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:13px;vertical-align:top}
th{background:#f3f3f3}.ok{color:#2e7d32}.bad{color:#c62828;font-weight:bold}.warn{color:#8a4b00}
img{display:block;margin:0.5em 0;max-width:100%}
.banner{padding:12px 16px;margin:1em 0;font-size:16px;border:3px solid}
.banner.bad{background:#c62828;border-color:#8e0000;color:#fff;font-weight:bold}
.banner.ok{background:#e8f5e9;border-color:#2e7d32;color:#1b5e20}
.banner.warn{background:#fff3e0;border-color:#ef6c00;color:#6d3600}
.banner ul{margin:0.4em 0 0 0}
.status{display:inline-block;padding:1px 7px;border-radius:3px;font-weight:bold;color:#fff;background:#c62828}
.status.ok{background:#2e7d32}
table.audit{width:100%}table.audit th{width:16em}
table.audit td{font-size:14px}
tr.not-intact td,tr.not-intact th{background:#fdecea}
tr.gap td,tr.gap th{background:#fff3e0;border:2px solid #ef6c00;font-weight:bold}
tr.missed td{background:#fdecea}
.fp{font-family:monospace;font-size:15px;letter-spacing:1px;white-space:nowrap}
.sides{display:grid;grid-template-columns:1fr 1fr;gap:1em}.sides table{width:100%}
.missed-ring{border-left:5px solid #c62828;padding-left:1em;margin:1.5em 0}
tr.copy td{background:#eef3fb}td.time{white-space:nowrap}
.sign td{height:2.2em;width:16em}
"""


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _t(wall_us: int | None, ms: bool = False) -> str:
    return "–" if wall_us is None else utc_text(wall_us, ms)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f}%"


def _get(stats: dict, dotted: str):
    for part in dotted.split("."):
        stats = stats[part]
    return stats


def _show(value, how: str) -> str:
    if value is None:
        return "–"
    if how == "%":
        return _pct(value)
    if how == "ms":
        return f"{value / 1000:.1f}"
    if how == "t":
        return utc_text(value)
    return str(value)


def _status(status: str) -> str:
    return f'<span class="status{" ok" if status == INTACT else ""}" data-status="{_e(status)}">{_e(status)}</span>'


def _fp(text: str | None) -> str:
    return "–" if text is None else f'<span class="fp">{_e(text)}</span>'


def _row(label: str, cell: str, cls: str = "", **data) -> str:
    attrs = "".join(f' data-{k.replace("_", "-")}="{_e(v)}"' for k, v in data.items())
    return f'<tr class="{cls}"{attrs}><th>{label}</th><td>{cell}</td></tr>'


# -- the top: banner and the summary an auditor signs ------------------------

def _banner(pair: dict) -> str:
    verdicts = pair["verdicts"]
    bad = [v for v in verdicts if v["status"] != INTACT]
    out = []
    if bad:
        items = "".join(f'<li>{_e(v["unit"])}: {_e(v["status"])}: {_e(v["reason"])}</li>' for v in bad)
        out.append(f'<div class="banner bad" data-banner="not-intact">NOT INTACT: {len(bad)} of {len(verdicts)} '
                   f"journal(s) fail verification; what they record cannot be relied on as it stands."
                   f"<ul>{items}</ul></div>")
    elif not pair["all_trusted"]:
        out.append('<div class="banner warn" data-banner="untrusted-key">Every journal verifies, but at least one '
                   "only against the key its own file names, not a key you trust: compare the fingerprints below "
                   "with the ones read aloud at pairing.</div>")
    else:
        witnessed = all(v["witness"] and v["witness"]["matched"] for v in verdicts)
        which = {1: "The journal is", 2: "Both journals are"}.get(len(verdicts), f"All {len(verdicts)} journals are")
        out.append(f'<div class="banner ok" data-banner="intact">{which} intact: every record '
                   "is covered by valid Ed25519 and ML-DSA-65 signatures of the expected keys"
                   + (", and each matches what the other unit witnessed" if witnessed else "") + ".</div>")
    if pair["gaps"]:
        items = "".join(f'<li>{_e(g["unit"])}: {g["lost"]} record(s) not written, {_t(g["from_us"])} to '
                        f'{_t(g["to_us"])}: {_e(g["reason"])}</li>' for g in pair["gaps"])
        out.append(f'<div class="banner warn" data-banner="gaps">GAPS: {len(pair["gaps"])} time(s) a unit could '
                   f"not write its journal and said so afterwards.<ul>{items}</ul></div>")
    return "".join(out)


def _verdict_cell(v: dict) -> str:
    text = f'{_status(v["status"])} {_e(v["reason"])}'
    if v["status"] == "WRONG KEY":
        text += (f'<br>signed by fingerprint {_fp(v["signer_fingerprint"])}'
                 f'<br>expected fingerprint {_fp(v["fingerprint"])} (from {_e(v["key"])}): '
                 "a different unit's journal, or the wrong bundle")
    elif v["fingerprint"] is not None:
        text += f'<br>spoken fingerprint {_fp(v["fingerprint"])} (key: {_e(v["key"])})'
    if v["status"] not in (INTACT, NOT_VERIFIED, "WRONG KEY") and v["problems"]:
        text += "<br><small>" + "<br>".join(_e(p) for p in v["problems"][:3]) + "</small>"
    for note in v["notes"]:
        text += f'<br><span class="warn">{_e(note)}</span>'
    return text


def _witness_cell(v: dict, single: bool) -> tuple[str, str, int]:
    w = v["witness"]
    if w is None:
        return ("one journal given: not checked against the peer's" if single else "not checked"), "warn", 0
    peer = _e(w["unit"] or w["file"])
    if w["error"]:
        return f"not checked: {_e(w['error'])}", "warn", 0
    if not w["matched"]:
        return (f"no witnessed checkpoints: {peer}'s journal holds none of {_e(v['unit'])}'s signed checkpoints "
                f"({w['given']} offered)"), "warn", 0
    foreign = f"; {w['foreign']} witnessed entries not signed by this unit" if w["foreign"] else ""
    return (f"{w['matched']} of {w['given']} checkpoints {peer} witnessed match {_e(v['unit'])}'s journal, "
            f"the last at record {w['last_seq']} ({_t(w['last_us'])}){foreign}"), "", w["matched"]


def _gap_row(g: dict) -> str:
    span = duration_text((g["to_us"] - g["from_us"]) / 1000)
    cell = (f'GAP in {_e(g["unit"])}\'s journal: {g["lost"]} record(s) not written '
            f'({_e(g["kinds"] or "kinds unknown")}) from {_t(g["from_us"])} to {_t(g["to_us"])} ({span}): '
            f'{_e(g["reason"])} <small>(said at record {g["seq"]})</small>')
    return _row(f"Gap: {_e(g['unit'])}", cell, "gap", row="gap", unit=g["unit"], lost=g["lost"])


def _summary_html(pair: dict) -> str:
    units = pair["units"]
    rows = [_row("Pair", " and ".join(_e(u) for u in units) if len(units) == 2 else
                 f"{_e(units[0])} (the peer's journal was not given)", row="pair", value=json.dumps(units))]
    if pair["first_us"] is not None:
        span = duration_text((pair["last_us"] - pair["first_us"]) / 1000)
        rows.append(_row("Period covered", f"{_t(pair['first_us'])} to {_t(pair['last_us'])} ({span})",
                         row="period"))
    for v in pair["verdicts"]:
        rows.append(_row(f"Journal of {_e(v['unit'])}", _verdict_cell(v), "" if v["status"] == INTACT else "not-intact",
                         row="verdict", unit=v["unit"], status=v["status"]))
    for v in pair["verdicts"][:2]:
        cell, cls, matched = _witness_cell(v, len(units) == 1)
        rows.append(_row(f"{_e(v['unit'])} witnessed by {_e(v['witness']['unit']) if v['witness'] else 'the peer'}",
                         cell, cls, row="witness", unit=v["unit"], witnessed=matched))
    tta = pair["time_to_answer"]
    rows += [
        _row("Answer rate, both desks", f"{_pct(pair['answer_rate'])} ({pair['answered']} of {pair['rings']} "
             "rings answered)", row="answer-rate", value=json.dumps(pair["answer_rate"])),
        _row("Time to answer, worst", "–" if tta["max_ms"] is None else duration_text(tta["max_ms"]),
             row="worst-answer", value=json.dumps(tta["max_ms"])),
        _row("Time to answer, p95", "–" if tta["p95_ms"] is None else duration_text(tta["p95_ms"]),
             row="p95-answer", value=json.dumps(tta["p95_ms"])),
    ]
    missed = "".join(f'<br><a href="#missed-{_e(c["call_id"])}">call {_e(c["call_id"])}</a> at '
                     f'{_e(c["callee"] or "the peer")}, {_t(c["start_us"])}'
                     + (f', rang for {duration_text(c["rang_for_ms"])}' if "rang_for_ms" in c else "")
                     for c in pair["missed_rings"])
    rows.append(_row("Missed rings", f"{pair['missed']}{missed}", "bad" if pair["missed"] else "",
                     row="missed", value=pair["missed"]))
    flash = "".join(f'<br>message {_e(m["message_id"])} delivered to {_e(m["unit"])} at {_t(m["delivered_us"])}, '
                    "never read" for m in pair["unanswered_flash"])
    rows.append(_row("Unanswered FLASH messages", f"{len(pair['unanswered_flash'])}{flash}",
                     "bad" if pair["unanswered_flash"] else "", row="flash", value=len(pair["unanswered_flash"])))
    link = "<br>".join(f'{_e(l["unit"])}: {_pct(l["availability"])} ({l["outages"]} outage(s), down '
                       f'{duration_text(l["down_s"] * 1000)} in all)' for l in pair["link"])
    rows.append(_row("Link availability", link, row="link"))
    if pair["gaps"]:
        rows += [_gap_row(g) for g in pair["gaps"]]
    else:
        rows.append(_row("Gaps", "none: no unit said it could not write its journal", row="gaps", value=0))
    for r in pair["recovered"]:
        kinds = ", ".join(f"{k}: {n}" for k, n in r["kinds"].items())
        notes = "; ".join(f'{n["count"]} from the {_e(n["source"])} (note at record {n["seq"]}, {_t(n["wall_us"])})'
                          for n in r["notes"])
        rows.append(_row(f"Written late: {_e(r['unit'])}",
                         f"{r['records']} record(s) written late at start-up from the stores after a crash "
                         f"({_e(kinds)})" + (f": {notes}" if notes else ""), "warn", row="recovered",
                         unit=r["unit"], value=r["records"]))
    sign = ('<table class="sign"><tr><th>Checked by</th><td></td><th>Signature</th><td></td></tr>'
            "<tr><th>Date (UTC)</th><td></td><th>Place</th><td></td></tr></table>")
    return (f'<section id="summary"><h2>Summary for the auditor</h2><table class="audit">{"".join(rows)}</table>'
            f"{sign}</section>")


# -- missed rings, both sides ------------------------------------------------------

def _clock(wall_us: int, day: str) -> str:
    """A call record's time: the clock time to the millisecond, and the date when it is not `day`."""
    return utc_text(wall_us, ms=True).removeprefix(day + " ")


def _timeline_table(timeline: list[dict], day: str) -> str:
    if not timeline:
        return '<p class="warn">no record of this call in this journal</p>'
    rows = "".join(
        f'<tr class="{"copy" if r["kind"] == "peer_call_outcome" else ""}" data-kind="{_e(r["kind"])}">'
        f'<td>{r["seq"]}</td><td class="time">{_clock(r["wall_us"], day)}</td>'
        f'<td>{"<b>missed</b>" if r["kind"] == "missed" else _e(r["kind"])}</td><td>{_e(r["detail"])}'
        + (' <span class="warn">(written late at start-up, from the stores)</span>' if r["recovered"] else "")
        + "</td></tr>" for r in timeline)
    return f"<table><tr><th>Record</th><th>Time ({day}, UTC)</th><th>Kind</th><th>What it says</th></tr>{rows}</table>"


def _room_html(room: dict | None) -> str:
    """Whether the desk that rang was staffed when the ring began, and how we know."""
    if room is None:
        return ""
    if room["staffed"] is None:
        return f'<p class="room" data-staffed="unknown">Room at {_e(room["desk"])}: unknown ({_e(room["source"])})</p>'
    state = "STAFFED" if room["staffed"] else "NOBODY SEEN"
    return (f'<p class="room {"" if room["staffed"] else "warn"}" data-staffed="{str(room["staffed"]).lower()}">'
            f'Room at {_e(room["desk"])} when it rang: <b>{state}</b> (since {_t(room["since_us"])}, '
            f'{_e(room["source"])})</p>')


def _missed_html(pair: dict) -> str:
    if not pair["missed_rings"]:
        return ""
    blocks = []
    for c in pair["missed_rings"]:
        day = utc_text(c["start_us"])[:10]
        sides = "".join(f'<div class="side" data-unit="{_e(s["unit"])}"><h4>{_e(s["unit"])}\'s journal '
                        f'({_e(s["role"])})</h4>{_timeline_table(s["timeline"], day)}</div>' for s in c["sides"])
        if len(c["sides"]) == 1:
            sides += ('<div class="side"><h4>The peer\'s journal</h4><p class="warn">not given: its own summary '
                      "of the call (peer_call_outcome, shaded) is the one it sent this desk.</p></div>")
        rang = f', rang for {duration_text(c["rang_for_ms"])}' if "rang_for_ms" in c else ""
        blocks.append(f'<div class="missed-ring" id="missed-{_e(c["call_id"])}" data-call="{_e(c["call_id"])}">'
                      f'<h3>Call {_e(c["call_id"])}: not answered at {_e(c["callee"] or "the peer")}, '
                      f'{_t(c["start_us"])}{rang}</h3>{_room_html(c.get("room"))}<div class="sides">{sides}</div></div>')
    return (f'<section id="missed-rings"><h2>Missed rings: what each desk\'s journal holds</h2>'
            f"<p>Each desk's own records of the call, and (shaded) the other desk's summary of it as this desk "
            f"journalled it.</p>{''.join(blocks)}</section>")


# -- each unit ---------------------------------------------------------------------

def _verification_html(stats: dict) -> str:
    v = stats["verification"]
    cls = "ok" if v["status"] == INTACT else "bad"
    if v["status"] == NOT_VERIFIED:
        return f'<div class="verdict" data-status="{_e(v["status"])}"><p class="bad">{_status(v["status"])} {_e(v["reason"])}.</p></div>'
    items = [f'key: {_e(v["key"])}; spoken fingerprint {_fp(v["fingerprint"])}',
             f'{v["records"]} records, {v["checkpoints"]} signed checkpoints'
             + (f', the last at record {v["last_checkpoint_seq"]}' if v["last_checkpoint_seq"] else "")
             + f', {v["unsigned_tail"]} record(s) after it unsigned',
             f'signatures: {_e(v.get("signatures", "none"))}'
             + ("" if v.get("mldsa_checked") else " (ML-DSA-65 not checked: no ML-DSA-65 key given)")]
    if v["signer_fingerprint"]:
        items.insert(1, f'signed by fingerprint {_fp(v["signer_fingerprint"])}, not the expected one')
    items += [f'<span class="bad">{_e(p)}</span>' for p in v["problems"]]
    if v["problem_count"] > len(v["problems"]):
        items.append(f'... and {v["problem_count"] - len(v["problems"])} more')
    items += [f'<span class="warn">GAP at record {g["seq"]}: {g["lost"]} record(s) not written, {_t(g["from_us"])} '
              f'to {_t(g["to_us"])}: {_e(g["reason"])}</span>' for g in v["gaps"]]
    return (f'<div class="verdict" data-status="{_e(v["status"])}"><p class="{cls}">{_status(v["status"])} '
            f'{_e(v["reason"])}.</p><ul>{"".join(f"<li>{i}</li>" for i in items)}</ul></div>')


def _unit_html(i: int, stats: dict, period: tuple[int, int]) -> str:
    rows = "".join(
        f'<tr><th>{_e(label)}</th><td data-key="{key}" data-value="{_e(json.dumps(_get(stats, key)))}">'
        f"{_e(_show(_get(stats, key), how))}</td></tr>"
        for label, key, how in SUMMARY_ROWS)
    charts = "".join(f'<img data-chart="{name}" alt="{_e(name)} chart for {_e(stats["unit"])}" '
                     f'src="{data_uri(draw(stats, period))}">' for name, draw in CHARTS)
    tests = "".join(f'<tr><td>{_t(t["wall_us"])}</td><td>{_e(t["check"])}</td><td class="{"ok" if t["passed"] else "bad"}">'
                    f'{"passed" if t["passed"] else "FAILED"}</td><td>{_e(t["detail"])}</td></tr>'
                    for t in stats["selftests"]["history"][-50:])
    return (f'<section id="unit-{i}" data-unit="{_e(stats["unit"])}"><h2>{_e(stats["unit"])} '
            f'{_status(stats["verification"]["status"])}</h2>'
            f'<p>Source: <code>{_e(stats["source"])}</code></p>{_verification_html(stats)}'
            f'<table class="summary">{rows}</table>{charts}'
            f'<h3>Self-test history (last 50)</h3><table class="selftests"><tr><th>Time (UTC)</th><th>Check</th>'
            f"<th>Result</th><th>Detail</th></tr>{tests}</table></section>")


# -- both sides of each call -----------------------------------------------------------

def _view_html(view: dict | None) -> str:
    if view is None:
        return '<span class="warn">no record</span>'
    extra = ", ".join(
        ([f"after {duration_text(view['time_to_answer_ms'])}"] if "time_to_answer_ms" in view else [])
        + ([f"rang {duration_text(view['rang_for_ms'])}"] if "rang_for_ms" in view else [])
        + ([f"{view['escalations']} escalation step(s)"] if view.get("escalations") else []))
    word = "<b>MISSED</b>" if view["outcome"] == "missed" else _e(view["outcome"])
    return word + (f" <small>({extra})</small>" if extra else "")


def _two_unit_html(two: dict) -> str:
    a, b = _e(two["a"]), _e(two["b"])

    def call_cell(c):
        cid = _e(c["call_id"])
        return f'<a href="#missed-{cid}">{cid}</a>' if c["missed"] else cid

    rows = "".join(
        f'<tr class="{"missed" if c["missed"] else ""}" data-call="{_e(c["call_id"])}" '
        f'data-agree="{str(c["agree"]).lower()}" data-missed="{str(c["missed"]).lower()}"><td>{call_cell(c)}</td>'
        f'<td class="time">{_t(c["start_us"])}</td><td>{_view_html(c["a_view"])}</td><td>{_view_html(c["b_copy_of_a"])}</td>'
        f'<td>{_view_html(c["b_view"])}</td><td>{_view_html(c["a_copy_of_b"])}</td>'
        f'<td class="{"ok" if c["agree"] else "bad"}">{"yes" if c["agree"] else "NO"}</td>'
        f'<td><small>{_e(", ".join(c["a_records"]))}</small></td><td><small>{_e(", ".join(c["b_records"]))}</small></td></tr>'
        for c in two["calls"])
    return (f'<section id="two-unit"><h2>Both sides of each call: {a} and {b}</h2>'
            f'<p>{two["disagreements"]} call(s) where the records disagree or one side has none. Missed rings are '
            f"shaded; their call id leads to both desks' records.</p>"
            f'<table class="calls"><tr><th>Call</th><th>Start (UTC)</th><th>{a} says</th>'
            f"<th>{b}'s copy of {a}</th><th>{b} says</th><th>{a}'s copy of {b}</th><th>Agree</th>"
            f"<th>{a}'s records</th><th>{b}'s records</th></tr>"
            f"{rows}</table></section>")


def render(summary: dict, title: str) -> str:
    pair = summary["pair"]
    period = (pair["first_us"] or 0, pair["last_us"] or 0)
    units = "".join(_unit_html(i, s, period) for i, s in enumerate(summary["units"]))
    two = _two_unit_html(summary["two_unit"]) if "two_unit" in summary else ""
    now = utc_text(round(datetime.now(timezone.utc).timestamp() * 1e6))
    flag = "" if all(v["status"] == INTACT for v in pair["verdicts"]) else "NOT INTACT: "
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_e(flag + title)}</title>'
            f"<style>{CSS}</style></head><body>{_banner(pair)}<h1>{_e(title)}</h1>"
            f"<p>Generated {now}. All times are UTC.</p>"
            f"{_summary_html(pair)}{_missed_html(pair)}{units}{two}</body></html>\n")
