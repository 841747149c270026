"""Faults with real tabs (Chromium, real Pyodide) against the real server process of ``server_process``.

The pages come from the kit's session server; their SharedSocket talks to the subprocess
server on another loopback port (its allow-list takes loopback names on any port).
Times are wall-clock seconds: a tab stamps its state changes with ``Date.now()``.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from pytabby.pytest import Control, Unsupported, freeze, kill_leader, run_py, wait_for_leader, wait_py


pytestmark = [pytest.mark.faults, pytest.mark.browser]

# Short enough to measure quickly, long enough for a busy 2-core machine not to drop live links.
FAST_HEARTBEAT = "Heartbeat(interval=0.5, timeout=2.0)"
_keys = iter(range(10**6))
LIVENESS_TIMEOUT = 5.0  # LeaderElector's defaults, which SharedSocket uses
ELECTION_TICK = 1.0  # a follower checks liveness once per heartbeat_interval


def share(pages, server, key, options=""):
    """A SharedSocket ``socks[key]`` in each tab on the server process; states stamped in ``states[key]``."""
    url = f"ws://127.0.0.1:{server.port}/ws"
    for page in pages:
        run_py(page, f"""
import js, json, asyncio
from pytabby import create_shared_socket, Heartbeat
socks = globals().setdefault("socks", {{}})
inbox = globals().setdefault("inbox", {{}})
states = globals().setdefault("states", {{}})
sock = create_shared_socket({url!r}, key={key!r}{", " + options if options else ""})
socks[{key!r}], inbox[{key!r}], states[{key!r}] = sock, [], []
sock.on_message(inbox[{key!r}].append)
sock.on_state(lambda s, log=states[{key!r}]: log.append([s, js.Date.now() / 1000]))
""")
    for page in pages:
        wait_py(page, f"socks[{key!r}].state == 'open'", timeout=30)


def leader_and_followers(pages, key):
    chief = wait_for_leader(pages, f"socks[{key!r}].elector", timeout=30)
    return chief, [page for page in pages if page is not chief]


def first_state(page, key, state, after):
    """When the tab first entered ``state`` at or after wall time ``after`` (None if not yet)."""
    stamps = [t for s, t in run_py(page, f"states[{key!r}]") if s == state and t >= after]
    return stamps[0] if stamps else None


def numbered(frames, tabs):
    """``{tab id: [n, ...]}`` in arrival order, from JSON frames ``{"tab": id, "n": n}``."""
    seen = {tab: [] for tab in tabs}
    for frame in frames:
        if isinstance(frame, str) and frame.startswith('{"tab"'):
            data = json.loads(frame)
            if data.get("tab") in seen:
                seen[data["tab"]].append(data["n"])
    return seen


def lost_and_duplicates(seen, count, ordered=True):
    lost = duplicates = 0
    for tab, numbers in seen.items():
        lost += len(set(range(count)) - set(numbers))
        duplicates += len(numbers) - len(set(numbers))
        if ordered:
            assert sorted(set(numbers), key=numbers.index) == sorted(set(numbers)), f"{tab} out of order"
    return lost, duplicates


@pytest.fixture
def key():
    return f"fault-{next(_keys)}-{time.time_ns()}"


def test_sigstop_past_the_heartbeat_timeout_reconnects_and_flushes_in_order(tabs, server_process, figures, key):
    server = server_process()
    pages = tabs(3)
    share(pages, server, key, f"heartbeat={FAST_HEARTBEAT}")
    ids = [run_py(page, f"socks[{key!r}].tab_id") for page in pages]
    paused = time.time()
    server.pause()
    try:
        for page in pages:  # some sends go into the dead socket, the rest queue while reconnecting
            run_py(page, f"for n in range(10): socks[{key!r}].send(json.dumps({{'tab': socks[{key!r}].tab_id, 'n': n}}))")
        for page in pages:
            wait_py(page, f"socks[{key!r}].state == 'reconnecting'", timeout=10)
        detected = max(first_state(page, key, "reconnecting", paused) for page in pages) - paused
        for page in pages:
            run_py(page, f"for n in range(10, 20): socks[{key!r}].send(json.dumps({{'tab': socks[{key!r}].tab_id, 'n': n}}))")
    finally:
        resumed = time.time()
        server.resume()
    for page in pages:
        wait_py(page, f"socks[{key!r}].state == 'open' and socks[{key!r}].pending == 0", timeout=30)
    recovered = max(first_state(page, key, "open", resumed) for page in pages) - resumed
    lost, duplicates = lost_and_duplicates(numbered(Control(server.url, server.token).frames(), ids), 20)
    figures(detection_s=round(detected, 2), recovery_s=round(recovered, 2), lost=lost, duplicates=duplicates)
    assert detected <= 2.0 + 1.0
    assert lost == 0


def sigkill_and_restart(server, pages, until):
    """SIGKILL the server, start it again on its port, wait until every page's ``until`` holds; the
    kill's wall-clock time, which ``first_state`` figures count from."""
    killed = time.time()
    server.stop(signal.SIGKILL)
    server.restart()
    for page in pages:
        wait_py(page, until, timeout=30)
    return killed


