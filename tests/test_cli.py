"""The `hotline` command as a user runs it."""

import json
import stat
import subprocess
import sys
from pathlib import Path

from terminal.cli import main
from terminal.keys import PRIVATE_KEYS_FILE
from tests.emulation import needs_real_time


def test_keygen_prints_identity_and_never_the_private_key(tmp_path, capsys):
    assert main(["keygen", "--dir", str(tmp_path / "k"), "--json"]) == 0
    out = capsys.readouterr().out
    identity = json.loads(out)
    assert set(identity) == {"static_public", "signing_public", "mlkem_public", "mldsa_public", "fingerprint"}
    private = (tmp_path / "k" / PRIVATE_KEYS_FILE).read_text()
    for line in private.splitlines()[1:]:
        assert line.split(" = ")[1] not in out
    assert stat.S_IMODE((tmp_path / "k" / PRIVATE_KEYS_FILE).stat().st_mode) == 0o600


def test_keygen_twice_is_a_clear_error(tmp_path, capsys):
    main(["keygen", "--dir", str(tmp_path)])
    assert main(["keygen", "--dir", str(tmp_path)]) == 2
    assert "refusing to replace" in capsys.readouterr().err


def test_run_with_a_bad_config_names_the_problem_and_stays_up(tmp_path):
    """A config error is one line naming the file and key; the daemon stays up off line (under
    systemd a restart would only meet the same config), and stops cleanly when told."""
    import signal
    import subprocess
    import sys

    from tests.daemonlog import read_until

    (tmp_path / "bad.toml").write_text("[unit]\nid = 'x'\n[control]\nsocket = 'control.sock'\n")
    proc = subprocess.Popen([sys.executable, "-m", "terminal.cli", "run", "--config", str(tmp_path / "bad.toml")],
                            stderr=subprocess.PIPE, text=True)
    try:
        line = read_until(proc, "config error")[-1]
        assert "bad.toml: [unit] key_dir: missing" in line and "[link] listen: missing" in line
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        proc.stderr.close()


def test_sim_refuses_an_out_directory_holding_an_earlier_pair(tmp_path, capsys):
    (tmp_path / "A").mkdir()
    (tmp_path / "A" / "notes.txt").write_text("the technician's own file")
    assert main(["sim", "--out", str(tmp_path)]) == 2
    assert "already holds a simulated unit (A/)" in capsys.readouterr().err
    assert (tmp_path / "A" / "notes.txt").read_text() == "the technician's own file"
    assert not (tmp_path / "B").exists()


def run_sim(tmp_path, *args):
    proc = subprocess.run([sys.executable, "-m", "terminal.cli", "sim", "--json", "--out", str(tmp_path), *args],
                          capture_output=True, text=True, timeout=120)
    return proc


def test_sim_json_summary(tmp_path):
    proc = run_sim(tmp_path)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["handshake"]["ok"] is True and summary["handshake"]["ms"] > 0
    echo = summary["echo"]
    assert echo["sent"] == echo["received"] > 0
    assert echo["rejected"] >= 4          # the simulated attacker's datagrams
    text = summary["text"]
    assert text["sent"] == text["delivered"] == text["read"] == 2
    assert text["delivery_latency_ms"]["max"] > 0
    call = summary["call"]
    assert call["answered"] and call["who_hung_up"] == {"A": "local", "B": "peer"}
    # Lossless loopback: every frame arrives, except those B sent while A's hang-up was on
    # its way (A's voice has stopped): a frame or two, a few more on a loaded machine.
    assert call["frames_sent"] - 5 <= call["frames_received"] <= call["frames_sent"]
    assert call["frames_sent"] > 500
    # Each handset heard the other side's speech (envelope correlation with the source).
    assert call["speech_match"]["A_heard_B"] > 0.8 and call["speech_match"]["B_heard_A"] > 0.8
    for path in call["wav"].values():
        assert Path(path).stat().st_size > 48000 * 2 * 5
    # Two calls and no third: the lift that plays B's voice message must not ring A (issue 10).
    missed = summary["missed_call"]
    assert missed["voice_message_played"]
    assert missed["escalation_steps"]["A"] == ["ring_stopped", "voice_message_offered"]
    assert summary["journal"]["missed"] == 2            # the unanswered call, once on each side
    for name, unit in summary["journal"]["units"].items():
        assert (unit["verdict"], unit["unsigned"], unit["witness_check"], unit["gaps"]) == ("intact", 0, "ok", 0), name
        assert unit["witnessed_by_peer"] > 0
    check_rules_against_the_sims_metrics(summary, tmp_path)


