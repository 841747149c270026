"""TabBus across real tabs: Pyodide in every page, real BroadcastChannel."""

from __future__ import annotations

import json

import pytest

from pytabby.pytest import PyError, run_py, wait_py


def open_bus(pages, name, **options):
    args = ", ".join(f"{key}={value!r}" for key, value in options.items())
    for page in pages:
        run_py(page, f"""
from pytabby import create_bus
buses = globals().setdefault("buses", {{}})
seen = globals().setdefault("seen", {{}})
buses[{name!r}] = create_bus({name!r}{", " + args if args else ""})
seen[{name!r}] = []
buses[{name!r}].subscribe_all(lambda msg: seen[{name!r}].append([msg.type, msg.payload, msg.tab_id]))
""")


def seen(page, name):
    return run_py(page, f"seen[{name!r}]")


def test_a_message_reaches_every_tab_including_the_sender(shared_tabs, name):
    open_bus(shared_tabs, name)
    sender = run_py(shared_tabs[0], f"buses[{name!r}].publish('hello', {{'n': 1}}).tab_id")
    for page in shared_tabs:
        wait_py(page, f"len(seen[{name!r}]) == 1")
        assert seen(page, name) == [["hello", {"n": 1}, sender]]


def test_subscribers_get_only_their_type(shared_tabs, name):
    open_bus(shared_tabs, name)
    run_py(shared_tabs[1], f"typed = []; buses[{name!r}].subscribe('keep', lambda m: typed.append(m.payload))")
    run_py(shared_tabs[0], f"buses[{name!r}].publish('drop', 1); buses[{name!r}].publish('keep', 2)")
    wait_py(shared_tabs[1], f"len(seen[{name!r}]) == 2")
    assert run_py(shared_tabs[1], "typed") == [2]


def test_unsubscribe_stops_delivery(shared_tabs, name):
    open_bus(shared_tabs, name)
    run_py(shared_tabs[1], f"got = []; stop = buses[{name!r}].subscribe('t', lambda m: got.append(m.payload))")
    run_py(shared_tabs[0], f"buses[{name!r}].publish('t', 1)")
    wait_py(shared_tabs[1], "got == [1]")
    run_py(shared_tabs[1], "stop()")
    run_py(shared_tabs[0], f"buses[{name!r}].publish('t', 2)")
    wait_py(shared_tabs[1], f"len(seen[{name!r}]) == 2")
    assert run_py(shared_tabs[1], "got") == [1]


def test_two_streams_in_one_tab_each_get_every_message(shared_tabs, name):
    open_bus(shared_tabs, name)
    run_py(shared_tabs[1], f"""
import asyncio
async def collect(stream, n):
    return [(await stream.get(timeout=10)).payload for _ in range(n)]
bus = buses[{name!r}]
both = asyncio.ensure_future(asyncio.gather(collect(bus.stream(), 5), collect(bus.stream(), 5)))
""")
    run_py(shared_tabs[0], f"for n in range(5): buses[{name!r}].publish('n', n)")
    assert run_py(shared_tabs[1], "await both") == [[0, 1, 2, 3, 4]] * 2


@pytest.mark.parametrize(("overflow", "expected"), [
    ("oldest", {"kept": [7, 8, 9], "dropped": 7}),
    ("newest", {"kept": [0, 1, 2], "dropped": 7}),
    ("error", {"kept": ["BufferOverflowError", 0, 1, 2], "dropped": 7}),
])
def test_overflow_policies_on_a_slow_stream(shared_tabs, name, overflow, expected):
    open_bus(shared_tabs, name)
    run_py(shared_tabs[1], f"stream = buses[{name!r}].stream(buffer=3, overflow={overflow!r})")
    run_py(shared_tabs[0], f"for n in range(10): buses[{name!r}].publish('n', n)")
    wait_py(shared_tabs[1], f"len(seen[{name!r}]) == 10")
    kept = run_py(shared_tabs[1], """
kept = []
while len(stream):
    try:
        kept.append((await stream.get()).payload)
    except Exception as exc:
        kept.append(type(exc).__name__)
{"kept": kept, "dropped": stream.dropped}
""")
    assert kept == expected


def test_closed_bus_refuses_publish_and_ends_streams(shared_tabs, name):
    open_bus(shared_tabs[:1], name)
    result = run_py(shared_tabs[0], f"""
from pytabby import ClosedError
bus = buses[{name!r}]
stream = bus.stream()
bus.close()
try:
    bus.publish("t")
    refused = False
except ClosedError:
    refused = True
[refused, [m async for m in stream]]
""")
    assert result == [True, []]


def test_closing_a_bus_leaves_no_live_proxy(shared_tabs, name):
    counts = run_py(shared_tabs[0], f"""
from pytabby import _browser, create_bus
before = _browser.live_proxies()
bus = create_bus({name!r})
during = _browser.live_proxies()
bus.close()
[before, during, _browser.live_proxies()]
""")
    assert counts[1] > counts[0] and counts[2] == counts[0]


