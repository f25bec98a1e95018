"""The test/echo channel core."""

import pytest

from terminal.link.echo import Echo
from terminal.link.messages import MalformedPacket


def test_request_reply_round_trip_measures_rtt():
    a, b = Echo(), Echo()
    echo_id, request = a.request(b"hourly test", 10.0)
    reply = b.on_payload(request, 10.1)
    assert a.on_payload(reply, 10.25) is None
    (result,) = a.results
    assert (result.id, result.payload, round(result.rtt, 6)) == (echo_id, b"hourly test", 0.25)
    assert (a.sent, b.answered) == (1, 1)


@pytest.mark.parametrize("data, message", [
    (b"\x02\x00", "expected at least 5"),
    (b"\x07\x01\x00\x00\x00", "kind 7"),
    (b"\x02\x63\x00\x00\x00", "answers no request of ours"),
])
def test_bad_echo_messages(data, message):
    with pytest.raises(MalformedPacket, match=message):
        Echo().on_payload(data, 0.0)


def test_a_reply_is_accepted_once():
    a, b = Echo(), Echo()
    _, request = a.request(b"", 0.0)
    reply = b.on_payload(request, 0.0)
    a.on_payload(reply, 0.1)
    with pytest.raises(MalformedPacket):
        a.on_payload(reply, 0.2)
