"""The socket's messages between tabs are decoded once, and only when every field is in range."""

import pytest

from pytabby._core.link_io import AckMsg, FrameMsg, Heartbeat, HelloMsg, SendMsg, StateMsg, decode
from pytabby._core.requests import answer, parse_request


@pytest.mark.parametrize(("type_", "payload", "decoded"), [
    ("frame", {"term": 2, "seq": 3, "data": "x"}, FrameMsg("s", 2, 3, "x")),
    ("send", {"id": 1, "first": 1, "data": b"b"}, SendMsg("s", 1, 1, b"b")),
    ("ack", {"origin": "t", "id": 4}, AckMsg("s", "t", 4)),
    ("state", {"state": "open", "term": 1, "connection": 2, "seq": 0}, StateMsg("s", "open", 1, 2, 0)),
    ("hello", None, HelloMsg("s")),
])
def test_decode_builds_each_message_once(type_, payload, decoded):
    assert decode(type_, payload, "s") == decoded


@pytest.mark.parametrize(("type_", "payload"), [
    ("frame", {"term": 1.0, "seq": 1, "data": "x"}),
    ("frame", {"term": True, "seq": 1, "data": "x"}),
    ("frame", {"term": 1, "seq": 1, "data": 5}),
    ("frame", {"term": 10**15 * 10**3, "seq": 1, "data": "x"}),
    ("frame", {"term": -1, "seq": 1, "data": "x"}),
    ("send", {"id": 1, "data": "x"}),
    ("ack", {"origin": 1, "id": 1}),
    ("state", {"state": "bogus", "term": 1, "connection": 1, "seq": 0}),
    ("state", {"state": "open", "term": 1}),
    ("frame", ["term", 1]),
    ("other", {}),
])
def test_decode_refuses_missing_or_out_of_range_fields(type_, payload):
    assert decode(type_, payload, "s") is None


def test_the_default_heartbeat_pings_with_an_echo_request_and_knows_its_answer():
    heartbeat = Heartbeat()
    reply = answer(parse_request(heartbeat.ping(3)))
    assert heartbeat.is_pong(reply.text)
    assert not heartbeat.is_pong('{"request_id": "tab-1-1", "result": null}')
    assert not heartbeat.is_pong(heartbeat.ping(3))  # the ping itself, relayed by a plain server, is no answer


@pytest.mark.parametrize(("interval", "timeout"), [(0, 1), (2, 2), (3, 1)])
def test_a_heartbeat_needs_an_interval_below_its_timeout(interval, timeout):
    with pytest.raises(ValueError):
        Heartbeat(interval, timeout)
