"""Records and checkpoints as small value classes, with their dict form.

The dict form is what the JSON export holds and what the loaders build from;
`Record.from_dict` and `Checkpoint.from_dict` check types and say which
record is malformed, so a damaged export is reported, not crashed on.
"""

from __future__ import annotations

from dataclasses import dataclass

from terminal.journal import canonical
from terminal.journal.errors import JournalFormatError

RECORD_COLUMNS = ("seq", "wall_us", "mono_us", "boot_id", "kind", "call_id", "fields", "prev_hash", "hash")
CHECKPOINT_COLUMNS = ("seq", "hash", "wall_us", "signature", "mldsa_signature")


def _int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _str(v) -> bool:
    return isinstance(v, str)


_RECORD_TYPES = {
    "seq": _int, "wall_us": _int, "mono_us": _int, "boot_id": _str, "kind": _str,
    "call_id": lambda v: v is None or isinstance(v, str), "fields": lambda v: isinstance(v, dict),
    "prev_hash": _str, "hash": _str,
}
_CHECKPOINT_TYPES = {"seq": _int, "hash": _str, "wall_us": _int}
# A signature left out (or null) is read as missing, for the verifier to name, not refused here.
_OPTIONAL_CHECKPOINT_TYPES = {"signature": lambda v: v is None or isinstance(v, str),
                              "mldsa_signature": lambda v: v is None or isinstance(v, str)}


def _typed(d, types: dict, what: str, optional: dict | None = None) -> dict:
    if not isinstance(d, dict):
        raise JournalFormatError(f"{what}: expected an object, got {type(d).__name__}")
    for name, ok in types.items():
        if name not in d:
            raise JournalFormatError(f"{what}: missing {name!r}")
        if not ok(d[name]):
            raise JournalFormatError(f"{what}: {name!r} has the wrong type ({d[name]!r})")
    for name, ok in (optional or {}).items():
        if not ok(d.get(name)):
            raise JournalFormatError(f"{what}: {name!r} has the wrong type ({_short(d[name])})")
    return d


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True, slots=True)
class Record:
    """One journal entry. `hash` covers every other attribute (see canonical)."""

    seq: int
    wall_us: int
    mono_us: int
    boot_id: str
    kind: str
    call_id: str | None
    fields: dict
    prev_hash: str
    hash: str

    def body(self) -> dict:
        return {
            "seq": self.seq, "wall_us": self.wall_us, "mono_us": self.mono_us, "boot_id": self.boot_id,
            "kind": self.kind, "call_id": self.call_id, "fields": self.fields, "prev_hash": self.prev_hash,
        }

    def computed_hash(self) -> str:
        return canonical.record_hash(self.body())

    def as_dict(self) -> dict:
        return {**self.body(), "hash": self.hash}

    @classmethod
    def from_dict(cls, d, where: str = "record") -> Record:
        d = _typed(d, _RECORD_TYPES, where)
        return cls(**{name: d[name] for name in RECORD_COLUMNS})


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The unit's signatures over (seq, hash of record seq, wall time): Ed25519 and, in a
    hybrid checkpoint, ML-DSA-65 over the same bytes (terminal/journal/signatures.py)."""

    seq: int
    hash: str
    wall_us: int
    signature: str                        # Ed25519, hex ("" when it is missing)
    mldsa_signature: str | None = None    # ML-DSA-65, base64; None in an Ed25519-only checkpoint

    @property
    def hybrid(self) -> bool:
        """Does it carry an ML-DSA-65 signature (whether or not it verifies)?"""
        return self.mldsa_signature not in (None, "")

    def message(self) -> bytes:
        return canonical.checkpoint_message(self.seq, self.hash, self.wall_us, hybrid=self.hybrid)

    def as_dict(self) -> dict:
        return {"seq": self.seq, "hash": self.hash, "wall_us": self.wall_us, "signature": self.signature,
                "mldsa_signature": self.mldsa_signature}

    @classmethod
    def from_dict(cls, d, where: str = "checkpoint") -> Checkpoint:
        d = _typed(d, _CHECKPOINT_TYPES, where, _OPTIONAL_CHECKPOINT_TYPES)
        return cls(d["seq"], d["hash"], d["wall_us"], d.get("signature") or "", d.get("mldsa_signature"))
