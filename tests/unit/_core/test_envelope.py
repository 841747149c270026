import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytabby import MalformedEnvelopeError, Message
from pytabby._core.envelope import PROTOCOL_VERSION, check_payload, decode, encode
from pytabby.testing import structured_clone

payloads = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text() | st.binary(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


@given(payloads)
def test_any_allowed_payload_round_trips_through_a_structured_clone(payload):
    wire = encode("t", payload, tab_id="tab-1", ts=5.0, seq=3)
    message = decode(structured_clone(wire))
    assert message == Message("t", payload, "tab-1", 5.0)
    assert message.seq == 3


def test_wire_shape_is_purrtabbys_plus_version_seq_and_plain_when_json_carries_the_payload_exactly():
    assert encode("click", {"x": 1}, tab_id="a", ts=1.0, seq=0) == {
        "type": "click", "payload": {"x": 1}, "tabId": "a", "ts": 1.0, "v": PROTOCOL_VERSION, "seq": 0,
        "plain": True,
    }
    for inexact in (b"x", 2**53 + 1, float("nan"), [1, {"b": bytearray(1)}]):
        assert "plain" not in encode("t", inexact, tab_id="a", ts=1.0, seq=0)


def test_json_text_of_a_wire_object_decodes_to_the_same_message():
    from pytabby._core.envelope import JsonText, decode_all

    wire = encode("t", {"n": [1, None, "x"]}, tab_id="a", ts=2.0, seq=4)
    assert decode_all(JsonText(json.dumps(wire))) == [Message("t", {"n": [1, None, "x"]}, "a", 2.0)]
    [error] = decode_all(JsonText("[" * 100 + "]" * 100))
    assert isinstance(error, MalformedEnvelopeError) and "deeper than" in error.reason


def test_json_text_takes_payloads_exactly_as_deep_as_a_sender_may_send():
    from pytabby._core.envelope import MAX_DEPTH, JsonText, decode_all

    deepest: object = 1
    for _ in range(MAX_DEPTH):
        deepest = [deepest]
    wire = encode("t", deepest, tab_id="a", ts=1.0, seq=0)
    assert decode_all(JsonText(json.dumps(wire)))[0].payload == deepest
    [error] = decode_all(JsonText(json.dumps({**wire, "payload": [deepest]})))
    assert isinstance(error, MalformedEnvelopeError)


def test_tuples_travel_as_lists():
    assert decode(structured_clone(encode("t", (1, (2,)), tab_id="a", ts=1, seq=0))).payload == [1, [2]]


def test_a_purrtabby_message_without_version_or_seq_is_accepted():
    message = decode({"type": "chat", "payload": "hi", "tabId": "js-tab", "ts": 1700000000000})
    assert (message.type, message.payload, message.tab_id, message.seq) == ("chat", "hi", "js-tab", None)


def test_missing_payload_means_none():
    assert decode({"type": "ping", "tabId": "x", "ts": 1}).payload is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("just a string", "expected an object"),
        (None, "expected an object, got null"),
        ({"payload": 1, "tabId": "a", "ts": 1}, "'type'"),
        ({"type": "", "tabId": "a", "ts": 1}, "'type'"),
        ({"type": "t", "ts": 1}, "'tabId'"),
        ({"type": "t", "tabId": "a", "ts": "yesterday"}, "'ts'"),
        ({"type": "t", "tabId": "a", "ts": math.inf}, "'ts'"),
        ({"type": "t", "tabId": "a", "ts": True}, "'ts'"),
        ({"type": "t", "tabId": "a", "ts": 1, "seq": "x"}, "'seq'"),
        ({"type": "t", "tabId": "a", "ts": 1, "v": 99}, "version 99"),
        ({"type": "t", "tabId": "a", "ts": 1, "payload": {1: 2}}, "dict keys must be str"),
        ({"type": "t", "tabId": "a", "ts": 1, "payload": object()}, "cannot be sent"),
    ],
)
def test_malformed_envelopes_are_rejected_with_the_reason(raw, reason):
    with pytest.raises(MalformedEnvelopeError, match=reason) as info:
        decode(raw)
    assert info.value.raw is raw