def receipts_read(receipts: Path) -> list:
    """Every frame the server's ``--receipt-log`` recorded, across its lives, in the order read."""
    return [json.loads(line) for line in receipts.read_text().splitlines()]


def unread_bytes(port: int) -> int:
    """Bytes the kernel holds for the server on ``port`` that its process has not read (established
    sockets' ``rx_queue`` in ``/proc/net/tcp``)."""
    total = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, queues = fields[1], fields[3], fields[4]
            if int(local.rsplit(":", 1)[1], 16) == port and state == "01":
                total += int(queues.split(":")[1], 16)
    return total


def test_sends_a_stopped_server_never_read_arrive_after_it_is_killed_and_restarted(
        tabs, server_process, figures, key, tmp_path):
    """SIGSTOP, sends into the socket (they leave the tabs, the server's kernel holds them unread),
    SIGKILL, restart: nothing proved they arrived, so they go again on the new connection."""
    receipts = tmp_path / "received.jsonl"  # what both server lives read
    server = server_process("--receipt-log", str(receipts))
    pages = tabs(3)
    share(pages, server, key, f"heartbeat={FAST_HEARTBEAT}")
    ids = [run_py(page, f"socks[{key!r}].tab_id") for page in pages]
    server.pause()
    texts = [json.dumps({"tab": tab, "n": n}) for tab in ids for n in range(10)]
    for page in pages:
        run_py(page, f"for n in range(10): socks[{key!r}].send(json.dumps({{'tab': socks[{key!r}].tab_id, 'n': n}}))")
    deadline = time.monotonic() + 10
    while unread_bytes(server.port) < sum(map(len, texts)):
        assert time.monotonic() < deadline, f"the sends did not reach the stopped server's socket: {unread_bytes(server.port)}"
        time.sleep(0.02)  # a bounded poll of the kernel's queue
    unread = unread_bytes(server.port)
    killed = sigkill_and_restart(server, pages, f"socks[{key!r}].state == 'open' and socks[{key!r}].pending == 0")
    recovered = max(first_state(page, key, "open", killed) for page in pages) - killed
    lost, duplicates = lost_and_duplicates(numbered(receipts_read(receipts), ids), 10)
    figures(unread_at_kill_bytes=unread, recovery_s=round(recovered, 2), lost=lost, duplicates=duplicates)
    assert lost == 0


