"""Test hooks under ``/control/``, present only when the app has a control token.

``POST /control/broadcast`` (body to every ``/ws`` peer), ``POST /control/reset`` (counters and
frame log), ``POST /control/outage?seconds=S`` (close every peer with 1012 and refuse new ones
for S seconds), ``GET /control/frames`` (the frame log, newest last).
"""

from __future__ import annotations

import math

from aiohttp import web

from .guard import require_token
from .hub import Hub

MAX_OUTAGE_SECONDS = 3600.0


def add_control_routes(app: web.Application, hub: Hub, token: str) -> None:
    async def broadcast(request: web.Request) -> web.Response:
        body = await request.read()
        text = request.content_type.startswith("text/") or request.content_type == "application/json"
        hub.broadcast(body.decode() if text else body)
        return web.json_response(hub.stats())

    async def reset(request: web.Request) -> web.Response:
        hub.reset()
        return web.json_response(hub.stats())

    async def outage(request: web.Request) -> web.Response:
        try:
            seconds = float(request.query.get("seconds", "1"))
        except ValueError:
            seconds = math.nan
        if not 0 <= seconds <= MAX_OUTAGE_SECONDS:
            raise web.HTTPBadRequest(text=f"seconds must be a number from 0 to {MAX_OUTAGE_SECONDS:g}")
        await hub.outage(seconds)
        return web.json_response(hub.stats())

    async def frames(request: web.Request) -> web.Response:
        log = hub.frame_log
        assert log is not None  # a control token always comes with a frame log
        return web.json_response([f if isinstance(f, str) else {"binary": f.hex()} for f in log.frames])

    for method, path, handler in (
        ("POST", "/control/broadcast", broadcast),
        ("POST", "/control/reset", reset),
        ("POST", "/control/outage", outage),
        ("GET", "/control/frames", frames),
    ):
        app.router.add_route(method, path, require_token(token, handler))
