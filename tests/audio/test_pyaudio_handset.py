"""The PyAudio adapter through real PortAudio over an ALSA file-plugin config."""

import numpy as np
import pytest

from terminal.audio.alsaconf import CAPTURE_PCM, PLAYBACK_PCM, alsa_config_path, wav_to_raw, write_file_asoundrc
from terminal.audio.errors import AudioError
from terminal.audio.pyaudio_handset import PyAudioHandset
from tests.audio.conftest import read_wav


@pytest.fixture
def alsa_files(tmp_path, ramp_wav, monkeypatch):
    """An asoundrc reading the ramp as microphone and writing the earpiece to ear.wav."""
    raw = tmp_path / "mic.raw"
    ear = tmp_path / "ear.wav"
    wav_to_raw(ramp_wav, raw)
    rc = write_file_asoundrc(tmp_path / "asoundrc", raw, ear)
    monkeypatch.setenv("ALSA_CONFIG_PATH", alsa_config_path(rc))
    return ramp_wav, ear


def test_capture_paced_and_playback_written(alsa_files):
    source, ear = alsa_files
    handset = PyAudioHandset(CAPTURE_PCM, PLAYBACK_PCM, frame_ms=20)
    try:
        handset.start(100.0)
        frames = handset.poll(100.0)
        assert handset.poll(100.01) == []
        frames += handset.poll(100.2)
        assert len(frames) == 11
        for frame in frames:
            handset.write(frame)
    finally:
        handset.close()
    handset.close()
    expected = read_wav(source)[:11 * 960]
    assert np.array_equal(np.frombuffer(b"".join(frames), "<i2"), expected)
    assert np.array_equal(read_wav(ear), expected)


def test_unknown_device_names_what_portaudio_sees(alsa_files):
    with pytest.raises(AudioError, match=r"no ALSA capture device named 'nope'.*hotline_capture"):
        PyAudioHandset("nope", PLAYBACK_PCM)


def test_capture_only_handset_refuses_write(alsa_files):
    with PyAudioHandset(CAPTURE_PCM, None, frame_ms=10) as handset:
        handset.start(0.0)
        assert len(handset.poll(0.0)) == 1
        with pytest.raises(AudioError, match="without an earpiece"):
            handset.write(bytes(960))


def test_asoundrc_refuses_unquotable_path(tmp_path):
    with pytest.raises(AudioError, match="cannot be quoted"):
        write_file_asoundrc(tmp_path / "rc", tmp_path / 'a"b.raw', tmp_path / "ear.wav")


def test_test_tone_played_to_the_earpiece_is_detected_in_the_file(alsa_files):
    from terminal.voice.goertzel import detect
    from terminal.voice.tones import TEST_TONE, ToneGenerator
    _, ear = alsa_files
    tone = ToneGenerator(TEST_TONE, frame_samples=960)
    with PyAudioHandset(None, PLAYBACK_PCM) as handset:
        handset.start(0.0)
        for _ in range(10):
            handset.write(tone.next_frame())
    heard = read_wav(ear)
    assert len(heard) == 9600
    assert detect(heard[4800:], 1004.0) and not detect(heard[4800:], 1400.0)
