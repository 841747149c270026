"""Requests, replies and confirmations on the wire: the one place that knows their rules.

The server, ``pytabby.testing.FakeServer`` and ``SharedSocket`` all use it, so
they cannot drift apart.

Wire rules. A request is a JSON object text frame with ``"request_id": str``
and ``"op"``. Ops: ``echo`` (result = ``data``), ``delay`` (wait ``seconds``,
a finite number in ``[0, MAX_DELAY]``, else an error reply; then result =
``data``), ``ignore`` (never answered); any other op gets an error reply. A
reply is ``{"request_id": id, "result": ...}`` or ``{"request_id": id,
"error": ...}``. A confirmed send is a JSON object text frame carrying
``"confirm_id": str``: the server relays it like any frame and answers the
sender alone with ``{"confirmed": id}``. Every parse goes through
``safe_json.loads``, so no frame can nest deep enough to kill a tab.

The resend rule (``Awaiting``): a request or confirmed send that went out on a
connection and is still unanswered when a *new* connection opens (a reconnect
or a new leader) is written again, with the same id. The server answers on the
connection that asked, so the old one will never answer. A peer can therefore
see an id twice; the id is what it deduplicates by.

    >>> request = parse_request('{"request_id": "t-1", "op": "echo", "data": 5}')
    >>> answer(request).text
    '{"request_id": "t-1", "result": 5}'
    >>> parse_reply('{"request_id": "t-1", "result": 5}')
    Reply(request_id='t-1', result=5, error=None, is_error=False)
    >>> parse_confirmation(confirmation("t-c2"))
    't-c2'
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from .safe_json import loads

MAX_DELAY = 30.0  # seconds the server may hold a ``delay`` reply
OPS = ("echo", "delay", "ignore")

Data = str | bytes


@dataclass(frozen=True, slots=True)
class Request:
    """A parsed request: its id, op, ``data`` and the raw ``seconds`` field (checked by ``answer``)."""

    request_id: str
    op: Any
    data: Any = None
    seconds: Any = None


@dataclass(frozen=True, slots=True)
class Answer:
    """What to send back: ``text`` after ``delay`` seconds, or nothing when ``text`` is None."""

    text: str | None
    delay: float = 0.0


@dataclass(frozen=True, slots=True)
class Reply:
    request_id: str
    result: Any
    error: Any
    is_error: bool


def _object(data: Data, marker: str) -> dict[str, Any] | None:
    """``data`` as a JSON object if it is text that could hold ``marker``; None for anything else."""
    if not isinstance(data, str) or not data.lstrip().startswith("{") or marker not in data:
        return None
    try:
        parsed = loads(data)
    except ValueError:  # invalid, or nested past the bound (JSONTooDeepError): plain data
        return None
    return parsed if isinstance(parsed, dict) else None


def parse_request(data: Data) -> Request | None:
    """The request in ``data``, or None when it is not one (then it is an ordinary frame)."""
    parsed = _object(data, '"request_id"')
    if parsed is None or not isinstance(parsed.get("request_id"), str):
        return None
    return Request(parsed["request_id"], parsed.get("op"), parsed.get("data"), parsed.get("seconds"))


def answer(request: Request) -> Answer:
    """The server's answer to ``request``, by the wire rules above."""
    if request.op == "ignore":
        return Answer(None)
    if request.op == "echo":
        return Answer(_reply(request.request_id, result=request.data))
    if request.op == "delay":
        seconds = request.seconds
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds) \
                or not 0 <= seconds <= MAX_DELAY:
            return Answer(_reply(request.request_id,
                                 error=f"delay needs 'seconds': a number from 0 to {MAX_DELAY:g}"))
        return Answer(_reply(request.request_id, result=request.data), float(seconds))
    return Answer(_reply(request.request_id, error=f"unknown op {request.op!r} (known: {', '.join(OPS)})"))