def test_an_uncloneable_payload_raises_type_error_and_sends_nothing(shared_tabs, name):
    open_bus(shared_tabs, name)
    with pytest.raises(PyError, match="TypeError: payload: set cannot be sent"):
        run_py(shared_tabs[0], f"buses[{name!r}].publish('bad', {{1, 2}})")
    run_py(shared_tabs[0], f"buses[{name!r}].publish('good', 1)")
    wait_py(shared_tabs[1], f"len(seen[{name!r}]) == 1")
    assert seen(shared_tabs[1], name)[0][0] == "good"


def test_payload_types_round_trip_between_tabs(shared_tabs, name):
    open_bus(shared_tabs, name)
    run_py(shared_tabs[0], f"""
buses[{name!r}].publish('all', {{"none": None, "t": True, "i": -3, "big": 2**70, "f": 1.5, "s": "é",
    "b": b"\\x00\\xff", "l": [1, [2]], "tup": (1, 2), "d": {{"k": {{}}}}}})
""")
    wait_py(shared_tabs[2], f"len(seen[{name!r}]) == 1")
    assert run_py(shared_tabs[2], f"""
seen[{name!r}][0][1] == {{"none": None, "t": True, "i": -3, "big": 2**70, "f": 1.5, "s": "é",
    "b": b"\\x00\\xff", "l": [1, [2]], "tup": [1, 2], "d": {{"k": {{}}}}}}
""")


@pytest.fixture(scope="module")
def js_page(pytabby_engine, pytabby_server):
    page = pytabby_engine.new_tab(pytabby_server + "/raw.html")
    yield page
    page.close()


def listen_in_js(js_page, name):
    """Open ``window.jsChannel`` on ``name`` in the plain JS page (closing the last test's); what
    it receives collects in ``window.received``."""
    js_page.evaluate("""(name) => {
        window.jsChannel?.close();
        window.received = [];
        window.jsChannel = new BroadcastChannel(name);
        window.jsChannel.onmessage = (event) => window.received.push(event.data);
    }""", name)


def test_raw_js_in_purrtabbys_shape_interoperates_both_ways(shared_tabs, js_page, name):
    open_bus(shared_tabs[:1], name)
    listen_in_js(js_page, name)
    run_py(shared_tabs[0], f"buses[{name!r}].publish('from-py', {{'n': None, 'b': b'ab', 'l': [1]}})")
    js_page.wait_for("() => window.received.length === 1")
    message = js_page.evaluate("""() => {
        const m = window.received[0];
        return {plain: Object.getPrototypeOf(m) === Object.prototype,
                payloadPlain: Object.getPrototypeOf(m.payload) === Object.prototype,
                bytes: m.payload.b instanceof Uint8Array ? Array.from(m.payload.b) : null,
                isNull: m.payload.n === null, type: m.type, tabId: typeof m.tabId, ts: typeof m.ts, l: m.payload.l};
    }""")
    assert message == {"plain": True, "payloadPlain": True, "bytes": [97, 98], "isNull": True,
                       "type": "from-py", "tabId": "string", "ts": "number", "l": [1]}
    js_page.evaluate("""() => window.jsChannel.postMessage(
        {type: "from-js", payload: {action: "click", data: new Uint8Array([1, 2])}, tabId: "js-tab", ts: Date.now()})""")
    wait_py(shared_tabs[0], f"len(seen[{name!r}]) == 2")
    assert run_py(shared_tabs[0], f"seen[{name!r}][1] == ['from-js', {{'action': 'click', 'data': b'\\x01\\x02'}}, 'js-tab']")


def test_a_lone_plain_message_reaches_js_as_the_envelope_encode_builds(shared_tabs, js_page, name):
    # The edge builds a lone plain envelope in JS from its fields (a scalar payload crossing as
    # itself, anything else as JSON text); JS peers must see encode()'s object.
    open_bus(shared_tabs[:1], name)
    listen_in_js(js_page, name)
    expected = json.loads(run_py(shared_tabs[0], f"""
import asyncio, json
from pytabby._core.envelope import encode
payloads = [{{"n": [1, 2.5, None, "\\u00e9"], "big": 2**53, "t": (1,)}}, 7, 2**53, -2**53, -0.0, 0.1, 1e300, True,
            False, None, "ascii", "\\u00e9\\U0001F600", "", [1, "x"]]
sent = []
for payload in payloads:
    sent.append(buses[{name!r}].publish("lone", payload))
    await asyncio.sleep(0.01)  # apart: each leaves alone, not in a burst
json.dumps([encode(m.type, m.payload, tab_id=m.tab_id, ts=m.ts, seq=m.seq) for m in sent])  # 2**53: a BigInt to drivers
"""))
    js_page.wait_for(f"() => window.received.length === {len(expected)}")
    got = js_page.evaluate("() => window.received.map((m) => [Object.keys(m), m])")
    assert {m["plain"] for m in expected} == {True}
    assert got == [[list(m), m] for m in expected]
    # Numbers stay numbers (not BigInts: == would not tell), -0.0 a negative zero as JSON.parse('-0.0') makes it.
    assert js_page.evaluate("() => window.received.slice(1, 7).map((m) => typeof m.payload)") == ["number"] * 6
    assert js_page.evaluate("() => Object.is(window.received[4].payload, -0)") is True