def test_confirmed_sends_survive_a_server_sigkill_restart_and_a_leader_kill(tabs, server_process, figures, key,
                                                                            tmp_path):
    receipts = tmp_path / "received.jsonl"  # what both server lives received, written before confirming
    server = server_process("--receipt-log", str(receipts))
    pages = tabs(4)
    share(pages, server, key, f"heartbeat={FAST_HEARTBEAT}")
    chief, followers = leader_and_followers(pages, key)
    ids = [run_py(page, f"socks[{key!r}].tab_id") for page in followers]
    for page in pages:
        run_py(page, f"""
confirmed = []
async def confirmed_burst():
    for n in range(100):
        await socks[{key!r}].send_confirmed({{'tab': socks[{key!r}].tab_id, 'n': n}})
        confirmed.append(n)
burst = asyncio.ensure_future(confirmed_burst())
""")
    wait_py(followers[0], "len(confirmed) >= 25", timeout=60)
    killed = sigkill_and_restart(server, pages, f"socks[{key!r}].state == 'open'")
    server_detected = max(first_state(page, key, "reconnecting", killed) for page in pages) - killed
    server_back = max(first_state(page, key, "open", killed) for page in pages) - killed
    wait_py(followers[0], "len(confirmed) >= 60", timeout=60)
    chief_id, chief_confirmed = run_py(chief, f"[socks[{key!r}].tab_id, list(confirmed)]")
    closed = time.time()
    assert kill_leader(pages, f"socks[{key!r}].elector")[0] is chief  # a server restart keeps the leader
    followers = [page for page in pages if page is not chief]
    for page in followers:
        wait_py(page, "burst.done() and len(confirmed) == 100", timeout=120)
    leader_back = max(first_state(page, key, "open", closed) for page in followers) - closed
    seen = numbered(receipts_read(receipts), [*ids, chief_id])
    chief_seen = set(seen.pop(chief_id))
    lost, duplicates = lost_and_duplicates(seen, 100, ordered=False)
    chief_lost = len(set(chief_confirmed) - chief_seen)  # what the closed leader saw confirmed
    figures(sigkill_detection_s=round(server_detected, 2), restart_recovery_s=round(server_back, 2),
            leader_kill_recovery_s=round(leader_back, 2), lost=lost + chief_lost, duplicates=duplicates,
            leader_confirmed_before_close=len(chief_confirmed))
    assert (lost, chief_lost) == (0, 0)


def test_sigterm_every_tab_sees_1001_within_1s_and_a_send_in_the_outage_arrives(tabs, server_process, figures, key):
    server = server_process()
    pages = tabs(3)
    for page in pages:  # the leader's browser WebSocket reports its close code here
        page.evaluate("""() => {
            window.closeCodes = [];
            const Base = window.WebSocket;
            window.WebSocket = class extends Base {
                constructor(...args) { super(...args); this.addEventListener("close", e => window.closeCodes.push(e.code)); }
            };
        }""")
    share(pages, server, key)
    chief, followers = leader_and_followers(pages, key)
    stopped = time.time()
    took = server.stop(signal.SIGTERM)
    for page in pages:
        wait_py(page, f"socks[{key!r}].state == 'reconnecting'", timeout=5)
    detected = max(first_state(page, key, "reconnecting", stopped) for page in pages) - stopped
    codes = chief.evaluate("() => window.closeCodes")
    # The open socket closes with 1001; reconnect attempts to the stopped port then fail with 1006.
    assert codes[0] == 1001 and set(codes[1:]) <= {1006}, codes
    run_py(followers[0], f"socks[{key!r}].send('sent during the outage')")
    restarted = time.time()
    server.restart()
    for page in pages:
        wait_py(page, f"socks[{key!r}].state == 'open' and socks[{key!r}].pending == 0", timeout=30)
    recovered = max(first_state(page, key, "open", restarted) for page in pages) - restarted
    arrived = Control(server.url, server.token).frames().count("sent during the outage")
    figures(exit_s=round(took, 2), detection_s=round(detected, 2), recovery_s=round(recovered, 2),
            lost=1 - min(arrived, 1), duplicates=max(arrived - 1, 0))
    assert detected <= 1.0
    assert arrived == 1


def start_bursts(followers, key):
    """Each follower sends ``{"tab", "n"}`` for n in 0..199, 10 every 10 ms (``sent`` counts them);
    returns once the first has sent 60, so what comes next lands in the middle."""
    for page in followers:
        run_py(page, f"""
sent = 0
async def burst():
    global sent
    for n in range(200):
        socks[{key!r}].send(json.dumps({{'tab': socks[{key!r}].tab_id, 'n': n}}))
        sent += 1
        if n % 10 == 9:
            await asyncio.sleep(0.01)
burst_task = asyncio.ensure_future(burst())
""")
    wait_py(followers[0], "sent >= 60")


