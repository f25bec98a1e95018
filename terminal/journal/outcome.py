"""One unit's summary of a call from its own records: what it sends its peer
(journalled there as `peer_call_outcome`) and what reports line up."""

from __future__ import annotations

from typing import Iterable

from terminal.journal.record import Record


def summarize_call(records: Iterable[Record]) -> dict:
    """peer_call_outcome fields from one call's own records (peer_call_outcome records are skipped).

    outcome: answered, missed, abandoned (ended before an answer or a miss),
    or incomplete (still ringing or connected, or the unit stopped).
    """
    summary: dict = {}
    outcome, escalations = "incomplete", 0
    for r in records:
        if r.kind == "peer_call_outcome":
            continue
        summary["peer_seq"] = r.seq
        if r.kind == "ring_started":
            summary["direction"] = r.fields["direction"]
        elif r.kind == "answered":
            outcome = "answered"
            summary["time_to_answer_ms"] = r.fields["time_to_answer_ms"]
        elif r.kind == "missed":
            outcome = "missed"
            summary["rang_for_ms"] = r.fields["rang_for_ms"]
        elif r.kind == "escalation":
            escalations += 1
        elif r.kind == "call_ended":
            summary["duration_ms"] = r.fields["duration_ms"]
            summary["who_hung_up"] = r.fields["who_hung_up"]
            if outcome == "incomplete":
                outcome = "abandoned"
    return {"outcome": outcome, "escalations": escalations, **summary}
