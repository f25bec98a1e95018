"""Relay and hook checks on the real gpiozero devices of a pi4 profile, pins from MockFactory."""

from terminal.hardware.unit import Hardware
from terminal.selftest.hook import check_hook
from terminal.selftest.relay import check_ringer_relay

SETTLE = 0.01


def test_healthy_relay_feedback_follows_the_pulse(hardware, profile, factory):
    result = check_ringer_relay(hardware.ringer, hardware.ringer_feedback, SETTLE)
    assert result.passed, result.detail
    relay_pin = factory.pin(profile.ringer.pin)
    assert [s.state for s in relay_pin.states] == [False, True, False]     # pulsed once, left off
    assert not hardware.ringer.is_active and not hardware.ringer_feedback.is_active


def test_relay_feedback_stuck_open_is_named(stuck_hardware):
    result = check_ringer_relay(stuck_hardware.ringer, stuck_hardware.ringer_feedback, SETTLE)
    assert not result.passed and result.name == "ringer_relay"
    assert "relay feedback stuck: no pull-in" in result.detail
    assert not stuck_hardware.ringer.is_active                              # never left ringing


def test_relay_feedback_stuck_closed_is_named(stuck_hardware, profile, factory):
    factory.pin(profile.ringer_feedback.pin).drive_low()                    # contact closed to ground for good
    result = check_ringer_relay(stuck_hardware.ringer, stuck_hardware.ringer_feedback, SETTLE)
    assert not result.passed and "pulled in while the relay is off" in result.detail


def test_hook_on_the_cradle_is_plausible(hardware):
    result = check_hook(hardware.hook)
    assert result.passed and result.data == {"lifted": 0}


def test_hook_lifted_while_idle_is_named(factory, profile):
    now = [0.0]
    hw = Hardware(profile, pin_factory=factory, clock=lambda: now[0])
    try:
        factory.pin(profile.hook.pin).drive_low()                           # switch closes: lifted
        now[0] = 1.0                                                        # past the debounce hold
        hw.hook.poll()
        assert hw.hook.is_lifted
        result = check_hook(hw.hook)
    finally:
        hw.close()
    assert not result.passed and "left off the cradle" in result.detail