def _reply(request_id: str, **field: Any) -> str:
    return json.dumps({"request_id": request_id, **field})


def parse_reply(data: Data) -> Reply | None:
    """The reply in ``data`` (``result`` or ``error`` for a ``request_id``), else None."""
    parsed = _object(data, '"request_id"')
    if parsed is None or not isinstance(parsed.get("request_id"), str):
        return None
    if "error" in parsed:
        return Reply(parsed["request_id"], None, parsed["error"], True)
    if "result" in parsed:
        return Reply(parsed["request_id"], parsed["result"], None, False)
    return None


def confirm_id_of(data: Data) -> str | None:
    """The ``confirm_id`` a frame asks the server to confirm, or None."""
    parsed = _object(data, '"confirm_id"')
    confirm_id = parsed.get("confirm_id") if parsed is not None else None
    return confirm_id if isinstance(confirm_id, str) else None


def confirmation(confirm_id: str) -> str:
    """The server's confirmation frame for ``confirm_id``."""
    return json.dumps({"confirmed": confirm_id})


def parse_confirmation(data: Data) -> str | None:
    """The id a confirmation frame confirms, or None."""
    parsed = _object(data, '"confirmed"')
    confirmed = parsed.get("confirmed") if parsed is not None and len(parsed) == 1 else None
    return confirmed if isinstance(confirmed, str) else None


class Awaiting:
    """Ids this tab awaits an answer for (requests and confirmed sends), with the text that asks.

    Ids are ``<tab_id>-<n>`` for requests and ``<tab_id>-c<n>`` for confirmed
    sends: unique across the tabs of an app, never reused by a tab. A text is
    queued (the outbox carries it) until ``written`` says which connection it
    went out on.

        >>> waiting = Awaiting("tab-1")
        >>> rid = waiting.new_request_id(); rid
        'tab-1-1'
        >>> waiting.add(rid, '{"request_id": "tab-1-1", "op": "ignore"}')
        >>> waiting.written(rid, connection=(1, 1))
        >>> waiting.resend_on((1, 1))  # same connection: it may still answer
        []
        >>> waiting.resend_on((1, 2))  # a new one: ask again, with the same id
        [('tab-1-1', '{"request_id": "tab-1-1", "op": "ignore"}')]
    """

    def __init__(self, tab_id: str) -> None:
        self._tab_id = tab_id
        self._numbers = itertools.count(1)
        self._texts: dict[str, str] = {}
        self._sent_on: dict[str, Hashable] = {}  # None while queued

    def __len__(self) -> int:
        return len(self._texts)

    def __contains__(self, answer_id: object) -> bool:
        return answer_id in self._texts

    def new_request_id(self) -> str:
        return f"{self._tab_id}-{next(self._numbers)}"

    def new_confirm_id(self) -> str:
        return f"{self._tab_id}-c{next(self._numbers)}"

    def add(self, answer_id: str, text: str) -> None:
        """Await an answer to ``text``, which is queued to go out."""
        self._texts[answer_id] = text
        self._sent_on[answer_id] = None

    def written(self, answer_id: str, connection: Hashable) -> None:
        """``answer_id``'s text went out on ``connection``."""
        if answer_id in self._texts:
            self._sent_on[answer_id] = connection

    def forget(self, answer_id: str) -> bool:
        """Stop awaiting (answered, timed out or cancelled); whether it was awaited."""
        self._sent_on.pop(answer_id, None)
        return self._texts.pop(answer_id, None) is not None

    def resend_on(self, connection: Hashable) -> list[tuple[str, str]]:
        """The resend rule: ``(id, text)`` to queue again now that ``connection`` is open, oldest first.

        Only texts written on another connection: a queued one goes out anyway.
        """
        again = [i for i, sent_on in self._sent_on.items() if sent_on is not None and sent_on != connection]
        for answer_id in again:
            self._sent_on[answer_id] = None
        return [(answer_id, self._texts[answer_id]) for answer_id in again]
