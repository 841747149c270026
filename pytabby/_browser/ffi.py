"""Crossing the JS boundary: owned proxies, value conversion, the fatal-error clean-ups."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import js
import pyodide_js
from pyodide.ffi import JsProxy, create_once_callable, create_proxy, jsnull, to_js

from .._loop import current_loop

_live_proxies = 0


def live_proxies() -> int:
    """How many proxies pytabby holds right now (0 once everything is closed)."""
    return _live_proxies


class Proxies:
    """Owns the proxies of one browser object; ``destroy_all`` on close."""

    def __init__(self) -> None:
        self._owned: list[JsProxy] = []

    def create(self, func: Callable[..., Any]) -> JsProxy:
        global _live_proxies
        proxy = create_proxy(func)
        self._owned.append(proxy)
        _live_proxies += 1
        return proxy

    def destroy_all(self) -> None:
        global _live_proxies
        for proxy in self._owned:
            proxy.destroy()
        _live_proxies -= len(self._owned)
        self._owned.clear()


# Calls each clean-up once (one that throws is logged, the rest still run), then forgets them.
_run_all = js.Function.new("cleanups", """
    for (const cleanup of cleanups) { try { cleanup(); } catch (e) { console.error(e); } }
    cleanups.clear();""")


class JsCleanups:
    """JS functions that JS code calls later, without Python: ``run``, itself a JS function, calls them."""

    def __init__(self) -> None:
        self._functions = js.Set.new()
        self.run = _run_all.bind(None, self._functions)

    def add(self, cleanup: Any) -> Any:
        self._functions.add(cleanup)
        return cleanup

    def discard(self, cleanup: Any) -> None:
        self._functions.delete(cleanup)


class FatalCleanups(JsCleanups):
    """The clean-ups Pyodide's ``on_fatal`` hook runs, as Python is gone by then."""

    def __init__(self) -> None:
        super().__init__()
        api = getattr(pyodide_js, "_api", None)
        if api is None:  # a Pyodide without the hook: followers' liveness still replaces a dead leader
            return
        chain = js.Function.new("runCleanups", "previous", """return (error) => {
            runCleanups();
            if (previous) previous(error);
        };""")
        api.on_fatal = chain(self.run, getattr(api, "on_fatal", None))


FATAL = FatalCleanups()
# What a discarded document (a pagehide that does not persist) lets go of from JS, before any
# Python handler runs (``tab``): its sockets, then its locks, so that no next leader connects
# while the old socket is still open.
SOCKETS_AT_UNLOAD = JsCleanups()
LOCKS_AT_UNLOAD = JsCleanups()

_on_settled = js.Function.new("promise", "callback", """
    promise.then(() => callback(null), (error) => callback(error ?? new Error("rejected")));""")


def on_settled(promise: Any, callback: Callable[[Any], None]) -> None:
    """Call ``callback(None)`` when ``promise`` fulfils, ``callback(js_error)`` when it rejects.

    In a microtask, before the next task; the callback's proxy is destroyed once it ran.
    """
    _on_settled(promise, create_once_callable(callback))


class Microtasks:
    """Callbacks run in a microtask through one proxy kept for the tab's life.

    ``create_once_callable`` per call would make and destroy a proxy each time (~20 µs a
    message at a low rate). Callbacks deferred in one task share one microtask, in order;
    one deferred while they run gets a microtask of its own, after those JS queued meanwhile.
    """

    def __init__(self) -> None:
        self._pending: list[Callable[[], None]] = []
        self._proxy: JsProxy | None = None  # made on first use; never destroyed (like FATAL's set)
        self._queue = js.queueMicrotask

    def defer(self, callback: Callable[[], None]) -> None:
        self._pending.append(callback)
        if len(self._pending) == 1:
            if self._proxy is None:
                self._proxy = create_proxy(self._run)
            self._queue(self._proxy)

    def _run(self) -> None:
        pending, self._pending = self._pending, []
        for callback in pending:
            try:
                callback()
            except Exception as exc:  # one failing callback must not drop the others
                current_loop().call_exception_handler({"message": "pytabby: deferred callback raised",
                                                       "exception": exc})


MICROTASKS = Microtasks()


def bound(target: Any, method: str, *args: Any) -> Any:
    """``target.method`` (with ``args`` first) as a JS function that needs no Python to run."""
    return getattr(target, method).bind(target, *args)


def to_js_value(value: Any) -> Any:
    return to_js(_with_nulls(value), dict_converter=js.Object.fromEntries, default_converter=_convert_other)


def _with_nulls(value: Any) -> Any:
    # to_js turns None into undefined; JS peers (purrtabby, JSON) expect null.
    if value is None:
        return jsnull
    if type(value) is dict:
        return {key: _with_nulls(item) for key, item in value.items()}
    if type(value) in (list, tuple):
        return [_with_nulls(item) for item in value]
    return value


def _convert_other(value: Any, convert: Any, cache: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return uint8_array(value)
    raise TypeError(f"{type(value).__name__} cannot be sent between tabs")


def uint8_array(data: bytes | bytearray | memoryview) -> Any:
    array = js.Uint8Array.new(len(data))
    array.assign(data)  # one copy of the whole buffer
    return array


# Text longer than this crosses into Python as UTF-8 bytes: the call copies a JS string a
# character at a time in JS (~8-18 ns each), TextEncoder and the byte copy cost ~5 µs plus ~2 ns
# a character (Chromium; even at ~1,000 characters).
LONG_TEXT = 2048


# The JS side of text_of, one function for every listener: the caller passes only well-formed
# text (UTF-8 cannot carry a lone surrogate).
cross_text = js.Function.new("longText", """const encoder = new TextEncoder();
return (text) => text.length > longText ? encoder.encode(text) : text;""")(LONG_TEXT)


def text_of(crossed: str | JsProxy) -> str:
    """Text a JS listener handed over, as itself or (when long) as a ``Uint8Array`` of UTF-8."""
    return crossed if crossed.__class__ is str else crossed.to_bytes().decode()  # type: ignore[union-attr]


def to_py_value(value: Any) -> Any:
    """A received JS value as plain Python: objects → dict, arrays → list, buffers → bytes."""
    if isinstance(value, JsProxy):
        value = value.to_py()
    return _plain(value)


def _plain(value: Any) -> Any:
    # What to_py leaves as a JsProxy (a Date, a class instance) the envelope check reports.
    if value is jsnull:
        return None
    if isinstance(value, memoryview):
        return value.tobytes()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value
