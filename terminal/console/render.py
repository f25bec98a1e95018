"""Words for the console and `hotline msg list`: status lines, the alert banner, message rows (pure).

Every function takes the daemon's `unit.status` (or a part of it) and `now` (Unix time)
and returns (text, style class). A time is shown in the unit's zone with the zone's name,
or in UTC; the journal is UTC, so the zone is always on screen.
"""

from __future__ import annotations

import time

from terminal.text.words import ARROWS, STATE_WORDS, clock_time


def ago(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def span(seconds: float) -> str:
    return ago(seconds)[:-4]


def short_time(at: float, utc: bool = False) -> str:
    if utc:
        return time.strftime("%H:%M:%S UTC", time.gmtime(at))
    return time.strftime("%H:%M:%S %Z", time.localtime(at))


def peer_line(status: dict | None, now: float, utc: bool = False) -> tuple[str, str]:
    """Green while reachable with when last heard; red UNREACHABLE with since when; never a stale RTT."""
    peer = (status or {}).get("peer")
    if not peer:
        return "Peer: status unknown (the daemon does not report it)", "unknown"
    name = f"Peer {peer['id']}" if peer.get("id") else "Peer"
    if peer.get("reachable"):
        words = [f"{name}: REACHABLE"]
        if peer.get("last_heard") is not None:
            words.append(f"last heard {ago(max(0.0, now - peer['last_heard']))}")
        if peer.get("rtt") is not None:
            words.append(f"round trip {peer['rtt'] * 1000:.0f} ms")
        return " · ".join(words), "ok"
    since = peer.get("unreachable_since")
    if since is not None:
        return f"{name}: UNREACHABLE since {short_time(since, utc)} ({span(max(0.0, now - since))})", "bad"
    heard = peer.get("last_heard")
    return f"{name}: UNREACHABLE · " + (f"last heard {ago(max(0.0, now - heard))}" if heard else "never heard"), "bad"


def far_desk_line(status: dict | None) -> tuple[str, str]:
    far = ((status or {}).get("presence") or {}).get("far")
    if not far or not far.get("known"):
        return "Far desk: not reported yet", "unknown"
    if far.get("staffed") is None:
        return "Far desk: no presence sensor there", "unknown"
    motion = far.get("last_motion_ago")
    if far["staffed"]:
        return f"Far desk: STAFFED (someone seen {ago(motion)})", "ok"
    if motion is None:
        return "Far desk: NOBODY SEEN since it started", "warn"
    return f"Far desk: NOBODY SEEN for {span(motion)}", "warn"


def call_line(status: dict | None) -> tuple[str, str]:
    call = (status or {}).get("call")
    if call is None:
        return "Call: status unknown", "unknown"
    state = str(call).replace("_", " ")
    return f"Call: {state}", "active" if call != "idle" else "ok"


def missed_line(status: dict | None, utc: bool = False) -> tuple[str, str]:
    missed = (status or {}).get("missed_calls") or []
    if not missed:
        return "Missed calls: none", "ok"
    shown = [f"{short_time(m['at'], utc)} " + ("(seen)" if m["acknowledged"] else "NOT ACKNOWLEDGED — press M")
             for m in missed[:3]]
    more = f" and {len(missed) - 3} earlier" if len(missed) > 3 else ""
    waiting = any(not m["acknowledged"] for m in missed)
    return "Missed calls: " + "; ".join(shown) + more, "bad" if waiting else "ok"


def voice_line(status: dict | None) -> tuple[str, str]:
    n = (status or {}).get("voice_messages_waiting") or 0
    if not n:
        return "Voice messages: none waiting", "ok"
    return f"Voice messages: {n} waiting — lift the handset to hear", "warn"


def health_line(status: dict | None, utc: bool = False) -> tuple[str, str]:
    """Unit faults and the last self-test, with each link path's result."""
    status = status or {}
    faults = []
    journal = status.get("journal") or {}
    if journal.get("fault"):
        faults.append(f"journal: {journal['fault']}")
    if journal and not journal.get("signing", True):
        faults.append("journal NOT SIGNING")
    if status.get("message_store_fault"):
        faults.append("messages held, not on the card: restart the unit")
    if status.get("state") and status["state"] != "on line":
        faults.append(f"{status['state']}: {status.get('reason', '')}".rstrip(": "))
    test = status.get("last_selftest")
    paths = []
    if test:
        failed = test.get("failed") or []
        if failed:
            faults.append("self-test FAILED: " + ", ".join(failed))
        for result in test.get("results", []):
            if result["name"].startswith("link_"):
                paths.append(f"{result['name'][5:]} {'ok' if result['passed'] else 'FAILED'}")
        when = f"last self-test {short_time(test['at'], utc)}"
    else:
        when = "no self-test yet"
    tail = f" ({', '.join(paths)})" if paths else ""
    if faults:
        return "FAULT: " + "; ".join(faults) + f" · {when}{tail}", "bad"
    return f"Unit: OK · {when} passed{tail}", "ok"


def banner(status: dict | None, now: float, utc: bool = False) -> tuple[str, str] | None:
    """The takeover for the oldest unread FLASH (else IMMEDIATE): (text, precedence), or None."""
    urgent = (status or {}).get("urgent_unread") or []
    if not urgent:
        return None
    flash = [m for m in urgent if m["precedence"] == "flash"]
    message = (flash or urgent)[0]
    first = message["text"].splitlines()[0] if message["text"] else ""
    counts = (status or {}).get("unread_by_precedence") or {}
    total = sum(counts.get(p, {}).get("count", 0) for p in ("flash", "immediate")) or len(urgent)
    others = total - 1
    more = f" (+{others} more urgent)" if others else ""
    return (f"{message['precedence'].upper()} from the far desk, written {short_time(message['created'], utc)}, "
            f"waiting {span(max(0.0, now - message['received_at']))}{more}: {first[:90]}   — press A to acknowledge",
            message["precedence"])


def message_row(message: dict, utc: bool = False) -> tuple[str, str, str, str, str]:
    first_line = message["text"].splitlines()[0] if message["text"] else ""
    return (clock_time(message["created"], utc), ARROWS.get(message["direction"], "?"),
            message["precedence"].upper(), STATE_WORDS.get(message["state"], message["state"]),
            first_line[:80])
