import pytest
from hypothesis import given
from hypothesis import strategies as st

from terminal.provisioning.errors import MessageError, UnknownCommand, VersionError
from terminal.provisioning.messages import Request, Response
from terminal.provisioning.status import WORDS, Command, Status, describe

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)


@given(st.integers(0, 0xFFFF), st.sampled_from(Command), st.dictionaries(st.text(max_size=8), json_values, max_size=4))
def test_request_round_trip(request_id, command, args):
    request = Request(request_id, command, args)
    assert Request.parse(bytes(request)) == request


@given(st.integers(0, 0xFFFF), st.integers(0, 255), st.dictionaries(st.text(max_size=8), json_values, max_size=4))
def test_response_round_trip(request_id, status, result):
    response = Response(request_id, status, result)
    assert Response.parse(bytes(response)) == response
    assert response.final == (status != Status.PROGRESS)


def test_every_truncation_of_the_header_is_refused_with_its_length():
    data = bytes(Request(7, Command.HELLO))
    for length in range(5):
        with pytest.raises(MessageError, match=f"request is {length} bytes; shorter than the 5-byte header"):
            Request.parse(data[:length])


def test_wrong_version_keeps_the_request_id_for_the_answer():
    data = bytearray(bytes(Request(513, Command.HELLO)))
    data[0] = 9
    with pytest.raises(VersionError, match="protocol version 9; this side speaks version 2") as info:
        Request.parse(bytes(data))
    assert info.value.request_id == 513
    assert info.value.status == Status.BAD_VERSION


@pytest.mark.parametrize(
    "data, error, message",
    [
        (b"\x02\x01\x00\x05\xee{}", UnknownCommand, "unknown command 238"),
        (b"\x02\x02\x00\x05\x01{}", MessageError, r"expected a request \(kind 1\), got kind 2"),
        (b"\x02\x01\x00\x05\x01[1]", MessageError, "body must be a JSON object, got list"),
        (b"\x02\x01\x00\x05\x01{", MessageError, "body is not UTF-8 JSON"),
        (b"\x02\x01\x00\x05\x01\xff", MessageError, "body is not UTF-8 JSON"),
    ],
)
def test_request_errors_are_specific(data, error, message):
    with pytest.raises(error, match=message) as info:
        Request.parse(data)
    assert info.value.request_id == 5


def test_every_status_has_words_and_unknown_codes_are_described():
    assert set(WORDS) == set(Status)
    assert "press the provisioning button" in describe(Status.NEEDS_PRESENCE)
    assert describe(200) == "unknown status 200 (firmware newer than hotline-host?)"
