"""Property: any single deletion, duplication, swap or edit of an in-memory chain is caught near where it was made."""

import dataclasses

from hypothesis import given, settings, strategies as st

from terminal.journal import Checkpoint, Record, canonical, verify
from terminal.journal.signatures import SigningKeys

KEY = SigningKeys.generate()
PUBLIC = KEY.public
N = 30


def chain(n: int = N) -> tuple[list[Record], list[Checkpoint]]:
    records, prev = [], canonical.GENESIS_HASH
    for seq in range(1, n + 1):
        body = {"seq": seq, "wall_us": seq * 10**6, "mono_us": seq, "boot_id": "b", "kind": "missed",
                "call_id": f"c{seq}", "fields": {"rang_for_ms": seq}, "prev_hash": prev}
        prev = canonical.record_hash(body)
        records.append(Record(**body, hash=prev))
    last = records[-1]
    return records, [KEY.sign(last.seq, last.hash, 0)]


RECORDS, CHECKPOINTS = chain()


def test_the_untouched_chain_verifies():
    assert verify(RECORDS, CHECKPOINTS, PUBLIC).ok


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["delete", "duplicate", "swap", "edit_field", "edit_call", "edit_wall", "edit_prev"]),
       st.integers(0, N - 1), st.integers(1, 5))
def test_any_single_tampering_is_located(action, i, k):
    records = list(RECORDS)
    j = min(i + k, N - 1)
    if action == "delete":
        del records[i]
    elif action == "duplicate":
        records.insert(i, records[i])
    elif action == "swap":
        if i == j:
            return
        records[i], records[j] = records[j], records[i]
    else:
        column = {"edit_field": ("fields", {"rang_for_ms": 10**6}), "edit_call": ("call_id", "forged"),
                  "edit_wall": ("wall_us", 1), "edit_prev": ("prev_hash", "f" * 64)}[action]
        records[i] = dataclasses.replace(records[i], **dict([column]))
    verdict = verify(records, CHECKPOINTS, PUBLIC)
    assert not verdict.ok
    expected = {"delete": i + 2 if i < N - 1 else N,  # the next record names the gap; a lost last one, the checkpoint
                "swap": j + 1}.get(action, i + 1)  # a swap shows first as a gap where the later record came early
    assert verdict.problems[0].seq == expected, verdict.problems[0]
