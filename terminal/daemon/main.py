"""`hotline run`: the unit's daemon under systemd (notify + watchdog) or by hand.

The daemon never exits on the unit's own trouble; it says what state the unit
is in (terminal/daemon/lifecycle.py) and stays up:

- unprovisioned (no keys or no peer yet): the fault LED blinks slowly, the
  control socket answers `unit.status`, and the daemon waits for the
  provisioning service to tell it keys or peer arrived;
- a config that does not load: one log line naming the file, key and what was
  expected, then it waits for a reload (no restart loop);
- a power-on self-test failure: off the line (fail-closed) with the reason in the
  log, the systemd status, the fault LED and the journal;
- trouble that passes (a full disk, a port another process holds): off line with
  the fault LED lit and one log line, trying again by itself, backing off;
- otherwise on line.

SIGHUP (`systemctl reload hotline`, or the provisioning service after it changes
keys or config) ends the unit's current life and starts the next with what is
now on disk: RELOADING=1 before, READY=1 once the new life has settled.
WATCHDOG=1 is sent only while the event loop, the journal writer and, in a
call, the audio path are alive, so a hung unit is restarted by systemd.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time

import sdnotify

from terminal import __version__
from terminal import config as config_mod
from terminal.control.server import ControlServer
from terminal.daemon import lifecycle, scheduling
from terminal.daemon.lifecycle import OFF_LINE, ON_LINE, UNPROVISIONED, State
from terminal.daemon.offline import OffLine, fault_led
from terminal.daemon.unit import Unit
from terminal.provisioning.zeroize import finish_pending
from terminal.errors import ConfigError, HotlineError
from terminal.keys import PRIVATE_KEYS_FILE, is_legacy, load_keys
from terminal.link.events import PeerReachable, PeerUnreachable
from terminal.selftest.post import run_post
from terminal.selftest.runner import journal_recorder

log = logging.getLogger("hotline")
WATCHDOG_EVERY = 5.0


class Status:
    """The unit's state, said once per change to the log and on every change to systemd."""

    def __init__(self, notifier):
        self.notifier = notifier
        self.state = State(OFF_LINE, "starting")
        self.since = time.time()
        self.unit: Unit | None = None        # while on line: the rest of `hotline status` comes from it
        self.fault_led = "off"               # what the daemon does with the fault LED: off, lit, blinking
        self.scheduling = "normal"           # the event loop's CPU policy (terminal/daemon/scheduling.py)
        self.heap_frozen = 0                 # start-up objects out of the garbage collector's reach

    def set(self, state: State, *, level: int = logging.WARNING) -> None:
        if state != self.state:
            log.log(level, "%s", state.line)
            self.since = time.time()
        self.state = state
        self.notifier.notify(f"STATUS={self.line()}")

    def line(self) -> str:
        if self.unit is not None:
            return self.unit.status_line()
        return self.state.line

    def as_dict(self) -> dict:
        base = {"state": self.state.name, "reason": self.state.reason, "since": self.since, "version": __version__,
                "fault_led": self.fault_led, "scheduling": self.scheduling, "heap_frozen": self.heap_frozen}
        return {**self.unit.status(), **base} if self.unit is not None else base


async def _status_server(cfg, status: Status, wake) -> ControlServer | None:
    """While not on line: the control socket answers `unit.status`, and `unit.provisioned` reloads."""
    server = ControlServer(cfg.control.socket, group=cfg.control.group)
    server.register("unit.status", status.as_dict)

    async def provisioned(change: str = "", detail: str = "") -> dict:
        unit = getattr(cfg, "unit", None)             # None: a config that does not load (salvaged)
        gone = finish_pending(unit.key_dir, unit.data_dir) if change == "zeroize" and unit else None
        asyncio.get_running_loop().call_soon(wake.reload)
        return {"journalled": False, "off_line": True,
                "plaintext": "kept" if gone is None else f"destroyed: {', '.join(gone) or 'nothing stored'}"}
    server.register("unit.provisioned", provisioned)
    try:
        await server.start()
    except (HotlineError, OSError) as exc:
        log.error("cannot open the control socket %s: %s", cfg.control.socket, exc)
        return None
    return server


async def _until(wake, timeout: float | None) -> None:
    """Until woken (a reload or a stop), or `timeout` seconds (None: no limit) have passed."""
    try:
        await asyncio.wait_for(wake.wait(), timeout)
    except asyncio.TimeoutError:
        pass


async def _wait_off_line(cfg, status: Status, wake, *, timeout: float | None = None) -> None:
    server = await _status_server(cfg, status, wake)
    try:
        await _until(wake, timeout)
    finally:
        if server is not None:
            await server.close()


def _provisioned(cfg) -> str | None:
    """Why a unit whose config loads is not provisioned yet, or None."""
    if not (cfg.unit.key_dir / PRIVATE_KEYS_FILE).exists():
        return f"no keys in {cfg.unit.key_dir} (enrol it: `hotline-host enrol`)"
    if is_legacy(cfg.unit.key_dir):
        return ("keys from firmware before the post-quantum keys (add ML-KEM-768 and ML-DSA-65: "
                "`hotline-host enrol`, then pair both units again)")
    if cfg.peer is None:
        return "no peer (pair it: `hotline-host pair --peer FAR.bundle.json`)"
    if cfg.peer.mlkem_public is None or cfg.peer.mldsa_public is None:
        return (f"peer {cfg.peer.id} was paired by firmware before the post-quantum keys "
                "(pair again: `hotline-host pair --peer FAR.bundle.json`, a format-2 bundle)")
    return None


