"""What the chat and dashboard demos share: the server URL, the badges, the /stats poller and cleanup.

Loaded as a module beside each demo (see demo.js), so the demos import it rather than copy it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from js import document, location, window
from pyodide.ffi import create_proxy
from pyodide.http import pyfetch

from pytabby import SharedSocket

STATS_EVERY = 1.0  # seconds between /stats polls


def ws_url(path: str) -> str:
    """The server's WebSocket URL for ``path`` on this page's own host."""
    scheme = "wss" if location.protocol == "https:" else "ws"
    return f"{scheme}://{location.host}{path}"


def show(element_id: str, text: str, css_class: str | None = None) -> None:
    element = document.getElementById(element_id)
    element.textContent = text  # always text, never HTML: server or user input cannot inject markup
    if css_class is not None:
        element.className = f"badge {css_class}".strip()


def show_role(sock: SharedSocket) -> None:
    show("role", "leader" if sock.is_leader else "follower", "leader" if sock.is_leader else "")
    show("socket-state", f"socket {sock.state}", sock.state)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' * (count != 1)}"


async def poll_stats(render: Callable[[dict[str, Any]], str], element_id: str = "connections") -> None:
    """Show ``render(stats)`` from the server's /stats, once a second, until cancelled."""
    while True:
        try:
            show(element_id, render(await (await pyfetch("/stats")).json()))
        except Exception as exc:  # the server may be restarting; try again next round
            show(element_id, f"stats unavailable ({exc})")
        await asyncio.sleep(STATS_EVERY)


def ready(text: str) -> None:
    status = document.getElementById("pytabby-status")
    status.textContent = text
    status.className = "ready"


class PageLife:
    """Runs cleanups when the page really goes away, and owns the page's proxies.

    A ``pagehide`` with ``persisted`` is the back/forward cache: the page may come
    back, and pytabby already steps down and rejoins by itself, so nothing closes then.
    """

    def __init__(self) -> None:
        self._cleanups: list[Callable[[], None]] = []
        self._proxies: list[Any] = []
        self.listen(window, "pagehide", self._on_pagehide)

    def listen(self, target: Any, event: str, handler: Callable[[Any], None]) -> None:
        proxy = create_proxy(handler)
        target.addEventListener(event, proxy)
        self._proxies.append((target, event, proxy))

    def on_close(self, cleanup: Callable[[], None]) -> None:
        self._cleanups.append(cleanup)

    def _on_pagehide(self, event: Any) -> None:
        if not event.persisted:
            self.close()

    def close(self) -> None:
        for cleanup in reversed(self._cleanups):
            cleanup()
        self._cleanups.clear()
        for target, event, proxy in self._proxies:
            target.removeEventListener(event, proxy)
            proxy.destroy()
        self._proxies.clear()
