"""``Recorder``: a WebSocket client of the hub that keeps every text frame relayed to it."""

from __future__ import annotations

import asyncio
import threading

import aiohttp


class Recorder:
    """A WebSocket client of our own on the hub: every text frame it is relayed, across server restarts."""

    def __init__(self, url: str) -> None:
        self.url, self.frames, self.connected = url, [], threading.Event()
        self.disconnected = threading.Event()  # set once a connection's last frame has been kept
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self._thread.start()

    async def _run(self) -> None:
        async with aiohttp.ClientSession() as session:
            while not self._stop.is_set():
                try:
                    async with session.ws_connect(self.url, heartbeat=1.0) as ws:
                        self.disconnected.clear()
                        self.connected.set()
                        async for message in ws:
                            if message.type == aiohttp.WSMsgType.TEXT:
                                self.frames.append(message.data)
                except aiohttp.ClientError:
                    pass
                self.connected.clear()
                self.disconnected.set()
                await asyncio.sleep(0.05)

    def close(self) -> None:
        self._stop.set()
