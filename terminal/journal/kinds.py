"""The record kinds: which fields each carries, and the check every append passes.

Values are strings, whole numbers and booleans only (no floats, so the
canonical encoding is exact); times and durations are whole milliseconds or
microseconds, named by their unit. Unknown kinds and unknown fields are
refused, so a typo never writes a record the reports cannot read.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Callable

from terminal.journal.errors import JournalFieldError


@dataclass(frozen=True)
class Type:
    """A field's type: a name for messages and a check."""

    name: str
    check: Callable[[Any], bool]


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


TEXT = Type("a string", lambda v: isinstance(v, str))
INT = Type("a whole number", _is_int)
COUNT = Type("a whole number >= 0", lambda v: _is_int(v) and v >= 0)
FLAG = Type("true or false", lambda v: isinstance(v, bool))


def one_of(*choices: str) -> Type:
    return Type("one of " + ", ".join(choices), lambda v: v in choices)


DIRECTION = one_of("outgoing", "incoming")
SIDE = one_of("local", "peer", "link")
PRECEDENCE = one_of("FLASH", "IMMEDIATE", "PRIORITY", "ROUTINE")
OUTCOME = one_of("answered", "missed", "abandoned", "incomplete")


@dataclass(frozen=True)
class Kind:
    """One record kind. `call` is "required" or "optional" (the call id column)."""

    call: str
    required: dict[str, Type] = field(default_factory=dict)
    optional: dict[str, Type] = field(default_factory=dict)


_MESSAGE = {"message_id": TEXT}
_MESSAGE_OPTIONAL = {"precedence": PRECEDENCE, "direction": DIRECTION, "recovered": FLAG}

KINDS: dict[str, Kind] = {
    "ring_started": Kind("required", {"direction": DIRECTION}),
    "peer_ringing": Kind("required"),
    "answered": Kind("required", {"time_to_answer_ms": COUNT}, {"answered_by": SIDE}),
    "missed": Kind("required", {"rang_for_ms": COUNT}),
    "escalation": Kind("required", {"step": TEXT}, {"detail": TEXT}),
    # An off-hook attempt that never made the peer ring (it stayed unreachable).
    "call_failed": Kind("required", {"reason": TEXT, "tried_for_ms": COUNT}),
    "call_ended": Kind("required", {
        "duration_ms": COUNT,
        "who_hung_up": SIDE,
        "frames_lost": COUNT,
        "frames_concealed": COUNT,
        "frames_fec_recovered": COUNT,
        "jitter_us": COUNT,
    }),
    # The peer's own summary of a call (see outcome.summarize_call), from the
    # peer's point of view: "local" in who_hung_up means the peer.
    "peer_call_outcome": Kind("required", {"outcome": OUTCOME}, {
        "direction": DIRECTION,
        "time_to_answer_ms": COUNT,
        "rang_for_ms": COUNT,
        "duration_ms": COUNT,
        "who_hung_up": SIDE,
        "escalations": COUNT,
        "peer_seq": COUNT,
        "recovered": FLAG,
    }),
    "link_up": Kind("optional", {}, {"path": TEXT}),
    "link_down": Kind("optional", {}, {"reason": TEXT}),
    # The keys the link now uses: "classical" (the first after pairing, which carry no service
    # data) or "hybrid-mlkem768" (X25519 and the post-quantum ratchet, terminal/link/pq.py).
    "link_mode": Kind("optional", {"mode": one_of("classical", "hybrid-mlkem768")}),
    # A desk became staffed or not: "here" from this unit's PIR, "far" as the peer reported its own.
    "presence": Kind("optional", {"where": one_of("here", "far"), "staffed": FLAG}, {"motion_age_ms": COUNT}),
    # Datagrams the link dropped in one span (at most one record a minute while drops go on):
    # how many, per reason ("bad_mac:12,under_load:3000"), and the span.
    "link_drops": Kind("optional", {"dropped": COUNT, "reasons": TEXT, "from_us": INT, "to_us": INT}),
    "message_queued": Kind("optional", _MESSAGE, _MESSAGE_OPTIONAL),
    "message_sent": Kind("optional", _MESSAGE, _MESSAGE_OPTIONAL),
    "message_delivered": Kind("optional", _MESSAGE, _MESSAGE_OPTIONAL),
    "message_read": Kind("optional", _MESSAGE, _MESSAGE_OPTIONAL),
    "selftest": Kind("optional", {"check": TEXT, "passed": FLAG, "detail": TEXT}),
    "provisioning": Kind("optional", {"change": TEXT}, {"detail": TEXT}),
    "boot": Kind("optional", {}, {"version": TEXT}),
    "shutdown": Kind("optional", {}, {"reason": TEXT}),
    # Written by the journal itself when wall time jumps against monotonic time.
    "clock_step": Kind("optional", {"step_us": INT}),
    # The peer's signed checkpoint, as it sent it: this unit witnesses the peer's journal
    # (terminal/journal/verify.py checks the peer's journal against these).
    # mldsa_signature (base64) is absent only in a checkpoint from firmware before ML-DSA-65.
    "peer_checkpoint": Kind("optional", {"seq": COUNT, "hash": TEXT, "wall_us": INT, "signature": TEXT,
                                         "signer": TEXT}, {"mldsa_signature": TEXT, "peer": TEXT,
                                                           "recovered": FLAG}),
    # Appends the unit could not write (disk full, I/O error), said as soon as it could write again:
    # how many, which kinds ("ring_started:1,answered:1"), their time span and why.
    "gap": Kind("optional", {"lost": COUNT, "kinds": TEXT, "from_us": INT, "to_us": INT, "reason": TEXT}),
    # Records the unit found missing at start (killed between a store's commit and its journal
    # append) and wrote from the store that did commit; the records themselves carry recovered=true.
    "recovered": Kind("optional", {"count": COUNT, "source": TEXT}),
}

MAX_CALL_ID = 128


def check_record(kind: str, call_id: str | None, fields: dict) -> None:
    """Raise JournalFieldError naming the first thing wrong, or return None."""
    spec = KINDS.get(kind)
    if spec is None:
        near = difflib.get_close_matches(str(kind), KINDS, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise JournalFieldError(f"unknown record kind {kind!r}{hint}")
    if call_id is None:
        if spec.call == "required":
            raise JournalFieldError(f"{kind}: a call id is required")
    elif not isinstance(call_id, str) or not 0 < len(call_id) <= MAX_CALL_ID:
        raise JournalFieldError(f"{kind}: call id must be a string of 1 to {MAX_CALL_ID} characters, got {call_id!r}")
    if not isinstance(fields, dict):
        raise JournalFieldError(f"{kind}: fields must be a dict, got {type(fields).__name__}")
    for name in spec.required:
        if name not in fields:
            raise JournalFieldError(f"{kind}: missing field {name!r}")
    for name, value in fields.items():
        wanted = spec.required.get(name) or spec.optional.get(name)
        if wanted is None:
            known = [*spec.required, *spec.optional]
            near = difflib.get_close_matches(str(name), known, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else f" (known: {', '.join(known) or 'none'})"
            raise JournalFieldError(f"{kind}: unknown field {name!r}{hint}")
        if not wanted.check(value):
            raise JournalFieldError(f"{kind}: field {name!r} must be {wanted.name}, got {value!r}")
