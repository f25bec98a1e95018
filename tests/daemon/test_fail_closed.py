"""A unit whose power-on self-test fails stays off the line, and comes on line
when the fault is mended and it is told to reload (SIGHUP)."""

import select
import signal
import subprocess
import sys

from terminal.keys import PRIVATE_KEYS_FILE
from terminal.sim.provision import provision_pair
from tests.daemonlog import read_until


def test_unsafe_key_file_keeps_the_unit_off_line_until_mended(tmp_path):
    a_sim, b_sim = provision_pair(tmp_path)
    a_sim.sock.close()
    key_file = tmp_path / "A" / "keys" / PRIVATE_KEYS_FILE
    key_file.chmod(0o644)                             # someone copied it carelessly
    watcher = b_sim.sock                              # A's peer address: see whether A ever sends
    watcher.setblocking(False)
    proc = subprocess.Popen([sys.executable, "-m", "terminal.cli", "run", "--config", str(a_sim.config_path)],
                            stderr=subprocess.PIPE, text=True)
    try:
        read_until(proc, "staying off the line")
        assert proc.poll() is None                    # still running, serving nothing on the network
        try:
            watcher.recv(2048)
            sent = True
        except BlockingIOError:
            sent = False
        assert not sent, "a unit that failed its self-test sent a packet"
        key_file.chmod(0o600)
        proc.send_signal(signal.SIGHUP)
        read_until(proc, "reloading")
        ready, _, _ = select.select([watcher], [], [], 10)
        assert ready, "the mended unit never tried to reach its peer"
        assert watcher.recv(2048)[0] == 1             # a handshake initiation
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        watcher.close()
    assert proc.returncode == 0
