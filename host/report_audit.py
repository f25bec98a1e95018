"""The top of the auditor's report: each journal's verdict, and the pair's numbers an auditor signs.

Each journal is audited by terminal.journal.audit against the key the auditor
trusts (an identity bundle's ExpectedKey, or a bare signing key) and, when two
journals are given, against the other unit's journal as witness. Without a key
the key the file names itself is used, and the verdict says it is not one you
trust. The pair's numbers take each call's outcome from the desk that rang
(its own records, or its summary as the caller journalled it), so one journal
alone still tells both sides of a call.
"""

from __future__ import annotations

from collections import defaultdict

from terminal.journal.audit import ExpectedKey, audit
from terminal.journal.errors import JournalFormatError
from terminal.journal.load import JournalData
from terminal.journal.verify import INTACT, Gap

from host.report_stats import call_timeline, distribution, rate, utc

NOT_VERIFIED = "NOT VERIFIED"
GIVEN_KEY = "the signing key given"
FILE_KEY = "the key the journal file names itself (not a key you trust: compare the fingerprint with the unit's)"
MAX_PROBLEMS_SHOWN = 20

KeyGiven = ExpectedKey | bytes | None


def expected_key(data: JournalData, given: KeyGiven) -> tuple[ExpectedKey | None, bool]:
    """The key to verify `data` with, and whether the auditor supplied it (True) or the file did."""
    if isinstance(given, ExpectedKey):
        return given, True
    if isinstance(given, (bytes, bytearray)):
        return ExpectedKey(bytes(given), None, GIVEN_KEY), True
    if given is not None:
        raise TypeError(f"a journal's key must be an ExpectedKey, raw signing key bytes or None, not {given!r}")
    if data.public_key is None:
        return None, False
    return ExpectedKey(data.public_key, data.static_public, FILE_KEY, None, data.mldsa_public, data.mlkem_public), False


def _gap(g: Gap) -> dict:
    return {"seq": g.seq, "lost": g.lost, "kinds": g.kinds, "from_us": g.from_us, "to_us": g.to_us,
            "from_utc": utc(g.from_us).isoformat(), "to_utc": utc(g.to_us).isoformat(), "reason": g.reason}


def _unverified_gaps(data: JournalData) -> list[Gap]:
    """Gap records of a journal no key can verify: still shown, since a hole is never silent."""
    return [Gap(r.seq, r.fields.get("lost", 0), r.fields.get("kinds", ""), r.fields.get("from_us", r.wall_us),
                r.fields.get("to_us", r.wall_us), r.fields.get("reason", "")) for r in data.records if r.kind == "gap"]


def verification(data: JournalData, given: KeyGiven, witness: JournalData | None = None,
                 witness_unit: str | None = None) -> dict:
    """One journal's verdict as the report shows it (JSON-ready)."""
    expected, trusted = expected_key(data, given)
    notes = []
    if expected is None:
        return {"status": NOT_VERIFIED, "ok": None, "reason": "no public key was given and the file names none",
                "key": "none", "trusted": False, "public_key": None, "mldsa_public_key": None,
                "signatures": "none", "mldsa_checked": False, "fingerprint": None,
                "signer_fingerprint": None, "records": len(data.records), "checkpoints": 0,
                "last_checkpoint_seq": None, "unsigned_tail": len(data.records), "problem_count": 0,
                "problems": [], "gaps": [_gap(g) for g in _unverified_gaps(data)], "witness": None,
                "notes": notes}
    witness_error = None
    try:
        result = audit(data, expected, witness=witness)
    except JournalFormatError as exc:
        if witness is None:
            raise
        witness_error = str(exc)
        result = audit(data, expected)
    v = result.verdict
    if expected.unit_id and data.unit and expected.unit_id != data.unit:
        notes.append(f"the bundle is unit {expected.unit_id}'s, but the journal file names unit {data.unit}")
    return {
        "status": v.status, "ok": v.ok, "reason": v.reason, "key": expected.source or GIVEN_KEY,
        "trusted": trusted, "public_key": expected.signing_public.hex(),
        "mldsa_public_key": None if expected.mldsa_public is None else expected.mldsa_public.hex(),
        "signatures": v.signatures, "mldsa_checked": v.mldsa_checked,
        "fingerprint": result.expected_fingerprint, "signer_fingerprint": result.signer_fingerprint,
        "records": v.records, "checkpoints": v.checkpoints, "last_checkpoint_seq": v.last_checkpoint_seq,
        "unsigned_tail": v.unsigned_tail, "problem_count": v.problem_count,
        "problems": [str(p) for p in v.problems[:MAX_PROBLEMS_SHOWN]],
        "gaps": [_gap(g) for g in v.gaps],
        "witness": _witness(data, v.witness, witness, witness_unit, witness_error),
        "notes": notes,
    }


def _witness(data: JournalData, check, witness: JournalData | None, unit: str | None, error: str | None) -> dict | None:
    if witness is None:
        return None
    out = {"unit": unit, "file": witness.source, "error": error, "given": 0, "matched": 0, "last_seq": None,
           "last_us": None, "foreign": 0}
    if check is not None:
        out.update(check.as_dict())
        at = next((r.wall_us for r in data.records if r.seq == check.last_seq), None)
        out["last_us"] = at
    return out


