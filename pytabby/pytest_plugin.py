"""A pytest plugin for multi-tab tests of Pyodide apps (``pip install "pytabby[testing]"``).

Fixtures: ``pytabby_server`` (the project's server on a free loopback port),
``pytabby_context`` (one Chromium profile for the session, so the 9.6 MB wasm
stays in HTTP cache), ``tabs`` (a factory of pages with Pyodide and pytabby
booted) and ``run_py``. Settings come from ``playwright.config.py`` in the
rootdir, overridable with ``--pytabby-*`` options.

    from pytabby.pytest_plugin import kill_leader, wait_for_leader

    def test_hand_over(tabs, run_py):
        pages = tabs(3)
        for page in pages:
            run_py(page, "from pytabby import create_leader_elector\n"
                         "le = create_leader_elector('k').start()")
        _, rest = kill_leader(pages, "le")
        wait_for_leader(rest, "le")
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

DEFAULTS: dict[str, Any] = {
    "executable_path": "/usr/bin/chromium",
    "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync"],
    "headless": True,
    "base_url": None,
    "page_url": "/playground.html",
    "boot_timeout": 120_000,
    "timeout": 20_000,
}

_RUN_PY = """async ([code]) => {
    const result = await window.pyodide.runPythonAsync(code);
    if (result && typeof result.toJs === "function") {
        try {
            return result.toJs({dict_converter: Object.fromEntries, create_pyproxies: false});
        } catch {
            return result.toString();  // not data (a function, an object): its repr
        } finally {
            result.destroy();
        }
    }
    return result;
}"""


class PyError(AssertionError):
    """Python raised in a tab; the message carries the tab's traceback."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pytabby", "multi-tab Pyodide tests")
    group.addoption("--pytabby-executable", help="Chromium to launch (default from playwright.config.py)")
    group.addoption("--pytabby-headed", action="store_true", help="show the browser window")
    group.addoption("--pytabby-base-url", help="test against a running server instead of starting one")


@pytest.fixture(scope="session")
def pytabby_config(pytestconfig: pytest.Config) -> dict[str, Any]:
    """Settings: built-in defaults < ``playwright.config.py`` < command-line options."""
    config = dict(DEFAULTS)
    config_file = Path(pytestconfig.rootpath) / "playwright.config.py"
    if config_file.exists():
        spec = importlib.util.spec_from_file_location("_pytabby_playwright_config", config_file)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        config.update(getattr(module, "CONFIG", {}))
    if pytestconfig.getoption("pytabby_executable"):
        config["executable_path"] = pytestconfig.getoption("pytabby_executable")
    if pytestconfig.getoption("pytabby_headed"):
        config["headless"] = False
    if pytestconfig.getoption("pytabby_base_url"):
        config["base_url"] = pytestconfig.getoption("pytabby_base_url")
    return config


@pytest.fixture(scope="session")
def pytabby_static_dir() -> Path | None:
    """Override to serve your own app folder; Pyodide and the pytabby wheel are served beside it."""
    return None


class ServerThread:
    """The project's aiohttp server on a free loopback port, in a thread of its own."""

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pytabby-server", daemon=True)

    def _run(self) -> None:
        from aiohttp import web

        from .server import DEFAULT_ROOT, build_app

        async def start() -> web.AppRunner:
            app = build_app(self.root or DEFAULT_ROOT, control=True)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self.port = runner.addresses[0][1]
            return runner

        asyncio.set_event_loop(self._loop)
        self.runner = self._loop.run_until_complete(start())
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self.runner.cleanup())

    def start(self) -> ServerThread:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("pytabby test server did not start")
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@pytest.fixture(scope="session")
def pytabby_server(pytabby_config: dict[str, Any], pytabby_static_dir: Path | None) -> Iterator[str]:
    """Base URL of the server under test (started for the session unless ``base_url`` is set)."""
    if pytabby_config["base_url"]:
        yield pytabby_config["base_url"].rstrip("/")
        return
    server = ServerThread(pytabby_static_dir).start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def pytabby_playwright() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def pytabby_context(pytabby_playwright: Any, pytabby_config: dict[str, Any], pytabby_server: str) -> Iterator[Any]:
    """One persistent Chromium profile for the session: its tabs share BroadcastChannel and locks."""
    profile = tempfile.mkdtemp(prefix="pytabby-profile-")
    context = pytabby_playwright.chromium.launch_persistent_context(
        profile,
        executable_path=pytabby_config["executable_path"],
        args=pytabby_config["args"],
        headless=pytabby_config["headless"],
        base_url=pytabby_server,
    )
    context.set_default_timeout(pytabby_config["timeout"])
    yield context
    context.close()
    shutil.rmtree(profile, ignore_errors=True)


def run_py(page: Any, code: str) -> Any:
    """Run Python (top-level await allowed) in ``page``; return the last expression's value.

    Raises ``PyError`` with the tab's Python traceback when the code raises.
    """
    from playwright.sync_api import Error

    try:
        return page.evaluate(_RUN_PY, [code])
    except Error as exc:
        python_part = "\n".join(line for line in exc.message.splitlines() if not line.startswith("    at "))
        raise PyError(f"in {page.url}:\n{python_part.strip()}") from None


