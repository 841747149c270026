"""Firefox (ESR from Debian's ``firefox-esr``) driven over Marionette with Mozilla's ``marionette-driver``.

The engine starts ``firefox-esr --marionette --headless`` on a fresh profile and stops it
at ``close()``. Scripts are compiled by the page's own ``eval`` so they run in the page's
realm with its builtins (Marionette's sandboxes would see pytabby's globals only through
``window.wrappedJSObject`` or a prototype, with builtins of their own). Each tab is a window of its own, so every page is visible
and none is throttled as a background tab; all share one profile (BroadcastChannel,
Web Locks). Playwright's Firefox route (WebDriver BiDi) fails on ESR at
``new_context``, hence Marionette.

    engine = FirefoxEngine()
    tab = engine.new_tab("http://127.0.0.1:8000/playground.html")
    tab.wait_for("() => window.pyodide !== undefined", timeout=120)
    engine.close()
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .base import EngineName, ScriptError
from ._window import PAGE_LOAD_TIMEOUT, SCRIPT_TIMEOUT, WindowTab

if TYPE_CHECKING:
    from ..config import Settings

FIREFOX = "/usr/bin/firefox-esr"

# Marionette on a port of the system's choosing (written to MarionetteActivePort), no
# first-run pages, background timers unthrottled as in Playwright's Chromium.
_PREFS = {
    "marionette.port": 0,
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "dom.min_background_timeout_value": 4,
    "dom.timeout.enable_budget_timer_throttling": False,
    "browser.tabs.remote.unloadOnLowMemory": False,
    # Offline mode (set_offline) spares loopback connections unless told otherwise.
    "network.disable-localhost-when-offline": True,
}


# Marionette's sandbox=None sees the page's globals through its prototype but keeps builtins
# of its own (``ev.data instanceof ArrayBuffer`` is false there): the page's eval makes the
# script a function of the page's realm.
_IN_PAGE_REALM = "return window.eval(arguments[0]).call(window, arguments[1]);"


class _Marionette:
    """The ``Driver`` port on a Marionette client."""

    reports_status = True

    def __init__(self, client: Any) -> None:
        self._client = client
        self._current = str(client.current_window_handle)

    def switch(self, handle: str) -> None:
        if self._current != handle:
            self._client.switch_to_window(handle, focus=False)
            self._current = handle

    def execute(self, script: str, arg_text: str) -> Any:
        from marionette_driver.errors import JavascriptException, ScriptTimeoutException

        try:
            return self._client.execute_script(
                _IN_PAGE_REALM, script_args=[f"(function () {{\n{script}\n}})", arg_text], sandbox=None, new_sandbox=False
            )
        except JavascriptException as exc:
            raise ScriptError(str(exc.message)) from None
        except ScriptTimeoutException:
            raise TimeoutError(f"firefox: a script ran over {SCRIPT_TIMEOUT} s") from None

    def navigate(self, url: str) -> None:
        from marionette_driver.errors import TimeoutException

        try:
            self._client.navigate(url)
        except TimeoutException:
            raise TimeoutError(f"firefox: {url} did not reach DOMContentLoaded within {PAGE_LOAD_TIMEOUT} s") from None

    def go_back(self) -> None:
        from marionette_driver.errors import TimeoutException

        try:
            self._client.go_back()
        except TimeoutException:
            raise TimeoutError(f"firefox: going back did not reach DOMContentLoaded within {PAGE_LOAD_TIMEOUT} s") from None

    def close_window(self) -> None:
        self._client.close()
        self._current = ""

    def window_handles(self) -> list[str]:
        return list(self._client.window_handles)

    def set_offline(self, offline: bool) -> None:
        """Firefox's own offline mode (File > Work Offline), set in the browser's chrome context."""
        with self._client.using_context("chrome"):
            self._client.execute_script(
                "Services.io.manageOfflineStatus = false; Services.io.offline = arguments[0];", script_args=[offline]
            )

    def screenshot_png(self) -> bytes:
        return bytes(self._client.screenshot(format="binary", full=False))


class FirefoxEngine:
    """A headless Firefox on a fresh profile (the ``Engine`` protocol)."""

    def __init__(self, executable: str = FIREFOX, *, headless: bool = True, startup_timeout: float = 60.0) -> None:
        from marionette_driver.marionette import Marionette

        self._profile = Path(tempfile.mkdtemp(prefix="pytabby-firefox-"))
        (self._profile / "user.js").write_text(
            "".join(f"user_pref({_js(name)}, {_js(value)});\n" for name, value in _PREFS.items())
        )
        # System access: the chrome context, for the browser's own offline mode (set_offline).
        args = [executable, "--marionette", "--remote-allow-system-access", "--no-remote", "--profile",
                str(self._profile)]
        self._process = subprocess.Popen(
            [*args, "--headless"] if headless else args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        atexit.register(self._stop_process)  # a script that dies without close() leaves no Firefox behind
        try:
            port = self._wait_for_port(startup_timeout)
            self._client = Marionette(host="127.0.0.1", port=port, startup_timeout=int(startup_timeout))
            # "eager": goto() returns at DOMContentLoaded, not after every subresource.
            self._client.start_session({"pageLoadStrategy": "eager"})
            self._client.timeout.script = SCRIPT_TIMEOUT
            self._client.timeout.page_load = PAGE_LOAD_TIMEOUT
        except BaseException:
            self._stop_process()
            raise
        # The start-up window stays open: Firefox quits when its last window closes, and
        # Marionette opens new windows only from a live current one.
        self._home = self._client.current_window_handle
        self._driver = _Marionette(self._client)
        self._lock = threading.RLock()
        self._tabs: list[WindowTab] = []

    def _wait_for_port(self, timeout: float) -> int:
        port_file = self._profile / "MarionetteActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"firefox exited with code {self._process.returncode} before Marionette started")
            text = port_file.read_text().strip() if port_file.exists() else ""
            if text.isdigit():
                return int(text)
            time.sleep(0.05)
        raise TimeoutError(f"firefox: no Marionette port within {timeout:g} s")

    @property
    def name(self) -> EngineName:
        return "firefox"

    @property
    def version(self) -> str:
        return str(self._client.session_capabilities["browserVersion"])

    def new_tab(self, url: str) -> WindowTab:
        with self._lock:
            self._driver.switch(self._home)
            handle = self._client.open(type="window", focus=False)["handle"]
            tab = WindowTab("firefox", self._driver, self._lock, handle, len(self._tabs) + 1)
            self._tabs.append(tab)
        # The driver returns at DOMContentLoaded ("eager"), before the page's own boot, so tabs
        # opened one after another still boot at the same time.
        tab.goto(url)
        return tab

    def close(self) -> None:
        """End the session, stop Firefox and delete its profile. Idempotent."""
        with self._lock:
            if self._process.poll() is not None:
                return
            try:
                self._client.delete_session()
            finally:
                self._stop_process()

    def _stop_process(self) -> None:
        atexit.unregister(self._stop_process)
        self._process.terminate()
        try:
            self._process.wait(15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        shutil.rmtree(self._profile, ignore_errors=True)


def _js(value: object) -> str:
    """A pref value as user.js spells it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int) else f'"{value}"'


def launch(settings: Settings) -> FirefoxEngine:
    """Start Firefox with the keyword arguments in ``settings.engines['firefox']``."""
    options = dict(settings.engines.get('firefox', {}))
    options.setdefault("headless", settings.headless)
    return FirefoxEngine(**options)
