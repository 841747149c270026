"""``BroadcastChannel`` as the ``Channel`` port."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import js
from pyodide.ffi import JsException

from .ffi import FATAL, Proxies, bound, to_js_value, to_py_value


class BrowserChannel:
    def __init__(self, name: str, on_message: Callable[[Any], None], on_bad_message: Callable[[str], None]) -> None:
        self._proxies = Proxies()
        self._channel = js.BroadcastChannel.new(name)
        self._listeners = {
            "message": self._proxies.create(lambda event: self._receive(event, on_message, on_bad_message)),
            "messageerror": self._proxies.create(lambda event: on_bad_message("message could not be deserialized")),
        }
        for kind, listener in self._listeners.items():
            self._channel.addEventListener(kind, listener)
        self._on_fatal = FATAL.add(bound(self._channel, "close"))  # a dead tab stops answering

    @staticmethod
    def _receive(event: Any, on_message: Callable[[Any], None], on_bad_message: Callable[[str], None]) -> None:
        try:
            data = to_py_value(event.data)
        except Exception as exc:  # a JS value to_py cannot convert must not break the tab
            on_bad_message(f"unconvertible data: {exc}")
            return
        on_message(data)

    def post(self, data: Any) -> None:
        js_data = to_js_value(data)
        try:
            self._channel.postMessage(js_data)
        except JsException as exc:
            raise TypeError(f"payload cannot be cloned: {exc}") from exc

    def close(self) -> None:
        FATAL.discard(self._on_fatal)
        for kind, listener in self._listeners.items():
            self._channel.removeEventListener(kind, listener)
        self._channel.close()
        self._proxies.destroy_all()