def wait_py(page: Any, condition: str, timeout: float | None = None) -> None:
    """Wait until the Python expression ``condition`` is true in ``page`` (polled, no fixed sleep)."""
    # bool() in Python: a PyProxy (of an empty list, say) would be truthy in JS.
    page.wait_for_function(
        "([code]) => window.pyodide.runPython(code) === true", arg=[f"bool({condition})"], polling=20,
        timeout=timeout,
    )


def wait_for_leader(pages: list[Any], elector: str, timeout: float | None = None) -> Any:
    """Wait until exactly one page leads and every page names it; return that page.

    ``elector`` is a Python expression, in each tab, for its ``LeaderElector``
    (e.g. ``"leader"`` or ``"sock.elector"``).
    """
    ids = [run_py(page, f"{elector}.tab_id") for page in pages]
    # Some page of the list leads: the others learn it within a message round trip.
    wait_py(pages[0], f"{elector}.leader_id in {ids!r}", timeout)
    chief_id = run_py(pages[0], f"{elector}.leader_id")
    for page in pages:
        wait_py(page, f"{elector}.leader_id == {chief_id!r}", timeout)
    leading = [page for page in pages if run_py(page, f"{elector}.is_leader")]
    if len(leading) != 1:
        raise AssertionError(f"{len(leading)} pages lead {elector}")
    return leading[0]


def kill_leader(pages: list[Any], elector: str) -> tuple[Any, list[Any]]:
    """Close the leading page (as a user closing the tab); returns it and the pages left."""
    chief = wait_for_leader(pages, elector)
    chief.close()
    return chief, [page for page in pages if page is not chief]


class Frozen:
    """A page whose JavaScript is halted by the debugger (its Web Locks stay held).

    In headless Chromium, CDP ``Page.setWebLifecycleState`` has no effect; ``Debugger.pause`` does.
    Use as a context manager, or call ``unfreeze()``.
    """

    def __init__(self, page: Any) -> None:
        self._session = page.context.new_cdp_session(page)
        self._session.send("Debugger.enable")
        self._session.send("Debugger.pause")

    def unfreeze(self) -> None:
        self._session.send("Debugger.resume")
        self._session.detach()

    def __enter__(self) -> Frozen:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.unfreeze()


def freeze(page: Any) -> Frozen:
    return Frozen(page)


def set_offline(page: Any, offline: bool = True) -> None:
    """Take the page's whole browser context off the network, or back on.

    New requests and WebSocket connections fail; Chromium keeps WebSockets that are already
    open, so pair it with a server-side drop to test a reconnect that cannot succeed.
    """
    page.context.set_offline(offline)


class TabFactory:
    """``tabs(n)``: n pages of the session's profile, each with Pyodide and pytabby booted.

    Pages are opened together (boots overlap) and closed after the test.
    ``tabs(n, isolated=True)`` opens them in a browser context of this test's own
    instead: no BroadcastChannel or lock is shared with other tests, at the price
    of a cold HTTP cache (a non-persistent context does not keep the wasm).
    """

    def __init__(self, context: Any, config: dict[str, Any], new_context: Callable[[], Any] | None = None) -> None:
        self._context = context
        self._config = config
        self._new_context = new_context
        self._isolated: Any = None
        self.opened: list[Any] = []

    def __call__(self, count: int = 1, url: str | None = None, *, isolated: bool = False) -> list[Any]:
        target = url or self._config["page_url"]
        context = self._context
        if isolated:
            if self._new_context is None:
                raise RuntimeError("this TabFactory cannot make isolated contexts")
            if self._isolated is None:
                self._isolated = self._new_context()
            context = self._isolated
        pages = [context.new_page() for _ in range(count)]
        self.opened.extend(pages)
        for page in pages:
            page.goto(target, wait_until="commit")
        for page in pages:
            page.wait_for_function("() => window.pytabbyReady !== undefined", timeout=self._config["boot_timeout"])
            page.evaluate("() => window.pytabbyReady")
        return pages

    def close_all(self) -> None:
        for page in self.opened:
            if not page.is_closed():
                page.close()
        if self._isolated is not None:
            self._isolated.close()


@pytest.fixture(scope="session")
def pytabby_browser(pytabby_playwright: Any, pytabby_config: dict[str, Any]) -> Iterator[Any]:
    """A second Chromium, launched on first use, for isolated (non-persistent) contexts."""
    browser = pytabby_playwright.chromium.launch(
        executable_path=pytabby_config["executable_path"], args=pytabby_config["args"],
        headless=pytabby_config["headless"],
    )
    yield browser
    browser.close()


@pytest.fixture
def tabs(
    request: pytest.FixtureRequest, pytabby_context: Any, pytabby_config: dict[str, Any], pytabby_server: str
) -> Iterator[Callable[..., list[Any]]]:
    def new_context() -> Any:
        context = request.getfixturevalue("pytabby_browser").new_context(base_url=pytabby_server)
        context.set_default_timeout(pytabby_config["timeout"])
        return context

    factory = TabFactory(pytabby_context, pytabby_config, new_context)
    yield factory
    factory.close_all()


@pytest.fixture(name="run_py")
def run_py_fixture() -> Callable[[Any, str], Any]:
    return run_py


def server_stats(base_url: str) -> dict[str, int]:
    from urllib.request import urlopen

    with urlopen(f"{base_url}/stats") as response:
        return json.load(response)
