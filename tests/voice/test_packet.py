import re

import pytest
from hypothesis import given, strategies as st

from terminal.errors import HotlineError
from terminal.voice.packet import (MalformedVoicePacket, ReceiverReport, VoicePacket,
                                   parse_message)

# Captured: seq 0x1234, timestamp 0x01020304, copies of the frames 2 and 1 before, primary b"PRI".
CAPTURED = bytes.fromhex("01 1234 01020304 02 02 0002 01 0003") + b"r2" + b"r1x" + b"PRI"
CAPTURED_PACKET = VoicePacket(0x1234, 0x01020304, b"PRI", ((2, b"r2"), (1, b"r1x")))


def test_parse_captured():
    assert VoicePacket.parse(CAPTURED) == CAPTURED_PACKET
    assert bytes(CAPTURED_PACKET) == CAPTURED


def test_plain_packet_is_eight_bytes_of_header():
    data = bytes(VoicePacket(1, 2, b"\xfc\x01"))
    assert data == bytes.fromhex("01 0001 00000002 00 fc01")


def expected_truncation_error(length):
    if length < 8:
        return f"voice packet length {length} is less than 8 bytes"
    if length < 14:
        return "voice packet truncated in its 2 redundant block headers"
    if length < 16:
        return "voice packet truncated in redundant frame (offset 2, 2 bytes)"
    if length < 19:
        return "voice packet truncated in redundant frame (offset 1, 3 bytes)"
    return "voice packet has an empty primary frame"


@pytest.mark.parametrize("length", range(len(CAPTURED) - len(b"PRI") + 1))
def test_every_truncation_is_refused_with_its_reason(length):
    with pytest.raises(MalformedVoicePacket) as caught:
        VoicePacket.parse(CAPTURED[:length])
    assert str(caught.value) == expected_truncation_error(length)


@pytest.mark.parametrize("length", [20, 21])
def test_truncated_primary_frame_is_the_opus_decoders_to_judge(length):
    # The primary frame is "the rest", as an RTP payload is; Opus decides whether it decodes.
    assert VoicePacket.parse(CAPTURED[:length]).primary == b"PRI"[:length - 19]


@pytest.mark.parametrize("data, message", [
    (bytes.fromhex("02 0000 00000000 00") + b"x", "message type 2 is not a voice packet"),
    (bytes.fromhex("01 0000 00000000 02 01 0001 01 0001") + b"abc",
     "redundant frame offsets repeat: [1, 1]"),
    (bytes.fromhex("01 0000 00000000 01 00 0001") + b"ab",
     "redundant frame offset 0 is not 1..255"),
    (bytes.fromhex("01 0000 00000000 01 01 0000") + b"ab",
     "redundant frame of 0 bytes (offset 1) is not 1..65535 bytes"),
    (bytes.fromhex("01 0000 00000000 09") + bytes.fromhex("01 0001") * 9 + b"x" * 10,
     "voice packet carries 9 redundant frames, at most 8 allowed"),
])
def test_malformed_voice_packets(data, message):
    with pytest.raises(MalformedVoicePacket, match=f"^{re.escape(message)}$"):
        VoicePacket.parse(data)


def test_error_is_ours_and_a_value_error():
    assert issubclass(MalformedVoicePacket, HotlineError)
    assert issubclass(MalformedVoicePacket, ValueError)


def test_report_round_trip_and_quantisation():
    report = ReceiverReport.from_measurement(0.1, 12.6)
    assert report == ReceiverReport(25, 13)
    assert bytes(report) == bytes.fromhex("02 19 000d")
    assert ReceiverReport.parse(bytes(report)) == report
    assert report.loss == pytest.approx(25 / 256)
    assert ReceiverReport.from_measurement(1.0, 1e9) == ReceiverReport(255, 65535)


@pytest.mark.parametrize("data, message", [
    (b"\x02\x00\x00", "receiver report length 3 is not 4 bytes"),
    (b"\x02\x00\x00\x00\x00", "receiver report length 5 is not 4 bytes"),
    (b"\x01\x00\x00\x00", "message type 1 is not a receiver report"),
])
def test_malformed_reports(data, message):
    with pytest.raises(MalformedVoicePacket, match=f"^{re.escape(message)}$"):
        ReceiverReport.parse(data)


@pytest.mark.parametrize("data, message", [
    (b"", "empty voice-channel message"), (b"\x07abc", "unknown voice-channel message type 7"),
])
def test_parse_message_refuses_unknown(data, message):
    with pytest.raises(MalformedVoicePacket, match=f"^{re.escape(message)}$"):
        parse_message(data)


def test_parse_message_dispatches():
    assert parse_message(CAPTURED) == CAPTURED_PACKET
    assert parse_message(b"\x02\x05\x00\x07") == ReceiverReport(5, 7)


frames = st.binary(min_size=1, max_size=300)
packets = st.builds(
    VoicePacket, st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF), frames,
    st.lists(st.tuples(st.integers(1, 255), frames), max_size=8,
             unique_by=lambda block: block[0]).map(tuple))


@given(packets)
def test_voice_packet_round_trip(packet):
    assert VoicePacket.parse(bytes(packet)) == packet
    assert parse_message(bytes(packet)) == packet


@given(st.integers(0, 255), st.integers(0, 0xFFFF))
def test_report_round_trip(fraction_lost, jitter_ms):
    report = ReceiverReport(fraction_lost, jitter_ms)
    assert ReceiverReport.parse(bytes(report)) == report


@given(st.binary(max_size=64))
def test_parse_raises_only_its_value_error(data):
    try:
        message = parse_message(data)
    except MalformedVoicePacket:
        return
    assert bytes(message) == data
