"""The numbers behind the auditor's report, from one or two units' journal data (pure).

Times are kept as microseconds and ISO strings for --json, and said in words
for people by `utc_text` ("2026-09-22 14:05:09 UTC") and `duration_text`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timezone

import numpy as np

from terminal.journal.load import JournalData
from terminal.journal.outcome import summarize_call
from terminal.journal.record import Record

LINK_DOWN_KINDS = ("link_down", "boot", "shutdown")  # a unit that boots or stops has no link until link_up
MESSAGE_KINDS = ("message_queued", "message_sent", "message_delivered", "message_read")


def utc(wall_us: int) -> datetime:
    return datetime.fromtimestamp(wall_us / 1e6, timezone.utc)


def utc_text(wall_us: int, ms: bool = False) -> str:
    """A journal time as people read it, with its zone named (to the millisecond with `ms`)."""
    t = utc(wall_us)
    return t.strftime("%Y-%m-%d %H:%M:%S") + (f".{t.microsecond // 1000:03d}" if ms else "") + " UTC"


def duration_text(ms: int | float) -> str:
    """A duration in the two largest units that keep it readable: 4.2 s, 12 min 5 s, 3 h 0 min, 2 d 4 h."""
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    s = round(ms / 1000)
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    if s < 86_400:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86_400} d {s % 86_400 // 3600} h"


def iso_week(wall_us: int) -> str:
    year, week, _ = utc(wall_us).isocalendar()
    return f"{year}-W{week:02d}"


def calls_of(records: list[Record]) -> dict[str, list[Record]]:
    """This unit's own records per call id (the peer's copies left out), in journal order."""
    calls: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        if r.call_id is not None and r.kind != "peer_call_outcome":
            calls[r.call_id].append(r)
    return dict(calls)


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _direction_stats(outcomes: list[dict]) -> dict:
    counts = Counter(o["outcome"] for o in outcomes)
    decided = counts["answered"] + counts["missed"]
    return {"calls": len(outcomes), **{k: counts[k] for k in ("answered", "missed", "abandoned", "incomplete")},
            "answer_rate": rate(counts["answered"], decided)}


def distribution(values_ms: list[int]) -> dict:
    if not values_ms:
        return {"count": 0, "median_ms": None, "p95_ms": None, "max_ms": None}
    arr = np.asarray(values_ms, dtype=float)
    return {"count": len(values_ms), "median_ms": round(float(np.median(arr))),
            "p95_ms": round(float(np.percentile(arr, 95))), "max_ms": int(arr.max())}


def link_timeline(records: list[Record]) -> list[tuple[int, bool]]:
    """(wall_us, up?) at each change of link state, ending with the last record's time."""
    timeline: list[tuple[int, bool]] = []
    for r in records:
        state = True if r.kind == "link_up" else False if r.kind in LINK_DOWN_KINDS else None
        if state is not None and (not timeline or timeline[-1][1] != state):
            timeline.append((r.wall_us, state))
    if timeline and records:
        timeline.append((records[-1].wall_us, timeline[-1][1]))
    return timeline


def link_stats(timeline: list[tuple[int, bool]]) -> dict:
    up = down = 0
    for (t0, state), (t1, _) in zip(timeline, timeline[1:]):
        if state:
            up += t1 - t0
        else:
            down += t1 - t0
    outages = sum(1 for (_, a), (t0, b), (t1, _) in zip(timeline, timeline[1:], timeline[2:])
                  if a and not b and t1 > t0)  # a down spell that lasted, not a final shutdown
    return {"availability": rate(up, up + down), "up_s": round(up / 1e6), "down_s": round(down / 1e6),
            "outages": outages}


def peer_copies(records: list[Record]) -> dict[str, dict]:
    """The peer's own summary of each call as this journal received it (the last copy per call id),
    with `journalled_us`: when this unit wrote it down."""
    return {r.call_id: {**r.fields, "journalled_us": r.wall_us}
            for r in records if r.kind == "peer_call_outcome" and r.call_id is not None}


