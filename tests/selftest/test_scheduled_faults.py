"""Hardware and audio faults through a whole scheduled run: detected, named, recorded, fault LED lit."""

import numpy as np

from terminal.audio.wavfile import FileHandset
from terminal.selftest.couplings import FileCoupling
from terminal.selftest.runner import led_switch
from terminal.selftest.scheduled import SelfTestContext, hardware_parts, run_selftest
from tests.audio.conftest import write_wav


async def run(tmp_path, hardware, loopback, sink):
    ctx = SelfTestContext(tmp_path, loopback=loopback, relay_settle=0.01, min_free_bytes=1,
                          **hardware_parts(hardware))
    return await run_selftest(ctx, record=sink.record, fault_led=led_switch(hardware.leds["fault"]))


def assert_only_fault(summary, sink, hardware, check: str, words: str) -> None:
    assert summary.exit_code == 1 and [r.name for r in summary.failures] == [check]
    assert words in sink.failures()[check]
    assert hardware.leds["fault"].is_lit


async def test_healthy_run_records_every_check_and_leaves_the_led_dark(tmp_path, hardware, coupled, sink):
    summary = await run(tmp_path, hardware, coupled, sink)
    assert summary.passed and [f["check"] for f in sink.selftests()] == [
        "ringer_relay", "hook_switch", "audio_loopback", "disk_space", "clock"]
    assert not hardware.leds["fault"].is_lit


async def test_relay_feedback_stuck(tmp_path, stuck_hardware, coupled, sink):
    summary = await run(tmp_path, stuck_hardware, coupled, sink)
    assert_only_fault(summary, sink, stuck_hardware, "ringer_relay", "relay feedback stuck")


async def test_microphone_silent(tmp_path, hardware, sink):
    silent_mic = FileCoupling(lambda: FileHandset(None, tmp_path / "ear.wav"), lambda: FileHandset(None, None))
    summary = await run(tmp_path, hardware, silent_mic, sink)
    assert_only_fault(summary, sink, hardware, "audio_loopback", "microphone silent")


async def test_earpiece_dead(tmp_path, hardware, sink):
    room = tmp_path / "room.wav"
    write_wav(room, np.random.default_rng(3).normal(0, 300, 48000).astype(np.int16))
    dead_earpiece = FileCoupling(lambda: FileHandset(None, tmp_path / "lost.wav"), lambda: FileHandset(room, None))
    summary = await run(tmp_path, hardware, dead_earpiece, sink)
    assert_only_fault(summary, sink, hardware, "audio_loopback", "earpiece dead")
