"""A client for the server's ``/stats`` and ``/control/*`` test hooks (``X-Pytabby-Token`` on each)."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.request import Request, urlopen

POLL_SECONDS = 0.05


def server_stats(base_url: str) -> dict[str, int]:
    """``GET /stats`` of the server at ``base_url``: connections, peak_connections, frames_received, ..."""
    with urlopen(f"{base_url}/stats") as response:
        stats: dict[str, int] = json.load(response)
        return stats


class Control:
    """The test hooks of the server at ``base_url``, authorised with ``token``."""

    def __init__(self, base_url: str, token: str | None) -> None:
        self.base_url = base_url
        self._token = token

    def stats(self) -> dict[str, int]:
        """The server's connection and frame counts (``GET /stats``)."""
        return server_stats(self.base_url)

    def broadcast(self, data: str | bytes) -> dict[str, int]:
        """Send ``data`` to every ``/ws`` client as one frame (text for str, binary for bytes)."""
        if isinstance(data, str):
            return self._stats("/control/broadcast", data.encode(), "text/plain")
        return self._stats("/control/broadcast", data, "application/octet-stream")

    def reset(self) -> dict[str, int]:
        """Zero the frame counts and the frame log; the peak becomes the current connection count."""
        return self._stats("/control/reset")

    def outage(self, seconds: float) -> dict[str, int]:
        """Drop every ``/ws`` connection (close code 1012) and refuse new ones for ``seconds``."""
        return self._stats(f"/control/outage?seconds={seconds}")

    def frames(self) -> list[Any]:
        """Every frame the server received since the last reset (binary ones as ``{"binary": hex}``)."""
        frames: list[Any] = self._call("GET", "/control/frames")
        return frames

    def wait_for_connections(self, count: int, timeout: float = 10.0) -> None:
        """Wait until the server counts exactly ``count`` open ``/ws`` connections (a closed tab's
        connection ends a moment after the tab); ``AssertionError`` with the last count after ``timeout``."""
        deadline = time.monotonic() + timeout
        while (connections := self.stats()["connections"]) != count:
            if time.monotonic() > deadline:
                raise AssertionError(f"the server has {connections} connections, not {count}, after {timeout:g} s")
            time.sleep(POLL_SECONDS)

    def _stats(self, path: str, body: bytes = b"", content_type: str = "text/plain") -> dict[str, int]:
        stats: dict[str, int] = self._call("POST", path, body, content_type)
        return stats

    def _call(self, method: str, path: str, body: bytes = b"", content_type: str = "text/plain") -> Any:
        headers = {"Content-Type": content_type}
        if self._token is not None:
            headers["X-Pytabby-Token"] = self._token
        request = Request(f"{self.base_url}{path}", data=body if method == "POST" else None, headers=headers,
                          method=method)
        with urlopen(request) as response:
            return json.load(response)
