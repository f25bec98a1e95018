"""A scheduled run gives way when the unit is wanted: the handset is given up within
a frame, and what the interruption cut short is not reported as a fault."""

import pytest

from terminal.audio.wavfile import FileHandset
from terminal.selftest.couplings import HandsetLoopback
from terminal.selftest.runner import led_switch
from terminal.selftest.result import CheckResult
from terminal.selftest.scheduled import SelfTestContext, _while_idle, hardware_parts, run_selftest


class Person:
    """Lifts the handset once the earpiece has played `after` frames of the test tone."""

    def __init__(self, tmp_path, after: int):
        self.tmp_path, self.after, self.played, self.handsets = tmp_path, after, 0, []

    def open_handset(self) -> FileHandset:
        handset = FileHandset(None, self.tmp_path / "ear.wav")
        play = handset.write

        def write(frame):
            self.played += 1
            play(frame)
        handset.write = write
        self.handsets.append(handset)
        return handset

    def lifted(self) -> bool:
        return self.played >= self.after


async def test_lifting_the_handset_mid_loopback_frees_it_and_is_not_a_fault(tmp_path, hardware, sink):
    person = Person(tmp_path, after=5)
    ctx = SelfTestContext(tmp_path, relay_settle=0.01, min_free_bytes=1, busy=person.lifted,
                          loopback=HandsetLoopback(person.open_handset, interrupted=person.lifted),
                          **hardware_parts(hardware))
    summary = await run_selftest(ctx, record=sink.record, fault_led=led_switch(hardware.leds["fault"]))

    assert person.played == 5                                 # not one frame of tone after the lift
    assert person.handsets[0]._sink is None                   # closed: the call can open the device
    loopback = {r.name: r for r in summary.results}["audio_loopback"]
    assert loopback.passed and loopback.data == {"interrupted": 1}
    assert "interrupted" in sink.selftests()[2]["detail"]
    assert summary.passed and not hardware.leds["fault"].is_lit


async def test_a_unit_wanted_before_the_relay_pulse_is_not_pulsed(tmp_path, hardware, sink, factory, profile):
    relay_pin = factory.pin(profile.ringer.pin)
    before = len(relay_pin.states)
    ctx = SelfTestContext(tmp_path, relay_settle=0.01, min_free_bytes=1, busy=lambda: True,
                          **hardware_parts(hardware))
    summary = await run_selftest(ctx, record=sink.record, fault_led=led_switch(hardware.leds["fault"]))
    relay = {r.name: r for r in summary.results}["ringer_relay"]
    assert relay.passed and relay.data == {"interrupted": 1}
    assert len(relay_pin.states) == before                    # the bell was never touched
    assert not hardware.leds["fault"].is_lit


async def test_an_interrupted_run_leaves_an_earlier_fault_lit(tmp_path, hardware, sink):
    hardware.leds["fault"].on()                               # the last run found a fault
    ctx = SelfTestContext(tmp_path, relay_settle=0.01, min_free_bytes=1, busy=lambda: True,
                          **hardware_parts(hardware))
    summary = await run_selftest(ctx, record=sink.record, fault_led=led_switch(hardware.leds["fault"]))
    assert summary.passed and any(r.interrupted for r in summary.results)
    assert hardware.leds["fault"].is_lit                      # nothing was re-checked: still a fault


@pytest.mark.parametrize("passed, judged", [(True, True), (False, False)])
async def test_a_check_the_unit_was_wanted_during_keeps_a_pass_and_drops_a_failure(passed, judged):
    wanted = []

    def check():                                              # the handset is lifted while it runs
        wanted.append(True)
        return CheckResult("ringer_relay", passed, "as measured")
    result = await _while_idle("ringer_relay", check, lambda: bool(wanted))()
    assert result.interrupted is not judged
    assert result.passed                                      # never a fault either way
