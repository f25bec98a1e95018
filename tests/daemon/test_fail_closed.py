"""A unit whose power-on self-test fails stays off the line, journals why, and
comes on line when the fault is mended and it is told to reload (SIGHUP)."""

import select
import signal
import subprocess
import sys

from terminal.journal.load import load_sqlite
from terminal.journal.verify import verify
from terminal.keys import PRIVATE_KEYS_FILE, load_keys
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

    # The journal proves it: the failed power-on check (chained while the key was
    # unusable), then the passing one, all covered by the checkpoint signed at stop.
    journal = load_sqlite(tmp_path / "A" / "data" / "journal.sqlite")
    keystore = [(r.seq, r.fields["passed"]) for r in journal.records
                if r.kind == "selftest" and r.fields["check"] == "keystore"]
    assert [passed for _, passed in keystore] == [False, True]
    failed = next(r for r in journal.records if r.seq == keystore[0][0])
    assert "mode 0644" in failed.fields["detail"]
    boots = [r.seq for r in journal.records if r.kind == "boot"]
    assert len(boots) == 2 and boots[0] < keystore[0][0] < boots[1] < keystore[1][0]
    verdict = verify(journal.records, journal.checkpoints, load_keys(tmp_path / "A" / "keys").identity.journal_public)
    assert verdict.ok and verdict.unsigned_tail == 0, verdict.as_dict()


def test_a_unit_started_on_a_rewritten_journal_refuses_to_sign_it_and_shows_the_fault(tmp_path):
    """Someone edits the SD card's journal (a missed call made answered), rechains it and strips the
    checkpoints after the edit. The unit's head file, beside its keys, still names the record it
    last wrote, so the unit fails journal_chain, stays off the line, signs nothing, leaves the
    evidence as found and journals why in a fresh file."""
    from terminal.journal import canonical
    from tests.journal.helpers import unlock

    a_sim, b_sim = provision_pair(tmp_path)
    a_sim.sock.close()
    journal = tmp_path / "A" / "data" / "journal.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "terminal.cli", "run", "--config", str(a_sim.config_path)],
                            stderr=subprocess.PIPE, text=True)
    read_until(proc, "on line")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
    data = load_sqlite(journal)
    assert len(data.records) > 5
    with unlock(journal) as s:
        prev = data.records[2].hash
        for rec in data.records[3:]:
            fields = {**rec.fields, "detail": "rewritten"} if rec.kind == "selftest" else rec.fields
            body = {**rec.body(), "fields": fields, "prev_hash": prev}
            prev = canonical.record_hash(body)
            s.execute("UPDATE records SET fields = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                      (canonical.encode(fields).decode(), body["prev_hash"], prev, rec.seq))
        s.execute("DELETE FROM checkpoints WHERE seq > 3")
        s.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    evidence = journal.read_bytes()

    proc = subprocess.Popen([sys.executable, "-m", "terminal.cli", "run", "--config", str(a_sim.config_path)],
                            stderr=subprocess.PIPE, text=True)
    try:
        seen = read_until(proc, "staying off the line")
        assert any("journal_chain" in line and "REWRITTEN" in line for line in seen), seen
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    assert journal.read_bytes() == evidence                    # not one byte signed or added
    fault = load_sqlite(journal.with_name("journal-fault.sqlite"))
    chain = [r.fields for r in fault.records if r.kind == "selftest" and r.fields["check"] == "journal_chain"]
    assert len(chain) == 1 and not chain[0]["passed"] and "REWRITTEN" in chain[0]["detail"]
    key = load_keys(tmp_path / "A" / "keys").identity.journal_public
    assert verify(fault.records, fault.checkpoints, key).ok   # the fault journal itself is signed
