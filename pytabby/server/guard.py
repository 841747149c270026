"""Who may talk to the server: a Host allow-list, Origin checked against it, the control token.

The Host check defeats DNS rebinding (a page on ``evil.test`` resolved to 127.0.0.1 still sends
``Host: evil.test``); the Origin check keeps other sites' pages out of the hub. Names are
compared without ports, so ``localhost`` and ``127.0.0.1`` on any port are one trusted site.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Middleware

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
TOKEN_HEADER = "X-Pytabby-Token"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def host_name(value: str) -> str | None:
    """``"[::1]:8000"`` -> ``"::1"``; ``"LocalHost"`` -> ``"localhost"``; None when unparsable."""
    try:
        return urlsplit(f"//{value}").hostname
    except ValueError:
        return None


def origin_host(origin: str) -> str | None:
    """The host name of an http(s) Origin header; None for ``null`` and other schemes."""
    try:
        parts = urlsplit(origin)
    except ValueError:
        return None
    return parts.hostname if parts.scheme in ("http", "https") else None


def host_guard(allowed: Iterable[str]) -> Middleware:
    """Middleware: 403 unless Host (and Origin, when sent) name an allowed host."""
    names = frozenset(name.strip("[]").lower() for name in allowed)

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        host = request.headers.get("Host", "")
        if host_name(host) not in names:
            raise web.HTTPForbidden(text=f"host {host!r} is not allowed (start the server with --allow-host NAME)")
        origin = request.headers.get("Origin")
        if origin is not None and origin_host(origin) not in names:
            raise web.HTTPForbidden(text=f"origin {origin!r} is not allowed")
        return await handler(request)

    return guard


def require_token(token: str, handler: Handler) -> Handler:
    """``handler`` behind the per-run token: 403 unless the request carries it in X-Pytabby-Token."""
    expected = token.encode()

    async def checked(request: web.Request) -> web.StreamResponse:
        given = request.headers.get(TOKEN_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            raise web.HTTPForbidden(text=f"/control/ needs the run's token in the {TOKEN_HEADER} header")
        return await handler(request)

    return checked
