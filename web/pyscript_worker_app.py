# Runs in a PyScript worker: no DOM here, so it reports its state on the bus for other tabs.
import sys

import js

from pytabby import create_bus, create_leader_elector, create_shared_socket

bus = create_bus("pyscript-worker-demo")
elector = create_leader_elector("pyscript-worker-demo").start()
sock = create_shared_socket(f"ws://{js.location.host}/ws", key="pyscript-worker-demo")


def report(*_):
    bus.publish("worker-state", {"tab": bus.tab_id, "leader": elector.is_leader,
                                 "leader_id": elector.leader_id, "socket": sock.state,
                                 "micropip": "micropip" in sys.modules})  # the page's boot line installed pytabby


elector.on_all(report)
sock.on_state(report)
bus.subscribe("ask", report)
sock.on_message(lambda data: bus.publish("worker-frame", data))
report()
