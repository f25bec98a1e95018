"""`hotline run`: the unit's daemon under systemd (notify + watchdog) or by hand."""

from __future__ import annotations

import asyncio
import logging
import signal

import sdnotify

from terminal import config as config_mod
from terminal.daemon.unit import Unit
from terminal.keys import load_keys
from terminal.link.events import PeerReachable, PeerUnreachable

log = logging.getLogger("hotline")


async def serve(config_path: str) -> None:
    cfg = config_mod.load(config_path)
    unit = Unit(cfg, load_keys(cfg.unit.key_dir))
    notifier = sdnotify.SystemdNotifier()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    def on_event(event):
        if isinstance(event, (PeerReachable, PeerUnreachable)):
            state = "reachable" if isinstance(event, PeerReachable) else "UNREACHABLE"
            log.warning("peer %s is %s", cfg.peer.id, state)
            notifier.notify(f"STATUS=peer {state}")

    unit.listeners.append(on_event)
    await unit.start()
    notifier.notify("READY=1")
    try:
        while not stop.is_set():
            notifier.notify("WATCHDOG=1")
            try:
                await asyncio.wait_for(stop.wait(), timeout=5.0)
            except asyncio.TimeoutError:
                pass
    finally:
        notifier.notify("STOPPING=1")
        await unit.close()


def run_daemon(config_path: str) -> int:
    asyncio.run(serve(config_path))
    return 0
