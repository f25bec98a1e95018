"""hotline-host's commands and messages, against simulated units on real ptys."""

import json
import os
import re
import sqlite3

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from host import commands
from host.cli import main
from host.listing import list_units
from host.udev_rule import RULE_FILE, laptop_rule
from terminal.journal.store import Journal
from terminal.keys import load_keys
from tests.provisioning.harness import hotline_host

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(unit, *args):
    return main(["--port", unit.cable.host_path, *args])


def test_info_shows_the_fingerprint_in_groups_to_read_aloud(make_unit, capsys):
    unit = make_unit()
    unit.press()
    hotline_host(unit, "enrol")
    capsys.readouterr()
    assert run(unit, "info") == 0
    text = capsys.readouterr().out
    fingerprint = load_keys(unit.key_dir).identity.fingerprint.split()
    assert "unit A  firmware" in text and "state enrolled" in text
    assert "   ".join(fingerprint[:3]) in text and "   ".join(fingerprint[3:]) in text
    assert run(unit, "info", "--json") == 0
    assert json.loads(capsys.readouterr().out)["identity"]["fingerprint"] == " ".join(fingerprint)


def test_a_device_can_be_passed_in_instead_of_a_port(make_unit, capsys):
    unit = make_unit()
    device = unit.device()
    try:
        assert main(["--json", "info"], device=device) == 0
    finally:
        device.close()
    assert json.loads(capsys.readouterr().out)["state"] == "blank"


def test_enrol_without_the_button_is_one_clear_line_and_exit_2(make_unit, capsys):
    unit = make_unit()
    assert run(unit, "enrol") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("hotline-host: press the provisioning button on the unit, then retry within 60 s")
    assert not unit.key_dir.exists()


def test_a_tampered_bundle_is_refused_before_it_reaches_the_unit(make_unit, tmp_path, capsys):
    a, b = make_unit("A"), make_unit("B", "198.51.100.20:4870")
    for unit in (a, b):
        unit.press()
        hotline_host(unit, "enrol")
    hotline_host(b, "export", "--out", str(tmp_path / "b.json"))
    doc = json.loads((tmp_path / "b.json").read_text())
    doc["bundle"]["endpoints"] = ["203.0.113.66:4870"]
    (tmp_path / "b.json").write_text(json.dumps(doc))
    before = a.config_path.read_bytes()
    a.press()
    capsys.readouterr()
    assert run(a, "pair", "--yes", "--peer", str(tmp_path / "b.json")) == 2
    assert "signature does not verify" in capsys.readouterr().err
    assert a.config_path.read_bytes() == before


