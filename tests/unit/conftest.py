"""Unit tier: CPython only, on the in-memory fakes of ``pytabby.testing``.

Every unit test runs with ``ResourceWarning`` as an error. ``cluster`` is the
story-telling helper: n tabs on one ``FakeBrowser``, electors and buses on
them, kill tab k; at teardown it closes everything it opened, and a test that
leaks a pytabby object fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from pytabby import LeaderElector, TabBus, create_bus, create_leader_elector
from pytabby.testing import FakeBrowser, FakeTab


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.filterwarnings("error::ResourceWarning"))


@pytest.fixture
def browser() -> FakeBrowser:
    return FakeBrowser()


class FakeCluster:
    """Tabs of one fake browser and the pytabby objects opened on them."""

    def __init__(self, browser: FakeBrowser) -> None:
        self.browser = browser
        self._opened: list[Any] = []

    def tabs(self, count: int) -> list[FakeTab]:
        return [self.browser.open_tab() for _ in range(count)]

    def electors(self, count: int, key: str = "k", **options: Any) -> list[LeaderElector]:
        return [self.elector(tab, key, **options) for tab in self.tabs(count)]

    def elector(self, tab: FakeTab, key: str = "k", **options: Any) -> LeaderElector:
        elector = create_leader_elector(key, platform=tab, **options)
        self._opened.append(elector)
        return elector.start()

    def buses(self, count: int, name: str = "app", **options: Any) -> list[TabBus]:
        return [self.bus(tab, name, **options) for tab in self.tabs(count)]

    def bus(self, tab: FakeTab, name: str = "app", **options: Any) -> TabBus:
        bus = create_bus(name, platform=tab, **options)
        self._opened.append(bus)
        return bus

    def track(self, thing: Any) -> Any:
        """Close ``thing`` (any pytabby object with ``close()`` and ``tab_id``) at teardown too."""
        self._opened.append(thing)
        return thing

    def tab_of(self, thing: LeaderElector | TabBus) -> FakeTab:
        return next(tab for tab in self.browser.tabs if tab.tab_id == thing.tab_id)

    def kill(self, thing: LeaderElector | TabBus, *, pagehide: bool = True) -> None:
        """Close the tab ``thing`` runs in, as the browser would (``pagehide=False``: a crash)."""
        self.browser.close_tab(self.tab_of(thing), pagehide=pagehide)

    def close(self) -> None:
        """Close everything opened here (on a loop of its own: the test's loop has ended)."""

        async def close_all() -> None:
            for thing in self._opened:
                if any(tab.tab_id == thing.tab_id for tab in self.browser.tabs):
                    thing.close()
                else:  # its tab was killed: its channel is gone, only the Python object is left to close
                    with contextlib.suppress(RuntimeError):
                        thing.close()
            await self.browser.settle()

        asyncio.run(close_all())
        self._opened.clear()


@pytest.fixture
def cluster(browser: FakeBrowser) -> Iterator[FakeCluster]:
    with warnings.catch_warnings():  # earlier tests' garbage is theirs, not this test's
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    cluster = FakeCluster(browser)
    yield cluster
    cluster.close()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        gc.collect()
    leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaks == [], "the test left pytabby objects open"
