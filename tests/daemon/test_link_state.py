"""The link's durable state and its evidence, against a real daemon driven from outside:
a replayed initiation is not answered after a restart, and drops reach the journal."""

import select
import signal
import socket
import struct
import subprocess
import sys

from terminal.journal.load import load_sqlite
from terminal.keys import load_keys
from terminal.link.constants import HANDSHAKE_COPIES, MSG_RESPONSE
from terminal.link.session import LinkSession
from terminal.sim.provision import provision_pair
from tests.daemonlog import read_until


def start(config):
    proc = subprocess.Popen([sys.executable, "-m", "terminal.cli", "-v", "run", "--config", str(config)],
                            stderr=subprocess.PIPE, text=True)
    read_until(proc, "on line")
    return proc


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=20)
    assert proc.returncode == 0


def responses_until(sock, sender, timeout=10.0):
    """Every handshake response read until one answers initiation `sender` (the receiver field)."""
    seen = []
    while True:
        ready, _, _ = select.select([sock], [], [], timeout)
        assert ready, f"no response to initiation {sender} within {timeout} s"
        data = sock.recv(4096)
        if data[0] == MSG_RESPONSE:
            receiver = struct.unpack_from("<I", data, 8)[0]
            seen.append(receiver)
            if receiver == sender:
                return seen


def impostor_of_a(tmp_path, b_addr):
    """Unit A's link as a test-side LinkSession with A's own keys (what A's daemon would send)."""
    keys = load_keys(tmp_path / "A" / "keys")
    b_keys = load_keys(tmp_path / "B" / "keys")
    session = LinkSession(static=keys.static, peer_static=b_keys.identity.static_public,
                          endpoints=[b_addr], pairing_id="sim-pair")
    return session


def test_a_replayed_initiation_gets_no_answer_after_the_peer_restarts(tmp_path):
    a_sim, b_sim = provision_pair(tmp_path)
    b_addr = b_sim.sock.getsockname()
    b_sim.sock.close()
    a_sock = a_sim.sock
    proc = start(b_sim.config_path)
    try:
        a = impostor_of_a(tmp_path, b_addr)
        a.start(0.0)
        initiation, _ = a.datagrams_to_send(0.0)[0]
        sender = struct.unpack_from("<I", initiation, 4)[0]
        a_sock.sendto(initiation, b_addr)
        for _ in range(HANDSHAKE_COPIES):                     # B answered it (each copy of its response)
            assert responses_until(a_sock, sender) == [sender]
        saved = tmp_path / "B" / "data" / "link.timestamp"
        assert saved.stat().st_mode & 0o777 == 0o600 and len(saved.read_bytes()) == 12
        stop(proc)
        proc = start(b_sim.config_path)
        a_sock.sendto(initiation, b_addr)                     # the attacker's replay
        a._initiate(1.0, 0)                                   # then a genuine, newer one
        fresh, _ = a.datagrams_to_send(1.0)[0]
        fresh_sender = struct.unpack_from("<I", fresh, 4)[0]
        a_sock.sendto(fresh, b_addr)
        # B reads its socket in order: an answer to the replay would have come first.
        assert responses_until(a_sock, fresh_sender) == [fresh_sender]
    finally:
        stop(proc)
        a_sock.close()
    journal = load_sqlite(tmp_path / "B" / "data" / "journal.sqlite")
    drops = [r.fields for r in journal.records if r.kind == "link_drops"]
    # The replay (and the second copy of nothing: this impostor sends one) is in the evidence.
    assert drops and "replayed_initiation:1" in drops[-1]["reasons"]


def test_drops_are_journaled_per_reason_and_shown_by_hotline_status(tmp_path):
    a_sim, b_sim = provision_pair(tmp_path)
    b_addr = b_sim.sock.getsockname()
    b_sim.sock.close()
    proc = start(b_sim.config_path)
    attacker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for junk in (b"", b"\x04" + bytes(40), b"\x01" + bytes(155), b"\x09" * 30):
            attacker.sendto(junk, b_addr)
        socket_path = tmp_path / "B" / "control.sock"
        out = ""
        for _ in range(50):                                   # until B has read all four
            out = subprocess.run([sys.executable, "-m", "terminal.cli", "status", "--socket", str(socket_path)],
                                 capture_output=True, text=True, timeout=30).stdout
            if "2 malformed" in out and "1 bad_mac" in out:
                break
        assert "link drops: 1 bad_mac, 2 malformed, 1 unknown_index" in out, out
        assert "path 127.0.0.1:" in out and "(configured)" in out
    finally:
        attacker.close()
        stop(proc)
        a_sim.sock.close()
    journal = load_sqlite(tmp_path / "B" / "data" / "journal.sqlite")
    (drops,) = [r.fields for r in journal.records if r.kind == "link_drops"]
    assert drops["dropped"] == 4 and drops["reasons"] == "bad_mac:1,malformed:2,unknown_index:1"
    assert drops["from_us"] < drops["to_us"]
