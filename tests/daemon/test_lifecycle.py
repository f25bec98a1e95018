"""The daemon as systemd runs it: `hotline run` in a process of its own, its sd_notify messages
read from a real NOTIFY_SOCKET, its state from `hotline status`. A blank unit waits to be
provisioned; a config error is one line and no restart loop; READY follows every reload; a
hung journal writer gets the watchdog withheld; a full disk at start is off line with the
fault LED until space returns."""

from __future__ import annotations

import asyncio
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path

import pytest
import tomli_w

from terminal.sim.provision import provision_pair
from tests.daemon.test_disk_full import fill
from tests.daemonlog import read_until

ROOT = Path(__file__).resolve().parents[2]


class Notifications:
    """A real sd_notify socket, as systemd gives a Type=notify service."""

    def __init__(self, path: Path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.seen: list[str] = []

    def wait_for(self, prefix: str, timeout: float = 30.0) -> str:
        """The next message starting with `prefix` (each datagram may hold several lines)."""
        deadline = time.monotonic() + timeout
        while True:
            for i, line in enumerate(self.seen):
                if line.startswith(prefix):
                    del self.seen[:i + 1]
                    return line
            self.seen.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.sock], [], [], remaining)[0]:
                raise AssertionError(f"no {prefix!r} from the daemon within {timeout} s")
            self.seen += self.sock.recv(4096).decode().splitlines()

    def close(self):
        self.sock.close()


def start(config: Path, notify: Notifications) -> subprocess.Popen:
    env = {**os.environ, "NOTIFY_SOCKET": str(notify.path)}
    return subprocess.Popen([sys.executable, "-m", "terminal.cli", "run", "--config", str(config)],
                            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)


def status(config: Path) -> tuple[int, dict]:
    proc = subprocess.run([sys.executable, "-m", "terminal.cli", "status", "--config", str(config), "--json"],
                          capture_output=True, text=True, cwd=ROOT, timeout=30)
    return proc.returncode, json.loads(proc.stdout)


def stop(proc: subprocess.Popen) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=20)
    proc.stderr.close()
    return code


@pytest.fixture
def notify(tmp_path):
    n = Notifications(tmp_path / "notify.sock")
    yield n
    n.close()


def _rewrite(config: Path, change) -> None:
    raw = tomllib.loads(config.read_text())
    change(raw)
    config.write_text(tomli_w.dumps(raw))


def test_a_blank_unit_waits_to_be_provisioned_and_comes_on_line_after_a_reload(tmp_path, notify):
    a_sim, b_sim = provision_pair(tmp_path)
    a_sim.sock.close()
    b_sim.sock.close()
    config = a_sim.config_path
    paired = config.read_text()
    keys = tmp_path / "A" / "keys"
    shutil.move(keys, tmp_path / "keys-later")          # a blank unit: no keys, no peer
    _rewrite(config, lambda raw: raw.pop("peer"))
    proc = start(config, notify)
    try:
        line = notify.wait_for("STATUS=")
        assert line.startswith("STATUS=unprovisioned: no keys in ")
        assert notify.wait_for("READY=1")
        code, s = status(config)
        assert (code, s["state"], s["fault_led"], s["heap_frozen"]) == (1, "unprovisioned", "blinking", 0)
        assert "hotline-host enrol" in s["reason"]
        assert proc.poll() is None                           # up, not crash-looping

        shutil.move(tmp_path / "keys-later", keys)           # enrol ...
        code, s = status(config)
        assert s["state"] == "unprovisioned"                 # no reload yet: nothing changes behind its back
        config.write_text(paired)                            # ... and pair
        proc.send_signal(signal.SIGHUP)
        assert notify.wait_for("RELOADING=1")
        assert notify.wait_for("STATUS=on line")
        assert notify.wait_for("READY=1")
        code, s = status(config)
        assert (code, s["state"], s["unit"], s["peer"]["id"]) == (0, "on line", "A", "B")
        assert s["last_selftest"]["kind"] == "post" and s["last_selftest"]["passed"]
        assert s["journal"]["signing"] and s["version"]
        assert (s["journal"]["verdict"], s["journal"]["unsigned"]) == ("intact", 0)
        assert s["heap_frozen"] > 10_000      # what start-up made is out of the collector's walk (gc.freeze)
    finally:
        assert stop(proc) == 0


