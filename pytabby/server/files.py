"""Static files: the user's folder, ``/dist/`` from a Pyodide folder, pytabby's own pages as fallback.

Every folder is resolved once (so a symlinked folder works) and each path is confined to it
after resolving. Dotfiles, NUL bytes and paths leaving the folder are 404s.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

PACKAGE_STATIC = Path(__file__).resolve().parent.parent / "static"
MAKE_ONE = "make one with: python -m pytabby dist OUT --pyodide node_modules/pyodide"
PYODIDE_MARKER = "pyodide.mjs"


class NoPyodideError(Exception):
    """No Pyodide folder to serve as ``/dist/``; the message is one line saying what was looked for."""


def find_dist(root: Path, dist: Path | None) -> Path:
    """The Pyodide folder to serve as ``/dist/``: ``dist`` if given, else ``root/dist``; resolved.

    Raises ``NoPyodideError`` when the folder holds no ``pyodide.mjs``.
    """
    candidate = dist if dist is not None else root / "dist"
    if (candidate / PYODIDE_MARKER).is_file():
        return candidate.resolve()
    hint = "" if dist is not None else " (or pass --dist DIR)"
    raise NoPyodideError(f"no Pyodide folder: {candidate / PYODIDE_MARKER} not found{hint}; {MAKE_ONE}")


def pages_to_open(root: Path) -> list[str]:
    """The paths the server names when it starts: ``/`` if ``root`` has an ``index.html``, else its
    top-level pages (pytabby's playground if it has none), as ``/`` alone would be a 404."""
    if (root / "index.html").is_file():
        return ["/"]
    pages = sorted(path.name for path in root.glob("*.html") if not path.name.startswith("."))
    return [f"/{name}" for name in pages] or ["/playground.html"]


def file_in(base: Path, relative: str) -> Path | None:
    """The file ``relative`` names inside the resolved folder ``base``, or None."""
    parts = relative.split("/")
    if "\x00" in relative or any(part.startswith(".") for part in parts):
        return None
    try:
        candidate = base.joinpath(*parts).resolve()
    except (OSError, ValueError):
        return None
    return candidate if candidate.is_relative_to(base) and candidate.is_file() else None


def add_static_routes(app: web.Application, root: Path, dist: Path) -> None:
    """``/dist/...`` from ``dist``; everything else from ``root``, then pytabby's own pages."""
    root = root.resolve()

    async def from_dist(request: web.Request) -> web.FileResponse:
        found = file_in(dist, request.match_info["path"])
        if found is None:
            raise web.HTTPNotFound()
        return web.FileResponse(found)

    async def from_root(request: web.Request) -> web.StreamResponse:
        relative = request.match_info["path"] or "index.html"
        found = file_in(root, relative) or file_in(PACKAGE_STATIC, relative)
        if found is None:
            if relative == "favicon.ico":  # every page asks; a 404 would be an error line in each tab's console
                return web.Response(status=204)
            raise web.HTTPNotFound()
        return web.FileResponse(found)

    app.router.add_get("/dist/{path:.*}", from_dist)
    app.router.add_get("/{path:.*}", from_root)
