"""The simulated pair's scenario and its summary.

Both units run the daemon's own Unit on real loopback UDP sockets; only the
keys and configs are made here. The summary is one JSON object whose keys
later layers add to (handshake, echo, ...).
"""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
from pathlib import Path

from terminal import config as config_mod
from terminal.daemon.unit import Unit
from terminal.errors import HotlineError
from terminal.keys import load_keys
from terminal.link.events import HandshakeCompleted, PeerReachable
from terminal.link.noise import public_bytes
from terminal.link.session import LinkSession
from terminal.control.client import ControlClient
from terminal.sim.provision import provision_pair
from terminal.text import events as text_events
from terminal.text.tally import TextTally

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey


class SimFailure(HotlineError):
    """The simulated pair did not do what a healthy pair does."""


def load_unit(config_path: Path) -> Unit:
    cfg = config_mod.load(config_path)
    return Unit(cfg, load_keys(cfg.unit.key_dir))


def _hostile_datagrams(target: Unit) -> list[bytes]:
    """What an attacker on the path might send: garbage, a stranger's initiation, forged transport."""
    stranger = LinkSession(
        static=X25519PrivateKey.generate(), peer_static=public_bytes(target.keys.static),
        endpoints=[("127.0.0.1", 9)], pairing_id=target.config.link.pairing_id,
    )
    stranger.start(0.0)
    (initiation, _), = stranger.datagrams_to_send(0.0)
    return [
        b"",
        os.urandom(64),
        b"\x04\x00\x00\x00" + os.urandom(60),          # transport for keys nobody has
        initiation,                                     # a well-formed initiation from an unpinned key
    ]


async def run_pair(out_dir: Path, *, echoes: int = 20) -> dict:
    a_sim, b_sim = provision_pair(out_dir)
    a, b = load_unit(a_sim.config_path), load_unit(b_sim.config_path)
    up = {name: asyncio.Event() for name in "AB"}
    handshake = {}

    def listener(unit, event):
        # A starts last, so its own initiation measures the handshake (B's waited for A to start).
        if unit is a and isinstance(event, HandshakeCompleted) and event.initiator and "rtt" not in handshake:
            handshake["rtt"] = event.rtt
        if isinstance(event, PeerReachable):
            up[unit.name].set()

    for unit in (a, b):
        unit.listeners.append(lambda event, unit=unit: listener(unit, event))
    try:
        await b.start(b_sim.sock)
        await a.start(a_sim.sock)
        await asyncio.wait_for(asyncio.gather(up["A"].wait(), up["B"].wait()), timeout=10)

        attacker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        attacker.setblocking(False)
        hostile = _hostile_datagrams(b)
        for data in hostile:
            attacker.sendto(data, b_sim.sock.getsockname())
        rtts = await asyncio.gather(*(a.echo_test(f"test message {i}".encode(), timeout=5.0) for i in range(echoes)))
        # Loopback keeps order per socket: B read the hostile datagrams before the echoes it answered.
        attacker.close()
        received = [r for r in rtts if r is not None]
        text = await _exchange_messages(a, b)
        drops = {}
        for unit in (a, b):
            for name, n in unit.session.stats.items():
                if name.startswith("dropped_"):
                    drops[name[8:]] = drops.get(name[8:], 0) + n
        return {
            "handshake": {"ok": "rtt" in handshake, "ms": round(handshake.get("rtt", 0.0) * 1000, 3)},
            "echo": {
                "sent": a.echo.sent,
                "received": len(received),
                "rejected": a.session.rejected + b.session.rejected,
                "rejected_by_reason": drops,
                "rtt_ms_median": round(sorted(received)[len(received) // 2] * 1000, 3) if received else None,
            },
            "text": text,
        }
    finally:
        await a.close()
        await b.close()


async def _exchange_messages(a: Unit, b: Unit, timeout: float = 10.0) -> dict:
    """A FLASH message each way through each unit's control socket; each reader acknowledges it."""
    tally = TextTally()
    received = {"A": asyncio.Queue(), "B": asyncio.Queue()}
    read = {"A": asyncio.Queue(), "B": asyncio.Queue()}

    def listener(name, event):
        tally.record(event)
        if isinstance(event, text_events.MessageReceived):
            received[name].put_nowait(event)
        elif isinstance(event, text_events.MessageRead):
            read[name].put_nowait(event)

    for unit in (a, b):
        unit.text.listeners.append(lambda event, name=unit.name: listener(name, event))
    clients = {unit.name: ControlClient(unit.config.control.socket) for unit in (a, b)}
    try:
        for name, peer, words in (("A", "B", "FLASH test from A: please acknowledge."),
                                  ("B", "A", "Routine test from B.")):
            precedence = "flash" if name == "A" else "routine"
            sent = await clients[name].call("msg.send", text=words, precedence=precedence)
            got = await asyncio.wait_for(received[peer].get(), timeout)
            if got.id != sent["id"] or got.text != words:
                raise SimFailure(f"unit {peer} showed {got.text!r} ({got.id}), not what {name} sent ({sent['id']})")
            await clients[peer].call("msg.ack", id=got.id)
            await asyncio.wait_for(read[name].get(), timeout)
    finally:
        for client in clients.values():
            await client.close()
    return tally.summary()


def run(out_dir: str | None = None, *, echoes: int = 20) -> dict:
    if out_dir is None:
        with tempfile.TemporaryDirectory(prefix="hotline-sim-") as tmp:
            return asyncio.run(run_pair(Path(tmp), echoes=echoes))
    return asyncio.run(run_pair(Path(out_dir), echoes=echoes))
