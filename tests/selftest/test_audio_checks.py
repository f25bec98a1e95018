"""Audio loopback and codec checks: the test tone through files and through real PortAudio/ALSA."""

from terminal.audio.alsaconf import PLAYBACK_PCM, alsa_config_path, write_file_asoundrc
from terminal.audio.pyaudio_handset import PyAudioHandset
from terminal.audio.wavfile import FileHandset
from terminal.selftest.codec_check import check_codec
from terminal.selftest.couplings import FileCoupling, HandsetLoopback
from terminal.selftest.loopback import check_audio_loopback
from tests.audio.conftest import read_wav


def test_tone_from_the_earpiece_is_heard_on_the_microphone(coupled):
    result = check_audio_loopback(coupled)
    assert result.passed, result.detail
    assert result.data["tone_ratio"] > 0.9 and result.data["freq_hz"] == 1004.0


def test_tone_through_real_portaudio_alsa_earpiece(tmp_path, monkeypatch):
    """The earpiece is PyAudio over an ALSA file-plugin PCM; the microphone reads the file it wrote."""
    ear = tmp_path / "ear.wav"
    mic_raw = tmp_path / "unused-mic.raw"
    mic_raw.write_bytes(bytes(96000))
    rc = write_file_asoundrc(tmp_path / "asoundrc", mic_raw, ear)
    monkeypatch.setenv("ALSA_CONFIG_PATH", alsa_config_path(rc))
    loop = FileCoupling(lambda: PyAudioHandset(None, PLAYBACK_PCM), lambda: FileHandset(ear, None))
    result = check_audio_loopback(loop)
    assert result.passed, result.detail


def test_short_capture_is_a_failure(tmp_path):
    class OneFrameMic(FileHandset):
        def poll(self, now):
            return super().poll(now)[:1]

    loop = FileCoupling(lambda: FileHandset(None, tmp_path / "ear.wav"), lambda: OneFrameMic(None, None))
    result = check_audio_loopback(loop)
    assert not result.passed and result.detail == "microphone gave 1 of 20 frames"


def test_one_handset_playing_and_capturing_at_once(tmp_path):
    """HandsetLoopback on a file handset whose microphone already holds the tone a cradle would couple."""
    first = tmp_path / "first.wav"
    check_audio_loopback(FileCoupling(lambda: FileHandset(None, first), lambda: FileHandset(None, None)))
    result = check_audio_loopback(HandsetLoopback(lambda: FileHandset(first, tmp_path / "ear.wav")))
    assert result.passed, result.detail
    assert len(read_wav(tmp_path / "ear.wav")) == 20 * 960         # played, and closed (WAV header finished)


def test_codec_passes_the_test_tone():
    result = check_codec()
    assert result.passed, result.detail
    assert result.data["tone_ratio"] > 0.9


def test_codec_check_fails_when_the_tone_is_not_at_its_frequency():
    result = check_codec(freq=1400.0)
    assert not result.passed and "no 1400 Hz tone" in result.detail


def test_codec_check_names_silence_from_a_dead_decoder():
    from terminal.voice.codec import Decoder

    class MuteDecoder(Decoder):
        def decode(self, packet):
            return bytes(self.frame_bytes)

    result = check_codec(make_decoder=MuteDecoder)
    assert not result.passed and result.detail.endswith("gave silence")
