"""The wire envelope that crosses BroadcastChannel, and its validation.

Each message is one plain object in purrtabby's shape, ``{type, payload, tabId, ts}``,
plus pytabby's ``v`` (protocol version) and ``seq`` (per-tab sequence number), and
``plain: true`` when JSON carries the payload exactly (no bytes, no int beyond 2**53).
Messages without ``v``/``seq`` (purrtabby or hand-written JS) are accepted.
A burst of messages (see ``TabBus``) travels as one object of the same
shape with type ``"pytabby:batch"`` and the envelopes, in order, as payload:
as one JSON string (``enc: "json"``, far cheaper to cross into JS than many
objects) when JSON carries every payload exactly, else as a list of envelope
objects. The envelopes inside a batch leave out ``v`` and ``plain``: the batch
carries the version, and a missing ``v`` reads as this one.

    >>> raw = encode("greet", {"hi": 1}, tab_id="t1", ts=1.0, seq=0)
    >>> decode(raw).payload
    {'hi': 1}
"""

from __future__ import annotations

import json
import json.encoder
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar, dataclass_transform

from ..errors import MalformedEnvelopeError
from . import safe_json

PROTOCOL_VERSION = 1
MAX_DEPTH = 64
BATCH_TYPE = "pytabby:batch"
MAX_EXACT_INT = 2**53  # JSON.parse turns larger ints into inexact numbers
_MIN_EXACT_INT = -MAX_EXACT_INT  # made once: negating a big int allocates

_SCALARS = (type(None), bool, int, float, str, bytes)
_BINARY = (bytes, bytearray, memoryview)
_TEXT_SCALARS = frozenset((str, bool, type(None)))  # JSON carries them exactly, whatever their value


class JsonText(str):
    """The JSON text of one received wire object: whatever it parses to is a valid payload."""


class JsonBatchText(str):
    """The payload of a received JSON batch, whose nesting the receiving edge already found within
    ``MAX_DEPTH + 2`` (the list and each envelope add two levels above the payloads')."""


class JsonRunsText(str):
    """A received JSON batch as the receiving edge re-read it: ``[runs, payloads]``, each run
    ``[type, tab_id, ts, first_seq, count]`` for consecutive envelopes sharing type, tab id and ts,
    ``payloads`` every envelope's payload in order. The edge hands a batch over this way only when
    every envelope gets through ``decode_all``'s inline checks and this text holds each field's and
    payload's JSON exactly as the batch did (so it parses to the same values), nested as deep."""


_Record = TypeVar("_Record")


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def _read_only(cls: type[_Record]) -> type[_Record]:
    """A slotted dataclass that type checkers hold frozen (an assignment to a field is an error) and
    that hashes as a frozen one, without a frozen dataclass's run-time guard: building one costs a
    plain ``__init__``, where a frozen one's sets each field through ``object.__setattr__`` (or a
    second class swapped in) and cost a lone message ~20 µs more each way, cold, in Firefox."""
    return dataclass(slots=True, unsafe_hash=True)(cls)


@_read_only
class Message:
    """One bus message as every tab sees it; ``ts`` is milliseconds since the epoch. Read-only."""

    type: str
    payload: Any
    tab_id: str
    ts: float
    seq: int | None = field(default=None, compare=False)

    # Written out, not the dataclass's __init__ with a __post_init__: one frame fewer, and a
    # str's class checked before isinstance (Firefox, 20,000 in a row: 0.41 -> 0.33 µs a Message).
    def __init__(self, type: str, payload: Any, tab_id: str, ts: float, seq: int | None = None) -> None:
        if (type.__class__ is not str and not isinstance(type, str)) or not type:
            raise TypeError("Message.type must be a non-empty str")
        if tab_id.__class__ is not str and not isinstance(tab_id, str):
            raise TypeError("Message.tab_id must be a str")
        fields: Any = self  # the one place a Message's fields are set: type checkers hold them read-only
        fields.type = type
        fields.payload = payload
        fields.tab_id = tab_id
        fields.ts = ts
        fields.seq = seq


