"""Figures on Firefox or WebKit (``--engine``), through the test kit's driver-neutral tab handles.

Only the figures whose pages need nothing but ``evaluate`` and polling run there (throughput,
latency). Pages are not cross-origin isolated (the isolation headers are added through
Playwright's routing, Chromium only), so timers are as coarse as the engine makes them: the
heading reports the resolution measured in a page.
"""

from __future__ import annotations

import time
from typing import Any

from .harness import BOOT_TIMEOUT_MS, Bench, Size, run_py

FIGURES = ("throughput", "latency")
FINE_TIMER_MS = 0.1  # latency needs a clock at least this fine
_RESOLUTION_JS = """() => {  // the smallest step performance.now() takes, in ms
    let best = Infinity;
    for (let i = 0; i < 50; i++) {
        const a = performance.now();
        let b = a;
        while (b === a) b = performance.now();
        best = Math.min(best, b - a);
    }
    return best;
}"""


class TabPage:
    """The few Playwright ``Page`` calls the figures make, on a kit ``Tab``."""

    def __init__(self, tab: Any) -> None:
        self._tab = tab

    def evaluate(self, script: str, arg: Any = None) -> Any:
        return self._tab.evaluate(script, arg)

    def wait_for_function(self, script: str, *, polling: float = 20, timeout: float = BOOT_TIMEOUT_MS) -> None:
        self._tab.wait_for(script, timeout=timeout / 1000, interval=polling / 1000)

    def wait_for_timeout(self, ms: float) -> None:
        time.sleep(ms / 1000)

    def is_closed(self) -> bool:
        return bool(self._tab.closed)

    def close(self) -> None:
        self._tab.close()


class EngineBench(Bench):
    """``Bench`` whose pages are tabs of a kit ``Engine`` (Firefox, WebKit) instead of Playwright pages."""

    def __init__(self, engine: Any, base_url: str, token: str, size: Size) -> None:
        super().__init__(None, base_url, token, size)
        self.engine = engine

    def _open(self, path: str) -> TabPage:
        page = TabPage(self.engine.new_tab(f"{self.base}{path}"))
        page.wait_for_function("() => document.readyState === 'complete'")
        return page

    def raw_pages(self, count: int, url: str = "/raw.html") -> list[Any]:
        return [self._open(url) for _ in range(count)]

    def py_pages(self, count: int) -> list[Any]:
        pages = []
        for _ in range(count):  # one at a time: the drivers serialize calls anyway
            page = self._open("/playground.html")
            page.wait_for_function("() => window.pytabbyReady !== undefined")
            page.evaluate("() => window.pytabbyReady.then(() => true)")  # the Pyodide object is no data
            run_py(page, "import js, asyncio")
            pages.append(page)
        return pages

    def timer_resolution_ms(self) -> float:
        page = self._open("/raw.html")
        try:
            return float(page.evaluate(_RESOLUTION_JS))
        finally:
            page.close()
