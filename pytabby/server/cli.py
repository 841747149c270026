"""``python -m pytabby.server``: serve a folder, stop cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import signal
import sys
from pathlib import Path

from aiohttp import web

from .app import build_app
from .files import NoPyodideError, pages_to_open
from .guard import LOOPBACK_HOSTS, TOKEN_HEADER

# Handlers still running after every peer got its 1001 are cancelled after this.
HANDLER_GRACE_SECONDS = 0.5
NO_PYODIDE_EXIT = 2
MORE_PAGES_NAMED = 4  # beyond the first page


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pytabby.server", description="Serve an app folder with Pyodide and pytabby's WebSocket hub."
    )
    parser.add_argument("--root", type=Path, default=Path("."), help="folder to serve (default: the current one)")
    parser.add_argument("--dist", type=Path, help="Pyodide folder served as /dist/ (default: ROOT/dist)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    parser.add_argument("--port", type=int, default=8000, help="port (0: any free one)")
    parser.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                        help="also accept this name in Host/Origin (default: localhost, 127.0.0.1, [::1])")
    parser.add_argument("--control", action="store_true",
                        help=f"enable the /control/ test hooks behind a fresh token (header {TOKEN_HEADER})")
    parser.add_argument("--max-connections", type=int, default=256, help="WebSockets at once; 503 past it")
    parser.add_argument("--heartbeat", type=float, default=15.0, help="seconds between WebSocket pings")
    parser.add_argument("--send-queue-bytes", type=int, default=8 << 20,
                        help="how far one client may fall behind before it is closed with 1013")
    parser.add_argument("--frame-log-bytes", type=int, default=32 << 20, help="bound of /control/frames")
    parser.add_argument("--receipt-log", type=Path,
                        help="append every received /ws frame to this file before relaying it (fault tests)")
    parser.add_argument("--cross-origin-isolated", action="store_true",
                        help="send COOP/COEP headers: SharedArrayBuffer and fine timers in every page")
    return parser.parse_args(argv)


def start_line(host: str, port: int, pages: list[str]) -> str:
    """What the server prints once it listens: the first page to open, and a few others."""
    first, *others = pages
    named = others[:MORE_PAGES_NAMED] + (["..."] if len(others) > MORE_PAGES_NAMED else [])
    also = f" (also {', '.join(named)})" if named else ""
    return f"pytabby server: open http://{host}:{port}{first} in several tabs{also}"


async def serve(app: web.Application, host: str, port: int, banner: list[str], pages: list[str]) -> None:
    """Run ``app`` until SIGTERM or SIGINT, then stop: peers get 1001 and the loop ends within ~2 s."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=HANDLER_GRACE_SECONDS)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    bound_port = runner.addresses[0][1]
    print(start_line(host, bound_port, pages), flush=True)
    for line in banner:
        print(line, flush=True)
    await stop.wait()
    print("pytabby server: stopping", flush=True)
    await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    token = secrets.token_urlsafe(24) if args.control else None
    try:
        app = build_app(
            args.root, dist=args.dist, control_token=token, allowed_hosts=LOOPBACK_HOSTS | set(args.allow_host),
            max_connections=args.max_connections, heartbeat=args.heartbeat or None,
            send_queue_bytes=args.send_queue_bytes, frame_log_bytes=args.frame_log_bytes,
            receipt_log=args.receipt_log, cross_origin_isolated=args.cross_origin_isolated,
        )
    except NoPyodideError as exc:
        print(f"pytabby server: {exc}", file=sys.stderr)
        sys.exit(NO_PYODIDE_EXIT)
    banner = [f"pytabby server: control token {token} (header {TOKEN_HEADER})"] if token else []
    try:
        asyncio.run(serve(app, args.host, args.port, banner, pages_to_open(args.root)))
    except OSError as exc:  # the port is taken, or the address is not ours
        print(f"pytabby server: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        sys.exit(1)
