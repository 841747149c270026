"""``WebSocket`` as the ``Socket`` port; binary frames arrive as ``bytes``."""

from __future__ import annotations

from typing import Any

import js
from pyodide.ffi import to_js

from .._ports import SocketListener
from .ffi import FATAL, Proxies, bound, uint8_array


class BrowserSocket:
    def __init__(self, url: str, protocols: list[str] | None, listener: SocketListener) -> None:
        self._proxies = Proxies()
        self._socket = js.WebSocket.new(url, to_js(protocols)) if protocols else js.WebSocket.new(url)
        self._socket.binaryType = "arraybuffer"
        self._listeners = {
            "open": self._proxies.create(lambda event: listener.on_open()),
            "message": self._proxies.create(lambda event: listener.on_message(self._frame(event.data))),
            "close": self._proxies.create(lambda event: self._closed(listener, event)),
        }
        for kind, handler in self._listeners.items():
            self._socket.addEventListener(kind, handler)
        self._on_fatal = FATAL.add(bound(self._socket, "close"))

    @staticmethod
    def _frame(data: Any) -> str | bytes:
        return data if isinstance(data, str) else data.to_bytes()

    def _closed(self, listener: SocketListener, event: Any) -> None:
        self._detach()
        listener.on_close(int(event.code), str(event.reason), bool(event.wasClean))

    def send(self, data: str | bytes) -> None:
        self._socket.send(data if isinstance(data, str) else uint8_array(data))

    def close(self, code: int = 1000, reason: str = "") -> None:
        self._detach()
        self._socket.close(code, reason)

    def _detach(self) -> None:
        FATAL.discard(self._on_fatal)
        for kind, handler in self._listeners.items():
            self._socket.removeEventListener(kind, handler)
        self._listeners = {}
        self._proxies.destroy_all()
