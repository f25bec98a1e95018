"""Two installed units under real systemd, from blank to an audited pair, driven only from outside
(tests/lab/lab.py says what that means and what the lab changes in a unit). One long test,
because each step stands on the one before, as it does for the people who set up a hotline:
install, provision, call, message, a ring nobody answers, audit, upgrade."""

from __future__ import annotations

import json
import os
import re
import shutil
import time

import pytest

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not all(shutil.which(t) for t in ("systemd-nspawn", "mmdebstrap", "socat", "nsenter")),
    reason="the lab boots containers: needs root and systemd-nspawn, mmdebstrap, socat (CI runs it as root; "
           "scripts/setup.sh installs them)")


def call_state(unit) -> str:
    from tests.lab import lab
    return lab.status(unit)["call"]


def messages(unit) -> list[dict]:
    from tests.lab import lab
    return json.loads(lab.inside(unit, lab.HOTLINE, "msg", "list", "--json").stdout)


def test_two_installed_units_from_blank_to_an_audited_pair(tmp_path):
    from tests.lab import lab

    started = time.monotonic()
    a, b = lab.UNITS["A"], lab.UNITS["B"]
    debs = lab.up()
    try:
        for unit in (a, b):             # installed and blank: up, waiting, not crash-looping
            assert lab.inside(unit, "systemctl", "is-active", "hotline", "hotline-provisioning").stdout.split() \
                == ["active", "active"]
            s = lab.status(unit)
            assert (s["state"], s["fault_led"]) == ("unprovisioned", "blinking")
            # The installed service grants SCHED_RR 10; the daemon says what it got and is up either
            # way. In this lab systemd cannot raise RLIMIT_RTPRIO (the containers have no
            # CAP_SYS_RESOURCE), so the limit stays 0; a kernel may also refuse the policy.
            assert lab.inside(unit, "systemctl", "show", "hotline", "-p", "LimitRTPRIO").stdout.strip() \
                == "LimitRTPRIO=10"
            assert re.fullmatch(r"SCHED_RR 10|normal \(SCHED_RR 10 refused: .+\)|normal \(RLIMIT_RTPRIO is 0: .+\)",
                                s["scheduling"]), s["scheduling"]
            assert lab.inside(unit, lab.HOTLINE, "--version").stdout.strip().endswith(s["version"])
        lab.provision()
        for unit in (a, b):
            assert lab.status(unit)["last_selftest"]["passed"]

        # A call: A lifts, B rings, B answers, they talk, A hangs up.
        lab.hook(a, "up")
        lab.wait_for("B ringing", lambda: call_state(b) == "ringing", 10)
        lab.hook(b, "up")
        lab.wait_for("connected both ways", lambda: call_state(a) == call_state(b) == "connected", 10)
        time.sleep(2.0)                 # the conversation itself: two seconds of voice, not a wait for an event
        lab.hook(a, "down")
        lab.wait_for("B hears the call end", lambda: call_state(b) == "cleared", 10)
        lab.hook(b, "down")

        # A FLASH message each way, acknowledged by the reader; the read receipts come back.
        for sender, reader in ((a, b), (b, a)):
            sent = json.loads(lab.inside(sender, lab.HOTLINE, "msg", "send", "--precedence", "flash", "--json",
                                         f"FLASH from {sender.unit_id}: acknowledge").stdout)["id"]
            lab.wait_for("delivered", lambda: any(m["id"] == sent for m in messages(reader)), 20)
            lab.inside(reader, lab.HOTLINE, "msg", "ack", sent)
            lab.wait_for("read receipt", lambda: any(m["id"] == sent and m["state"] == "read"
                                                     for m in messages(sender)), 20)

        # A ring nobody answers: B's ringer gives up after T2, the missed call shows at B.
        lab.hook(a, "up")
        lab.wait_for("B ringing", lambda: call_state(b) == "ringing", 10)
        lab.wait_for("B shows a missed call", lambda: lab.status(b)["missed_call_shown"], 30)
        lab.hook(a, "down")

        # The auditor: both journals pulled over USB, each held to the other as witness.
        pulled = {}
        for unit in (a, b):
            pulled[unit.name] = tmp_path / f"{unit.name}-journal.sqlite"
            lab.host_tool(unit, "journal", "pull", "--no-progress", "--out", pulled[unit.name])
        for unit, peer in ((a, b), (b, a)):
            verdict = json.loads(lab.host_tool(unit, "--json", "journal", "verify", pulled[unit.name], "--bundle",
                                               unit.bundle, "--witness", pulled[peer.name]).stdout)
            assert (verdict["status"], verdict["unsigned"]) == ("intact", 0), verdict
            assert verdict["witness"]["matched"] > 0
        from terminal.journal import load_sqlite
        kinds = {name: [r.kind for r in load_sqlite(path).records] for name, path in pulled.items()}
        assert kinds["A"].count("answered") == 1 and kinds["B"].count("missed") == 1
        assert "peer_checkpoint" in kinds["A"] and "peer_checkpoint" in kinds["B"]

        # An upgrade in place keeps config, keys, journal and messages, and the unit comes back on line.
        keep = ["/etc/hotline/hotline.toml", "/var/lib/hotline/keys/private.keys"]
        before = {path: lab.inside(a, "sha256sum", path).stdout for path in keep}
        records, held = lab.journal_records(a), len(messages(a))
        newer = lab.next_release(debs)
        output = lab.upgrade(a, newer)
        version = newer.name.split("_")[1]
        assert f"Unpacking hotline-unit ({version}) over (" in output, output
        assert lab.inside(a, lab.HOTLINE, "--version").stdout.split()[-1] == version.replace("+post", ".post")
        lab.wait_for("A on line again", lambda: (s := lab.status(a))["state"] == "on line" and s["peer"]["reachable"], 60)
        assert {path: lab.inside(a, "sha256sum", path).stdout for path in keep} == before
        assert lab.journal_records(a) > records and len(messages(a)) == held
        lab.host_tool(a, "journal", "pull", "--no-progress", "--out", tmp_path / "A-after.sqlite")
        after = json.loads(lab.host_tool(a, "--json", "journal", "verify", tmp_path / "A-after.sqlite",
                                         "--bundle", a.bundle).stdout)
        assert after["status"] == "intact" and after["records"] > records
    finally:
        lab.down()
    print(f"lab: {time.monotonic() - started:.0f} s from up to down")
