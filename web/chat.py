# The chat demo: purrtabby's "Complete Example", in Python, on pytabby's SharedSocket.
import asyncio
import json
import time

from js import document, location, window
from pyodide.ffi import create_proxy
from pyodide.http import pyfetch

from pytabby import create_bus, create_shared_socket

# ========== Initialization ==========
ws_url = f"{'wss' if location.protocol == 'https:' else 'ws'}://{location.host}/ws"
sock = create_shared_socket(ws_url, key="chat-app")
presence = create_bus("chat-app-presence", tab_id=sock.tab_id)
other_tabs: set[str] = set()


def show(element_id: str, text: str, css_class: str = "") -> None:
    element = document.getElementById(element_id)
    element.textContent = text  # always text, never HTML: user input cannot inject markup
    if css_class:
        element.className = f"badge {css_class}"


# ========== Receive Server Messages (All Tabs) ==========
def handle_server_message(data):
    try:
        message = json.loads(data)
    except (TypeError, ValueError):
        return  # not our JSON: someone else's frame on the hub
    if not isinstance(message, dict) or message.get("type") != "chat":
        return
    item = document.createElement("li")
    item.textContent = f"{message.get('from', '?')}: {message.get('text', '')}"
    document.getElementById("messages").prepend(item)


sock.on_message(handle_server_message)


# ========== Role and connection state ==========
def refresh_badges(*_):
    show("tab-id", f"tab {sock.tab_id}")
    show("role", "leader" if sock.is_leader else "follower", "leader" if sock.is_leader else "")
    show("socket-state", f"socket {sock.state}", sock.state)


sock.on_state(refresh_badges)
sock.elector.on_all(refresh_badges)


# ========== Count tabs and server connections ==========
def on_presence(msg):
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


async def poll_server_connections():
    while True:
        try:
            stats = await (await pyfetch("/stats")).json()
            tabs = len(other_tabs) + 1
            connections = stats["connections"]
            show("connections", f"{tabs} tab{'s' * (tabs != 1)}, "
                                f"{connections} server connection{'s' * (connections != 1)}")
        except Exception as exc:  # the server may be restarting; try again next round
            show("connections", f"stats unavailable ({exc})")
        await asyncio.sleep(1)


stats_task = asyncio.ensure_future(poll_server_connections())


# ========== Send Messages to Server (All Tabs) ==========
def send_to_server(data):
    sock.send_json(data)  # queued and forwarded by the leader, whichever tab that is


def on_submit(event):
    event.preventDefault()
    field = document.getElementById("message-input")
    if field.value:
        send_to_server({"type": "chat", "text": field.value, "from": sock.tab_id, "timestamp": time.time()})
        field.value = ""


submit_proxy = create_proxy(on_submit)
document.getElementById("chat-form").addEventListener("submit", submit_proxy)


# ========== Cleanup ==========
def on_pagehide(event):
    presence.publish("bye")
    presence.close()
    sock.close()


pagehide_proxy = create_proxy(on_pagehide)
window.addEventListener("pagehide", pagehide_proxy)

for element_id in ("message-input", "send-btn"):
    document.getElementById(element_id).disabled = False
refresh_badges()
status = document.getElementById("status")
status.textContent = "Ready. Open more tabs of this page: they share one server connection."
status.className = "ready"
