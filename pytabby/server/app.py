"""``build_app``: the whole server as one aiohttp Application."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path

from aiohttp import web

from .control import add_control_routes
from .files import add_static_routes, find_dist
from .guard import LOOPBACK_HOSTS, host_guard
from .hub import GOING_AWAY, ConnectionGate, FrameLog, Hub, Limits, tick_forever

# Pinned by the npm lock file, so cached hard (the wasm alone is 9.6 MB); the rest revalidates (ETag).
IMMUTABLE = ("/node_modules/", "/dist/pyodide.asm.", "/dist/python_stdlib.zip")
LONG_CACHE = "public, max-age=604800, immutable"
REVALIDATE = "no-cache"
# On shutdown, queued frames get this long to go out before every peer is sent 1001.
SHUTDOWN_FLUSH_SECONDS = 0.3
SHUTDOWN_CLOSE_SECONDS = 0.9

HUB = web.AppKey("hub", Hub)
TICKS = web.AppKey("ticks", Hub)


@web.middleware
async def cache_headers(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    response = await handler(request)
    if request.path.startswith(IMMUTABLE):
        response.headers["Cache-Control"] = LONG_CACHE
    elif "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = REVALIDATE
    return response


@web.middleware
async def isolation_headers(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    response = await handler(request)
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Cross-Origin-Embedder-Policy"] = "require-corp"
    return response


def build_app(
    root: Path,
    *,
    dist: Path | None,
    control_token: str | None = None,
    allowed_hosts: Iterable[str] = LOOPBACK_HOSTS,
    max_connections: int = 256,
    send_queue_bytes: int = 8 << 20,
    heartbeat: float | None = 15.0,
    max_frame_bytes: int = 4 << 20,
    frame_log_bytes: int = 32 << 20,
    receipt_log: Path | None = None,
    cross_origin_isolated: bool = False,
) -> web.Application:
    """The server for the user's folder ``root``, with ``/dist/`` from the Pyodide folder ``dist``.

    ``dist=None`` takes ``root/dist``; no Pyodide folder raises ``NoPyodideError``.
    ``control_token``: None means no ``/control/*`` routes and no frame log; with a token
    every ``/control/*`` request must carry it in ``X-Pytabby-Token``. ``allowed_hosts``:
    the names Host and Origin may carry (any port). ``max_connections``: WebSockets over
    both hubs, 503 past it. ``send_queue_bytes``: what one peer may fall behind before it
    is closed with 1013. ``heartbeat``: seconds between pings (a peer that misses the pong
    for half that is closed). ``frame_log_bytes``: bound of the ``/control/frames`` log.
    ``receipt_log``: a file every received ``/ws`` frame is appended to (one JSON line) before
    it is relayed or confirmed, so what the server received outlives even a SIGKILL (fault tests).
    ``cross_origin_isolated``: every response carries COOP ``same-origin`` and COEP
    ``require-corp``, so pages get ``SharedArrayBuffer`` and a fine ``performance.now()``
    (browsers coarsen it to 0.1-1 ms otherwise); every resource must then be same-origin or CORP.
    """
    pyodide = find_dist(root, dist)
    limits = Limits(max_connections, send_queue_bytes, heartbeat, max_frame_bytes)
    gate = ConnectionGate(max_connections)
    hub = Hub(limits, gate, FrameLog(frame_log_bytes) if control_token is not None else None,
              receipt_log.open("a", encoding="utf-8") if receipt_log is not None else None)
    ticks = Hub(limits, gate)
    middlewares = [host_guard(allowed_hosts), cache_headers]
    if cross_origin_isolated:
        middlewares.append(isolation_headers)
    app = web.Application(middlewares=middlewares)
    app[HUB] = hub
    app[TICKS] = ticks

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({**hub.stats(), "ticks_connections": len(ticks.clients), "refused": gate.refused})

    async def run_ticker(app: web.Application) -> AsyncIterator[None]:
        ticker = asyncio.create_task(tick_forever(ticks))
        yield
        ticker.cancel()

    async def close_receipts(app: web.Application) -> None:
        if hub.receipts is not None:
            hub.receipts.close()

    async def say_goodbye(app: web.Application) -> None:
        """Every peer gets 1001 promptly, rather than a socket held silently until a timeout."""
        for each in (hub, ticks):
            each.stopping = True
        closing = [each.close_all(GOING_AWAY, "server stopping", flush_within=SHUTDOWN_FLUSH_SECONDS)
                   for each in (hub, ticks)]
        await asyncio.wait([asyncio.ensure_future(c) for c in closing], timeout=SHUTDOWN_CLOSE_SECONDS)

    app.router.add_get("/ws", hub.handle)
    app.router.add_get("/ws/ticks", ticks.handle)
    app.router.add_get("/stats", stats)
    app.cleanup_ctx.append(run_ticker)
    app.on_shutdown.append(say_goodbye)
    app.on_cleanup.append(close_receipts)
    if control_token is not None:
        add_control_routes(app, hub, control_token)
    add_static_routes(app, root, pyodide)
    return app
