"""The WebSocket hubs: ``/ws`` relays every frame to every peer, the sender included.

Requests (``{"request_id", "op"}``) are answered on their own connection instead of relayed;
a frame carrying ``"confirm_id"`` is relayed and then confirmed to its sender with
``{"confirmed": id}``. ``/ws/ticks`` is a second hub that also pushes a tick
(``{"type": "tick", "seq", "t", "value"}``) every half second, for the dashboard demo.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from collections import deque
from dataclasses import dataclass
from typing import TextIO

from aiohttp import WSMsgType, web

from .client import Client, frame_cost
from pytabby._core.requests import answer, confirm_id_of, confirmation, parse_request

TICK_SECONDS = 0.5
GOING_AWAY = 1001
OUTAGE_CODE = 1012  # "service restart"


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds shared by every connection of one app."""

    max_connections: int
    send_queue_bytes: int
    heartbeat: float | None
    max_frame_bytes: int


class ConnectionGate:
    """Counts WebSocket connections across the hubs; past ``limit`` a handshake gets 503."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0
        self.refused = 0


class FrameLog:
    """The frames received most recently, at most ``max_bytes`` of memory (oldest dropped first)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.frames: deque[str | bytes] = deque()
        self.size = 0
        self.dropped = 0

    def append(self, data: str | bytes) -> None:
        cost = frame_cost(data)
        if cost > self.max_bytes:
            self.dropped += 1
            return
        while self.size + cost > self.max_bytes:
            self.size -= frame_cost(self.frames.popleft())
            self.dropped += 1
        self.frames.append(data)
        self.size += cost

    def clear(self) -> None:
        self.frames.clear()
        self.size = 0


class Hub:
    def __init__(self, limits: Limits, gate: ConnectionGate, frame_log: FrameLog | None = None,
                 receipts: TextIO | None = None) -> None:
        self.limits = limits
        self.gate = gate
        self.frame_log = frame_log
        self.receipts = receipts
        self.clients: set[Client] = set()
        self.peak = 0
        self.frames_received = 0
        self.frames_sent = 0
        self.overflow_closes = 0
        self.outage_until = 0.0
        self.stopping = False

    def stats(self) -> dict[str, int]:
        return {
            "connections": len(self.clients),
            "peak_connections": self.peak,
            "frames_received": self.frames_received,
            "frames_sent": self.frames_sent,
            "overflow_closes": self.overflow_closes,
            "pending_delays": sum(client.pending_replies for client in self.clients),
        }

    def reset(self) -> None:
        self.peak = len(self.clients)
        self.frames_received = self.frames_sent = self.overflow_closes = 0
        if self.frame_log is not None:
            self.frame_log.clear()

    def broadcast(self, data: str | bytes) -> None:
        """Queue ``data`` for every peer; never waits (a peer that cannot keep up is closed)."""
        for client in list(self.clients):
            client.offer(data)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self.stopping or time.monotonic() < self.outage_until:
            raise web.HTTPServiceUnavailable(text="the server is stopping or in a simulated outage")
        if self.gate.open >= self.gate.limit:
            self.gate.refused += 1
            raise web.HTTPServiceUnavailable(text=f"connection limit reached ({self.gate.limit})")
        self.gate.open += 1
        try:
            return await self._serve(request)
        finally:
            self.gate.open -= 1

    async def _serve(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(
            protocols=_offered_protocols(request), heartbeat=self.limits.heartbeat,
            max_msg_size=self.limits.max_frame_bytes,
        )
        await ws.prepare(request)
        client = Client(ws, request.transport, queue_bytes=self.limits.send_queue_bytes, on_sent=self._count_sent)
        self.clients.add(client)
        self.peak = max(self.peak, len(self.clients))
        try:
            async for frame in ws:
                if frame.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    self._on_frame(client, frame.data)
        finally:
            self.clients.discard(client)
            self.overflow_closes += client.overflowed
            client.stop()
        return ws

    def _count_sent(self) -> None:
        self.frames_sent += 1

    def _on_frame(self, client: Client, data: str | bytes) -> None:
        self.frames_received += 1
        if self.receipts is not None:
            self.receipts.write(json.dumps(data if isinstance(data, str) else {"binary": data.hex()}) + "\n")
            self.receipts.flush()
        if self.frame_log is not None:
            self.frame_log.append(data)
        request = parse_request(data)
        if request is None:
            self.broadcast(data)
            confirm_id = confirm_id_of(data)
            if confirm_id is not None:
                client.offer(confirmation(confirm_id))
            return
        reply = answer(request)
        if reply.text is None:
            return
        if reply.delay <= 0:
            client.offer(reply.text)
        elif not client.reply_later(reply.delay, reply.text):
            busy = {"request_id": request.request_id, "error": "too many delayed requests pending on this connection"}
            client.offer(json.dumps(busy))

    async def close_all(self, code: int, reason: str, *, flush_within: float) -> None:
        """Close every peer (queued frames first, for up to ``flush_within`` s); bounded in time."""
        await asyncio.gather(*(c.close(code, reason, flush_within=flush_within) for c in list(self.clients)))

    async def outage(self, seconds: float) -> None:
        self.outage_until = time.monotonic() + seconds
        await self.close_all(OUTAGE_CODE, "simulated outage", flush_within=0)


async def tick_forever(hub: Hub) -> None:
    """A random walk, one tick per TICK_SECONDS, to every client of ``hub``."""
    value = 50.0
    for seq in itertools.count(1):
        value = min(100.0, max(0.0, value + random.uniform(-5, 5)))
        if hub.clients:
            hub.broadcast(json.dumps({"type": "tick", "seq": seq, "t": time.time() * 1000, "value": round(value, 2)}))
        await asyncio.sleep(TICK_SECONDS)


def _offered_protocols(request: web.Request) -> tuple[str, ...]:
    header = request.headers.get("Sec-WebSocket-Protocol", "")
    return tuple(p.strip() for p in header.split(",") if p.strip())
