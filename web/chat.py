"""The chat demo: purrtabby's "Complete Example", in Python, on pytabby's SharedSocket."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from js import document

from demo_common import PageLife, plural, poll_stats, ready, show, show_role, ws_url
from pytabby import JSONTooDeepError, create_bus, create_shared_socket, safe_loads

# ========== Initialization ==========
page = PageLife()
sock = create_shared_socket(ws_url("/ws"), key="chat-app")
presence = create_bus("chat-app-presence", tab_id=sock.tab_id)
other_tabs: set[str] = set()


# ========== Receive Server Messages (All Tabs) ==========
def handle_server_message(data: str | bytes) -> None:
    try:
        message = safe_loads(data)  # bounded: a hostile, deeply nested frame cannot crash the tab
    except (JSONTooDeepError, UnicodeDecodeError, ValueError):
        return  # not our JSON: someone else's frame on the hub
    if not isinstance(message, dict) or message.get("type") != "chat":
        return
    item = document.createElement("li")
    item.textContent = f"{message.get('from', '?')}: {message.get('text', '')}"
    document.getElementById("messages").prepend(item)


sock.on_message(handle_server_message)


# ========== Role and connection state ==========
def refresh_badges(*_: Any) -> None:
    show("tab-id", f"tab {sock.tab_id}")
    show_role(sock)


sock.on_state(refresh_badges)
sock.elector.on_all(refresh_badges)


# ========== Count tabs and server connections ==========
def on_presence(msg: Any) -> None:
    if msg.tab_id == sock.tab_id:
        return
    if msg.type == "bye":
        other_tabs.discard(msg.tab_id)
    elif msg.tab_id not in other_tabs:
        other_tabs.add(msg.tab_id)
        if msg.type == "hello":
            presence.publish("here")


presence.subscribe_all(on_presence)
presence.publish("hello")
stats_task = asyncio.ensure_future(poll_stats(
    lambda stats: f"{plural(len(other_tabs) + 1, 'tab')}, {plural(stats['connections'], 'server connection')}"))


# ========== Send Messages to Server (All Tabs) ==========
def send_to_server(data: dict[str, Any]) -> None:
    sock.send_json(data)  # queued and forwarded by the leader, whichever tab that is


def on_submit(event: Any) -> None:
    event.preventDefault()
    field = document.getElementById("message-input")
    if field.value:
        send_to_server({"type": "chat", "text": field.value, "from": sock.tab_id, "timestamp": time.time()})
        field.value = ""


page.listen(document.getElementById("chat-form"), "submit", on_submit)


# ========== Cleanup (a real close, not the back/forward cache) ==========
def leave() -> None:
    stats_task.cancel()
    presence.publish("bye")
    presence.close()
    sock.close()


page.on_close(leave)

for element_id in ("message-input", "send-btn"):
    document.getElementById(element_id).disabled = False
refresh_badges()
ready("Ready. Open more tabs of this page: they share one server connection.")
