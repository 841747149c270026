"""The browser edge: the only package that touches ``js`` and ``pyodide``.

Implements the ports of ``pytabby._ports`` on
`BroadcastChannel <https://developer.mozilla.org/docs/Web/API/BroadcastChannel>`_ (``channel``),
`Web Locks <https://developer.mozilla.org/docs/Web/API/Web_Locks_API>`_ (``locks``) and
`WebSocket <https://developer.mozilla.org/docs/Web/API/WebSocket>`_ (``websocket``), for one tab
(``tab``). Values cross the boundary once each way (``ffi``). Every proxy is owned
and destroyed when its owner closes. ``JsException`` never leaves this package:
it becomes a pytabby error with the JS error as ``__cause__``.

When Pyodide fails fatally (a wasm stack overflow, out of memory), Python is
gone but proxies registered as listeners would still run it, so a dead leader
would keep answering pings. Each channel, lock and socket therefore also
registers a JS-only clean-up that Pyodide's ``on_fatal`` hook runs (``ffi.FATAL``):
channels close, locks are released, sockets close, and the other tabs elect a
new leader at once. Likewise a discarded page closes its sockets and gives its
locks back from JS at its ``pagehide``, before Python's handlers run (``tab``).
"""

from .ffi import live_proxies
from .tab import BrowserPlatform

__all__ = ["BrowserPlatform", "live_proxies"]
