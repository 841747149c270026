"""Engine conformance: each engine's tab handle against the real server, real Pyodide.

The server is the kit's session server (``web/``). Each engine
boots three playground tabs once per module (WebKit's first boot takes ~25 s on two
shared cores); tests use names of their own so shared tabs do not hear each other.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from pytabby.pytest import Settings
from pytabby.pytest.engines import ENGINE_NAMES, launch
from pytabby.pytest.engines.base import Engine, Tab

BOOT_TIMEOUT = 180.0

_names = itertools.count()


@pytest.fixture(scope="session")
def server_url(pytabby_server: str) -> str:
    """The kit's session server (``web/`` with its Pyodide folder)."""
    return pytabby_server


@pytest.fixture(scope="module", params=ENGINE_NAMES)
def engine(request: pytest.FixtureRequest, pytabby_settings: Settings) -> Iterator[Engine]:
    browser = launch(request.param, pytabby_settings)
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def booted(engine: Engine, server_url: str) -> list[Tab]:
    """Three playground tabs of one engine, opened together, Pyodide and pytabby booted."""
    tabs = [engine.new_tab(f"{server_url}/playground.html") for _ in range(3)]
    for tab in tabs:
        tab.wait_for("() => window.pytabbyReady !== undefined", timeout=BOOT_TIMEOUT)
        tab.evaluate("() => window.pytabbyReady.then(() => null)")
    return tabs


@pytest.fixture
def name(request: pytest.FixtureRequest) -> str:
    """A channel/key name no other test uses."""
    return f"{request.node.name[:40]}-{next(_names)}"
