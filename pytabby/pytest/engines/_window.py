"""The tab handle shared by the WebDriver-style engines (Firefox on Marionette, WebKit on WebDriver).

Both drivers address one window at a time and have no console log API, so a tab here
is a window handle plus a lock-guarded switch, and every script the kit runs carries
a small console recorder that installs itself once per document (see ``CONSOLE_JS``).
Results cross as JSON text made in the page, so both drivers return the same values.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from .base import EngineName, ScriptError, Unsupported

# Seconds goto() may take to reach DOMContentLoaded (the drivers' default is 300), and one
# script may run (an await of a boot included): a wedged page fails instead of hanging the run.
PAGE_LOAD_TIMEOUT = 60
SCRIPT_TIMEOUT = 300

# Records console calls and uncaught errors of the page into ``window.__pytabbyConsole``
# (a ring of "level: text" lines). Idempotent: the page's boot script may install the
# same recorder at document start; otherwise the first script the kit runs in a
# document does (the kit polls from the moment a tab opens, so little is missed).
CONSOLE_JS = """if (!Array.isArray(window.__pytabbyConsole)) {
  const lines = window.__pytabbyConsole = [];
  const keep = (line) => { lines.push(line); if (lines.length > 2000) lines.shift(); };
  const show = (value) => {
    if (typeof value === "string") return value;
    if (value instanceof Error) return String(value);
    try { return JSON.stringify(value) ?? String(value); } catch { return String(value); }
  };
  const levels = {log: "log", info: "info", warn: "warning", error: "error", debug: "debug"};
  for (const [method, level] of Object.entries(levels)) {
    const original = console[method];
    console[method] = function (...args) {
      keep(`${level}: ${args.map(show).join(" ")}`);
      return original.apply(this, args);
    };
  }
  addEventListener("error", (event) => keep(`pageerror: ${event.message}`));
  addEventListener("unhandledrejection", (event) => keep(`pageerror: ${show(event.reason?.message ?? event.reason)}`));
}"""

# The driver runs this as a function body with one argument (the JSON text of ``arg``).
_CALL_JS = """%s
return (async (fn) => {
  try {
    return JSON.stringify({value: await fn(JSON.parse(arguments[0]))});
  } catch (error) {
    return JSON.stringify({error: error instanceof Error ? error.message : String(error)});
  }
})((%s));"""


class NavigatedAway(ScriptError):
    """The document was replaced while the script ran (the driver's answer is then empty)."""


class Driver(Protocol):
    """What a tab needs of its engine's driver; calls act on the current window."""

    reports_status: bool  # whether the page's navigation timing has the HTTP status

    def switch(self, handle: str) -> None: ...

    def execute(self, script: str, arg_text: str) -> Any:
        """Run a function body in the page's realm with ``arguments[0] == arg_text``; await a promise."""
        ...

    def navigate(self, url: str) -> None: ...

    def go_back(self) -> None: ...

    def close_window(self) -> None: ...

    def window_handles(self) -> list[str]: ...

    def screenshot_png(self) -> bytes: ...


class WindowTab:
    """One top-level window of a WebDriver-style engine (the ``Tab`` protocol)."""

    def __init__(self, engine: EngineName, driver: Driver, lock: threading.RLock, handle: str, number: int) -> None:
        self._engine: EngineName = engine
        self._driver = driver
        self._lock = lock
        self._handle = handle
        self._number = number
        self._url = "about:blank"
        self._closed = False
        self._last_console: list[str] = []

    @property
    def engine(self) -> EngineName:
        return self._engine

    @property
    def label(self) -> str:
        return f"{self._engine} tab {self._number} {urlsplit(self._url).path or self._url}"

    @property
    def url(self) -> str:
        if not self._closed:
            self._url = self._settled("() => location.href")
        return self._url

    @property
    def page(self) -> Any:
        raise Unsupported(f"{self._engine} tabs have no Playwright page; use evaluate()")

    def goto(self, url: str) -> int | None:
        self._url = url
        with self._lock:
            self._driver.switch(self._handle)
            self._driver.navigate(url)
        # The driver can return while the window's previous document (about:blank for a new
        # window) is still being replaced; the first answer comes from the new one.
        # Firefox reports the status in the navigation timing (WebKit 2.50 leaves it undefined).
        self._url, status = self._settled(
            """() => [location.href, performance.getEntriesByType("navigation")[0]?.responseStatus || null]""")
        return int(status) if status and self._driver.reports_status else None

    def _settled(self, script: str) -> Any:
        """``evaluate(script)`` in whichever document answers once a navigation under way is over."""
        deadline = time.monotonic() + PAGE_LOAD_TIMEOUT
        while True:
            try:
                return self.evaluate(script)
            except NavigatedAway:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def go_back(self) -> None:
        with self._lock:
            self._driver.switch(self._handle)
            self._driver.go_back()

    def evaluate(self, script: str, arg: Any = None) -> Any:
        if self._closed:
            raise RuntimeError(f"{self.label} is closed")
        with self._lock:
            self._driver.switch(self._handle)
            text = self._driver.execute(_CALL_JS % (CONSOLE_JS, script), json.dumps(arg))
        if text is None:
            raise NavigatedAway(f"{self.label}: the page navigated while {script} ran")
        reply = json.loads(text)
        if "error" in reply:
            raise ScriptError(reply["error"])
        return reply.get("value")

    def wait_for(self, script: str, arg: Any = None, *, timeout: float = 20.0, interval: float = 0.02) -> None:
        deadline = time.monotonic() + timeout
        while not self._poll(script, arg):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.label}: {script} did not return true within {timeout:g} s")
            time.sleep(interval)

    def _poll(self, script: str, arg: Any) -> bool:
        try:
            return self.evaluate(script, arg) is True
        except NavigatedAway:  # a tab still loading: the next document answers
            return False

    def console(self) -> list[str]:
        if self._closed:
            return list(self._last_console)
        return list(self.evaluate("() => window.__pytabbyConsole") or [])

    def screenshot(self, path: Path) -> None:
        with self._lock:
            self._driver.switch(self._handle)
            Path(path).write_bytes(self._driver.screenshot_png())

    def close(self) -> float | None:
        if self._closed:
            return None
        try:  # kept for a failed test's report: the window's log goes with it
            self._last_console = self.console()
        except Exception:
            pass  # a page that cannot answer any more leaves the log read before
        self._closed = True
        with self._lock:
            if self._handle not in self._driver.window_handles():
                return None
            self._driver.switch(self._handle)
            sent_at = time.time()
            self._driver.close_window()
            return sent_at

    @property
    def closed(self) -> bool:
        if not self._closed:
            with self._lock:
                self._closed = self._handle not in self._driver.window_handles()
        return self._closed

    def set_offline(self, offline: bool) -> None:
        set_offline = getattr(self._driver, "set_offline", None)
        if set_offline is None:
            raise Unsupported(f"{self._engine}'s driver cannot take the browser offline")
        with self._lock:
            set_offline(offline)

    def freeze(self) -> Any:
        raise Unsupported(
            f"{self._engine}'s driver cannot halt a page's JavaScript (no debugger pause or lifecycle freeze)"
        )
