import numpy as np
import pytest

from terminal.call.tones import country_tones
from terminal.voice.goertzel import detect, goertzel_power, tone_ratio
from terminal.voice.tones import (NAMED_TONES, NO_ANSWER, RINGBACK, TEST_TONE, UNREACHABLE, ToneError,
                                  ToneGenerator, ToneSpec, render)

RATE = 48000


def window(spec, start_s, seconds=0.1):
    return render(spec, int(start_s * RATE), int(seconds * RATE))


# --- tones -------------------------------------------------------------------

@pytest.mark.parametrize("spec,freq,on_at,off_at", [
    (RINGBACK, 425.0, [0.1, 0.85, 5.2], [1.1, 3.0, 4.85]),
    (UNREACHABLE, 425.0, [0.05, 0.55, 1.05], [0.3, 0.8, 1.3]),
    (TEST_TONE, 1004.0, [0.0, 1.0, 60.0], []),
])
def test_cadence_on_and_off(spec, freq, on_at, off_at):
    for t in on_at:
        assert detect(window(spec, t + 0.005, 0.05), freq), t
    for t in off_at:
        assert not window(spec, t, 0.05).any(), t


@pytest.mark.parametrize("start_s,freq", [(0.05, 950.0), (0.38, 1400.0), (0.71, 1800.0), (2.04, 950.0), (2.37, 1400.0)])
def test_special_information_tone_steps(start_s, freq):
    block = window(NO_ANSWER, start_s, 0.25)
    assert detect(block, freq)
    assert not detect(block, 1400.0 if freq != 1400.0 else 950.0)


def test_silent_step_of_special_information_tone():
    assert not window(NO_ANSWER, 1.0, 0.98).any()


@pytest.mark.parametrize("frame_samples", [480, 960, 1920, 777])
def test_frames_join_into_the_continuous_tone(frame_samples):
    gen = ToneGenerator(RINGBACK, frame_samples, position=40000)
    joined = np.frombuffer(b"".join(gen.next_frame() for _ in range(300)), "<i2")
    assert np.array_equal(joined, render(RINGBACK, 40000, 300 * frame_samples))
    assert gen.position == 40000 + 300 * frame_samples


@pytest.mark.parametrize("spec", list(NAMED_TONES.values()))
def test_no_clicks_over_a_whole_cycle(spec):
    samples = render(spec, 0, 6 * RATE).astype(np.int32)
    steepest_sine = spec.amplitude * 32767 * 2 * np.pi * 1800 / RATE
    assert np.abs(np.diff(samples)).max() <= 1.2 * steepest_sine + 2


def test_level_is_the_sine_peak():
    peak = np.abs(window(TEST_TONE, 0.5, 0.1)).max()
    assert peak == pytest.approx(10 ** (-10 / 20) * 32767, rel=0.01)


def test_country_tone_from_call_table_keeps_both_frequencies():
    us = ToneSpec.from_tone(country_tones("US").ringback)
    block = window(us, 0.5, 0.2)
    assert tone_ratio(block, 440.0) > 0.4 and tone_ratio(block, 480.0) > 0.4
    assert not window(us, 3.0, 0.5).any()


def test_modulated_tone_swells_at_the_modulation_rate():
    jp = ToneSpec.from_tone(country_tones("JP").ringback)
    block = window(jp, 0.2, 0.5).astype(float)
    rms = np.sqrt((block.reshape(-1, 480) ** 2).mean(axis=1))     # 10 ms windows
    assert rms.max() > 5 * rms.min()
    assert detect(block, 400.0, threshold=0.2)


@pytest.mark.parametrize("kwargs,message", [
    (dict(freqs=(425.0,), cadence=(1.0,)), "even count"),
    (dict(freqs=(30000.0,)), "between 0 and 24000 Hz"),
    (dict(freqs=(0.0,)), "between 0 and 24000 Hz"),
    (dict(freqs=(400.0, 500.0, 600.0), level_dbfs=-3.0), "would clip"),
    (dict(freqs=(425.0,), cadence=(1.0, 0.0)), "must be positive"),
    (dict(freqs=(425.0,), modulation_hz=-1.0), "must not be negative"),
])
def test_bad_tone_specs_are_refused(kwargs, message):
    with pytest.raises(ToneError, match=message):
        ToneSpec.cadenced(**kwargs)


def test_empty_tone_is_refused():
    with pytest.raises(ToneError, match="at least one step"):
        ToneSpec(())


# --- Goertzel ----------------------------------------------------------------

def sine(freq, seconds=0.1, amplitude=8000.0):
    n = np.arange(int(seconds * RATE))
    return amplitude * np.sin(2 * np.pi * freq * n / RATE)


@pytest.mark.parametrize("freq", [425.0, 1004.0, 1777.7, 3000.0])
def test_pure_tone_scores_one(freq):
    assert tone_ratio(sine(freq), freq) == pytest.approx(1.0, abs=0.01)


def test_tone_in_noise_is_detected_and_other_frequencies_rejected():
    rng = np.random.default_rng(7)
    block = sine(1004.0, amplitude=3000.0) + rng.normal(0, 1500.0, 4800)   # about 3 dB SNR
    assert detect(block, 1004.0)
    assert not detect(block, 1100.0)
    assert not detect(block, 500.0)


@pytest.mark.parametrize("block", [np.zeros(960), np.random.default_rng(3).normal(0, 2000, 960), sine(1200.0, 0.02)])
def test_silence_noise_and_wrong_tone_are_rejected(block):
    assert not detect(block, 1004.0)


def test_bytes_block_and_power_scale():
    block = sine(1000.0, 0.02).astype("<i2")
    assert detect(block.tobytes(), 1000.0)
    assert goertzel_power(block * 2, 1000.0) == pytest.approx(4 * goertzel_power(block, 1000.0), rel=1e-3)


def test_empty_block_scores_zero():
    assert tone_ratio(np.zeros(0), 1000.0) == 0.0