def unanswered_flash(records: list[Record]) -> list[dict]:
    """FLASH messages delivered to this desk that it never journalled as read."""
    read = {r.fields.get("message_id") for r in records
            if r.kind == "message_read" and r.fields.get("direction") != "outgoing"}
    return [{"message_id": r.fields["message_id"], "delivered_us": r.wall_us, "delivered_utc": utc(r.wall_us).isoformat(),
             "seq": r.seq}
            for r in records if r.kind == "message_delivered" and r.fields.get("direction") == "incoming"
            and r.fields.get("precedence") == "FLASH" and r.fields["message_id"] not in read]


def recovered_records(records: list[Record]) -> dict:
    """Records written late at start-up from the stores after a crash, and the unit's notes saying so."""
    late = [r for r in records if r.fields.get("recovered") is True]
    notes = [{"seq": r.seq, "wall_us": r.wall_us, "count": r.fields["count"], "source": r.fields["source"]}
             for r in records if r.kind == "recovered"]
    return {"records": len(late), "kinds": dict(Counter(r.kind for r in late)), "notes": notes}


def _detail(r: Record) -> str:
    f = r.fields
    if r.kind == "ring_started":
        return f["direction"]
    if r.kind == "answered":
        return f"after {duration_text(f['time_to_answer_ms'])}" + (f", by {f['answered_by']}" if "answered_by" in f else "")
    if r.kind == "missed":
        return f"rang for {duration_text(f['rang_for_ms'])}, not answered"
    if r.kind == "escalation":
        return f["step"] + (f" ({f['detail']})" if f.get("detail") not in (None, "", "0") else "")
    if r.kind == "call_ended":
        return f"after {duration_text(f['duration_ms'])}, hung up: {f['who_hung_up']}"
    if r.kind == "call_failed":
        return f"{f['reason']}, tried for {duration_text(f['tried_for_ms'])}"
    if r.kind == "peer_call_outcome":
        parts = [f["outcome"]]
        if "direction" in f:
            parts.append(f"{f['direction']} there")
        if "time_to_answer_ms" in f:
            parts.append(f"answered after {duration_text(f['time_to_answer_ms'])}")
        if "rang_for_ms" in f:
            parts.append(f"rang for {duration_text(f['rang_for_ms'])}")
        if "escalations" in f:
            parts.append(f"{f['escalations']} escalation step(s)")
        return "the peer's own summary: " + ", ".join(parts)
    return ", ".join(f"{k} {v}" for k, v in f.items() if k != "recovered")


def call_timeline(records: list[Record], call_id: str) -> list[dict]:
    """One call as this journal holds it, own records and the peer's summary alike, in journal order."""
    return [{"seq": r.seq, "kind": r.kind, "wall_us": r.wall_us, "utc": utc(r.wall_us).isoformat(),
             "detail": _detail(r), "recovered": r.fields.get("recovered") is True}
            for r in records if r.call_id == call_id]


