"""``SharedSocket``: one browser `WebSocket <https://developer.mozilla.org/docs/Web/API/WebSocket>`_
for every tab of an app, held by the leader tab.

Only the leader (a ``LeaderElector`` on the key) opens the socket; each server
frame reaches every tab, the leader included, once and in order. Any tab's
``send`` goes to the leader in that tab's order and stays queued in the sending
tab until the leader has written it, so a leader that dies loses nothing.
Exactly once while the leader lives; at least once across a leader's death.
``send_confirmed`` waits for the server itself to confirm, across reconnects and
leader changes. The protocol is ``pytabby._core.link.SocketLink``; this class
only performs its effects.

    sock = create_shared_socket("ws://127.0.0.1:8000/ws", key="chat")
    sock.on_message(lambda data: print("server:", data))
    sock.send_json({"type": "chat", "text": "hi"})
    reply = await sock.request({"op": "echo", "data": 1})
    await sock.send_confirmed({"type": "order", "n": 7})
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any, Literal

from ._core import link_io as core
from ._core.backoff import backoff as default_backoff
from ._core.link import SocketLink
from ._core.link_io import STATES, Connection, Heartbeat, decode
from ._core.requests import Data
from ._ports import Platform, Socket, Timer
from ._runtime import Closeable, current_loop, default_platform
from .bus import TabBus
from .emitter import Emitter, Handler, Stream, Unsubscribe
from .errors import ClosedError, RequestError
from .leader import LeaderElector, LeaderEvent

__all__ = ["STATES", "Heartbeat", "SharedSocket", "SocketState", "create_shared_socket"]
logger = logging.getLogger("pytabby.socket")
SocketState = Literal["no-leader", "connecting", "open", "reconnecting", "closed"]


class SharedSocket(Closeable):
    def __init__(self, url: str, *, key: str = "default", protocols: list[str] | None = None,
                 reconnect: bool = True, queue_limit: int = 1000, bus: TabBus | None = None,
                 elector: LeaderElector | None = None, backoff: Callable[[], Iterator[float]] = default_backoff,
                 heartbeat: Heartbeat | None = Heartbeat(), platform: Platform | None = None) -> None:
        if not isinstance(url, str) or not url.startswith(("ws://", "wss://")):
            raise ValueError(f"url must be a ws:// or wss:// URL, got {url!r}")
        if bus is not None and elector is not None and bus.tab_id != elector.tab_id:
            raise ValueError("bus and elector must belong to the same tab (same tab_id)")
        self._closed = True  # until fully built, so __del__ stays quiet on a failed init
        self._platform = platform or default_platform()
        self._url, self._key, self._protocols = url, key, list(protocols) if protocols else None
        tab_id = elector.tab_id if elector else bus.tab_id if bus else self._platform.new_tab_id()
        self._link = SocketLink(tab_id, queue_limit=queue_limit, reconnect=reconnect, backoff=backoff,
                                heartbeat=heartbeat)
        self._user_bus = bus
        # Protocol traffic always has a channel of its own: an app's bus never sees it.
        self._bus = TabBus(f"pytabby:socket:{key}", tab_id=tab_id, platform=self._platform)
        self._owns_elector = elector is None
        self._elector = elector or LeaderElector(f"pytabby-socket:{key}", tab_id=tab_id, platform=self._platform)
        self._messages: Emitter[Data] = Emitter("socket message")
        self._state_handlers: Emitter[str] = Emitter("socket state")
        self._streams: set[Stream[Data]] = set()
        self._sockets: dict[Connection, Socket] = {}
        self._timers: dict[type, Timer] = {}
        self._answers: dict[str, asyncio.Future[Any]] = {}
        self._attempts = 0
        self._unsubscribe = [
            self._bus.subscribe_all(self._on_bus),
            self._elector.on("acquire", lambda event: self._feed(self._link.acquired, event.term)),
            self._elector.on("lose", lambda event: self._feed(self._link.lost)),
            self._elector.on("change", self._on_change),
        ]
        self._closed = False
        self._elector.start()
        self._feed(self._link.leader_changed, self._elector.leader_id, self._elector.term)
        self._bus.publish("hello", None)  # the leader answers with its state
        if self._elector.is_leader:  # an elector passed in may lead already
            self._feed(self._link.acquired, self._elector.term)

    def __repr__(self) -> str:
        role = "leader" if self.is_leader else "follower"
        return f"<SharedSocket {self._url} key={self._key!r} tab={self.tab_id} {role} {self.state}>"

    state = property(lambda self: self._link.state, doc="The leader's socket state, the same in every tab.")
    is_leader = property(lambda self: self._elector.is_leader)
    tab_id = property(lambda self: self._link.tab_id)
    url = property(lambda self: self._url)
    elector = property(lambda self: self._elector, doc="The election underneath (acquire/lose/change events).")
    bus = property(lambda self: self._user_bus or self._bus, doc="The bus given as ``bus=``, else the socket's own.")
    pending = property(lambda self: len(self._link.outbox), doc="Sends of this tab not yet written by a leader.")
    awaiting = property(lambda self: len(self._link.awaiting), doc="Requests and confirmed sends awaiting an answer.")
    gaps = property(lambda self: self._link.order.gaps, doc="Breaks in the leader's frame numbering (missed frames).")
    refused = property(lambda self: self._link.refused + self._link.order.refused,
                       doc="Protocol messages ignored: not from the leader, out of bounds or malformed.")
    connect_attempts = property(lambda self: self._attempts,
                                doc="WebSockets this tab tried to open while leading (each reconnect counts).")
    deep_frames = property(lambda self: self._link.deep_frames,
                           doc="Reply-like server frames nested past the JSON bound: delivered as data, unparsed.")

    def on_message(self, handler: Handler[Data]) -> Unsubscribe:
        """``handler(data)`` for every server frame: ``str`` for text, ``bytes`` for binary."""
        self._check_open()
        return self._messages.on_all(handler)

    def on_state(self, handler: Handler[str]) -> Unsubscribe:
        self._check_open()
        return self._state_handlers.on_all(handler)

    def stream(self, *, buffer: int = 100, overflow: Any = "oldest") -> Stream[Data]:
        """Server frames from now on, as an async iterator."""
        self._check_open()
        stream: Stream[Data] = Stream(buffer, overflow, lambda: self._streams.discard(stream))
        self._streams.add(stream)
        return stream

    def send(self, data: Data) -> None:
        """Send ``data`` through the leader; queues while there is none. ``QueueFullError`` past ``queue_limit``."""
        self._check_open()
        if isinstance(data, (bytearray, memoryview)):
            data = bytes(data)
        if not isinstance(data, (str, bytes)):
            raise TypeError(f"send() takes str or bytes, got {type(data).__name__}")
        self._feed(self._link.send, data)

    def send_json(self, obj: Any) -> None:
        self.send(_dumps(obj))

    async def request(self, obj: dict[str, Any], timeout: float = 5.0) -> Any:
        """Send ``obj`` with a fresh ``request_id``; return the server's ``result``.

        ``RequestError`` if it answers ``error``; ``TimeoutError`` after ``timeout``
        seconds. Unanswered on a connection that closed, it is asked again, same id.
        """
        return await self._await_answer(obj, "request_id", self._link.awaiting.new_request_id(), timeout)

    async def send_confirmed(self, obj: dict[str, Any], timeout: float | None = None) -> None:
        """Send ``obj`` with a fresh ``confirm_id``; return once the server confirms it.

        Re-sent across reconnects and leader changes until confirmed: at least once,
        so the server may see the id twice. ``TimeoutError`` after ``timeout`` (None: wait).
        """
        await self._await_answer(obj, "confirm_id", self._link.awaiting.new_confirm_id(), timeout)

    async def _await_answer(self, obj: dict[str, Any], field: str, answer_id: str, timeout: float | None) -> Any:
        self._check_open()
        if not isinstance(obj, dict):
            raise TypeError(f"takes a dict (a JSON object), got {type(obj).__name__}")
        answer = self._answers[answer_id] = current_loop().create_future()
        timer = None
        try:
            self._feed(self._link.send, _dumps({**obj, field: answer_id}), answer_id)
            if timeout is not None:
                timer = self._platform.clock.call_later(timeout, lambda: _fail(answer, TimeoutError(
                    f"no answer to {answer_id} within {timeout}s")))
            return await answer
        finally:
            if timer is not None:
                timer.cancel()
            self._answers.pop(answer_id, None)
            self._link.forget(answer_id)

    def close(self) -> None:
        """Leave: a leader closes its socket first, then hands leadership on. Idempotent."""
        if self._closed:
            return
        self._feed(self._link.close)
        self._closed = True
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        if self._owns_elector:
            self._elector.close()
        self._bus.close()
        for timer in self._timers.values():
            timer.cancel()
        for answer in self._answers.values():
            _fail(answer, ClosedError("shared socket closed before the answer"))
        for stream in list(self._streams):
            stream.close()
        self._messages.clear()
        self._state_handlers.clear()

    def _check_open(self) -> None:
        if self._closed:
            raise ClosedError(f"{self!r} is closed")

    # -- driving the link --------------------------------------------------------

    def _on_bus(self, message: Any) -> None:
        decoded = decode(message.type, message.payload, message.tab_id)
        if decoded is None:
            self._link.refused += 1
        else:
            self._feed(self._link.bus_message, decoded)

    def _on_change(self, event: LeaderEvent) -> None:
        self._feed(self._link.leader_changed, event.leader_id, event.term)

    def _now(self) -> float:
        return self._platform.clock.now_ms() / 1000

    def _feed(self, step: Callable[..., None], *args: Any) -> None:
        step(*args)
        while effects := self._link.effects():
            for effect in effects:
                self._perform(effect)

    def _perform(self, effect: core.Effect) -> None:  # noqa: C901 - one branch per effect kind
        if isinstance(effect, core.Deliver):
            self._messages.emit("", effect.data)
            for stream in list(self._streams):
                stream.push(effect.data)
        elif isinstance(effect, core.Post):
            if not self._bus.closed:
                self._bus.publish(effect.type, effect.payload)
        elif isinstance(effect, core.Write):
            try:
                self._sockets[effect.connection].send(effect.data)
            except Exception as exc:  # closing under us, as the browser would drop it silently
                logger.warning("%r: write failed (%s)", self, exc)
        elif isinstance(effect, core.Answered):
            self._answer(effect)
        elif isinstance(effect, core.SetState):
            self._state_handlers.emit("", effect.state)
        elif isinstance(effect, core.Connect):
            self._connect(effect.connection)
        elif isinstance(effect, core.CloseSocket):
            socket = self._sockets.pop(effect.connection, None)
            if socket is not None:
                socket.close(effect.code, effect.reason)
        else:  # RetryAfter / TickAfter: one timer of each kind
            old = self._timers.pop(type(effect), None)
            if old is not None:
                old.cancel()
            self._timers[type(effect)] = self._platform.clock.call_later(
                effect.seconds, lambda: self._feed(self._link.tick, self._now()))

    def _connect(self, connection: Connection) -> None:
        self._attempts += 1
        try:
            self._sockets[connection] = self._platform.connect(self._url, self._protocols,
                                                               _Listener(self, connection))
        except Exception as exc:
            logger.warning("%r: could not open the socket (%s)", self, exc)
            self._link.closed(connection, 1006, self._now())

    def _answer(self, effect: core.Answered) -> None:
        answer = self._answers.get(effect.answer_id)
        if answer is None or answer.done():
            return
        if effect.reply is None or not effect.reply.is_error:
            answer.set_result(effect.reply.result if effect.reply else None)
        else:
            answer.set_exception(RequestError(effect.reply.error, effect.answer_id))


class _Listener:
    """The socket events of one connection, fed to the link with that connection."""

    def __init__(self, owner: SharedSocket, connection: Connection) -> None:
        self._owner, self._connection = owner, connection

    def on_open(self) -> None:
        self._owner._feed(self._owner._link.opened, self._connection, self._owner._now())

    def on_message(self, data: Data) -> None:
        self._owner._feed(self._owner._link.server_frame, self._connection, data, self._owner._now())

    def on_close(self, code: int, reason: str, was_clean: bool) -> None:
        self._owner._sockets.pop(self._connection, None)
        self._owner._feed(self._owner._link.closed, self._connection, code, self._owner._now())


def _dumps(obj: Any) -> str:
    try:
        return json.dumps(obj, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"not JSON-serialisable: {exc}") from exc


def _fail(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


def create_shared_socket(url: str, key: str = "default", protocols: list[str] | None = None,
                         reconnect: bool = True, queue_limit: int = 1000, *, bus: TabBus | None = None,
                         elector: LeaderElector | None = None,
                         backoff: Callable[[], Iterator[float]] = default_backoff,
                         heartbeat: Heartbeat | None = Heartbeat(), platform: Platform | None = None) -> SharedSocket:
    """One WebSocket to ``url`` shared by every tab that uses the same ``key``."""
    return SharedSocket(url, key=key, protocols=protocols, reconnect=reconnect, queue_limit=queue_limit,
                        bus=bus, elector=elector, backoff=backoff, heartbeat=heartbeat, platform=platform)
