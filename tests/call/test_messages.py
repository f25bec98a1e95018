"""Control messages: round trips, every truncation, and the exact errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from terminal.call.messages import LENGTH, ControlMessage, Kind, MalformedControl, Reason

IDS = st.integers(0, 2**64 - 1)
VALID = st.one_of(
    st.builds(ControlMessage, st.sampled_from([Kind.RING, Kind.RINGING]), IDS),
    st.builds(ControlMessage, st.just(Kind.ANSWER), IDS, st.just(0), IDS),
    st.builds(ControlMessage, st.just(Kind.HANGUP), IDS, st.sampled_from(list(Reason))),
    st.builds(ControlMessage, st.just(Kind.ACK), IDS,
              st.sampled_from([Kind.RING, Kind.RINGING, Kind.ANSWER, Kind.HANGUP])),
)
NO_REF = bytes(8)


@given(VALID)
def test_round_trip(message):
    data = bytes(message)
    assert len(data) == LENGTH == 19
    assert ControlMessage.parse(data) == message


@given(VALID)
def test_every_truncation_is_refused(message):
    data = bytes(message)
    for n in range(LENGTH):
        with pytest.raises(MalformedControl, match=f"control message is {n} bytes; expected 19"):
            ControlMessage.parse(data[:n])


@given(st.binary(max_size=40))
def test_arbitrary_bytes_parse_or_raise_value_error(data):
    try:
        ControlMessage.parse(data)
    except ValueError:
        pass


@pytest.mark.parametrize("data, error", [
    (bytes([2, 1]) + bytes(9) + NO_REF, "control message version 2 is not supported; expected 1"),
    (bytes([1, 9]) + bytes(9) + NO_REF, "unknown control message kind 9"),
    (bytes([1, 0]) + bytes(9) + NO_REF, "unknown control message kind 0"),
    (bytes([1, 5]) + bytes(8) + b"\x05" + NO_REF, "ACK names kind 5, which is not an acknowledgeable kind"),
    (bytes([1, 4]) + bytes(8) + b"\x07" + NO_REF, "unknown HANGUP reason 7"),
    (bytes([1, 1]) + bytes(8) + b"\x03" + NO_REF, "RING carries argument 3; expected 0"),
    (bytes([1, 1]) + bytes(9) + bytes(7) + b"\x01", "RING carries a reference call id; only ANSWER may"),
    (bytes(20), "control message is 20 bytes; expected 19"),
])
def test_specific_errors(data, error):
    with pytest.raises(MalformedControl) as info:
        ControlMessage.parse(data)
    assert str(info.value) == error
    assert isinstance(info.value, ValueError)


def test_known_bytes():
    assert bytes(ControlMessage(Kind.HANGUP, 0x0102030405060708, Reason.NO_ANSWER)) == bytes.fromhex(
        "01" "04" "0102030405060708" "01" "0000000000000000")
    assert bytes(ControlMessage(Kind.ANSWER, 5, 0, 0x1122334455667788))[-8:] == bytes.fromhex("1122334455667788")
    assert ControlMessage(Kind.RING, 5).ack() == ControlMessage(Kind.ACK, 5, Kind.RING)


def test_ids_must_fit():
    with pytest.raises(ValueError, match="call_id 18446744073709551616 does not fit in 64 bits"):
        ControlMessage(Kind.RING, 2**64)
    with pytest.raises(ValueError, match="ref -1 does not fit in 64 bits"):
        ControlMessage(Kind.ANSWER, 1, 0, -1)
