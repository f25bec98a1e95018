"""`pin_factory = "mock"`: gpiozero's MockFactory wired as the board is, so an installed unit
on mock pins (the lab, scripts/arm64) self-tests its relay as an intact board would."""

from __future__ import annotations

from types import SimpleNamespace

from gpiozero import DigitalInputDevice, DigitalOutputDevice

from terminal.hardware.profile import load_profile
from terminal.hardware.unit import configured_pin_factory


def test_the_mock_boards_relay_drives_its_feedback_contact():
    profile = load_profile("pi4")
    factory = configured_pin_factory(SimpleNamespace(pin_factory="mock", board="pi4"))
    relay = DigitalOutputDevice(profile.ringer.pin, active_high=profile.ringer.active_high, pin_factory=factory)
    feedback = DigitalInputDevice(profile.ringer_feedback.pin, pull_up=profile.ringer_feedback.pull_up,
                                  pin_factory=factory)
    try:
        assert not feedback.is_active
        relay.on()
        assert feedback.is_active
        relay.off()
        assert not feedback.is_active
    finally:
        relay.close()
        feedback.close()


def test_a_board_that_does_not_load_still_gets_mock_pins():
    factory = configured_pin_factory(SimpleNamespace(pin_factory="mock", board="no-such-board"))
    assert type(factory).__name__ == "MockFactory"


def test_a_given_factory_and_real_pins_are_left_alone():
    given = object()
    assert configured_pin_factory(SimpleNamespace(pin_factory="mock", board="pi4"), given) is given
    assert configured_pin_factory(SimpleNamespace(pin_factory="auto", board="pi4")) is None
