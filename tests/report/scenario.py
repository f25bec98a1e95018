"""Two units' journals with a known history, for the report tests.

A calls B seven times over three ISO weeks (B answers after 4, 8, 12, 2 and
6 s and misses two), B calls A once (answered after 5 s), and A rings once
while the link is down, a call B never hears of. After each call both units
exchange their outcomes, as the daemon does.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from terminal.journal import summarize_call
from terminal.journal.store import public_key_bytes
from tests.journal.helpers import FakeClock, open_journal

DAY = 86_400
# (week, caller, answer_after seconds or None for a miss)
CALLS = [(0, "a", 4.0), (0, "a", 8.0), (0, "a", None), (1, "a", 12.0), (1, "a", 2.0), (1, "b", 5.0),
         (2, "a", 6.0), (2, "a", None)]
B_INCOMING_ANSWER_MS = [4200, 8200, 12200, 2200, 6200]
LINK_OUTAGE_S = 3600


def _ring(caller, callee, clock, cid, answer_after):
    caller.append("ring_started", call_id=cid, direction="outgoing")
    callee.append("ring_started", call_id=cid, direction="incoming")
    clock.advance(0.2)
    caller.append("peer_ringing", call_id=cid)
    if answer_after is None:
        clock.advance(30)
        callee.append("escalation", call_id=cid, step="secondary_alert")
        clock.advance(30)
        for j in (caller, callee):
            j.append("missed", call_id=cid, rang_for_ms=60_200)
        return
    clock.advance(answer_after)
    for j in (caller, callee):
        j.append("answered", call_id=cid, time_to_answer_ms=round((answer_after + 0.2) * 1000))
    clock.advance(90)
    for j, who in ((caller, "local"), (callee, "peer")):
        j.append("call_ended", call_id=cid, duration_ms=90_000, who_hung_up=who, frames_lost=4,
                 frames_concealed=3, frames_fec_recovered=2, jitter_us=5000)


def build(tmp: Path) -> dict:
    """Write a.db and b.db; returns paths and public keys."""
    clock = FakeClock()
    keys = {u: Ed25519PrivateKey.generate() for u in "ab"}
    j = {u: open_journal(tmp / f"{u}.db", keys[u], clock, unit=f"desk-{u}") for u in "ab"}
    for u in "ab":
        j[u].append("boot", version="1.0")
        j[u].append("link_up", path="primary")
    for n, (week, caller, answer_after) in enumerate(CALLS):
        target = clock.wall // 10**9
        clock.advance(max(0, (week * 7 + n % 3 + 1) * DAY - (target - 1_790_000_000)))
        for u in "ab":
            j[u].append("selftest", check="ringer", passed=True, detail="relay ok")
            j[u].append("selftest", check="audio_loopback", passed=n != 4, detail="snr 31 dB" if n != 4 else "no tone")
        cid = f"call-{n}"
        callee = "b" if caller == "a" else "a"
        _ring(j[caller], j[callee], clock, cid, answer_after)
        for u, other in (("a", "b"), ("b", "a")):
            j[u].append("peer_call_outcome", call_id=cid, **summarize_call(j[other].records(cid)))
        if n == 3:
            for u in "ab":
                j[u].append("link_down", reason="keepalive timeout")
            clock.advance(LINK_OUTAGE_S / 2)
            j["a"].append("ring_started", call_id="call-lost", direction="outgoing")
            clock.advance(20)
            j["a"].append("call_ended", call_id="call-lost", duration_ms=20_000, who_hung_up="local",
                          frames_lost=0, frames_concealed=0, frames_fec_recovered=0, jitter_us=0)
            clock.advance(LINK_OUTAGE_S / 2 - 20)
            for u in "ab":
                j[u].append("link_up", path="primary")
    clock.advance(DAY)
    for u in "ab":
        j[u].append("shutdown", reason="end of test")
        j[u].close()
    return {"paths": [tmp / "a.db", tmp / "b.db"], "keys": [public_key_bytes(keys[u]) for u in "ab"]}
