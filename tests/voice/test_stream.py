import numpy as np
import pytest
from scipy.signal import correlate

from terminal.voice.codec import CodecError
from terminal.voice.packet import ReceiverReport, VoicePacket
from terminal.voice.stream import VoiceReceiver, VoiceSender, VoiceSession, redundancy_depth
from tests.voice.channel import read_speech, speech_through

FRAME = 1920


@pytest.fixture
def sender():
    sender = VoiceSender(initial_seq=65534, initial_timestamp=2**32 - 960)
    yield sender
    sender.close()


@pytest.fixture
def receiver():
    receiver = VoiceReceiver()
    yield receiver
    receiver.close()


def report(loss):
    return bytes(ReceiverReport.from_measurement(loss, 0))


def test_sender_numbers_frames_with_wraparound(sender):
    packets = [VoicePacket.parse(sender.encode(bytes(FRAME))) for _ in range(3)]
    assert [(p.seq, p.timestamp) for p in packets] == [(65534, 2**32 - 960), (65535, 0), (0, 960)]
    assert all(p.redundant == () for p in packets)
    assert sender.stats["frames_sent"] == 3


@pytest.mark.parametrize("loss, depth", [
    (0.0, 0), (0.002, 0), (0.003, 1), (0.039, 1), (0.04, 2), (0.149, 2), (0.15, 3), (0.5, 3),
])
def test_redundancy_depth_follows_loss(loss, depth):
    assert redundancy_depth(loss, max_depth=3) == depth
    assert redundancy_depth(loss, max_depth=1) == min(depth, 1)


def test_measured_loss_turns_on_redundancy_and_sizes_fec_for_the_rest(sender):
    primaries = [VoicePacket.parse(sender.encode(bytes(FRAME))).primary for _ in range(3)]
    sender.on_report(report(0.10))
    packet = VoicePacket.parse(sender.encode(bytes(FRAME)))
    assert sender.depth == 2
    assert packet.redundant == ((2, primaries[1]), (1, primaries[2]))
    assert sender.stats["loss_hint_percent"] == 0          # 10 % ^ 3 left for FEC
    assert (sender.stats["peer_loss_percent"], sender.stats["peer_jitter_ms"]) == (9.8, 0)


def test_without_redundancy_the_opus_loss_hint_is_the_measured_loss():
    sender = VoiceSender(max_redundancy=0)
    sender.on_report(report(0.10))
    assert (sender.depth, sender.stats["loss_hint_percent"]) == (0, 10)


def test_redundancy_steps_down_slowly_once_loss_stops(sender):
    sender.on_report(report(0.10))
    depths = []
    for _ in range(30):
        sender.on_report(report(0.0))
        depths.append(sender.depth)
    assert depths[:5] == [2] * 5
    assert depths == sorted(depths, reverse=True) and depths[-1] == 0


@pytest.mark.parametrize("depth", [-1, 9])
def test_redundancy_depth_is_bounded(depth):
    with pytest.raises(CodecError, match=f"^redundancy depth must be 0..8, not {depth}$"):
        VoiceSender(max_redundancy=depth)


def test_malformed_report_is_counted_and_changes_nothing(sender):
    sender.on_report(b"\x02\x10")
    assert (sender.depth, sender.stats["reports_malformed"], sender.stats["reports"]) == (0, 1, 0)


def test_receiver_plays_silence_until_voice_arrives(receiver):
    assert receiver.pull(0.0) == bytes(FRAME)
    assert receiver.report(10.0) is None


def test_receiver_counts_and_drops_malformed_payloads(receiver):
    for data in (b"", b"\x01\x00", b"\x02\x00\x00\x00", b"\x01" + bytes(7)):
        receiver.on_payload(data, 0.0)
    assert receiver.stats["malformed"] == 4
    assert receiver.stats["frames_received"] == 0