def test_a_config_error_is_one_clear_line_and_no_restart_loop(tmp_path, notify):
    a_sim, b_sim = provision_pair(tmp_path)
    a_sim.sock.close()
    b_sim.sock.close()
    config = a_sim.config_path
    good = config.read_text()
    _rewrite(config, lambda raw: raw["link"].update(listen="nowhere"))
    proc = start(config, notify)
    try:
        line = notify.wait_for("STATUS=")
        assert line.startswith("STATUS=off line: config error: ") and str(config) in line and "listen" in line
        assert notify.wait_for("READY=1")
        errors = [l for l in read_until(proc, "config error") if "config error" in l]
        assert len(errors) == 1 and "[link] listen" in errors[0]
        assert proc.poll() is None                           # stays up: systemd has nothing to restart
        code, s = status(config)                             # the socket and LED its [control], [hardware] name
        assert (code, s["state"], s["fault_led"]) == (1, "off line", "lit") and "[link] listen" in s["reason"]
        config.write_text(good)
        proc.send_signal(signal.SIGHUP)
        assert notify.wait_for("STATUS=on line")
        assert notify.wait_for("READY=1")
    finally:
        assert stop(proc) == 0


def test_a_port_in_use_names_the_address(tmp_path, notify):
    a_sim, b_sim = provision_pair(tmp_path)    # A's socket stays bound here: the port is in use
    b_sim.sock.close()
    try:
        proc = start(a_sim.config_path, notify)
        try:
            line = notify.wait_for("STATUS=off line")
            host, port = a_sim.sock.getsockname()[:2]
            assert f"cannot listen on {host}:{port}" in line and "another process holds the port" in line
            code, s = status(a_sim.config_path)
            assert (code, s["state"], s["fault_led"]) == (1, "off line", "lit")
        finally:
            assert stop(proc) == 0
    finally:
        a_sim.sock.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root; CI runs this as root")
def test_a_full_disk_at_start_is_off_line_until_space_returns(tmp_path, notify):
    a_sim, b_sim = provision_pair(tmp_path)
    a_sim.sock.close()
    b_sim.sock.close()
    data = tmp_path / "A" / "data"
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(data)], check=True)
    try:
        filler = fill(data)
        proc = start(a_sim.config_path, notify)
        try:
            line = notify.wait_for("STATUS=off line")
            assert "disk full" in line
            code, s = status(a_sim.config_path)
            assert (s["state"], s["fault_led"]) == ("off line", "lit")
            filler.unlink()                                  # space returns: on line by itself
            assert notify.wait_for("STATUS=on line", timeout=30)
            errors = [l for l in read_until(proc, "on line") if "disk full" in l]
            assert len(errors) <= 1                          # said once, not once a retry
        finally:
            assert stop(proc) == 0
    finally:
        subprocess.run(["umount", "-l", str(data)], check=True)


async def test_the_watchdog_is_withheld_while_the_journal_writer_hangs(tmp_path, notify, monkeypatch):
    import sdnotify
    import threading

    from terminal.daemon.main import Status, _watchdog
    from terminal.sim.call import bring_up
    from terminal.sim.run import load_unit

    a_sim, b_sim = provision_pair(tmp_path)
    a, b = load_unit(a_sim.config_path), load_unit(b_sim.config_path)
    await bring_up(a, b, (a_sim.sock, b_sim.sock))
    monkeypatch.setenv("NOTIFY_SOCKET", str(notify.path))
    board = Status(sdnotify.SystemdNotifier())
    board.unit = a
    watchdog = asyncio.create_task(_watchdog(board.notifier, board, every=0.01))
    release = threading.Event()
    monkeypatch.setattr("terminal.daemon.unit.JOURNAL_HUNG", 0.05)   # seconds, not 20, to keep the test short
    try:
        assert await asyncio.to_thread(notify.wait_for, "WATCHDOG=1", 5)
        started = threading.Event()
        a.journal.query(lambda journal: started.set() or release.wait(30))     # the writer hangs in a write
        await asyncio.to_thread(started.wait, 5)
        await asyncio.sleep(0.2)
        assert a.health(asyncio.get_running_loop().time()).startswith("the journal writer has been inside one write")
        notify.seen.clear()
        while select.select([notify.sock], [], [], 0)[0]:            # what was sent before it counted as hung
            notify.sock.recv(4096)
        while select.select([notify.sock], [], [], 0.3)[0]:          # nothing more is sent while it hangs
            assert b"WATCHDOG=1" not in notify.sock.recv(4096)
        release.set()
        await a.journal.flush()
        assert await asyncio.to_thread(notify.wait_for, "WATCHDOG=1", 5)
    finally:
        release.set()
        watchdog.cancel()
        await a.close()
        await b.close()