def test_serial_errors_point_at_cable_permissions_and_drivers(tmp_path, capsys):
    assert main(["--port", str(tmp_path / "ttyACM9"), "info"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hotline-host: serial port error:")
    for hint in ("USB cable", "dialout", "plugdev", "cdc_acm"):
        assert hint in err
    assert err.count("\n") == 1


def test_a_silent_unit_times_out_with_a_hint(make_unit, capsys):
    unit = make_unit()
    unit.stop()
    assert run(unit, "--timeout", "0.2", "info") == 2
    assert "no answer to hello within 0.2 s" in capsys.readouterr().err


def test_trace_dumps_every_byte_in_hex(make_unit, capsys):
    unit = make_unit()
    assert run(unit, "--trace", "info") == 0
    err = capsys.readouterr().err
    assert re.search(r"^-> 0000  00 ", err, re.M)  # the leading delimiter
    assert re.search(r"^<- 0000  [0-9a-f]{2} ", err, re.M)


def test_selftest_not_available_is_said_plainly(make_unit, capsys):
    unit = make_unit()
    assert run(unit, "selftest") == 2
    assert "self-test not available" in capsys.readouterr().err


def test_selftest_results_are_shown_as_they_come(make_unit, capsys):
    unit = make_unit(selftest=lambda: iter([
        {"check": "ringer", "ok": True, "detail": "relay clicks"},
        {"check": "handset", "ok": False, "detail": "no tone heard"},
    ]))
    assert run(unit, "selftest") == 1
    out = capsys.readouterr().out
    assert "PASS  ringer  relay clicks" in out
    assert "FAIL  handset  no tone heard" in out
    assert "self-test FAILED: 1 passed, 1 failed" in out


def test_config_set_parses_toml_values(make_unit, capsys):
    unit = make_unit()
    assert run(unit, "config", "set", "link.unreachable_after=30", "link.listen=192.0.2.11:4870") == 0
    text = unit.config_path.read_text()
    assert "unreachable_after = 30" in text and 'listen = "192.0.2.11:4870"' in text
    assert run(unit, "config", "set", "link.unreachable_after=0") == 2
    assert "[link] unreachable_after: expected a number from 1.0 to 600.0" in capsys.readouterr().err


def test_zeroize_needs_yes_and_the_button(make_unit, capsys):
    unit = make_unit()
    unit.press()
    hotline_host(unit, "enrol")
    assert run(unit, "zeroize") == 2
    assert "--yes" in capsys.readouterr().err
    unit.clock.advance(61)
    assert run(unit, "zeroize", "--yes") == 2
    assert (unit.key_dir / "private.keys").exists()
    unit.press()
    assert run(unit, "zeroize", "--yes") == 0
    assert not (unit.key_dir / "private.keys").exists()


def test_list_shows_udev_links(make_unit, tmp_path):
    unit = make_unit()
    dev = tmp_path / "dev"
    dev.mkdir()
    (dev / "hotline-A").symlink_to(unit.cable.host_path)
    units = [u for u in list_units(str(dev)) if u["links"]]
    assert units == [{"port": os.path.realpath(unit.cable.host_path), "serial": "A", "product": None,
                      "links": [str(dev / "hotline-A")]}]


def test_install_udev_writes_the_documented_rule(tmp_path, capsys):
    assert main(["install-udev", "--dest", str(tmp_path)]) == 0
    written = (tmp_path / RULE_FILE).read_text()
    assert written == laptop_rule()
    with open(os.path.join(ROOT, "udev", RULE_FILE)) as f:
        assert f.read() == written, "udev/ copy is out of date with host/udev_rule.py"
    assert 'ATTRS{idVendor}=="1209", ATTRS{idProduct}=="0001"' in written
    assert 'SYMLINK+="hotline-$attr{serial}"' in written and 'MODE="0660"' in written


def test_install_udev_without_root_says_sudo(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / RULE_FILE).mkdir()  # unwritable target, even for root
    assert main(["install-udev", "--dest", str(locked)]) == 2
    assert "hotline-host:" in capsys.readouterr().err


# -- the journal ------------------------------------------------------------

def write_journal(unit, records: int) -> None:
    journal = Journal(unit.data_dir / "journal.sqlite", load_keys(unit.key_dir).journal_signer, unit=unit.unit_id,
                      checkpoint_every=10)
    try:
        for i in range(records):
            journal.append("link_down", reason=f"test outage {i} " + "x" * 400)
    finally:
        journal.close()


@pytest.fixture
def journalled(make_unit, tmp_path):
    """Unit A, enrolled, its bundle in tmp_path, and a journal of several chunks."""
    a = make_unit("A")
    a.press()
    hotline_host(a, "enrol")
    hotline_host(a, "export", "--out", str(tmp_path / "A.bundle.json"))
    write_journal(a, 80)
    return a


def test_journal_pull_then_verify(journalled, tmp_path, capsys):
    out = tmp_path / "a.sqlite"
    assert run(journalled, "journal", "pull", "--out", str(out)) == 0
    text = capsys.readouterr().out
    assert "KiB/s" in text and "sha256" in text
    with sqlite3.connect(out) as db:
        assert db.execute("SELECT count(*) FROM records").fetchone()[0] >= 80
    db.close()
    assert main(["journal", "verify", str(out), "--bundle", str(tmp_path / "A.bundle.json")]) == 0
    assert capsys.readouterr().out.startswith("intact: ")


@pytest.fixture
def pulled(journalled, tmp_path):
    out = tmp_path / "a.sqlite"
    assert run(journalled, "journal", "pull", "--no-progress", "--out", str(out)) == 0
    return out


def test_journal_verify_catches_an_edit(pulled, tmp_path, capsys):
    out = pulled
    with sqlite3.connect(out) as db:
        db.execute("DROP TRIGGER records_append_only_u")  # as a tamperer would
        db.execute("UPDATE records SET fields = replace(fields, 'outage 7 ', 'outage 8 ') WHERE seq = 8")
    db.close()
    capsys.readouterr()
    assert main(["journal", "verify", str(out), "--bundle", str(tmp_path / "A.bundle.json")]) == 1
    assert capsys.readouterr().out.startswith("TAMPERED")


def test_journal_verify_against_the_wrong_key_fails(pulled):
    wrong = Ed25519PrivateKey.generate().public_key().public_bytes_raw().hex()
    assert main(["journal", "verify", str(pulled), "--public-key", wrong]) == 1


def test_report_from_a_pulled_journal(pulled, tmp_path):
    html = tmp_path / "report.html"
    assert main(["report", str(pulled), "--bundle", str(tmp_path / "A.bundle.json"), "--out", str(html)]) == 0
    assert html.read_text().lstrip().lower().startswith("<!doctype html")


def test_an_interrupted_pull_resumes_where_it_stopped(journalled, tmp_path):
    out = tmp_path / "a.sqlite"
    seen = []

    def cable_pulled(done, total):
        seen.append(done)
        if len(seen) == 3:
            raise KeyboardInterrupt

    device = journalled.device()
    try:
        with pytest.raises(KeyboardInterrupt):
            commands.journal_pull(device, out, progress=cable_pulled)
        stopped_at = (tmp_path / "a.sqlite.part").stat().st_size
        assert stopped_at == seen[-1] > 0 and not out.exists()
        resumed = []
        result = commands.journal_pull(device, out, resume=True, progress=lambda done, total: resumed.append(done))
    finally:
        device.close()
    assert resumed[0] > stopped_at  # no chunk fetched twice
    assert out.stat().st_size == result["size"] and not (tmp_path / "a.sqlite.part").exists()
    assert main(["journal", "verify", str(out), "--bundle", str(tmp_path / "A.bundle.json")]) == 0


@pytest.mark.parametrize("answer, installed", [("y", True), ("LAST", True), ("n", False), ("12345", False),
                                              ("", False), (EOFError, False)])
def test_pair_asks_for_the_fingerprint_before_installing_the_peer(make_unit, tmp_path, monkeypatch, capsys,
                                                                  answer, installed):
    a, b = make_unit("A"), make_unit("B", "198.51.100.20:4870")
    for unit in (a, b):
        unit.press()
        hotline_host(unit, "enrol")
    hotline_host(b, "export", "--out", str(tmp_path / "b.json"))
    fingerprint = commands.read_bundle(tmp_path / "b.json")[1].fingerprint
    asked = []

    def technician(prompt):
        asked.append(prompt)
        if answer is EOFError:
            raise EOFError
        return fingerprint.split()[-1] if answer == "LAST" else answer
    monkeypatch.setattr("builtins.input", technician)
    before = a.config_path.read_bytes()
    a.press()
    capsys.readouterr()
    code = run(a, "pair", "--peer", str(tmp_path / "b.json"))
    err = capsys.readouterr().err
    assert asked and fingerprint.split()[0] in err          # shown before anything is installed
    if installed:
        assert code == 0 and a.config_path.read_bytes() != before
    else:
        assert code == 2 and "fingerprint not confirmed" in err and a.config_path.read_bytes() == before
