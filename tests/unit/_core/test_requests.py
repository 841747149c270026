"""The request/reply/confirm rules shared by the server, the fake server and SharedSocket."""

import json

import pytest

from pytabby._core.requests import (
    MAX_DELAY,
    Answer,
    Awaiting,
    Reply,
    Request,
    answer,
    confirm_id_of,
    confirmation,
    parse_confirmation,
    parse_reply,
    parse_request,
)
from pytabby._core.safe_json import MAX_JSON_DEPTH

DEEP = '{"request_id": "x", "d": ' + "[" * 7000 + "]" * 7000 + "}"


def test_parse_request_reads_id_op_data_and_seconds():
    text = json.dumps({"request_id": "t-1", "op": "delay", "data": [1], "seconds": 2})
    assert parse_request(text) == Request("t-1", "delay", [1], 2)


@pytest.mark.parametrize("data", [
    b'{"request_id": "t-1", "op": "echo"}',  # binary frames are never requests
    '{"request_id": 1, "op": "echo"}',
    '["request_id"]',
    '{"request_id": ',
    "plain text",
    DEEP,
])
def test_anything_else_is_not_a_request(data):
    assert parse_request(data) is None


def test_echo_answers_at_once_with_the_data():
    assert answer(Request("t-1", "echo", {"x": 1})) == Answer('{"request_id": "t-1", "result": {"x": 1}}')


def test_delay_answers_after_its_seconds():
    assert answer(Request("t-1", "delay", "d", 1.5)) == Answer('{"request_id": "t-1", "result": "d"}', 1.5)
    assert answer(Request("t-1", "delay", None, MAX_DELAY)).delay == MAX_DELAY


@pytest.mark.parametrize("seconds", [None, "1", True, -1, MAX_DELAY + 0.001, 1e308, float("nan"), float("inf")])
def test_delay_with_bad_seconds_is_an_immediate_error(seconds):
    reply = answer(Request("t-1", "delay", None, seconds))
    assert reply.delay == 0.0
    parsed = parse_reply(reply.text)
    assert parsed is not None and parsed.is_error and "seconds" in parsed.error


def test_ignore_is_never_answered():
    assert answer(Request("t-1", "ignore")) == Answer(None)


def test_an_unknown_op_is_an_error_naming_the_known_ones():
    reply = parse_reply(answer(Request("t-1", "nope")).text)
    assert reply == Reply("t-1", None, "unknown op 'nope' (known: echo, delay, ignore)", True)


def test_parse_reply_result_and_error():
    assert parse_reply('{"request_id": "a", "result": null}') == Reply("a", None, None, False)
    assert parse_reply('{"request_id": "a", "error": "bad"}') == Reply("a", None, "bad", True)


@pytest.mark.parametrize("data", [
    '{"request_id": "a"}', '{"request_id": 3, "result": 1}', '{"request_id": ', b'{"request_id": "a", "result": 1}',
    DEEP, '{"note": {"request_id": "x"}, "d": ' + "[" * 7000 + "]" * 7000 + "}",
])
def test_parse_reply_refuses_non_replies_and_deep_frames_without_parsing(data):
    assert parse_reply(data) is None


def test_a_frame_at_the_depth_bound_is_still_parsed():
    nested = "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1)
    assert parse_reply('{"request_id": "a", "result": ' + nested + "}") is not None


def test_confirm_ids_and_confirmations_round_trip():
    frame = json.dumps({"confirm_id": "t-c1", "text": "hi"})
    assert confirm_id_of(frame) == "t-c1"
    assert json.loads(confirmation("t-c1")) == {"confirmed": "t-c1"}
    assert parse_confirmation(confirmation("t-c1")) == "t-c1"


@pytest.mark.parametrize("data", ['{"confirm_id": 1}', "confirm_id", b'{"confirm_id": "a"}', '{"confirm_id": "x", "d":'
                                  + "[" * 100 + "]" * 100 + "}"])
def test_confirm_id_of_refuses_what_is_not_a_confirmed_send(data):
    assert confirm_id_of(data) is None


@pytest.mark.parametrize("data", ['{"confirmed": 1}', '{"confirmed": "a", "more": 1}', "confirmed", '["confirmed"]'])
def test_parse_confirmation_refuses_lookalikes(data):
    assert parse_confirmation(data) is None


def test_awaiting_ids_are_per_tab_and_never_reused():
    waiting = Awaiting("tab-7")
    assert [waiting.new_request_id(), waiting.new_confirm_id(), waiting.new_request_id()] == [
        "tab-7-1", "tab-7-c2", "tab-7-3"]


def test_resend_rule_only_texts_written_on_another_connection_oldest_first():
    waiting = Awaiting("t")
    for answer_id in ("a", "b", "c", "d"):
        waiting.add(answer_id, f"text-{answer_id}")
    waiting.written("a", 1)
    waiting.written("b", 1)
    waiting.written("c", 2)  # d stays queued: the outbox still carries it
    assert waiting.forget("b") and not waiting.forget("b")
    assert waiting.resend_on(2) == [("a", "text-a")]
    assert waiting.resend_on(2) == []  # queued again, not yet written: not twice
    waiting.written("a", 2)
    assert waiting.resend_on(3) == [("a", "text-a"), ("c", "text-c")]
    assert len(waiting) == 3 and "d" in waiting and "b" not in waiting
