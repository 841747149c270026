"""The event loop pytabby runs on: the running one, or (in Pyodide at top level) the page's webloop."""

from __future__ import annotations

import asyncio


def current_loop() -> asyncio.AbstractEventLoop:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.get_event_loop()
