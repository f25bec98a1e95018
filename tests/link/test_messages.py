"""Wire messages: round trips, every truncation, and a parser that only raises its ValueError."""

import pytest
from hypothesis import given, settings, strategies as st

from terminal.link.messages import (
    INITIATION_LEN, RESPONSE_LEN, TRANSPORT_MIN_LEN, Initiation, MalformedPacket, Response, Transport, parse_packet,
)
from terminal.link import inner
from terminal.link.constants import CHANNEL_VOICE

SAMPLES = [
    Initiation(0x01020304, bytes(range(108)), b"i" * 8, b"m" * 16, b"n" * 16),
    Response(7, 9, bytes(range(48)), b"m" * 16, bytes(16)),
    Transport(0xDEADBEEF, 2**40 + 3, b"c" * 40),
]


@pytest.mark.parametrize("message", SAMPLES, ids=lambda m: type(m).__name__)
def test_round_trip(message):
    assert parse_packet(bytes(message)) == message


@pytest.mark.parametrize("message", SAMPLES, ids=lambda m: type(m).__name__)
def test_every_truncation_is_refused_with_a_specific_error(message):
    data = bytes(message)
    minimum = {Initiation: INITIATION_LEN, Response: RESPONSE_LEN, Transport: TRANSPORT_MIN_LEN}[type(message)]
    for n in range(len(data)):
        if n >= minimum:
            continue
        with pytest.raises(MalformedPacket) as err:
            parse_packet(data[:n])
        assert ("empty datagram" if n == 0 else "bytes") in str(err.value)


def test_unknown_type_and_reserved_bytes():
    with pytest.raises(MalformedPacket, match="unknown message type 9"):
        parse_packet(b"\x09" + bytes(40))
    bad = bytearray(bytes(SAMPLES[2]))
    bad[2] = 1
    with pytest.raises(MalformedPacket, match="reserved bytes are not zero"):
        parse_packet(bytes(bad))


def test_inner_frame_errors():
    assert inner.decode(inner.encode(CHANNEL_VOICE, b"opus")) == (CHANNEL_VOICE, b"opus")
    with pytest.raises(MalformedPacket, match="version 9"):
        inner.decode(b"\x09\x02")
    with pytest.raises(MalformedPacket, match="unknown channel 77"):
        inner.decode(b"\x01\x4d")
    with pytest.raises(ValueError, match="unknown channel 0"):
        inner.encode(0, b"")


@settings(max_examples=500)
@given(st.binary(max_size=300))
def test_parser_raises_only_its_value_error(data):
    try:
        parse_packet(data)
    except MalformedPacket:
        pass


@settings(max_examples=300)
@given(st.binary(max_size=200).flatmap(lambda b: st.sampled_from([b, b"\x01\x00\x00\x00" + b, b"\x04\x00\x00\x00" + b])))
def test_session_drops_arbitrary_bytes_silently(data):
    from .conftest import make_keys, make_pair
    a, b, net = make_pair(make_keys(), make_keys())
    b.receive_datagram(data, ("203.0.113.1", 1), 0.0)
    assert b.datagrams_to_send(0.0) == []
    assert b.next_event() is None
    assert b.rejected == 1
