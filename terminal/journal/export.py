"""Exports: JSON (records + checkpoints, verifiable on another machine) and CSV (for people)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone

from terminal.journal import canonical
from terminal.journal.load import EXPORT_FORMAT, EXPORT_VERSION, JournalData

CSV_COLUMNS = ("seq", "wall_utc", "kind", "call_id", "fields", "wall_us", "mono_us", "boot_id", "prev_hash", "hash")


def utc_iso(wall_us: int) -> str:
    return datetime.fromtimestamp(wall_us / 1e6, timezone.utc).isoformat(timespec="milliseconds")


def to_json(data: JournalData) -> str:
    """The whole journal as one JSON document that load_json() reads back."""
    doc = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "unit": data.unit,
        "public_key": data.public_key.hex() if data.public_key else None,
        "static_public": data.static_public.hex() if data.static_public else None,
        "mldsa_public": data.mldsa_public.hex() if data.mldsa_public else None,
        "mlkem_public": data.mlkem_public.hex() if data.mlkem_public else None,
        "records": [r.as_dict() for r in data.records],
        "checkpoints": [c.as_dict() for c in data.checkpoints],
    }
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


def to_csv(data: JournalData) -> str:
    """One row per record; fields as canonical JSON. Checkpoints are in the JSON export only."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in data.records:
        writer.writerow((r.seq, utc_iso(r.wall_us), r.kind, r.call_id or "",
                         canonical.encode(r.fields).decode("utf-8"),
                         r.wall_us, r.mono_us, r.boot_id, r.prev_hash, r.hash))
    return out.getvalue()
