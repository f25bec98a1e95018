"""`hotline status`: what a technician types first over ssh. One screen, from the daemon's
control socket (`unit.status`): state and why, peer and last heard, call, unread messages,
missed calls, the last self-test, the journal, the version. Exit 0 on line, 1 unprovisioned
or off line, 3 when no daemon answers (as `systemctl status` does for a stopped unit)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json

from terminal import __version__
from terminal.control.client import ControlClient
from terminal.control.protocol import DEFAULT_SOCKET, ControlError

DEFAULT_CONFIG = "/etc/hotline/hotline.toml"


def register(subparsers) -> None:
    p = subparsers.add_parser("status", help="the unit's state: on line, off line and why, or unprovisioned")
    p.add_argument("--socket", help=f"the daemon's control socket (default: from --config, else {DEFAULT_SOCKET})")
    p.add_argument("--config", default=DEFAULT_CONFIG, help=f"the unit's config (default {DEFAULT_CONFIG})")
    p.add_argument("--json", action="store_true", help="print the status as one JSON object")
    p.set_defaults(func=cmd_status)


def _socket(args) -> str:
    if args.socket:
        return args.socket
    from terminal import config as config_mod
    from terminal.errors import ConfigError
    try:
        return str(config_mod.load(args.config).control.socket)
    except ConfigError:      # the daemon serves a broken config's socket too, as far as it can be read
        return str(config_mod.salvage(args.config).control.socket)


def ask(socket: str) -> dict:
    async def go():
        async with ControlClient(socket) as client:
            return await client.call("unit.status")
    return asyncio.run(go())


def cmd_status(args: argparse.Namespace) -> int:
    socket = _socket(args)
    try:
        status = ask(socket)
    except (OSError, ConnectionError, ControlError) as exc:
        if isinstance(exc, ControlError) and exc.code != "unavailable":
            raise
        status = {"state": "not running", "reason": f"no daemon answers on {socket} ({exc})",
                  "version": __version__}
        print(json.dumps(status) if args.json else describe(status))
        return 3
    print(json.dumps(status) if args.json else describe(status))
    return 0 if status.get("state") == "on line" else 1


def _when(seconds: float | None, now: float) -> str:
    if seconds is None:
        return "never"
    at = dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{at} ({max(0, now - seconds):.0f} s ago)"


def describe(s: dict, now: float | None = None) -> str:
    import time
    now = time.time() if now is None else now
    head = f"{s.get('unit', 'unit')}: {s['state']}" + (f": {s['reason']}" if s.get("reason") else "")
    if "since" in s:
        head += f" (since {_when(s['since'], now)})"
    lines = [head]
    peer = s.get("peer")
    if peer:
        if peer["reachable"]:
            rtt = f", round trip {peer['rtt'] * 1000:.0f} ms" if peer.get("rtt") is not None else ""
            lines.append(f"peer {peer['id']}: reachable via {peer['endpoint']}, last heard "
                         f"{_when(peer['last_heard'], now)}{rtt}")
        else:
            lines.append(f"peer {peer['id']}: UNREACHABLE, last heard {_when(peer['last_heard'], now)}")
    presence = s.get("presence")
    if presence:
        far, here = presence.get("far") or {}, presence.get("here") or {}
        if not far.get("known"):
            far_words = "not reported yet"
        elif far.get("staffed") is None:
            far_words = "no presence sensor there"
        elif far["staffed"]:
            far_words = f"STAFFED (someone seen {far['last_motion_ago']:.0f} s ago)"
        else:
            motion = far.get("last_motion_ago")
            far_words = "NOBODY SEEN" + (f" for {motion:.0f} s" if motion is not None else " since it started")
        here_words = ("no sensor" if not here.get("sensor") else "staffed" if here.get("staffed") else "nobody seen")
        lines.append(f"far desk: {far_words}; this desk: {here_words}; link LED {s.get('link_led', '?')}")
    link = s.get("link")
    if link:
        for path in link["paths"]:
            rtt = f", round trip {path['rtt_ms']:.0f} ms" if path["rtt_ms"] is not None and path["state"] == "up" else ""
            loss = f", loss {path['loss'] * 100:.0f} %" if path["loss"] is not None else ""
            kind = "configured" if path["configured"] else "learned"
            best = " (best)" if path["best"] and path["state"] == "up" else ""
            lines.append(f"  path {path['endpoint']} ({kind}): {path['state'].upper() if path['state'] == 'down' else path['state']}"
                         f"{best}{rtt}{loss}")
        if link.get("mode"):
            lines.append(f"  keys: {link['mode']}" + (" (the first after pairing: no service data on them)"
                                                     if link["mode"] == "classical" else ""))
        drops = link["drops"]
        lines.append("link drops: " + (", ".join(f"{n} {reason}" for reason, n in drops.items()) if drops else "none")
                     + f"; {link['duplicates']} duplicate(s) from redundant paths"
                     + (f"; {link['cookie_replies_sent']} cookie replies sent (under load)"
                        if link["cookie_replies_sent"] else ""))
    if "call" in s:
        lines.append(f"call: {s['call']}")
        lines.append(f"messages: {s['unread_messages']} unread")
        missed = s.get("missed_calls") or []
        waiting = [m for m in missed if not m["acknowledged"]]
        if waiting:
            lines.append(f"missed calls: {len(waiting)} not acknowledged, the latest at {_when(waiting[0]['at'], now)}")
        elif s["missed_call_shown"]:
            lines.append("missed call: shown, not yet acknowledged")
        else:
            lines.append("missed call: none" + (f" waiting ({len(missed)} seen)" if missed else ""))
        if s.get("voice_messages_waiting"):
            lines.append(f"voice messages: {s['voice_messages_waiting']} waiting")
        if s.get("metrics"):
            lines.append(f"metrics: {s['metrics']}")
    test = s.get("last_selftest")
    if test:
        result = "passed" if test["passed"] else "FAILED: " + ", ".join(test["failed"])
        lines.append(f"last self-test ({test['kind']}): {result}, {_when(test['at'], now)}")
    journal = s.get("journal")
    if journal:
        state = "signing" if journal["signing"] else "NOT SIGNING (changed behind the unit's back)"
        fault = f"; FAULT: {journal['fault']}" if journal["fault"] else ""
        verdict = (f"{journal['verdict']} at start ({journal['unsigned']} unsigned), "
                   if "verdict" in journal else "")
        lines.append(f"journal: {verdict}{state}, {journal['lost_records']} record(s) lost, "
                     f"{journal['witnessed_by_peer']} checkpoint(s) witnessed by the peer this run{fault}")
    if s.get("message_store_fault"):
        lines.append(f"message store: FAULT: {s['message_store_fault']}")
    if s.get("scheduling"):
        lines.append(f"cpu priority: {s['scheduling']}")
    lines.append(f"version {s.get('version', '?')}")
    return "\n".join(lines)
