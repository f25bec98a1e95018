import struct
import zlib

import pytest
from cobs import cobs
from hypothesis import given
from hypothesis import strategies as st

from terminal.provisioning.constants import MAX_MESSAGE
from terminal.provisioning.errors import FrameError
from terminal.provisioning.framing import Decoder, decode_frame, encode_frame


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)])]


@given(st.lists(st.binary(max_size=300), max_size=5), st.lists(st.integers(0, 10_000), max_size=8))
def test_frames_survive_any_split(messages, cuts):
    stream = b"".join(encode_frame(m) for m in messages)
    decoder = Decoder()
    got = [item for chunk in split(stream, cuts) for item in decoder.feed(chunk)]
    assert got == messages


@given(st.lists(st.binary(max_size=600), max_size=6))
def test_decoder_returns_only_messages_or_frame_errors(chunks):
    decoder = Decoder(max_message=256)
    for chunk in chunks:
        for item in decoder.feed(chunk):
            assert isinstance(item, (bytes, FrameError))


def test_empty_frames_are_ignored():
    assert Decoder().feed(b"\x00\x00" + encode_frame(b"hi") + b"\x00") == [b"hi"]


def test_a_corrupted_byte_is_reported_and_the_next_frame_still_reads():
    bad = bytearray(encode_frame(b"hello world"))
    bad[5] ^= 0x01
    decoder = Decoder()
    first, second = decoder.feed(bytes(bad) + encode_frame(b"next"))
    assert isinstance(first, FrameError) and "CRC-32 mismatch" in str(first)
    assert second == b"next"
    assert decoder.dropped == 1


def test_oversize_frame_is_discarded_once_and_stream_resyncs():
    decoder = Decoder(max_message=64)
    items = decoder.feed(b"\x01" * 500) + decoder.feed(b"\x01" * 500 + b"\x00" + encode_frame(b"ok"))
    assert len(items) == 2
    assert isinstance(items[0], FrameError) and "longer than the maximum of 64 bytes" in str(items[0])
    assert items[1] == b"ok"


def test_encode_refuses_a_message_over_the_maximum():
    with pytest.raises(FrameError, match=f"the maximum is {MAX_MESSAGE}"):
        encode_frame(bytes(MAX_MESSAGE + 1))


def _raw(body: bytes) -> bytes:
    return cobs.encode(body + struct.pack(">I", zlib.crc32(body)))


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"\x05ab", "not valid COBS"),
        (cobs.encode(b"\x00\x01ab"), "shorter than the 6-byte length and CRC"),
        (_raw(b"\x00\x09abc"), "length field says 9 bytes but the frame carries 3"),
        (cobs.encode(b"\x00\x03abc\x00\x00\x00\x00"), "CRC-32 mismatch"),
    ],
)
def test_decode_errors_are_specific(raw, message):
    with pytest.raises(FrameError, match=message):
        decode_frame(raw)


def test_every_truncation_of_a_frame_is_refused():
    frame = encode_frame(b"a request body")[:-1]
    for length in range(1, len(frame)):
        with pytest.raises(FrameError):
            decode_frame(frame[:length])


def test_an_unfinished_frame_can_be_discarded():
    decoder = Decoder()
    frame = encode_frame(b"second")
    assert decoder.feed(frame[:4]) == []
    assert decoder.pending == 4
    decoder.discard()
    assert (decoder.pending, decoder.dropped) == (0, 1)
    assert decoder.feed(frame) == [b"second"]
    decoder.discard()  # nothing pending: nothing counted
    assert decoder.dropped == 1
