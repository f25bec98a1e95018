"""`hotline selftest`: power-on only, a broken config, the daemon's control method, and a standalone run."""

import argparse
import json

import pytest
from gpiozero.pins.mock import MockFactory

from terminal.control.server import ControlServer
from terminal.selftest.commands import ask_daemon, register
from terminal.selftest.control import register_control
from terminal.selftest.errors import SelfTestError
from terminal.selftest.result import CheckResult, Summary
from terminal.selftest.standalone import run_standalone
from terminal.sim.provision import provision_pair


def parse(argv):
    parser = argparse.ArgumentParser(prog="hotline")
    register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


@pytest.fixture
def configs(tmp_path):
    a, b = provision_pair(tmp_path)
    return a, b


def test_post_only_json_passes(configs, capsys):
    a, b = configs
    args = parse(["selftest", "--config", str(a.config_path), "--post-only", "--json"])
    assert args.func(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == "post" and out["passed"] and len(out["checks"]) == 11


def test_broken_config_still_reports_the_power_on_checks(configs, capsys):
    a, _ = configs
    a.config_path.write_text("[unit\n")
    args = parse(["selftest", "--config", str(a.config_path)])
    assert args.func(args) == 1
    out = capsys.readouterr().out
    assert "FAIL config: config unusable" in out and "not valid TOML" in out
    assert out.splitlines()[-1].startswith("post self-test: 3 check(s) FAILED: config, keystore, journal_chain")


async def test_daemon_runs_it_over_the_control_socket(tmp_path):
    server = ControlServer(tmp_path / "control.sock")
    busy = [False]

    async def run():
        return Summary("scheduled", (CheckResult("clock", True, "set"),))

    register_control(server, run, busy=lambda: busy[0])
    await server.start()
    try:
        answer = await ask_daemon(tmp_path / "control.sock")
        assert answer["kind"] == "scheduled" and answer["exit_code"] == 0 and answer["checks"][0]["name"] == "clock"
        busy[0] = True
        with pytest.raises(SelfTestError, match="did not run the self-test: a call is in progress"):
            await ask_daemon(tmp_path / "control.sock")
    finally:
        await server.close()


async def test_standalone_run_brings_up_the_link_and_journals_results(configs):
    from terminal.journal import load
    from terminal.sim.run import load_unit
    from tests.selftest.conftest import wired_pins

    a, b = configs
    a.sock.close()                      # the standalone run binds A's configured port itself
    peer = load_unit(b.config_path, pin_factory=wired_pins())
    await peer.start(b.sock, control=False)
    try:
        summary = await run_standalone(a.config_path, link_timeout=5.0, pin_factory=wired_pins())
    finally:
        await peer.close()
    names = [r.name for r in summary.results]
    assert names[-5:] == ["ringer_relay", "hook_switch", "disk_space", "clock", "link_primary"]
    assert summary.passed, [r.detail for r in summary.failures]
    data_dir = a.config_path.parent / "data"
    recorded = [r.fields["check"] for r in load(data_dir / "journal.sqlite").records if r.kind == "selftest"]
    assert recorded == names


async def test_standalone_run_on_unwired_mock_pins_finds_no_relay_feedback(configs):
    a, b = configs
    a.sock.close()
    b.sock.close()
    summary = await run_standalone(a.config_path, link_timeout=0.3, pin_factory=MockFactory())
    assert {r.name for r in summary.failures} == {"ringer_relay", "link_primary"}


async def test_the_configs_mock_pins_are_an_intact_board(configs):
    """`pin_factory = "mock"` (the sim's configs, the lab, scripts/arm64): the relay's contact is wired."""
    a, b = configs
    a.sock.close()
    b.sock.close()
    summary = await run_standalone(a.config_path, link_timeout=0.3)
    assert {r.name for r in summary.failures} == {"link_primary"}
    assert "ringer_relay" in {r.name for r in summary.results}


async def test_standalone_run_stops_at_a_failed_power_on_check(configs):
    a, b = configs
    (a.config_path.parent / "keys" / "private.keys").write_text("static = x\n")
    summary = await run_standalone(a.config_path)
    assert not summary.passed and summary.results[-1].name == "journal_chain"
    assert not (a.config_path.parent / "data" / "journal.sqlite").exists()     # never went on line
