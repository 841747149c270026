"""``WebSocket`` as the ``Socket`` port; binary frames arrive as ``bytes``."""

from __future__ import annotations

from typing import Any

import js
from pyodide.ffi import to_js

from .._ports import SocketListener
from .ffi import FATAL, SOCKETS_AT_UNLOAD, Proxies, bound, cross_text, text_of, uint8_array

# A text frame (well formed: the browser decoded it from UTF-8) crosses as itself, or when long as
# its UTF-8 bytes; a binary frame as its ArrayBuffer.
_frames = js.Function.new("onText", "onBinary", "cross", """return (event) => {
    const data = event.data;
    return typeof data === "string" ? onText(cross(data)) : onBinary(data);
};""")


class BrowserSocket:
    def __init__(self, url: str, protocols: list[str] | None, listener: SocketListener) -> None:
        self._proxies = Proxies()
        self._socket = js.WebSocket.new(url, to_js(protocols)) if protocols else js.WebSocket.new(url)
        self._socket.binaryType = "arraybuffer"
        self._listeners = {
            "open": self._proxies.create(lambda event: listener.on_open()),
            "message": _frames(self._proxies.create(lambda text: listener.on_message(text_of(text))),
                               self._proxies.create(lambda data: listener.on_message(data.to_bytes())), cross_text),
            "close": self._proxies.create(lambda event: self._closed(listener, event)),
        }
        for kind, handler in self._listeners.items():
            self._socket.addEventListener(kind, handler)
        self._on_fatal = FATAL.add(bound(self._socket, "close"))
        # As the link's own close would say it, had Python run first (JS allows no 1001 going-away).
        self._on_unload = SOCKETS_AT_UNLOAD.add(bound(self._socket, "close", 1000, "leader's page closed"))

    def _closed(self, listener: SocketListener, event: Any) -> None:
        self._detach()
        listener.on_close(int(event.code), str(event.reason), bool(event.wasClean))

    def send(self, data: str | bytes) -> None:
        self._socket.send(data if isinstance(data, str) else uint8_array(data))

    @property
    def buffered_amount(self) -> int:
        return int(self._socket.bufferedAmount)

    def close(self, code: int = 1000, reason: str = "") -> None:
        self._detach()
        self._socket.close(code, reason)

    def _detach(self) -> None:
        FATAL.discard(self._on_fatal)
        SOCKETS_AT_UNLOAD.discard(self._on_unload)
        for kind, handler in self._listeners.items():
            self._socket.removeEventListener(kind, handler)
        self._listeners = {}
        self._proxies.destroy_all()
