"""Hook switch and ringer on gpiozero MockFactory pins against a fake clock; the whole unit from a profile."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from gpiozero import GPIOPinInUse

from terminal.call.cadence import Pattern
from terminal.call.tones import country_tones
from terminal.hardware.hook import HookSwitch
from terminal.hardware.profile import OutputPin, load_profile
from terminal.hardware.ringer import Ringer
from terminal.hardware.unit import Hardware


def test_hook_switch_debounces_a_bouncy_lift(factory, clock):
    hook = HookSwitch(17, pull_up=True, hold=0.03, clock=clock, pin_factory=factory)
    events = []
    hook.when_lifted = lambda: events.append(("lifted", clock.now))
    hook.when_replaced = lambda: events.append(("replaced", clock.now))
    pin = factory.pin(17)
    assert not hook.is_lifted
    for t, low in [(1.000, True), (1.004, False), (1.008, True), (1.012, False), (1.015, True)]:
        clock.now = t
        pin.drive_low() if low else pin.drive_high()
    assert events == [] and not hook.is_lifted          # still bouncing
    assert hook.deadline() == pytest.approx(1.045)
    clock.now = 1.045
    hook.poll()
    assert events == [("lifted", 1.045)] and hook.is_lifted and hook.value == 1
    clock.now = 5.0
    pin.drive_high()
    clock.now = 5.03
    hook.poll()
    assert events[-1] == ("replaced", 5.03) and not hook.is_lifted
    hook.close()
    hook.close()


def test_hook_switch_ignores_a_glitch(factory, clock):
    hook = HookSwitch(17, hold=0.03, clock=clock, pin_factory=factory)
    events = []
    hook.when_lifted = lambda: events.append("lifted")
    pin = factory.pin(17)
    clock.now = 1.0
    pin.drive_low()
    clock.now = 1.01
    pin.drive_high()
    clock.now = 2.0
    hook.poll()
    assert events == [] and not hook.is_lifted
    hook.close()


def test_hook_switch_active_high_wiring(factory, clock):
    hook = HookSwitch(17, pull_up=False, hold=0.0, clock=clock, pin_factory=factory)
    factory.pin(17).drive_high()
    assert hook.is_lifted
    hook.close()


@pytest.mark.parametrize("code, instants", [
    # (seconds after start, relay energised?)
    ("GB", [(0.0, True), (0.39, True), (0.41, False), (0.61, True), (1.01, False), (2.99, False), (3.05, True)]),
    ("US", [(0.0, True), (1.99, True), (2.01, False), (5.99, False), (6.01, True)]),
    ("RU", [(0.5, True), (0.81, False), (4.01, True)]),
    ("JP", [(0.99, True), (1.01, False), (3.01, True)]),
])
def test_ringer_follows_the_cadence(factory, code, instants):
    ringer = Ringer(27, pin_factory=factory)
    relay = factory.pin(27)
    start = 100.0
    ringer.ring(country_tones(code).ring, start)
    seen = []
    now = start
    for offset, _ in instants:
        # drive the ringer as its owner would: poll at each deadline up to the instant, then look at the pin
        while ringer.deadline() is not None and ringer.deadline() <= start + offset:
            now = ringer.deadline()
            ringer.poll(now)
        seen.append((offset, relay.state))
    assert seen == instants
    ringer.silence()
    assert relay.state is False and not ringer.ringing and ringer.deadline() is None
    ringer.close()
    ringer.close()


def test_ringer_active_low_relay_board(factory):
    ringer = Ringer(27, active_high=False, pin_factory=factory)
    assert factory.pin(27).state is True                 # off means high on an active-low board
    ringer.ring(Pattern((1.0, 1.0)), 0.0)
    assert factory.pin(27).state is False
    ringer.close()


def test_ringer_burst_with_a_stop(factory):
    ringer = Ringer(27, pin_factory=factory)
    ringer.ring(Pattern((2.0, 4.0)), 0.0, stop=1.0)
    assert factory.pin(27).state is True and ringer.deadline() == 1.0
    ringer.poll(1.0)
    assert factory.pin(27).state is False and not ringer.ringing
    ringer.close()


@pytest.mark.parametrize("board", ["pi4", "pizero2w"])
def test_whole_unit_from_each_profile(factory, clock, board):
    profile = load_profile(board)
    hw = Hardware(profile, pin_factory=factory, clock=clock)
    hw.leds["fault"].on()
    assert factory.pin(profile.led_fault.pin).state is True
    hw.secondary_alert.on()
    assert factory.pin(profile.secondary_alert.pin).state is True
    hw.ringer.ring(Pattern((1.0, 1.0)), 0.0)
    assert not hw.ringer_feedback_agrees()               # relay told on, aux contact still open
    factory.pin(profile.ringer_feedback.pin).drive_low()  # contact closes to ground
    assert hw.ringer_feedback_agrees()
    factory.pin(profile.presence.pin).drive_high()
    assert hw.presence.is_active
    factory.pin(profile.provisioning_button.pin).drive_low()
    assert hw.provisioning_button.is_pressed
    assert hw.handset_device == profile.handset_device
    hw.close()
    hw.close()
    assert hw.closed
    Hardware(profile, pin_factory=factory, clock=clock).close()      # every pin was released


def test_unit_constructor_cleans_up_on_failure(factory, clock):
    profile = load_profile("pi4")
    clash = dataclasses.replace(profile, led_fault=OutputPin(profile.hook.pin, True))   # bypasses the loader
    with pytest.raises(GPIOPinInUse):
        Hardware(clash, pin_factory=factory, clock=clock)
    Hardware(profile, pin_factory=factory, clock=clock).close()      # the devices built before the failure were closed


def test_hook_switch_hands_edges_to_the_owner_and_schedules_its_poll(factory, clock):
    queued, scheduled = [], []
    hook = HookSwitch(17, hold=0.03, clock=clock, pin_factory=factory,
                      dispatch=queued.append, call_at=lambda when, fn: scheduled.append((when, fn)))
    events = []
    hook.when_lifted = lambda: events.append(clock.now)
    clock.now = 2.0
    factory.pin(17).drive_low()                  # on a Pi this runs on gpiozero's thread
    assert events == [] and len(queued) == 1 and scheduled == []
    clock.now = 2.001
    queued.pop()()                               # the owner's loop runs the edge
    assert [when for when, _ in scheduled] == [pytest.approx(2.03)]
    clock.now = 2.03
    scheduled.pop()[1]()                         # ... and later the scheduled poll
    assert events == [2.03] and hook.is_lifted
    hook.close()


async def test_asyncio_wiring(factory):
    """The daemon's wiring: edges and debounce confirmation run on the event loop."""
    loop = asyncio.get_running_loop()
    lifted = asyncio.Event()
    hook = HookSwitch(17, hold=0.01, clock=loop.time, pin_factory=factory,
                      dispatch=loop.call_soon_threadsafe, call_at=loop.call_at)
    hook.when_lifted = lifted.set
    factory.pin(17).drive_low()
    await asyncio.wait_for(lifted.wait(), 2.0)
    assert hook.is_lifted
    hook.close()
