"""The pytest plugin (registered by ``pip install "pytabby-browser[testing]"``): fixtures and hooks.

Fixtures: ``pytabby_settings``, ``pytabby_server``, ``pytabby_control``, ``pytabby_engine``,
``tabs``, ``run_py``. ``async def`` tests that pytest-asyncio does not claim run on a
fresh event loop of their own (in a thread of their own when Playwright's loop runs in
this one). A helper an engine cannot support skips the test with the reason. A failing
test leaves a screenshot and the console log of each of its tabs under ``output``.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import secrets
import threading
from collections.abc import Callable, Coroutine, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from .config import Settings, from_pytest
from .control import Control
from .engines import ENGINE_NAMES, launch
from .engines.base import Engine, Tab, Unsupported
from .pages import TabFactory, run_py
from .serve import ServerThread, find_pyodide

OPTIONS = {
    "browsers": ("--pytabby-browser", "engine for the browser tests; repeat to run them on several"),
    "base_url": ("--pytabby-base-url", "test against a running server instead of starting one"),
    "root": ("--pytabby-root", "the app folder the test server serves"),
    "dist": ("--pytabby-dist", "the Pyodide folder served at /dist/ (python -m pytabby dist)"),
    "page_url": ("--pytabby-page-url", "the page tabs(n) opens, e.g. /counter.html"),
    "output": ("--pytabby-output", "folder for failing tests' screenshots and console logs"),
    "executable_path": ("--pytabby-executable", "the Chromium to launch (default /usr/bin/chromium)"),
    "async_timeout": ("--pytabby-async-timeout", "seconds one async def test may take"),
    "appear_timeout": ("--pytabby-appear-timeout", "seconds a page may take to set window.pytabbyReady"),
    "boot_timeout": ("--pytabby-boot-timeout", "seconds window.pytabbyReady may take to settle"),
    "timeout": ("--pytabby-timeout", "seconds Playwright's own waits may take (Chromium: tab.page's calls)"),
}
REPORT_KEY = pytest.StashKey[dict[str, pytest.TestReport]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pytabby", "multi-tab Pyodide tests")
    for name, (flag, help_text) in OPTIONS.items():
        if name == "browsers":
            group.addoption(flag, dest="pytabby_browsers", action="append", choices=ENGINE_NAMES, help=help_text)
            parser.addini("pytabby_browsers", help_text, type="args")
        else:
            group.addoption(flag, dest=f"pytabby_{name}", help=help_text)
            parser.addini(f"pytabby_{name}", help_text)
    group.addoption("--pytabby-headed", dest="pytabby_headed", action="store_true", help="show the browser windows")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: a test in real browser tabs (pytabby's test kit)")


def _settings(config: pytest.Config) -> Settings:
    return from_pytest(Path(config.rootpath), config.getoption, config.getini)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "pytabby_engine" not in metafunc.fixturenames:
        return
    browsers = _settings(metafunc.config).browsers
    if len(browsers) > 1:
        metafunc.parametrize("pytabby_engine", browsers, indirect=True, scope="session")


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    if not inspect.iscoroutinefunction(pyfuncitem.obj) or pyfuncitem.get_closest_marker("asyncio"):
        return None  # a sync test, or pytest-asyncio's
    arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    limit = _settings(pyfuncitem.config).async_timeout
    run_on_fresh_loop(lambda: pyfuncitem.obj(**arguments), limit)
    return True


def run_on_fresh_loop(main: Callable[[], Coroutine[Any, Any, object]], timeout: float) -> None:
    """Run the coroutine ``main()`` on a new event loop, in a thread of its own if this one runs a loop."""
    def run() -> None:
        asyncio.run(asyncio.wait_for(main(), timeout))

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        run()
        return
    errors: list[BaseException] = []

    def target() -> None:
        try:
            run()
        except BaseException as exc:  # re-raised in the test's own thread
            errors.append(exc)

    worker = threading.Thread(target=target, name="pytabby-async-test")
    worker.start()
    worker.join()
    if errors:
        raise errors[0]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    try:
        return (yield)
    except Unsupported as exc:
        pytest.skip(str(exc))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    item.stash.setdefault(REPORT_KEY, {})[report.when] = report
    return report


@pytest.fixture(scope="session")
def pytabby_settings(pytestconfig: pytest.Config) -> Settings:
    """The kit's settings: defaults < ``playwright.config.py`` < ``pytabby_*`` ini options < ``--pytabby-*``."""
    return _settings(pytestconfig)


