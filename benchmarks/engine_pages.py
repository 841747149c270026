"""The figures in Firefox and WebKit: Playwright-shaped pages over the test kit's driver-neutral tabs.

The figure modules speak the small part of Playwright's ``Page`` that ``KitPage`` offers
(``goto``, ``evaluate``, ``wait_for_function``, ``wait_for_timeout``, ``close``), so each
runs unchanged in every engine. Pages are served cross-origin isolated by the server
itself (COOP/COEP), which gives every engine a fine ``performance.now()``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pytabby.pytest.config import load_settings
from pytabby.pytest.engines import launch
from pytabby.pytest.engines.base import Engine, Tab

from .harness import ROOT, Bench, Size, start_server

# What a figure module may pass as ``wait_for_function``'s ``polling`` when it is not a number.
DEFAULT_POLL_S = 0.02


class KitPage:
    """One tab, opened at its first ``goto``."""

    def __init__(self, engine: Engine, base_url: str) -> None:
        self._engine = engine
        self._base = base_url
        self._tab: Tab | None = None

    @property
    def tab(self) -> Tab:
        if self._tab is None:
            raise RuntimeError("goto() first: a kit tab opens at its first navigation")
        return self._tab

    def goto(self, url: str, wait_until: str | None = None) -> None:
        absolute = url if "://" in url else self._base + url
        if self._tab is None:
            self._tab = self._engine.new_tab(absolute)
        else:
            self._tab.goto(absolute)

    def evaluate(self, script: str, arg: Any = None) -> Any:
        return self.tab.evaluate(script, arg)

    def wait_for_function(self, script: str, *, polling: float | str = "raf", timeout: float = 120_000) -> None:
        interval = polling / 1000 if isinstance(polling, (int, float)) else DEFAULT_POLL_S
        self.tab.wait_for(script, timeout=timeout / 1000, interval=interval)

    @staticmethod
    def wait_for_timeout(milliseconds: float) -> None:
        time.sleep(milliseconds / 1000)

    def close(self) -> float | None:
        """When the close command left for the browser (``time.time()``), after the kit's own work."""
        return None if self._tab is None else self._tab.close()

    def is_closed(self) -> bool:
        return self._tab is None or self._tab.closed


class KitContext:
    """What ``Bench`` needs of a browser context: new pages, and the open ones."""

    def __init__(self, engine: Engine, base_url: str) -> None:
        self._engine = engine
        self._base = base_url
        self._pages: list[KitPage] = []

    def new_page(self) -> KitPage:
        self._pages.append(KitPage(self._engine, self._base))
        return self._pages[-1]

    @property
    def pages(self) -> list[KitPage]:
        return [page for page in self._pages if not page.is_closed()]


def launch_engine(name: str) -> Engine:
    """The engine ``name`` with the project's settings (``playwright.config.py``)."""
    return launch(name, load_settings(ROOT))


def run_figures(name: str, figures: dict[str, Callable[[Bench], None]], size: Size) -> tuple[Bench, str]:
    """Run ``figures`` in the engine ``name`` against a cross-origin isolated server; the bench and the version."""
    server, token = start_server()
    plain_server, _ = start_server(isolated=False)
    try:
        engine = launch_engine(name)
        try:
            bench = Bench(KitContext(engine, server.url), server.url, token, size, plain_server.url)
            bench.run(figures)
            return bench, engine.version
        finally:
            engine.close()
    finally:
        server.stop()
        plain_server.stop()
