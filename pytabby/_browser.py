"""The browser edge: the only module that touches ``js`` and ``pyodide.ffi``.

Implements the ports of ``pytabby._ports`` on
`BroadcastChannel <https://developer.mozilla.org/docs/Web/API/BroadcastChannel>`_,
`Web Locks <https://developer.mozilla.org/docs/Web/API/Web_Locks_API>`_ and
`WebSocket <https://developer.mozilla.org/docs/Web/API/WebSocket>`_.
Values cross the boundary once each way: out as plain JS objects
(``Object.fromEntries``, bytes as one ``Uint8Array`` copy), in through
``to_py()`` with buffers turned into ``bytes``. Every proxy is owned by a
``_Proxies`` set and destroyed when its owner closes. ``JsException`` never
leaves this module: it becomes a pytabby error with the JS error as ``__cause__``.

When Pyodide fails fatally (a wasm stack overflow, out of memory), Python is
gone but the proxies registered as listeners would still run it, so a dead
leader would keep answering pings. Each channel, lock and socket therefore
also registers a JS-only clean-up with ``_FATAL``, which Pyodide's ``on_fatal``
hook runs: channels close, locks are released, sockets close, and the other
tabs elect a new leader at once.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from typing import Any

import js
import pyodide_js
from pyodide.ffi import JsException, JsProxy, create_once_callable, create_proxy, jsnull, to_js

from ._loop import current_loop
from ._ports import LockHold, SocketListener, Timer
from .errors import LeaderElectionUnavailable, LockError

_live_proxies = 0


def live_proxies() -> int:
    """How many proxies pytabby holds right now (0 once everything is closed)."""
    return _live_proxies


class _Proxies:
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


class _FatalCleanups:
    """JS functions to call, without Python, when Pyodide reports a fatal error."""

    def __init__(self) -> None:
        self._cleanups = js.Set.new()
        api = getattr(pyodide_js, "_api", None)
        if api is None:  # a Pyodide without the hook: followers' liveness still replaces a dead leader
            return
        chain = js.Function.new("cleanups", "previous", """return (error) => {
            for (const cleanup of cleanups) { try { cleanup(); } catch (e) { console.error(e); } }
            cleanups.clear();
            if (previous) previous(error);
        };""")
        api.on_fatal = chain(self._cleanups, getattr(api, "on_fatal", None))

    def add(self, cleanup: Any) -> Any:
        self._cleanups.add(cleanup)
        return cleanup

    def discard(self, cleanup: Any) -> None:
        self._cleanups.delete(cleanup)


_FATAL = _FatalCleanups()


def _bound(target: Any, method: str) -> Any:
    return getattr(target, method).bind(target)


def _to_js(value: Any) -> Any:
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
        return _uint8_array(value)
    raise TypeError(f"{type(value).__name__} cannot be sent between tabs")


def _uint8_array(data: bytes | bytearray | memoryview) -> Any:
    array = js.Uint8Array.new(len(data))
    array.assign(data)  # one copy of the whole buffer
    return array


def _to_py(value: Any) -> Any:
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


class BrowserChannel:
    def __init__(self, name: str, on_message: Callable[[Any], None], on_bad_message: Callable[[str], None]) -> None:
        self._proxies = _Proxies()
        self._channel = js.BroadcastChannel.new(name)
        self._listeners = {
            "message": self._proxies.create(lambda event: self._receive(event, on_message, on_bad_message)),
            "messageerror": self._proxies.create(lambda event: on_bad_message("message could not be deserialized")),
        }
        for kind, listener in self._listeners.items():
            self._channel.addEventListener(kind, listener)
        self._on_fatal = _FATAL.add(_bound(self._channel, "close"))

    @staticmethod
    def _receive(event: Any, on_message: Callable[[Any], None], on_bad_message: Callable[[str], None]) -> None:
        try:
            data = _to_py(event.data)
        except Exception as exc:  # a JS value to_py cannot convert must not break the tab
            on_bad_message(f"unconvertible data: {exc}")
            return
        on_message(data)

    def post(self, data: Any) -> None:
        js_data = _to_js(data)
        try:
            self._channel.postMessage(js_data)
        except JsException as exc:
            raise TypeError(f"payload cannot be cloned: {exc}") from exc

    def close(self) -> None:
        _FATAL.discard(self._on_fatal)
        for kind, listener in self._listeners.items():
            self._channel.removeEventListener(kind, listener)
        self._channel.close()
        self._proxies.destroy_all()


class BrowserLockHold:
    """One ``navigator.locks.request``: held by a pending promise that ``release`` resolves."""

    def __init__(self, name: str, steal: bool, on_granted: Callable[[], None],
                 on_lost: Callable[[BaseException | None], None]) -> None:
        self._released = False
        self._granted_yet = False
        self._on_granted = on_granted
        self._on_lost = on_lost
        self._proxies = _Proxies()
        self._hold = js.Promise.withResolvers()
        # A signal cannot be combined with steal (the spec rejects it); a steal is granted at once anyway.
        self._abort: Any = None if steal else js.AbortController.new()
        options = {"steal": True} if steal else {"signal": self._abort.signal}
        self._on_fatal = [_FATAL.add(self._hold.resolve)]
        if self._abort is not None:
            self._on_fatal.append(_FATAL.add(_bound(self._abort, "abort")))
        request = js.navigator.locks.request(name, _to_js(options), self._proxies.create(self._granted))
        self._watch = asyncio.ensure_future(self._until_settled(request))

    def _granted(self, lock: Any) -> Any:
        if self._released:
            return None  # withdrawn while the grant was on its way: let the lock go at once
        self._granted_yet = True
        self._on_granted()
        return self._hold.promise

    async def _until_settled(self, request: Any) -> None:
        try:
            await request
        except JsException as exc:
            if not self._released:
                self._released = True
                error = LockError(f"the Web Lock ended without release: {exc}")
                error.__cause__ = exc
                self._on_lost(error)
        finally:
            for cleanup in self._on_fatal:
                _FATAL.discard(cleanup)
            self._proxies.destroy_all()

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        if self._granted_yet:
            self._hold.resolve()
        elif self._abort is not None:
            self._abort.abort()  # withdraws a request still waiting in line


class BrowserLocks:
    def __init__(self) -> None:
        self._locks = js.navigator.locks
        self._probes: set[asyncio.Task[None]] = set()  # referenced until done

    def request(self, name: str, *, steal: bool, on_granted: Callable[[], None],
                on_lost: Callable[[BaseException | None], None]) -> LockHold:
        return BrowserLockHold(name, steal, on_granted, on_lost)

    def try_request(self, name: str, on_result: Callable[[LockHold | None], None]) -> None:
        probe = asyncio.ensure_future(self._try_request(name, on_result))
        self._probes.add(probe)
        probe.add_done_callback(self._probes.discard)

    async def _try_request(self, name: str, on_result: Callable[[LockHold | None], None]) -> None:
        hold = js.Promise.withResolvers()
        proxies = _Proxies()

        def granted(lock: Any) -> Any:
            if lock is None:
                on_result(None)
                return None
            on_result(_ResolveHold(hold))
            return hold.promise

        on_fatal = _FATAL.add(hold.resolve)
        try:
            await self._locks.request(name, _to_js({"ifAvailable": True}), proxies.create(granted))
        except JsException as exc:
            raise LockError(f"Web Lock {name!r} could not be requested: {exc}") from exc
        finally:
            _FATAL.discard(on_fatal)
            proxies.destroy_all()

    async def is_held(self, name: str) -> bool:
        snapshot = await self._locks.query()
        return any(lock.name == name for lock in snapshot.held)


class _ResolveHold:
    def __init__(self, hold: Any) -> None:
        self._hold = hold

    def release(self) -> None:
        self._hold.resolve()


class BrowserSocket:
    def __init__(self, url: str, protocols: list[str] | None, listener: SocketListener) -> None:
        self._proxies = _Proxies()
        self._socket = js.WebSocket.new(url, to_js(protocols)) if protocols else js.WebSocket.new(url)
        self._socket.binaryType = "arraybuffer"
        self._listeners = {
            "open": self._proxies.create(lambda event: listener.on_open()),
            "message": self._proxies.create(lambda event: listener.on_message(self._frame(event.data))),
            "close": self._proxies.create(lambda event: self._closed(listener, event)),
        }
        for kind, handler in self._listeners.items():
            self._socket.addEventListener(kind, handler)
        self._on_fatal = _FATAL.add(_bound(self._socket, "close"))

    @staticmethod
    def _frame(data: Any) -> str | bytes:
        return data if isinstance(data, str) else data.to_bytes()

    def _closed(self, listener: SocketListener, event: Any) -> None:
        self._detach()
        listener.on_close(int(event.code), str(event.reason), bool(event.wasClean))

    def send(self, data: str | bytes) -> None:
        self._socket.send(data if isinstance(data, str) else _uint8_array(data))

    def close(self, code: int = 1000, reason: str = "") -> None:
        self._detach()
        self._socket.close(code, reason)

    def _detach(self) -> None:
        _FATAL.discard(self._on_fatal)
        for kind, handler in self._listeners.items():
            self._socket.removeEventListener(kind, handler)
        self._listeners = {}
        self._proxies.destroy_all()


class BrowserPlatform:
    """The ports of one real tab (or worker)."""

    def __init__(self) -> None:
        # The tabs' shared clock (performance.timeOrigin + now) without a JS call per reading:
        # Emscripten's monotonic clock is performance.now(), so one offset maps it (7 µs -> 0.6 µs).
        offset = float(js.performance.timeOrigin + js.performance.now()) - time.monotonic() * 1000
        self.clock = LoopClock(lambda: offset + time.monotonic() * 1000)
        self._locks: BrowserLocks | None = None
        self._lifecycle_handlers: list[Callable[[str, bool], None]] = []
        # One listener for every elector of the tab, attached while any listens; a worker has no such events.
        self._lifecycle_proxies = _Proxies()
        self._lifecycle_listener: JsProxy | None = None
        self._lifecycle_targets = [(target, kind) for target, kinds in (
            (getattr(js, "window", None), ("pagehide", "pageshow")),
            (getattr(js, "document", None), ("freeze", "resume"))) if target is not None for kind in kinds]

    @property
    def locks(self) -> BrowserLocks:
        if not js.isSecureContext:
            raise LeaderElectionUnavailable("Web Locks need a secure context (https or localhost)")
        if getattr(js.navigator, "locks", None) is None:
            raise LeaderElectionUnavailable("this browser has no Web Locks API (navigator.locks)")
        if self._locks is None:
            self._locks = BrowserLocks()
        return self._locks

    def new_tab_id(self) -> str:
        return new_tab_id()

    def defer(self, callback: Callable[[], None]) -> None:
        # A microtask: asyncio's call_soon is a clamped setTimeout here (~1-4 ms per hop).
        js.queueMicrotask(create_once_callable(callback))

    def open_channel(self, name: str, on_message: Callable[[Any], None],
                     on_bad_message: Callable[[str], None]) -> BrowserChannel:
        return BrowserChannel(name, on_message, on_bad_message)

    def connect(self, url: str, protocols: list[str] | None, listener: SocketListener) -> BrowserSocket:
        return BrowserSocket(url, protocols, listener)

    def on_lifecycle(self, handler: Callable[[str, bool], None]) -> Callable[[], None]:
        if not self._lifecycle_handlers:
            self._listen_lifecycle(True)
        self._lifecycle_handlers.append(handler)

        def remove() -> None:
            if handler in self._lifecycle_handlers:
                self._lifecycle_handlers.remove(handler)
                if not self._lifecycle_handlers:
                    self._listen_lifecycle(False)

        return remove

    def _dispatch_lifecycle(self, event: Any) -> None:
        persisted = bool(getattr(event, "persisted", False))
        for handler in list(self._lifecycle_handlers):
            handler(str(event.type), persisted)

    def _listen_lifecycle(self, on: bool) -> None:
        if on:
            self._lifecycle_listener = self._lifecycle_proxies.create(self._dispatch_lifecycle)
        for target, kind in self._lifecycle_targets:
            (target.addEventListener if on else target.removeEventListener)(kind, self._lifecycle_listener)
        if not on:
            self._lifecycle_listener = None
            self._lifecycle_proxies.destroy_all()


class LoopClock:
    """Milliseconds since the epoch and timers on the running asyncio loop (the webloop in a tab)."""

    def __init__(self, now_ms: Callable[[], float]) -> None:
        self.now_ms = now_ms

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        return current_loop().call_later(delay, callback)


def new_tab_id() -> str:
    return f"tab-{secrets.token_hex(4)}"
