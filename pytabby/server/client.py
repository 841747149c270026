"""One WebSocket peer of a hub, with a bounded send queue drained by a writer task of its own.

A broadcast only appends to each peer's queue, so no peer can make the hub wait. A peer whose
queue would pass its byte bound (it does not read, or reads too slowly) is closed with 1013:
it sees the close, so nothing it misses is missed silently. Delayed replies run as tasks of
the peer, capped in number, and are cancelled when it leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections import deque
from collections.abc import Callable

from aiohttp import web

CLOSE_WAIT_SECONDS = 1.0  # how long a close waits for the peer's own close frame
# A peer that never reads must not hold its socket open forever while its close frame waits to be read.
ABORT_GRACE_SECONDS = 5.0
OVERFLOW_CODE = 1013  # "try again later": the peer fell behind by more than its queue holds
MAX_PENDING_REPLIES = 64


def frame_cost(data: str | bytes) -> int:
    """Memory a queued frame holds, in bytes (the object, not just its payload)."""
    return sys.getsizeof(data)


class Client:
    """A connected peer: ``offer`` never waits; the writer task does the sending."""

    def __init__(
        self, ws: web.WebSocketResponse, transport: asyncio.Transport | None, *, queue_bytes: int,
        on_sent: Callable[[], None],
    ) -> None:
        self.ws = ws
        self._transport = transport
        self._queue_bytes = queue_bytes
        self._on_sent = on_sent
        self._queue: deque[str | bytes] = deque()
        self._queued = 0
        self._wakeup = asyncio.Event()
        self._closing = False  # once set, nothing more is queued; the writer empties the queue, then stops
        self._writer = asyncio.create_task(self._write_forever())
        self._replies: set[asyncio.Task[None]] = set()
        self._overflow_close: asyncio.Task[None] | None = None  # held so the task is not garbage-collected
        self.pending_replies = 0
        self.overflowed = False

    def offer(self, data: str | bytes) -> None:
        """Queue ``data`` for this peer; a peer whose queue is full is closed with 1013 instead."""
        if self.ws.closed or self._closing:
            return
        cost = frame_cost(data)
        if self._queued + cost > self._queue_bytes:
            self.overflowed = self._closing = True
            self._overflow_close = asyncio.create_task(
                self._shut(OVERFLOW_CODE, "send queue full: the client does not keep up", flush_within=0)
            )
            return
        self._queue.append(data)
        self._queued += cost
        self._wakeup.set()

    def reply_later(self, seconds: float, text: str) -> bool:
        """Send ``text`` after ``seconds`` without holding up this peer's reader; False when too many wait."""
        if self.pending_replies >= MAX_PENDING_REPLIES:
            return False
        self.pending_replies += 1

        async def later() -> None:
            try:
                await asyncio.sleep(seconds)
                self.offer(text)
            finally:
                self.pending_replies -= 1

        task = asyncio.create_task(later())
        self._replies.add(task)
        task.add_done_callback(self._replies.discard)
        return True

    async def _write_forever(self) -> None:
        while True:
            while not self._queue:
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
            data = self._queue.popleft()
            self._queued -= frame_cost(data)
            try:
                if isinstance(data, str):
                    await self.ws.send_str(data)
                else:
                    await self.ws.send_bytes(data)
            except (ConnectionError, RuntimeError):  # the peer went away mid-send
                return
            self._on_sent()

    async def close(self, code: int, reason: str, *, flush_within: float) -> None:
        """Send what is queued (for up to ``flush_within`` s), then close with ``code``.

        Bounded: waits at most ``flush_within`` + CLOSE_WAIT_SECONDS; a peer that never reads
        loses its transport ABORT_GRACE_SECONDS later.
        """
        if self._closing:
            return
        self._closing = True
        await self._shut(code, reason, flush_within=flush_within)

    async def _shut(self, code: int, reason: str, *, flush_within: float) -> None:
        self._wakeup.set()
        if flush_within > 0:
            await asyncio.wait({self._writer}, timeout=flush_within)
        self._writer.cancel()
        self._queue.clear()
        if self._transport is not None:
            asyncio.get_running_loop().call_later(ABORT_GRACE_SECONDS, self._transport.abort)
        # The close frame is written at once, even behind a full socket buffer; on a timeout aiohttp
        # closes the transport, which still flushes it (until the abort above).
        with contextlib.suppress(TimeoutError, ConnectionError):
            await asyncio.wait_for(self.ws.close(code=code, message=reason.encode(), drain=False), CLOSE_WAIT_SECONDS)

    def stop(self) -> None:
        """The peer is gone: cancel its writer and its delayed replies."""
        self._closing = True
        self._writer.cancel()
        for task in list(self._replies):
            task.cancel()
