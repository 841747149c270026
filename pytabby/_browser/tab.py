"""``BrowserPlatform``: the ports of one real tab (or worker), and its clock."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import js
from pyodide.ffi import JsProxy

from .._loop import current_loop
from .._ports import SocketListener, Timer
from ..errors import LeaderElectionUnavailable
from .channel import BrowserChannel
from .ffi import LOCKS_AT_UNLOAD, MICROTASKS, SOCKETS_AT_UNLOAD, Proxies

if TYPE_CHECKING:  # imported on first use: a tab with only a bus never loads them (nor secrets/hmac)
    from .locks import BrowserLocks
    from .websocket import BrowserSocket


# Seconds a burst's readings stay anchored to one reading of the shared clock. Firefox's monotonic
# clock drifts from performance.timeOrigin + now(): measured 7 ms off in a tab a few minutes old.
ANCHOR_SECONDS = 1.0
_monotonic = time.monotonic  # read on every message of a burst


class LoopClock:
    """The tabs' shared clock (performance.timeOrigin + now(), in ms) and timers on the running asyncio loop.

    Which reading costs least depends on whether the tab is busy. In a tab idle before it (a lone
    message, a timer), one call into JS's ``performance.now()`` costs 3-5 µs against 10-20 for
    ``time.monotonic()``, which Emscripten serves through WASI's 64-bit clock (mean cold cost of
    a reading, 300-500 readings 4 ms apart: Chromium 4-6 µs against 14-38 for the previous clock,
    ``time.monotonic()`` plus an offset; Firefox 11 against 20-28; WebKit 7 against 15-19); so
    ``now_ms`` makes that call. In a loop of readings (a burst's messages) ``time.monotonic()`` is
    the cheaper (Firefox 0.5 against 1.4 µs), so ``burst_ms`` reads it, plus an offset taken from
    ``now_ms`` at the burst's first reading and once a second after. Neither runs back: the two
    clocks step apart (coarsened, and Firefox's drift), so a reading behind the last one given is
    that one.
    """

    def __init__(self) -> None:
        self._origin = float(js.performance.timeOrigin)
        self._performance_now = js.performance.now
        self._offset = 0.0
        self._anchor_until = -math.inf
        self._last = -math.inf

    def now_ms(self) -> float:
        self._anchor_until = -math.inf  # the next burst reading anchors after this one
        reading: float = self._origin + self._performance_now()
        if reading < self._last:
            return self._last
        self._last = reading
        return reading

    def burst_ms(self) -> float:
        monotonic = _monotonic()
        if monotonic > self._anchor_until:
            self._offset = self.now_ms() - monotonic * 1000
            self._anchor_until = monotonic + ANCHOR_SECONDS
        reading = self._offset + monotonic * 1000
        if reading < self._last:
            return self._last
        self._last = reading
        return reading

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        return current_loop().call_later(delay, callback)


def new_tab_id() -> str:
    return f"tab-{os.urandom(4).hex()}"  # os, not secrets: secrets imports hmac at boot


class BrowserPlatform:
    def __init__(self) -> None:
        self.clock = LoopClock()
        self._locks: BrowserLocks | None = None
        self._lifecycle_handlers: list[Callable[[str, bool], None]] = []
        # One listener for every elector of the tab, attached while any listens; a worker has no such events.
        # A beforeunload listener keeps a page out of Firefox's back/forward cache, as does the Web
        # Lock every elector's tab holds all along (BrowserLocks' identity); Chromium and WebKit
        # cache such pages either way.
        self._lifecycle_proxies = Proxies()
        self._lifecycle_listener: JsProxy | None = None
        self._lifecycle_targets = [(target, kind) for target, kinds in (
            (getattr(js, "window", None), ("beforeunload", "pagehide", "pageshow")),
            (getattr(js, "document", None), ("freeze", "resume"))) if target is not None for kind in kinds]

    @property
    def locks(self) -> BrowserLocks:
        if not js.isSecureContext:
            raise LeaderElectionUnavailable("Web Locks need a secure context (https or localhost)")
        if getattr(js.navigator, "locks", None) is None:
            raise LeaderElectionUnavailable("this browser has no Web Locks API (navigator.locks)")
        if self._locks is None:
            from .locks import BrowserLocks

            self._locks = BrowserLocks()
        return self._locks

    def new_tab_id(self) -> str:
        return new_tab_id()

    def defer(self, callback: Callable[[], None]) -> None:
        # A microtask: asyncio's call_soon is a clamped setTimeout here (~1-4 ms per hop).
        MICROTASKS.defer(callback)

    def open_channel(self, name: str, on_message: Callable[[Any], None], on_bad_message: Callable[[str], None],
                     on_fields: Callable[[str, Any, str, float, int], None]) -> BrowserChannel:
        return BrowserChannel(name, on_message, on_bad_message, on_fields)

    def connect(self, url: str, protocols: list[str] | None, listener: SocketListener) -> BrowserSocket:
        from .websocket import BrowserSocket

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
            self._lifecycle_listener = _lifecycle_listener(self._lifecycle_proxies.create(self._dispatch_lifecycle),
                                                           SOCKETS_AT_UNLOAD.run, LOCKS_AT_UNLOAD.run)
        listener = self._lifecycle_listener
        for target, kind in self._lifecycle_targets:
            (target.addEventListener if on else target.removeEventListener)(kind, listener)
        if not on and listener is not None:
            listener.dispatch = None  # a pagehide's dispatch still queued finds no proxy to call
            self._lifecycle_listener = None
            self._lifecycle_proxies.destroy_all()


# Chromium runs no microtask until every pagehide listener has returned, and a lock goes back in a
# microtask: Python's work at a closing tab's pagehide (0.5-10 ms measured) held the leader lock
# from the next tab. So a discarded document closes its sockets and gives its locks back here, in
# JS, and Python's handlers follow in a microtask queued after the release. Nothing of this tab
# can run in between.
_lifecycle_listener = js.Function.new("dispatch", "closeSockets", "releaseLocks", """
    const listener = (event) => {
        if (event.type !== "pagehide" || event.persisted) {
            listener.dispatch(event);
            return;
        }
        closeSockets();
        releaseLocks();
        queueMicrotask(() => listener.dispatch?.(event));
    };
    listener.dispatch = dispatch;
    return listener;""")
