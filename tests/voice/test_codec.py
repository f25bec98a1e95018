import numpy as np
import pytest

from terminal.voice.codec import CodecError, Decoder, Encoder, frame_samples
from tests.voice.channel import read_speech

LOOKAHEAD = 312          # libopus's algorithmic delay at 48 kHz (6.5 ms)


@pytest.fixture(scope="module")
def speech():
    return np.frombuffer(read_speech("speech_a.wav"), dtype="<i2")[48000:48000 + 960 * 100]


def frames_of(pcm, samples):
    return [pcm[i:i + samples].tobytes() for i in range(0, len(pcm) - samples + 1, samples)]


def correlation(a, b):
    a, b = a.astype(float), b.astype(float)
    return float(np.dot(a, b) / np.sqrt(np.dot(a, a) * np.dot(b, b)))


@pytest.mark.parametrize("frame_ms", [10, 20, 40])
def test_round_trip_keeps_the_waveform(speech, frame_ms):
    encoder, decoder = Encoder(frame_ms), Decoder(frame_ms)
    packets = [encoder.encode(frame) for frame in frames_of(speech, frame_samples(frame_ms))]
    out = np.frombuffer(b"".join(decoder.decode(p) for p in packets), dtype="<i2")
    assert correlation(speech[:len(out) - LOOKAHEAD], out[LOOKAHEAD:]) > 0.85
    # 24 kbit/s: a 20 ms frame is about 60 bytes
    assert sum(map(len, packets)) * 8 / (len(packets) * frame_ms / 1000) < 30000


def test_settings_reach_the_encoder():
    encoder = Encoder(bitrate=16000, fec=True, loss_percent=7)
    assert (encoder.bitrate, encoder.fec, encoder.loss_percent) == (16000, True, 7)
    encoder.set_loss_percent(20)
    assert encoder.loss_percent == 20
    assert Encoder(fec=False).fec is False
    assert (Encoder().complexity, Encoder(complexity=4).complexity) == (9, 4)
    assert Encoder().application == "voip"


@pytest.mark.parametrize("complexity", [-1, 11])
def test_complexity_out_of_range(complexity):
    with pytest.raises(CodecError, match=f"^Opus complexity must be 0..10, not {complexity}$"):
        Encoder(complexity=complexity)


def test_in_band_fec_rebuilds_a_lost_frame_better_than_concealment(speech):
    encoder = Encoder(loss_percent=20)
    packets = [encoder.encode(frame) for frame in frames_of(speech, 960)]
    reference = list(map(Decoder().decode, packets))   # one decoder through the whole stream
    fec_error = plc_error = 0.0
    for lost in range(20, 90, 7):
        with_fec, with_plc = Decoder(), Decoder()
        for packet in packets[:lost]:
            with_fec.decode(packet)
            with_plc.decode(packet)
        ideal = np.frombuffer(reference[lost], dtype="<i2").astype(float)
        rebuilt = np.frombuffer(with_fec.decode_fec(packets[lost + 1]), "<i2")
        fec_error += np.sum((rebuilt - ideal) ** 2)
        plc_error += np.sum((np.frombuffer(with_plc.conceal(), "<i2") - ideal) ** 2)
    assert fec_error < plc_error / 2


def test_concealment_gives_a_whole_frame():
    decoder = Decoder(40)
    assert len(decoder.conceal()) == 1920 * 2


@pytest.mark.parametrize("frame_ms", [0, 5, 30, 60])
def test_unsupported_frame_length(frame_ms):
    message = rf"^frame length must be one of \(10, 20, 40\) ms, not {frame_ms}$"
    with pytest.raises(CodecError, match=message):
        Encoder(frame_ms)
    with pytest.raises(CodecError):
        Decoder(frame_ms)


@pytest.mark.parametrize("length", [0, 959, 1919, 1921, 3840])
def test_wrong_pcm_length(length):
    with pytest.raises(CodecError, match=f"^a 20 ms frame is 1920 bytes of PCM, got {length}$"):
        Encoder().encode(bytes(length))


@pytest.mark.parametrize("bitrate", [5999, 510001])
def test_bitrate_out_of_range(bitrate):
    with pytest.raises(CodecError, match="^Opus bitrate must be 6000..510000 bit/s"):
        Encoder(bitrate=bitrate)


def test_loss_hint_out_of_range():
    with pytest.raises(CodecError, match=r"^packet loss hint must be 0..100 %, not 101$"):
        Encoder().set_loss_percent(101)


def test_packet_of_another_frame_length_is_refused():
    packet = Encoder(10).encode(bytes(960))
    message = "^Opus packet holds 480 samples, expected a 20 ms frame of 960$"
    with pytest.raises(CodecError, match=message):
        Decoder(20).decode(packet)


@pytest.mark.parametrize("packet, message", [
    (b"", "empty Opus packet"),
    (b"\xff\xff\xff", "Opus decoder refused the packet: corrupted stream"),
])
def test_bad_packets_are_refused(packet, message):
    with pytest.raises(CodecError, match=f"^{message}$"):
        Decoder().decode(packet)


def test_close_is_idempotent():
    encoder, decoder = Encoder(), Decoder()
    encoder.close(), encoder.close(), decoder.close(), decoder.close()