def test_a_burst_reaches_js_as_one_json_batch_as_encode_json_batch_builds_it(shared_tabs, js_page, name):
    # The edge builds a JSON batch's object in JS around the text Python joined; tabs and JS peers
    # must see encode_json_batch()'s object. The clock stands still, so every publish after the first
    # is in the burst, and the batch writer reuses the timestamp's text.
    open_bus(shared_tabs[:2], name)
    listen_in_js(js_page, name)
    expected = json.loads(run_py(shared_tabs[0], f"""
import json
from pytabby._core.envelope import JsonBatchWriter, batch_row, encode, encode_json_batch
bus = buses[{name!r}]
bus._now_ms = bus._burst_ms = lambda: 1795000000000.1235
sent = [bus.publish("burst", payload) for payload in [1, 2, {{"k": [1.5, None, "\u00e9"]}}, -0.0, "x", True]]
writer = JsonBatchWriter(bus.tab_id)
lone = encode("burst", 1, tab_id=bus.tab_id, ts=sent[0].ts, seq=sent[0].seq)
batch = encode_json_batch(writer.texts([batch_row(m.type, m.payload, m.ts, m.seq) for m in sent[1:]]), tab_id=bus.tab_id,
                          ts=1795000000000.1235)
json.dumps([lone, batch])
"""))
    js_page.wait_for("() => window.received.length === 2")
    assert js_page.evaluate("() => window.received.map((m) => [Object.keys(m), m])") == [[list(m), m] for m in expected]
    wait_py(shared_tabs[1], f"len(seen[{name!r}]) == 6")
    assert run_py(shared_tabs[1], f"repr([m[1] for m in seen[{name!r}]])") == "[1, 2, {'k': [1.5, None, 'é']}, -0.0, 'x', True]"


def test_a_long_burst_reaches_js_and_tabs_as_one_json_batch_whichever_way_its_text_crossed(
        shared_tabs, js_page, name, pytabby_engine):
    # Past LONG_TEXT characters Firefox's edge hands JS the batch's text as bytes (and other engines
    # as text): JS peers and tabs must get encode_json_batch()'s object either way.
    open_bus(shared_tabs[:2], name)
    listen_in_js(js_page, name)
    expected = json.loads(run_py(shared_tabs[0], f"""
import json
from pytabby._browser.channel import BATCH_TEXT_AS_BYTES
from pytabby._browser.ffi import LONG_TEXT
from pytabby._core.envelope import JsonBatchWriter, batch_row, encode_json_batch, json_batch_text
bus = buses[{name!r}]
bus._now_ms = bus._burst_ms = lambda: 1795000000000.5
sent = [bus.publish("long", {{"i": i, "text": "\\u00e9\\"<>" * 40}}) for i in range(40)]
writer = JsonBatchWriter(bus.tab_id)
items = writer.texts([batch_row(m.type, m.payload, m.ts, m.seq) for m in sent[1:]])
assert len(json_batch_text(items)) > LONG_TEXT
json.dumps([BATCH_TEXT_AS_BYTES, encode_json_batch(items, tab_id=bus.tab_id, ts=1795000000000.5)])
"""))
    assert expected[0] is (pytabby_engine.name == "firefox")
    js_page.wait_for("() => window.received.length === 2")
    assert js_page.evaluate("() => window.received[1]") == expected[1]
    wait_py(shared_tabs[1], f"len(seen[{name!r}]) == 40")
    assert run_py(shared_tabs[1], f"[m[1] for m in seen[{name!r}]]") == [
        {"i": i, "text": '\u00e9"<>' * 40} for i in range(40)]


def test_a_whole_float_arrives_as_an_int_alone_and_as_a_float_in_a_burst(shared_tabs, name):
    # As the README says: a lone message is a JS object (1.0 and 1 are one number), a burst JSON text.
    open_bus(shared_tabs[:2], name)
    run_py(shared_tabs[0], f"""
bus = buses[{name!r}]
bus._now_ms = bus._burst_ms = lambda: 1795000000000.5  # the clock stands still: after the first, every publish is in the burst
for payload in (1.0, 2, 3.0):
    bus.publish("f", payload)
""")
    wait_py(shared_tabs[1], f"len(seen[{name!r}]) == 3")
    assert run_py(shared_tabs[1], f"[repr(m[1]) for m in seen[{name!r}]]") == ["1", "2", "3.0"]