# -- the pair ------------------------------------------------------------------

def pair_calls(units: list[dict]) -> list[dict]:
    """Each call of the pair once, its outcome as the desk that rang saw it.

    Views, best first: a desk's own records, then the peer's summary as a desk
    journalled it. The callee's view (direction incoming) decides; a call no
    callee view exists of (it never rang there) keeps the caller's outcome.
    """
    names = [u["unit"] for u in units]
    views: dict[str, list[dict]] = defaultdict(list)
    for u in units:
        for c in u["calls"]:
            views[c["call_id"]].append({**c, "desk": u["unit"], "told_by": f"{u['unit']}'s own records"})
    for i, u in enumerate(units):
        peer = names[1 - i] if len(names) == 2 else "the peer"
        for cid, copy in u["peer_copies"].items():
            views[cid].append({**copy, "start_us": copy["journalled_us"], "desk": peer,
                               "told_by": f"{peer}'s summary, as {u['unit']} journalled it"})
    calls = []
    for cid, seen in views.items():
        callee = next((v for v in seen if v.get("direction") == "incoming"), None)
        caller = next((v for v in seen if v.get("direction") == "outgoing"), None)
        chosen = callee or seen[0]
        start = min(v["start_us"] for v in seen)
        calls.append({"call_id": cid, "start_us": start, "start_utc": utc(start).isoformat(),
                      "outcome": chosen["outcome"], "told_by": chosen["told_by"],
                      "callee": callee["desk"] if callee else None, "caller": caller["desk"] if caller else None,
                      **{k: chosen[k] for k in ("time_to_answer_ms", "rang_for_ms", "escalations") if k in chosen}})
    return sorted(calls, key=lambda c: c["start_us"])


def _sides(journals: list[JournalData], units: list[dict], call_id: str) -> list[dict]:
    sides = []
    for data, u in zip(journals, units):
        own = next((c for c in u["calls"] if c["call_id"] == call_id), None)
        role = ("rang here" if own and own.get("direction") == "incoming" else
                "the caller" if own and own.get("direction") == "outgoing" else "no record of its own")
        sides.append({"unit": u["unit"], "role": role, "timeline": call_timeline(data.records, call_id)})
    return sorted(sides, key=lambda s: s["role"] != "rang here")     # the desk that rang first


def room_at(journals: list[JournalData], units: list[dict], desk: str | None, at_us: int) -> dict | None:
    """Was `desk`'s room staffed when the ring began? Its own PIR's latest `presence` record
    before then; failing that, the latest its peer journalled of it ("far")."""
    if desk is None:
        return None
    sources = [(data, u["unit"], "here") for data, u in zip(journals, units) if u["unit"] == desk]
    sources += [(data, u["unit"], "far") for data, u in zip(journals, units) if u["unit"] != desk]
    for data, unit, where in sources:
        seen = [r for r in data.records if r.kind == "presence" and r.fields.get("where") == where
                and r.wall_us <= at_us]
        if seen:
            last = seen[-1]
            return {"desk": desk, "staffed": bool(last.fields["staffed"]), "since_us": last.wall_us,
                    "source": f"{desk}'s own sensor" if where == "here" else f"what {unit} heard from {desk}"}
    return {"desk": desk, "staffed": None, "since_us": None, "source": "no presence record before the ring"}


def pair_summary(units: list[dict], journals: list[JournalData]) -> dict:
    """What the auditor signs: the pair, the period, each verdict, and the numbers of the first two units."""
    pair, pair_data = units[:2], journals[:2]
    spans = [(u["first_us"], u["last_us"]) for u in units if u["first_us"] is not None]
    first = min((s[0] for s in spans), default=None)
    last = max((s[1] for s in spans), default=None)
    calls = pair_calls(pair)
    answered = [c for c in calls if c["outcome"] == "answered"]
    missed = [c for c in calls if c["outcome"] == "missed"]
    return {
        "units": [u["unit"] for u in pair],
        "first_us": first, "last_us": last,
        "first_utc": None if first is None else utc(first).isoformat(),
        "last_utc": None if last is None else utc(last).isoformat(),
        "verdicts": [{"unit": u["unit"], **u["verification"]} for u in units],
        "all_intact": all(u["verification"]["status"] == INTACT for u in units),
        "all_trusted": all(u["verification"]["trusted"] for u in units),
        "calls": len(calls), "rings": len(answered) + len(missed), "answered": len(answered),
        "missed": len(missed), "answer_rate": rate(len(answered), len(answered) + len(missed)),
        "time_to_answer": distribution([c["time_to_answer_ms"] for c in answered if "time_to_answer_ms" in c]),
        "missed_rings": [{**c, "sides": _sides(pair_data, pair, c["call_id"]),
                          "room": room_at(pair_data, pair, c["callee"], c["start_us"])} for c in missed],
        "unanswered_flash": [{"unit": u["unit"], **m} for u in pair for m in u["unanswered_flash"]],
        "link": [{"unit": u["unit"], **{k: u["link"][k] for k in ("availability", "outages", "down_s")}}
                 for u in pair],
        "gaps": [{"unit": u["unit"], **g} for u in units for g in u["verification"]["gaps"]],
        "recovered": [{"unit": u["unit"], **u["recovered"]} for u in units if u["recovered"]["records"]],
    }
