"""The numbers behind the auditor's report, from one or two units' journal data (pure)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timezone

import numpy as np

from terminal.journal.load import JournalData
from terminal.journal.outcome import summarize_call
from terminal.journal.record import Record
from terminal.journal.verify import verify

LINK_DOWN_KINDS = ("link_down", "boot", "shutdown")  # a unit that boots or stops has no link until link_up
MESSAGE_KINDS = ("message_queued", "message_sent", "message_delivered", "message_read")


def utc(wall_us: int) -> datetime:
    return datetime.fromtimestamp(wall_us / 1e6, timezone.utc)


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


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _direction_stats(outcomes: list[dict]) -> dict:
    counts = Counter(o["outcome"] for o in outcomes)
    decided = counts["answered"] + counts["missed"]
    return {"calls": len(outcomes), **{k: counts[k] for k in ("answered", "missed", "abandoned", "incomplete")},
            "answer_rate": _rate(counts["answered"], decided)}


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
    return {"availability": _rate(up, up + down), "up_s": round(up / 1e6), "down_s": round(down / 1e6),
            "outages": outages}


def verification(data: JournalData, trusted_key: bytes | None) -> dict:
    key = trusted_key or data.public_key
    if key is None:
        return {"ok": None, "key": "none", "detail": "no public key given or named in the file"}
    verdict = verify(data.records, data.checkpoints, key)
    return {"ok": verdict.ok, "key": "given" if trusted_key else "named in the file (compare with the unit's)",
            "public_key": key.hex(), "records": verdict.records, "checkpoints": verdict.checkpoints,
            "last_checkpoint_seq": verdict.last_checkpoint_seq, "unsigned_tail": verdict.unsigned_tail,
            "problem_count": verdict.problem_count, "problems": [str(p) for p in verdict.problems[:20]]}


def unit_stats(data: JournalData, name: str, trusted_key: bytes | None = None) -> dict:
    """Everything the report shows for one unit, as plain numbers and lists."""
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
        "verification": verification(data, trusted_key),
        "records": len(records),
        "first_utc": utc(records[0].wall_us).isoformat() if records else None,
        "last_utc": utc(records[-1].wall_us).isoformat() if records else None,
        "calls": [{"call_id": cid, "start_utc": utc(o["start_us"]).isoformat(), **o}
                  for cid, o in sorted(outcomes.items(), key=lambda item: item[1]["start_us"])],
        "incoming": _direction_stats(incoming),
        "outgoing": _direction_stats(outgoing),
        "time_to_answer": distribution([o["time_to_answer_ms"] for o in incoming if "time_to_answer_ms" in o]),
        "weekly": [{"week": w, "rings": c["rings"], "answered": c["answered"], "missed": c["missed"],
                    "answer_rate": _rate(c["answered"], c["answered"] + c["missed"])}
                   for w, c in sorted(weekly.items())],
        "missed_by_day": [{"day": d, "missed": n} for d, n in sorted(missed_by_day.items())],
        "escalations": sum(1 for r in records if r.kind == "escalation"),
        "link": {**link_stats(timeline), "timeline": [{"wall_us": t, "up": up} for t, up in timeline]},
        "selftests": {"runs": len(selftests), "failed": sum(not s["passed"] for s in selftests),
                      "history": selftests},
        "messages": {k.removeprefix("message_"): sum(r.kind == k for r in records) for k in MESSAGE_KINDS},
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
            "call_id": cid, "start_utc": utc(own[0].wall_us).isoformat(),
            "a_view": a_view, "b_view": b_view, "a_copy_of_b": a_copy, "b_copy_of_a": b_copy,
            "a_records": [r.kind for r in calls_a.get(cid, [])], "b_records": [r.kind for r in calls_b.get(cid, [])],
            "both_sides": a_view is not None and b_view is not None,
            "agree": len(set(views)) == 1 and a_view is not None and b_view is not None,
        })
    return rows
