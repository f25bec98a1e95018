import pytest
from gpiozero import Button
from gpiozero.pins.mock import MockFactory

from terminal.provisioning.presence import Presence, watch_button


@pytest.mark.parametrize(
    "pressed_at, now, expected",
    [
        (None, 100.0, False),  # never pressed
        (100.0, 100.0, True),
        (100.0, 159.9, True),
        (100.0, 160.0, True),  # the window's edge is inside
        (100.0, 160.1, False),
        (100.0, 99.0, False),  # a clock that went backwards proves nothing
    ],
)
def test_window(pressed_at, now, expected):
    presence = Presence(window=60.0)
    if pressed_at is not None:
        presence.press(pressed_at)
    assert presence.is_recent(now) is expected


def test_a_mock_button_press_is_recorded_at_the_clock_value():
    factory = MockFactory()
    button = Button(26, pin_factory=factory)
    presence = Presence()
    watch_button(button, presence, lambda: 500.0)
    try:
        assert not presence.is_recent(500.0)
        factory.pin(26).drive_low()
        factory.pin(26).drive_high()
        assert presence.is_recent(559.0)
        assert not presence.is_recent(561.0)
    finally:
        button.close()
        factory.close()
