"""Escalation of an unanswered ring, from the call machine through to MockFactory pins, on a fake clock."""

from __future__ import annotations

import pytest

from terminal.call.actions import PlayTone
from terminal.call.machine import CallMachine, State
from terminal.call.messages import ControlMessage, Kind
from terminal.call.settings import CallSettings
from terminal.call.tones import SPECIAL_INFORMATION
from terminal.hardware.actuate import Actuator
from terminal.hardware.profile import load_profile
from terminal.hardware.unit import Hardware


class Unit:
    """One unit's call machine driving real gpiozero devices on mock pins; time moves only in `advance`."""

    def __init__(self, factory, clock, country="GB"):
        self.clock = clock
        self.profile = load_profile("pi4")
        self.hw = Hardware(self.profile, pin_factory=factory, clock=clock)
        self.act = Actuator(self.hw)
        self.machine = CallMachine(CallSettings(country=country), reachable=True)
        self.factory = factory
        self.outputs = []

    def take(self, outputs):
        self.outputs += outputs
        for o in outputs:
            self.act.apply(o, self.clock.now)

    def advance(self, to: float):
        """Run every machine and actuator deadline up to `to`."""
        while True:
            due = [t for t in (self.machine.get_timer(), self.act.deadline()) if t is not None and t <= to]
            if not due:
                self.clock.now = to
                return
            self.clock.now = min(due)
            if self.machine.get_timer() is not None and self.machine.get_timer() <= self.clock.now:
                self.take(self.machine.handle_timer(self.clock.now))
            self.act.poll(self.clock.now)

    def pin(self, name) -> bool:
        return self.factory.pin(getattr(self.profile, name).pin).state

    def close(self):
        self.hw.close()


@pytest.fixture
def callee(factory, clock):
    unit = Unit(factory, clock)
    yield unit
    unit.close()


def test_callee_escalates_on_its_pins(callee):
    u = callee
    u.take(u.machine.receive(bytes(ControlMessage(Kind.RING, 7)), 0.0))
    u.take(u.machine.receive(bytes(ControlMessage(Kind.ACK, 7, Kind.RINGING)), 0.05))
    assert u.pin("ringer") and not u.pin("secondary_alert")
    u.advance(0.5)
    assert not u.pin("ringer")                       # UK cadence: 0.4 on, 0.2 off
    u.advance(0.7)
    assert u.pin("ringer")
    u.advance(19.9)
    assert not u.pin("secondary_alert")
    u.advance(20.0)                                  # T1
    assert u.pin("secondary_alert")
    u.advance(60.0)                                  # T2
    assert not u.pin("ringer") and not u.pin("secondary_alert")
    assert u.pin("led_message") and u.machine.state is State.IDLE
    u.advance(359.9)
    assert not u.pin("ringer")
    u.advance(360.0)                                 # re-alert: bell and alert for 4 s
    assert u.pin("ringer") and u.pin("secondary_alert")
    u.advance(364.0)
    assert not u.pin("ringer") and not u.pin("secondary_alert") and u.pin("led_message")
    u.take(u.machine.acknowledge_missed(400.0))
    assert not u.pin("led_message")
    u.advance(2000.0)
    assert not u.pin("ringer")                       # no more re-alerts once acknowledged


def test_caller_hears_no_answer_and_is_offered_a_message(factory, clock):
    u = Unit(factory, clock)
    factory.pin(u.profile.hook.pin).drive_low()      # handset lifted
    u.advance(0.03)
    assert u.hw.hook.is_lifted
    u.take(u.machine.hook_lifted(clock.now))
    u.take(u.machine.receive(bytes(ControlMessage(Kind.RINGING, u.machine.call_id)), 0.1))
    u.advance(60.2)
    assert PlayTone("no_answer", SPECIAL_INFORMATION) in u.outputs
    assert u.machine.state is State.NO_ANSWER and not u.pin("ringer")
    u.advance(64.2)
    assert u.machine.state is State.RECORDING
    u.close()


def test_unread_text_and_missed_call_share_the_message_led(callee):
    u = callee
    u.act.set_unread(True)
    assert u.pin("led_message")
    u.take(u.machine.receive(bytes(ControlMessage(Kind.RING, 7)), 0.0))
    u.take(u.machine.receive(bytes(ControlMessage(Kind.HANGUP, 7, 2)), 1.0))
    u.act.set_unread(False)
    assert u.pin("led_message")                      # the missed call still shows
    u.take(u.machine.acknowledge_missed(2.0))
    assert not u.pin("led_message")


def test_link_and_fault_leds(factory, clock):
    u = Unit(factory, clock)
    u.take(u.machine.peer_unreachable(0.0))
    assert not u.pin("led_link")
    u.take(u.machine.hook_lifted(1.0))
    assert u.pin("led_fault")
    u.take(u.machine.peer_reachable(2.0))
    assert u.pin("led_link") and not u.pin("led_fault")
    u.close()
