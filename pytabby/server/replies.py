"""The hub's answers: requests answered on their own connection, confirmed sends confirmed.

Interim copy of the wire rules owned by ``pytabby._core.requests`` (see INTERFACES.md), with
the same names, so the hub switches over by changing one import. A request is a JSON object
with ``"request_id"`` and ``"op"``; a confirmed send is a JSON object with ``"confirm_id"``.
"""

from __future__ import annotations

from json import dumps
from dataclasses import dataclass
from typing import Any

from pytabby._core.safe_json import loads

MAX_DELAY = 60.0
KNOWN_OPS = ("echo", "delay", "ignore")


@dataclass(frozen=True, slots=True)
class Request:
    request_id: str
    op: Any
    fields: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Answer:
    """``text`` to send back after ``delay`` seconds; ``text`` is None when there is no reply."""

    text: str | None
    delay: float = 0.0


def _json_object(data: str | bytes, key: str) -> dict[str, Any] | None:
    if not isinstance(data, str) or f'"{key}"' not in data or not data.lstrip().startswith("{"):
        return None  # cheap rejections first: most frames are neither requests nor confirmed sends
    try:
        parsed = loads(data)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) and isinstance(parsed.get(key), str) else None


def parse_request(data: str | bytes) -> Request | None:
    """The request ``data`` carries, or None when it is an ordinary frame."""
    parsed = _json_object(data, "request_id")
    if parsed is None or "op" not in parsed:
        return None
    return Request(parsed["request_id"], parsed["op"], parsed)


def _reply(request: Request, **outcome: Any) -> str:
    return dumps({"request_id": request.request_id, **outcome})


def answer(request: Request) -> Answer:
    """What the server replies to ``request``: ``echo`` at once, ``delay`` later, ``ignore`` never."""
    if request.op == "echo":
        return Answer(_reply(request, result=request.fields.get("data")))
    if request.op == "ignore":
        return Answer(None)
    if request.op == "delay":
        seconds = request.fields.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= MAX_DELAY:
            return Answer(_reply(request, error=f"delay needs seconds: a number from 0 to {MAX_DELAY:g}, not {seconds!r}"))
        return Answer(_reply(request, result=request.fields.get("data")), float(seconds))
    return Answer(_reply(request, error=f"unknown op {request.op!r} (known: {', '.join(KNOWN_OPS)})"))


def confirm_id_of(data: str | bytes) -> str | None:
    """The confirmation id a frame asks to be confirmed with, if any."""
    parsed = _json_object(data, "confirm_id")
    return None if parsed is None else str(parsed["confirm_id"])


def confirmation(confirm_id: str) -> str:
    """The frame the server sends back to the sender once a confirmed frame is relayed."""
    return dumps({"confirmed": confirm_id})
