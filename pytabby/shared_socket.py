"""``SharedSocket``: one browser `WebSocket <https://developer.mozilla.org/docs/Web/API/WebSocket>`_
for every tab of an app, held by the leader tab.

Only the leader (a ``LeaderElector`` on the key) opens the socket; each server
frame is republished on a ``TabBus`` to every tab, the leader included, once
and in order. Any tab's ``send`` goes over the bus to the leader, in that tab's
order, and stays queued in the sending tab until the leader acknowledges it,
so a leader that dies loses nothing: the next leader receives it again.
Guarantee: exactly once while the leader lives; at least once across a
leader's death (a frame the dead leader wrote but never acknowledged may reach
the server twice).

    sock = create_shared_socket("ws://127.0.0.1:8000/ws", key="chat")
    sock.on_message(lambda data: print("server:", data))
    sock.send_json({"type": "chat", "text": "hi"})
    reply = await sock.request({"op": "echo", "data": 1})
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any, Literal

from ._core.backoff import backoff as default_backoff
from ._core.routing import Data, Forwarder, FrameOrder, Outbox, parse_reply
from ._ports import Platform, Socket, Timer
from ._closeable import Closeable
from ._loop import current_loop
from ._runtime import default_platform
from .bus import TabBus
from .emitter import Emitter, Handler, Stream, Unsubscribe
from .errors import ClosedError, RequestError
from .leader import LeaderElector, LeaderEvent

logger = logging.getLogger("pytabby.socket")

SocketState = Literal["no-leader", "connecting", "open", "reconnecting", "closed"]
STATES: tuple[str, ...] = ("no-leader", "connecting", "open", "reconnecting", "closed")


class SharedSocket(Closeable):
    def __init__(
        self,
        url: str,
        *,
        key: str = "default",
        protocols: list[str] | None = None,
        reconnect: bool = True,
        queue_limit: int = 1000,
        bus: TabBus | None = None,
        elector: LeaderElector | None = None,
        backoff: Callable[[], Iterator[float]] = default_backoff,
        platform: Platform | None = None,
    ) -> None:
        if not isinstance(url, str) or not url.startswith(("ws://", "wss://")):
            raise ValueError(f"url must be a ws:// or wss:// URL, got {url!r}")
        self._closed = True  # until fully built, so __del__ stays quiet on a failed init
        self._platform = platform or default_platform()
        self._url = url
        self._key = key
        self._protocols = list(protocols) if protocols else None
        self._reconnect = reconnect
        self._backoff_factory = backoff
        self._outbox = Outbox(queue_limit)
        self._forwarder = Forwarder()
        self._order = FrameOrder()
        self._owns_bus = bus is None
        self._owns_elector = elector is None
        self._bus = bus or TabBus(f"pytabby:socket:{key}", platform=self._platform)
        self._elector = elector or LeaderElector(
            f"pytabby-socket:{key}", tab_id=self._bus.tab_id, platform=self._platform
        )
        self._messages: Emitter[Data] = Emitter("socket message")
        self._state_handlers: Emitter[str] = Emitter("socket state")
        self._streams: set[Stream[Data]] = set()
        self._state: SocketState = "no-leader"
        self._socket: Socket | None = None
        self._connection = 0  # generation: events of a replaced socket are ignored
        self._delays: Iterator[float] | None = None
        self._retry: Timer | None = None
        self._seq = 0
        self._request_ids = itertools.count(1)
        self._requests: dict[str, _Request] = {}
        self._state_term = 0
        self._unsubscribe = [
            self._bus.subscribe("frame", self._on_frame),
            self._bus.subscribe("send", self._on_send),
            self._bus.subscribe("ack", self._on_ack),
            self._bus.subscribe("state", self._on_state),
            self._bus.subscribe("hello", self._on_hello),
            self._elector.on("acquire", self._on_acquire),
            self._elector.on("lose", self._on_lose),
            self._elector.on("change", self._on_change),
        ]
        self._closed = False
        self._elector.start()
        self._bus.publish("hello", None)  # the leader answers with its state
        if self._elector.is_leader:  # an elector passed in may lead already
            self._on_acquire(None)

    def __repr__(self) -> str:
        role = "leader" if self.is_leader else "follower"
        return f"<SharedSocket {self._url} key={self._key!r} tab={self.tab_id} {role} {self._state}>"

    # -- public surface ------------------------------------------------------

    @property
    def state(self) -> SocketState:
        """The leader's socket state, the same in every tab."""
        return self._state

    @property
    def is_leader(self) -> bool:
        return self._elector.is_leader

    @property
    def tab_id(self) -> str:
        return self._bus.tab_id

    @property
    def url(self) -> str:
        return self._url

    @property
    def elector(self) -> LeaderElector:
        """The election underneath (for its ``acquire``/``lose``/``change`` events)."""
        return self._elector

    @property
    def bus(self) -> TabBus:
        return self._bus

    @property
    def pending(self) -> int:
        """Sends of this tab not yet acknowledged by a leader."""
        return len(self._outbox)

    @property
    def gaps(self) -> int:
        """Breaks seen in the leader's frame numbering (frames this tab missed)."""
        return self._order.gaps

    def on_message(self, handler: Handler[Data]) -> Unsubscribe:
        """``handler(data)`` for every server frame: ``str`` for text, ``bytes`` for binary."""
        return self._messages.on_all(handler)

    def on_state(self, handler: Handler[str]) -> Unsubscribe:
        return self._state_handlers.on_all(handler)

    def stream(self, *, buffer: int = 100, overflow: Any = "oldest") -> Stream[Data]:
        """Server frames from now on, as an async iterator."""
        self._check_open()
        stream: Stream[Data] = Stream(buffer, overflow, lambda: self._streams.discard(stream))
        self._streams.add(stream)
        return stream

    def send(self, data: Data) -> None:
        """Send ``data`` to the server through the leader; queues while there is none.

        ``TypeError`` for anything but str/bytes; ``QueueFullError`` past ``queue_limit``.
        """
        self._check_open()
        if isinstance(data, (bytearray, memoryview)):
            data = bytes(data)
        if not isinstance(data, (str, bytes)):
            raise TypeError(f"send() takes str or bytes, got {type(data).__name__}")
        self._transmit(self._outbox.add(data), data)

    def send_json(self, obj: Any) -> None:
        self.send(_dumps(obj))

    async def request(self, obj: dict[str, Any], timeout: float = 5.0) -> Any:
        """Send ``obj`` with a fresh ``request_id`` and return the server's ``result``.

        ``RequestError`` if the server answers with ``error``; ``TimeoutError``
        after ``timeout`` seconds (the request is forgotten). If the leader
        changes before the reply, the request is sent again with the same id.
        """
        self._check_open()
        if not isinstance(obj, dict):
            raise TypeError(f"request() takes a dict (a JSON object), got {type(obj).__name__}")
        request_id = f"{self.tab_id}-{next(self._request_ids)}"
        text = _dumps({**obj, "request_id": request_id})
        reply: asyncio.Future[Any] = current_loop().create_future()
        send_id = self._outbox.add(text)
        self._requests[request_id] = _Request(reply, send_id, text)
        self._transmit(send_id, text)
        timer = self._platform.clock.call_later(timeout, lambda: _fail(reply, TimeoutError(
            f"no reply to request {request_id} within {timeout}s")))
        try:
            return await reply
        finally:
            timer.cancel()
            self._requests.pop(request_id, None)

    def close(self) -> None:
        """Leave: a leader closes its socket first, then hands leadership on. Idempotent."""
        if self._closed:
            return
        if self.is_leader:
            self._close_socket()
            self._publish_state("no-leader")
        self._closed = True
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        if self._owns_elector:
            self._elector.close()
        if self._owns_bus:
            self._bus.close()
        self._cancel_retry()
        for request in self._requests.values():
            _fail(request.reply, ClosedError("shared socket closed before the reply"))
        for stream in list(self._streams):
            stream.close()
        self._set_state("closed")
        self._messages.clear()
        self._state_handlers.clear()

    # -- every tab -----------------------------------------------------------

    def _transmit(self, send_id: int, data: Data) -> None:
        self._bus.publish("send", {"id": send_id, "first": self._outbox.first_unacked, "data": data})

    def _on_frame(self, msg: Any) -> None:
        frame = _fields(msg)
        term, seq, data = frame.get("term"), frame.get("seq"), frame.get("data")
        if not (isinstance(term, int) and isinstance(seq, int) and isinstance(data, (str, bytes))):
            return
        if not self._order.accept(term, seq):
            return
        if self._requests:
            self._resolve_reply(data)
        self._messages.emit("", data)
        for stream in list(self._streams):
            stream.push(data)

    def _resolve_reply(self, data: Data) -> None:
        reply = parse_reply(data)
        if reply is None or reply[0] not in self._requests:
            return
        request_id, result, error, is_error = reply
        future = self._requests[request_id].reply
        if is_error:
            _fail(future, RequestError(error, request_id))
        elif not future.done():
            future.set_result(result)

    def _on_ack(self, msg: Any) -> None:
        ack = _fields(msg)
        origin, through = ack.get("origin"), ack.get("id")
        if not isinstance(origin, str) or not isinstance(through, int):
            return
        self._forwarder.learn_ack(origin, through)
        if origin == self.tab_id:
            self._outbox.acked(through)

    def _on_state(self, msg: Any) -> None:
        update = _fields(msg)
        state, term = update.get("state"), update.get("term")
        if msg.tab_id == self.tab_id or state not in STATES or not isinstance(term, int):
            return
        if term >= self._state_term and not self.is_leader:
            self._state_term = term
            self._set_state(state)

    def _on_change(self, event: LeaderEvent) -> None:
        # A new leader: it gets everything this tab has not seen acknowledged, in order.
        self._bus.publish("hello", None)
        self._resend_pending()

    def _resend_pending(self) -> None:
        for pending in self._outbox.pending():
            self._transmit(pending.id, pending.data)
        for request in self._requests.values():
            if not request.reply.done() and self._outbox.is_acked(request.send_id):
                # Written by the old leader but unanswered: ask the new one, with the same request_id.
                request.send_id = self._outbox.add(request.text)
                self._transmit(request.send_id, request.text)

    # -- the leader ----------------------------------------------------------

    def _on_acquire(self, event: LeaderEvent | None) -> None:
        self._delays = self._backoff_factory()
        self._seq = 0
        self._forwarder.abandon()
        self._resend_pending()
        self._connect("connecting")

    def _on_lose(self, event: LeaderEvent) -> None:
        # Runs synchronously inside the elector before it lets go of the lock.
        self._close_socket()
        self._forwarder.abandon()
        self._set_leader_state("no-leader")

    def _on_hello(self, msg: Any) -> None:
        if self.is_leader and msg.tab_id != self.tab_id:
            self._publish_state(self._state)

    def _on_send(self, msg: Any) -> None:
        if not self.is_leader:
            return
        send = _fields(msg)
        send_id, first, data = send.get("id"), send.get("first"), send.get("data")
        if not (isinstance(send_id, int) and isinstance(first, int) and isinstance(data, (str, bytes))):
            logger.warning("%r ignored a malformed send from %s", self, msg.tab_id)
            return
        already = self._forwarder.receive(msg.tab_id, send_id, first, data)
        if already is not None:
            self._bus.publish("ack", {"origin": msg.tab_id, "id": already})
        self._flush()

    def _flush(self) -> None:
        socket = self._socket
        if socket is None:
            return
        for write in self._forwarder.writable():
            try:
                socket.send(write.data)
            except Exception as exc:  # closing under us: keep the rest queued for the next socket
                logger.warning("%r: write failed (%s); will retry after reconnect", self, exc)
                return
            self._forwarder.written(write)
            self._bus.publish("ack", {"origin": write.origin, "id": write.id})

    def _connect(self, state: SocketState) -> None:
        self._cancel_retry()
        self._connection += 1
        self._set_leader_state(state)
        try:
            self._socket = self._platform.connect(self._url, self._protocols, _Listener(self, self._connection))
        except Exception as exc:
            logger.warning("%r: could not open the socket (%s)", self, exc)
            self._socket = None
            self._schedule_reconnect()

    def _opened(self, generation: int) -> None:
        if generation != self._connection or not self.is_leader:
            return
        self._delays = self._backoff_factory()
        self._set_leader_state("open")
        self._forwarder.socket_opened()
        self._flush()

    def _received(self, generation: int, data: Data) -> None:
        if generation != self._connection or not self.is_leader:
            return
        self._seq += 1
        self._bus.publish("frame", {"term": self._elector.term, "seq": self._seq, "data": data})

    def _dropped(self, generation: int, code: int, reason: str) -> None:
        if generation != self._connection or not self.is_leader:
            return
        logger.info("%r: socket closed (%s %s)", self, code, reason)
        self._socket = None
        self._forwarder.socket_closed()
        self._schedule_reconnect()

    def _schedule_reconnect(self) -> None:
        if not self._reconnect:
            self._set_leader_state("closed")
            return
        self._set_leader_state("reconnecting")
        delay = next(self._delays) if self._delays is not None else 0.0
        self._retry = self._platform.clock.call_later(delay, self._retry_now)

    def _retry_now(self) -> None:
        self._retry = None
        if self.is_leader and not self._closed:
            self._connect("reconnecting")

    def _cancel_retry(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None

    def _close_socket(self) -> None:
        self._cancel_retry()
        self._connection += 1
        socket, self._socket = self._socket, None
        if socket is not None:
            socket.close(1000, "leader stepped down")
        self._forwarder.socket_closed()

    def _set_leader_state(self, state: SocketState) -> None:
        self._state_term = self._elector.term
        self._set_state(state)
        self._publish_state(state)

    def _publish_state(self, state: str) -> None:
        if not self._bus.closed:
            self._bus.publish("state", {"state": state, "term": self._elector.term})

    def _set_state(self, state: SocketState) -> None:
        if state != self._state:
            self._state = state
            self._state_handlers.emit("", state)

    def _check_open(self) -> None:
        if self._closed:
            raise ClosedError(f"{self!r} is closed")


class _Request:
    __slots__ = ("reply", "send_id", "text")

    def __init__(self, reply: asyncio.Future[Any], send_id: int, text: str) -> None:
        self.reply = reply
        self.send_id = send_id
        self.text = text


class _Listener:
    """Socket events of one connection generation, routed back to the SharedSocket."""

    def __init__(self, owner: SharedSocket, generation: int) -> None:
        self._owner = owner
        self._generation = generation

    def on_open(self) -> None:
        self._owner._opened(self._generation)

    def on_message(self, data: Data) -> None:
        self._owner._received(self._generation, data)

    def on_close(self, code: int, reason: str, was_clean: bool) -> None:
        self._owner._dropped(self._generation, code, reason)


def _fields(msg: Any) -> dict[str, Any]:
    """A bus message's payload as a dict ({} for anything else, so field checks reject it)."""
    return msg.payload if isinstance(msg.payload, dict) else {}


def _dumps(obj: Any) -> str:
    try:
        return json.dumps(obj, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"not JSON-serialisable: {exc}") from exc


def _fail(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


def create_shared_socket(
    url: str,
    key: str = "default",
    protocols: list[str] | None = None,
    reconnect: bool = True,
    queue_limit: int = 1000,
    *,
    bus: TabBus | None = None,
    elector: LeaderElector | None = None,
    backoff: Callable[[], Iterator[float]] = default_backoff,
    platform: Platform | None = None,
) -> SharedSocket:
    """One WebSocket to ``url`` shared by every tab that uses the same ``key``."""
    return SharedSocket(url, key=key, protocols=protocols, reconnect=reconnect, queue_limit=queue_limit,
                        bus=bus, elector=elector, backoff=backoff, platform=platform)
