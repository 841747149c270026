"""Picks the platform: the real browser under Pyodide, nothing elsewhere.

Every module imports in plain CPython; only ``default_platform()`` reaches for
the browser edge, and only when running in Pyodide.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import warnings
from collections.abc import Callable
from typing import Any

from ._ports import Platform, Timer

IN_BROWSER = sys.platform == "emscripten"

_platform: Platform | None = None


def default_platform() -> Platform:
    global _platform
    if _platform is None:
        if not IN_BROWSER:
            raise RuntimeError(
                "pytabby needs a browser tab (Pyodide); outside one pass platform=, "
                "e.g. a tab of pytabby.testing.FakeBrowser"
            )
        from ._browser import BrowserPlatform

        _platform = BrowserPlatform()
    return _platform


class Closeable:
    """Closes three ways: ``close()``, ``with``/``async with``, and a ``ResourceWarning`` if never closed."""

    def close(self) -> None:
        raise NotImplementedError

    def _needs_close(self) -> bool:
        return not getattr(self, "_closed", True)

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> Any:
        return self.__enter__()

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        if self._needs_close():
            warnings.warn(f"unclosed {self!r}; call close() or use it as a context manager", ResourceWarning,
                          stacklevel=2)


def current_loop() -> asyncio.AbstractEventLoop:
    """The running loop, or (in Pyodide at top level) the page's webloop."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.get_event_loop()


def new_tab_id() -> str:
    return f"tab-{secrets.token_hex(4)}"


class LoopClock:
    """Wall-clock milliseconds and timers on the running asyncio loop (the webloop in a tab)."""

    def __init__(self, now_ms: Callable[[], float]) -> None:
        self.now_ms = now_ms

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        return current_loop().call_later(delay, callback)
