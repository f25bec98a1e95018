"""The lab's hands, for installed units on mock pins only: press the provisioning button and lift
or replace the handset from outside the unit, as a person would at a real one.

    hotline lab press-button            the provisioning service's button (its lab socket)
    hotline lab hook up|down            the daemon's hook switch (its control socket, `lab.hook`)

Neither exists on a unit with real pins: the provisioning service opens the lab socket and the
daemon registers `lab.hook` only when the config says `[hardware] pin_factory = "mock"`, so a
deployed unit's button still needs a finger on it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import threading
from pathlib import Path

log = logging.getLogger(__name__)

LAB_SOCKET_NAME = "lab-button.sock"
PRESS = b"press\n"


class LabButton:
    """A Unix socket beside the control socket; each `press` line presses and releases the
    (mock) button pin, driving it as the contact would: low while pressed (it pulls up)."""

    def __init__(self, pin, path: str | os.PathLike):
        self.pin, self.path = pin, Path(path)
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.unlink(missing_ok=True)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(str(self.path))
        os.chmod(self.path, 0o660)
        self._sock.listen(4)
        self._thread = threading.Thread(target=self._serve, name="lab-button", daemon=True)
        self._thread.start()
        log.warning("lab: mock pins; the provisioning button can be pressed through %s", self.path)

    def _serve(self) -> None:
        sock = self._sock
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with conn:
                if conn.makefile("rb").readline() == PRESS:
                    self.pin.drive_low()
                    self.pin.drive_high()
                    conn.sendall(b"pressed\n")
                else:
                    conn.sendall(b"unknown request\n")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self.path.unlink(missing_ok=True)


def press(path: str | os.PathLike, timeout: float = 5.0) -> None:
    from terminal.errors import HotlineError

    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(path))
            s.sendall(PRESS)
            answer = s.makefile("rb").readline()
    except OSError as exc:
        raise HotlineError(f"no lab button at {path} ({exc}): is hotline-provisioning running, "
                           "with [hardware] pin_factory = \"mock\"?") from None
    if answer != b"pressed\n":
        raise HotlineError(f"{path}: the provisioning service answered {answer!r}")


def register(subparsers) -> None:
    lab = subparsers.add_parser("lab", help="(mock pins only) press the button or move the hook from outside")
    sub = lab.add_subparsers(dest="lab_command", required=True)
    p = sub.add_parser("press-button", help="press and release the provisioning button")
    p.set_defaults(func=cmd_press)
    p = sub.add_parser("hook", help="lift (up) or replace (down) the handset")
    p.add_argument("position", choices=("up", "down"))
    p.set_defaults(func=cmd_hook)
    for p in sub.choices.values():
        p.add_argument("--config", default="/etc/hotline/hotline.toml", help="the unit's config")


def cmd_press(args: argparse.Namespace) -> int:
    from terminal import config as config_mod

    path = config_mod.load(args.config).control.socket.with_name(LAB_SOCKET_NAME)
    press(path)
    print("provisioning button pressed")
    return 0


def cmd_hook(args: argparse.Namespace) -> int:
    from terminal import config as config_mod
    from terminal.control.client import ControlClient

    async def go():
        async with ControlClient(config_mod.load(args.config).control.socket) as client:
            return await client.call("lab.hook", position=args.position)
    asyncio.run(go())
    print("handset lifted" if args.position == "up" else "handset replaced")
    return 0
