"""WebKit (WebKitGTK, Safari's engine) driven by selenium's ``WebKitGTK`` through ``WebKitWebDriver``.

Debian's ``webkit2gtk-driver`` gives ``/usr/bin/WebKitWebDriver``, which starts
WebKitGTK's ``MiniBrowser --automation``. MiniBrowser needs an X display: without
``DISPLAY`` the engine starts its own ``Xvfb`` on a free display number and stops
it at ``close()``, so no ``xvfb-run`` wrapper is needed. Each tab is a window of one
browser session (shared BroadcastChannel and Web Locks).

    engine = WebKitEngine()
    tab = engine.new_tab("http://127.0.0.1:8000/playground.html")
    tab.wait_for("() => window.pyodide !== undefined", timeout=120)
    engine.close()
"""

from __future__ import annotations

import atexit
import os
import select
import subprocess
import threading
import time
from typing import TYPE_CHECKING, Any

from .base import EngineName, ScriptError
from ._window import PAGE_LOAD_TIMEOUT, SCRIPT_TIMEOUT, WindowTab

if TYPE_CHECKING:
    from ..config import Settings

WEBDRIVER = "/usr/bin/WebKitWebDriver"
MINIBROWSER = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser"
RESTORE_WAIT = 2  # seconds go_back() lets the driver wait for a load (see there)
# Seconds a script lets the driver wait for a navigation it believes unfinished. WebKitWebDriver
# sometimes misses a new window's load and holds the first script for the whole page load timeout
# (measured: 6 of 150 windows, opened beside booting tabs), then answers the next one at once.
SETTLE_WAIT = 3


class _WebDriver:
    """The ``Driver`` port on a selenium session."""

    reports_status = False  # WebKit 2.50 leaves the navigation timing's responseStatus undefined

    def __init__(self, session: Any) -> None:
        self._session = session
        self._current = str(session.current_window_handle)

    def switch(self, handle: str) -> None:
        if self._current != handle:
            self._session.switch_to.window(handle)
            self._current = handle

    def execute(self, script: str, arg_text: str) -> Any:
        from selenium.common.exceptions import JavascriptException, TimeoutException

        started = time.monotonic()
        try:
            return self._session.execute_script(script, arg_text)
        except JavascriptException as exc:
            raise ScriptError(str(exc.msg)) from None
        except TimeoutException:
            if time.monotonic() - started < SCRIPT_TIMEOUT:
                # The document went away mid-script (answered at once), or the driver waited
                # SETTLE_WAIT for a navigation: either way the next script meets the new document.
                return None
            raise TimeoutError(f"webkit: a script ran over {SCRIPT_TIMEOUT} s") from None

    def navigate(self, url: str) -> None:
        from selenium.common.exceptions import TimeoutException

        self._session.set_page_load_timeout(PAGE_LOAD_TIMEOUT)
        try:
            self._session.get(url)
        except TimeoutException:
            raise TimeoutError(f"webkit: {url} did not reach DOMContentLoaded within {PAGE_LOAD_TIMEOUT} s") from None
        finally:
            self._session.set_page_load_timeout(SETTLE_WAIT)

    def go_back(self) -> None:
        from selenium.common.exceptions import TimeoutException

        # WebKitWebDriver waits for a load that a back/forward cache restore never fires and answers
        # "timeout" at the page load timeout (measured: 40 of 40 restores). A short bound keeps that
        # wait brief; nothing else is sent meanwhile, since a script reaching a page that is being
        # suspended into the cache never answers (seen hanging a run past 300 s).
        self._session.set_page_load_timeout(RESTORE_WAIT)
        try:
            self._session.back()
        except TimeoutException:
            pass  # restored, or still loading: the caller waits for the page it needs
        finally:
            self._session.set_page_load_timeout(SETTLE_WAIT)

    def new_window(self) -> str:
        self._session.switch_to.new_window("window")
        self._current = self._session.current_window_handle
        return self._current

    def close_window(self) -> None:
        self._session.close()
        self._current = ""

    def window_handles(self) -> list[str]:
        return list(self._session.window_handles)

    def screenshot_png(self) -> bytes:
        return bytes(self._session.get_screenshot_as_png())


class Xvfb:
    """A virtual X display on a number Xvfb picks itself (``-displayfd``)."""

    def __init__(self, timeout: float = 30.0) -> None:
        read_end, write_end = os.pipe()
        self._process = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
            pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(write_end)
        try:
            self.display = f":{self._read_number(read_end, timeout)}"
        except BaseException:
            self.stop()
            raise
        finally:
            os.close(read_end)

    def _read_number(self, fd: int, timeout: float) -> int:
        text = b""
        deadline = time.monotonic() + timeout
        while not text.endswith(b"\n"):
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(fd, 16) if ready else b""  # Xvfb writes the number and a newline, or exits
            if not chunk:
                raise RuntimeError(f"Xvfb did not start (exit code {self._process.poll()})")
            text += chunk
        return int(text)

    def stop(self) -> None:
        self._process.terminate()
        self._process.wait(10)


class WebKitEngine:
    """A MiniBrowser session (the ``Engine`` protocol)."""

    def __init__(self, webdriver_path: str = WEBDRIVER, browser: str = MINIBROWSER) -> None:
        from selenium import webdriver
        from selenium.webdriver.webkitgtk.options import Options
        from selenium.webdriver.webkitgtk.service import Service

        self._xvfb = None if os.environ.get("DISPLAY") else Xvfb()
        env = dict(os.environ)
        if self._xvfb is not None:
            env["DISPLAY"] = self._xvfb.display
        options = Options()
        options.binary_location = browser
        options.add_argument("--automation")
        options.page_load_strategy = "eager"  # goto() returns at DOMContentLoaded
        try:
            self._session = webdriver.WebKitGTK(options=options, service=Service(executable_path=webdriver_path, env=env))
            self._session.set_script_timeout(SCRIPT_TIMEOUT)
            self._session.set_page_load_timeout(SETTLE_WAIT)  # navigate() sets its own
        except BaseException:
            if self._xvfb is not None:
                self._xvfb.stop()
            raise
        atexit.register(self.close)  # a script that dies without close() leaves no browser behind
        self._closed = False
        # The first window stays open (the session ends with its last window) and opens the others.
        self._driver = _WebDriver(self._session)
        self._home = self._session.current_window_handle
        self._lock = threading.RLock()
        self._tabs: list[WindowTab] = []

    @property
    def name(self) -> EngineName:
        return "webkit"

    @property
    def version(self) -> str:
        return str(self._session.capabilities["browserVersion"])

    def new_tab(self, url: str) -> WindowTab:
        with self._lock:
            self._driver.switch(self._home)
            handle = self._driver.new_window()
            tab = WindowTab("webkit", self._driver, self._lock, handle, len(self._tabs) + 1)
            self._tabs.append(tab)
        # The driver returns at DOMContentLoaded ("eager"), before the page's own boot, so tabs
        # opened one after another still boot at the same time.
        tab.goto(url)
        return tab

    def close(self) -> None:
        """Quit MiniBrowser, its driver and our Xvfb. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            atexit.unregister(self.close)
            try:
                self._session.quit()
            finally:
                if self._xvfb is not None:
                    self._xvfb.stop()


def launch(settings: Settings) -> WebKitEngine:
    """Start WebKit with the keyword arguments in ``settings.engines['webkit']``."""
    options = dict(settings.engines.get('webkit', {}))
    return WebKitEngine(**options)