async def _run_unit(config_path: str, status: Status, wake, settled) -> None:
    """One life of the unit, until `wake` is set. Raises what kept it from going on line."""
    cfg = config_mod.load(config_path)
    gone = finish_pending(cfg.unit.key_dir, cfg.unit.data_dir)    # a zeroize this daemon did not see through
    if gone is not None:
        log.warning("zeroize pending from before: message plaintext destroyed (%s)", ", ".join(gone) or "none stored")
    missing = _provisioned(cfg)
    if missing is not None:
        led = fault_led(cfg, None)
        if led is not None:
            led.blink(on_time=0.2, off_time=1.8)      # slow blink: waiting for the technician
            status.fault_led = "blinking"
        status.set(State(UNPROVISIONED, missing))
        settled()
        try:
            await _wait_off_line(cfg, status, wake)
        finally:
            status.fault_led = "off"
            if led is not None:
                led.close()
        return
    verdict = run_post(config_path)
    if not verdict.go_on_line:
        log.error("power-on self-test failed, staying off the line: %s", verdict.reason)
        off_line = OffLine(config_path, verdict)       # fault LED lit, each check journalled
        status.fault_led = "lit" if off_line.fault_led is not None else "off"
        status.set(State(OFF_LINE, f"power-on self-test failed: {verdict.reason}"), level=logging.DEBUG)
        settled()
        try:
            await _wait_off_line(cfg, status, wake)
        finally:
            status.fault_led = "off"
            off_line.close()
        return
    unit = Unit(cfg, load_keys(cfg.unit.key_dir))
    unit.on_reload = wake.reload
    unit.selftest_done(verdict.summary)

    def on_event(event):
        if isinstance(event, (PeerReachable, PeerUnreachable)):
            state = "reachable" if isinstance(event, PeerReachable) else "UNREACHABLE"
            log.warning("peer %s is %s", cfg.peer.id, state)
            status.set(State(ON_LINE))

    unit.listeners.append(on_event)
    await unit.start()
    unit.control.register("unit.status", status.as_dict)
    record = journal_recorder(unit.journal.record)
    for result in verdict.summary.results:   # the self-test that let the unit on line, journalled
        record(result)
    status.unit = unit
    status.set(State(ON_LINE), level=logging.DEBUG)
    log.warning("unit %s on line; peer %s", cfg.unit.id, cfg.peer.id)
    status.heap_frozen = scheduling.freeze_heap()
    log.info("%d start-up objects kept out of garbage collection", status.heap_frozen)
    settled()
    try:
        await wake.wait()
    finally:
        status.unit = None
        scheduling.thaw_heap()
        status.heap_frozen = 0
        try:
            await unit.close("zeroize" if unit.zeroized else "reload" if wake.reason == "reload" else "stop")
        finally:
            if unit.zeroized:
                finish_pending(cfg.unit.key_dir, cfg.unit.data_dir)


class _Wake(asyncio.Event):
    """Set to end the unit's current life; `reason` says whether to reload or stop."""

    def __init__(self):
        super().__init__()
        self.reason = "stop"

    def reload(self) -> None:
        self.reason = "reload"
        self.set()


async def serve(config_path: str) -> None:
    notifier = sdnotify.SystemdNotifier()
    status = Status(notifier)
    status.scheduling = scheduling.take_realtime()      # before any worker thread: they start from it
    log.info("event loop at %s", status.scheduling)
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
    watchdog = loop.create_task(_watchdog(notifier, status))
    failures = 0
    try:
        while not stopping:
            wake.clear()
            wake.reason = "retry"
            try:
                await _run_unit(config_path, status, wake, lambda: notifier.notify("READY=1"))
                failures = 0
            except (HotlineError, OSError, ValueError) as exc:
                if stopping:
                    break
                failures += 1
                after = lifecycle.after_failure(exc, failures)
                status.unit = None
                # the same trouble again is said at debug level: one line, not one a minute
                status.set(after.state, level=logging.ERROR if failures == 1 else logging.DEBUG)
                if failures == 1 and after.retry_after is not None:
                    log.error("trying again by itself (every %g s at most) or on reload", lifecycle.RETRY_MAX)
                notifier.notify("READY=1")
                await _off_line_after(config_path, status, wake, after.retry_after)
            if stopping:
                break
            if wake.reason == "reload":
                failures = 0                  # a technician's reload is a new attempt: say its outcome again
                notifier.notify("RELOADING=1")
                log.warning("reloading keys and config")
            else:
                log.debug("trying again to go on line")
    finally:
        notifier.notify("STOPPING=1")
        watchdog.cancel()


async def _off_line_after(config_path: str, status: Status, wake, retry_after: float | None) -> None:
    """Off line after a failure: the fault LED where the config says, `unit.status` where it can."""
    try:
        cfg = config_mod.load(config_path)
    except ConfigError:
        cfg = config_mod.salvage(config_path)      # the board, pins and control socket it names, or defaults
    led = fault_led(cfg, None)
    if led is not None:
        led.on()
        status.fault_led = "lit"
    try:
        await _wait_off_line(cfg, status, wake, timeout=retry_after)
    finally:
        status.fault_led = "off"
        if led is not None:
            led.close()


async def _watchdog(notifier, status: Status, every: float = WATCHDOG_EVERY) -> None:
    loop = asyncio.get_running_loop()
    withheld = None
    while True:
        unit = status.unit
        problem = unit.health(loop.time()) if unit is not None else None
        if problem is None:
            notifier.notify("WATCHDOG=1")
            withheld = None
        elif problem != withheld:
            log.error("withholding the systemd watchdog: %s", problem)
            withheld = problem
        await asyncio.sleep(every)


def run_daemon(config_path: str) -> int:
    asyncio.run(serve(config_path))
    return 0
