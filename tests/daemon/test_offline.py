"""What a unit that failed its power-on self-test still does: fault LED lit, every
check journalled — and never a crash, whatever broke (config, key file, journal)."""

import logging

from gpiozero.pins.mock import MockFactory

from terminal.daemon.offline import OffLine
from terminal.hardware.profile import load_profile
from terminal.journal.load import load_sqlite
from terminal.keys import PRIVATE_KEYS_FILE
from terminal.selftest.post import run_post
from terminal.sim.provision import provision_pair


def failed_unit(tmp_path):
    a_sim, b_sim = provision_pair(tmp_path)
    a_sim.sock.close(), b_sim.sock.close()
    key_file = tmp_path / "A" / "keys" / PRIVATE_KEYS_FILE
    key_file.write_bytes(key_file.read_bytes()[:-7])          # a cut-off copy
    verdict = run_post(a_sim.config_path)
    assert not verdict.go_on_line
    return a_sim.config_path, verdict


def test_corrupted_key_file_lights_the_fault_led_and_journals_every_check(tmp_path):
    config_path, verdict = failed_unit(tmp_path)
    pins = MockFactory()
    off_line = OffLine(config_path, verdict, pin_factory=pins)
    try:
        fault = load_profile("pi4").led_fault
        assert off_line.fault_led.is_lit
        assert pins.pin(fault.pin).state == fault.active_high     # the real pin is driven
    finally:
        off_line.close()
    assert off_line.fault_led is None

    records = load_sqlite(tmp_path / "A" / "data" / "journal.sqlite").records
    assert [r.kind for r in records] == ["boot"] + ["selftest"] * len(verdict.summary.results)
    logged = {r.fields["check"]: r.fields["passed"] for r in records if r.kind == "selftest"}
    assert logged == {r.name: r.passed for r in verdict.summary.results}
    assert logged["keystore"] is False and logged["kat_x25519"] is True
    assert off_line.journalled == len(records)


def test_unusable_config_or_journal_is_logged_not_raised(tmp_path, caplog):
    config_path, verdict = failed_unit(tmp_path)
    caplog.set_level(logging.ERROR)
    data = tmp_path / "A" / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "journal.sqlite").mkdir()                         # the journal path is not a file
    off_line = OffLine(config_path, verdict, pin_factory=MockFactory())
    try:
        assert off_line.fault_led.is_lit and off_line.journalled == 0
        assert "cannot journal the failed self-test" in caplog.text
    finally:
        off_line.close()

    config_path.write_text("[unit\n")                          # not TOML at all
    off_line = OffLine(config_path, verdict, pin_factory=MockFactory())
    assert off_line.fault_led is None and off_line.journalled == 0
    assert "the config is unusable" in caplog.text


def test_a_journal_that_failed_its_check_is_not_written_to_but_beside(tmp_path, caplog):
    a_sim, b_sim = provision_pair(tmp_path)
    a_sim.sock.close(), b_sim.sock.close()
    journal = tmp_path / "A" / "data" / "journal.sqlite"
    journal.parent.mkdir(parents=True, exist_ok=True)
    journal.write_bytes(b"not a journal at all")               # cut, overwritten, whatever it was
    verdict = run_post(a_sim.config_path)
    assert [r.name for r in verdict.summary.failures] == ["journal_chain"]
    caplog.set_level(logging.ERROR)
    off_line = OffLine(a_sim.config_path, verdict, pin_factory=MockFactory())
    try:
        assert off_line.fault_led.is_lit and off_line.journalled == 1 + len(verdict.summary.results)
        assert journal.read_bytes() == b"not a journal at all"  # left exactly as found, for the auditor
        assert "the journal failed its check" in caplog.text and "journal-fault.sqlite" in caplog.text
        fault = load_sqlite(journal.with_name("journal-fault.sqlite"))
        chain = [r for r in fault.records if r.kind == "selftest" and r.fields["check"] == "journal_chain"]
        assert len(chain) == 1 and not chain[0].fields["passed"]
    finally:
        off_line.close()
