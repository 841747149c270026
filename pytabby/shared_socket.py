"""``SharedSocket``: one browser `WebSocket <https://developer.mozilla.org/docs/Web/API/WebSocket>`_
for every tab of an app, held by the leader tab.

Only the leader (a ``LeaderElector`` on the key) opens the socket; each server
frame reaches every tab, the leader included, once and in order. Any tab's
``send`` goes to the leader in that tab's order and stays queued in the sending
tab until the leader knows the server has it (the pong to a later heartbeat
ping), so a leader that dies loses nothing.
Exactly once while the leader and its connection live; at least once across a
leader's death or a dropped connection.
``send_confirmed`` waits for the server itself to confirm, across reconnects and
leader changes. A heartbeat (``Heartbeat``, on by default) replaces a connection
that stays silent past its timeout. The protocol is ``pytabby._core.link.SocketLink``;
``pytabby._link_driver`` performs its effects; this module is the public surface.

    sock = create_shared_socket("ws://127.0.0.1:8000/ws", key="chat")
    sock.on_message(lambda data: print("server:", data))
    sock.send_json({"type": "chat", "text": "hi"})
    reply = await sock.request({"op": "echo", "data": 1})
    await sock.send_confirmed({"type": "order", "n": 7})
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, Literal, cast

from ._core.backoff import backoff as default_backoff
from ._closeable import Closeable
from ._core.link import SocketLink
from ._core.link_io import STATES, Heartbeat, decode
from ._core.requests import Data
from ._link_driver import LinkDriver
from ._ports import Platform
from ._runtime import default_platform
from .bus import TabBus
from ._core.buffer import Overflow
from .emitter import Emitter, Handler, Stream, StreamSet, Unsubscribe
from .errors import ClosedError
from .leader import LeaderElector

__all__ = ["STATES", "Heartbeat", "SharedSocket", "SocketState", "create_shared_socket"]
SocketState = Literal["no-leader", "connecting", "open", "reconnecting", "closed"]


class SharedSocket(Closeable):
    """One WebSocket to ``url`` for every tab with the same ``key``; see ``create_shared_socket``."""

    def __init__(self, url: str, *, key: str = "default", protocols: list[str] | None = None,
                 reconnect: bool = True, queue_limit: int = 1000, bus: TabBus | None = None,
                 elector: LeaderElector | None = None, backoff: Callable[[], Iterator[float]] = default_backoff,
                 heartbeat: Heartbeat | None = Heartbeat(), platform: Platform | None = None) -> None:
        if not isinstance(url, str) or not url.startswith(("ws://", "wss://")):
            raise ValueError(f"url must be a ws:// or wss:// URL, got {url!r}")
        if bus is not None and elector is not None and bus.tab_id != elector.tab_id:
            raise ValueError("bus and elector must belong to the same tab (same tab_id)")
        self._closed = True  # until fully built, so __del__ stays quiet on a failed init
        platform = platform or default_platform()
        self._url, self._key, self._user_bus = url, key, bus
        tab_id = elector.tab_id if elector else bus.tab_id if bus else platform.new_tab_id()
        self._link = SocketLink(tab_id, queue_limit=queue_limit, reconnect=reconnect, backoff=backoff,
                                heartbeat=heartbeat)
        # Protocol traffic always has a channel of its own: an app's bus never sees it.
        self._bus = TabBus(f"pytabby:socket:{key}", tab_id=tab_id, platform=platform)
        self._owns_elector = elector is None
        self._elector = elector or LeaderElector(f"pytabby-socket:{key}", tab_id=tab_id, platform=platform)
        self._messages: Emitter[Data] = Emitter("socket message")
        self._state_handlers: Emitter[str] = Emitter("socket state")
        self._streams: StreamSet[Data] = StreamSet(platform.clock)
        self._driver = LinkDriver(self._link, platform, self._bus, url, list(protocols) if protocols else None,
                                  self._deliver, lambda state: self._state_handlers.emit("", state))
        feed = self._driver.feed
        self._unsubscribe = [
            self._bus.subscribe_all(self._on_bus),
            self._elector.on("acquire", lambda event: feed(self._link.acquired, event.term)),
            self._elector.on("lose", lambda event: feed(self._link.lost)),
            self._elector.on("change", lambda event: feed(self._link.leader_changed, event.leader_id, event.term)),
        ]
        self._closed = False
        self._elector.start()
        feed(self._link.leader_changed, self._elector.leader_id, self._elector.term)
        self._bus.publish("hello", None)  # the leader answers with its state
        if self._elector.is_leader:  # an elector passed in may lead already
            feed(self._link.acquired, self._elector.term)

    def __repr__(self) -> str:
        role = "leader" if self.is_leader else "follower"
        return f"<SharedSocket {self._url} key={self._key!r} tab={self.tab_id} {role} {self.state}>"

    @property
    def state(self) -> SocketState:
        """The leader's socket state, the same in every tab."""
        return cast(SocketState, self._link.state)

    @property
    def is_leader(self) -> bool:
        """Whether this tab leads, i.e. holds the browser WebSocket."""
        return self._elector.is_leader

    @property
    def tab_id(self) -> str:
        """This tab's id (the one its sends are acknowledged under)."""
        return self._link.tab_id

    @property
    def url(self) -> str:
        """The WebSocket URL the leader connects to."""
        return self._url

    @property
    def elector(self) -> LeaderElector:
        """The election underneath (for its ``acquire``/``lose``/``change`` events)."""
        return self._elector

    @property
    def bus(self) -> TabBus:
        """The bus given as ``bus=``, else the socket's own (its protocol channel)."""
        return self._user_bus or self._bus

    @property
    def pending(self) -> int:
        """Sends of this tab not yet written to the server by a leader."""
        return len(self._link.outbox)

    @property
    def awaiting(self) -> int:
        """Requests and confirmed sends of this tab still waiting for their answer."""
        return len(self._link.awaiting)

    @property
    def gaps(self) -> int:
        """Breaks seen in the leader's frame numbering (frames this tab missed)."""
        return self._link.order.gaps

    @property
    def refused(self) -> int:
        """Protocol messages ignored: malformed, not from the leader, or out of bounds (foreign code)."""
        return self._link.refused + self._link.order.refused

    @property
    def deep_frames(self) -> int:
        """Reply-like server frames nested past the JSON bound: delivered as data, never parsed."""
        return self._link.deep_frames

    @property
    def connect_attempts(self) -> int:
        """WebSockets this tab tried to open while leading (each reconnect counts)."""
        return self._driver.attempts

    def on_message(self, handler: Handler[Data]) -> Unsubscribe:
        """``handler(data)`` for every server frame: ``str`` for text, ``bytes`` for binary."""
        self._check_open()
        return self._messages.on_all(handler)

    def on_state(self, handler: Handler[str]) -> Unsubscribe:
        """``handler(state)`` whenever the leader's socket state changes, in every tab; returns unsubscribe."""
        self._check_open()
        return self._state_handlers.on_all(handler)

    def stream(self, type: type[str] | type[bytes] | None = None, *, buffer: int | None = None,
               overflow: Overflow | None = None) -> Stream[Data]:
        """Server frames from now on, as an async iterator; ``type`` ``str`` or ``bytes`` keeps only text or binary.

        ``buffer`` (default 100) and ``overflow`` (default ``"oldest"``) as for ``TabBus.stream``.
        """
        self._check_open()
        return self._streams.open(None if type is None else (lambda data: isinstance(data, type)), buffer, overflow)

    def send(self, data: Data) -> None:
        """Send ``data`` through the leader; queues while there is none. ``QueueFullError`` past ``queue_limit``."""
        self._check_open()
        if isinstance(data, (bytearray, memoryview)):
            data = bytes(data)
        if not isinstance(data, (str, bytes)):
            raise TypeError(f"send() takes str or bytes, got {type(data).__name__}")
        self._driver.feed(self._link.send, data)

    def send_json(self, obj: Any) -> None:
        """``send(json.dumps(obj))``; ``TypeError`` if ``obj`` is not JSON-serialisable (NaN included)."""
        self.send(_dumps(obj))

    async def request(self, obj: dict[str, Any], timeout: float = 5.0) -> Any:
        """Send ``obj`` with a fresh ``request_id``; return the server's ``result``.

        ``RequestError`` if it answers ``error``; ``TimeoutError`` after ``timeout``
        seconds. Unanswered on a connection that closed, it is asked again, same id.
        """
        return await self._ask(obj, "request_id", self._link.awaiting.new_request_id(), timeout)

    async def send_confirmed(self, obj: dict[str, Any], timeout: float | None = None) -> None:
        """Send ``obj`` with a fresh ``confirm_id``; return once the server confirms it.

        Re-sent across reconnects and leader changes until confirmed: at least once,
        so the server may see the id twice. ``TimeoutError`` after ``timeout`` (None: wait).
        """
        await self._ask(obj, "confirm_id", self._link.awaiting.new_confirm_id(), timeout)

    async def _ask(self, obj: dict[str, Any], field: str, answer_id: str, timeout: float | None) -> Any:
        self._check_open()
        if not isinstance(obj, dict):
            raise TypeError(f"takes a dict (a JSON object), got {type(obj).__name__}")
        return await self._driver.answer(_dumps({**obj, field: answer_id}), answer_id, timeout)

    def close(self) -> None:
        """Leave: a leader closes its socket first, then hands leadership on. Idempotent."""
        if self._closed:
            return
        self._driver.feed(self._link.close)
        self._closed = True
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        if self._owns_elector:
            self._elector.close()
        self._bus.close()
        self._driver.close()
        self._streams.close_all()
        self._messages.clear()
        self._state_handlers.clear()

    def _check_open(self) -> None:
        if self._closed:
            raise ClosedError(f"{self!r} is closed")

    def _on_bus(self, message: Any) -> None:
        decoded = decode(message.type, message.payload, message.tab_id)
        if decoded is None:
            self._link.refused += 1
        else:
            self._driver.feed(self._link.bus_message, decoded)

    def _deliver(self, data: Data) -> None:
        self._messages.emit("", data)
        self._streams.push(data)


