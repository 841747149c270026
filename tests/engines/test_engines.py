"""Every engine's tab handle runs pytabby the same way: boot, Python, bus, election, hand-over, errors.

Parametrized over the engines installed (``conftest.ENGINES``). The hand-over test
closes a shared tab, so it runs last in the module.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from urllib.request import urlopen

import pytest

from pytabby.pytest import Control
from pytabby.pytest import run_py as py
from pytabby.pytest import wait_py
from pytabby.pytest.engines.base import ScriptError, Tab
from pytabby.pytest.pages import RUN_PY_JS

from .conftest import BOOT_TIMEOUT

pytestmark = pytest.mark.browser


def start_electors(tabs: list[Tab], key: str) -> None:
    """An elector per tab; ``acquired[key]`` records the wall time at which this tab got the lead."""
    for tab in tabs:
        py(tab, f"""
import time
from pytabby import create_leader_elector
electors = globals().setdefault("electors", {{}})
acquired = globals().setdefault("acquired", {{}})
electors[{key!r}] = create_leader_elector({key!r})
electors[{key!r}].on("acquire", lambda ev: acquired.__setitem__({key!r}, time.time()))
electors[{key!r}].start()
""")


def single_leader(tabs: list[Tab], key: str) -> tuple[Tab, str, int]:
    """Wait until one tab leads and every tab names it with the same term; return it, its id, the term."""
    ids = [py(tab, f"electors[{key!r}].tab_id") for tab in tabs]
    wait_py(tabs[0], f"electors[{key!r}].leader_id in {ids!r}")
    chief_id = py(tabs[0], f"electors[{key!r}].leader_id")
    for tab in tabs:
        wait_py(tab, f"electors[{key!r}].leader_id == {chief_id!r}")
    states = [py(tab, f"e = electors[{key!r}]; [e.is_leader, e.leader_id, e.term]") for tab in tabs]
    assert [state[0] for state in states].count(True) == 1, states
    assert {(state[1], state[2]) for state in states} == {(chief_id, states[0][2])}, states
    return tabs[[state[0] for state in states].index(True)], str(chief_id), int(states[0][2])


def test_three_tabs_boot_and_run_python_each_with_its_own_tab_id(booted: list[Tab]) -> None:
    results = [py(tab, "from pytabby import create_bus\n[6 * 7, create_bus('ids').tab_id]") for tab in booted]
    assert [result[0] for result in results] == [42, 42, 42]
    assert len({result[1] for result in results}) == 3


def test_scripts_run_in_the_page_realm_with_its_builtins(booted: list[Tab]) -> None:
    # Marionette's own sandboxes keep builtins of their own: a frame's ArrayBuffer would fail instanceof.
    assert booted[0].evaluate(
        "() => [typeof window.pyodide.runPython, new Uint8Array(1).buffer instanceof window.ArrayBuffer,"
        " Object.getPrototypeOf([]) === window.Array.prototype]"
    ) == ["function", True, True]


def test_booted_tabs_have_logged_no_error(booted: list[Tab]) -> None:
    # Runs before any test here logs one on purpose. A 404 (the favicon every page asks for) was one.
    assert [[line for line in tab.console() if line.startswith("error")] for tab in booted] == [[], [], []]


def test_bus_round_trip_through_three_tabs_keeps_bytes(booted: list[Tab], name: str) -> None:
    for index, tab in enumerate(booted):
        py(tab, f"""
