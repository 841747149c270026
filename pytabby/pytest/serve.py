"""pytabby's server on a free loopback port, in a thread of its own, for one test session."""

from __future__ import annotations

import asyncio
import inspect
import threading
from pathlib import Path
from typing import Any

STATIC = Path(__file__).resolve().parent.parent / "static"
START_TIMEOUT = 30.0


class NoPyodideFolder(Exception):
    """No Pyodide folder to serve at ``/dist/``; the message says what was looked for and how to make one."""


def find_pyodide(root: Path, dist: Path | None) -> Path:
    """The Pyodide folder to serve: ``dist`` if given, else ``root/dist``; it must hold ``pyodide.mjs``."""
    candidate = dist if dist is not None else root / "dist"
    if (candidate / "pyodide.mjs").is_file():
        return candidate
    raise NoPyodideFolder(
        f"no Pyodide folder: {candidate} has no pyodide.mjs. Make one with "
        f"`python -m pytabby dist {candidate} --pyodide node_modules/pyodide` "
        "(or set pytabby_dist / --pytabby-dist to one)")


class ServerThread:
    """``build_app(root, dist=..., control_token=...)`` served on 127.0.0.1 with a free port."""

    def __init__(self, root: Path, dist: Path, control_token: str | None) -> None:
        self.root = root
        self.dist = dist
        self.control_token = control_token
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="pytabby-server", daemon=True)

    def _run(self) -> None:
        from aiohttp import web

        async def start() -> web.AppRunner:
            runner = web.AppRunner(_app(self.root, self.dist, self.control_token), access_log=None)
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


def _app(root: Path, dist: Path, control_token: str | None) -> Any:
    from .. import server

    build_app: Any = server.build_app
    if "dist" in inspect.signature(build_app).parameters:
        return build_app(root, dist=dist, control_token=control_token)
    return _legacy_app(root, dist, control_token)


def _legacy_app(root: Path, dist: Path, control_token: str | None) -> Any:
    """SHIM until the server helper's ``build_app(root, dist=, control_token=)`` lands: delete at merge.

    The old ``build_app(root, control=)`` serves ``/dist/`` and the static files from the
    repository's ``web/`` only; this serves them from ``dist`` and ``pytabby/static/``.
    """
    from aiohttp import web

    from .. import server

    app = server.build_app(root, control=control_token is not None)
    bases = {"/dist/": dist.resolve(), "/": STATIC}

    @web.middleware
    async def pyodide_and_static(request: web.Request, handler: Any) -> web.StreamResponse:
        for prefix, base in bases.items():
            if request.path.startswith(prefix) and not (root / request.path.lstrip("/")).is_file():
                candidate = (base / request.path[len(prefix):]).resolve()
                if candidate.is_relative_to(base) and candidate.is_file():
                    return web.FileResponse(candidate)
        response: web.StreamResponse = await handler(request)
        return response

    app.middlewares.append(pyodide_and_static)
    return app
