"""Browser tier: real tabs of one browser profile, each running Pyodide and pytabby.

The fixtures come from pytabby's own test kit (dogfooding). Tabs that a test
does not close are shared by a module; every test uses channel and key names of
its own, so shared tabs do not hear each other's tests.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pytabby.pytest import Engine, Settings, Tab, TabFactory

pytestmark = pytest.mark.browser

_names = itertools.count()
ROOT = Path(__file__).resolve().parents[2]


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


@pytest.fixture(scope="module")
def shared_tabs(pytabby_engine: Engine, pytabby_server: str, pytabby_settings: Settings) -> Iterator[list[Tab]]:
    """Three booted tabs shared by the tests of one module (which must not close them)."""
    factory = TabFactory(pytabby_engine, pytabby_server, pytabby_settings)
    yield factory(3)
    factory.close_all()


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