def check_rules_against_the_sims_metrics(summary, tmp_path):
    """The alert rules on what the sim's units really exported: every metric a rule names exists,
    and from the end state (one missed ring each side, the peer up, every self-test passed,
    messages read) exactly the missed-call alert fires, once per unit."""
    from tests.metrics.promtool import promtool, rule_metric_names, series, test_file_from_scrapes

    scrapes = [Path(path).read_text() for path in summary["metrics"].values()]
    names = {selector.split("{")[0] for scrape in scrapes for selector, _, _ in series(scrape)}
    assert {n if n in names else n + "_total" for n in rule_metric_names()} <= names
    missed = [{"exp_labels": {"severity": "warning", "unit": unit},
               "exp_annotations": {"summary": f"{unit}: a ring went unanswered in the last 15 minutes"}}
              for unit in ("A", "B")]
    quiet = ["HotlineRingUnanswered", "HotlineFlashUnread", "HotlineImmediateUnread", "HotlinePeerUnreachable",
             "HotlineSelftestFailed", "HotlineJournalNotSigning"]
    test = test_file_from_scrapes(scrapes, {"HotlineMissedCall": missed, **{name: [] for name in quiet}}, tmp_path)
    result = promtool("test", "rules", str(test))
    assert result.returncode == 0, result.stdout + result.stderr


@needs_real_time
def test_sim_call_through_a_lossy_delayed_network(tmp_path):
    proc = run_sim(tmp_path, "--loss", "10", "--delay", "80", "--jitter", "20")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    call, relay = summary["call"], summary["network"]["relay"]
    assert relay["a_to_b"]["lost_random"] > 0 and relay["b_to_a"]["lost_random"] > 0
    assert call["answered"] and call["ringdown_ms"] >= 80 - 20     # one-way delay minus jitter
    assert call["frames_redundancy_recovered"] + call["frames_fec_recovered"] > 0
    assert call["speech_match"]["A_heard_B"] > 0.8 and call["speech_match"]["B_heard_A"] > 0.8
    assert summary["text"]["read"] == 2


def test_sim_completes_every_stage_at_30_percent_loss(tmp_path):
    """Issue 13: the link comes up fast under loss and the self-test does not false-alarm on it."""
    proc = run_sim(tmp_path, "--loss", "30", "--delay", "80", "--jitter", "20", "--seed", "3")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["network"]["relay"]["a_to_b"]["lost_random"] > 0
    assert all(check["passed"] for checks in summary["selftest"].values() for check in checks.values())
    assert summary["text"]["read"] == 2 and summary["call"]["answered"]


@needs_real_time
def test_sim_two_paths_with_one_cut_mid_call_loses_no_frame(tmp_path):
    proc = run_sim(tmp_path, "--paths", "2", "--cut-path-at", "3")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    failover = summary["failover"]
    # Nothing lost; the gap (real time, so CI load shows in it) far below a timeout-driven switch.
    assert failover["frames_lost"] == 0 and failover["gap_ms"] < 100
    assert failover["duplicates"] > 100                     # every frame went both ways until the cut
    relays = summary["network"]["relays"]
    assert relays[0]["relay"]["cut_dropped"] > 0 and relays[1]["relay"]["cut_dropped"] == 0
    for name in "AB":
        states = [p["state"] for p in summary["paths"][name]]
        assert states == ["down", "up"], (name, summary["paths"][name])


def test_sim_a_stage_that_fails_says_which_in_one_line(tmp_path):
    proc = run_sim(tmp_path, "--loss", "100")
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == ["hotline sim: FAILED handshake: both units reachable to each "
                                                "other within 10 s, and it did not happen in time"]


def test_sim_refuses_a_cut_without_a_second_path(tmp_path):
    proc = run_sim(tmp_path, "--cut-path-at", "3")
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [
        "hotline: --cut-path-at needs --paths 2 or more and a time within the 7 s call"]


def test_sim_on_a_unit_without_the_technicians_tool_says_the_report_was_not_written(tmp_path, monkeypatch):
    """A unit has hotline-unit only: no matplotlib, so no auditor's report (scripts/arm64 runs
    `hotline sim` on such a unit; here the import is blocked as it fails there)."""
    from terminal.sim.run import auditors_report

    monkeypatch.setitem(sys.modules, "host.report", None)
    html = tmp_path / "report.html"
    said = auditors_report([], html, [])
    assert said.startswith("not written: the auditor's report is hotline-host's")
    assert not html.exists()
