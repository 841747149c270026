"""The driver-neutral tab handle and engine: what the test kit needs of a browser.

Chromium implements it on Playwright, Firefox on Marionette (``marionette-driver``),
WebKit on WebDriver (selenium's ``WebKitGTK``). Scripts are JavaScript function
sources, e.g. ``"async (arg) => arg + 1"``: each engine calls the function with
``arg`` in the page's own realm (not a sandbox), awaits a returned promise and
returns a JSON-compatible result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Protocol

EngineName = Literal["chromium", "firefox", "webkit"]


class ScriptError(Exception):
    """The page's script threw; the message is the JS error's text (with Python's traceback when Python raised)."""


class TabCrashed(Exception):
    """The tab's renderer crashed; the message names the tab and its last console lines."""


class Unsupported(Exception):
    """This engine has no way to do it (the test kit turns it into a skip with this reason)."""


class Tab(Protocol):
    """One browser tab."""

    @property
    def engine(self) -> EngineName: ...

    @property
    def label(self) -> str:
        """A short name for reports, e.g. ``"firefox tab 2 /counter.html"``."""
        ...

    @property
    def url(self) -> str: ...

    @property
    def page(self) -> Any:
        """The Playwright ``Page`` (Chromium only; ``Unsupported`` elsewhere)."""
        ...

    def goto(self, url: str) -> int | None:
        """Navigate and return the document's HTTP status where the engine reports it."""
        ...

    def go_back(self) -> None:
        """Go back one history entry as the back button does.

        Returns once the engine has started showing that entry, not when it is ready: the page may
        come back from the back/forward cache or load anew (the engine decides), so wait for the
        state the test needs with ``wait_for``.
        """
        ...

    def evaluate(self, script: str, arg: Any = None) -> Any:
        """Run the function source ``script`` with ``arg`` in the page; ``ScriptError`` if it throws."""
        ...

    def wait_for(self, script: str, arg: Any = None, *, timeout: float = 20.0, interval: float = 0.02) -> None:
        """Poll ``script`` until it returns ``true``; ``TimeoutError`` after ``timeout`` seconds."""
        ...

    def console(self) -> list[str]:
        """Console lines and uncaught errors seen so far, oldest first, each ``"level: text"``."""
        ...

    def screenshot(self, path: Path) -> None: ...

    def close(self) -> float | None:
        """Close the tab: its ``pagehide`` and ``unload`` run. ``beforeunload``, which a user's
        close runs, runs only in Firefox (Marionette's close); Chromium's (Playwright's
        ``page.close()``) and WebKit's (WebKitWebDriver's) skip it.

        Returns the ``time.time()`` at which the close command left for the browser, after the
        kit's own work (reading the console for reports, picking the window): the start of
        anything timed from the close. ``None`` when the tab was closed already.
        """
        ...

    @property
    def closed(self) -> bool: ...

    def set_offline(self, offline: bool) -> None:
        """Take the whole browser profile off the network (or back on): new connections fail.

        ``Unsupported`` where the driver cannot (WebKit's WebDriver).
        """
        ...

    def freeze(self) -> Any:
        """Halt the page's JavaScript (its Web Locks stay held); returns an object whose ``unfreeze()`` resumes.

        ``Unsupported`` where the engine has no such primitive.
        """
        ...


class Engine(Protocol):
    """One running browser; its tabs share BroadcastChannel and Web Locks per origin."""

    @property
    def name(self) -> EngineName: ...

    @property
    def version(self) -> str: ...

    def new_tab(self, url: str) -> Tab:
        """Open a tab and start navigating to ``url`` (absolute); returns without waiting for the load."""
        ...

    def close(self) -> None: ...
