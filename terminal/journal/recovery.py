"""Records a killed unit owes its journal, from the stores that did commit (pure).

The text and records stores commit before anything is acknowledged (a control
socket's answer, a receipt to the peer), and the journal append follows in the
journal's own thread. A kill -9 between the two leaves a message the store
knows and the journal does not. At start, before anything new happens, the unit
compares the two and journals what is missing, each record marked
`recovered=true` and followed by one `recovered` record saying how many and
from where, so an auditor sees both the event and that it was written late.
"""

from __future__ import annotations

import json
from typing import Iterable

from terminal.journal.signatures import ED25519_SIGNATURE_LEN, decode_mldsa

# outgoing state -> the journal kinds a message in that state has been through
_OUTGOING = {
    "queued": ("message_queued",),
    "sent": ("message_queued", "message_sent"),
    "delivered": ("message_queued", "message_sent", "message_delivered"),
    "read": ("message_queued", "message_sent", "message_delivered", "message_read"),
}
_INCOMING = {"received": ("message_delivered",), "read": ("message_delivered", "message_read")}
TEXT_KINDS = ("message_queued", "message_sent", "message_delivered", "message_read")
RECORDS_KINDS = ("peer_call_outcome", "peer_checkpoint")

Entry = tuple[str, str | None, dict]


def journalled_text(records: Iterable) -> set[tuple[str, str, str]]:
    """(kind, message id, direction) of every message record a journal holds."""
    return {(r.kind, r.fields.get("message_id"), r.fields.get("direction")) for r in records
            if r.kind in TEXT_KINDS}


def missing_text(messages: Iterable, journalled: set[tuple[str, str, str]]) -> list[Entry]:
    """Message records the journal lacks for `messages` (text store rows: id, direction 'out'/'in',
    state, precedence)."""
    out = []
    for m in messages:
        direction, kinds = (("outgoing", _OUTGOING) if m.direction == "out" else ("incoming", _INCOMING))
        for kind in kinds.get(m.state, ()):
            if (kind, m.id, direction) not in journalled:
                out.append((kind, None, {"message_id": m.id, "direction": direction,
                                         "precedence": m.precedence.name, "recovered": True}))
    return out


def checkpoint_fields(item: dict) -> dict:
    """peer_checkpoint fields from a witnessed-checkpoint item of the records channel
    (KeyError, TypeError or ValueError, saying which field, if it is malformed).

    The signatures' sizes are checked here, since nothing else on the receiving side can:
    the witness does not hold the peer's keys' trust, it keeps what it was sent for the auditor."""
    fields = {name: item[name] for name in ("seq", "hash", "wall_us", "signature", "signer")}
    if not all(isinstance(fields[n], str) for n in ("hash", "signature", "signer")):
        raise TypeError("checkpoint hash, signature and signer must be strings")
    if len(fields["signature"]) != 2 * ED25519_SIGNATURE_LEN:
        raise ValueError(f"witnessed checkpoint {fields['seq']!r}: signature is {len(fields['signature'])} hex "
                         f"characters; expected {2 * ED25519_SIGNATURE_LEN}")
    if item.get("mldsa_signature") is not None:
        raw, bad = decode_mldsa(item["mldsa_signature"])
        if bad is not None:
            raise ValueError(f"witnessed checkpoint {fields['seq']!r}: mldsa_signature is {bad}")
        fields["mldsa_signature"] = item["mldsa_signature"]
    return fields


def journalled_records(records: Iterable) -> set[tuple]:
    """What a journal holds of the records channel: call outcomes by call, checkpoints by signer and seq."""
    held = set()
    for r in records:
        if r.kind == "peer_call_outcome":
            held.add(("outcome", r.call_id))
        elif r.kind == "peer_checkpoint":
            held.add(("checkpoint", r.fields.get("signer"), r.fields.get("seq")))
    return held


def missing_records(items: Iterable[str], held: set[tuple]) -> list[Entry]:
    """peer_call_outcome and peer_checkpoint records the journal lacks for the records channel's
    received items (their JSON text); items that are not well-formed are skipped."""
    out = []
    for text in items:
        try:
            item = json.loads(text)
            if item.get("t") == "outcome" and ("outcome", str(item["call_id"])) not in held:
                out.append(("peer_call_outcome", str(item["call_id"]), {**item["fields"], "recovered": True}))
            elif item.get("t") == "checkpoint":
                fields = checkpoint_fields(item)
                if ("checkpoint", fields["signer"], fields["seq"]) not in held:
                    out.append(("peer_checkpoint", None, {**fields, "recovered": True}))
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
    return out
