"""Simulated units on real pseudo-terminals, for the provisioning and host tests.

A `Cable` joins two ptys back to back: the unit's SerialService opens one end
with pyserial, the host's Device the other, and the cable records every byte.
A `SimUnit` is a unit directory (config, keys, data), a gpiozero Button on
its own MockFactory, and the provisioning service running on the cable.
`provision_pair` does a technician's whole job on two units and returns their
config paths, so a test can go on to start a call with exactly those keys.
"""

from __future__ import annotations

import os
import queue
import select
import threading
import tty
from pathlib import Path

from gpiozero import Button
from gpiozero.pins.mock import MockFactory

from host.cli import main
from host.device import Device, open_port
from terminal.provisioning.handlers import Provisioner
from terminal.provisioning.presence import Presence, watch_button
from terminal.provisioning.selftest_hook import selftest_unavailable
from terminal.provisioning.service import SerialService

BUTTON_PIN = 26
PAIRING_ID = "ministries-test"


class FakeClock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Cable:
    """Two ptys relayed back to back; `unit_path` and `host_path` are real tty paths."""

    def __init__(self):
        self._unit_master, self._unit_slave = os.openpty()
        self._host_master, self._host_slave = os.openpty()
        for fd in (self._unit_slave, self._host_slave):
            tty.setraw(fd)
        self.unit_path = os.ttyname(self._unit_slave)
        self.host_path = os.ttyname(self._host_slave)
        self.to_unit = bytearray()
        self.to_host = bytearray()
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._relay, daemon=True)
        self._thread.start()
        self._cut = False

    def _relay(self) -> None:
        routes = {self._host_master: (self._unit_master, self.to_unit), self._unit_master: (self._host_master, self.to_host)}
        while True:
            ready, _, _ = select.select([*routes, self._wake_r], [], [])
            if self._wake_r in ready:
                return
            for src in ready:
                try:
                    data = os.read(src, 4096)
                except OSError:
                    continue
                dst, record = routes[src]
                record += data
                os.write(dst, data)

    def inject_to_unit(self, data: bytes) -> None:
        """Bytes on the line toward the unit, as if sent by a broken or hostile host."""
        os.write(self._unit_master, data)

    def cut(self) -> None:
        """Pull the cable: the relay stops and both ends hang up."""
        if self._cut:
            return
        self._cut = True
        os.write(self._wake_w, b"x")
        self._thread.join()
        for fd in (self._unit_master, self._host_master, self._wake_r, self._wake_w):
            os.close(fd)

    def close(self) -> None:
        self.cut()
        for fd in (self._unit_slave, self._host_slave):
            os.close(fd)


class SimUnit:
    def __init__(self, root: Path, unit_id: str, listen: str, clock: FakeClock, selftest=selftest_unavailable):
        self.root = Path(root)
        self.unit_id = unit_id
        (self.root / "data").mkdir(parents=True)
        self.config_path = self.root / "hotline.toml"
        self.config_path.write_text(
            f'[unit]\nid = "{unit_id}"\nkey_dir = "keys"\ndata_dir = "data"\n\n'
            f'[link]\nlisten = "{listen}"\npairing_id = "{PAIRING_ID}"\n'
        )
        self.key_dir = self.root / "keys"
        self.data_dir = self.root / "data"
        self.clock = clock
        self.factory = MockFactory()
        self.button = Button(BUTTON_PIN, pin_factory=self.factory)
        self.presence = Presence()
        watch_button(self.button, self.presence, clock)
        self.provisioner = Provisioner(self.config_path, self.presence, selftest=selftest)
        self.cable = Cable()
        self.opened: queue.Queue = queue.Queue()
        self.service = SerialService(self.cable.unit_path, self.provisioner, clock=clock, reopen_delay=0.02,
                                     poll=0.02, on_open=lambda: self.opened.put(True))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.service.serve, args=(self._stop,), daemon=True)
        self._thread.start()
        self.wait_open()

    def wait_open(self) -> None:
        self.opened.get(timeout=5)

    def replug(self) -> None:
        """Pull the cable and plug in a new one (a new pty path, as after re-enumeration)."""
        self.cable.close()
        self.cable = Cable()
        self.service.port = self.cable.unit_path
        self.wait_open()

    def press(self) -> None:
        """The technician presses the provisioning button (active low, pulled up)."""
        pin = self.factory.pin(BUTTON_PIN)
        pin.drive_low()
        pin.drive_high()

    def device(self, trace=None, timeout: float = 5.0) -> Device:
        return Device(open_port(self.cable.host_path), trace=trace, timeout=timeout)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def close(self) -> None:
        self.stop()
        self.cable.close()
        self.button.close()
        self.factory.close()


def hotline_host(unit: SimUnit, *args: str) -> None:
    """Run `hotline-host --port <unit's end of the cable> ARGS...`; fail loudly on a non-zero exit."""
    code = main(["--port", unit.cable.host_path, *args])
    if code != 0:
        raise AssertionError(f"hotline-host {' '.join(args)} exited {code}")


def provision_pair(
    unit_a: SimUnit, unit_b: SimUnit, workdir: Path, psk_file: Path | None = None, cli_args: tuple[str, ...] = ()
) -> tuple[Path, Path]:
    """A technician's whole job with `hotline-host`: enrol both units, export each
    bundle, pair each with the other's (button pressed each time).
    Returns the two units' config paths, ready for a daemon or a simulated call."""
    bundles = {}
    for unit in (unit_a, unit_b):
        bundles[unit.unit_id] = Path(workdir) / f"{unit.unit_id}.bundle.json"
        unit.press()
        hotline_host(unit, *cli_args, "enrol")
        hotline_host(unit, *cli_args, "export", "--out", str(bundles[unit.unit_id]))
    for unit, other in ((unit_a, unit_b), (unit_b, unit_a)):
        unit.press()
        psk = ("--psk-file", str(psk_file)) if psk_file else ()
        hotline_host(unit, *cli_args, "pair", "--yes", "--peer", str(bundles[other.unit_id]), *psk)
    return unit_a.config_path, unit_b.config_path