def test_a_payload_changed_after_publish_leaves_as_it_was_in_every_burst_path(shared_tabs, name):
    # A burst leaves at the turn's end: as JSON rows, as a burst of one (posted whole), as objects.
    open_bus(shared_tabs[:2], name)
    run_py(shared_tabs[0], f"""
import asyncio
bus = buses[{name!r}]
bus._now_ms = bus._burst_ms = lambda: 1795000000000.5  # the clock stands still: after the first, every publish is in the burst
state = {{"log": [0]}}
bus.publish("lone", state)
await asyncio.sleep(0)
bus.publish("alone", state)  # a later turn: a burst of one
state["log"].append(1)
await asyncio.sleep(0)
bus.publish("rows", state)
bus.publish("rows", state)
state["log"].append(2)
await asyncio.sleep(0)
blob = {{"data": bytearray(b"ab")}}
bus.publish("objects", blob)
bus.publish("objects", blob)
blob["data"][0] = ord("z")
""")
    wait_py(shared_tabs[1], f"len(seen[{name!r}]) == 6")
    assert run_py(shared_tabs[1], f"repr([m[:2] for m in seen[{name!r}]])") == repr([
        ["lone", {"log": [0]}], ["alone", {"log": [0]}], ["rows", {"log": [0, 1]}], ["rows", {"log": [0, 1]}],
        ["objects", {"data": b"ab"}], ["objects", {"data": b"ab"}]])


def test_malformed_envelopes_from_other_code_are_reported_not_delivered(shared_tabs, js_page, name):
    open_bus(shared_tabs[:1], name)
    run_py(shared_tabs[0], f"bad = []; buses[{name!r}].on_malformed(lambda e: bad.append(e.reason))")
    js_page.evaluate("""(name) => {
        const channel = new BroadcastChannel(name);
        for (const junk of ["text", 42, null, {type: 1}, {type: "x", tabId: "t", ts: "no"},
                            {type: "x", tabId: "t", ts: 1, payload: new Date()},
                            {type: "ok", tabId: "js", ts: 1, payload: 1}]) channel.postMessage(junk);
        channel.close();
    }""", name)
    wait_py(shared_tabs[0], f"len(seen[{name!r}]) == 1 and len(bad) == 6")
    assert run_py(shared_tabs[0], f"buses[{name!r}].malformed") == 6
    assert seen(shared_tabs[0], name) == [["ok", 1, "js"]]


def record_verdicts(tab, name, fields, module, function, note):
    """In ``tab``: ``got``, the repr of ``(fields)`` of each message the bus ``name`` delivers; ``bad``,
    the reason of each refusal; ``noted``, ``note`` (Python over ``args``) of each call of
    ``module.function``, whose original is ``real`` until ``restore()``."""
    run_py(tab, f"""
import importlib
bad, got, noted = [], [], []
buses[{name!r}].on_malformed(lambda e: bad.append(e.reason))
buses[{name!r}].subscribe_all(lambda m: got.append(repr(({fields}))))
spied = importlib.import_module({module!r})
real = getattr(spied, {function!r})
def spy(*args):
    noted.append({note})
    return real(*args)
setattr(spied, {function!r}, spy)
restore = lambda: setattr(spied, {function!r}, real)
""")


def decode_verdicts(tab, raws, fields):
    """What ``decode_all`` makes, in ``tab``, of each object the Python expression ``raws`` yields:
    ``repr((fields))`` of every message, then the reason of every refusal."""
    return run_py(tab, f"""
import json
from pytabby import Message
from pytabby._core.envelope import JsonText, decode_all
verdicts = [item for raw in {raws} for item in decode_all(raw)]
[[repr(({fields})) for m in verdicts if isinstance(m, Message)],
 [e.reason for e in verdicts if not isinstance(e, Message)]]
""")


