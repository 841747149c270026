"""The fakes follow the core's rules: one payload rule, and the server's request/confirm rules."""

import json

import pytest

from pytabby._core.envelope import MAX_DEPTH
from pytabby._core.requests import MAX_DELAY
from pytabby.testing import structured_clone


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


class Recorder:
    def __init__(self) -> None:
        self.frames: list = []

    def on_open(self) -> None:
        self.frames.append("open")

    def on_message(self, data) -> None:
        self.frames.append(data)

    def on_close(self, code, reason, was_clean) -> None:
        self.frames.append(("closed", code))


def test_structured_clone_copies_what_may_cross_tabs():
    original = {"a": [1, (2, 3)], "b": bytearray(b"x"), "c": None}
    clone = structured_clone(original)
    assert clone == {"a": [1, [2, 3]], "b": b"x", "c": None}
    assert clone["a"] is not original["a"]


@pytest.mark.parametrize("value", [
    {1: "non-str key"},  # the old fake cloned this; the core refuses it
    {"s": {1, 2}},
    object(),
    nested(MAX_DEPTH + 1),
])
def test_structured_clone_refuses_exactly_what_the_core_refuses(value):
    with pytest.raises(TypeError, match="DataCloneError"):
        structured_clone(value)


def test_structured_clone_refuses_a_cycle():
    loop: list = []
    loop.append(loop)
    with pytest.raises(TypeError, match="contains itself"):
        structured_clone(loop)


async def connected(browser, count=1):
    recorders = [Recorder() for _ in range(count)]
    sockets = [browser.open_tab().connect("ws://fake/ws", None, r) for r in recorders]
    await browser.settle()
    return sockets, [r.frames for r in recorders]


async def test_the_fake_server_answers_echo_and_errors_on_its_connection_only(browser):
    (asker, other), (mine, theirs) = await connected(browser, 2)
    asker.send(json.dumps({"request_id": "r1", "op": "echo", "data": [1]}))
    asker.send(json.dumps({"request_id": "r2", "op": "nope"}))
    asker.send(json.dumps({"request_id": "r3", "op": "ignore"}))
    await browser.settle()
    assert [json.loads(f) for f in mine[1:]] == [
        {"request_id": "r1", "result": [1]},
        {"request_id": "r2", "error": "unknown op 'nope' (known: echo, delay, ignore)"}]
    assert theirs == ["open"]


async def test_the_fake_server_delays_on_the_browsers_clock_and_validates_seconds(browser):
    (asker,), (mine,) = await connected(browser)
    asker.send(json.dumps({"request_id": "r1", "op": "delay", "seconds": 2, "data": "late"}))
    asker.send(json.dumps({"request_id": "r2", "op": "delay", "seconds": MAX_DELAY * 10}))
    await browser.settle()
    assert "error" in json.loads(mine[1]) and len(mine) == 2
    await browser.advance(2.05)
    assert json.loads(mine[2]) == {"request_id": "r1", "result": "late"}


async def test_the_fake_server_relays_a_confirmed_send_and_confirms_it_to_the_sender(browser):
    (sender, other), (mine, theirs) = await connected(browser, 2)
    frame = json.dumps({"confirm_id": "t-c1", "text": "hi"})
    sender.send(frame)
    await browser.settle()
    assert mine == ["open", frame, '{"confirmed": "t-c1"}']
    assert theirs == ["open", frame]
