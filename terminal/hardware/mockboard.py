"""A mocked board: gpiozero's MockFactory with the ringer relay driving its feedback input, as
the board's auxiliary contact does.

Without it a MockFactory relay has no feedback and the relay self-test (rightly) fails.
`pin_factory = "mock"` in a config gives this board (`mock_board`), so an installed unit on
mock pins (the lab, scripts/arm64) self-tests as an intact board would; `hotline sim` and the
tests wire their own factories with `wire_relay_feedback` before building `Hardware`.

The relay pin is a `MockConnectedPin` whose `input_pin` is the feedback pin,
seen through `Contact`: a feedback input with a pull-up reads the auxiliary
contact closing to ground, so a relay pulled in drives that pin low.
"""

from __future__ import annotations

from gpiozero.pins.mock import MockConnectedPin, MockFactory

from terminal.hardware.profile import BoardProfile


class Contact:
    """The relay's auxiliary contact between relay pin and feedback pin (closes to GND with a pull-up)."""

    def __init__(self, feedback_pin, to_ground: bool):
        self.pin = feedback_pin
        self.to_ground = to_ground

    def drive_high(self):           # relay energised
        self.pin.drive_low() if self.to_ground else self.pin.drive_high()

    def drive_low(self):            # relay released
        self.pin.drive_high() if self.to_ground else self.pin.drive_low()


def mock_board(profile: BoardProfile) -> MockFactory:
    """A MockFactory wired as `profile`'s board is."""
    factory = MockFactory()
    wire_relay_feedback(factory, profile)
    return factory


def wire_relay_feedback(factory: MockFactory, profile: BoardProfile) -> None:
    """Before building Hardware: make the ringer pin drive the feedback pin as the contact would."""
    feedback = factory.pin(profile.ringer_feedback.pin)
    contact = Contact(feedback, to_ground=profile.ringer_feedback.pull_up)
    factory.pin(profile.ringer.pin, pin_class=MockConnectedPin, input_pin=contact)