def test_the_listener_passes_on_exactly_the_lone_envelopes_decode_accepts(shared_tabs, js_page, name):
    # The JS listener checks a lone plain envelope's fields itself and hands Python a scalar payload
    # as itself; anything it passes must get decode()'s verdict, which the same object's JSON text
    # gets in Python.
    open_bus(shared_tabs[:1], name)
    record_verdicts(shared_tabs[0], name, "m.type, m.payload, m.tab_id, m.ts, m.seq", "pytabby._browser.channel",
                    "loads_checked", "args[0]")
    texts = js_page.evaluate("""(name) => {
        const good = {type: "t", payload: {n: [1, "x"]}, tabId: "js", ts: 1.5, seq: 3, v: 1, plain: true};
        const deep = (n) => n === 0 ? 1 : [deep(n - 1)];
        const cases = [good, {...good, ts: 2}, {...good, ts: -0}, {...good, seq: -0}, {...good, seq: 2 ** 53},
            {...good, seq: undefined}, {...good, v: undefined}, {...good, payload: undefined},
            {...good, payload: deep(64)}, {...good, payload: NaN}, {...good, payload: new Date(0)},
            {...good, seq: 1.5}, {...good, v: 2}, {...good, type: ""}, {...good, type: "pytabby:batch"},
            {...good, tabId: undefined}, {...good, tabId: 7}, {...good, payload: deep(65)},
            {...good, ts: Infinity}, {...good, ts: "1"}, {...good, seq: true}, {...good, type: 5},
            ...[0.1, 5, -0, -1e-7, 1e300, 2 ** 53 - 1, 2 ** 53, 2 ** 60, "", "\\u00e9\\u{1F600}", "\\ud800", true,
                false, null].map((payload) => ({...good, payload}))];
        const channel = new BroadcastChannel(name);
        for (const data of cases) channel.postMessage(data);
        channel.close();
        return cases.map((data) => JSON.stringify(data));
    }""", name)
    wait_py(shared_tabs[0], "len(got) + len(bad) == 36")
    run_py(shared_tabs[0], "restore()")
    expected = decode_verdicts(shared_tabs[0], f"(JsonText(text) for text in {texts!r})",
                               "m.type, m.payload, m.tab_id, m.ts, m.seq")
    assert [len(part) for part in expected] == [25, 11]
    assert run_py(shared_tabs[0], "[got, bad]") == expected
    # Only what the call would not convert as JSON does (objects, NaN and a Date as their JSON text,
    # integral numbers of 2**53 and beyond, a lone surrogate, null) was parsed in Python, once per message
    # passed; every other scalar crossed as itself.
    assert run_py(shared_tabs[0], "noted") == ['{"n":[1,"x"]}'] * 4 + [
        "[" * 64 + "1" + "]" * 64, "null", '"1970-01-01T00:00:00.000Z"', "1e+300", "9007199254740992", "1152921504606847000",
        '"\\ud800"', "null"]


# JS peers' messages in purrtabby's shape: [how many of the first the listener should hand over as
# fields, all of them], the rest being left to the object's conversion.
JS_PEER_CASES = """() => {
    const good = {type: "t", payload: 1, tabId: "js", ts: 1700000000000};
    const deep = (n) => n === 0 ? 1 : [deep(n - 1)];
    const cycle = {}; cycle.self = cycle;
    const shared = {n: 1};
    const fields = [good, {...good, ts: 1.5}, {...good, ts: -0}, {...good, seq: 3}, {...good, seq: -0}, {...good, v: 1},
        {...good, plain: false},
        ...[0.1, 5, -0, -1e-7, 2 ** 53 - 1, "", "\\u00e9\\u{1F600}", true, false, null, {a: [1]}, [1],
            {k: {n: [null, true, "x", -0]}}, JSON.parse('{"__proto__": 1}'), deep(64)].map((payload) => ({...good, payload}))];
    const converted = [{...good, extra: 1}, {...good, extra: new Date(0)}, {...good, constructor: 1},
        Object.assign([], good), Object.assign([], {...good, v: 1, seq: 0, plain: true}),
        {...good, seq: 2 ** 53}, {...good, seq: undefined}, {...good, seq: null}, {...good, seq: 1.5},
        {...good, v: 2}, {...good, v: undefined}, {...good, type: ""}, {...good, type: "pytabby:batch"},
        {...good, tabId: 7}, {...good, ts: "1"}, {...good, ts: Infinity}, {...good, ts: true},
        ...[1e300, 2 ** 53, 2 ** 60, "\\ud800", undefined, NaN, new Date(0), {a: undefined}, [1, , 3], {d: new Date(0)},
            {n: [NaN]}, {big: 2 ** 53}, {s: "\\ud800"}, {["\\ud800"]: 1}, deep(65), new Uint8Array([1]), new Map(),
            cycle, {a: shared, b: shared}, [shared, shared], {constructor: 1}, [{k: {constructor: null}}]]
            .map((payload) => ({...good, payload}))];
    return [fields.length, [...fields, ...converted]];
}"""


def test_a_js_peers_message_skips_the_objects_conversion_where_json_carries_it_and_gets_decodes_verdict(
        shared_tabs, js_page, name):
    open_bus(shared_tabs[:1], name)
    # Each message gets one verdict, in order: a conversion notes the index of the message it serves.
    record_verdicts(shared_tabs[0], name, "m.type, m.payload, m.tab_id, m.ts, m.seq", "pytabby._browser.channel",
                    "_receive_value", "len(got) + len(bad)")
    run_py(shared_tabs[0], f"""
import js
from pytabby import Message
from pytabby._core.envelope import decode_all
from pytabby.errors import MalformedEnvelopeError
by_call, cases = js.eval({JS_PEER_CASES!r})()
verdicts = []  # what the object's conversion and decode_all make of each: the bus's path before the listener
for case in cases:
    real(case, lambda value: verdicts.extend(decode_all(value)),
         lambda reason: verdicts.append(MalformedEnvelopeError(reason, None)))
expected = [[repr((m.type, m.payload, m.tab_id, m.ts, m.seq)) for m in verdicts if isinstance(m, Message)],
            [e.reason for e in verdicts if not isinstance(e, Message)]]
expected_converted = list(range(by_call, len(cases)))
""")
    count = js_page.evaluate(f"""(name) => {{
        const [, cases] = ({JS_PEER_CASES})();
        const channel = new BroadcastChannel(name);
        for (const data of cases) channel.postMessage(data);
        channel.close();
        return cases.length;
    }}""", name)
    assert count == 61
    wait_py(shared_tabs[0], f"len(got) + len(bad) == {count}")
    run_py(shared_tabs[0], "restore()")
    assert [len(part) for part in run_py(shared_tabs[0], "expected")] == [43, 18]
    assert run_py(shared_tabs[0], "[got, bad] == expected")
    assert run_py(shared_tabs[0], "[len(expected_converted), noted == expected_converted]") == [39, True]


