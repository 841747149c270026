"""The project's local server: static files of ``web/`` plus a WebSocket hub.

Run ``python -m pytabby.server`` (host side, needs aiohttp). ``/ws`` relays every
frame to every client, the sender included, except JSON requests
(``{"request_id": ..., "op": ...}``) which are answered on their connection only.
``GET /stats`` reports connection and frame counts. ``/ws/ticks`` is a second hub
that also pushes a tick (``{"type": "tick", "seq", "t", "value"}``) every half
second, for the dashboard demo. With ``--control`` the test hooks under
``/control/`` are enabled (broadcast, outage, frame log, reset).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import random
import time
from collections import deque
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

DEFAULT_ROOT = (Path(__file__).parent.parent / "web").resolve()
FRAME_LOG_LIMIT = 100_000
TICK_SECONDS = 0.5
# Pinned by the npm lock file, so cached hard (the wasm alone is 9.6 MB); the rest revalidates (ETag).
IMMUTABLE = ("/node_modules/", "/dist/pyodide.asm.", "/dist/python_stdlib.zip")
LONG_CACHE = "public, max-age=604800, immutable"
REVALIDATE = "no-cache"

logger = logging.getLogger("pytabby.server")


class Hub:
    def __init__(self) -> None:
        self.clients: set[web.WebSocketResponse] = set()
        self.peak = 0
        self.frames_received = 0
        self.frames_sent = 0
        self.frame_log: deque[str | bytes] = deque(maxlen=FRAME_LOG_LIMIT)
        self.outage_until = 0.0

    def stats(self) -> dict[str, int]:
        return {
            "connections": len(self.clients),
            "peak_connections": self.peak,
            "frames_received": self.frames_received,
            "frames_sent": self.frames_sent,
        }

    def reset(self) -> None:
        self.peak = len(self.clients)
        self.frames_received = self.frames_sent = 0
        self.frame_log.clear()

    async def broadcast(self, data: str | bytes) -> None:
        for client in list(self.clients):
            await self._send(client, data)

    async def _send(self, client: web.WebSocketResponse, data: str | bytes) -> None:
        try:
            if isinstance(data, str):
                await client.send_str(data)
            else:
                await client.send_bytes(data)
        except ConnectionError:
            return
        self.frames_sent += 1

    async def handle(self, request: web.Request) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        own_origin = f"{request.scheme}://{request.host}"
        # Browsers always send Origin; a cross-site page must not ride the user's tabs into the hub.
        if origin is not None and origin != own_origin:
            raise web.HTTPForbidden(text=f"origin {origin} is not {own_origin}")
        if time.monotonic() < self.outage_until:
            raise web.HTTPServiceUnavailable(text="simulated outage")
        ws = web.WebSocketResponse(protocols=_offered_protocols(request), heartbeat=None)
        await ws.prepare(request)
        self.clients.add(ws)
        self.peak = max(self.peak, len(self.clients))
        try:
            async for frame in ws:
                if frame.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    await self._on_frame(ws, frame.data)
        finally:
            self.clients.discard(ws)
        return ws

    async def _on_frame(self, ws: web.WebSocketResponse, data: str | bytes) -> None:
        self.frames_received += 1
        self.frame_log.append(data)
        request = _as_request(data)
        if request is None:
            await self.broadcast(data)
        else:
            reply = await _answer(request)
            await self._send(ws, json.dumps(reply))

    async def outage(self, seconds: float) -> None:
        self.outage_until = time.monotonic() + seconds
        for client in list(self.clients):
            await client.close(code=1012, message=b"simulated outage")


HUB = web.AppKey("hub", Hub)


async def tick_forever(hub: Hub) -> None:
    """A random walk, one tick per TICK_SECONDS, to every client of ``hub``."""
    value = 50.0
    for seq in itertools.count(1):
        value = min(100.0, max(0.0, value + random.uniform(-5, 5)))
        if hub.clients:
            tick = {"type": "tick", "seq": seq, "t": time.time() * 1000, "value": round(value, 2)}
            await hub.broadcast(json.dumps(tick))
        await asyncio.sleep(TICK_SECONDS)


def _offered_protocols(request: web.Request) -> tuple[str, ...]:
    header = request.headers.get("Sec-WebSocket-Protocol", "")
    return tuple(p.strip() for p in header.split(",") if p.strip())


def _as_request(data: str | bytes) -> dict[str, Any] | None:
    if not isinstance(data, str) or not data.lstrip().startswith("{"):
        return None
    try:
        parsed = json.loads(data)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) and "request_id" in parsed else None


async def _answer(request: dict[str, Any]) -> dict[str, Any]:
    request_id = request["request_id"]
    op = request.get("op")
    if op == "echo":
        return {"request_id": request_id, "result": request.get("data")}
    if op == "delay":
        await asyncio.sleep(float(request.get("seconds", 0)))
        return {"request_id": request_id, "result": request.get("data")}
    return {"request_id": request_id, "error": f"unknown op {op!r} (known: echo, delay)"}


@web.middleware
async def cache_headers(request: web.Request, handler: Any) -> web.StreamResponse:
    response = await handler(request)
    if request.path.startswith(IMMUTABLE):
        response.headers["Cache-Control"] = LONG_CACHE
    elif "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = REVALIDATE
    return response


def build_app(root: Path = DEFAULT_ROOT, *, control: bool = False) -> web.Application:
    """The app serving ``root``; for a folder other than ``web/``, files it lacks
    (Pyodide and the wheel in ``/dist/``, ``/pytabby-boot.js``, ``/playground.html``...)
    come from ``web/``, so a user's pages can load pytabby from the same origin."""
    hub = Hub()
    app = web.Application(middlewares=[cache_headers])
    app[HUB] = hub
    roots = [root.resolve()] + ([DEFAULT_ROOT] if root.resolve() != DEFAULT_ROOT else []) + [Path(__file__).parent / "static"]

    async def static(request: web.Request) -> web.FileResponse:
        relative = request.match_info["path"] or "index.html"
        for base in roots:
            candidate = (base / relative).resolve()
            # resolve() folds "..": a path that leaves the folder is not served from it.
            if candidate.is_relative_to(base) and candidate.is_file():
                return web.FileResponse(candidate)
        raise web.HTTPNotFound()

    ticks = Hub()

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({**hub.stats(), "ticks_connections": len(ticks.clients)})

    async def run_ticker(app: web.Application) -> Any:
        ticker = asyncio.create_task(tick_forever(ticks))
        yield
        ticker.cancel()

    app.router.add_get("/ws", hub.handle)
    app.router.add_get("/ws/ticks", ticks.handle)
    app.cleanup_ctx.append(run_ticker)
    app.router.add_get("/stats", stats)
    if control:
        _add_control_routes(app, hub)
    app.router.add_get("/{path:.*}", static)
    return app


