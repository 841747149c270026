"""Engine conformance: each engine's tab handle against the real server, real Pyodide.

The server runs as ``python -m pytabby.server --root web`` on a free port. Each engine
boots three playground tabs once per module (WebKit's first boot takes ~25 s on two
shared cores); tests use names of their own so shared tabs do not hear each other.
"""

from __future__ import annotations

import importlib.util
import itertools
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

import pytest

from pytabby.pytest.engines.base import Engine, Tab

ROOT = Path(__file__).resolve().parents[2]
BOOT_TIMEOUT = 180.0
ENGINES = ["firefox", "webkit"]
if importlib.util.find_spec("pytabby.pytest.engines.chromium") is not None:
    ENGINES.insert(0, "chromium")

_names = itertools.count()


def launch(name: str) -> Engine:
    if name == "firefox":
        from pytabby.pytest.engines.firefox import FirefoxEngine

        return FirefoxEngine()
    if name == "webkit":
        from pytabby.pytest.engines.webkit import WebKitEngine

        return WebKitEngine()
    from pytabby.pytest.engines.chromium import ChromiumEngine  # the userpath helper's handle

    chromium: Engine = ChromiumEngine()
    return chromium


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "stderr.txt"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "pytabby.server", "--root", str(ROOT / "web"), "--port", str(port)],
            stdout=subprocess.DEVNULL, stderr=stderr,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urlopen(f"{url}/stats", timeout=1).close()
            break
        except (URLError, ConnectionError):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"the server did not start: {log.read_text()}") from None
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="module", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    browser = launch(request.param)
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
