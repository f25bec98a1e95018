"""The handset on its own threads (terminal/audio/device_clock.py), through real PortAudio over
the ALSA file plugin, and the rule that decides who paces capture."""

import asyncio
import logging

import numpy as np
import pytest

from terminal.audio.alsaconf import CAPTURE_PCM, PLAYBACK_PCM, alsa_config_path, wav_to_raw, write_file_asoundrc
from terminal.audio.device_clock import PROBE_FRAMES, CaptureClock, DeviceClockHandset
from terminal.audio.errors import AudioError
from terminal.audio.pump import pump_frames
from tests.audio.conftest import read_wav


def test_a_card_paces_capture_and_an_unpaced_pcm_is_paced_by_the_system_clock():
    card = CaptureClock(0.020)
    card.started(10.0)
    for n in range(1, PROBE_FRAMES + 1):
        assert card.due() is None and card.paced_by is None     # read at once: it blocks until the card has it
        card.read(10.0 + n * 0.020)
    assert card.paced_by == "device" and card.due() is None
    card.read(10.0 + 3 * 0.020 - 0.019)                          # a card catching up later changes nothing
    assert card.paced_by == "device"

    file_plugin = CaptureClock(0.020)
    file_plugin.started(10.0)
    file_plugin.read(10.001)                                     # the first read back at once: decided
    assert file_plugin.paced_by == "system"
    assert file_plugin.due() == pytest.approx(10.020)            # no burst: the next frame in 20 ms


def test_an_unpaced_pcm_whose_first_read_waited_for_the_gil_is_still_found():
    clock = CaptureClock(0.020)
    clock.started(10.0)
    clock.read(10.015)                                           # slow: the thread waited for the GIL
    assert clock.paced_by is None
    clock.read(10.016)                                           # the next back at once
    assert clock.paced_by == "system" and clock.due() == pytest.approx(10.040)


@pytest.fixture
def alsa_files(tmp_path, ramp_wav, monkeypatch):
    raw, ear = tmp_path / "mic.raw", tmp_path / "ear.wav"
    wav_to_raw(ramp_wav, raw)
    monkeypatch.setenv("ALSA_CONFIG_PATH", alsa_config_path(write_file_asoundrc(tmp_path / "asoundrc", raw, ear)))
    return ramp_wav, ear


async def test_the_threads_hand_the_loop_every_frame_in_order_in_real_time(alsa_files, caplog):
    source, ear = alsa_files
    caplog.set_level(logging.INFO, "terminal.audio.device_clock")
    loop, stop, frames = asyncio.get_running_loop(), asyncio.Event(), []
    handset = DeviceClockHandset(CAPTURE_PCM, PLAYBACK_PCM, frame_ms=20)

    def on_frame(frame, now):
        frames.append((frame, now))
        handset.write(frame)                            # the earpiece gets what the microphone gave
        if len(frames) == 25:
            stop.set()
    try:
        count = await pump_frames(handset, on_frame, stop)
    finally:
        handset.close()
    handset.close()                                     # twice is fine
    assert count == 25 and handset.paced_by == "system"
    assert "handset capture paced by the system" in caplog.text
    expected = read_wav(source)[:25 * 960]
    assert np.array_equal(np.frombuffer(b"".join(f for f, _ in frames), "<i2"), expected)
    # paced from the first read: the rest took their real time (20 ms each), not none
    span = frames[-1][1] - frames[0][1]
    assert span >= 0.9 * 24 * 0.020
    assert np.array_equal(read_wav(ear), expected)      # written by the playback thread, all of it
    assert handset.counts == {"capture_dropped": 0, "playout_dropped": 0, "underruns": 0}


async def test_a_failing_device_ends_the_pump_with_a_clear_error(alsa_files):
    handset = DeviceClockHandset(CAPTURE_PCM, PLAYBACK_PCM, frame_ms=20)

    def unplugged():
        raise OSError(-9981, "Input overflowed")        # what PortAudio raises for a device gone
    handset._streams.read_blocking = unplugged
    with pytest.raises(AudioError, match="handset audio stopped: .*Input overflowed"):
        await pump_frames(handset, lambda frame, now: None, asyncio.Event())
    handset.close()


def test_after_a_stall_the_earpiece_queue_keeps_no_backlog(alsa_files):
    from terminal.audio.device_clock import PLAYOUT_FRAMES

    handset = DeviceClockHandset(CAPTURE_PCM, PLAYBACK_PCM, frame_ms=20)     # not started: nothing plays
    for _ in range(PLAYOUT_FRAMES + 4):                          # the loop catching up after a stall
        handset.write(bytes(1920))
    assert handset.playout_depth == PLAYOUT_FRAMES and handset.counts["playout_dropped"] == 4
    handset.close()


def test_a_handset_without_earpiece_refuses_write(alsa_files):
    with DeviceClockHandset(CAPTURE_PCM, None) as handset:
        with pytest.raises(AudioError, match="without an earpiece"):
            handset.write(bytes(1920))
