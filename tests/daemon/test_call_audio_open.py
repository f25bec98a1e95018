"""A handset that will not open at once (a self-test's loopback still holding it)
is tried again, so the call gets its audio; one that never opens is a fault,
lit and journalled, and the call itself goes on."""

import asyncio

from gpiozero.pins.mock import MockFactory

from terminal.audio.errors import AudioError
from terminal.daemon.calling import AUDIO_OPEN_ATTEMPTS
from terminal.daemon.records import VoiceMessage
from terminal.journal import load
from terminal.sim.call import bring_up, connect_call, hang_up, lift, replace
from terminal.sim.provision import provision_pair
from terminal.sim.run import SIM_TIMERS, file_handsets, load_unit
from terminal.voice.codec import Encoder
from tests.daemonlog import watch_journal


class BusyDevice:
    """The real file-backed handset factory, refusing its first `refusals` opens as ALSA does a busy device."""

    def __init__(self, unit_dir, refusals: int):
        self.open, self.refusals, self.tries = file_handsets(unit_dir, [None]), refusals, 0
        self.played = 0
        self.playing = asyncio.Event()                        # ten frames reached the earpiece

    def __call__(self):
        self.tries += 1
        if self.tries <= self.refusals:
            raise AudioError("cannot open the handset: Device or resource busy")
        handset = self.open()
        play = handset.write

        def write(frame):
            play(frame)
            self.played += 1
            if self.played == 10:
                self.playing.set()
        handset.write = write
        return handset


async def call_with(tmp_path, refusals: int):
    a_sim, b_sim = provision_pair(tmp_path, extra=SIM_TIMERS)
    device = BusyDevice(tmp_path / "A", refusals)
    a = load_unit(a_sim.config_path, pin_factory=MockFactory(), handset_factory=device)
    b = load_unit(b_sim.config_path, pin_factory=MockFactory(), handset_factory=file_handsets(tmp_path / "B", [None]))
    await bring_up(a, b, (a_sim.sock, b_sim.sock))
    return a, b, device


async def test_a_busy_handset_is_tried_again_and_the_call_gets_its_audio(tmp_path):
    a, b, device = await call_with(tmp_path, refusals=3)
    try:
        wa, wb = await connect_call(a, b)
        await asyncio.wait_for(device.playing.wait(), 5)
        assert device.tries == 4 and a.call.voice.stats["frames_received"] > 0
        assert not a.call.hardware.leds["fault"].is_lit
        await hang_up(a, b, wb)
    finally:
        await a.close()
        await b.close()
    records = load(tmp_path / "A" / "data" / "journal.sqlite").records
    assert not [r for r in records if r.kind == "selftest" and r.fields["check"] == "handset_audio"]


async def test_a_handset_that_never_opens_is_a_fault_and_the_call_goes_on(tmp_path):
    a, b, device = await call_with(tmp_path, refusals=10**6)
    try:
        wa, wb = await connect_call(a, b)                     # B answers; the call is connected regardless
        fault = watch_journal(a, "selftest", check="handset_audio")
        await asyncio.wait_for(fault.wait(), 5)
        assert device.tries >= AUDIO_OPEN_ATTEMPTS and device.played == 0
        assert a.call.hardware.leds["fault"].is_lit
        assert a.call.machine.state.name == "CONNECTED"
        await hang_up(a, b, wb)
    finally:
        await a.close()
        await b.close()
    records = load(tmp_path / "A" / "data" / "journal.sqlite").records
    failed = [r for r in records if r.kind == "selftest" and r.fields["check"] == "handset_audio"]
    assert len(failed) == 1 and "busy" in failed[0].fields["detail"] and failed[0].fields["passed"] is False


async def test_a_voice_message_waiting_plays_when_the_busy_handset_frees(tmp_path):
    a, b, device = await call_with(tmp_path, refusals=2)
    encoder = Encoder(20, 16000, fec=False)
    frames = tuple(encoder.encode(bytes(1920)) for _ in range(10))
    encoder.close()
    try:
        a.call.add_voice_message(VoiceMessage("call-7", 20, frames))
        played = watch_journal(a, "escalation", step="voice_message_played")
        lift(a)                                               # message LED lit: the person listens
        await asyncio.wait_for(played.wait(), 5)
        assert device.tries == 3 and device.played >= len(frames)
        assert a.call.voice_messages == []
    finally:
        replace(a)
        await a.close()
        await b.close()


async def test_a_handset_that_fails_mid_call_is_closed_so_the_next_call_can_open_it(tmp_path):
    """An unplugged USB handset: its pump ends with an error; its streams and threads must go too."""
    a_sim, b_sim = provision_pair(tmp_path, extra=SIM_TIMERS)
    opened, closed = [], []
    real = file_handsets(tmp_path / "A", [None])

    def unplugging():
        handset, first = real(), not opened
        poll, close = handset.poll, handset.close

        def failing_poll(now):
            if first and now - opened[0] > 0.2:
                raise AudioError("handset audio stopped: [Errno -9999] Unanticipated host error")
            return poll(now)
        handset.poll = failing_poll
        handset.close = lambda: (closed.append(first), close())
        opened.append(asyncio.get_running_loop().time())
        return handset
    a = load_unit(a_sim.config_path, pin_factory=MockFactory(), handset_factory=unplugging)
    b = load_unit(b_sim.config_path, pin_factory=MockFactory(), handset_factory=file_handsets(tmp_path / "B", [None]))
    await bring_up(a, b, (a_sim.sock, b_sim.sock))
    fault = watch_journal(a, "selftest", check="handset_audio")
    try:
        wa, wb = await connect_call(a, b)
        await asyncio.wait_for(fault.wait(), 5)
        assert closed[:1] == [True]                           # the failed one, closed at its failure
        assert a.call.hardware.leds["fault"].is_lit
        await hang_up(a, b, wb)
    finally:
        await a.close()
        await b.close()