def _dumps(obj: Any) -> str:
    try:
        return json.dumps(obj, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"not JSON-serialisable: {exc}") from exc


def create_shared_socket(url: str, key: str = "default", protocols: list[str] | None = None,
                         reconnect: bool = True, queue_limit: int = 1000, *, bus: TabBus | None = None,
                         elector: LeaderElector | None = None,
                         backoff: Callable[[], Iterator[float]] = default_backoff,
                         heartbeat: Heartbeat | None = Heartbeat(), platform: Platform | None = None) -> SharedSocket:
    """One WebSocket to ``url`` shared by every tab that uses the same ``key`` (purrtabby's ``createSharedWebSocket``).

    ``url``: a ``ws://`` or ``wss://`` URL. ``key``: tabs with the same key share one socket
    (and one election). ``protocols``: WebSocket subprotocols to offer. ``reconnect``: the leader
    reconnects with ``backoff`` after a drop (else the state becomes ``closed``). ``queue_limit``:
    unacknowledged sends a tab may hold before ``send`` raises ``QueueFullError``. ``bus``: a
    ``TabBus`` whose ``tab_id`` to use (the protocol keeps a channel of its own). ``elector``: an
    existing ``LeaderElector`` to follow. ``backoff``: returns an iterator of reconnect delays in
    seconds. ``heartbeat``: the leader's liveness ping (``None`` turns it off). ``platform``: the
    tab (default: the real browser; a ``pytabby.testing.FakeTab`` in unit tests).
    """
    return SharedSocket(url, key=key, protocols=protocols, reconnect=reconnect, queue_limit=queue_limit,
                        bus=bus, elector=elector, backoff=backoff, heartbeat=heartbeat, platform=platform)