from pytabby import create_bus
bus = create_bus({name!r})
got = []
bus.subscribe("ping", lambda m: bus.publish("pong", m.payload + bytes([{index}])))
bus.subscribe("pong", lambda m: got.append(m.payload))
""")
    py(booted[0], "bus.publish('ping', b'\\x00\\xff')")
    # pytabby's bus delivers to the publishing tab too: every tab hears all three pongs.
    pongs = "[b'\\x00\\xff\\x00', b'\\x00\\xff\\x01', b'\\x00\\xff\\x02']"
    for tab in booted:
        wait_py(tab, f"sorted(got) == {pongs}")


def test_exactly_one_leader_and_every_tab_knows_its_id_and_term(booted: list[Tab], name: str) -> None:
    start_electors(booted, name)
    chief, chief_id, term = single_leader(booted, name)
    assert py(chief, f"electors[{name!r}].tab_id") == chief_id
    assert term == 1  # a fresh key: the first leadership


def test_console_error_in_the_page_appears_in_console(booted: list[Tab], name: str) -> None:
    booted[1].evaluate("(text) => console.error(text)", name)
    assert f"error: {name}" in booted[1].console()
    assert f"error: {name}" not in booted[2].console()


def test_a_script_error_raises_script_error_with_the_js_message(booted: list[Tab], name: str) -> None:
    with pytest.raises(ScriptError, match=name):
        booted[0].evaluate("(text) => { throw new TypeError(text); }", name)


def test_a_python_error_raises_script_error_with_the_python_traceback(booted: list[Tab], name: str) -> None:
    with pytest.raises(ScriptError, match=f"ValueError: {name}"):
        booted[0].evaluate(RUN_PY_JS, [f"raise ValueError({name!r})"])


def test_wait_for_times_out_naming_the_script(booted: list[Tab]) -> None:
    script = "() => window.neverSetByAnyone === 1"
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="neverSetByAnyone"):
        booted[2].wait_for(script, timeout=0.5)
    assert 0.5 <= time.monotonic() - started < 5


# Measured: WebKit keeps a page holding a Web Lock in the back/forward cache and releases the
# lock on suspend; Firefox never caches such a page (pagehide persisted=false, a reload on return).
RESTORED_FROM_BFCACHE = {"firefox": False, "webkit": True}


def test_a_leader_leaving_and_coming_back_hands_over_and_then_follows(
    booted: list[Tab], name: str, server_url: str
) -> None:
    pair = booted[:2]
    start_electors(pair, name)
    chief, _, term = single_leader(pair, name)
    other = pair[1] if chief is pair[0] else pair[0]
    chief.evaluate("() => { addEventListener('pageshow', (event) => { window.restored = event.persisted; }); }")
    chief.goto(f"{server_url}/raw.html")
    wait_py(other, f"electors[{name!r}].is_leader")
    assert py(other, f"electors[{name!r}].term") == term + 1
    chief.go_back()
    chief.wait_for("() => location.pathname === '/playground.html' && window.pytabbyReady !== undefined",
                   timeout=BOOT_TIMEOUT)
    chief.evaluate("() => window.pytabbyReady.then(() => null)")
    restored = chief.evaluate("() => window.restored === true")
    if chief.engine in RESTORED_FROM_BFCACHE:
        assert restored is RESTORED_FROM_BFCACHE[chief.engine]
    if not restored:  # a fresh document: join the election anew
        start_electors([chief], name)
    # Restored or reloaded, the returning tab follows: the lock it held was released when it left.
    _, leader_id, new_term = single_leader(pair, name)
    assert (leader_id, new_term) == (py(other, f"electors[{name!r}].tab_id"), term + 1)


def stats(server_url: str) -> dict[str, int]:
    with urlopen(f"{server_url}/stats") as response:
        return dict(json.load(response))


def test_a_socket_leader_leaving_and_coming_back_leaves_one_open_connection(
    booted: list[Tab], name: str, server_url: str, pytabby_control: Control
) -> None:
    # Measured: WebKit caches a page with an open WebSocket and, once restored, that socket
    # closes with 1006; Firefox reloads the page. Either way one connection must stay.
    pair = booted[:2]
    share = f"""
import js
from pytabby import create_shared_socket
sock = create_shared_socket(f"ws://{{js.location.host}}/ws", key={name!r})
"""
    for tab in pair:
        py(tab, share)
    for tab in pair:
        wait_py(tab, "sock.state == 'open'")
    chief = pair[0] if py(pair[0], "sock.is_leader") else pair[1]
    other = pair[1] if chief is pair[0] else pair[0]
    chief.goto(f"{server_url}/raw.html")
    wait_py(other, "sock.is_leader and sock.state == 'open'")
    chief.go_back()
    chief.wait_for("() => location.pathname === '/playground.html' && window.pytabbyReady !== undefined",
                   timeout=BOOT_TIMEOUT)
    chief.evaluate("() => window.pytabbyReady.then(() => null)")
    if not py(chief, "'sock' in globals()"):  # reloaded, not restored: share anew
        py(chief, share)
    wait_py(chief, "sock.state == 'open' and not sock.is_leader")
    assert py(other, "sock.is_leader") is True
    deadline = time.monotonic() + 20
    while stats(server_url)["connections"] != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stats(server_url)["connections"] == 1
    py(chief, f"sock.send({name!r})")  # through the leader's one connection (its pings travel too)
    while pytabby_control.frames().count(name) != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pytabby_control.frames().count(name) == 1


def test_closing_the_leader_tab_hands_over_to_one_of_the_others(
    booted: list[Tab], name: str, record_property: Callable[[str, object], None]
) -> None:
    start_electors(booted, name)
    chief, _, term = single_leader(booted, name)
    rest = [tab for tab in booted if tab is not chief]
    before = time.time()
    closed_at = chief.close()
    assert closed_at is not None and before <= closed_at <= time.time()
    assert chief.closed
    assert chief.close() is None  # closed already: nothing sent
    successor, _, new_term = single_leader(rest, name)
    assert new_term == term + 1
    hand_over = py(successor, f"acquired[{name!r}]") - closed_at
    # Wall clocks of host and page are the same machine's; a negative value would mean a stale lead.
    record_property("hand_over_ms", round(hand_over * 1000))
    assert 0 < hand_over < 10, hand_over
