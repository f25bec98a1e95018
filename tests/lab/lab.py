"""The lab: two installed hotline units, each a Debian bookworm system booted under real systemd
(systemd-nspawn --boot), joined by a virtual network, driven only from outside.

    scripts/lab up        build what is missing, boot A and B with hotline-unit installed (blank)
    scripts/lab provision enrol, export and pair both over their USB serial ports (ptys)
    scripts/lab status    each unit's services and `hotline status`
    scripts/lab shell A   a shell inside unit A
    scripts/lab down      power both off and remove them

From outside means: the technician's `hotline-host` on this machine talks to each unit's
provisioning service over a pseudo-terminal bound into the container as /dev/ttyGS0 (the USB
gadget's port on a real unit); everything else is a command run inside the unit as a person
at its desk or a technician over ssh would (`hotline status`, `hotline msg send`, and, on mock
pins only, `hotline lab press-button` / `hotline lab hook up|down` for the finger on the
button and the hand on the handset), entered with nsenter.

What the lab changes in a unit, and why (the only differences from a unit on a Pi):
- `[hardware] pin_factory = "mock"`: no GPIO here; gpiozero's own MockFactory.
- `/etc/asound.conf`: the handset PCMs through ALSA's file plugin (no sound card here): the
  microphone reads a tone from a file, the earpiece writes a WAV.
- hotline-gadget.service does nothing (no USB device controller); the pty stands in for it.
- `[call]` timers shortened (secondary alert after 2 s, ring-out after 6 s) so a test is short.

The root filesystem is built once with mmdebstrap and cached in CACHE (outside the checkout);
the packages come from scripts/build-deb (cached by it). Needs root.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import tomli_w

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("HOTLINE_LAB_CACHE", "/var/cache/hotline-lab"))
LAB = Path(os.environ.get("HOTLINE_LAB", "/var/lib/hotline-lab"))
ZONE = "hotline"                      # nspawn --network-zone: the host bridge is vz-hotline
SUITE = "bookworm"
# What a Raspberry Pi OS Lite unit has anyway, and what hotline-unit Depends on (preinstalled
# so the install needs no network inside the unit; apt still resolves and checks them).
ROOTFS_PACKAGES = ["systemd", "systemd-sysv", "dbus", "procps", "iproute2", "adduser", "python3",
                   "libopus0", "libportaudio2", "libasound2", "alsa-utils", "ca-certificates", "udev"]
PORT = 4870
PAIRING_ID = "lab-pair"
HOTLINE = "/usr/bin/hotline"
PACKAGES_IN_UNIT = "/var/cache/hotline-lab"   # where the lab puts the .deb inside a unit (nspawn's /tmp is fresh)


@dataclass(frozen=True)
class LabUnit:
    name: str          # A or B
    unit_id: str
    address: str

    @property
    def dir(self) -> Path:
        return LAB / self.name

    @property
    def root(self) -> Path:
        return self.dir / "root"

    @property
    def host_pty(self) -> Path:
        """The technician's end of the unit's USB serial port."""
        return self.dir / "usb.pty"

    @property
    def machine(self) -> str:
        return f"hotline-lab-{self.name.lower()}"

    @property
    def bundle(self) -> Path:
        return LAB / f"{self.name}.bundle.json"

    @property
    def endpoint(self) -> str:
        return f"{self.address}:{PORT}"


UNITS = {"A": LabUnit("A", "alpha", "10.77.0.1"), "B": LabUnit("B", "bravo", "10.77.0.2")}


def say(*words) -> None:
    print("lab:", *words, file=sys.stderr, flush=True)


def run(*cmd, check=True, capture=False, timeout=600, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], check=False, text=True, timeout=timeout,
                          capture_output=capture, **kw)
    if check and proc.returncode != 0:
        detail = f": {proc.stderr.strip() or proc.stdout.strip()}" if capture else ""
        raise RuntimeError(f"{' '.join(map(str, cmd))} exited {proc.returncode}{detail}")
    return proc


# -- what the lab is made of --------------------------------------------------------------


def rootfs() -> Path:
    """The cached root filesystem tarball; built with mmdebstrap when missing."""
    key = hashlib.sha256(" ".join([SUITE, *ROOTFS_PACKAGES]).encode()).hexdigest()[:12]
    tar = CACHE / f"rootfs-{SUITE}-{key}.tar"
    if not tar.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        say(f"building the {SUITE} root filesystem with mmdebstrap (once; cached as {tar})")
        partial = tar.with_name(tar.stem + ".partial.tar")
        run("mmdebstrap", "--variant=minbase", "--format=tar", "--include=" + ",".join(ROOTFS_PACKAGES),
            SUITE, partial)
        partial.rename(tar)
    return tar


def packages() -> dict[str, Path]:
    """The hotline-unit and hotline-host packages of this source tree: scripts/build-deb's, in a
    directory named by the hash of what they are built from (the packaging tests use the same),
    built when missing."""
    build = ROOT / "scripts" / "build-deb"
    if os.environ.get("HOTLINE_LAB_DEBS"):
        out = Path(os.environ["HOTLINE_LAB_DEBS"])
    else:
        source = run(build, "--source-hash", capture=True).stdout.strip()
        out = Path(os.environ.get("HOTLINE_BUILD_CACHE", "/var/cache/hotline-build")) / "test-debs" / source
        if not list(out.glob("hotline-unit_*.deb")):
            say(f"building the packages of this source ({source}) with scripts/build-deb")
            run(build, out, timeout=3000)
    found = {deb.name.split("_")[0]: deb for deb in sorted(out.glob("*.deb"))}
    if "hotline-unit" not in found:
        raise RuntimeError(f"no hotline-unit package in {out}")
    return found


def next_release(debs: dict[str, Path]) -> Path:
    """hotline-unit of this source as its next release would be (pyproject's version with
    `.post1`): what a real upgrade installs over the running one. Built from a copy of the
    tree, once per source, beside the packages of this source."""
    current = debs["hotline-unit"]
    out = current.parent.with_name(current.parent.name + "-next")
    found = sorted(out.glob("hotline-unit_*.deb"))
    if found:
        return found[0]
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "src"
        shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.egg-info"))
        pyproject = copy / "pyproject.toml"
        version = tomllib.loads(pyproject.read_text())["project"]["version"]
        pyproject.write_text(pyproject.read_text().replace(f'version = "{version}"', f'version = "{version}.post1"', 1))
        say(f"building the next release ({version}.post1) to upgrade to")
        run(copy / "scripts" / "build-deb", out, timeout=3000)
    return sorted(out.glob("hotline-unit_*.deb"))[0]


def upgrade(unit: LabUnit, deb: Path) -> str:
    """apt installs a newer hotline-unit over the running one, as an operator would; its output."""
    shutil.copy(deb, unit.root / PACKAGES_IN_UNIT.lstrip("/") / deb.name)
    return inside(unit, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q",
                  f"{PACKAGES_IN_UNIT}/{deb.name}", timeout=300).stdout


# -- inside a unit -------------------------------------------------------------------------


def leader(unit: LabUnit) -> int:
    """The PID of the unit's init (systemd), for nsenter."""
    pid_file = unit.dir / "nspawn.pid"
    nspawn = int(pid_file.read_text())
    children = run("pgrep", "-P", nspawn, capture=True, check=False).stdout.split()
    if not children:
        raise RuntimeError(f"unit {unit.name} is not running (no init under nspawn {nspawn})")
    return int(children[0])