def test_leader_killed_mid_burst_loses_nothing_at_the_server(tabs, server_process, figures, key):
    server = server_process()
    pages = tabs(4)
    share(pages, server, key)
    chief, followers = leader_and_followers(pages, key)
    ids = [run_py(page, f"socks[{key!r}].tab_id") for page in followers]
    start_bursts(followers, key)
    killed = time.time()
    chief.close()
    for page in followers:
        wait_py(page, f"sent == 200 and socks[{key!r}].pending == 0 and socks[{key!r}].state == 'open'", timeout=60)
    recovered = max(first_state(page, key, "open", killed) for page in followers) - killed
    lost, duplicates = lost_and_duplicates(numbered(Control(server.url, server.token).frames(), ids), 200)
    figures(recovery_s=round(recovered, 2), lost=lost, duplicates=duplicates)
    assert lost == 0


def network_process(engine) -> int:
    """The pid of the browser's network service: Chromium's process that holds its WebSockets."""
    if engine.name != "chromium":
        raise Unsupported(f"{engine.name}'s network stack has no process of its own to stop here")
    for proc in Path("/proc").iterdir():
        try:
            command = (proc / "cmdline").read_bytes()  # Chromium rewrites it: one line, spaces between
        except OSError:  # not a process, or gone
            continue
        if b"--utility-sub-type=network.mojom.NetworkService" in command \
                and f"--user-data-dir={engine.profile} ".encode() in command:
            return int(proc.name)
    raise AssertionError(f"no network service process for {engine.profile}")


def test_a_leader_closed_while_its_browsers_network_is_stopped_loses_nothing(
        tabs, pytabby_engine, server_process, figures, key):
    """Sends that left the leader's tab (``bufferedAmount`` fell) but not its browser: the network
    process is stopped (SIGSTOP) while they go, and the leader's tab closes before it resumes."""
    server = server_process()
    pages = tabs(4)
    share(pages, server, key)
    chief, followers = leader_and_followers(pages, key)
    ids = [run_py(page, f"socks[{key!r}].tab_id") for page in followers]
    network = network_process(pytabby_engine)
    start_bursts(followers, key)
    os.kill(network, signal.SIGSTOP)
    try:
        for page in followers:
            wait_py(page, "sent == 200")  # the rest of the bursts reach the leader over the stopped network
        waiting = sum(run_py(page, f"socks[{key!r}].pending") for page in followers)
        closed = time.time()
        chief.close()
    finally:
        os.kill(network, signal.SIGCONT)
    for page in followers:
        wait_py(page, f"socks[{key!r}].pending == 0 and socks[{key!r}].state == 'open'", timeout=60)
    recovered = max(first_state(page, key, "open", closed) for page in followers) - closed
    lost, duplicates = lost_and_duplicates(numbered(Control(server.url, server.token).frames(), ids), 200)
    figures(unproven_at_close=waiting, recovery_s=round(recovered, 2), lost=lost, duplicates=duplicates)
    assert lost == 0


def test_a_frozen_leader_is_replaced_within_the_liveness_timeout(tabs, server_process, figures, key):
    server = server_process()
    pages = tabs(3)
    share(pages, server, key)
    chief, followers = leader_and_followers(pages, key)
    timeout = LIVENESS_TIMEOUT
    with freeze(chief):
        frozen = time.monotonic()
        deadline = frozen + timeout + 5
        while not any(run_py(page, f"socks[{key!r}].is_leader") for page in followers):
            assert time.monotonic() < deadline, "no follower took over"
            time.sleep(0.05)  # a bounded poll of the followers
        detected = time.monotonic() - frozen
        for page in followers:
            wait_py(page, f"socks[{key!r}].state == 'open'", timeout=30)
        recovered = time.monotonic() - frozen
    wait_for_leader(pages, f"socks[{key!r}].elector", timeout=30)
    leaders = sum(bool(run_py(page, f"socks[{key!r}].is_leader")) for page in pages)
    figures(liveness_timeout_s=timeout, detection_s=round(detected, 2), recovery_s=round(recovered, 2),
            leaders_after_unfreeze=leaders, lost=0, duplicates=0)
    assert detected <= timeout + ELECTION_TICK + 0.5  # + the lock steal and this poll
    assert leaders == 1


