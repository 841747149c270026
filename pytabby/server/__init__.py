"""pytabby's server (host side, needs aiohttp): a user's app folder, Pyodide and a WebSocket hub.

``python -m pytabby.server --root APP [--dist DIR] [--control]`` serves ``APP``, with ``/dist/``
from a Pyodide folder (``DIR``, else ``APP/dist``; make one with ``python -m pytabby dist``).
``/ws`` relays every frame to every client and answers requests; ``/ws/ticks`` adds a tick
stream; ``GET /stats`` counts connections and frames; ``/control/*`` (with ``--control``)
holds test hooks behind a per-run token. Only loopback names are accepted in Host and Origin
unless ``--allow-host`` adds more. SIGTERM/SIGINT close every WebSocket with 1001 and exit.

    from pytabby.server import build_app
    app = build_app(Path("app"), dist=Path("app/dist"), control_token="secret")
"""

from .app import build_app
from .cli import main
from .files import NoPyodideError, find_dist
from .guard import LOOPBACK_HOSTS, TOKEN_HEADER

__all__ = ["LOOPBACK_HOSTS", "TOKEN_HEADER", "NoPyodideError", "build_app", "find_dist", "main"]