def check_payload(payload: Any) -> bool:
    """Raise ``TypeError`` naming the first part of ``payload`` that cannot cross tabs.

    Allowed: None, bool, int (any size: beyond 2**53 it travels as a JS BigInt),
    float, str, bytes-like (a ``Uint8Array``), list/tuple, dict with str keys.
    Returns whether JSON carries it exactly (no bytes, no int beyond 2**53, no NaN or infinity).
    """
    kind = type(payload)  # scalars first, without the walk's call: most payloads are
    if kind is int:
        return _MIN_EXACT_INT <= payload <= MAX_EXACT_INT  # type: ignore[no-any-return]
    if kind in _TEXT_SCALARS:
        return True
    if kind is float:
        return math.isfinite(payload)
    try:
        return _check(payload, 0, None)
    except _Unsendable as first:
        error = first
    if error.too_deep:  # or a cycle, which the walk without a set of what it is inside meets as depth
        try:
            _check(payload, 0, set())
        except _Unsendable as exact:
            error = exact
    raise TypeError(f"payload{''.join(reversed(error.path))}: {error.reason}") from None


class _Unsendable(Exception):
    """What ``_check`` found; each enclosing container adds its key on the way out, so the
    path to the bad part is only spelled out when there is one."""

    def __init__(self, reason: str, too_deep: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.too_deep = too_deep
        self.path: list[str] = []


def _check(value: Any, depth: int, inside: set[int] | None) -> bool:
    """Whether JSON carries ``value`` exactly; raises ``_Unsendable`` for what cannot cross.

    ``value`` is never a leaf JSON carries (str, bool, None, an int within 2**53, a finite float):
    ``check_payload`` and the loop below judge those themselves, without a call.
    ``inside``: ids of the containers being walked, to tell a cycle from depth; None on the first
    walk, which costs a set, an id and two set operations less per container (a cycle still ends
    it, at ``MAX_DEPTH``).
    """
    if isinstance(value, _SCALARS) or isinstance(value, _BINARY):
        return False  # bytes, an int beyond 2**53, NaN, infinity, a scalar's subclass: sent as objects
    if depth >= MAX_DEPTH:
        raise _Unsendable(f"nested deeper than {MAX_DEPTH} levels", too_deep=True)
    if not isinstance(value, (list, tuple, dict)):
        raise _Unsendable(f"{type(value).__name__} cannot be sent between tabs "
                          "(use None, bool, int, float, str, bytes, list, tuple or dict with str keys)")
    if inside is not None:
        if id(value) in inside:
            raise _Unsendable("contains itself (a cycle cannot be sent)")
        inside.add(id(value))
    clean = True
    entries: Iterable[tuple[Any, Any]]
    if isinstance(value, dict):
        is_dict, entries = True, value.items()
    else:
        is_dict, entries = False, enumerate(value)
    for key, item in entries:
        if is_dict and not isinstance(key, str):
            raise _Unsendable(f"dict keys must be str, got {type(key).__name__}")
        kind = type(item)  # leaves JSON carries, inline: a call per leaf was most of a small dict's check
        if (kind is str or kind is bool or item is None or (kind is int and _MIN_EXACT_INT <= item <= MAX_EXACT_INT)
                or (kind is float and math.isfinite(item))):
            continue
        try:
            clean = _check(item, depth + 1, inside) and clean
        except _Unsendable as exc:
            exc.path.append(f"[{key!r}]")
            raise
    if inside is not None:
        inside.discard(id(value))
    return clean


def check_message(type: str, payload: Any) -> bool:
    """Raise ``TypeError`` for a bad type or payload; return whether JSON carries the payload exactly."""
    if (type.__class__ is not str and not isinstance(type, str)) or not type:
        raise TypeError(f"message type must be a non-empty str, got {type!r}")
    if payload.__class__ is int:  # the commonest payload, without check_payload's frame
        return _MIN_EXACT_INT <= payload <= MAX_EXACT_INT
    return check_payload(payload)


def encode(type: str, payload: Any, *, tab_id: str, ts: float, seq: int) -> dict[str, Any]:
    """Build the wire dict for one message; raises ``TypeError`` for a bad type or payload."""
    return lone_envelope(type, payload, tab_id, ts, seq, check_message(type, payload))


def lone_envelope(type: str, payload: Any, tab_id: str, ts: float, seq: int, plain: bool) -> dict[str, Any]:
    """The wire dict of one message whose type and payload ``check_message`` passed (``plain``: its verdict)."""
    wire = {"type": type, "payload": payload, "tabId": tab_id, "ts": ts, "v": PROTOCOL_VERSION, "seq": seq}
    if plain:
        wire["plain"] = True  # JSON carries it exactly: the browser edge may cross it as JSON text
    return wire


def held_copy(payload: Any) -> Any:
    """``payload`` as it is now, as structured clone copies it at ``postMessage``: dicts, and lists
    and tuples as lists, copied all the way down, byte buffers as bytes; what cannot change is
    shared. For a message that leaves later (a burst's, at the loop turn's end) and for the fake
    channel's clone; ``check_payload`` passed it, so no cycle and a bounded depth."""
    if isinstance(payload, dict):
        return {key: held_copy(value) for key, value in payload.items()}
    if isinstance(payload, (list, tuple)):
        return [held_copy(item) for item in payload]
    if isinstance(payload, (bytearray, memoryview)):
        return bytes(payload)
    return payload


def batch_item(type: str, payload: Any, tab_id: str, ts: float, seq: int) -> dict[str, Any]:
    """One envelope inside a batch, from a type and payload ``check_message`` passed."""
    return {"type": type, "payload": payload, "tabId": tab_id, "ts": ts, "seq": seq}


encode_json_str = json.encoder.encode_basestring_ascii
# json.dumps's own C encoder, made once (dumps makes one per call), for what check_payload found
# plain: no cycle, no NaN, no bytes. Its output is json.dumps's with separators=(",", ":").
_encode_plain: Any = json.encoder.c_make_encoder(  # type: ignore[attr-defined]
    None, None, encode_json_str, None, ":", ",", False, False, True)


MAX_KEPT_HEADS = 64


def plain_json(payload: Any) -> str:
    """The JSON text of a payload ``check_payload`` found plain."""
    return "".join(_encode_plain(payload, 0))


BatchRow = tuple[str, "int | str", float, int]
"""A plain message waiting in a burst for its batch's text: type, payload, ts, seq. The payload is an
int, else its JSON text, written when it was published: a list or dict may change after."""


def batch_row(type: str, payload: Any, ts: float, seq: int) -> BatchRow:
    """The ``BatchRow`` of a message whose payload ``check_message`` found plain."""
    return (type, payload if payload.__class__ is int else plain_json(payload), ts, seq)


class JsonBatchWriter:
    """The JSON text of each ``BatchRow``'s envelope (``batch_item``'s), as ``json.dumps`` writes it
    but for a timestamp in whole ms (written without ``.0``, as ``JSON.stringify`` does, see
    ``JsonRunsText``), for one tab.

    Written by hand, from parts made once: a dict per message and the encoder's walk over its keys
    cost twice as much (Pyodide, 500-message bursts). The text before a type's payload is kept per
    type, and the text after it while the clock reads the same: the clock advances in steps of
    5 µs to 1 ms, so the messages of a burst often share a reading, and ``repr`` of a float costs
    ~1 µs in Pyodide. A batch's rows are written in one loop when it is posted, not a call each at
    ``publish`` (a burst's ``publish``, 20,000 in a row: 1.61 -> 1.44 µs Chromium, 2.35 -> 2.15
    Firefox, 1.85 -> 1.70 WebKit); an int payload is formatted in the f-string (Firefox: 50 against
    150 ns for a ``repr`` call).
    """

    __slots__ = ("_tab_id_json", "_ts", "_after_payload", "_heads")

    def __init__(self, tab_id: str) -> None:
        self._tab_id_json = encode_json_str(tab_id)
        self._ts = math.nan  # unequal to every reading: the first row writes its text
        self._after_payload = ""
        self._heads: dict[str, str] = {}

    def texts(self, rows: list[BatchRow]) -> list[str]:
        texts: list[str] = []
        append = texts.append
        heads = self._heads
        last_ts, after = self._ts, self._after_payload
        last_type, head = None, ""
        for message_type, payload, ts, seq in rows:
            if ts != last_ts or not ts:  # a zero may be -0.0, written apart
                ts_text = repr(ts)
                if ts_text.endswith(".0") and ts:  # as JS writes it (a clock in whole ms: Firefox, WebKit)
                    ts_text = ts_text[:-2]
                after = f',"tabId":{self._tab_id_json},"ts":{ts_text},"seq":'
                last_ts = ts
            if message_type != last_type:
                cached = heads.get(message_type)
                if cached is None:
                    if len(heads) >= MAX_KEPT_HEADS:  # a tab making up types as it goes keeps no more
                        heads.clear()
                    cached = heads[message_type] = f'{{"type":{encode_json_str(message_type)},"payload":'
                head, last_type = cached, message_type
            append(f"{head}{payload}{after}{seq}}}")
        self._ts, self._after_payload = last_ts, after
        return texts


def json_batch_text(items: list[str]) -> str:
    """The payload of a JSON batch: the JSON list of ``JsonBatchWriter`` envelopes."""
    return f"[{','.join(items)}]"


def encode_json_batch(items: list[str], *, tab_id: str, ts: float) -> dict[str, Any]:
    """One wire object carrying ``JsonBatchWriter`` envelopes as one JSON string."""
    return {"type": BATCH_TYPE, "payload": json_batch_text(items), "tabId": tab_id, "ts": ts,
            "v": PROTOCOL_VERSION, "enc": "json"}


def encode_batch(wires: list[dict[str, Any]], *, tab_id: str, ts: float) -> dict[str, Any]:
    """One wire object carrying ``batch_item`` envelopes as objects (some payload is not plain)."""
    return {"type": BATCH_TYPE, "payload": wires, "tabId": tab_id, "ts": ts, "v": PROTOCOL_VERSION}


_BATCH_TOO_DEEP = f"a JSON batch nested deeper than {MAX_DEPTH} levels of payload"
_BATCH_NOT_JSON = "a JSON batch that is not valid JSON"


def decode_all(raw: Any) -> list[Message | MalformedEnvelopeError]:
    """The messages in a received object (one, or each of a batch), invalid ones as errors."""
    if type(raw) is JsonRunsText:
        return _decode_runs(raw)
    if type(raw) is JsonBatchText:
        try:
            inner = safe_json.loads_checked(raw)
        except ValueError:  # invalid text the edge's scan passed (a stray "]"): Python's own check picks the reason
            too_deep = safe_json.depth_exceeds(raw, MAX_DEPTH + 2)
            return [MalformedEnvelopeError(_BATCH_TOO_DEEP if too_deep else _BATCH_NOT_JSON, raw)]
        return _decode_json_items(inner, raw)
    from_text = type(raw) is JsonText
    if from_text:
        try:
            raw = safe_json.loads(raw, max_depth=MAX_DEPTH + 1)  # the envelope adds one level
        except safe_json.JSONTooDeepError:
            return [MalformedEnvelopeError(f"a payload nested deeper than {MAX_DEPTH} levels", raw)]
        except ValueError:
            return [MalformedEnvelopeError("an object whose JSON text is not valid JSON", raw)]
    if not (isinstance(raw, dict) and raw.get("type") == BATCH_TYPE and raw.get("v") == PROTOCOL_VERSION):
        return [_decode_or_error(raw, trusted_payload=from_text)]
    inner = raw.get("payload")
    from_json = raw.get("enc") == "json" and isinstance(inner, str)
    if from_json and isinstance(inner, str):
        try:
            # The list and each envelope add two levels above the payloads' own MAX_DEPTH.
            inner = safe_json.loads(inner, max_depth=MAX_DEPTH + 2)
        except safe_json.JSONTooDeepError:
            return [MalformedEnvelopeError(_BATCH_TOO_DEEP, raw)]
        except ValueError:
            return [MalformedEnvelopeError(_BATCH_NOT_JSON, raw)]
    if not from_json:
        if not isinstance(inner, list):
            return [MalformedEnvelopeError("a batch's payload must be a list", raw)]
        return [_decode_or_error(item, trusted_payload=False) for item in inner]
    return _decode_json_items(inner, raw)


def _decode_json_items(inner: Any, received: Any) -> list[Message | MalformedEnvelopeError]:
    """The envelopes of a parsed JSON batch; ``received`` is what arrived, for the error."""
    if not isinstance(inner, list):
        return [MalformedEnvelopeError("a batch's payload must be a list", received)]
    items: list[Message | MalformedEnvelopeError] = []
    append = items.append
    # Whatever bounded JSON decodes to is a valid payload, so JSON batches skip the payload walk,
    # and an envelope as pytabby writes it is checked and built inline (hundreds per event);
    # anything else takes decode() for its exact verdict.
    for item in inner:
        # Exactly the five keys pytabby writes, read by subscript (a `get` call each costs more);
        # anything else, "v" included, takes decode() for its verdict.
        if type(item) is dict and len(item) == 5:
            try:
                message_type, payload, tab_id, ts, seq = (item["type"], item["payload"], item["tabId"], item["ts"],
                                                          item["seq"])
            except KeyError:
                pass
            else:
                if type(ts) is int and _MIN_EXACT_INT <= ts <= MAX_EXACT_INT:  # a whole ms, as JSON writes it
                    ts = float(ts)
                if (type(message_type) is str and message_type and type(tab_id) is str and tab_id
                        and type(ts) is float and ts - ts == 0.0  # finite: inf - inf and nan - nan are nan
                        and type(seq) is int):
                    append(Message(message_type, payload, tab_id, ts, seq))
                    continue
        append(_decode_or_error(item, trusted_payload=True))
    return items


def _decode_runs(text: JsonRunsText) -> list[Message | MalformedEnvelopeError]:
    runs, payloads = safe_json.loads_checked(text)
    items: list[Message | MalformedEnvelopeError] = []
    payload_of = iter(payloads)
    # A message a payload: its fields parsed once a run, not once an envelope (a 500-message batch
    # in Firefox: the parse 1,150 -> 50 ns a message for int payloads). Built by a comprehension, not
    # append() and next() calls: 0.80 -> 0.63 µs a message (Firefox). zip() takes the seq first, so
    # it stops at the run's end without taking the next run's payload.
    for message_type, tab_id, ts, first_seq, count in runs:
        ts = float(ts)  # a whole ms crosses as an int literal
        items += [Message(message_type, payload, tab_id, ts, seq)
                  for seq, payload in zip(range(first_seq, first_seq + count), payload_of)]
    return items


def _decode_or_error(raw: Any, trusted_payload: bool) -> Message | MalformedEnvelopeError:
    try:
        return decode(raw, trusted_payload=trusted_payload)
    except MalformedEnvelopeError as exc:
        return exc


def decode(raw: Any, *, trusted_payload: bool = False) -> Message:
    """Turn a received wire object into a ``Message`` or raise ``MalformedEnvelopeError``."""
    if not isinstance(raw, dict):
        raise MalformedEnvelopeError(f"expected an object, got {_kind(raw)}", raw)
    version = raw.get("v", PROTOCOL_VERSION)
    if version != PROTOCOL_VERSION:
        raise MalformedEnvelopeError(f"unsupported protocol version {version!r}", raw)
    message_type = raw.get("type")
    if not isinstance(message_type, str) or not message_type:
        raise MalformedEnvelopeError("'type' must be a non-empty string", raw)
    tab_id = raw.get("tabId")
    if not isinstance(tab_id, str) or not tab_id:
        raise MalformedEnvelopeError("'tabId' must be a non-empty string", raw)
    ts = raw.get("ts")
    if isinstance(ts, bool) or not isinstance(ts, (int, float)) or not _finite_float(ts):
        raise MalformedEnvelopeError("'ts' must be a finite number", raw)
    seq = raw.get("seq")
    if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int)):
        raise MalformedEnvelopeError("'seq' must be an integer when present", raw)
    payload = raw.get("payload")
    if not trusted_payload:
        try:
            check_payload(payload)
        except TypeError as exc:
            raise MalformedEnvelopeError(str(exc), raw) from None
    return Message(message_type, payload, tab_id, float(ts), seq)


def _finite_float(number: int | float) -> bool:
    try:
        return math.isfinite(number)
    except OverflowError:  # an int beyond float's range (JSON text can spell one)
        return False


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
