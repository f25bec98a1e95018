"""Words for the console: link and call status lines and message rows (pure)."""

from __future__ import annotations

import time

ARROWS = {"out": "→", "in": "←"}
STATE_WORDS = {"received": "UNREAD"}


def ago(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def link_line(status: dict | None, now: float) -> str:
    if status is None:
        return "Peer: status unknown (the daemon does not report it)"
    words = ["Peer: REACHABLE" if status.get("reachable") else "Peer: UNREACHABLE"]
    if status.get("last_heard") is not None:
        words.append(f"last heard {ago(max(0.0, now - status['last_heard']))}")
    else:
        words.append("never heard")
    if status.get("rtt") is not None:
        words.append(f"round trip {status['rtt'] * 1000:.0f} ms")
    return " · ".join(words)


def call_line(status: dict | None) -> str:
    if status is None:
        return "Call: status unknown"
    return f"Call: {str(status.get('state', 'unknown')).replace('_', ' ')}"


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


def message_row(message: dict) -> tuple[str, str, str, str, str]:
    first_line = message["text"].splitlines()[0] if message["text"] else ""
    return (clock_time(message["created"]), ARROWS.get(message["direction"], "?"),
            message["precedence"].upper(), STATE_WORDS.get(message["state"], message["state"]),
            first_line[:80])
