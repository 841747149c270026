"""``BroadcastChannel`` as the ``Channel`` port.

Envelopes marked ``plain`` (JSON carries them exactly) cross as JSON text each way, so a
message costs one call across the boundary each way and no conversion per field: out, a lone
envelope crosses as its fields with the payload as JSON text, and JS builds and posts the object
(a batch's envelopes are one JSON string already); in, a lone envelope as pytabby writes it has its
fields checked by the JS listener (the checks ``decode`` makes, at JIT speed) and reaches Python
as those fields, the payload as itself when it is a scalar the call converts exactly (a bool, a
well-formed string, a finite number short of an integral 2**53), else as JSON text the
listener found nested within ``MAX_DEPTH``; a JSON batch as its JSON text, once the listener found
it nested within the bound (Python's own check costs ~10x more per message); any other plain object
as the JSON text of the whole object, parsed by the bounded ``json.loads`` of ``decode_all``.
A JS peer's message in purrtabby's shape (those keys only) crosses as its fields too when JSON
carries its payload as the object's conversion would make it. Anything else (bytes, big ints, a JS
peer's Date, an extra key) crosses as a converted object.
Text longer than ``LONG_TEXT`` crosses as UTF-8 bytes where that is exact (see ``ffi.LONG_TEXT``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import js
from pyodide.ffi import JsException

from .._core.envelope import (BATCH_TYPE, MAX_DEPTH, PROTOCOL_VERSION, JsonBatchText, JsonRunsText, JsonText,
                              json_batch_text, lone_envelope, plain_json)
from .._core.safe_json import loads_checked
from .ffi import FATAL, LONG_TEXT, Proxies, bound, cross_text, text_of, to_js_value, to_py_value, uint8_array

# Plain JS: reading event.data, testing `plain` and stringifying from Python would be three
# crossings and two proxies per message. What it passes as checked fields is exactly what decode()
# accepts; everything else takes the text or value path to decode() for its verdict. `+ 0` turns
# -0 into 0, as JSON text would. The depth scan follows the JSON scanner's string rules, so the
# parser can never get deeper than the scan saw before it stops (at the end or at an error).
_listener = js.Function.new("onScalarFields", "onFields", "onText", "onBatch", "onRuns", "onValue", "version", "batchType",
                            "payloadDepth", "cross", """
const nestedWithin = (text, limit) => {
    let depth = 0;
    for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c === 34) {  // a string: on to the first quote after it not escaped (by an odd run of backslashes)
            let end = text.indexOf('"', i + 1);  // native: 20-30% off a batch's scan against a loop
            for (;;) {
                if (end < 0) return true;  // unterminated: the parser stops there
                let run = end;
                while (text.charCodeAt(run - 1) === 92) run--;
                if ((end - run) % 2 === 0) break;
                end = text.indexOf('"', end + 1);
            }
            i = end;
        } else if (c === 91 || c === 123) { if (++depth > limit) return false; }
        else if (c === 93 || c === 125) depth--;
    }
    return true;
};
// Scalars the call converts as JSON text would parse: no text, no parse (~30 of the ~200 us a lone
// message spends in the receiving tab). A lone surrogate, an integral number from 2**53 on (JSON
// text parses as an int) and null (the call hands Python jsnull) take the text.
const exactScalar = (payload) => {
    const kind = typeof payload;
    return kind === "boolean" || (kind === "string" && payload.isWellFormed?.() === true)
        || (kind === "number" && Number.isFinite(payload) && (Number.isSafeInteger(payload) || !Number.isInteger(payload)));
};
// Whether JSON text carries a JS peer's payload as the object's conversion makes it: plain objects
// and dense arrays of exact scalars and null, keys well formed (no undefined, NaN, Date, typed
// array, Map, ...). An object met twice (shared, or a cycle: structured clone keeps both) is left
// to the conversion, which keeps the sharing, so the walk stays linear; so is an own "constructor"
// key, which makes Pyodide's conversion leave the object unconverted.
const jsonExact = (value, levelsLeft, seen) => {
    if (value === null) return true;
    if (typeof value !== "object") return exactScalar(value);
    if (levelsLeft === 0 || seen.has(value)) return false;
    seen.add(value);
    if (Array.isArray(value)) {
        if (Object.getPrototypeOf(value) !== Array.prototype) return false;
        for (let i = 0; i < value.length; i++) if (!(i in value) || !jsonExact(value[i], levelsLeft - 1, seen)) return false;
        return true;
    }
    if (Object.getPrototypeOf(value) !== Object.prototype || Object.hasOwn(value, "constructor")) return false;
    for (const key of Object.keys(value))
        if (!key.isWellFormed?.() || !jsonExact(value[key], levelsLeft - 1, seen)) return false;
    return true;
};
// A JS peer's envelope holds these keys and no other: the conversion would convert any other too,
// and refuse the message if it could not.
const envelopeKeys = new Set(["type", "payload", "tabId", "ts", "v", "seq", "plain"]);
const onlyEnvelopeKeys = (data) => {
    for (const key of Object.keys(data)) if (!envelopeKeys.has(key)) return false;
    return true;
};
// The checks decode() makes of an envelope's type, tabId and ts; a lone one's type is not the batch's.
const namedFields = (type, tabId, ts) => typeof type === "string" && type !== ""
    && typeof tabId === "string" && tabId !== "" && Number.isFinite(ts);