@pytest.mark.parametrize(
    ("payload", "where"),
    [
        ({1, 2}, "payload: set"),
        ({"a": [1, object()]}, r"payload\['a'\]\[1\]: object"),
        ({("t",): 1}, "dict keys must be str"),
        (lambda: 0, "function"),
    ],
)
def test_unsendable_payloads_raise_type_error_naming_the_part(payload, where):
    with pytest.raises(TypeError, match=where):
        check_payload(payload)


def test_a_cyclic_payload_is_refused():
    cycle: list = []
    cycle.append(cycle)
    with pytest.raises(TypeError, match="contains itself"):
        check_payload(cycle)


def test_a_cycle_deep_inside_is_named_with_its_path_not_taken_for_depth():
    cycle: list = []
    cycle.append(cycle)
    with pytest.raises(TypeError) as info:
        check_payload({"a": [1, cycle]})
    assert str(info.value) == "payload['a'][1][0]: contains itself (a cycle cannot be sent)"


def test_a_payload_may_nest_max_depth_containers_and_no_more():
    from pytabby._core.envelope import MAX_DEPTH

    def nested(levels):
        value = None
        for _ in range(levels):
            value = [value]
        return value

    assert check_payload(nested(MAX_DEPTH)) is True
    with pytest.raises(TypeError) as info:
        check_payload(nested(MAX_DEPTH + 1))
    assert str(info.value) == "payload" + "[0]" * MAX_DEPTH + f": nested deeper than {MAX_DEPTH} levels"


def test_shared_but_acyclic_substructures_are_fine():
    shared = [1]
    check_payload({"a": shared, "b": shared})


def test_big_ints_are_allowed_they_travel_as_bigint():
    check_payload(2**200)


def test_message_is_checked():
    with pytest.raises(TypeError, match="Message.type must be a non-empty str"):
        Message("", 1, "a", 1.0)
    with pytest.raises(TypeError, match="Message.tab_id must be a str"):
        Message("t", 1, None, 1.0)  # type: ignore[arg-type]


PLAIN_PAYLOADS = [0, -7, 2**53, -(2**53), True, False, None, 1.5, -0.0, 1e300, "", "é\u2028\"\\</script>",
                  [1, "x", None], (1, (2,)), {"n": {"deep": [1.25, {"k": "v"}]}, "": 0}, {"a\u0000": []}]


@pytest.mark.parametrize("payload", PLAIN_PAYLOADS)
def test_a_json_batch_item_is_the_text_json_dumps_writes_for_its_envelope(payload):
    from pytabby._core.envelope import JsonBatchWriter, batch_item, batch_row

    ts = 1795000000000.1235
    expected = json.dumps(batch_item("t\u00e9", payload, "tab-1", ts, 7), allow_nan=False, separators=(",", ":"))
    assert JsonBatchWriter("tab-1").texts([batch_row("t\u00e9", payload, ts, 7)]) == [expected]


def test_a_json_batch_writer_writes_each_timestamp_as_js_does_and_decode_reads_it_back_when_readings_repeat():
    from pytabby._core.envelope import JsonBatchText, JsonBatchWriter, batch_row, decode_all, json_batch_text

    writer = JsonBatchWriter("tab-1")
    readings = [5.25, 5.25, 0.0, -0.0, -0.0, 0.0, 1795000000000.1235, 1795000000000.1235, 7.0, 1795000000000.0, 7.0]
    # in batches of 1 to 4 rows: a reading's text is kept from one batch to the next
    rows = [batch_row("t", None, ts, n) for n, ts in enumerate(readings)]
    items = [text for start, size in [(0, 1), (1, 3), (4, 4), (8, 3)] for text in writer.texts(rows[start:start + size])]
    # A whole number of ms as JSON.stringify writes it (no ".0"), so a batch of them reads back
    # unchanged in JS; a zero keeps its sign.
    assert [json.loads(item)["ts"] for item in items] == [5.25, 5.25, 0.0, -0.0, -0.0, 0.0, 1795000000000.1235,
                                                          1795000000000.1235, 7, 1795000000000, 7]
    assert [repr(json.loads(item)["ts"]) for item in items][2:6] == ["0.0", "-0.0", "-0.0", "0.0"]
    decoded = decode_all(JsonBatchText(json_batch_text(items)))
    assert [repr(message.ts) for message in decoded] == [repr(ts) for ts in readings]


