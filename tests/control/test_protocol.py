import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from terminal.control.protocol import ControlError, Request, parse_request, parse_response, result_line

json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                           lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=10)


@given(st.text(min_size=1), st.dictionaries(st.text(), json_values), st.integers() | st.text() | st.none())
def test_requests_round_trip(method, params, id):
    assert parse_request(Request(method, params, id).to_line()) == Request(method, params, id)


@given(st.integers() | st.text(), json_values)
def test_results_round_trip(id, result):
    assert parse_response(result_line(id, result)) == (id, result)


@pytest.mark.parametrize("line, code, message", [
    (b"{not json", "parse_error", "request is not valid JSON"),
    (b"\xff\xfe", "parse_error", "not valid JSON"),
    (b"[1, 2]", "invalid_request", "must be a JSON object, not list"),
    (b'{"v": 2, "id": 1, "method": "x"}', "unsupported_version", "version 2; this daemon speaks 1"),
    (b'{"id": 1, "method": "x"}', "unsupported_version", "version None"),
    (b'{"v": 1, "id": 1}', "invalid_request", "no method name"),
    (b'{"v": 1, "id": 1, "method": "x", "params": [1]}', "invalid_request", "params must be a JSON object"),
    (b'{"v": 1, "id": [1], "method": "x"}', "invalid_request", "id must be a string, a number or null"),
])
def test_bad_requests_are_named(line, code, message):
    with pytest.raises(ControlError, match=message) as e:
        parse_request(line)
    assert e.value.code == code
    reply = json.loads(e.value.to_line())
    assert reply["error"] == {"code": code, "message": str(e.value)}


def test_an_error_response_raises_with_its_code():
    line = ControlError("not_found", "no received message with id 'abcdef'", 3).to_line()
    with pytest.raises(ControlError, match="no received message") as e:
        parse_response(line)
    assert (e.value.code, e.value.id) == ("not_found", 3)


@pytest.mark.parametrize("line, message", [
    (b'{"v": 9, "result": 1}', "daemon speaks version 9"),
    (b'{"v": 1, "id": 1}', "neither result nor error"),
])
def test_bad_responses_are_named(line, message):
    with pytest.raises(ControlError, match=message):
        parse_response(line)