def test_undecodable_opus_is_concealed_and_counted(receiver):
    receiver.on_payload(bytes(VoicePacket(1, 0, b"\xff\xff\xff")), 0.0)
    assert len(receiver.pull(0.005)) == FRAME
    assert receiver.stats["decode_errors"] == 1


def test_receiver_reports_measured_loss(sender, receiver):
    for i in range(50):
        payload = sender.encode(bytes(FRAME))
        if i % 10 != 3:
            receiver.on_payload(payload, i * 0.02)
        receiver.pull(i * 0.02 + 0.005)
    parsed = ReceiverReport.parse(receiver.report(1.0))
    assert parsed.loss == pytest.approx(0.1, abs=0.01)
    assert receiver.report(1.1) is None                         # not due yet


def test_loss_after_a_clean_report_is_reported_at_once(sender, receiver):
    sent = [sender.encode(bytes(FRAME)) for _ in range(60)]
    reports = {}
    for i, payload in enumerate(sent):
        now = i * 0.02
        if i != 40:                                           # one loss, after a clean report
            receiver.on_payload(payload, now)
        receiver.pull(now + 0.005)
        data = receiver.report(now + 0.005)
        if data is not None:
            reports[i] = ReceiverReport.parse(data).fraction_lost
    assert list(reports) == [25, 41]                          # the second 0.1 s after the first
    assert reports[25] == 0 and reports[41] > 0


def test_session_routes_voice_and_reports():
    a, b = VoiceSession(), VoiceSession()
    b.on_payload(a.encode(bytes(FRAME)), 0.0)
    assert b.stats["frames_received"] == 1
    a.on_payload(report(0.2), 0.0)
    assert a.stats["redundancy_depth"] == 3 and a.stats["reports"] == 1
    a.on_payload(b"\x09", 0.0)
    a.on_payload(b"", 0.0)
    assert a.stats["unknown_messages"] == 2
    a.close(), b.close()


def blockwise_correlation(reference, played, block=12000, search=4800):
    """Mean over the voiced 250 ms blocks of the source of the best normalised correlation
    with the output near the overall lag (jitter-buffer stretches shift it by whole frames)."""
    ref = np.frombuffer(reference, dtype="<i2").astype(float)
    out = np.frombuffer(played, dtype="<i2").astype(float)
    lag = int(np.argmax(correlate(out, ref, method="fft"))) - (len(ref) - 1)
    scores = []
    for start in range(0, len(ref) - block + 1, block):
        piece = ref[start:start + block]
        low = max(0, start + lag - search)
        window = out[low:start + lag + search + block]
        if piece @ piece < block * 100**2 or len(window) < block:
            continue
        dots = correlate(window, piece, mode="valid", method="fft")
        cumulative = np.concatenate(([0.0], np.cumsum(window**2)))
        energy = cumulative[block:] - cumulative[:-block]
        scores.append(float(np.max(dots / np.sqrt(np.maximum(energy, 1.0) * (piece @ piece)))))
    return float(np.mean(scores))


@pytest.fixture(scope="module")
def speech():
    return read_speech("speech_b.wav")


def test_speech_survives_ten_percent_loss(speech):
    protected = speech_through(speech, loss=0.10, seed=7)
    bare = speech_through(speech, loss=0.10, seed=7, fec=False, max_redundancy=0)
    score = blockwise_correlation(speech, protected.pcm)
    assert score > 0.9
    assert blockwise_correlation(speech, bare.pcm) < score - 0.03
    assert protected.receiver["frames_redundancy_recovered"] > 20


@pytest.mark.parametrize("frame_ms", [10, 40])
def test_other_frame_lengths_carry_speech_through_loss(speech, frame_ms):
    result = speech_through(speech, loss=0.10, seed=2, frame_ms=frame_ms, tick_phase=0.003)
    assert blockwise_correlation(speech, result.pcm) > 0.9
    assert result.receiver["frames_redundancy_recovered"] > 0
