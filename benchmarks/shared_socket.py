"""SharedSocket: server connections for N tabs (counted exactly), server-frame fan-out, socket hand-over.

Connections are counted twice: in the tabs (an init script counts every ``new WebSocket``) and on
the server (``/stats`` after the previous step's sockets are gone and the new ones settled).
A count that contradicts the guarantee (one connection per origin) is flagged, not rounded.
"""

from __future__ import annotations

import json
import time
from typing import Any

from .harness import NOW_JS, NOW_PY, Bench, Row, Target, names, pct, run_py, summary

SETTLED_MS = 500  # the server's count must hold this long to be read

_COUNT_SOCKETS = """(() => {
    if (window.__socketsOpened !== undefined) return;
    window.__socketsOpened = 0;
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
        constructor(...args) { super(...args); window.__socketsOpened += 1; }
    };
})();"""

_SHARED_SOCKET = f"""
from pytabby import create_shared_socket
js.window.fanout = []
js.window.openedAt = 0
sock = create_shared_socket(f"ws://{{js.location.host}}/ws", key=KEY)
def on_frame(data):
    js.window.fanout.push({NOW_PY})
def on_state(state):
    if state == "open" and sock.is_leader:
        js.window.openedAt = {NOW_PY}
sock.on_message(on_frame)
sock.on_state(on_state)
"""

_NAIVE_SOCKET = """() => {
    window.fanout = [];
    window.ws = new WebSocket(`ws://${location.host}/ws`);
    window.ws.onmessage = () => window.fanout.push(%s);
}""" % NOW_JS


def run(bench: Bench) -> None:
    bench.context.add_init_script(_COUNT_SOCKETS)
    baseline = _settled_connections(bench)
    counts: dict[str, dict[int, tuple[int, int]]] = {"pytabby": {}, "naive": {}}
    fanout: dict[str, list[float]] = {}
    handover: list[float] = []
    biggest = max(bench.size.socket_tabs)
    for tabs in bench.size.socket_tabs:
        pages = bench.py_pages(tabs)
        key = f"sock-{next(names)}"
        for page in pages:
            run_py(page, _SHARED_SOCKET.replace("KEY", repr(key)))
        for page in pages:
            page.wait_for_function("() => pyodide.runPython('sock.state') === 'open'")
        counts["pytabby"][tabs] = _count(bench, pages, baseline)
        if tabs == biggest:
            fanout["pytabby"] = _fanout(bench, pages)
            handover = _handover(bench, pages)
        bench.close(pages)
        _wait_connections(bench, baseline)
        naive = bench.raw_pages(tabs)
        for page in naive:
            page.evaluate(_NAIVE_SOCKET)
        for page in naive:
            page.wait_for_function("() => window.ws.readyState === 1")
        counts["naive"][tabs] = _count(bench, naive, baseline)
        if tabs == biggest:
            fanout["naive_js"] = _fanout(bench, naive)
        bench.close(naive)
        _wait_connections(bench, baseline)
    bench.results.samples.update(socket_connections=counts, socket_fanout_ms=fanout, socket_handover_ms=handover)
    _rows(bench, counts, fanout, handover, biggest)


def _rows(bench: Bench, counts: dict[str, dict[int, tuple[int, int]]], fanout: dict[str, list[float]],
          handover: list[float], biggest: int) -> None:
    flags = [f"N={n}: tabs opened {tabs}, server saw {server} (guarantee: 1)"
             for n, (tabs, server) in counts["pytabby"].items() if tabs != 1 or server != 1]
    flags += [f"naive N={n}: tabs opened {tabs}, server saw {server}"
              for n, (tabs, server) in counts["naive"].items() if tabs != server]
    described = ", ".join(f"N={n}: {tabs} (server {server})" for n, (tabs, server) in counts["pytabby"].items())
    naive = ", ".join(f"N={n}: {tabs} (server {server})" for n, (tabs, server) in counts["naive"].items())
    bench.results.add(Row(
        "server connections, N tabs (opened by the tabs, seen by the server)", described,
        f"naive socket per tab: {naive}", f"{counts['naive'][biggest][0]}:{counts['pytabby'][biggest][0]} at N={biggest}",
        [Target(f"connections at N={n}", tabs, 1, "==") for n, (tabs, _) in counts["pytabby"].items()], flags,
    ))
    bench.results.add(Row(
        f"socket fan-out, server frame -> all of {biggest} tabs", summary(fanout["pytabby"]),
        f"naive socket per tab (JS) {summary(fanout['naive_js'])}",
        f"p99 {pct(fanout['pytabby'], 0.99) / pct(fanout['naive_js'], 0.99):.2f}x naive",
        [Target("p99 ms", pct(fanout["pytabby"], 0.99), 15.0)],
    ))
    bench.results.add(Row(
        "SharedSocket hand-over, leader closed -> new socket open", summary(handover), "-", "-",
        [Target("p50 ms", sorted(handover)[len(handover) // 2], 100.0)],
    ))


def _count(bench: Bench, pages: list[Any], baseline: int) -> tuple[int, int]:
    opened = sum(page.evaluate("() => window.__socketsOpened") for page in pages)
    return opened, _settled_connections(bench) - baseline


def _settled_connections(bench: Bench) -> int:
    last, since = int(bench.stats()["connections"]), time.monotonic()
    while time.monotonic() - since < SETTLED_MS / 1000:
        time.sleep(0.05)
        now = int(bench.stats()["connections"])
        if now != last:
            last, since = now, time.monotonic()
    return last


def _wait_connections(bench: Bench, baseline: int) -> None:
    deadline = time.monotonic() + 30
    while _settled_connections(bench) != baseline:
        if time.monotonic() > deadline:
            raise AssertionError("the server still holds connections of closed tabs after 30 s")


def _fanout(bench: Bench, pages: list[Any]) -> list[float]:
    for page in pages:
        page.evaluate("() => { window.fanout = []; }")
    samples = []
    for round_number in range(bench.size.fanout_rounds):
        sent = time.time() * 1000
        bench.post("/control/broadcast", json.dumps({"fanout": round_number, "sent": sent}).encode())
        arrivals = []
        for page in pages:
            page.wait_for_function(f"() => window.fanout.length > {round_number}", polling=5)
            arrivals.append(page.evaluate(f"() => window.fanout[{round_number}]"))
        samples.append(max(arrivals) - sent)
    return samples[3:] if len(samples) > 6 else samples


def _handover(bench: Bench, pages: list[Any]) -> list[float]:
    samples = []
    live = list(pages)
    for _ in range(min(bench.size.handover_trials, len(pages) - 1)):
        for page in live:
            page.evaluate("() => { window.openedAt = 0; }")
        chief = next(p for p in live if p.evaluate("() => pyodide.runPython('sock.is_leader')"))
        live.remove(chief)
        started = time.time() * 1000
        chief.close()
        deadline = time.monotonic() + 30
        while not any(opened := [page.evaluate("() => window.openedAt") for page in live]):
            if time.monotonic() > deadline:
                raise AssertionError("no tab opened the socket within 30 s of the leader's close")
            time.sleep(0.005)
        samples.append(max(opened) - started)
    return samples