def inside(unit: LabUnit, *cmd, check=True, timeout=120) -> subprocess.CompletedProcess:
    """Run a command inside the booted unit, as root (the technician over ssh)."""
    return run("nsenter", "-t", leader(unit), "-a", "--", *cmd, check=check, capture=True, timeout=timeout)


def status(unit: LabUnit) -> dict:
    proc = inside(unit, HOTLINE, "status", "--json", check=False)
    return json.loads(proc.stdout) if proc.stdout.strip() else {"state": "no answer", "reason": proc.stderr}


def wait_for(what: str, probe, timeout: float = 60.0, every: float = 0.2):
    """Ask a unit in another system until `probe()` is truthy; it has no way to tell us, so poll."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = probe()
            if last:
                return last
        except (RuntimeError, ValueError, KeyError) as exc:
            last = exc
        time.sleep(every)
    raise TimeoutError(f"{what}: not within {timeout:g} s (last: {last!r})")


def host_tool(unit: LabUnit, *args, check=True, timeout=120) -> subprocess.CompletedProcess:
    """The technician's `hotline-host` on the lab's machine, on the unit's USB serial port."""
    tool = os.environ.get("HOTLINE_HOST", str(ROOT / ".venv" / "bin" / "hotline-host"))
    return run(tool, "--port", unit.host_pty, *args, check=check, capture=True, timeout=timeout)


def press_button(unit: LabUnit) -> None:
    inside(unit, HOTLINE, "lab", "press-button")


