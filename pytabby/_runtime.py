"""Picks the platform: the real browser under Pyodide, nothing elsewhere.

Every module imports in plain CPython; only ``default_platform()`` reaches for
the browser edge, and only when running in Pyodide. The edge imports nothing
from here, so the dependency runs one way.
"""

from __future__ import annotations

import sys

from ._ports import Platform

IN_BROWSER = sys.platform == "emscripten"

_platform: Platform | None = None


def default_platform() -> Platform:
    global _platform
    if _platform is None:
        if not IN_BROWSER:
            raise RuntimeError(
                "pytabby needs a browser tab (Pyodide); outside one pass platform=, "
                "e.g. a tab of pytabby.testing.FakeBrowser"
            )
        from ._browser import BrowserPlatform

        _platform = BrowserPlatform()
    return _platform
