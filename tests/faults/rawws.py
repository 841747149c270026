"""A WebSocket client on a bare TCP stream, for clients no library would be: ones that never
read, never answer pings, or send a forged Host."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import struct
from collections.abc import AsyncIterator

CLOSE = 0x8
PING = 0x9


@contextlib.asynccontextmanager
async def upgraded(
    port: int, path: str = "/ws", *, host: str | None = None, origin: str | None = None
) -> AsyncIterator[tuple[int, asyncio.StreamReader]]:
    """Open ``path`` by hand; yields the HTTP status and the stream (upgraded when 101), closed on exit."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        lines = [
            f"GET {path} HTTP/1.1", f"Host: {host or f'127.0.0.1:{port}'}", "Upgrade: websocket",
            "Connection: Upgrade", f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}",
            "Sec-WebSocket-Version: 13",
        ]
        if origin is not None:
            lines.append(f"Origin: {origin}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = await reader.readuntil(b"\r\n\r\n")
        yield int(head.split()[1]), reader
    finally:
        await _close(writer)


async def upgrade_status(port: int, **headers: str | None) -> int:
    """Status of a hand-made WebSocket handshake (``host``, ``origin`` as for ``upgraded``)."""
    async with upgraded(port, **headers) as (status, _):
        return status


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):  # the server may have gone first
        await writer.wait_closed()


async def http_status(port: int, target: str, **headers: str) -> int:
    """Status of ``GET target`` sent byte for byte as given (no client-side normalising)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    fields = {"Host": f"127.0.0.1:{port}", "Connection": "close", **headers}
    writer.write((f"GET {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n").encode())
    head = await reader.readuntil(b"\r\n\r\n")
    await _close(writer)
    return int(head.split()[1])


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One server frame (servers do not mask): ``(opcode, payload)``."""
    first, second = await reader.readexactly(2)
    length = second & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", await reader.readexactly(2))
    elif length == 127:
        (length,) = struct.unpack("!Q", await reader.readexactly(8))
    return first & 0x0F, await reader.readexactly(length)


def close_code(payload: bytes) -> int:
    return int(struct.unpack("!H", payload[:2])[0])
