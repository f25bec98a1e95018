"""Property tests: records survive the JSON export and a reload with their hashes intact."""

import json

from hypothesis import given, strategies as st

from terminal.journal import canonical
from terminal.journal.record import Record

values = st.one_of(st.none(), st.booleans(), st.integers(-2**53, 2**53), st.text(max_size=20))
fields = st.dictionaries(st.text(min_size=1, max_size=10), values, max_size=6)


@st.composite
def records(draw):
    body = {
        "seq": draw(st.integers(1, 2**40)), "wall_us": draw(st.integers(0, 2**62)),
        "mono_us": draw(st.integers(0, 2**62)), "boot_id": draw(st.text(max_size=36)),
        "kind": draw(st.sampled_from(["boot", "missed", "selftest"])),
        "call_id": draw(st.one_of(st.none(), st.text(min_size=1, max_size=20))),
        "fields": draw(fields), "prev_hash": draw(st.text("0123456789abcdef", min_size=64, max_size=64)),
    }
    return Record(**body, hash=canonical.record_hash(body))


@given(records())
def test_record_survives_json_round_trip(rec):
    again = Record.from_dict(json.loads(json.dumps(rec.as_dict())))
    assert again == rec and again.computed_hash() == rec.hash


@given(fields)
def test_canonical_encoding_is_stable_under_reparse(f):
    once = canonical.encode(f)
    assert canonical.encode(json.loads(once)) == once


@given(records(), st.sampled_from(["seq", "wall_us", "mono_us", "boot_id", "kind", "call_id", "prev_hash"]))
def test_changing_any_column_changes_the_hash(rec, column):
    body = rec.body()
    old = body[column]
    body[column] = old + 1 if isinstance(old, int) else ("x" if old != "x" else "y")
    assert canonical.record_hash(body) != rec.hash
