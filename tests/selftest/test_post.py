"""The power-on self-test: a sound unit goes on line; any broken part keeps it off, lit and journalled."""

import pytest

from terminal.config import load as load_config
from terminal.journal import Journal
from terminal.keys import load_keys
from terminal.selftest.post import post_results, provisioning_runner, run_post
from terminal.selftest.runner import led_switch
from terminal.selftest.vectors import ED25519
from terminal.sim.provision import provision_pair
from tests.journal.helpers import unlock

POST_CHECKS = ["kat_x25519", "kat_chacha20poly1305", "kat_blake2s", "kat_sha256", "kat_ed25519", "kat_mlkem768",
               "kat_mldsa65", "opus_codec",
               "config", "keystore", "journal_chain"]


@pytest.fixture
def unit(tmp_path):
    """Unit A of a provisioned pair, with a journal of a few records signed by its own key."""
    a, b = provision_pair(tmp_path)
    a.sock.close()
    b.sock.close()
    cfg = load_config(a.config_path)
    journal = Journal(cfg.unit.data_dir / "journal.sqlite", load_keys(cfg.unit.key_dir).journal_signer)
    journal.append("boot", version="test")
    journal.append("link_up", path="127.0.0.1:1")
    journal.close()
    return a.config_path, cfg


def test_a_sound_unit_passes_every_check_and_goes_on_line(unit, hardware, sink):
    config_path, _ = unit
    verdict = run_post(config_path, record=sink.record, fault_led=led_switch(hardware.leds["fault"]))
    assert [r.name for r in verdict.summary.results] == POST_CHECKS
    assert verdict.go_on_line and verdict.summary.exit_code == 0, verdict.reason
    assert not hardware.leds["fault"].is_lit
    assert [f["check"] for f in sink.selftests()] == POST_CHECKS
    assert all(f["passed"] for f in sink.selftests())
    chain = verdict.summary.by_name()["journal_chain"]
    assert chain["data"]["records"] == 2 and chain["data"]["unsigned_tail"] == 0


def assert_fault(verdict, hardware, sink, check: str, words: str) -> None:
    """Detected (off the line, exit 1), named (the check and its detail), recorded (journal), shown (LED)."""
    assert not verdict.go_on_line and verdict.summary.exit_code == 1
    assert check in [r.name for r in verdict.summary.failures]
    assert words in verdict.summary.by_name()[check]["detail"]
    assert check in verdict.reason
    assert words in sink.failures()[check]
    assert hardware.leds["fault"].is_lit


def test_corrupted_key_file_keeps_the_unit_off_the_line(unit, hardware, sink):
    config_path, cfg = unit
    key_file = cfg.unit.key_dir / "private.keys"
    key_file.write_text(key_file.read_text().replace("static = ", "static = !!"))
    verdict = run_post(config_path, record=sink.record, fault_led=led_switch(hardware.leds["fault"]))
    assert_fault(verdict, hardware, sink, "keystore", "not valid base64")
    assert "signing key is unusable" in verdict.summary.by_name()["journal_chain"]["detail"]


def test_failed_known_answer_test_keeps_the_unit_off_the_line(unit, hardware, sink):
    config_path, _ = unit
    wrong = type(ED25519)(ED25519.source, ED25519.locator, {**ED25519.values, "message": "73"})
    verdict = run_post(config_path, record=sink.record, fault_led=led_switch(hardware.leds["fault"]),
                       kat_vectors={"ed25519": wrong})
    assert_fault(verdict, hardware, sink, "kat_ed25519", "signature differs")
    assert [r.name for r in verdict.summary.failures] == ["kat_ed25519"]


def test_edited_journal_record_keeps_the_unit_off_the_line(unit, hardware, sink):
    config_path, cfg = unit
    db = unlock(cfg.unit.data_dir / "journal.sqlite")
    db.execute("UPDATE records SET fields = replace(fields, '127.0.0.1:1', '10.9.9.9:1') WHERE kind = 'link_up'")
    db.close()
    verdict = run_post(config_path, record=sink.record, fault_led=led_switch(hardware.leds["fault"]))
    assert_fault(verdict, hardware, sink, "journal_chain", "record 2: contents do not match")


