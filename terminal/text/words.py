"""How a message and a time are written for a person: `hotline msg list` and the console (pure).

A time is in the unit's zone with the zone's name, or in UTC; the journal is UTC, so the
zone is always shown.
"""

from __future__ import annotations

import time

ARROWS = {"out": "→", "in": "←"}
STATE_WORDS = {"received": "UNREAD"}


def clock_time(at: float | None, utc: bool = False) -> str:
    """A wall time in this unit's zone (or UTC), the zone always shown: the journal is UTC."""
    if at is None:
        return "-"
    if utc:
        return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at))
    return time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(at))


LIST_HEADER = (f"{'ID':<8}  {'WRITTEN':<23}  {'':1} {'PRECEDENCE':<10} {'STATE':<9} "
               f"{'SENT':<23}  {'DELIVERED':<23}  {'READ':<23}  TEXT")


def list_line(message: dict, *, utc: bool = False) -> str:
    """One `hotline msg list` row: id, written, direction, precedence, state, sent, delivered, read, text."""
    first = message["text"].splitlines()[0] if message["text"] else ""
    sent = message["sent_at"] if message["direction"] == "out" else message["created"]
    return (f"{message['id'][:8]}  {clock_time(message['created'], utc):<23}  "
            f"{ARROWS.get(message['direction'], '?')} {message['precedence'].upper():<10} "
            f"{STATE_WORDS.get(message['state'], message['state']).upper():<9} {clock_time(sent, utc):<23}  "
            f"{clock_time(message['delivered_at'], utc):<23}  {clock_time(message['read_at'], utc):<23}  {first[:60]}")
