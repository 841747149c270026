# The dashboard demo: the server's tick stream, received once per browser and plotted in every tab.
import asyncio
import json
from collections import deque

from js import document, location
from pyodide.http import pyfetch

from pytabby import create_shared_socket

WIDTH, HEIGHT, POINTS = 640, 200, 60

ticks = create_shared_socket(f"{'wss' if location.protocol == 'https:' else 'ws'}://{location.host}/ws/ticks",
                             key="dashboard")
values: deque[float] = deque(maxlen=POINTS)
seen_ticks: list[int] = []  # tick numbers in arrival order (the tests read it)


def on_tick(data):
    try:
        tick = json.loads(data)
    except (TypeError, ValueError):
        return
    if not isinstance(tick, dict) or tick.get("type") != "tick":
        return
    seen_ticks.append(tick["seq"])
    values.append(float(tick["value"]))
    step = WIDTH / (POINTS - 1)
    points = " ".join(f"{i * step:.1f},{HEIGHT - v / 100 * HEIGHT:.1f}" for i, v in enumerate(values))
    document.getElementById("line").setAttribute("points", points)
    document.getElementById("last-tick").textContent = f"tick {tick['seq']}: {tick['value']}"


def show_role(*_):
    role = document.getElementById("role")
    role.textContent = "leader" if ticks.is_leader else "follower"
    role.className = "badge leader" if ticks.is_leader else "badge"
    state = document.getElementById("socket-state")
    state.textContent = f"socket {ticks.state}"
    state.className = f"badge {ticks.state}"


async def poll_connections():
    while True:
        try:
            stats = await (await pyfetch("/stats")).json()
            count = stats["ticks_connections"]
            document.getElementById("connections").textContent = (
                f"{count} server connection{'s' * (count != 1)}")
        except Exception as exc:  # the server may be restarting; try again next round
            document.getElementById("connections").textContent = f"stats unavailable ({exc})"
        await asyncio.sleep(1)


ticks.on_message(on_tick)
ticks.on_state(show_role)
ticks.elector.on_all(show_role)
poller = asyncio.ensure_future(poll_connections())
show_role()
status = document.getElementById("status")
status.textContent = "Ready. Open more tabs: they plot the same ticks from one connection."
status.className = "ready"