DEEP_REPLY = '{"note":{"request_id":"x"},"d":' + "[" * 7000 + "]" * 7000 + "}"
DEEP_LIST = "[" * 8000 + "]" * 8000


def test_a_deeply_nested_frame_is_data_in_every_tab_and_the_chat_demo(tabs, server_process, figures, key):
    server = server_process()
    pages = tabs(2)
    share(pages, server, key)
    (chat,) = tabs(1, url=f"{server.url}/")
    run_py(pages[0], f"asking = asyncio.ensure_future(socks[{key!r}].request({{'op': 'ignore'}}, timeout=120))")
    control = Control(server.url, server.token)
    control.broadcast(DEEP_REPLY)
    control.broadcast(DEEP_LIST)
    for page in pages:
        wait_py(page, f"len(inbox[{key!r}]) == 2", timeout=20)
        assert run_py(page, f"inbox[{key!r}] == [{DEEP_REPLY!r}, {DEEP_LIST!r}]") is True
    deep = [run_py(page, f"socks[{key!r}].deep_frames") for page in pages]
    alive = [run_py(tab, "6 * 7") for tab in [*pages, chat]]
    figures(deep_frames=deep, tabs_alive=alive.count(42), lost=0, duplicates=0)
    assert deep == [1, 0]  # counted where a request was pending: only there is a reply-like frame parsed
    assert run_py(pages[0], "asking.done()") is False  # the pending request is not answered by the frame
    assert alive == [42, 42, 42]


@pytest.mark.parametrize("impersonate", [False, True], ids=["foreign-id", "leader-id"])
def test_forged_socket_messages_lose_nothing(tabs, server_process, figures, key, impersonate):
    server = server_process()
    pages = tabs(3)
    share(pages, server, key)
    chief, followers = leader_and_followers(pages, key)
    forger_id = run_py(chief, f"socks[{key!r}].tab_id") if impersonate else "forger"
    victim = followers[0]
    victim_id = run_py(victim, f"socks[{key!r}].tab_id")
    term = run_py(chief, f"socks[{key!r}].elector.term")
    forgeries = [
        ("frame", {"term": term, "seq": 10**9, "data": "forged"}),
        ("frame", {"term": 10**15, "seq": 1, "data": "forged"}),
        ("ack", {"origin": victim_id, "id": 1000}),
        ("state", {"state": "closed", "term": 10**15, "connection": 1, "seq": 1}),
    ]
    run_py(victim, f"socks[{key!r}].send('before the forgeries')")
    wait_py(victim, f"socks[{key!r}].pending == 0")
    followers[1].evaluate("""([key, forgerId, forgeries]) => {
        const channel = new BroadcastChannel("pytabby:socket:" + key);
        forgeries.forEach(([type, payload], n) =>
            channel.postMessage({type, payload, tabId: forgerId, ts: Date.now(), v: 1, seq: n}));
        channel.close();
    }""", [key, forger_id, forgeries])
    control = Control(server.url, server.token)
    control.broadcast("real after the forgeries")
    for n in range(5):
        run_py(victim, f"socks[{key!r}].send('victim {n}')")
    answer = run_py(victim, f"await socks[{key!r}].request({{'op': 'echo', 'data': 'still answered'}})")
    for page in pages:
        wait_py(page, f"'real after the forgeries' in inbox[{key!r}] and 'victim 4' in inbox[{key!r}]")
        assert "forged" not in run_py(page, f"inbox[{key!r}]")
        assert run_py(page, f"socks[{key!r}].state") == "open"
    frames = control.frames()
    arrived = [frames.count(f"victim {n}") for n in range(5)]
    figures(lost=arrived.count(0), duplicates=sum(arrived) - 5 + arrived.count(0))
    assert answer == "still answered"
    assert arrived == [1] * 5
