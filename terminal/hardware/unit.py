"""Every gpiozero device of a desk unit, built from a board profile.

`Hardware(profile, pin_factory=..., clock=...)` builds them all or, if one
fails, closes those already built and re-raises. `close()` is idempotent.
"""

from __future__ import annotations

import time
from typing import Callable

from gpiozero import LED, Button, DigitalInputDevice, DigitalOutputDevice
from gpiozero.pins.mock import MockFactory

from terminal.errors import HotlineError
from terminal.hardware.hook import HookSwitch
from terminal.hardware.mockboard import mock_board
from terminal.hardware.profile import BoardProfile, load_profile
from terminal.hardware.ringer import Ringer


def configured_pin_factory(hardware_config, given=None):
    """The pin factory a unit's `[hardware]` section asks for: `given` if there is one, gpiozero's
    MockFactory wired as the board is for `pin_factory = "mock"` (terminal/hardware/mockboard.py;
    a plain one when the board does not load: building the devices then says why), else None
    (gpiozero picks the board's own)."""
    if given is None and hardware_config.pin_factory == "mock":
        try:
            return mock_board(load_profile(hardware_config.board))
        except HotlineError:
            return MockFactory()
    return given


class Hardware:
    def __init__(self, profile: BoardProfile, *, pin_factory=None, clock: Callable[[], float] = time.monotonic,
                 provisioning_button: bool = True, **hook_options):
        """`hook_options` (dispatch=, call_at=) go to HookSwitch; see terminal.hardware.hook.
        `provisioning_button=False` leaves that pin to the provisioning service, which owns it."""
        self.profile = profile
        self.handset_device = profile.handset_device
        self._devices: list = []
        p, f = profile, pin_factory
        try:
            self.hook = self._add(HookSwitch(p.hook.pin, pull_up=p.hook.pull_up, hold=p.hook_debounce,
                                             clock=clock, pin_factory=f, **hook_options))
            self.ringer = self._add(Ringer(p.ringer.pin, active_high=p.ringer.active_high, pin_factory=f))
            self.ringer_feedback = self._add(DigitalInputDevice(p.ringer_feedback.pin,
                                                                pull_up=p.ringer_feedback.pull_up, pin_factory=f))
            self.secondary_alert = self._add(DigitalOutputDevice(p.secondary_alert.pin,
                                                                 active_high=p.secondary_alert.active_high,
                                                                 pin_factory=f))
            self.leds = {name: self._add(LED(getattr(p, f"led_{name}").pin,
                                             active_high=getattr(p, f"led_{name}").active_high, pin_factory=f))
                         for name in ("link", "message", "fault")}
            self.provisioning_button = self._add(Button(p.provisioning_button.pin,
                                                        pull_up=p.provisioning_button.pull_up,
                                                        pin_factory=f)) if provisioning_button else None
            self.presence = self._add(DigitalInputDevice(p.presence.pin, pull_up=p.presence.pull_up, pin_factory=f))
        except BaseException:
            self.close()
            raise

    def _add(self, device):
        self._devices.append(device)
        return device

    def ringer_feedback_agrees(self) -> bool:
        """True when the relay's auxiliary contact reports what the relay was told (allow ~20 ms to settle)."""
        return self.ringer.is_active == self.ringer_feedback.is_active

    @property
    def closed(self) -> bool:
        return not self._devices

    def close(self) -> None:
        while self._devices:
            self._devices.pop().close()