def test_a_json_batch_writer_writes_every_type_as_json_dumps_does_and_keeps_a_bounded_few():
    from pytabby._core.envelope import MAX_KEPT_HEADS, JsonBatchWriter, batch_item, batch_row

    writer = JsonBatchWriter("tab-1")
    types = [f"type-{n}\u00e9" for n in range(MAX_KEPT_HEADS * 2 + 5)]
    kept = []
    for _ in range(2):  # the second round meets each type again, kept or not
        for seq, message_type in enumerate(types):
            expected = json.dumps(batch_item(message_type, seq, "tab-1", 2.5, seq), separators=(",", ":"))
            assert writer.texts([batch_row(message_type, seq, 2.5, seq)]) == [expected]
            assert len(writer._heads) <= MAX_KEPT_HEADS
        kept.append(sorted(writer._heads))
    # A new type past 64 kept clears them: 133 types leave the last 5; 266 the last 10.
    assert kept == [sorted(types[-5:]), sorted(types[-10:])]


def test_a_json_batch_item_pytabby_does_not_write_takes_decode_for_its_verdict():
    from pytabby._core.envelope import decode_all

    items = [
        {"type": "t", "payload": 1, "tabId": "a", "ts": 1.5, "seq": 0},
        {"type": "t", "payload": 2, "tabId": "a", "ts": 1.5, "seq": 1, "v": 1},  # a peer that writes v
        {"type": "t", "payload": 3, "tabId": "a", "ts": 1.5, "v": 1},  # no seq
        {"payload": 4, "tabId": "a", "ts": 1.5, "seq": 3, "v": 1},  # five keys, no type
        {"type": "t", "payload": 5, "tabId": "a", "ts": 1.5, "seq": 4, "v": 2},
        {"type": "t", "payload": 6, "tabId": "a", "ts": 2, "seq": 5},  # an int ts: a float message
    ]
    batch = {"type": "pytabby:batch", "v": 1, "enc": "json", "payload": json.dumps(items), "tabId": "a", "ts": 1.0}
    decoded = decode_all(batch)
    assert [(m.payload, m.ts, m.seq) if isinstance(m, Message) else m.reason for m in decoded] == [
        (1, 1.5, 0), (2, 1.5, 1), (3, 1.5, None), "'type' must be a non-empty string",
        "unsupported protocol version 2", (6, 2.0, 5)]
    assert type(decoded[5].ts) is float


def test_a_json_batch_decodes_to_the_same_messages_in_order():
    from pytabby._core.envelope import JsonBatchWriter, batch_row, decode_all, encode_json_batch

    writer = JsonBatchWriter("a")
    items = writer.texts([batch_row("t", payload, 1.0 + n, n) for n, payload in enumerate(PLAIN_PAYLOADS)])
    batch = encode_json_batch(items, tab_id="a", ts=1.0)
    assert batch["enc"] == "json" and isinstance(batch["payload"], str)
    messages = decode_all(structured_clone(batch))
    assert {type(message) for message in messages} == {Message}
    expected = json.loads(json.dumps(PLAIN_PAYLOADS))  # tuples arrive as lists
    assert [(m.payload, m.ts, m.seq) for m in messages] == [(p, 1.0 + n, n) for n, p in enumerate(expected)]