def test_broken_config_keeps_the_unit_off_the_line(unit, hardware, sink):
    config_path, _ = unit
    config_path.write_text(config_path.read_text().replace("[peer]", "[peerz]"))
    verdict = run_post(config_path, record=sink.record, fault_led=led_switch(hardware.leds["fault"]))
    assert_fault(verdict, hardware, sink, "config", "unknown section [peerz]")
    assert {"keystore", "journal_chain"} <= {r.name for r in verdict.summary.failures}


def test_first_start_without_a_journal_passes(unit):
    config_path, cfg = unit
    (cfg.unit.data_dir / "journal.sqlite").unlink()
    results = {r.name: r for r in post_results(config_path)}
    assert results["journal_chain"].passed and "first start" in results["journal_chain"].detail


def test_a_failing_journal_callback_does_not_stop_the_verdict(unit):
    config_path, cfg = unit
    (cfg.unit.key_dir / "private.keys").chmod(0o644)

    def broken_record(result):
        raise OSError("disk full")

    verdict = run_post(config_path, record=broken_record)
    assert not verdict.go_on_line and "lets others read a private key" in verdict.reason


def test_provisioning_runner_streams_the_power_on_checks(unit):
    config_path, cfg = unit
    rows = list(provisioning_runner(config_path)())
    assert [r["check"] for r in rows[:-1]] == POST_CHECKS and all(r["ok"] for r in rows[:-1])
    assert rows[-1]["check"] == "daemon" and not rows[-1]["ok"]          # no daemon here to test the rest
    assert "relay, hook, audio loopback and link not tested" in rows[-1]["detail"]
    (cfg.unit.key_dir / "private.keys").write_text("garbage\n")
    rows = {r["check"]: r for r in provisioning_runner(config_path)()}
    assert not rows["keystore"]["ok"] and "expected one each of 'static = ...'" in rows["keystore"]["detail"]
    from terminal.provisioning.selftest_hook import check_result
    assert check_result(rows["keystore"]) == rows["keystore"]


def test_technician_sees_the_power_on_checks_over_usb_provisioning(unit):
    from terminal.provisioning.handlers import Provisioner
    from terminal.provisioning.messages import Request
    from terminal.provisioning.presence import Presence
    from terminal.provisioning.status import Command, Status

    config_path, cfg = unit
    (cfg.unit.key_dir / "private.keys").write_text("static = x\n")
    provisioner = Provisioner(config_path, Presence(), selftest=provisioning_runner(config_path))
    responses = list(provisioner.handle(bytes(Request(3, Command.SELFTEST, {})), 0.0))
    assert [r.status for r in responses] == [Status.PROGRESS] * (len(POST_CHECKS) + 1) + [Status.OK]
    by_check = {r.result["check"]: r.result for r in responses[:-1]}
    assert not by_check["keystore"]["ok"] and "static key" in by_check["keystore"]["detail"]
    assert responses[-1].result == {"passed": 9, "failed": 3, "ok": False}     # + the daemon not on line


async def test_the_technicians_self_test_runs_the_daemons_checks_too(tmp_path):
    """With the daemon on line, `hotline-host selftest` shows relay, hook, audio loopback and link
    as well: the daemon runs them on its own devices."""
    import asyncio

    from gpiozero.pins.mock import MockFactory

    from terminal.sim.call import bring_up
    from terminal.sim.provision import provision_pair
    from terminal.sim.run import load_unit

    a_sim, b_sim = provision_pair(tmp_path)
    a, b = (load_unit(s.config_path, pin_factory=MockFactory()) for s in (a_sim, b_sim))
    await bring_up(a, b, (a_sim.sock, b_sim.sock), control=True)
    try:
        rows = await asyncio.to_thread(lambda: list(provisioning_runner(a_sim.config_path)()))
    finally:
        await a.close()
        await b.close()
    checks = [r["check"] for r in rows]
    assert checks[:len(POST_CHECKS)] == POST_CHECKS and "daemon" not in checks
    assert {"ringer_relay", "hook_switch", "link_primary"} <= set(checks), checks
