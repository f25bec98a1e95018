"""Two `hotline run` daemons in separate network namespaces, as on two desks."""

import signal
import subprocess
import sys
import time

from terminal.journal import load, verify
from terminal.keys import encode_key, generate_keys
from terminal.sim.provision import write_config

from tests.daemonlog import read_until
from tests.emulation import needs_netfilter

from .conftest import A_IP, B_IP, needs_root

PORT = 4870


def _configs(tmp_path):
    ids = {n: generate_keys(tmp_path / n / "keys").identity for n in "AB"}
    ips = {"A": A_IP, "B": B_IP}
    paths = {}
    for name, peer in (("A", "B"), ("B", "A")):
        paths[name] = tmp_path / name / "hotline.toml"
        write_config(paths[name], {
            "unit": {"id": name, "key_dir": "keys", "data_dir": "data"},
            "link": {"listen": f"{ips[name]}:{PORT}", "pairing_id": "netns", "unreachable_after": 3.0},
            "peer": {"id": peer, "static_public": encode_key(ids[peer].static_public),
                     "signing_public": encode_key(ids[peer].signing_public),
                     "mlkem_public": encode_key(ids[peer].mlkem_public),
                     "mldsa_public": encode_key(ids[peer].mldsa_public),
                     "endpoints": [f"{ips[peer]}:{PORT}"]},
            "control": {"socket": "control.sock"},
            "hardware": {"pin_factory": "mock"},
        })
    return paths, ids


@needs_root
@needs_netfilter
def test_daemons_in_two_namespaces_link_up_with_random_loss_on_b(hosts, tmp_path):
    paths, ids = _configs(tmp_path)
    hosts.drop_percent(hosts.b, 20)
    procs = {
        name: subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-m", "terminal.cli", "run",
                                "--config", str(paths[name])], stderr=subprocess.PIPE, text=True)
        for name, ns in (("A", hosts.a), ("B", hosts.b))
    }
    try:
        deadline = time.monotonic() + 60
        for proc in procs.values():
            read_until(proc, "is reachable", max(0.0, deadline - time.monotonic()))
    finally:
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            proc.wait(timeout=20)
    for name in "AB":
        data = load(tmp_path / name / "data" / "journal.sqlite")
        assert verify(data.records, data.checkpoints, ids[name].journal_public).ok
        kinds = [r.kind for r in data.records]
        assert kinds[0] == "boot" and "link_up" in kinds and kinds[-1] == "shutdown"
