import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from terminal.text import wire
from terminal.text.constants import CHUNK_BYTES, MAX_FRAGMENTS
from terminal.text.precedence import Precedence

finite = st.floats(allow_nan=False, allow_infinity=False)
datas = st.builds(
    lambda stream, seq, count, index, p, mid, created, chunk: wire.Data(
        stream, seq, index % count, count, p, mid, created, chunk),
    st.binary(min_size=8, max_size=8), st.integers(1, 2**32 - 1), st.integers(1, MAX_FRAGMENTS),
    st.integers(0, 255), st.sampled_from(Precedence), st.binary(min_size=16, max_size=16), finite,
    st.binary(max_size=CHUNK_BYTES))
messages = st.one_of(
    datas,
    st.builds(wire.Ack, st.binary(min_size=8, max_size=8), st.integers(0, 2**32 - 1),
              st.integers(0, 2**MAX_FRAGMENTS - 1)),
    st.builds(wire.Read, st.binary(min_size=16, max_size=16), finite),
    st.builds(wire.ReadAck, st.binary(min_size=16, max_size=16)))


@given(messages)
def test_every_message_round_trips(message):
    assert wire.parse(bytes(message)) == message


@given(messages)
def test_truncation_at_every_length_is_refused_by_name(message):
    data = bytes(message)
    fixed = len(data) - len(message.chunk) if isinstance(message, wire.Data) else len(data)
    for cut in range(fixed):
        with pytest.raises(wire.MalformedText) as e:
            wire.parse(data[:cut])
        assert "empty" in str(e.value) if cut == 0 else "bytes; expected" in str(e.value)


@given(st.binary(max_size=80))
def test_arbitrary_bytes_parse_or_raise_malformed(data):
    try:
        wire.parse(data)
    except wire.MalformedText:
        pass


def _data(**change):
    fields = dict(stream=b"s" * 8, seq=1, index=0, count=1, precedence=Precedence.ROUTINE,
                  id=b"i" * 16, created=1.0, chunk=b"hi")
    fields.update(change)
    return bytes(wire.Data(**fields))


@pytest.mark.parametrize("data, message", [
    (_data(seq=0), "sequence number 0"),
    (_data(count=0), "claims 0 fragments"),
    (_data(count=MAX_FRAGMENTS + 1), f"claims {MAX_FRAGMENTS + 1} fragments"),
    (_data(index=2, count=2), "fragment 2 of 2 is out of range"),
    (_data(chunk=b"x" * (CHUNK_BYTES + 1)), f"chunk is {CHUNK_BYTES + 1} bytes"),
    (_data(created=math.inf), "creation time is not a finite number"),
    (_data()[:15] + bytes([9]) + _data()[16:], "precedence 9 is unknown"),
    (bytes([9]), "type 9 is unknown"),
    (bytes(wire.Ack(b"s" * 8, 1, 0))[:-2] + (1 << MAX_FRAGMENTS).to_bytes(2, "little"),
     "fragments beyond"),
    (bytes(wire.Read(b"i" * 16, 0.0))[:17] + b"\x00" * 6 + b"\xf8\x7f", "not a finite number"),
    (bytes(wire.ReadAck(b"i" * 16)) + b"x", "read-receipt ack is 18 bytes; expected 17"),
])
def test_bad_fields_are_named(data, message):
    with pytest.raises(wire.MalformedText, match=message):
        wire.parse(data)