def test_a_batch_of_objects_with_an_envelope_the_conversion_fails_on_loses_only_that_envelope(
        shared_tabs, js_page, name):
    # Pyodide's to_py throws on an object with an own "constructor": null key: converted whole, the
    # batch was one refusal and every other envelope in it was lost.
    open_bus(shared_tabs[:1], name)
    record_verdicts(shared_tabs[0], name, "m.type, m.payload, m.tab_id, m.seq", "pytabby._browser.channel",
                    "_object_batch_items", "1")
    js_page.evaluate("""(name) => {
        const envelope = (seq, payload) => ({type: "t", payload, tabId: "js", ts: 1.5, seq});
        const channel = new BroadcastChannel(name);
        channel.postMessage({type: "pytabby:batch", v: 1, tabId: "js", ts: 1, payload: [envelope(0, 1),
            envelope(1, {constructor: null}), envelope(2, new Uint8Array([7])), envelope(3, {k: "x"}), {type: ""}]});
        channel.close();
    }""", name)
    wait_py(shared_tabs[0], "len(got) + len(bad) == 5")
    run_py(shared_tabs[0], "restore()")
    got, bad, noted = run_py(shared_tabs[0], "[got, bad, noted]")
    assert got == [repr(("t", 1, "js", 0)), repr(("t", b"\x07", "js", 2)), repr(("t", {"k": "x"}, "js", 3))]
    assert [reason.split(":")[0] for reason in bad] == ["unconvertible data", "'type' must be a non-empty string"]
    assert noted == [1]


def test_the_listener_passes_on_json_batches_within_the_depth_bound_and_python_checks_the_rest(
        shared_tabs, js_page, name):
    # The JS listener scans a JSON batch's nesting so Python need not; a batch it refuses takes
    # Python's own depth check. Either way each batch must get the verdict decode_all gives its object.
    open_bus(shared_tabs[:1], name)
    record_verdicts(shared_tabs[0], name, "m.payload, m.seq", "pytabby._core.safe_json", "depth_exceeds", "args[1]")
    texts = js_page.evaluate("""(name) => {
        const item = (payload, seq) => `{"type":"t","payload":${payload},"tabId":"js","ts":1.5,"seq":${seq}}`;
        const deep = (n) => "[".repeat(n) + "1" + "]".repeat(n);
        const texts = [
            `[${item(deep(64), 0)}]`,  // the deepest payload allowed: the list and the envelope add two
            `[${item(deep(65), 1)}]`,
            `[${item(JSON.stringify("[".repeat(200)), 2)}]`,  // brackets inside a string do not nest
            `[${item(JSON.stringify('\\"[' + "{".repeat(100)), 3)}]`,  // nor after an escaped quote
            `[${item(JSON.stringify("\\\\"), 4)},${item(deep(65), 5)}]`,  // an escaped backslash ends nothing
            `[${item(deep(30), 6)},${item(deep(30), 7)}]`,  // siblings: depth is what is open at once
            `[${item('{"a":'.repeat(64) + "1" + "}".repeat(64), 8)}]`,
            `[${item(deep(10000), 9)}]`,
            "[{",
        ];
        const channel = new BroadcastChannel(name);
        for (const text of texts) channel.postMessage({type: "pytabby:batch", payload: text, tabId: "js", ts: 1, v: 1, enc: "json"});
        channel.close();
        return texts;
    }""", name)
    wait_py(shared_tabs[0], "len(got) + len(bad) == 10")
    run_py(shared_tabs[0], "restore()")
    expected = decode_verdicts(shared_tabs[0], '({"type": "pytabby:batch", "payload": text, "tabId": "js", "ts": 1, '
                                               f'"v": 1, "enc": "json"}} for text in {texts!r})', "m.payload, m.seq")
    assert [len(part) for part in expected] == [6, 4]
    assert run_py(shared_tabs[0], "[got, bad]") == expected
    # Python checked the depth of the three batches too deep for the listener and of the invalid one
    # (for its reason), and of no other.
    assert run_py(shared_tabs[0], "noted") == [66, 66, 66, 66]