@pytest.mark.parametrize("odd", [b"\x00", math.nan, math.inf, 2**60])
def test_a_batch_with_payloads_json_does_not_carry_exactly_travels_as_objects(odd):
    from pytabby._core.envelope import batch_item, decode_all, encode_batch

    batch = encode_batch([batch_item("t", [odd], "a", 1.0, 0)], tab_id="a", ts=1.0)
    assert "enc" not in batch and isinstance(batch["payload"], list)
    (message,) = decode_all(structured_clone(batch))
    assert message.payload == [odd] or math.isnan(message.payload[0])


def test_a_json_batch_that_is_not_json_is_reported():
    from pytabby._core.envelope import decode_all

    (error,) = decode_all({"type": "pytabby:batch", "v": 1, "enc": "json", "payload": "[{", "tabId": "x", "ts": 1})
    assert isinstance(error, MalformedEnvelopeError)


def _json_batch(payload_text: str) -> dict:
    from pytabby._core.envelope import BATCH_TYPE
    inner = '[{"type":"x","tabId":"e","ts":1,"payload":' + payload_text + '}]'
    return {"type": BATCH_TYPE, "v": 1, "enc": "json", "payload": inner, "tabId": "e", "ts": 1}


def test_a_json_batch_nested_past_the_bound_is_reported_malformed_and_never_parsed(monkeypatch):
    import json

    from pytabby._core.envelope import MAX_DEPTH, decode_all
    from pytabby.errors import MalformedEnvelopeError

    parsed: list[str] = []
    real_loads = json.loads
    monkeypatch.setattr(json, "loads", lambda text, **kw: parsed.append(text) or real_loads(text, **kw))
    (error,) = decode_all(_json_batch("[" * 10_000 + "]" * 10_000))
    assert isinstance(error, MalformedEnvelopeError) and "nested deeper" in error.reason
    assert parsed == []
    (too_deep,) = decode_all(_json_batch("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)))
    assert isinstance(too_deep, MalformedEnvelopeError)
    (deepest,) = decode_all(_json_batch("[" * MAX_DEPTH + "]" * MAX_DEPTH))
    assert not isinstance(deepest, MalformedEnvelopeError)


def test_a_received_message_is_an_ordinary_message():
    import dataclasses

    from pytabby._core.envelope import BATCH_TYPE, decode_all

    inner = '[{"type":"t","payload":{"a":[1]},"tabId":"tab-1","ts":2,"seq":5}]'
    (message,) = decode_all({"type": BATCH_TYPE, "v": 1, "enc": "json", "payload": inner, "tabId": "e", "ts": 1})
    assert type(message) is Message and dataclasses.is_dataclass(message)
    assert message == Message("t", {"a": [1]}, "tab-1", 2.0, 5)
    assert repr(message) == "Message(type='t', payload={'a': [1]}, tab_id='tab-1', ts=2.0, seq=5)"
    assert (message.type, message.payload, message.tab_id, message.ts, message.seq) == ("t", {"a": [1]}, "tab-1", 2.0, 5)
    assert hash(Message("t", 1, "tab-1", 2.0, 5)) == hash(Message("t", 1, "tab-1", 2.0, 6))  # seq: compare=False
    assert dataclasses.replace(message, payload=3) == Message("t", 3, "tab-1", 2.0, 5)


@pytest.mark.parametrize("payload", [None, True, "x", 7, -(2**53), 2**53, 1.5])
def test_scalar_payloads_are_plain(payload):
    assert check_payload(payload) is True


@pytest.mark.parametrize("payload", [2**53 + 1, -(2**53) - 1, math.nan, math.inf, b"x"])
def test_scalars_json_would_change_are_not_plain(payload):
    assert check_payload(payload) is False



def test_inside_a_json_batch_every_envelope_gets_the_verdict_decode_gives_it():
    from pytabby._core.envelope import BATCH_TYPE, JsonBatchText, decode_all

    good = {"type": "t", "payload": {"n": 1}, "tabId": "a", "ts": 1.5, "seq": 0}
    odd_values = [None, True, 0, 1, 2.5, -0.0, math.inf, -math.inf, math.nan, "", "x", [], {}, 2**60, 10**400]
    items: list[object] = [good, None, "not an object", 7, []]
    for field in (*good, "v"):
        items.append({key: value for key, value in good.items() if key != field})
        items.extend({**good, field: value} for value in odd_values)
    text = json.dumps(items)  # allow_nan: Python's json reads NaN and Infinity back
    batch = {"type": BATCH_TYPE, "v": PROTOCOL_VERSION, "enc": "json", "payload": text, "tabId": "a", "ts": 1}

    def verdict(item):
        if isinstance(item, MalformedEnvelopeError):
            return ("error", item.reason)
        return ("message", item.type, item.payload, item.tab_id, item.ts, item.seq)

    def decoded(item):
        try:
            return decode(item, trusted_payload=True)
        except MalformedEnvelopeError as exc:
            return exc

    expected = [verdict(decoded(item)) for item in json.loads(text)]
    for received in (batch, JsonBatchText(text)):  # as an object, and as the text the edge depth-checked
        got = [verdict(item) for item in decode_all(received)]
        assert len(got) == len(items) == 101
        assert repr(got) == repr(expected)  # repr: nan != nan, and -0.0 must stay -0.0


def test_a_json_batch_the_edge_hands_over_as_runs_decodes_to_the_batchs_messages():
    from pytabby._core.envelope import JsonBatchText, JsonRunsText, decode_all

    envelopes = [("t", 1, "a", 1795000000000, 7), ("t", {"k": [None]}, "a", 1795000000000, 8),
                 ("u", "x", "a", 1.5, 9), ("u", 2.5, "b", 1.5, 10), ("u", [], "b", 1.5, 12)]
    batch = [{"type": t, "payload": p, "tabId": i, "ts": ts, "seq": seq} for t, p, i, ts, seq in envelopes]
    runs = [["t", "a", 1795000000000, 7, 2], ["u", "a", 1.5, 9, 1], ["u", "b", 1.5, 10, 1], ["u", "b", 1.5, 12, 1]]
    from_runs = decode_all(JsonRunsText(json.dumps([runs, [p for _, p, _, _, _ in envelopes]])))
    assert repr(from_runs) == repr(decode_all(JsonBatchText(json.dumps(batch))))
    assert [(m.type, m.payload, m.tab_id, m.ts, m.seq) for m in from_runs] == [
        (t, p, i, float(ts), seq) for t, p, i, ts, seq in envelopes]
    assert {type(m.ts) for m in from_runs} == {float}  # a whole ms crosses as an int literal


@pytest.mark.parametrize("text", ["]" + "[" * 67, '"\\\\' + "[" * 67, "[" * 40 + "]" * 80 + "[" * 40, "[{"])
def test_invalid_json_batch_text_the_edge_passed_gets_the_reason_the_batch_object_gets(text):
    # The listener's depth scan lets a stray closer or an unterminated string pass (the parser
    # stops there), where Python's check on the object counts the openers after it.
    from pytabby._core.envelope import BATCH_TYPE, JsonBatchText, decode_all

    (from_edge,) = decode_all(JsonBatchText(text))
    (from_object,) = decode_all({"type": BATCH_TYPE, "v": PROTOCOL_VERSION, "enc": "json", "payload": text,
                                 "tabId": "a", "ts": 1})
    assert from_edge.reason == from_object.reason


def test_a_json_batch_text_from_the_edge_that_is_not_a_list_of_envelopes_is_reported():
    from pytabby._core.envelope import JsonBatchText, decode_all

    (not_json,) = decode_all(JsonBatchText("[{"))
    (not_a_list,) = decode_all(JsonBatchText('{"type": "t"}'))
    assert not_json.reason == "a JSON batch that is not valid JSON"
    assert not_a_list.reason == "a batch's payload must be a list"
