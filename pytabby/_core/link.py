"""``SocketLink``: the shared socket's protocol with no I/O (feed inputs, drain effects).

Theory of operation. Every tab has one link. The tab that leads (``acquired``)
owns the WebSocket: it emits ``Connect`` with a fresh ``Connection`` object,
and socket events of any other connection object are ignored, so a replaced
socket can never act. Each server frame is numbered ``(term, seq)`` and posted
to every tab (``Post``); each tab delivers it (``Deliver``) after checking
that it comes from the leader the elector knows, in its term, in order.

A tab's ``send`` enters its ``Outbox`` and is posted to the leader, whose
``Forwarder`` writes it (``Write``) once the socket is open, then posts an
ack; the tab keeps it until that ack. On a leader change every tab posts its
outbox again, so nothing unacknowledged is lost (see ``routing``). Requests
and confirmed sends also wait in ``Awaiting`` for their answer and follow
its resend rule: written on a connection that closed unanswered, they are sent
again, with the same id, when the next one opens (see ``requests``).

The leader's heartbeat: while open it writes a ping every ``interval``; any
frame counts as a sign of life, and a connection silent for ``timeout`` is
closed and replaced, as if the server had dropped it.

The leader's connection moves only along this table (role × input -> role);
any other move raises ``IllegalMove`` and changes nothing:

    follower      acquired -> connecting
    connecting    opened -> open       closed -> reconnecting   lost -> follower
    open          closed, silent -> reconnecting                lost -> follower
    reconnecting  retry -> reconnecting  opened -> open  closed -> reconnecting
                  give_up -> stopped   lost -> follower
    stopped       lost -> follower
    (every role)  close -> done

    >>> link = SocketLink("tab-1", backoff=lambda: iter([1.0]), heartbeat=None)
    >>> link.acquired(term=1)
    >>> *_, connect = link.effects(); connect
    Connect(connection=<Connection term=1 #1>)
    >>> link.opened(connect.connection, now=0.0)
    >>> link.server_frame(connect.connection, "hi", now=0.1)
    >>> link.effects()[-1]
    Post(type='frame', payload={'term': 1, 'seq': 1, 'data': 'hi'})
    >>> link.acquired(term=2)
    Traceback (most recent call last):
    ...
    pytabby._core.link.IllegalMove: 'acquired' is not allowed while 'open'
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, Union

from .requests import Awaiting, Reply, parse_confirmation, parse_reply
from .routing import AckMsg, Data, Forwarder, FrameMsg, FrameOrder, HelloMsg, Outbox, SendMsg, StateMsg, WireMessage
from .safe_json import MAX_JSON_DEPTH, depth_exceeds

Role = Literal["follower", "connecting", "open", "reconnecting", "stopped", "done"]
TRANSITIONS: dict[str, dict[str, Role]] = {
    "follower": {"acquired": "connecting", "close": "done"},
    "connecting": {"opened": "open", "closed": "reconnecting", "lost": "follower", "close": "done"},
    "open": {"closed": "reconnecting", "silent": "reconnecting", "lost": "follower", "close": "done"},
    "reconnecting": {"retry": "reconnecting", "opened": "open", "closed": "reconnecting",
                     "give_up": "stopped", "lost": "follower", "close": "done"},
    "stopped": {"lost": "follower", "close": "done"},
    "done": {},
}
_SHOWN = {"connecting": "connecting", "open": "open", "reconnecting": "reconnecting", "stopped": "closed"}


class IllegalMove(RuntimeError):
    """An input the link's current role does not allow (a bug in the driver)."""


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

    ``ping(n)`` makes the n-th ping frame; ``is_pong(data)`` says whether a
    frame answers one (it is then not delivered). The default suits the
    project's server: an ``echo`` request with a ``pytabby-ping:`` id.
    """

    interval: float = 5.0
    timeout: float = 10.0
    ping: Callable[[int], str] = lambda n: f'{{"request_id": "pytabby-ping:{n}", "op": "echo"}}'
    is_pong: Callable[[Data], bool] = lambda data: isinstance(data, str) and data.startswith(
        '{"request_id": "pytabby-ping:')

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


Effect = Union[Post, Connect, Write, CloseSocket, RetryAfter, TickAfter, Deliver, SetState, Answered]


class SocketLink:
    def __init__(self, tab_id: str, *, queue_limit: int = 1000, reconnect: bool = True,
                 backoff: Callable[[], Iterator[float]], heartbeat: Heartbeat | None = Heartbeat()) -> None:
        self.tab_id = tab_id
        self.role: Role = "follower"
        self.state = "no-leader"  # as every tab shows it
        self.leader_id: str | None = None
        self.term = 0
        self.outbox = Outbox(queue_limit)
        self.awaiting = Awaiting(tab_id)
        self.order = FrameOrder()
        self.refused = 0  # protocol messages ignored: not from the leader, or out of bounds
        self.deep_frames = 0  # reply-like frames nested past the JSON bound, left unparsed
        self._reconnect, self._backoff, self._heartbeat = reconnect, backoff, heartbeat
        self._forwarder = Forwarder()
        self._effects: list[Effect] = []
        self._connection: Connection | None = None
        self._connections = 0
        self._seq = 0
        self._delays: Iterator[float] = backoff()
        self._retry_at: float | None = None
        self._heard_at = self._ping_at = 0.0
        self._pings = 0
        self._answer_of: dict[int, str] = {}  # outbox id -> awaited answer id
        self._open_seen: tuple[int, int] | None = None  # the leader's open connection, as last announced

    def effects(self) -> list[Effect]:
        effects, self._effects = self._effects, []
        return effects

    # -- every tab -------------------------------------------------------------

    def send(self, data: Data, answer_id: str | None = None, *, over_limit: bool = False) -> None:
        """Queue ``data`` for the server; with ``answer_id`` it also awaits that answer."""
        send_id = self.outbox.add(data, over_limit=over_limit)
        if answer_id is not None:
            if answer_id not in self.awaiting:
                self.awaiting.add(answer_id, data if isinstance(data, str) else data.decode())
            self._answer_of[send_id] = answer_id
        self._emit(Post("send", {"id": send_id, "first": self.outbox.first_unacked, "data": data}))

    def forget(self, answer_id: str) -> None:
        """Stop awaiting ``answer_id`` (timed out or cancelled)."""
        self.awaiting.forget(answer_id)

    def leader_changed(self, leader_id: str | None, term: int) -> None:
        """The elector knows a new leader (another tab): it gets all this tab has not seen acknowledged."""
        self.leader_id, self.term = leader_id, term
        if leader_id is None or leader_id == self.tab_id:
            return
        self._emit(Post("hello", None))
        self._resend_outbox()

    def bus_message(self, message: WireMessage) -> None:
        if isinstance(message, FrameMsg):
            self._on_frame(message)
        elif isinstance(message, SendMsg):
            self._on_send(message)
        elif isinstance(message, AckMsg):
            self._on_ack(message)
        elif isinstance(message, StateMsg):
            self._on_state(message)
        elif self._leading and message.sender != self.tab_id:
            self._publish_state()

    def _from_leader(self, sender: str, term: int) -> bool:
        if sender == self.leader_id and term == self.term:
            return True
        self.refused += 1
        return False

    def _on_frame(self, frame: FrameMsg) -> None:
        if not self._from_leader(frame.sender, frame.term) or not self.order.accept(frame.term, frame.seq):
            return
        if self.awaiting and self._answered(frame.data):
            return
        self._emit(Deliver(frame.data))

    def _answered(self, data: Data) -> bool:
        """Resolve what ``data`` answers; True for a confirmation (protocol traffic, not delivered)."""
        confirmed = parse_confirmation(data)
        if confirmed is not None:
            if self.awaiting.forget(confirmed):
                self._emit(Answered(confirmed, None))
            return True
        reply = parse_reply(data)
        if reply is not None and self.awaiting.forget(reply.request_id):
            self._emit(Answered(reply.request_id, reply))
        elif reply is None and isinstance(data, str) and '"request_id"' in data \
                and depth_exceeds(data, MAX_JSON_DEPTH):
            self.deep_frames += 1
        return False

    def _on_ack(self, ack: AckMsg) -> None:
        if ack.sender != self.leader_id or (ack.origin == self.tab_id and ack.id > self.outbox.last_id):
            self.refused += 1
            return
        self._forwarder.learn_ack(ack.origin, ack.id)
        if ack.origin == self.tab_id:
            for send_id in self.outbox.acked(ack.id):
                answer_id = self._answer_of.pop(send_id, None)
                if answer_id is not None:
                    self.awaiting.written(answer_id, self._open_seen)

    def _on_state(self, update: StateMsg) -> None:
        if not self._from_leader(update.sender, update.term):
            return
        self.order.sync(update.term, update.seq)
        if not self._leading:
            self._show(update.state)
        if update.state == "open" and (update.term, update.connection) != self._open_seen:
            self._open_seen = (update.term, update.connection)
            for answer_id, text in self.awaiting.resend_on(self._open_seen):
                self.send(text, answer_id, over_limit=True)

    def _resend_outbox(self) -> None:
        for pending in self.outbox.pending():
            self._emit(Post("send", {"id": pending.id, "first": self.outbox.first_unacked, "data": pending.data}))

    # -- the leader ------------------------------------------------------------

    @property
    def _leading(self) -> bool:
        return self.role not in ("follower", "done")

    def acquired(self, term: int) -> None:
        self._move("acquired")
        self.leader_id, self.term = self.tab_id, term
        self._seq = 0
        self._delays = self._backoff()
        self._forwarder.abandon()
        self._resend_outbox()
        self._connect()

    def lost(self) -> None:
        """Leadership ended (runs before the lock is let go): close first, then say so."""
        self._move("lost")
        self._drop_connection(1000, "leader stepped down")
        self._forwarder.abandon()
        self._publish_state("no-leader")
        self._show("no-leader")

    def opened(self, connection: Connection, now: float) -> None:
        if connection is not self._connection:
            return
        self._move("opened")
        self._delays = self._backoff()
        self._heard_at = self._ping_at = now
        self._publish_state()
        self._flush()
        self._schedule_tick(now)

    def closed(self, connection: Connection, code: int, now: float) -> None:
        if connection is not self._connection:
            return
        self._move("closed")
        self._connection = None
        self._schedule_retry(now)

    def server_frame(self, connection: Connection, data: Data, now: float) -> None:
        if connection is not self._connection or self.role != "open":
            return
        self._heard_at = now
        if self._heartbeat is not None and self._heartbeat.is_pong(data):
            return
        self._seq += 1
        self._emit(Post("frame", {"term": self.term, "seq": self._seq, "data": data}))

    def tick(self, now: float) -> None:
        """Time passed: reconnect when due; in an open connection, ping or give up on silence."""
        if self.role == "reconnecting" and self._retry_at is not None and now >= self._retry_at:
            self._move("retry")
            self._connect()
        elif self.role == "open" and self._heartbeat is not None and self._connection is not None:
            if now >= self._heard_at + self._heartbeat.timeout:
                self._move("silent")
                self._drop_connection(4000, f"silent for {self._heartbeat.timeout:g}s")
                self._schedule_retry(now)
                return
            if now >= self._ping_at + self._heartbeat.interval:
                self._ping_at = now
                self._pings += 1
                self._emit(Write(self._connection, self._heartbeat.ping(self._pings)))
            self._schedule_tick(now)

    def close(self) -> None:
        if self._leading:
            self._drop_connection(1000, "leader stepped down")
            self._publish_state("no-leader")
        self._move("close")
        self._show("closed")

    def _on_send(self, send: SendMsg) -> None:
        if not self._leading:
            return
        already = self._forwarder.receive(send.sender, send.id, send.first, send.data)
        if already is not None:
            self._emit(Post("ack", {"origin": send.sender, "id": already}))
        self._flush()

    def _flush(self) -> None:
        if self.role != "open" or self._connection is None:
            return
        for write in self._forwarder.take():
            self._emit(Write(self._connection, write.data))
            self._emit(Post("ack", {"origin": write.origin, "id": write.id}))

    def _connect(self) -> None:
        self._retry_at = None
        self._connections += 1
        self._connection = Connection(self.term, self._connections)
        self._publish_state()
        self._emit(Connect(self._connection))

    def _drop_connection(self, code: int, reason: str) -> None:
        connection, self._connection = self._connection, None
        self._retry_at = None
        if connection is not None:
            self._emit(CloseSocket(connection, code, reason))

    def _schedule_retry(self, now: float) -> None:
        if not self._reconnect:
            self._move("give_up")
            self._publish_state()
            return
        self._publish_state()
        delay = next(self._delays)
        self._retry_at = now + delay
        self._emit(RetryAfter(delay))

    def _schedule_tick(self, now: float) -> None:
        if self._heartbeat is None:
            return
        due = min(self._ping_at + self._heartbeat.interval, self._heard_at + self._heartbeat.timeout)
        self._emit(TickAfter(max(due - now, 0.0)))

    def _publish_state(self, shown: str | None = None) -> None:
        state = shown or _SHOWN[self.role]
        self._show(state)
        self._emit(Post("state", {"state": state, "term": self.term, "connection": self._connections,
                                  "seq": self._seq}))

    def _show(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self._emit(SetState(state))

    def _move(self, move: str) -> None:
        target = TRANSITIONS[self.role].get(move)
        if target is None:
            raise IllegalMove(f"{move!r} is not allowed while {self.role!r}")
        self.role = target

    def _emit(self, effect: Effect) -> None:
        self._effects.append(effect)
