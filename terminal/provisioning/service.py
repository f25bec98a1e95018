"""The unit side on the USB gadget's serial port (/dev/ttyGS0, or any tty path).

Reads bytes into the pure Decoder, hands each item to the Provisioner with
the clock's value, writes the responses. A frame left unfinished for
FRAME_TIMEOUT is forgotten, so the next request is not glued to it. A host that unplugs, or a port that
vanishes, closes the port; the service reopens it and starts a fresh decoder.

    python -m terminal.provisioning.service --config /etc/hotline/hotline.toml
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import signal
import subprocess
import threading
import time
from typing import Callable

import serial

from terminal.provisioning.constants import FRAME_TIMEOUT
from terminal.provisioning.framing import Decoder, encode_frame
from terminal.provisioning.handlers import Provisioner
from terminal.provisioning.presence import Presence, watch_button
from terminal.selftest.post import provisioning_runner

log = logging.getLogger(__name__)

GADGET_PORT = "/dev/ttyGS0"
DAEMON_UNIT = "hotline.service"


class SerialService:
    def __init__(
        self,
        port: str,
        provisioner: Provisioner,
        *,
        clock: Callable[[], float] = time.monotonic,
        reopen_delay: float = 1.0,
        poll: float = 0.05,
        on_open: Callable[[], None] | None = None,
        frame_timeout: float = FRAME_TIMEOUT,
    ):
        self.port = port
        self.provisioner = provisioner
        self.clock = clock
        self.reopen_delay = reopen_delay
        self.poll = poll
        self.on_open = on_open
        self.frame_timeout = frame_timeout
        self.frames_forgotten = 0

    def serve(self, stop: threading.Event) -> None:
        """Serve until `stop` is set, reopening the port after every disconnect; `on_open` after each open."""
        last_error = None
        while not stop.is_set():
            try:
                with serial.Serial(self.port, timeout=self.poll, write_timeout=2.0) as port:
                    log.info("provisioning port %s open", self.port)
                    last_error = None
                    if self.on_open:
                        self.on_open()
                    self._pump(port, stop)
            except (serial.SerialException, OSError) as exc:
                if str(exc) != last_error:  # once per distinct failure, not once a second
                    log.info("provisioning port %s: %s; reopening", self.port, exc)
                last_error = str(exc)
            stop.wait(self.reopen_delay)

    def _pump(self, port: serial.Serial, stop: threading.Event) -> None:
        decoder = Decoder()
        last_byte = time.monotonic()
        while not stop.is_set():
            data = port.read(max(1, port.in_waiting))
            if data:
                last_byte = time.monotonic()
            elif decoder.pending and time.monotonic() - last_byte > self.frame_timeout:
                log.info("forgot a half-received frame of %d bytes", decoder.pending)
                decoder.discard()
                self.frames_forgotten += 1
            for item in decoder.feed(data):
                for response in self.provisioner.handle(item, self.clock()):
                    port.write(encode_frame(bytes(response)))


def tell_daemon(config_path: str, change: str, detail: str) -> str | None:
    """Keys or config changed on disk: the daemon journals the change and reloads (re-running its
    power-on self-test). Over its control socket, which it serves in every state; otherwise a
    systemd reload, and a daemon that is not running reads the new state when it starts.
    Returns what the daemon said it did, for the technician."""
    from terminal import config as config_mod
    from terminal.control.client import ControlClient

    async def ask(socket_path):
        client = ControlClient(socket_path)
        try:
            return await client.call("unit.provisioned", change=change, detail=detail)
        finally:
            await client.close()
    try:
        said = asyncio.run(ask(config_mod.load(config_path).control.socket))
        return (f"the daemon went off line; message plaintext {said.get('plaintext', 'kept')}"
                if change == "zeroize" else "the daemon reloads")
    except Exception as exc:   # daemon off line, config not complete yet, socket gone
        log.info("%s: daemon not reachable on its control socket (%s); asking systemd", change, exc)
    proc = subprocess.run(["systemctl", "--no-block", "reload-or-restart", DAEMON_UNIT],
                          capture_output=True, text=True) if shutil.which("systemctl") else None
    if proc is None or proc.returncode != 0:
        log.warning("%s: could not ask %s to reload (%s)", change, DAEMON_UNIT,
                    "no systemctl" if proc is None else proc.stderr.strip())
        return None
    return f"asked systemd to reload {DAEMON_UNIT}"


def main(argv=None) -> int:
    """Standalone service. It claims the provisioning button's pin, so a daemon that
    builds `terminal.hardware.Hardware` should run SerialService in a thread instead,
    with `watch_button(hardware.provisioning_button, presence, clock)`.

    The board and pin factory come from the unit's config (`[hardware]`), as the daemon's do;
    `--board` is for a unit whose config cannot be read. With `pin_factory = "mock"` (never with
    real pins) the lab can press the button from outside: `hotline lab press-button`."""
    from gpiozero import Button
    from gpiozero.exc import GPIOZeroError

    from terminal import config as config_mod
    from terminal.errors import HotlineError
    from terminal.hardware.profile import load_profile
    from terminal.hardware.unit import configured_pin_factory
    from terminal.provisioning.lab import LabButton

    parser = argparse.ArgumentParser(prog="hotline-provisioning", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="the unit's hotline.toml")
    parser.add_argument("--port", default=GADGET_PORT, help=f"serial port (default {GADGET_PORT})")
    parser.add_argument("--board", help="board profile naming the provisioning button's pin, when the "
                                        "config cannot say (default: the config's, else pi4)")
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        hardware = config_mod.load(options.config).hardware
    except HotlineError as exc:
        log.error("%s; using board %s and the board's own pins", exc, options.board or "pi4")
        hardware = None
    board = options.board or (hardware.board if hardware is not None else "pi4")
    factory = configured_pin_factory(hardware, None) if hardware is not None else None
    try:
        pin = load_profile(board).provisioning_button
        button = Button(pin.pin, pull_up=pin.pull_up, pin_factory=factory)
    except (HotlineError, GPIOZeroError) as exc:
        log.error("cannot claim the provisioning button (board %s): %s; serving without it, so commands "
                  "that need the button are refused (set [hardware] pin_factory = \"mock\" off a Pi)", board, exc)
        button = None
    presence = Presence()
    lab = None
    if button is not None:
        watch_button(button, presence, time.monotonic)
        if hardware is not None and hardware.pin_factory == "mock":
            lab = LabButton(factory.pin(pin.pin), lab_socket(options.config))
            try:
                lab.start()
            except OSError as exc:
                log.error("lab: cannot open the lab button socket %s (%s); press-button unavailable",
                          lab.path, exc)
                lab = None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    provisioner = Provisioner(options.config, presence, selftest=provisioning_runner(options.config),
                              on_change=lambda change, detail: tell_daemon(options.config, change, detail))
    try:
        SerialService(options.port, provisioner).serve(stop)
    finally:
        if lab is not None:
            lab.close()
        if button is not None:
            button.close()
    return 0


def lab_socket(config_path: str) -> str:
    """Where the provisioning service listens for the lab's button presses: beside the control socket."""
    from terminal import config as config_mod
    from terminal.provisioning.lab import LAB_SOCKET_NAME
    return str(config_mod.load(config_path).control.socket.with_name(LAB_SOCKET_NAME))


if __name__ == "__main__":
    raise SystemExit(main())
