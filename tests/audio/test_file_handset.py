import numpy as np
import pytest

from terminal.audio.errors import AudioError
from terminal.audio.wavfile import FileHandset
from tests.audio.conftest import read_wav, write_wav


def test_poll_hands_out_due_frames_in_order(ramp_wav, tmp_path):
    with FileHandset(ramp_wav, None, frame_ms=20) as handset:
        handset.start(10.0)
        first = handset.poll(10.0)
        assert handset.poll(10.019) == []
        rest = handset.poll(10.1)
    frames = first + rest
    assert len(frames) == 6
    got = np.frombuffer(b"".join(frames), dtype="<i2")
    assert np.array_equal(got, read_wav(ramp_wav)[:6 * 960])


def test_silence_after_input_ends(tmp_path):
    short = tmp_path / "short.wav"
    write_wav(short, np.full(1000, 1234))
    with FileHandset(short, None, frame_ms=10) as handset:
        handset.start(0.0)
        frames = handset.poll(0.03)
    assert len(frames) == 4
    third = np.frombuffer(frames[2], "<i2")
    assert np.all(third[:40] == 1234) and not third[40:].any()
    assert frames[3] == bytes(960)


def test_sink_writes_wav(tmp_path):
    out = tmp_path / "ear.wav"
    handset = FileHandset(None, out, frame_ms=40)
    frame = (np.arange(1920) - 960).astype("<i2").tobytes()
    handset.write(frame)
    handset.write(frame)
    handset.close()
    handset.close()
    assert np.array_equal(read_wav(out), np.tile(np.arange(1920) - 960, 2))


def test_next_due_follows_frames_taken(ramp_wav):
    with FileHandset(ramp_wav, None, frame_ms=20) as handset:
        assert handset.next_due() is None
        handset.start(1.0)
        assert handset.next_due() == 1.0
        handset.poll(1.05)
        assert handset.next_due() == pytest.approx(1.06)


def test_wrong_frame_size_is_refused(tmp_path):
    with FileHandset(None, tmp_path / "ear.wav") as handset:
        with pytest.raises(AudioError, match="must be 1920 bytes"):
            handset.write(b"\0" * 100)


@pytest.mark.parametrize("rate,channels", [(16000, 1), (48000, 2)])
def test_wrong_wav_format_is_refused(tmp_path, rate, channels):
    import wave
    path = tmp_path / "bad.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(bytes(400))
    with pytest.raises(AudioError, match="need 48000 Hz, 1 channel"):
        FileHandset(path, None)


def test_not_a_wav_is_refused(tmp_path):
    path = tmp_path / "junk.wav"
    path.write_bytes(b"not a wav at all")
    with pytest.raises(AudioError, match="cannot read as WAV"):
        FileHandset(path, None)


def test_bad_frame_length_is_refused():
    with pytest.raises(AudioError, match=r"one of \(10, 20, 40\) ms, not 30"):
        FileHandset(None, None, frame_ms=30)


async def test_pump_hands_out_paced_frames_until_stopped(ramp_wav):
    import asyncio

    from terminal.audio.pump import pump_frames
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    got = []

    def on_frame(frame, now):
        got.append((frame, now))
        if len(got) == 5:
            stop.set()

    with FileHandset(ramp_wav, None, frame_ms=10) as handset:
        began = loop.time()
        assert await pump_frames(handset, on_frame, stop) == 5
    assert np.array_equal(np.frombuffer(b"".join(f for f, _ in got), "<i2"), read_wav(ramp_wav)[:5 * 480])
    assert got[-1][1] - began >= 0.04 - 1e-3          # frame 4 is not handed out before it is due


async def test_pump_ends_when_stopped_from_outside_and_raises_what_on_frame_raised(ramp_wav):
    import asyncio

    from terminal.audio.pump import pump_frames
    stop = asyncio.Event()
    got, handed_before_stop = [], []

    def stop_now():
        handed_before_stop.append(len(got))
        stop.set()

    def on_frame(frame, now):
        got.append(frame)
        if len(got) == 2:
            asyncio.get_running_loop().call_soon(stop_now)   # set between ticks, not inside one

    with FileHandset(ramp_wav, None, frame_ms=10) as handset:
        count = await pump_frames(handset, on_frame, stop)
    assert count == len(got) == handed_before_stop[0] >= 2   # not one frame after the stop

    def broken(frame, now):
        raise RuntimeError("earpiece unplugged")

    with FileHandset(ramp_wav, None, frame_ms=10) as handset:
        with pytest.raises(RuntimeError, match="earpiece unplugged"):
            await pump_frames(handset, broken, asyncio.Event())