def test_a_json_batch_js_reads_as_python_would_crosses_as_runs_and_every_batch_gets_decode_alls_verdict(
        shared_tabs, js_page, name):
    # The listener hands a JSON batch over as runs only when JSON.stringify writes back exactly the
    # text it parsed and every envelope passes the inline checks; whichever way a batch crosses, its
    # messages and refusals must be what decode_all makes of the batch object.
    open_bus(shared_tabs[:1], name)
    record_verdicts(shared_tabs[0], name, "m.type, m.payload, m.tab_id, m.ts, m.seq", "pytabby._core.envelope",
                    "_decode_runs", "__import__('json').loads(args[0])[0][0][3]")
    texts = js_page.evaluate("""(name) => {
        const item = (payload, seq, ts = "1795000000000", type = "t", tabId = "a") =>
            `{"type":${JSON.stringify(type)},"payload":${payload},"tabId":${JSON.stringify(tabId)},"ts":${ts},"seq":${seq}}`;
        const deep = (n) => "[".repeat(n) + "1" + "]".repeat(n);
        const batch = (first, payloads, ts) => `[${payloads.map((payload, k) => item(payload, first + k, ts)).join(",")}]`;
        const texts = [
            // As runs: whole-ms and fractional timestamps, runs broken by ts, seq, type and tabId.
            batch(0, ["1", "2"]),
            `[${item("1", 10, "1.5")},${item("2", 11, "1.5")},${item("3", 12, "2.5")},${item("4", 14, "2.5")},`
                + `${item("5", 15, "2.5", "u")},${item("6", 16, "2.5", "u", "b")}]`,
            batch(20, ['{"k":[null,true,"x",-1.5e-7]}', '{"__proto__":1}', "[]", "{}", "null",
                       '"\\u00e9\\u{1F600}"', "1e+21", "0.1", deep(64)], "1.25"),
            '[{"seq":30,"ts":1.5,"tabId":"a","payload":1,"type":"t"}]',  // any key order
            batch(70, ["9007199254740992"]),  // 2**53 written as JS writes it: its payload parsed in Python
            // Not as runs: JS would write these back otherwise, or the inline checks refuse them.
            batch(40, ["1"], "7.0"),
            batch(50, ["5.0"]),
            batch(60, ["9007199254740993"]),
            " " + batch(80, ["1"]),
            '[{"type":"t","type":"u","payload":1,"tabId":"a","ts":1.5,"seq":90}]',
            '[{"type":"t","payload":1,"tabId":"a","ts":1.5,"seq":100,"v":1}]',
            batch(110, ['"\\\\u00e9"']),  // as Python writes non-ASCII text
            batch(140, ['"\\\\ud800"']),  // JS writes a lone surrogate so too, but any \\u declines
            batch(120, ['{"b":1,"1":2}']),  // JS puts an index-like key first
            batch(130, ["1"], "1" + "0".repeat(400)),
            "[]",
            `[${item("1", 150, "1.5", "")}]`,
            `[${item("1", 160, '"1"')}]`,
            `[${item("1", 1.5)}]`,
            "[[1,2,3,4,5]]",
            `[${item("1", 190, "1.5", "t", "")}]`,
            `[${item("1", "-0")}]`,
            `[${item("1", 9007199254740992)}]`,
        ];
        const channel = new BroadcastChannel(name);
        for (const text of texts) channel.postMessage({type: "pytabby:batch", payload: text, tabId: "js", ts: 1, v: 1, enc: "json"});
        channel.close();
        return texts;
    }""", name)
    expected = decode_verdicts(shared_tabs[0], '({"type": "pytabby:batch", "payload": text, "tabId": "js", "ts": 1, '
                                               f'"v": 1, "enc": "json"}} for text in {texts!r})',
                               "m.type, m.payload, m.tab_id, m.ts, m.seq")
    assert [len(part) for part in expected] == [30, 6]
    wait_py(shared_tabs[0], "len(got) + len(bad) == 36")
    run_py(shared_tabs[0], "restore()")
    assert run_py(shared_tabs[0], "[got, bad]") == expected
    assert run_py(shared_tabs[0], "noted") == [0, 10, 20, 30, 70]


