"""The runner, the result model and the summary's exit codes and JSON."""

import json

from terminal.selftest.result import EXIT_FAILED, EXIT_PASSED, CheckResult, Summary, describe
from terminal.selftest.runner import led_switch, run_checks


async def test_results_in_order_with_lists_and_coroutines(sink):
    async def link():
        return [CheckResult("link_primary", True, "ok", {"rtt_ms": 1.5}), CheckResult("link_backup_1", True, "ok")]

    summary = await run_checks("scheduled", [("a", lambda: CheckResult("a", True, "fine")), ("link", link)],
                               record=sink.record)
    assert [r.name for r in summary.results] == ["a", "link_primary", "link_backup_1"]
    assert summary.exit_code == EXIT_PASSED and summary.passed
    assert [f["check"] for f in sink.selftests()] == ["a", "link_primary", "link_backup_1"]


async def test_a_check_that_raises_has_failed_and_is_recorded(sink, hardware):
    def broken():
        raise OSError(5, "Input/output error")

    checks = [("ringer_relay", broken), ("clock", lambda: CheckResult("clock", True, "ok"))]
    summary = await run_checks("scheduled", checks, record=sink.record, fault_led=led_switch(hardware.leds["fault"]))
    assert summary.exit_code == EXIT_FAILED
    assert summary.failures[0].detail == "check could not complete: OSError: [Errno 5] Input/output error"
    assert sink.failures() == {"ringer_relay": summary.failures[0].detail}
    assert hardware.leds["fault"].is_lit


async def test_a_check_returning_nothing_has_failed():
    summary = await run_checks("scheduled", [("odd", lambda: None)])
    assert summary.failures[0].name == "odd" and "returned no result" in summary.failures[0].detail


async def test_fault_led_goes_out_when_everything_passes_again(hardware):
    led = led_switch(hardware.leds["fault"])
    await run_checks("scheduled", [("x", lambda: CheckResult("x", False, "bad"))], fault_led=led)
    assert hardware.leds["fault"].is_lit
    await run_checks("scheduled", [("x", lambda: CheckResult("x", True, "good"))], fault_led=led)
    assert not hardware.leds["fault"].is_lit


def test_summary_json_and_console_text():
    summary = Summary("scheduled", (CheckResult("clock", True, "set", {"wall_s": 1.0}),
                                    CheckResult("disk_space", False, "full")))
    data = json.loads(json.dumps(summary.as_dict()))
    assert data == {"kind": "scheduled", "passed": False, "exit_code": 1, "failed": ["disk_space"],
                    "checks": [{"name": "clock", "passed": True, "detail": "set", "data": {"wall_s": 1.0}},
                               {"name": "disk_space", "passed": False, "detail": "full", "data": {}}]}
    assert summary.by_name() == {"clock": {"passed": True, "detail": "set", "data": {"wall_s": 1.0}},
                                 "disk_space": {"passed": False, "detail": "full"}}
    assert describe(data).splitlines() == ["ok   clock: set", "FAIL disk_space: full",
                                           "scheduled self-test: 1 check(s) FAILED: disk_space"]
