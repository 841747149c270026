"""The server tier: the real aiohttp app on a loopback port, inside the test's own event loop."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from pytabby.server import build_app

TOKEN = "test-token"


@pytest.fixture
def app_folder(tmp_path: Path) -> Path:
    """A user's folder with a page, a dotfile and a stand-in Pyodide folder in ``dist/``."""
    (tmp_path / "index.html").write_text("my app")
    (tmp_path / ".env").write_text("SECRET=1")
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "pyodide.mjs").write_text("export const loadPyodide = 1;")
    (dist / "pyodide.asm.wasm").write_bytes(b"\0asm")
    return tmp_path


@contextlib.asynccontextmanager
async def serving(root: Path, **options: Any) -> AsyncIterator[str]:
    """Base URL of ``build_app(root, **options)`` served on 127.0.0.1 (``dist`` defaults to root/dist)."""
    options.setdefault("dist", None)
    server = TestServer(build_app(root, **options), host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()
