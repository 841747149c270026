"""The dashboard demo: the server's tick stream, received once per browser and plotted in every tab."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from js import document

from demo_common import PageLife, plural, poll_stats, ready, show, show_role, ws_url
from pytabby import JSONTooDeepError, create_shared_socket, safe_loads

WIDTH, HEIGHT, POINTS = 640, 200, 60

page = PageLife()
ticks = create_shared_socket(ws_url("/ws/ticks"), key="dashboard")
values: deque[float] = deque(maxlen=POINTS)


def on_tick(data: str | bytes) -> None:
    try:
        tick = safe_loads(data)
    except (JSONTooDeepError, UnicodeDecodeError, ValueError):
        return
    if not isinstance(tick, dict) or tick.get("type") != "tick":
        return
    values.append(float(tick["value"]))
    step = WIDTH / (POINTS - 1)
    points = " ".join(f"{i * step:.1f},{HEIGHT - v / 100 * HEIGHT:.1f}" for i, v in enumerate(values))
    document.getElementById("line").setAttribute("points", points)
    show("last-tick", f"tick {tick['seq']}: {tick['value']}")


def refresh_badges(*_: Any) -> None:
    show_role(ticks)


ticks.on_message(on_tick)
ticks.on_state(refresh_badges)
ticks.elector.on_all(refresh_badges)
poller = asyncio.ensure_future(poll_stats(lambda stats: plural(stats["ticks_connections"], "server connection")))


def leave() -> None:
    poller.cancel()
    ticks.close()


page.on_close(leave)
refresh_badges()
ready("Ready. Open more tabs: they plot the same ticks from one connection.")
