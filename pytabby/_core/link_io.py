"""What goes into and out of ``SocketLink``: the messages tabs exchange about the
shared socket, decoded once into frozen dataclasses; the effects the link asks its
driver to perform; one ``Connection`` object per socket; the heartbeat settings.

    >>> decode("frame", {"term": 1, "seq": 2, "data": "hi"}, sender="tab-1")
    FrameMsg(sender='tab-1', term=1, seq=2, data='hi')
    >>> decode("frame", {"term": 1e15, "seq": 2, "data": "hi"}, sender="tab-1") is None
    True
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Union

from .requests import Data, Reply, parse_reply

PING_PREFIX = "pytabby-ping:"

MAX_TERM = 2**53  # terms and ids beyond JS's safe integers are not ours

STATES = ("no-leader", "connecting", "open", "reconnecting", "closed")


@dataclass(frozen=True, slots=True)
class FrameMsg:
    sender: str
    term: int
    seq: int
    data: Data


@dataclass(frozen=True, slots=True)
class SendMsg:
    sender: str
    id: int
    first: int
    data: Data


@dataclass(frozen=True, slots=True)
class AckMsg:
    sender: str
    origin: str
    id: int


@dataclass(frozen=True, slots=True)
class StateMsg:
    """The leader's socket state; ``connection`` numbers its sockets within ``term``, ``seq`` its frames."""

    sender: str
    state: str
    term: int
    connection: int
    seq: int


@dataclass(frozen=True, slots=True)
class HelloMsg:
    sender: str


WireMessage = FrameMsg | SendMsg | AckMsg | StateMsg | HelloMsg


def decode(type: str, payload: Any, sender: str) -> WireMessage | None:
    """The protocol message in a bus message, or None when a field is missing or out of range."""
    fields = payload if isinstance(payload, dict) else {}
    data = fields.get("data")
    if type == "hello":
        return HelloMsg(sender)
    if type == "frame" and _count(fields, "term", "seq") and isinstance(data, (str, bytes)):
        return FrameMsg(sender, fields["term"], fields["seq"], data)
    if type == "send" and _count(fields, "id", "first") and isinstance(data, (str, bytes)):
        return SendMsg(sender, fields["id"], fields["first"], data)
    if type == "ack" and _count(fields, "id") and isinstance(fields.get("origin"), str):
        return AckMsg(sender, fields["origin"], fields["id"])
    if type == "state" and _count(fields, "term", "connection", "seq") and fields.get("state") in STATES:
        return StateMsg(sender, fields["state"], fields["term"], fields["connection"], fields["seq"])
    return None


def _count(fields: dict[str, Any], *names: str) -> bool:
    return all(type(fields.get(name)) is int and 0 <= fields[name] <= MAX_TERM for name in names)


class Connection:
    """One WebSocket attempt of one leader; the driver passes it back with each socket event."""

    __slots__ = ("number", "term")

    def __init__(self, term: int, number: int) -> None:
        self.term, self.number = term, number

    def __repr__(self) -> str:
        return f"<Connection term={self.term} #{self.number}>"


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Ping every ``interval`` s; close a connection silent for ``timeout`` s.

    Silent means no frame for ``timeout`` while a ping waits unanswered (for at
    least ``timeout - interval``): a tab whose timers the browser throttles pings
    late, and a quiet server that answers is not dropped. ``ping(n)`` makes the
    n-th ping frame; ``is_pong(data)`` says whether a frame answers one (it is
    then not delivered). The default suits the project's server: an ``echo``
    request with a ``pytabby-ping:`` id. Pongs are also the leader's proof that
    the server has what it wrote before the ping, so a server answers pings in
    the order they came (a server that sends the ping itself back answers it
    too); one that answers none gets acks by ``bufferedAmount``.
    """

    interval: float = 5.0
    timeout: float = 10.0
    ping: Callable[[int], str] = lambda n: json.dumps({"request_id": f"{PING_PREFIX}{n}", "op": "echo"})
    is_pong: Callable[[Data], bool] = lambda data: _answers_a_ping(parse_reply(data))

    def __post_init__(self) -> None:
        if not 0 < self.interval < self.timeout:
            raise ValueError("need 0 < heartbeat interval < timeout")


@dataclass(frozen=True, slots=True)
class Post:
    type: str
    payload: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Connect:
    connection: Connection


@dataclass(frozen=True, slots=True)
class Write:
    connection: Connection
    data: Data


@dataclass(frozen=True, slots=True)
class CloseSocket:
    connection: Connection
    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class RetryAfter:
    """Call ``tick`` after ``seconds`` to reconnect (replaces any earlier retry)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class TickAfter:
    """Call ``tick`` after ``seconds`` for the heartbeat (replaces any earlier one)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class CheckBuffer:
    """After ``seconds``, feed ``buffered`` the socket's ``bufferedAmount`` (replaces any earlier check)."""

    connection: Connection
    seconds: float


@dataclass(frozen=True, slots=True)
class ReadBuffer:
    """Feed ``buffered`` the socket's ``bufferedAmount`` now, with ``written``: the bytes the link had
    written when it asked (the writes before this effect, performed by then)."""

    connection: Connection
    written: int


@dataclass(frozen=True, slots=True)
class Deliver:
    data: Data


@dataclass(frozen=True, slots=True)
class SetState:
    state: str


@dataclass(frozen=True, slots=True)
class Answered:
    """``answer_id`` was answered: ``reply`` for a request, None for a confirmation."""

    answer_id: str
    reply: Reply | None


def _answers_a_ping(reply: Reply | None) -> bool:
    return reply is not None and reply.request_id.startswith(PING_PREFIX)


Effect = Union[
    Post, Connect, Write, CloseSocket, RetryAfter, TickAfter, CheckBuffer, ReadBuffer, Deliver, SetState, Answered,
]
