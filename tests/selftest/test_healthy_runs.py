"""A healthy unit passes 100 consecutive runs without a false alarm (mocks, files and loopback, so fast)."""

from terminal.journal import load, verify
from terminal.selftest.post import run_post
from terminal.selftest.runner import journal_recorder, led_switch
from terminal.selftest.scheduled import SelfTestContext, hardware_parts, run_selftest

RUNS = 100
SCHEDULED = ["ringer_relay", "hook_switch", "audio_loopback", "disk_space", "clock", "link_primary"]


async def test_hundred_scheduled_runs_without_a_false_alarm(pair, coupled):
    await pair.start()
    unit = pair.a
    hardware = unit.call.hardware                   # the daemon's own devices, on wired mock pins
    ctx = SelfTestContext.for_unit(unit, loopback=coupled, relay_settle=0.05, link_timeout=5.0,
                                   **hardware_parts(hardware))
    fault_led = hardware.leds["fault"]
    alarms = []
    for _ in range(RUNS):
        summary = await run_selftest(ctx, record=journal_recorder(unit.journal.record), fault_led=led_switch(fault_led))
        assert [r.name for r in summary.results] == SCHEDULED
        alarms += summary.failures
        assert not fault_led.is_lit
    assert alarms == []
    assert pair.b.echo.answered == RUNS
    await unit.journal.flush()
    data = load(unit.config.unit.data_dir / "journal.sqlite")
    selftests = [r.fields for r in data.records if r.kind == "selftest"]
    assert len(selftests) == RUNS * len(SCHEDULED) and all(f["passed"] for f in selftests)
    assert verify(data.records, data.checkpoints, unit.keys.identity.journal_public).ok


def test_hundred_power_on_runs_without_a_false_alarm(tmp_path, hardware, sink):
    from terminal.sim.provision import provision_pair

    a, b = provision_pair(tmp_path)
    a.sock.close()
    b.sock.close()
    led = hardware.leds["fault"]
    verdicts = [run_post(a.config_path, record=sink.record, fault_led=led_switch(led)) for _ in range(RUNS)]
    assert all(v.go_on_line for v in verdicts), [v.reason for v in verdicts if not v.go_on_line][:1]
    assert not led.is_lit and len(sink.selftests()) == RUNS * 11
