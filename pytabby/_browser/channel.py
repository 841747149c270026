"""``BroadcastChannel`` as the ``Channel`` port.

Envelopes marked ``plain`` (JSON carries them exactly) cross as one JSON string each way:
``JSON.parse`` in JS on the way out, ``JSON.stringify`` + bounded ``json.loads`` on the way in,
instead of a conversion call per field and a walk over the payload.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import js
from pyodide.ffi import JsException, JsProxy

from .._core.envelope import JsonText
from .ffi import FATAL, Proxies, bound, to_js_value, to_py_value

_parse_json = js.JSON.parse
_stringify = js.JSON.stringify


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
            data = _read(event.data)
        except Exception as exc:  # a JS value to_py cannot convert must not break the tab
            on_bad_message(f"unconvertible data: {exc}")
            return
        on_message(data)

    def post(self, data: Any) -> None:
        js_data = _parse_json(json.dumps(data, separators=(",", ":"))) if data.get("plain") else to_js_value(data)
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


def _read(data: Any) -> Any:
    """A received value: JSON text for a ``plain`` object (one call, parsed in C), else ``to_py_value``."""
    if isinstance(data, JsProxy) and getattr(data, "plain", None) is True:
        try:
            return JsonText(_stringify(data))
        except JsException:  # not JSON after all (a BigInt, a cycle): convert it as any object
            pass
    return to_py_value(data)