def _add_control_routes(app: web.Application, hub: Hub) -> None:
    async def broadcast(request: web.Request) -> web.Response:
        body = await request.read()
        text = request.content_type.startswith("text/") or request.content_type == "application/json"
        await hub.broadcast(body.decode() if text else body)
        return web.json_response(hub.stats())

    async def reset(request: web.Request) -> web.Response:
        hub.reset()
        return web.json_response(hub.stats())

    async def outage(request: web.Request) -> web.Response:
        await hub.outage(float(request.query.get("seconds", "1")))
        return web.json_response(hub.stats())

    async def frames(request: web.Request) -> web.Response:
        return web.json_response([f if isinstance(f, str) else {"binary": f.hex()} for f in hub.frame_log])

    app.router.add_post("/control/broadcast", broadcast)
    app.router.add_post("/control/reset", reset)
    app.router.add_post("/control/outage", outage)
    app.router.add_get("/control/frames", frames)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pytabby.server", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="folder to serve (default: web/)")
    parser.add_argument("--control", action="store_true", help="enable the /control/ test hooks")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    app = build_app(args.root, control=args.control)
    url = f"http://{args.host}:{args.port}/"
    web.run_app(app, host=args.host, port=args.port, print=lambda _: print(f"pytabby demo: open {url} in several tabs", flush=True), access_log=None)


if __name__ == "__main__":
    main()
