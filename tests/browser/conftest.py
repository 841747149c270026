"""Browser tier: real tabs of one browser profile, each running Pyodide and pytabby.

The fixtures come from pytabby's own test kit (dogfooding), with one change: a Pyodide
boot costs 5-30 s per tab (engine and load), so booted playground tabs are pooled for
the session. ``tabs(n)`` on the playground takes tabs from the pool (booting only the
shortfall) and gives back those the test left open, after closing every pytabby
resource in them; a tab whose reset fails, or of a failed test, is closed instead.
Every test uses channel and key names of its own, so reused tabs do not hear
earlier tests. Other pages, and ``isolated=True``, get fresh tabs as in the kit.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pytabby.pytest import Engine, Settings, Tab, TabFactory, run_py
from pytabby.pytest.plugin import REPORT_KEY, _folder_name, save_artifacts

pytestmark = pytest.mark.browser

# Set before the kit starts Playwright: its driver then copies Chromium's stderr to ours, so a test
# whose renderer crashed shows why in its captured stderr (pyproject's --only-rerun reruns it once).
os.environ.setdefault("DEBUG", "pw:browser")

_names = itertools.count()
ROOT = Path(__file__).resolve().parents[2]

# Closes what earlier tests left running in a pooled tab (sockets first: each owns a bus and an
# elector). Leftover server connections or held locks would skew later tests' counts.
RESET_PY = """
import gc, sys
from pytabby._closeable import Closeable
_open = [o for o in gc.get_objects() if isinstance(o, Closeable) and o._needs_close()]
_open.sort(key=lambda o: type(o).__name__ != "SharedSocket")
for _resource in _open:
    _resource.close()
del _open
len([o for o in gc.get_objects() if isinstance(o, Closeable) and o._needs_close()])
"""


@pytest.fixture(scope="session", autouse=True)
def fresh_wheel() -> None:
    """Rebuild web/dist when pytabby's sources are newer than the wheel the tabs load."""
    wheels = list((ROOT / "web" / "dist").glob("pytabby_browser-*.whl"))
    built = min((w.stat().st_mtime for w in wheels), default=0.0)
    sources = [*(ROOT / "pytabby").rglob("*.py"), *(ROOT / "pytabby" / "static").iterdir()]
    if any(source.stat().st_mtime > built for source in sources):
        subprocess.run([sys.executable, str(ROOT / ".ci" / "build_web.py")], check=True, capture_output=True)


@pytest.fixture
def name(request: pytest.FixtureRequest) -> str:
    """A channel/key name no other test uses."""
    return f"{request.node.name[:40]}-{next(_names)}"


class TabPool:
    """Booted playground tabs of one engine, reused by test after test."""

    def __init__(self, factory: TabFactory) -> None:
        self._factory = factory
        self._idle: list[Tab] = []

    def take(self, count: int) -> list[Tab]:
        """``count`` booted tabs: idle ones first, the rest opened (and booted) together."""
        reused, self._idle = self._idle[:count], self._idle[count:]
        return reused + (self._factory(count - len(reused)) if count > len(reused) else [])

    def give_back(self, tabs: list[Tab]) -> None:
        """Reset each open tab and keep it for the next test; close a tab that cannot be reset."""
        for tab in tabs:
            if tab.closed:
                continue
            try:
                still_open = run_py(tab, RESET_PY)
            except Exception:  # a tab whose Python died, or a page gone elsewhere
                still_open = None
            if still_open == 0 and tab.evaluate("() => location.pathname") == "/playground.html":
                self._idle.append(tab)
            else:
                tab.close()

    def close_all(self) -> None:
        self._factory.close_all()


@pytest.fixture(scope="session")
def tab_pool(pytabby_engine: Engine, pytabby_server: str, pytabby_settings: Settings) -> Iterator[TabPool]:
    pool = TabPool(TabFactory(pytabby_engine, pytabby_server, pytabby_settings))
    yield pool
    pool.close_all()


class PooledTabs(TabFactory):
    """The kit's ``tabs(n, url=None, *, isolated=False)``, with playground tabs from the pool."""

    def __init__(self, pool: TabPool, engine: Engine, base_url: str, settings: Settings,
                 isolate: Callable[[], Engine]) -> None:
        super().__init__(engine, base_url, settings, isolate)
        self._pool = pool
        self.pooled: list[Tab] = []

    def __call__(self, count: int = 1, url: str | None = None, *, isolated: bool = False) -> list[Tab]:
        if url is not None or isolated:
            return super().__call__(count, url, isolated=isolated)
        tabs = self._pool.take(count)
        self.pooled.extend(tabs)
        return tabs

    def finish(self, failed: bool) -> None:
        """Close the test's own tabs; give pooled ones back (or close them after a failure)."""
        if failed:
            for tab in self.pooled:
                tab.close()
        else:
            self._pool.give_back(self.pooled)
        self.close_all()


@pytest.fixture
def tabs(request: pytest.FixtureRequest, tab_pool: TabPool, pytabby_engine: Engine, pytabby_server: str,
         pytabby_settings: Settings) -> Iterator[PooledTabs]:
    from pytabby.pytest.engines import launch

    factory = PooledTabs(tab_pool, pytabby_engine, pytabby_server, pytabby_settings,
                         lambda: launch(pytabby_engine.name, pytabby_settings))
    yield factory
    reports = request.node.stash.get(REPORT_KEY, {})
    failed = any(report.failed for report in reports.values())
    if failed:
        save_artifacts(factory.pooled + factory.opened, pytabby_settings.output / _folder_name(request.node.nodeid))
    factory.finish(failed)


@pytest.fixture(scope="module")
def shared_tabs(tab_pool: TabPool) -> Iterator[list[Tab]]:
    """Three booted tabs shared by the tests of one module (which must not close them)."""
    tabs = tab_pool.take(3)
    yield tabs
    tab_pool.give_back(tabs)


# Rounds of the churn tests (close the leader, open a tab), per test and engine. Each round boots
# a fresh tab: ~2 s in Chromium, 7-10 s in Firefox, 11-17 s in WebKit on two shared cores, so
# Firefox and WebKit run fewer rounds to keep CI under 25 minutes (every round asserts the same).
CHURN_ROUNDS = {
    "election": {"chromium": 30, "firefox": 10, "webkit": 8},
    "socket": {"chromium": 20, "firefox": 8, "webkit": 6},
}


@pytest.fixture
def churn_rounds(request: pytest.FixtureRequest, pytabby_engine: Engine) -> int:
    """How many close-the-leader rounds this module's churn test runs in this engine."""
    return CHURN_ROUNDS[request.module.CHURN][pytabby_engine.name]


@pytest.fixture
def open_page(pytabby_engine: Engine, pytabby_server: str) -> Iterator[Callable[[str], Tab]]:
    """``open_page(path)``: a tab on a page of the server, not awaited for a boot; closed after the test."""
    opened: list[Tab] = []

    def open_one(path: str) -> Tab:
        opened.append(pytabby_engine.new_tab(pytabby_server + path))
        return opened[-1]

    yield open_one
    for tab in opened:
        tab.close()
