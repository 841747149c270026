"""Tabs with Pyodide and pytabby booted, and Python run in them: ``TabFactory``, ``run_py``, ``wait_py``.

Everything works on the driver-neutral ``Tab`` handle, so on every engine.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

from .config import Settings
from .engines.base import Engine, ScriptError, Tab

BOOT_LINE = '<script type="module" src="/pytabby-boot.js"></script>'
CONSOLE_LINES = 8

# Runs Python in a Pyodide page and returns its value as data (the kit's and the benchmarks' one runner).
RUN_PY_JS = """async ([code]) => {
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
# A condition that raises stops the polling; its traceback is read afterwards.
_WAIT_PY = """([code]) => {
    try {
        return window.pyodide.runPython(code) === true;
    } catch (error) {
        window.pytabbyWaitError = error.message;
        return true;
    }
}"""
_TAKE_WAIT_ERROR = "() => { const e = window.pytabbyWaitError ?? null; delete window.pytabbyWaitError; return e; }"
_APPEARED = "() => window.pytabbyReady !== undefined || Boolean(window.pytabbyBoot && window.pytabbyBoot.error)"
_WATCH_READY = """() => {
    if (window.pytabbySettled === undefined && window.pytabbyReady !== undefined) {
        Promise.resolve(window.pytabbyReady).then(
            () => { window.pytabbySettled = {error: null}; },
            (e) => { window.pytabbySettled = {error: String((e && e.message) || e)}; });
    }
}"""
_SETTLED = "() => window.pytabbySettled !== undefined || Boolean(window.pytabbyBoot && window.pytabbyBoot.error)"
_BOOT_ERROR = """() => (window.pytabbySettled && window.pytabbySettled.error)
    || (window.pytabbyBoot && window.pytabbyBoot.error) || null"""
# Pyodide's own startup failed in the browser, before any page code ran: its WebAssembly trapped,
# or its first import found the interpreter's memory corrupt (both seen in WebKitGTK, in tabs
# whose neighbours booted the same files). On a PyScript page that startup is PyScript's, while
# the boot script waits for it.
STARTUP_TRAPPED_JS = """() => Boolean(window.pytabbyBoot
    && ["loading-pyodide", "waiting-pyscript"].includes(window.pytabbyBoot.failedAt)
    && (window.pytabbyBoot.wasmTrap || window.pytabbyBoot.error.startsWith("Failed to import _pyodide_core")))"""
_STATUS = """async () => {
    const entry = performance.getEntriesByType("navigation")[0];
    if (entry && entry.responseStatus) return entry.responseStatus;
    return (await fetch(location.href, {cache: "no-store"})).status;
}"""


class PyError(AssertionError):
    """Python raised in a tab; the message names the tab (and the condition) and carries the tab's traceback."""


class BootError(AssertionError):
    """A tab did not boot; the message names the page, what was awaited, the HTTP status and console errors.

    ``startup_trapped``: Pyodide's own startup failed in the browser's WebAssembly engine, before
    any code of the page, pytabby or the app ran (WebKitGTK, rarely: "Out of bounds memory access"
    in Pyodide's first ``import``, or that import failing on a corrupt ``builtins``).
    """

    def __init__(self, message: str, *, startup_trapped: bool = False) -> None:
        super().__init__(message)
        self.startup_trapped = startup_trapped


class EngineFaultWarning(UserWarning):
    """The browser failed in a way no page code caused, and the kit worked around it (said how)."""


def run_py(tab: Tab, code: str) -> object:
    """Run Python ``code`` (top-level ``await`` allowed) in ``tab``; return its last expression's value.

    Values come back as JSON-like data (dicts, lists, str, numbers, None); an object
    that is not data comes back as its ``repr``. Raises ``PyError`` with the tab's
    Python traceback when the code raises.
    """
    try:
        return tab.evaluate(RUN_PY_JS, [code])
    except ScriptError as exc:
        raise PyError(f"in {tab.label}:\n{_python_part(str(exc))}") from None


def wait_py(tab: Tab, condition: str, timeout: float = 20.0) -> None:
    """Wait until the Python expression ``condition`` is true in ``tab`` (polled in the tab, no fixed sleep).

    ``PyError`` if the condition raises (with the tab's traceback); ``TimeoutError``
    naming the condition, the tab and its last console lines after ``timeout`` seconds.
    """
    try:
        tab.wait_for(_WAIT_PY, [f"bool({condition})"], timeout=timeout)
    except TimeoutError:
        raise TimeoutError(f"wait_py: {condition!r} still false in {tab.label} after {timeout:g} s"
                           f"{console_tail(tab)}") from None
    error = tab.evaluate(_TAKE_WAIT_ERROR)
    if error is not None:
        raise PyError(f"wait_py: {condition!r} raised in {tab.label}:\n{_python_part(str(error))}")


def console_tail(tab: Tab, lines: int = CONSOLE_LINES) -> str:
    """``"; console: ..."`` with the tab's last console lines, or ``"; console: (empty)"``."""
    seen = tab.console()[-lines:]
    return "; console:\n  " + "\n  ".join(seen) if seen else "; console: (empty)"


def _python_part(message: str) -> str:
    return "\n".join(line for line in message.splitlines() if not line.startswith("    at ")).strip()


class TabFactory:
    """``tabs(n, url=None, *, isolated=False)``: n tabs of one engine, each with Pyodide and pytabby booted.

    Tabs are opened together (their boots overlap), then awaited one by one, each
    failing fast with what went wrong. ``isolated=True`` opens them in a browser of
    their own, made on first use by ``isolate()`` (nothing shared with the other
    tabs, a cold HTTP cache). ``close_all()`` closes every tab and that browser.
    """

    def __init__(self, engine: Engine, base_url: str, settings: Settings,
                 isolate: Callable[[], Engine] | None = None) -> None:
        self.engine = engine
        self.base_url = base_url
        self.settings = settings
        self.opened: list[Tab] = []
        self._isolate = isolate
        self._isolated: Engine | None = None

    def __call__(self, count: int = 1, url: str | None = None, *, isolated: bool = False) -> list[Tab]:
        engine = self._isolated_engine() if isolated else self.engine
        tabs = [engine.new_tab(self.url(url)) for _ in range(count)]
        self.opened.extend(tabs)
        for index, tab in enumerate(tabs):
            try:
                wait_booted(tab, self.settings)
            except BootError as error:
                if not error.startup_trapped:
                    raise
                # The engine's fault, not the page's: one fresh tab in its place, said as a warning.
                warnings.warn(f"{tab.label}: Pyodide's startup failed in the browser ({error}); "
                              "opened the page once more in a new tab", EngineFaultWarning, stacklevel=2)
                tab.close()
                tabs[index] = engine.new_tab(self.url(url))
                self.opened.append(tabs[index])
                wait_booted(tabs[index], self.settings)
        return tabs

    def url(self, path: str | None = None) -> str:
        """The absolute URL of ``path`` (default: ``page_url``) on the server under test."""
        return urljoin(self.base_url + "/", path or self.settings.page_url)

    def _isolated_engine(self) -> Engine:
        if self._isolate is None:
            raise RuntimeError("this TabFactory cannot open isolated tabs")
        if self._isolated is None:
            self._isolated = self._isolate()
        return self._isolated

    def close_all(self) -> None:
        """Close every tab this factory opened, and its isolated browser."""
        for tab in self.opened:
            tab.close()
        if self._isolated is not None:
            self._isolated.close()


def wait_booted(tab: Tab, settings: Settings) -> None:
    """Wait for ``window.pytabbyReady`` to appear and settle in ``tab``; ``BootError`` saying why not."""
    page = urlsplit(tab.url).path or tab.url
    _wait(tab, _APPEARED, settings.appear_timeout, lambda: BootError(
        f"window.pytabbyReady never appeared on {page} after {settings.appear_timeout:g} s "
        f"(HTTP {_status(tab)}); a page needs {BOOT_LINE}{console_tail(tab)}"))
    tab.evaluate(_WATCH_READY)
    _wait(tab, _SETTLED, settings.boot_timeout, lambda: BootError(
        f"window.pytabbyReady on {page} did not settle within {settings.boot_timeout:g} s "
        f"(stage: {tab.evaluate('() => window.pytabbyBoot && window.pytabbyBoot.stage')}){console_tail(tab)}"))
    error = tab.evaluate(_BOOT_ERROR)
    if error is not None:
        raise BootError(f"{page} failed to boot (HTTP {_status(tab)}): {error}{console_tail(tab)}",
                        startup_trapped=tab.evaluate(STARTUP_TRAPPED_JS) is True)


def _wait(tab: Tab, script: str, timeout: float, failure: Callable[[], BootError]) -> None:
    try:
        tab.wait_for(script, timeout=timeout, interval=0.1)
    except TimeoutError:
        # A tab busy booting Pyodide polls late; one more look, answered once it is free, decides.
        if tab.evaluate(script) is not True:
            raise failure() from None


def _status(tab: Tab) -> object:
    try:
        return tab.evaluate(_STATUS)
    except ScriptError:
        return "unknown"