def unit_stats(data: JournalData, name: str, verification: dict) -> dict:
    """Everything the report shows for one unit, as plain numbers and lists; `verification`
    is its verdict (report_audit.verification)."""
    records = data.records
    calls = calls_of(records)
    outcomes = {cid: {**summarize_call(recs), "start_us": recs[0].wall_us} for cid, recs in calls.items()}
    incoming = [o for o in outcomes.values() if o.get("direction") == "incoming"]
    outgoing = [o for o in outcomes.values() if o.get("direction") == "outgoing"]

    weekly: dict[str, Counter] = defaultdict(Counter)
    for o in incoming:
        week = weekly[iso_week(o["start_us"])]
        week["rings"] += 1
        week[o["outcome"]] += 1
    missed_by_day = Counter(utc(r.wall_us).date().isoformat() for r in records
                            if r.kind == "missed" and outcomes.get(r.call_id, {}).get("direction") == "incoming")
    selftests = [{"wall_us": r.wall_us, "check": r.fields["check"], "passed": r.fields["passed"],
                  "detail": r.fields["detail"]} for r in records if r.kind == "selftest"]
    timeline = link_timeline(records)
    return {
        "unit": name,
        "source": data.source,
        "verification": verification,
        "records": len(records),
        "first_us": records[0].wall_us if records else None,
        "last_us": records[-1].wall_us if records else None,
        "first_utc": utc(records[0].wall_us).isoformat() if records else None,
        "last_utc": utc(records[-1].wall_us).isoformat() if records else None,
        "calls": [{"call_id": cid, "start_utc": utc(o["start_us"]).isoformat(), **o}
                  for cid, o in sorted(outcomes.items(), key=lambda item: item[1]["start_us"])],
        "incoming": _direction_stats(incoming),
        "outgoing": _direction_stats(outgoing),
        "time_to_answer": distribution([o["time_to_answer_ms"] for o in incoming if "time_to_answer_ms" in o]),
        "weekly": [{"week": w, "rings": c["rings"], "answered": c["answered"], "missed": c["missed"],
                    "answer_rate": rate(c["answered"], c["answered"] + c["missed"])}
                   for w, c in sorted(weekly.items())],
        "missed_by_day": [{"day": d, "missed": n} for d, n in sorted(missed_by_day.items())],
        "escalations": sum(1 for r in records if r.kind == "escalation"),
        "link": {**link_stats(timeline), "timeline": [{"wall_us": t, "up": up} for t, up in timeline]},
        "selftests": {"runs": len(selftests), "failed": sum(not s["passed"] for s in selftests),
                      "history": selftests},
        "messages": {k.removeprefix("message_"): sum(r.kind == k for r in records) for k in MESSAGE_KINDS},
        "unanswered_flash": unanswered_flash(records),
        "recovered": recovered_records(records),
        "peer_copies": peer_copies(records),
        "clock_steps": sum(r.kind == "clock_step" for r in records),
    }


def _view(records: list[Record] | None) -> dict | None:
    return summarize_call(records) if records else None


def _peer_copy(records: list[Record], call_id: str) -> dict | None:
    copies = [r.fields for r in records if r.kind == "peer_call_outcome" and r.call_id == call_id]
    return copies[-1] if copies else None


def line_up(a: JournalData, b: JournalData) -> list[dict]:
    """Both units' records of each call side by side, by call id, with whether they agree.

    `a_view`/`b_view` are each unit's own summary; `a_copy_of_b`/`b_copy_of_a`
    are the peer outcomes each journal received. `agree` is False when any two
    of these disagree on the outcome.
    """
    calls_a, calls_b = calls_of(a.records), calls_of(b.records)
    rows = []
    for cid in sorted(calls_a.keys() | calls_b.keys(),
                      key=lambda c: min(r.wall_us for r in calls_a.get(c, []) + calls_b.get(c, []))):
        a_view, b_view = _view(calls_a.get(cid)), _view(calls_b.get(cid))
        a_copy, b_copy = _peer_copy(a.records, cid), _peer_copy(b.records, cid)
        views = [v["outcome"] for v in (a_view, b_view, a_copy, b_copy) if v is not None]
        own = calls_a.get(cid) or calls_b.get(cid)
        rows.append({
            "call_id": cid, "start_us": own[0].wall_us, "start_utc": utc(own[0].wall_us).isoformat(),
            "a_view": a_view, "b_view": b_view, "a_copy_of_b": a_copy, "b_copy_of_a": b_copy,
            "a_records": [r.kind for r in calls_a.get(cid, [])], "b_records": [r.kind for r in calls_b.get(cid, [])],
            "a_timeline": call_timeline(a.records, cid), "b_timeline": call_timeline(b.records, cid),
            "missed": "missed" in views,
            "both_sides": a_view is not None and b_view is not None,
            "agree": len(set(views)) == 1 and a_view is not None and b_view is not None,
        })
    return rows
