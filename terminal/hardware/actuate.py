"""Apply the call machine's hardware actions to a unit's devices.

The owner passes every output of `CallMachine` to `apply(output, now)` (it
ignores what is not for the hardware) and calls `poll(now)` at `deadline()`,
which drives the ringer cadence and confirms debounced hook levels. The
message LED shows a missed call or unread text (`set_unread`). The link LED is
steady while the peer is up and its desk staffed (or has no sensor, or has not
said), and blinks slowly while the peer is up and nobody has been seen there
(`set_far_staffed`).
"""

from __future__ import annotations

from terminal.call.actions import SecondaryAlert, SetIndicator, StartRinger, StopRinger
from terminal.hardware.unit import Hardware


class Actuator:
    def __init__(self, hardware: Hardware):
        self.hw = hardware
        self._missed = False
        self._unread = False
        self._link = False
        self._far_staffed: bool | None = None

    def apply(self, output, now: float) -> None:
        if isinstance(output, StartRinger):
            self.hw.ringer.ring(output.pattern, now)
        elif isinstance(output, StopRinger):
            self.hw.ringer.silence()
        elif isinstance(output, SecondaryAlert):
            self.hw.secondary_alert.value = output.on
        elif isinstance(output, SetIndicator):
            if output.name == "missed":
                self._missed = output.on
                self._update_message_led()
            elif output.name == "link":
                self._link = output.on
                self._update_link_led()
            else:
                self.hw.leds[output.name].value = output.on

    def set_unread(self, unread: bool) -> None:
        """The text layer has (or no longer has) an unread message."""
        self._unread = unread
        self._update_message_led()

    def set_far_staffed(self, staffed: bool | None) -> None:
        """What the peer last said of its desk: True, False (nobody seen), None (no sensor / not said)."""
        self._far_staffed = staffed
        self._update_link_led()

    def _update_link_led(self) -> None:
        led = self.hw.leds["link"]
        if not self._link:
            led.off()
        elif self._far_staffed is False:
            led.blink(on_time=0.5, off_time=1.5)
        else:
            led.on()

    @property
    def link_led(self) -> str:
        return "off" if not self._link else "slow blink" if self._far_staffed is False else "steady"

    def _update_message_led(self) -> None:
        self.hw.leds["message"].value = self._missed or self._unread

    def deadline(self) -> float | None:
        times = [t for t in (self.hw.ringer.deadline(), self.hw.hook.deadline()) if t is not None]
        return min(times) if times else None

    def poll(self, now: float) -> None:
        self.hw.ringer.poll(now)
        self.hw.hook.poll()