@pytest.fixture(scope="session")
def pytabby_server(pytabby_settings: Settings, pytestconfig: pytest.Config) -> Iterator[str]:
    """Base URL (no trailing slash) of the server under test: started for the session on a free loopback
    port, serving ``root`` with the Pyodide folder ``dist`` at ``/dist/`` and ``/control/*`` on a
    session token; or ``base_url`` when set."""
    if pytabby_settings.base_url:
        yield pytabby_settings.base_url.rstrip("/")
        return
    root = pytabby_settings.root or Path(pytestconfig.rootpath)
    server = ServerThread(root, find_pyodide(root, pytabby_settings.dist), _session_token(pytestconfig)).start()
    yield server.url
    server.stop()


def _session_token(config: pytest.Config) -> str:
    return config.stash.setdefault(_TOKEN_KEY, secrets.token_urlsafe(16))


_TOKEN_KEY = pytest.StashKey[str]()


@pytest.fixture(scope="session")
def pytabby_control(pytabby_server: str, pytabby_settings: Settings, pytestconfig: pytest.Config) -> Control:
    """The server's ``/stats`` and ``/control/*`` hooks (``stats()``, ``broadcast()``, ``reset()``,
    ``outage(seconds)``, ``frames()``), authorised with the session's token."""
    token = pytabby_settings.control_token if pytabby_settings.base_url else _session_token(pytestconfig)
    return Control(pytabby_server, token)


@pytest.fixture(scope="session")
def pytabby_engine(request: pytest.FixtureRequest, pytabby_settings: Settings) -> Iterator[Engine]:
    """The browser the tabs run in, one per session and engine (``--pytabby-browser``; parametrized
    when several are given). Its tabs share BroadcastChannel and Web Locks."""
    name = getattr(request, "param", pytabby_settings.browsers[0])
    try:
        engine = launch(name, pytabby_settings)
    except Unsupported as exc:
        pytest.skip(f"{name}: {exc}")
    yield engine
    engine.close()


@pytest.fixture
def tabs(request: pytest.FixtureRequest, pytabby_engine: Engine, pytabby_server: str,
         pytabby_settings: Settings) -> Iterator[TabFactory]:
    """``tabs(n, url=None, *, isolated=False)``: n tabs of the session's browser, each with Pyodide
    and pytabby booted (``url`` defaults to ``page_url``), closed after the test. ``isolated=True``:
    tabs of a browser of this test's own (nothing shared with other tests, a cold HTTP cache).
    ``tabs.url(path)`` is a path's absolute URL. On a failure the test's tabs leave a screenshot
    and their console log under ``output``."""
    factory = TabFactory(pytabby_engine, pytabby_server, pytabby_settings,
                         lambda: launch(pytabby_engine.name, pytabby_settings))
    yield factory
    reports = request.node.stash.get(REPORT_KEY, {})
    if any(report.failed for report in reports.values()):
        save_artifacts(factory.opened, pytabby_settings.output / _folder_name(request.node.nodeid))
    factory.close_all()


def save_artifacts(tabs: list[Tab], folder: Path) -> None:
    """A screenshot (of tabs still open) and the console log of each tab, into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for number, tab in enumerate(tabs, 1):
        (folder / f"tab-{number}.console.txt").write_text(f"{tab.label}\n" + "\n".join(tab.console()) + "\n")
        if not tab.closed:
            try:
                tab.screenshot(folder / f"tab-{number}.png")
            except Exception as exc:  # a crashed tab has no picture; its log says enough
                (folder / f"tab-{number}.png.txt").write_text(f"no screenshot: {exc}\n")


def _folder_name(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", nodeid).strip("-")[:120]


@pytest.fixture(name="run_py")
def run_py_fixture() -> Callable[[Tab, str], object]:
    """``run_py(tab, code)``: run Python in the tab and return the last expression's value, or raise
    ``PyError`` with the tab's Python traceback."""
    return run_py