def on_line_holding_a_secret(tmp_path, notify):
    """Unit A's daemon on line with a FLASH message in its store: (config, process, message)."""
    from tests.daemon.test_text_durability import call

    a_sim, b_sim = provision_pair(tmp_path)
    a_sim.sock.close()
    b_sim.sock.close()
    proc = start(a_sim.config_path, notify)
    try:
        notify.wait_for("STATUS=on line")
        sent = asyncio.run(call(tmp_path / "A" / "control.sock", "msg.send", text="the launch codes are 0000",
                                precedence="flash"))
    except BaseException:
        stop(proc)
        raise
    return a_sim.config_path, proc, sent


def test_zeroize_takes_the_daemon_off_line_at_once_and_destroys_the_plaintext(tmp_path, notify):
    """The provisioning service's part (keys destroyed, peer removed) done as it does it, then
    the daemon told over its control socket, as `tell_daemon` does: no systemctl, no polkit."""
    from terminal.provisioning.service import tell_daemon

    config, proc, sent = on_line_holding_a_secret(tmp_path, notify)
    try:
        assert sent["id"]
        from terminal.provisioning.zeroize import mark_pending
        mark_pending(tmp_path / "A" / "keys")                   # first, as the provisioning service does
        (tmp_path / "A" / "keys" / "private.keys").unlink()
        _rewrite(config, lambda raw: raw.pop("peer"))
        said = tell_daemon(str(config), "zeroize", "keys destroyed and peer removed")
        assert said == "the daemon went off line; message plaintext destroyed when the unit has closed"
        assert notify.wait_for("STATUS=unprovisioned")
        code, s = status(config)
        assert s["state"] == "unprovisioned"
    finally:
        assert stop(proc) == 0
    data = tmp_path / "A" / "data"
    leftovers = [p for p in data.rglob("*") if p.is_file() and b"launch codes" in p.read_bytes()]
    assert leftovers == []
    assert not (data / "text.sqlite").exists()
    from terminal.journal import load_sqlite
    journal = load_sqlite(data / "journal.sqlite")              # the evidence stays
    assert any(r.kind == "provisioning" and r.fields["change"] == "zeroize" for r in journal.records)
    assert any(r.kind == "message_queued" and r.fields["message_id"] == sent["id"] for r in journal.records)


def test_the_lab_presses_the_button_and_moves_the_hook_on_mock_pins_only(tmp_path, notify):
    from terminal.provisioning.lab import LAB_SOCKET_NAME, LabButton, press
    from gpiozero.pins.mock import MockFactory
    from gpiozero import Button

    factory = MockFactory()
    button = Button(5, pull_up=True, pin_factory=factory)
    presses = []
    button.when_pressed = lambda: presses.append(True)
    lab = LabButton(factory.pin(5), tmp_path / LAB_SOCKET_NAME)
    lab.start()
    try:
        press(tmp_path / LAB_SOCKET_NAME)
        press(tmp_path / LAB_SOCKET_NAME)
    finally:
        lab.close()
        button.close()
    assert len(presses) == 2

    a_sim, b_sim = provision_pair(tmp_path)      # configs say pin_factory = "mock"
    a_sim.sock.close()
    b_sim.sock.close()
    proc = start(a_sim.config_path, notify)
    # Nothing here reads the daemon's log, so drain it: off hook, each handset-audio retry writes
    # ~5 KB of PortAudio's ALSA noise, and on a loaded machine (or under qemu-user) a full 64 KB
    # pipe blocked the daemon in a log write and this test with it.
    drain = threading.Thread(target=proc.stderr.read, daemon=True)
    drain.start()
    try:
        notify.wait_for("STATUS=on line")
        lab_cmd = [sys.executable, "-m", "terminal.cli", "lab", "hook", "up", "--config", str(a_sim.config_path)]
        assert subprocess.run(lab_cmd, capture_output=True, text=True, cwd=ROOT).stdout == "handset lifted\n"
        code, s = status(a_sim.config_path)
        assert s["call"] != "idle"                                    # off hook: the unit rings its peer
        lab_cmd[5] = "down"
        assert subprocess.run(lab_cmd, capture_output=True, text=True, cwd=ROOT).returncode == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        drain.join(timeout=5)          # at the end of its output, before stop() closes the pipe
        assert stop(proc) == 0


async def test_a_unit_on_real_pins_has_no_lab_hook(tmp_path):
    from gpiozero.pins.mock import MockFactory

    from terminal.sim.run import load_unit

    a_sim, b_sim = provision_pair(tmp_path)
    _rewrite(a_sim.config_path, lambda raw: raw["hardware"].update(pin_factory="auto"))
    unit = load_unit(a_sim.config_path, pin_factory=MockFactory())   # pins given, but the config says real
    await unit.start(a_sim.sock, control=True)
    try:
        assert "unit.provisioned" in unit.control.handlers and "lab.hook" not in unit.control.handlers
    finally:
        await unit.close()
        b_sim.sock.close()