def test_long_texts_cross_into_python_as_utf8_exactly_and_lone_surrogates_as_text(shared_tabs, js_page, name):
    # Past LONG_TEXT characters a JSON text crosses as UTF-8 bytes; a batch whose raw text holds a
    # lone surrogate (which UTF-8 cannot carry) keeps crossing as a string.
    open_bus(shared_tabs[:1], name)
    record_verdicts(shared_tabs[0], name, "m.type, m.payload, m.seq", "pytabby._browser.channel", "text_of",
                    "args[0].__class__ is not str")
    cases = js_page.evaluate("""(name) => {
        const words = "é😀 \\\\ \\" [{".repeat(300);  // 3,000 UTF-16 units, more as JSON text
        const lone = {type: "t", payload: {words, odd: "\\ud800"}, tabId: "js", ts: 1.5, seq: 1, v: 1, plain: true};
        const item = (text, seq) => `{"type":"t","payload":${text},"tabId":"js","ts":1.5,"seq":${seq}}`;
        const batch = (payload) => ({type: "pytabby:batch", payload, tabId: "js", ts: 1, v: 1, enc: "json"});
        const cases = [
            {...lone, payload: {short: "é"}, seq: 0},  // short: crosses as a string
            lone,  // its payload's JSON text (JSON.stringify writes the lone surrogate as an escape)
            batch(`[${item(JSON.stringify(words), 2)},${item('"raw é😀"', 3)}]`),
            batch(`[${item(JSON.stringify(words), 4)},${item('"raw \\ud800"', 5)}]`),  // a raw lone surrogate
            {...lone, v: 2, seq: 6},  // fields decode() refuses: the whole object's JSON text
        ];
        const channel = new BroadcastChannel(name);
        for (const data of cases) channel.postMessage(data);
        channel.close();
        return cases.map((data) => JSON.stringify(data));
    }""", name)
    wait_py(shared_tabs[0], "len(got) + len(bad) == 7")
    run_py(shared_tabs[0], "restore()")
    expected = decode_verdicts(shared_tabs[0], f"(json.loads(text) for text in {cases!r})", "m.type, m.payload, m.seq")
    assert [len(part) for part in expected] == [6, 1]
    assert run_py(shared_tabs[0], "[got, bad]") == expected
    assert "raw \\ud800" in expected[0][5] and "é😀" in expected[0][1]
    assert run_py(shared_tabs[0], "noted") == [False, True, True, False, True]


def test_plain_pyodide_page_runs_the_bus(tabs, shared_tabs, name):
    (page,) = tabs(1, url="/pyodide-example.html")
    page.wait_for("() => window.exampleReady === true")
    open_bus(shared_tabs[:1], name)
    run_py(page, f"from pytabby import create_bus; example_bus = create_bus({name!r})")
    run_py(page, f"example_bus.publish('from-example', 1)")
    wait_py(shared_tabs[0], f"len(seen[{name!r}]) == 1")
    assert page.evaluate("() => document.querySelector('#tab-id').innerText").startswith("tab-")


def test_pyscript_page_gets_pytabby_from_the_boot_line_without_micropip_and_talks_to_other_tabs(tabs, shared_tabs):
    """Its config names no packages: the boot script installs pytabby before the page's Python runs.

    Booted by the kit, which waits for the page's Python to have run, says why a boot failed, and
    opens the page once more when the browser's wasm engine trapped in Pyodide's startup.
    """
    open_bus(shared_tabs[:1], "pyscript-demo")
    (page,) = tabs(1, url="/pyscript-example.html")
    assert page.evaluate("() => document.querySelector('#status').dataset.ready") == "yes"
    wait_py(shared_tabs[0], "any(m[0] == 'pyscript-hello' for m in seen['pyscript-demo'])")
    assert page.evaluate("() => window.pytabbyBoot.stage") == "ready"
    assert page.evaluate("() => pyodide.runPython(\"import sys; 'micropip' in sys.modules\")") is False


def test_micropip_installs_the_wheel_from_its_url(open_page):
    from pathlib import Path

    (wheel,) = (Path(__file__).resolve().parents[2] / "web" / "dist").glob("pytabby_browser-*.whl")
    page = open_page("/bench/bare.html")
    try:
        page.wait_for("() => window.bareReady !== undefined", timeout=120)
        page.evaluate("() => window.bareReady")
        version = page.evaluate("""async (wheel) => {
            await pyodide.loadPackage("micropip");
            return await pyodide.runPythonAsync(`
import micropip
await micropip.install(f"{__import__('js').location.origin}/dist/${wheel}")
import pytabby
from importlib.metadata import version
[pytabby.__version__, version("pytabby-browser")]
`).then((r) => r.toJs());
        }""", wheel.name)
        assert version[0] == version[1] == wheel.name.split("-")[1]
    finally:
        page.close()


def test_message_timestamps_use_the_clock_the_tabs_share(shared_tabs, name):
    """ts is performance.timeOrigin + performance.now() (ms), comparable across tabs."""
    open_bus(shared_tabs[:1], name)
    before, ts, after = run_py(shared_tabs[0], f"""
import js
now = lambda: js.performance.timeOrigin + js.performance.now()
before = now()
ts = buses[{name!r}].publish('t').ts
[before, ts, now()]
""")
    assert before - 1 <= ts <= after + 1  # performance.now() is coarsened to 0.1 ms here


def test_a_bursts_timestamps_are_the_shared_clocks_and_never_run_back(shared_tabs, name):
    """A burst's messages read time.monotonic() anchored to the shared clock (a lone one reads the
    shared clock itself); the anchor is taken again with each batch's post, every 500 messages."""
    open_bus(shared_tabs[:1], name)
    before, stamps, after = run_py(shared_tabs[0], f"""
import js
now = lambda: js.performance.timeOrigin + js.performance.now()
bus = buses[{name!r}]
before = now()
stamps = [bus.publish('t', i).ts for i in range(1600)]
[before, stamps, now()]
""")
    assert all(earlier <= later for earlier, later in zip(stamps, stamps[1:]))
    assert before - 1 <= stamps[0] and stamps[-1] <= after + 1
