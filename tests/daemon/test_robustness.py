"""What a careful reviewer asked of the daemon: late answers, dead handsets,
shutdown mid-call, and a start that fails half-way."""

import asyncio
import socket

import pytest
from gpiozero.pins.mock import MockFactory

from terminal.audio.errors import AudioError
from terminal.call import actions as act
from terminal.control.protocol import ControlError
from terminal.sim.call import CallWatcher, bring_up, connect_call, lift, replace
from terminal.sim.provision import provision_pair
from terminal.sim.run import SIM_TIMERS, file_handsets, load_unit
from tests.daemonlog import watch_journal


def make_pair(tmp_path, a_handsets=None):
    a_sim, b_sim = provision_pair(tmp_path, extra=SIM_TIMERS)
    a = load_unit(a_sim.config_path, pin_factory=MockFactory(),
                  handset_factory=a_handsets or file_handsets(tmp_path / "A", [None]))
    b = load_unit(b_sim.config_path, pin_factory=MockFactory(), handset_factory=file_handsets(tmp_path / "B", [None]))
    return a, b, a_sim, b_sim


async def journal_kinds(unit):
    await unit.journal.flush()
    return [r.kind for r in unit.journal.journal.records()]


async def test_an_answer_long_after_the_last_keepalive_keeps_the_call(tmp_path):
    a, b, a_sim, b_sim = make_pair(tmp_path)
    try:
        await bring_up(a, b, (a_sim.sock, b_sim.sock))
        wa, wb = CallWatcher(a), CallWatcher(b)
        lift(a)
        await wb.wait_for(act.StartRinger, 5)
        await asyncio.sleep(2.5)               # the person at B takes a while; idle keepalives are 5 s apart
        lift(b)
        await wa.wait_for(act.StartVoice, 5)
        await asyncio.sleep(1.0)
        assert wb.first(act.CallEnded) is None and wa.first(act.CallEnded) is None
        assert b.call.voice is not None and b.call.voice.stats["frames_received"] > 20
    finally:
        replace(a)
        replace(b)
        await a.close()
        await b.close()


async def test_a_handset_that_will_not_open_still_rings_the_peer_and_says_so(tmp_path):
    def broken():
        raise AudioError("no ALSA playback device named 'handset'")
    a, b, a_sim, b_sim = make_pair(tmp_path, a_handsets=broken)
    try:
        await bring_up(a, b, (a_sim.sock, b_sim.sock))
        fault = watch_journal(a, "selftest", check="handset_audio")
        wb = CallWatcher(b)
        lift(a)
        await wb.wait_for(act.StartRinger, 5)               # the peer rings whatever the handset does
        await asyncio.wait_for(fault.wait(), 5)             # after the retries (a busy device frees itself)
        assert a.call.hardware.leds["fault"].is_active
        assert "selftest" in await journal_kinds(a)
    finally:
        replace(a)
        await a.close()
        await b.close()


async def test_shutting_down_mid_call_hangs_up_and_journals_the_end(tmp_path):
    a, b, a_sim, b_sim = make_pair(tmp_path)
    try:
        await bring_up(a, b, (a_sim.sock, b_sim.sock))
        wa, wb = await connect_call(a, b)
        await a.close("reload")                # e.g. a provisioning change reloads A mid-call
        (ended, _) = await wb.wait_for(act.CallEnded, 5)
        assert ended.who_hung_up == "peer"     # A said goodbye; B did not have to wait for a timeout
    finally:
        replace(b)
        await b.close()
    from terminal.journal import load
    kinds = [r.kind for r in load(tmp_path / "A" / "data" / "journal.sqlite").records]
    assert kinds.index("call_ended") < kinds.index("shutdown")


async def test_a_start_that_fails_half_way_leaves_nothing_running(tmp_path):
    a_sim, _ = provision_pair(tmp_path, extra={"control": {"group": "no_such_group"}})
    port = a_sim.sock.getsockname()
    a_sim.sock.close()
    a = load_unit(a_sim.config_path, pin_factory=MockFactory(), handset_factory=file_handsets(tmp_path / "A", [None]))
    with pytest.raises(ControlError, match="no_such_group"):
        await a.start(control=True)
    assert a.endpoint is None and a.journal is None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(port)                           # the link's port was released