def hook(unit: LabUnit, position: str) -> None:
    inside(unit, HOTLINE, "lab", "hook", position)


def journal_records(unit: LabUnit) -> int:
    db = "/var/lib/hotline/data/journal.sqlite"
    code = f"import sqlite3; print(sqlite3.connect('file:{db}?mode=ro', uri=True).execute('SELECT COUNT(*) FROM records').fetchone()[0])"
    return int(inside(unit, "python3", "-c", code).stdout)


# -- up and down ---------------------------------------------------------------------------


def _tone_raw(path: Path, seconds: float = 120.0) -> None:
    """The microphone: a 440 Hz tone as raw s16le 48 kHz mono (what the file PCM reads)."""
    n = int(48000 * seconds)
    frame = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / 48000))) for i in range(4800))
    with path.open("wb") as f:
        for _ in range(n // 4800):
            f.write(frame)


def _lab_config(unit: LabUnit) -> None:
    mock_desk(unit.root, unit.unit_id)


def mock_desk(root: Path, hostname: str) -> None:
    """The lab's differences from a unit on a Pi (see the module docstring), written into an
    installed root before boot (scripts/arm64 uses them too)."""
    config = root / "etc" / "hotline" / "hotline.toml"
    raw = tomllib.loads(config.read_text())
    raw.setdefault("hardware", {})["pin_factory"] = "mock"
    raw["call"] = {"alert_after": 2.0, "ring_timeout": 6.0, "voice_message_max": 3.0}
    config.write_text(tomli_w.dumps(raw))
    lab = root / "var" / "lib" / "hotline-lab"
    lab.mkdir(parents=True, exist_ok=True)
    _tone_raw(lab / "microphone.raw")
    asound = (ROOT / "hw" / "alsa" / "file-sim.asoundrc.in").read_text()
    asound = asound.replace("${capture_file}", "/var/lib/hotline-lab/microphone.raw")
    asound = asound.replace("${playback_file}", "/var/lib/hotline/earpiece.wav")
    # (its `pcm.!` replaces the package's definitions of the same PCMs, on the USB card)
    (root / "etc" / "asound.conf").write_text(asound)
    dropin = root / "etc" / "systemd" / "system" / "hotline-gadget.service.d"
    dropin.mkdir(parents=True, exist_ok=True)
    (dropin / "lab.conf").write_text("# The lab has no USB device controller: the pty is the gadget's port.\n"
                                     "[Service]\nExecStart=\nExecStart=/bin/true\nExecStop=\nExecStop=/bin/true\n")
    (root / "etc" / "hostname").write_text(hostname + "\n")


def install(unit: LabUnit, deb: Path) -> None:
    """apt installs the package into the unit's root, from the file, Debian's archive behind it."""
    (unit.root / PACKAGES_IN_UNIT.lstrip("/")).mkdir(parents=True, exist_ok=True)
    shutil.copy(deb, unit.root / PACKAGES_IN_UNIT.lstrip("/") / deb.name)
    run("systemd-nspawn", "-q", "--register=no", "--keep-unit", "-D", unit.root, "--",
        "apt-get", "install", "-y", "-q", "--no-install-recommends", f"{PACKAGES_IN_UNIT}/{deb.name}",
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, capture=True)


def _pty(unit: LabUnit) -> Path:
    """A linked pair of ptys (socat): the unit's end is bound in as /dev/ttyGS0."""
    unit_pty = unit.dir / "gadget.pty"
    log = (unit.dir / "socat.log").open("w")
    proc = subprocess.Popen(["socat", f"pty,raw,echo=0,link={unit.host_pty}", f"pty,raw,echo=0,link={unit_pty}"],
                            stdout=log, stderr=log, start_new_session=True)
    (unit.dir / "socat.pid").write_text(str(proc.pid))
    wait_for("socat's ptys", lambda: unit_pty.exists() and unit.host_pty.exists(), 10, 0.05)
    real = Path(os.path.realpath(unit_pty))
    os.chmod(real, 0o666)                      # the unit's hotline user opens it through dialout
    return real


def boot(unit: LabUnit) -> None:
    gadget = _pty(unit)
    log = (unit.dir / "console.log").open("w")
    proc = subprocess.Popen(
        ["systemd-nspawn", "--boot", "--register=no", "--keep-unit", "-D", str(unit.root), "-M", unit.machine,
         f"--network-zone={ZONE}", f"--bind={gadget}:/dev/ttyGS0", "--console=read-only"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    (unit.dir / "nspawn.pid").write_text(str(proc.pid))
    wait_for(f"unit {unit.name} booted", lambda: inside(unit, "systemctl", "is-system-running", check=False)
             .stdout.strip() in ("running", "degraded"), 90)
    inside(unit, "ip", "addr", "add", f"{unit.address}/24", "dev", "host0")
    inside(unit, "ip", "link", "set", "host0", "up")
    run("ip", "link", "set", f"vz-{ZONE}", "up")


def up() -> dict[str, Path]:
    debs = packages()
    tar = rootfs()
    down(quiet=True)
    for unit in UNITS.values():
        say(f"unit {unit.name} ({unit.unit_id}): extracting, installing {debs['hotline-unit'].name}")
        unit.root.mkdir(parents=True)
        run("tar", "-xf", tar, "-C", unit.root)
        install(unit, debs["hotline-unit"])
        _lab_config(unit)
    for unit in UNITS.values():
        boot(unit)
        say(f"unit {unit.name}: booted at {unit.address}; USB serial port {unit.host_pty}")
    for unit in UNITS.values():
        wait_for(f"unit {unit.name} blank and waiting", lambda u=unit: status(u).get("state") == "unprovisioned", 60)
    return debs


def provision() -> None:
    """What two technicians do, one per country, over each unit's USB port."""
    for unit in UNITS.values():
        press_button(unit)
        host_tool(unit, "config", "set", f"unit.id={unit.unit_id}", f"link.listen={unit.endpoint}",
                  f"link.pairing_id={PAIRING_ID}")
        press_button(unit)
        host_tool(unit, "enrol")
        host_tool(unit, "export", "--out", unit.bundle)
    for unit, peer in ((UNITS["A"], UNITS["B"]), (UNITS["B"], UNITS["A"])):
        press_button(unit)
        host_tool(unit, "pair", "--yes", "--peer", peer.bundle)
    for unit in UNITS.values():
        wait_for(f"unit {unit.name} on line with its peer reachable",
                 lambda u=unit: (s := status(u))["state"] == "on line" and s["peer"]["reachable"], 60)


def down(quiet: bool = False) -> None:
    for unit in UNITS.values():
        pid_file = unit.dir / "nspawn.pid"
        if pid_file.exists():
            pid = int(pid_file.read_text())
            try:
                inside(unit, "systemctl", "poweroff", check=False, timeout=10)
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
            _wait_gone(pid, 20)
        socat = unit.dir / "socat.pid"
        if socat.exists():
            try:
                os.killpg(int(socat.read_text()), signal.SIGTERM)
            except ProcessLookupError:
                pass
            _wait_gone(int(socat.read_text()), 5)        # it removes its pty links as it goes
        if unit.dir.exists():
            shutil.rmtree(unit.dir)
            if not quiet:
                say(f"unit {unit.name}: powered off and removed")
    run("ip", "link", "del", f"vz-{ZONE}", check=False, capture=True)


def _wait_gone(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:     # our own child: reap it
                return
        except ChildProcessError:                          # not ours (another lab command started it)
            pass
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def show_status() -> int:
    for unit in UNITS.values():
        if not (unit.dir / "nspawn.pid").exists():
            print(f"{unit.name}: not up")
            continue
        services = inside(unit, "systemctl", "is-active", "hotline", "hotline-provisioning", check=False).stdout.split()
        print(f"{unit.name} ({unit.address}): hotline {services[0]}, hotline-provisioning {services[1]}")
        print("  " + inside(unit, HOTLINE, "status", check=False).stdout.strip().replace("\n", "\n  "))
    return 0


def main(argv=None) -> int:
    if os.geteuid() != 0:
        print("lab: needs root (mmdebstrap, systemd-nspawn, nsenter, network links)", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(prog="scripts/lab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="boot two blank installed units")
    sub.add_parser("provision", help="enrol, export and pair both units over their USB ports")
    sub.add_parser("status", help="each unit's services and hotline status")
    p = sub.add_parser("shell", help="a shell inside a unit")
    p.add_argument("unit", choices=sorted(UNITS))
    sub.add_parser("down", help="power both units off and remove them")
    args = parser.parse_args(argv)
    if args.command == "up":
        up()
        say("both units up and blank; next: scripts/lab provision")
    elif args.command == "provision":
        provision()
        say("both units on line")
    elif args.command == "status":
        return show_status()
    elif args.command == "shell":
        return subprocess.call(["nsenter", "-t", str(leader(UNITS[args.unit])), "-a", "--", "/bin/bash", "-l"])
    elif args.command == "down":
        down()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
