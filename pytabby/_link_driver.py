"""Performs a ``SocketLink``'s effects with one tab's ports: its bus, WebSockets, timers.

``SharedSocket`` feeds the link what happened (``feed``); this carries out what the
link asks in return, and resolves the futures of requests and confirmed sends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from ._core import link_io as io
from ._core.link import SocketLink
from ._core.requests import Data
from ._ports import Platform, Socket, Timer
from ._loop import current_loop
from .bus import TabBus
from .errors import ClosedError, RequestError

logger = logging.getLogger("pytabby.socket")


class LinkDriver:
    def __init__(self, link: SocketLink, platform: Platform, bus: TabBus, url: str, protocols: list[str] | None,
                 deliver: Callable[[Data], None], show: Callable[[str], None]) -> None:
        self.link = link
        self.attempts = 0  # sockets this tab tried to open while leading
        self._platform, self._bus, self._url, self._protocols = platform, bus, url, protocols
        self._deliver, self._show = deliver, show
        self._sockets: dict[io.Connection, Socket] = {}
        self._timers: dict[type, Timer] = {}
        self._answers: dict[str, asyncio.Future[Any]] = {}

    def now(self) -> float:
        return self._platform.clock.now_ms() / 1000

    def feed(self, step: Callable[..., None], *args: Any) -> None:
        """Feed the link one input, then perform every effect it asks for, in order."""
        step(*args)
        while effects := self.link.effects():
            for effect in effects:
                self._perform(effect)

    async def answer(self, text: str, answer_id: str, timeout: float | None) -> Any:
        """Send ``text`` and wait for what answers ``answer_id`` (cancel-safe: it is forgotten)."""
        answer = self._answers[answer_id] = current_loop().create_future()
        timer = None
        try:
            self.feed(self.link.send, text, answer_id)
            if timeout is not None:
                timer = self._platform.clock.call_later(timeout, lambda: _fail(answer, TimeoutError(
                    f"no answer to {answer_id} within {timeout}s")))
            return await answer
        finally:
            if timer is not None:
                timer.cancel()
            self._answers.pop(answer_id, None)
            self.link.forget(answer_id)

    def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        for answer in self._answers.values():
            _fail(answer, ClosedError("shared socket closed before the answer"))

    def _perform(self, effect: io.Effect) -> None:  # one branch per kind of effect
        if isinstance(effect, io.Deliver):
            self._deliver(effect.data)
        elif isinstance(effect, io.Post):
            if not self._bus.closed:
                self._bus.publish(effect.type, effect.payload)
        elif isinstance(effect, io.Write):
            try:
                self._sockets[effect.connection].send(effect.data)
            except Exception as exc:  # closing under us: the browser would drop it silently too
                logger.warning("%s: write failed (%s)", self.link.tab_id, exc)
        elif isinstance(effect, io.Answered):
            self._resolve(effect)
        elif isinstance(effect, io.SetState):
            self._show(effect.state)
        elif isinstance(effect, io.Connect):
            self._connect(effect.connection)
        elif isinstance(effect, io.CloseSocket):
            socket = self._sockets.pop(effect.connection, None)
            if socket is not None:
                socket.close(effect.code, effect.reason)
        elif isinstance(effect, io.ReadBuffer):  # the link's next call: no feed within a feed
            socket = self._sockets.get(effect.connection)
            if socket is not None:
                self.link.buffered(effect.connection, socket.buffered_amount, effect.written)
        elif isinstance(effect, io.CheckBuffer):
            self._set_timer(io.CheckBuffer, effect.seconds, lambda: self._check_buffer(effect.connection))
        else:
            self._set_timer(type(effect), effect.seconds, lambda: self.feed(self.link.tick, self.now()))

    def _set_timer(self, kind: type, seconds: float, callback: Callable[[], None]) -> None:
        """One timer of each kind: a new one replaces the old."""
        old = self._timers.pop(kind, None)
        if old is not None:
            old.cancel()
        self._timers[kind] = self._platform.clock.call_later(seconds, callback)

    def _check_buffer(self, connection: io.Connection) -> None:
        socket = self._sockets.get(connection)
        if socket is not None:
            self.feed(self.link.buffered, connection, socket.buffered_amount)

    def _connect(self, connection: io.Connection) -> None:
        self.attempts += 1
        try:
            self._sockets[connection] = self._platform.connect(self._url, self._protocols,
                                                               _Listener(self, connection))
        except Exception as exc:
            logger.warning("%s: could not open the socket (%s)", self.link.tab_id, exc)
            self.link.closed(connection, 1006, self.now())

    def _resolve(self, effect: io.Answered) -> None:
        answer = self._answers.get(effect.answer_id)
        if answer is None or answer.done():
            return
        if effect.reply is None or not effect.reply.is_error:
            answer.set_result(effect.reply.result if effect.reply else None)
        else:
            answer.set_exception(RequestError(effect.reply.error, effect.answer_id))


class _Listener:
    """The socket events of one connection, fed to the link with that connection."""

    def __init__(self, driver: LinkDriver, connection: io.Connection) -> None:
        self._driver, self._connection = driver, connection

    def on_open(self) -> None:
        self._driver.feed(self._driver.link.opened, self._connection, self._driver.now())

    def on_message(self, data: Data) -> None:
        self._driver.feed(self._driver.link.server_frame, self._connection, data, self._driver.now())

    def on_close(self, code: int, reason: str, was_clean: bool) -> None:
        self._driver._check_buffer(self._connection)  # what left is acknowledged, the rest goes out again
        self._driver._sockets.pop(self._connection, None)
        self._driver.feed(self._driver.link.closed, self._connection, code, self._driver.now())


def _fail(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)
