"""The provisioning service tells the running daemon about a change: the daemon
journals it and reloads (re-running its power-on self-test)."""

import signal
import subprocess
import sys

from terminal.journal import load, verify
from terminal.keys import load_keys
from terminal.provisioning.service import tell_daemon
from terminal.sim.provision import provision_pair
from tests.daemonlog import read_until


def test_a_provisioning_change_is_journalled_and_reloads_the_daemon(tmp_path):
    a_sim, _ = provision_pair(tmp_path)
    a_sim.sock.close()
    proc = subprocess.Popen([sys.executable, "-m", "terminal.cli", "run", "--config", str(a_sim.config_path)],
                            stderr=subprocess.PIPE)
    try:
        read_until(proc, "on line")
        tell_daemon(str(a_sim.config_path), "pair", "peer B installed")   # as the provisioning service does
        read_until(proc, "reloading")
        read_until(proc, "on line")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    data = load(tmp_path / "A" / "data" / "journal.sqlite")
    assert verify(data.records, data.checkpoints, load_keys(tmp_path / "A" / "keys").identity.journal_public).ok
    kinds = [r.kind for r in data.records]
    (record,) = [r for r in data.records if r.kind == "provisioning"]
    assert (record.fields["change"], record.fields["detail"]) == ("pair", "peer B installed")
    # journalled before the reload's shutdown, and the unit booted again after it
    assert kinds.count("boot") == 2
    assert kinds.index("provisioning") < kinds.index("shutdown") < len(kinds) - 1 - kinds[::-1].index("boot")
