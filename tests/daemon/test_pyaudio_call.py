"""The daemon's own handset path on a unit: PyAudio over ALSA (an asoundrc whose
PCMs read and write files, since this machine has no sound card). Unit B opens
its default handset exactly as on the desk; A uses a WAV handset."""

import asyncio
import logging

from gpiozero.pins.mock import MockFactory

from terminal.audio.alsaconf import alsa_config_path, wav_to_raw, write_file_asoundrc
from terminal.call import actions as act
from terminal.sim.call import bring_up, connect_call, hang_up
from terminal.sim.provision import provision_pair
from terminal.sim.run import SIM_TIMERS, file_handsets, load_unit
from terminal.sim.speech import SAMPLES, padded_speech, speech_match
from tests.emulation import needs_real_time


@needs_real_time
async def test_a_call_through_real_portaudio_on_one_side(tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.INFO, "terminal.audio.device_clock")
    mic = padded_speech(SAMPLES / "speech_b.wav", tmp_path / "b-mouth.wav", 0.3, tail_seconds=4.0)
    raw, ear = tmp_path / "b-mouth.raw", tmp_path / "b-ear.wav"
    wav_to_raw(mic, raw)
    monkeypatch.setenv("ALSA_CONFIG_PATH", alsa_config_path(write_file_asoundrc(tmp_path / "asoundrc", raw, ear)))
    a_mouth = padded_speech(SAMPLES / "speech_a.wav", tmp_path / "a-mouth.wav", 0.5)
    a_sim, b_sim = provision_pair(tmp_path, extra=SIM_TIMERS)
    a = load_unit(a_sim.config_path, pin_factory=MockFactory(), handset_factory=file_handsets(tmp_path / "A", [a_mouth]))
    b = load_unit(b_sim.config_path, pin_factory=MockFactory())          # the desk unit's PyAudio handset
    try:
        await bring_up(a, b, (a_sim.sock, b_sim.sock))
        wa, wb = await connect_call(a, b)
        await asyncio.sleep(6.5)                                          # they talk
        await hang_up(a, b, wb)
        await wb.wait_for(act.StopVoice, 5)
        received = b.call.last_voice_stats["frames_received"]
        b_call = b.call
    finally:
        await a.close()
        await b.close()
    assert received > 250
    assert "handset capture paced by the system" in caplog.text           # its own threads, the file PCM unpaced
    assert b_call.last_audio_counts == {"capture_dropped": 0, "playout_dropped": 0, "underruns": 0}
    assert speech_match(ear, SAMPLES / "speech_a.wav") > 0.5               # B's earpiece, written by ALSA
    assert speech_match(tmp_path / "A" / "heard-1.wav", SAMPLES / "speech_b.wav") > 0.5   # B's mic, read by ALSA
