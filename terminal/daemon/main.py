"""`hotline run`: the unit's daemon under systemd (notify + watchdog) or by hand.

Before going on line the unit runs its power-on self-test; a failure keeps it
off the line (fail-closed) with the reason in the log, the systemd status, the
fault LED and the journal, while the separate provisioning service keeps
serving the technician on USB.
SIGHUP (`systemctl reload hotline`, sent by the provisioning service after it
changes keys or config) closes the unit, re-runs the self-test and starts it
again with what is now on disk.
"""

from __future__ import annotations

import asyncio
import logging
import signal

import sdnotify

from terminal import config as config_mod
from terminal.daemon.offline import OffLine
from terminal.daemon.unit import Unit
from terminal.errors import HotlineError
from terminal.keys import load_keys
from terminal.link.events import PeerReachable, PeerUnreachable
from terminal.selftest.post import run_post
from terminal.selftest.runner import journal_recorder

log = logging.getLogger("hotline")
WATCHDOG_EVERY = 5.0
RETRY_AFTER = 30.0      # seconds before a unit that could not go on line (port busy, disk) tries again


async def _run_unit(config_path: str, notifier, wake: asyncio.Event) -> None:
    """One life of the unit: power-on self-test, then on line until `wake` is set."""
    verdict = run_post(config_path)
    if not verdict.go_on_line:
        log.error("power-on self-test failed, staying off the line: %s", verdict.reason)
        notifier.notify(f"STATUS=off line: power-on self-test failed: {verdict.reason}")
        off_line = OffLine(config_path, verdict)       # fault LED lit, each check journalled
        try:
            await wake.wait()
        finally:
            off_line.close()
        return
    cfg = config_mod.load(config_path)
    unit = Unit(cfg, load_keys(cfg.unit.key_dir))
    unit.on_reload = wake.reload

    def on_event(event):
        if isinstance(event, (PeerReachable, PeerUnreachable)):
            state = "reachable" if isinstance(event, PeerReachable) else "UNREACHABLE"
            log.warning("peer %s is %s", cfg.peer.id, state)
            notifier.notify(f"STATUS=peer {state}")

    unit.listeners.append(on_event)
    await unit.start()
    record = journal_recorder(unit.journal.record)
    for result in verdict.summary.results:   # the self-test that let the unit on line, journalled
        record(result)
    notifier.notify("STATUS=on line")
    log.warning("unit %s on line; peer %s", cfg.unit.id, cfg.peer.id)
    try:
        await wake.wait()
    finally:
        await unit.close("reload" if wake.reason == "reload" else "stop")


class _Wake(asyncio.Event):
    """Set to end the unit's current life; `reason` says whether to reload or stop."""

    def __init__(self):
        super().__init__()
        self.reason = "stop"

    def reload(self) -> None:
        self.reason = "reload"
        self.set()


async def serve(config_path: str) -> None:
    config_mod.load(config_path)   # a config that does not load is the caller's error: exit 2, saying why
    notifier = sdnotify.SystemdNotifier()
    loop = asyncio.get_running_loop()
    stopping = False
    wake = _Wake()

    def stop():
        nonlocal stopping
        stopping = True
        wake.reason = "stop"
        wake.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    loop.add_signal_handler(signal.SIGHUP, wake.reload)
    watchdog = loop.create_task(_watchdog(notifier))
    notifier.notify("READY=1")
    try:
        while not stopping:
            wake.clear()
            try:
                await _run_unit(config_path, notifier, wake)
            except (HotlineError, OSError) as exc:
                if stopping:
                    break
                log.error("cannot go on line: %s; trying again in %g s or on reload", exc, RETRY_AFTER)
                notifier.notify(f"STATUS=off line: {exc}")
                try:
                    await asyncio.wait_for(wake.wait(), RETRY_AFTER)
                except asyncio.TimeoutError:
                    pass
            if not stopping:
                notifier.notify("RELOADING=1")
                log.warning("reloading keys and config")
    finally:
        notifier.notify("STOPPING=1")
        watchdog.cancel()


async def _watchdog(notifier) -> None:
    while True:
        notifier.notify("WATCHDOG=1")
        await asyncio.sleep(WATCHDOG_EVERY)


def run_daemon(config_path: str) -> int:
    asyncio.run(serve(config_path))
    return 0
