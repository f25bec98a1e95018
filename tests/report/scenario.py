"""Two units' journals with a known history, for the report tests.

A calls B seven times over three ISO weeks (B answers after 4, 8, 12, 2 and
6 s and misses two), B calls A once (answered after 5 s), and A rings once
while the link is down, a call B never hears of. After each call both units
exchange their outcomes and witness each other's latest signed checkpoint,
as the daemon does.

Then A sends B two FLASH messages: B reads the first, but is killed before
journalling the read, which it writes late at start-up from its text store
(`recovered`); the second B never reads. Last, A's disk fills: two self-test
results are lost, and A journals a `gap` saying so once it can write again.
Each unit has real keys and an identity bundle, as `hotline-host export` writes it.
"""

from __future__ import annotations

from pathlib import Path

import json

from terminal.journal import summarize_call
from terminal.journal.audit import key_from_bundle
from terminal.keys import generate_keys
from terminal.provisioning.bundle import make_bundle
from tests.journal.helpers import FakeClock, open_journal

DAY = 86_400
# (week, caller, answer_after seconds or None for a miss)
CALLS = [(0, "a", 4.0), (0, "a", 8.0), (0, "a", None), (1, "a", 12.0), (1, "a", 2.0), (1, "b", 5.0),
         (2, "a", 6.0), (2, "a", None)]
B_INCOMING_ANSWER_MS = [4200, 8200, 12200, 2200, 6200]
LINK_OUTAGE_S = 3600
WITNESS_EXCHANGES = len(CALLS) + 1      # after each call, and once at the end
FLASH_READ, FLASH_UNREAD = "flash-read-late", "flash-never-read"
GAP = {"lost": 2, "kinds": "selftest:2", "reason": "OSError: [Errno 28] No space left on device"}
GAP_S = 600


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


def _witness(j, signers):
    """Each unit journals the other's latest signed checkpoint (a `peer_checkpoint` record)."""
    for u, other in (("a", "b"), ("b", "a")):
        cp = j[other].last_checkpoint
        j[u].append("peer_checkpoint", seq=cp.seq, hash=cp.hash, wall_us=cp.wall_us, signature=cp.signature,
                    mldsa_signature=cp.mldsa_signature, signer=signers[other])


def _messages(j, clock):
    def send(mid):
        for kind in ("message_queued", "message_sent"):
            j["a"].append(kind, message_id=mid, direction="outgoing", precedence="FLASH")
        clock.advance(0.5)
        j["b"].append("message_delivered", message_id=mid, direction="incoming", precedence="FLASH")
        j["a"].append("message_delivered", message_id=mid, direction="outgoing")

    send(FLASH_READ)
    clock.advance(20)   # B's duty officer reads it; B is killed before the journal append, and restarts
    j["b"].append("boot", version="1.0")
    j["b"].append("message_read", message_id=FLASH_READ, direction="incoming", precedence="FLASH", recovered=True)
    j["b"].append("recovered", count=1, source="text store")
    j["b"].append("link_up", path="primary")
    j["a"].append("message_read", message_id=FLASH_READ, direction="outgoing")
    clock.advance(60)
    send(FLASH_UNREAD)


def build(tmp: Path) -> dict:
    """Write a.db and b.db and both units' bundles; returns paths, keys, bundles and fingerprints."""
    clock = FakeClock()
    keys = {u: generate_keys(tmp / f"keys-{u}") for u in "ab"}
    bundles = {u: tmp / f"{u}.bundle.json" for u in "ab"}
    for n, u in enumerate("ab"):
        bundles[u].write_text(json.dumps(make_bundle(keys[u], f"desk-{u}", [f"192.0.2.{n + 1}:4870"], "pair-1")))
    signers = {u: keys[u].identity.signing_public.hex() for u in "ab"}
    j = {u: open_journal(tmp / f"{u}.db", keys[u].journal_signer, clock, unit=f"desk-{u}",
                         static_public=keys[u].identity.static_public, mlkem_public=keys[u].identity.mlkem_public)
         for u in "ab"}
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
        _witness(j, signers)
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
    clock.advance(3600)
    _messages(j, clock)
    gap_from = clock.wall // 1000
    clock.advance(GAP_S)
    j["a"].append("gap", from_us=gap_from, to_us=clock.wall // 1000, **GAP)
    _witness(j, signers)
    clock.advance(DAY)
    for u in "ab":
        j[u].append("shutdown", reason="end of test")
        j[u].close()
    return {"paths": [tmp / "a.db", tmp / "b.db"], "keys": [keys[u].identity.signing_public for u in "ab"],
            "identities": [keys[u].identity for u in "ab"],
            "bundles": [bundles[u] for u in "ab"], "expected": [key_from_bundle(bundles[u]) for u in "ab"],
            "fingerprints": [keys[u].identity.fingerprint for u in "ab"]}


def built_report(tmp: Path) -> dict:
    """The scenario's journals and the report built from them, verified against the bundles."""
    from host.report import build_report

    s = build(tmp)
    s["html"] = tmp / "report.html"
    s["summary"] = build_report(s["paths"], s["html"], s["expected"])
    s["tmp"] = tmp
    return s
