"""pytabby unchanged in a plain Pyodide Web Worker (installed by the boot script's ``installPytabby``), sharing bus,
election and socket with a main-thread tab."""

from __future__ import annotations

import json

from pytabby.pytest import run_py, wait_py


def in_worker(page, code: str):
    return page.evaluate("(code) => window.runInWorker(code)", code)


def wait_worker(page, condition: str) -> None:
    page.wait_for("""async (condition) => (await window.runInWorker(condition)) === true""", f"bool({condition})",
                  interval=0.05)


SETUP = """
import js
from pytabby import create_bus, create_leader_elector, create_shared_socket
bus = create_bus(NAME)
heard = []
bus.subscribe("hi", lambda msg: heard.append(msg.tab_id))
elector = create_leader_elector(NAME + "-lead").start()
sock = create_shared_socket(f"ws://{js.location.host}/ws", key=NAME)
frames = []
sock.on_message(frames.append)
bus.tab_id
"""


def test_a_worker_and_a_main_thread_tab_share_bus_election_and_socket(tabs, open_page, pytabby_control, name):
    (main,) = tabs(1)
    worker_page = open_page("/worker-example.html")
    try:
        worker_page.wait_for("() => window.workerReady !== undefined", timeout=120)  # WebKit: over 20 s under load
        worker_page.evaluate("() => window.workerReady")
        # Installed by the boot script's installPytabby: Pyodide's installer never started there.
        assert in_worker(worker_page, "import sys; 'tarfile' in sys.modules or 'importlib.metadata' in sys.modules") is False
        setup = SETUP.replace("NAME", repr(name))
        main_id = run_py(main, setup)
        worker_id = in_worker(worker_page, setup)
        # The bus: each hears the other.
        run_py(main, "bus.publish('hi')")
        in_worker(worker_page, "bus.publish('hi')")
        wait_py(main, f"{worker_id!r} in heard")
        wait_worker(worker_page, f"{main_id!r} in heard")
        # One election across both, one server connection.
        wait_py(main, "elector.leader_id is not None and sock.state == 'open'")
        wait_worker(worker_page, "elector.leader_id is not None and sock.state == 'open'")
        leaders = [run_py(main, "elector.is_leader"), in_worker(worker_page, "elector.is_leader")]
        assert sorted(leaders) == [False, True]
        assert run_py(main, "elector.leader_id") == in_worker(worker_page, "elector.leader_id")
        # A frame sent from the worker reaches both through the one socket.
        in_worker(worker_page, f"sock.send({json.dumps('from the worker ' + name)})")
        wait_py(main, f"'from the worker {name}' in frames")
        wait_worker(worker_page, f"'from the worker {name}' in frames")
        pytabby_control.wait_for_connections(1)
        # The main-thread tab takes both roles, then closes: the worker takes both over.
        run_py(main, "elector.steal(); sock.elector.steal()")
        wait_py(main, "elector.is_leader and sock.is_leader and sock.state == 'open'")
        ids = run_py(main, "[elector.tab_id, sock.elector.tab_id]")
        wait_worker(worker_page, f"[elector.leader_id, sock.elector.leader_id] == {ids!r}")
        main.close()
        wait_worker(worker_page, "elector.is_leader and sock.is_leader and sock.state == 'open'")
        pytabby_control.wait_for_connections(1)  # the worker's, and no other
    finally:
        worker_page.close()


def test_a_pyscript_worker_shares_bus_election_and_socket_with_a_main_thread_tab(tabs, open_page):
    (main,) = tabs(1)
    run_py(main, """
import js
from pytabby import create_bus, create_leader_elector, create_shared_socket
demo_bus = create_bus("pyscript-worker-demo")
worker_states = []
worker_frames = []
demo_bus.subscribe("worker-state", lambda msg: worker_states.append(msg.payload))
demo_bus.subscribe("worker-frame", lambda msg: worker_frames.append(msg.payload))
demo_elector = create_leader_elector("pyscript-worker-demo").start()
demo_sock = create_shared_socket(f"ws://{js.location.host}/ws", key="pyscript-worker-demo")
""")
    worker_page = open_page("/pyscript-worker.html")
    try:
        wait_py(main, "worker_states and worker_states[-1]['socket'] == 'open' and worker_states[-1]['leader_id']",
                timeout=120)
        run_py(main, "demo_bus.publish('ask')")
        wait_py(main, "demo_sock.state == 'open' and demo_elector.leader_id is not None")
        state = run_py(main, "worker_states[-1]")
        # The boot line installed pytabby in the worker (no `packages`, so no micropip), and the
        # page, whose Python all runs in the worker, reports ready with no Pyodide of its own.
        assert state["micropip"] is False
        worker_page.wait_for("() => window.pytabbyBoot?.stage === 'ready'")
        assert worker_page.evaluate("async () => [await window.pytabbyReady, window.pyodide]") == [None, None]
        assert state["leader_id"] == run_py(main, "demo_elector.leader_id")
        assert state["leader"] != run_py(main, "demo_elector.is_leader")  # exactly one of the two leads
        run_py(main, "demo_sock.send('hello worker')")
        wait_py(main, "'hello worker' in worker_frames")
    finally:
        worker_page.close()