def test_a_zeroize_the_daemon_did_not_see_through_is_finished_when_it_next_starts(tmp_path, notify):
    """The daemon was not running (or was killed mid-way) when the technician zeroized: the marker the
    provisioning service wrote first makes the next start destroy the plaintext before anything else."""
    from terminal.provisioning.zeroize import PENDING, mark_pending

    config, proc, _ = on_line_holding_a_secret(tmp_path, notify)
    assert stop(proc) == 0
    keys = tmp_path / "A" / "keys"
    mark_pending(keys)                                          # what the provisioning service does first
    (keys / "private.keys").unlink()
    _rewrite(config, lambda raw: raw.pop("peer"))
    data = tmp_path / "A" / "data"
    assert any(b"launch codes" in p.read_bytes() for p in data.rglob("*") if p.is_file())
    proc = start(config, notify)
    try:
        assert notify.wait_for("STATUS=unprovisioned")
    finally:
        assert stop(proc) == 0
    assert not any(b"launch codes" in p.read_bytes() for p in data.rglob("*") if p.is_file())
    assert not (keys / PENDING).exists() and (data / "journal.sqlite").exists()


async def test_a_journal_rewritten_while_on_line_takes_the_unit_off_the_line(tmp_path):
    from terminal.journal import canonical, load_sqlite, schema
    from terminal.sim.call import bring_up
    from terminal.sim.run import load_unit
    from tests.journal.helpers import unlock

    a_sim, b_sim = provision_pair(tmp_path)
    a, b = load_unit(a_sim.config_path), load_unit(b_sim.config_path)
    await bring_up(a, b, (a_sim.sock, b_sim.sock))
    reloads = asyncio.Event()
    a.on_reload = reloads.set
    try:
        await a.journal.flush()
        journal = tmp_path / "A" / "data" / "journal.sqlite"
        with unlock(journal) as s:                               # someone appends behind the unit's back
            s.execute("BEGIN IMMEDIATE")     # the tail read and the insert in one write lock: a record the
            last = schema.record_from_row(   # unit journals meanwhile (the peer's witness) waits for it
                s.execute(schema.SELECT_RECORDS + " ORDER BY seq DESC LIMIT 1").fetchone())
            body = {**last.body(), "seq": last.seq + 1, "kind": "link_up", "fields": {}, "prev_hash": last.hash}
            s.execute("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      (body["seq"], last.wall_us, last.mono_us, last.boot_id, "link_up", None, "{}", last.hash,
                       canonical.record_hash(body)))
            s.execute("COMMIT")
        assert (await asyncio.wrap_future(a.journal.record("link_down", reason="probe"))) is None
        await asyncio.wait_for(reloads.wait(), 5)               # off the line, to fail its check on reload
        assert a.journal.rewritten and a.call.hardware.leds["fault"].is_lit
        assert max(cp.seq for cp in load_sqlite(journal).checkpoints) == last.seq   # nothing more signed
    finally:
        await a.close()
        await b.close()


def test_hotline_status_shows_each_path_and_the_drops_by_reason():
    from terminal.daemon.status import describe

    text = describe({"unit": "A", "state": "on line", "peer": {"id": "B", "reachable": True, "last_heard": 99.0,
                                                                "endpoint": "192.0.2.2:4870", "rtt": 0.05},
                     "link": {"paths": [
                         {"endpoint": "192.0.2.2:4870", "configured": True, "state": "up", "best": True,
                          "rtt_ms": 48.0, "loss": 0.05, "last_heard_ago": 0.3},
                         {"endpoint": "198.51.100.2:4870", "configured": True, "state": "down", "best": False,
                          "rtt_ms": 90.0, "loss": 1.0, "last_heard_ago": 40.0}],
                         "drops": {"bad_mac": 12, "under_load": 3000}, "duplicates": 7, "cookie_replies_sent": 2990}},
                    now=100.0)
    assert "  path 192.0.2.2:4870 (configured): up (best), round trip 48 ms, loss 5 %" in text
    assert "  path 198.51.100.2:4870 (configured): DOWN, loss 100 %" in text
    assert ("link drops: 12 bad_mac, 3000 under_load; 7 duplicate(s) from redundant paths; "
            "2990 cookie replies sent (under load)") in text
