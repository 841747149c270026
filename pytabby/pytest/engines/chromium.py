"""Chromium through Playwright: one persistent profile per engine (the 9.6 MB wasm stays in HTTP cache).

``tab.page`` is the Playwright ``Page``. Freezing uses CDP ``Debugger.pause``
(in headless Chromium ``Page.setWebLifecycleState`` has no effect).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from playwright.sync_api import Error, Page, sync_playwright

from ..config import Settings
from .base import EngineName, ScriptError, TabCrashed

CONSOLE_LINES_IN_REPORTS = 10

# Chromium's allocation samplers (its in-process heap profiler, GWP-ASan) record the stack by frame
# pointers and read past the end of a WebAssembly stack-switching (JSPI) stack, which Pyodide runs
# on: a sampled tab's renderer dies with SIGSEGV. Measured with Chromium 156: every unintended
# renderer crash of our test and benchmark runs (11 of 11) faulted at that one stack-scanning
# instruction, and forcing the heap profiler on crashed 2 of 24 booting Pyodide tabs there.
# Off in every browser the kit starts.
CRASHING_SAMPLERS = ("HeapProfilerReporting", "GwpAsanMalloc", "GwpAsanPartitionAlloc")
# Playwright's own --disable-features (1.65). Chromium keeps only the last such switch, so the one
# the kit passes carries these too.
PLAYWRIGHT_DISABLED_FEATURES = (
    "AvoidUnnecessaryBeforeUnloadCheckSync", "DestroyProfileOnBrowserClose", "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable", "LensOverlay", "MediaRouter", "PaintHolding",
    "ThirdPartyStoragePartitioning", "AvoidCorsURLLoaderRestartOnRedirect", "TcpPortRandomizationWin",
    "OptimizationHints", "NetworkTimeServiceQuerying", "AimEnabled", "PreconnectToSearch",
)


def launch_args(args: Iterable[str]) -> list[str]:
    """``args`` with every ``--disable-features`` merged into one that also turns ``CRASHING_SAMPLERS`` off."""
    features = [*PLAYWRIGHT_DISABLED_FEATURES, *CRASHING_SAMPLERS]
    others = []
    for arg in args:
        if arg.startswith("--disable-features="):
            features.extend(name for name in arg.partition("=")[2].split(",") if name)
        else:
            others.append(arg)
    return [*others, "--disable-features=" + ",".join(dict.fromkeys(features))]


class ChromiumTab:
    """One Playwright page behind the driver-neutral ``Tab`` handle."""

    def __init__(self, page: Page, number: int) -> None:
        self._page = page
        self._number = number
        self._console: list[str] = []
        self._crashed = False
        page.on("console", lambda message: self._console.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: self._console.append(f"pageerror: {error}"))
        page.on("crash", lambda _: self._on_crash())

    def _on_crash(self) -> None:
        self._crashed = True

    @property
    def engine(self) -> EngineName:
        return "chromium"

    @property
    def label(self) -> str:
        path = self._page.url.split("/", 3)[-1] if "://" in self._page.url else self._page.url
        return f"chromium tab {self._number} /{path}"

    @property
    def url(self) -> str:
        return self._page.url

    @property
    def page(self) -> Page:
        return self._page

    def goto(self, url: str) -> int | None:
        response = self._guard(lambda: self._page.goto(url, wait_until="commit"))
        return response.status if response is not None else None

    def go_back(self) -> None:
        self._guard(lambda: self._page.go_back(wait_until="commit"))

    def evaluate(self, script: str, arg: Any = None) -> Any:
        return self._guard(lambda: self._page.evaluate(script, arg))

    def wait_for(self, script: str, arg: Any = None, *, timeout: float = 20.0, interval: float = 0.02) -> None:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            self._guard(lambda: self._page.wait_for_function(
                script, arg=arg, polling=interval * 1000, timeout=timeout * 1000))
        except PlaywrightTimeout:
            raise TimeoutError(f"{script} did not return true within {timeout:g} s") from None

    def console(self) -> list[str]:
        return list(self._console)

    def screenshot(self, path: Path) -> None:
        self._page.screenshot(path=path)

    def close(self) -> float | None:
        if self._page.is_closed():
            return None
        sent_at = time.time()
        self._page.close()  # pagehide and unload run; beforeunload does not (run_before_unload=False)
        return sent_at

    @property
    def closed(self) -> bool:
        return self._page.is_closed()

    def set_offline(self, offline: bool) -> None:
        self._page.context.set_offline(offline)  # open WebSockets stay open (measured)

    def freeze(self) -> Frozen:
        return Frozen(self._page)

    def _guard(self, action: Any) -> Any:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            return action()
        except PlaywrightTimeout:
            if self._crashed:
                raise self._crash_error() from None
            raise
        except Error as exc:
            # The "crash" event reaches Python only during a later driver call: the message tells first.
            if self._crashed or "Target crashed" in exc.message:
                raise self._crash_error() from None
            raise ScriptError(exc.message) from None

    def _crash_error(self) -> TabCrashed:
        last = "\n".join(self._console[-CONSOLE_LINES_IN_REPORTS:]) or "(nothing)"
        return TabCrashed(f"{self.label} crashed; its last console lines:\n{last}")


class Frozen:
    """The page's JavaScript halted by the debugger (its Web Locks stay held) until ``unfreeze()``."""

    def __init__(self, page: Page) -> None:
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


class _Playwright:
    """One Playwright driver per process: its sync API cannot start twice in one thread."""

    instance: Any = None
    users = 0

    @classmethod
    def acquire(cls) -> Any:
        if cls.instance is None:
            cls.instance = sync_playwright().start()
        cls.users += 1
        return cls.instance

    @classmethod
    def release(cls) -> None:
        cls.users -= 1
        if cls.users == 0:
            cls.instance.stop()
            cls.instance = None


class ChromiumEngine:
    """A Chromium profile of its own (temporary), whose pages share BroadcastChannel and Web Locks."""

    def __init__(self, settings: Settings) -> None:
        self._playwright = _Playwright.acquire()
        self._profile = tempfile.mkdtemp(prefix="pytabby-chromium-")
        self._context = self._playwright.chromium.launch_persistent_context(
            self._profile, executable_path=settings.executable_path, args=launch_args(settings.args),
            headless=settings.headless,
        )
        self._context.set_default_timeout(settings.timeout * 1000)
        self._opened = 0

    @property
    def name(self) -> EngineName:
        return "chromium"

    @property
    def version(self) -> str:
        browser = self._context.browser
        return browser.version if browser is not None else "unknown"

    @property
    def context(self) -> Any:
        """The Playwright ``BrowserContext`` every tab of this engine belongs to."""
        return self._context

    @property
    def profile(self) -> str:
        """The browser's profile folder: every process of this browser names it on its command line."""
        return self._profile

    def new_tab(self, url: str) -> ChromiumTab:
        self._opened += 1
        tab = ChromiumTab(self._context.new_page(), self._opened)
        tab.goto(url)
        return tab

    def close(self) -> None:
        self._context.close()
        _Playwright.release()
        shutil.rmtree(self._profile, ignore_errors=True)


def launch(settings: Settings) -> ChromiumEngine:
    """Start Chromium as ``settings`` say (``executable_path``, ``args``, ``headless``)."""
    return ChromiumEngine(settings)
