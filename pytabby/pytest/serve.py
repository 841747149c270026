"""pytabby's server on a free loopback port, in a thread of its own, for one test session."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

START_TIMEOUT = 30.0


def find_pyodide(root: Path, dist: Path | None) -> Path:
    """The Pyodide folder to serve, by the server's own rule; ``NoPyodideError`` says what was looked for."""
    from ..server import NoPyodideError, find_dist

    try:
        return find_dist(root, dist)
    except NoPyodideError as exc:
        raise NoPyodideError(f"{exc} (in tests: set pytabby_dist or --pytabby-dist)") from None


class ServerThread:
    """``build_app(root, dist=..., control_token=..., **app_options)`` served on 127.0.0.1 with a free port."""

    def __init__(self, root: Path, dist: Path, control_token: str | None, **app_options: Any) -> None:
        self.root = root
        self.dist = dist
        self.control_token = control_token
        self.app_options = app_options
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="pytabby-server", daemon=True)

    def _run(self) -> None:
        from aiohttp import web

        async def start() -> web.AppRunner:
            runner = web.AppRunner(_app(self.root, self.dist, self.control_token, self.app_options), access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            self.port = runner.addresses[0][1]
            return runner

        asyncio.set_event_loop(self._loop)
        try:
            runner = self._loop.run_until_complete(start())
        except BaseException as exc:  # reported by start() in the test's thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())
        self._loop.close()

    def start(self) -> ServerThread:
        """Start serving; returns once the port is bound."""
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise RuntimeError(f"pytabby's test server did not start within {START_TIMEOUT:g} s")
        if self._error is not None:
            raise RuntimeError(f"pytabby's test server could not start: {self._error!r}") from self._error
        return self

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, without a trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Stop serving and join the thread."""
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def _app(root: Path, dist: Path, control_token: str | None, options: dict[str, Any]) -> Any:
    from ..server import build_app

    return build_app(root, dist=dist, control_token=control_token, **options)