const plainFields = (type, tabId, ts) => type !== batchType && namedFields(type, tabId, ts);
// A payload's JSON text if it is nested within the bound, else undefined (also for a BigInt, a
// cycle, or a text too long for the engine to make).
const payloadTextWithin = (payload) => {
    let text;
    try { text = JSON.stringify(payload); } catch (error) { return undefined; }
    return typeof text === "string" && nestedWithin(text, payloadDepth) ? text : undefined;
};
// A JSON batch as runs (see JsonRunsText), or undefined. Only a text JSON.stringify writes back
// exactly as JSON.parse read it: then no key repeats and every value JS writes into the runs' text
// is the very literal the batch held (no "5.0" read as 5, no 2**53 + 1 read as 2**53), so Python
// parses the same values from it. Each envelope must also pass decode_all()'s inline checks: the
// five keys, a type and a tabId that are non-empty strings, a finite ts, a safe integer seq.
// Python then parses each run's fields once and the payloads alone (the whole batch's JSON parse
// costs ~1.1 us a message in Firefox, more than the ~0.6 this does).
const batchRuns = (text) => {
    // Python's writer escapes non-ASCII text, which JSON.stringify writes back as itself: such a
    // batch cannot round-trip, so it is not parsed here in vain (~0.4 us a message in Firefox).
    if (text.includes("\\\\u")) return undefined;
    let envelopes;
    try {  // JS parses and writes back any depth, or throws (too deep for its stack)
        envelopes = JSON.parse(text);
        if (!Array.isArray(envelopes) || envelopes.length === 0 || JSON.stringify(envelopes) !== text) return undefined;
    } catch (error) { return undefined; }
    const payloads = new Array(envelopes.length);
    const runs = [];
    let run = [];
    for (let i = 0; i < envelopes.length; i++) {
        const envelope = envelopes[i];
        if (typeof envelope !== "object" || envelope === null || Array.isArray(envelope)
                || Object.keys(envelope).length !== 5) return undefined;
        const {type, payload, tabId, ts, seq} = envelope;
        if (!namedFields(type, tabId, ts) || !Number.isSafeInteger(seq) || payload === undefined) return undefined;
        payloads[i] = payload;
        if (type === run[0] && tabId === run[1] && ts === run[2] && seq === run[3] + run[4]) run[4]++;
        else runs.push(run = [type, tabId, ts, seq, 1]);
    }
    // The runs' text nests its payloads as deep as the batch did (two levels, then each payload); its
    // scan, not the batch's, bounds what Python parses: a tenth of the text for small payloads.
    const runsText = JSON.stringify([runs, payloads]);
    return nestedWithin(runsText, payloadDepth + 2) ? runsText : undefined;
};
return (event) => {
    const data = event.data;
    // An array holding an envelope's fields as named properties is a list to the conversion.
    if (data === null || typeof data !== "object" || Object.getPrototypeOf(data) !== Object.prototype) return onValue(data);
    if (data.type === batchType && data.enc === "json" && data.v === version && typeof data.payload === "string") {
        const runsText = batchRuns(data.payload);
        if (runsText !== undefined) return onRuns(cross(runsText));  // JSON.stringify's text is well formed
        // Python parses such a batch without a depth bound of its own: the scan is its bound.
        // Long text as UTF-8 only if exact: no lone surrogate.
        if (nestedWithin(data.payload, payloadDepth + 2))
            return onBatch(data.payload.isWellFormed?.() === true ? cross(data.payload) : data.payload);
    }
    if (data.plain === true) {
        const {type, payload, tabId, ts, seq} = data;
        if (data.v === version && plainFields(type, tabId, ts) && Number.isSafeInteger(seq)) {
            if (exactScalar(payload)) return onScalarFields(type, payload, tabId, ts + 0, seq + 0);
            const payloadText = payloadTextWithin(payload);
            if (payloadText !== undefined) return onFields(type, cross(payloadText), tabId, ts + 0, seq + 0);
        }
        let text;
        try { text = JSON.stringify(data); } catch (error) { text = undefined; }  // a BigInt, a cycle
        if (typeof text === "string") return onText(cross(text));  // JSON.stringify's text is well formed
        return onValue(data);
    }
    // A JS peer's message in purrtabby's shape ({type, payload, tabId, ts}; v and seq optional) takes
    // the same calls when JSON carries its payload as the object's conversion would make it, its
    // fields as they are (no "+ 0": the call reads them as that conversion does). Converting the
    // whole object cost ~80 µs more in a cold Firefox tab, ~180 in Chromium. A "v" or "seq" that is
    // there but not plainly valid (undefined, null, another version) is left to that conversion and
    // decode().
    const {type, payload, tabId, ts, seq} = data;
    if (plainFields(type, tabId, ts) && (data.v === version || !Object.hasOwn(data, "v"))
            && (Number.isSafeInteger(seq) || !Object.hasOwn(data, "seq")) && onlyEnvelopeKeys(data)) {
        if (exactScalar(payload)) return onScalarFields(type, payload, tabId, ts, seq);
        const payloadText = jsonExact(payload, payloadDepth + 1, new Set()) ? payloadTextWithin(payload) : undefined;
        if (payloadText !== undefined) return onFields(type, cross(payloadText), tabId, ts, seq);
    }
    return onValue(data);
};""")
# A lone plain envelope built in JS, in lone_envelope's shape and key order: the fields cross as
# they are, the payload as itself when the call converts it exactly (see post_envelope), else as
# the JSON text Python encodes.
_envelope_poster = js.Function.new("channel", "version", """return (type, payload, isText, tabId, ts, seq) =>
    channel.postMessage({type, payload: isText ? JSON.parse(payload) : payload, tabId, ts, v: version, seq, plain: true});""")


# A JSON batch built in JS, as encode_json_batch shapes it: the text crosses as one string, not
# inside a dict the call converts key by key (~0.2 µs a message in a 500-message batch).
_json_batch_poster = js.Function.new("channel", "version", "batchType", """return (payload, tabId, ts) =>
    channel.postMessage({type: batchType, payload, tabId, ts, v: version, enc: "json"});""")

# The same batch, its (ASCII) text crossing as bytes and made a string in JS. Firefox posts text
# Pyodide made from a Python str (a character at a time, with +=) slowly: a 500-message batch,
# 37,781 characters, took 280-320 µs to cross and post, against 100-160 µs this way. Chromium and
# WebKit post Pyodide's text fastest (25 and 60-80 µs; this way 150-235 and 280-360), so only
# Gecko takes this way. The object posted is the same either way.
_json_batch_from_bytes_poster = js.Function.new("channel", "version", "batchType", """return (bytes, tabId, ts) => {
    const chunks = [];  // a chunk at a time: engines bound how many arguments apply() may pass
    for (let i = 0; i < bytes.length; i += 16384) chunks.push(String.fromCharCode.apply(null, bytes.subarray(i, i + 16384)));
    channel.postMessage({type: batchType, payload: chunks.join(""), tabId, ts, v: version, enc: "json"});
};""")
BATCH_TEXT_AS_BYTES = re.search(r"\bGecko/\d", js.navigator.userAgent) is not None  # a window or a worker


_MAX_SAFE_INT = 2**53 - 1  # JS's Number.MAX_SAFE_INTEGER


class BrowserChannel:
    def __init__(self, name: str, on_message: Callable[[Any], None], on_bad_message: Callable[[str], None],
                 on_fields: Callable[[str, Any, str, float, int], None]) -> None:
        self._proxies = Proxies()
        self._channel = js.BroadcastChannel.new(name)
        self._post_object = bound(self._channel, "postMessage")
        self._post_plain_envelope = _envelope_poster(self._channel, PROTOCOL_VERSION)
        self._post_json_batch = _json_batch_poster(self._channel, PROTOCOL_VERSION, BATCH_TYPE)
        self._post_json_batch_bytes = (_json_batch_from_bytes_poster(self._channel, PROTOCOL_VERSION, BATCH_TYPE)
                                       if BATCH_TEXT_AS_BYTES else None)
        # The receiver's own callback: a frame between would cost a lone message 2-3 µs (cold, Firefox).
        on_scalar_fields = self._proxies.create(on_fields)
        on_json_fields = self._proxies.create(lambda type, payload_text, tab_id, ts, seq: on_fields(
            type, loads_checked(text_of(payload_text)), tab_id, ts, seq))
        on_text = self._proxies.create(lambda text: on_message(JsonText(text_of(text))))
        on_batch = self._proxies.create(lambda text: on_message(JsonBatchText(text_of(text))))
        on_runs = self._proxies.create(lambda text: on_message(JsonRunsText(text_of(text))))
        on_value = self._proxies.create(lambda data: _receive_value(data, on_message, on_bad_message))
        self._listeners = {
            "message": _listener(on_scalar_fields, on_json_fields, on_text, on_batch, on_runs, on_value, PROTOCOL_VERSION,
                                 BATCH_TYPE, MAX_DEPTH, cross_text),
            "messageerror": self._proxies.create(lambda event: on_bad_message("message could not be deserialized")),
        }
        for kind, listener in self._listeners.items():
            self._channel.addEventListener(kind, listener)
        self._on_fatal = FATAL.add(bound(self._channel, "close"))  # a dead tab stops answering

    def post(self, data: Any) -> None:
        try:
            self._post_object(to_js_value(data))
        except JsException as exc:
            raise TypeError(f"payload cannot be cloned: {exc}") from exc

    def post_envelope(self, type: str, payload: Any, tab_id: str, ts: float, seq: int, plain: bool) -> None:
        if not plain:
            self.post(lone_envelope(type, payload, tab_id, ts, seq, plain))
            return
        kind = payload.__class__
        # The call makes a JS number of an int short of 2**53 (from there on a BigInt) and of a
        # plain (finite) float, and converts a bool and ASCII text exactly; other text may hold a
        # lone surrogate, which only JSON text carries.
        try:
            if ((kind is int and -_MAX_SAFE_INT <= payload <= _MAX_SAFE_INT) or kind is float or kind is bool
                    or (kind is str and payload.isascii())):
                self._post_plain_envelope(type, payload, False, tab_id, ts, seq)
            else:
                self._post_plain_envelope(type, plain_json(payload), True, tab_id, ts, seq)
        except JsException as exc:
            raise TypeError(f"payload cannot be cloned: {exc}") from exc

    def post_json_batch(self, items: list[str], tab_id: str, ts: float) -> None:
        text = json_batch_text(items)
        # Short text costs Firefox little either way; a batch's text is ASCII (its writer escapes the rest).
        if self._post_json_batch_bytes is not None and len(text) > LONG_TEXT and text.isascii():
            self._post_json_batch_bytes(uint8_array(text.encode("ascii")), tab_id, ts)
        else:
            self._post_json_batch(text, tab_id, ts)

    def close(self) -> None:
        FATAL.discard(self._on_fatal)
        for kind, listener in self._listeners.items():
            self._channel.removeEventListener(kind, listener)
        self._channel.close()
        self._proxies.destroy_all()


def _receive_value(data: Any, on_message: Callable[[Any], None], on_bad_message: Callable[[str], None]) -> None:
    try:
        value = to_py_value(data)
    except Exception as exc:  # a JS value to_py cannot convert must not break the tab
        items = _object_batch_items(data)
        if items is None:
            on_bad_message(f"unconvertible data: {exc}")
            return
        # An envelope the conversion fails on (Pyodide's to_py throws on an own "constructor": null
        # key) costs only itself: the batch's others arrive, in order, each as a batch of one.
        for item in items:
            try:
                converted = to_py_value(item)
            except Exception as item_exc:
                on_bad_message(f"unconvertible data: {item_exc}")
            else:
                on_message({"type": BATCH_TYPE, "v": PROTOCOL_VERSION, "payload": [converted]})
        return
    on_message(value)


def _object_batch_items(data: Any) -> Any:
    """The envelopes of a batch ``decode_all`` reads as a list of objects, else None."""
    try:
        if data.type == BATCH_TYPE and data.v == PROTOCOL_VERSION and js.Array.isArray(data.payload):
            return data.payload
    except AttributeError:  # not a JS object, or one without those fields
        pass
    return None
