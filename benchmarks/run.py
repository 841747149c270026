"""pytabby against raw JavaScript and npm broadcast-channel, side by side in one Chromium run.

    .venv/bin/python benchmarks/run.py            # full run (~10 min on 2 cores)
    .venv/bin/python benchmarks/run.py --quick    # smoke run (< 3 min)

Prints one table (figure, pytabby, comparisons, ratio, target) and writes every raw
sample to bench-results/latest.json. All timings use the clock the tabs share
(performance.timeOrigin + performance.now()); absolute numbers drift on a busy
machine, the ratios measured in the same run hold.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import platform
import statistics
import sys
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytabby.pytest import Control, Tab, TabFactory, load_settings, run_py  # noqa: E402
from pytabby.pytest.engines import launch  # noqa: E402
from pytabby.pytest.serve import ServerThread, find_pyodide  # noqa: E402

NOW_JS = "(performance.timeOrigin + performance.now())"
NOW_PY = "(js.performance.timeOrigin + js.performance.now())"
_names = itertools.count()
SETTLE_MS = 3000  # after booting tabs: let background wasm compilation finish before timing


@dataclass(frozen=True)
class Size:
    messages: int
    reps: int
    latency_messages: int
    handover_trials: int
    socket_tabs: tuple[int, ...]
    fanout_rounds: int


SIZES = {
    "full": Size(20_000, 5, 300, 20, (1, 5, 10), 100),
    "quick": Size(5_000, 2, 100, 5, (1, 5), 30),
    "tiny": Size(300, 1, 20, 2, (1, 2), 5),
}


@dataclass
class Row:
    figure: str
    pytabby: str
    comparisons: str
    ratio: str
    target: str


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)
    samples: dict[str, Any] = field(default_factory=dict)

    def add(self, row: Row) -> None:
        self.rows.append(row)
        print(f"  {row.figure}: {row.pytabby} | {row.comparisons} | {row.ratio}", flush=True)


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(samples: list[float], unit: str = "ms") -> str:
    return (f"p50 {statistics.median(samples):.1f} {unit}, p99 {pct(samples, 0.99):.1f} "
            f"(min {min(samples):.1f}, max {max(samples):.1f})")


class Bench:
    def __init__(self, tabs: TabFactory, control: Control, size: Size) -> None:
        self.tabs = tabs
        self.context = tabs.engine.context  # type: ignore[attr-defined]  # Chromium's
        self.control = control
        self.size = size
        self.results = Results()
        self._tab_of: dict[Any, Tab] = {}

    # -- pages ---------------------------------------------------------------

    def raw_pages(self, count: int, url: str = "/raw.html") -> list[Any]:
        pages = [self.context.new_page() for _ in range(count)]
        for page in pages:
            page.goto(self.tabs.url(url))
        return pages

    def py_pages(self, count: int) -> list[Any]:
        tabs = self.tabs(count, "/playground.html")
        for tab in tabs:
            self._tab_of[tab.page] = tab
            run_py(tab, "import js, asyncio")
        return [tab.page for tab in tabs]

    def run_py(self, page: Any, code: str) -> Any:
        """The kit's ``run_py`` on the tab of a Playwright page from ``py_pages``."""
        return run_py(self._tab_of[page], code)

    @staticmethod
    def close(pages: list[Any]) -> None:
        for page in pages:
            if not page.is_closed():
                page.close()


    # -- bus throughput --------------------------------------------------------

    def throughput(self) -> None:
        n, reps = self.size.messages, self.size.reps
        raw = self.raw_pages(2)
        bc = self.raw_pages(2, "/bench/broadcast-channel.html")
        py = self.py_pages(2)
        runs: dict[str, list[float]] = {k: [] for k in ("js", "js_batch100", "broadcast_channel", "naive_py", "pytabby")}
        for _ in range(reps + 1):  # the first round warms up and is discarded
            round_rates = {
                "js": self._js_throughput(raw, n, batch=1),
                "js_batch100": self._js_throughput(raw, n, batch=100),
                "broadcast_channel": self._bc_throughput(bc, n),
                "naive_py": self._naive_py_throughput(py, n),
                "pytabby": self._pytabby_throughput(py, n),
            }
            for key, rate in round_rates.items():
                runs[key].append(rate)
        runs = {key: values[1:] for key, values in runs.items()}
        self.results.samples["throughput_msgs_per_s"] = runs
        med = {key: statistics.median(values) for key, values in runs.items()}
        self.results.add(Row(
            f"bus throughput, 2 tabs, {n:,} msgs",
            f"{med['pytabby']:,.0f} msg/s",
            f"raw JS {med['js']:,.0f}; JS batch 100 {med['js_batch100']:,.0f}; "
            f"broadcast-channel {med['broadcast_channel']:,.0f}; naive Python {med['naive_py']:,.0f}",
            f"{med['pytabby'] / med['js']:.2f}x raw JS, {med['pytabby'] / med['broadcast_channel']:.2f}x b-c",
            ">= 2x raw JS and >= 2x broadcast-channel",
        ))
        self.close(raw + bc + py)

    def _js_throughput(self, pages: list[Any], n: int, batch: int) -> float:
        name = f"tp-{next(_names)}"
        pages[1].evaluate("""([name, n, batch]) => {
            let got = 0; window.doneAt = 0;
            const ch = new BroadcastChannel(name);
            ch.onmessage = (e) => {
                got += batch === 1 ? 1 : e.data.length;
                if (got >= n) { window.doneAt = %s; ch.close(); }
            };
        }""" % NOW_JS, [name, n, batch])
        started = pages[0].evaluate("""([name, n, batch]) => {
            const ch = new BroadcastChannel(name);
            const t0 = %s;
            if (batch === 1) {
                for (let i = 0; i < n; i++) ch.postMessage({type: "m", payload: i, tabId: "js", ts: Date.now()});
            } else {
                for (let i = 0; i < n; i += batch) {
                    const chunk = [];
                    for (let j = i; j < Math.min(n, i + batch); j++) chunk.push({type: "m", payload: j, tabId: "js", ts: Date.now()});
                    ch.postMessage(chunk);
                }
            }
            ch.close();
            return t0;
        }""" % NOW_JS, [name, n, batch])
        pages[1].wait_for_function("() => window.doneAt > 0", polling=10, timeout=120_000)
        return n / (pages[1].evaluate("() => window.doneAt") - started) * 1000

    def _bc_throughput(self, pages: list[Any], n: int) -> float:
        name = f"bc-{next(_names)}"
        pages[1].evaluate("""([name, n]) => {
            let got = 0; window.doneAt = 0;
            window.bcReceiver = new BroadcastChannel2(name);
            window.bcReceiver.onmessage = () => { if (++got >= n) window.doneAt = %s; };
        }""" % NOW_JS, [name, n])
        started = pages[0].evaluate("""async ([name, n]) => {
            const ch = new BroadcastChannel2(name);
            const t0 = %s;
            const sent = [];
            for (let i = 0; i < n; i++) sent.push(ch.postMessage({type: "m", payload: i, tabId: "bc", ts: Date.now()}));
            await Promise.all(sent);
            return t0;
        }""" % NOW_JS, [name, n])
        pages[1].wait_for_function("() => window.doneAt > 0", polling=10, timeout=120_000)
        done = pages[1].evaluate("() => { window.bcReceiver.close(); return window.doneAt; }")
        return n / (done - started) * 1000

    def _naive_py_throughput(self, pages: list[Any], n: int) -> float:
        """Python calling BroadcastChannel directly: to_js + postMessage per message, to_py on receipt."""
        name = f"naive-{next(_names)}"
        self.run_py(pages[1], f"""
from pyodide.ffi import create_proxy, to_js
js.window.doneAt = 0
naive_got = 0
naive_rx = js.BroadcastChannel.new({name!r})
def naive_receive(event):
    global naive_got
    event.data.to_py()
    naive_got += 1
    if naive_got >= {n}:
        js.window.doneAt = {NOW_PY}
        naive_rx.close()
        naive_proxy.destroy()
naive_proxy = create_proxy(naive_receive)
naive_rx.onmessage = naive_proxy
""")
        started = self.run_py(pages[0], f"""
from pyodide.ffi import to_js
naive_tx = js.BroadcastChannel.new({name!r})
t0 = {NOW_PY}
for i in range({n}):
    naive_tx.postMessage(to_js({{"type": "m", "payload": i, "tabId": "py", "ts": 0}}, dict_converter=js.Object.fromEntries))
naive_tx.close()
t0
""")
        pages[1].wait_for_function("() => window.doneAt > 0", polling=10, timeout=120_000)
        return n / (pages[1].evaluate("() => window.doneAt") - started) * 1000

    def _pytabby_throughput(self, pages: list[Any], n: int) -> float:
        name = f"py-{next(_names)}"
        self.run_py(pages[1], f"""
from pytabby import create_bus
js.window.doneAt = 0
rx_bus = create_bus({name!r})
rx_count = 0
def rx(msg):
    global rx_count
    rx_count += 1
    if rx_count >= {n}:
        js.window.doneAt = {NOW_PY}
        rx_bus.close()
rx_bus.subscribe("m", rx)
""")
        started = self.run_py(pages[0], f"""
from pytabby import create_bus
tx_bus = create_bus({name!r})
t0 = {NOW_PY}
for i in range({n}):
    tx_bus.publish("m", i)
tx_bus.close()
t0
""")
        pages[1].wait_for_function("() => window.doneAt > 0", polling=10, timeout=120_000)
        return n / (pages[1].evaluate("() => window.doneAt") - started) * 1000

    # -- bus latency -----------------------------------------------------------

    def latency(self) -> None:
        count = self.size.latency_messages
        raw = self.raw_pages(2)
        py = self.py_pages(2)
        name = f"lat-{next(_names)}"
        raw[1].evaluate("""(name) => {
            window.lat = [];
            new BroadcastChannel(name).onmessage = (e) => window.lat.push(%s - e.data.ts);
        }""" % NOW_JS, name)
        raw[0].evaluate("""async ([name, count]) => {
            const ch = new BroadcastChannel(name);
            for (let i = 0; i < count; i++) {
                ch.postMessage({type: "m", payload: i, tabId: "js", ts: %s});
                await new Promise((r) => setTimeout(r, 4));
            }
        }""" % NOW_JS, [name, count])
        raw[1].wait_for_function(f"() => window.lat.length >= {count}")
        js_samples = raw[1].evaluate("() => window.lat")[10:]
        self.run_py(py[1], f"""
from pytabby import create_bus
lat = []
lat_bus = create_bus({name!r})
lat_bus.subscribe("m", lambda msg: lat.append({NOW_PY} - msg.payload))
""")
        self.run_py(py[0], f"""
from pytabby import create_bus
lat_tx = create_bus({name!r})
for i in range({count}):
    lat_tx.publish("m", {NOW_PY})
    await asyncio.sleep(0.004)
""")
        py[1].wait_for_function(f"() => pyodide.runPython('len(lat)') >= {count}")
        py_samples = self.run_py(py[1], "lat")[10:]
        self.results.samples["latency_ms"] = {"js": js_samples, "pytabby": py_samples}
        self.results.add(Row(
            "bus one-way latency, low rate",
            summary(py_samples),
            f"raw JS {summary(js_samples)}",
            f"p50 {statistics.median(py_samples) / statistics.median(js_samples):.2f}x raw JS",
            "p50 <= 1.5x raw JS; p99 <= 3 ms",
        ))
        self.close(raw + py)

    # -- leader hand-over ------------------------------------------------------

    def handover(self) -> None:
        trials = self.size.handover_trials
        samples = {
            "web_locks": self._handover_trials(trials, "/raw.html", _JS_LOCK_LEADER),
            "broadcast_channel": self._handover_trials(trials, "/bench/broadcast-channel.html", _BC_LEADER),
            "pytabby": self._handover_trials(trials, "/playground.html", _PYTABBY_LEADER, python=True),
        }
        self.results.samples["handover_ms"] = samples
        med = {key: statistics.median(values) for key, values in samples.items()}
        self.results.add(Row(
            f"hand-over, leader page.close() -> acquire, {trials} trials",
            summary(samples["pytabby"]),
            f"raw Web Locks {summary(samples['web_locks'])}; broadcast-channel {summary(samples['broadcast_channel'])}",
            f"{med['pytabby'] / med['broadcast_channel']:.2f}x broadcast-channel, "
            f"{med['pytabby'] / med['web_locks']:.2f}x raw Web Locks",
            "median <= 1.0x broadcast-channel; p99 <= 30 ms",
        ))

    def _handover_trials(self, trials: int, url: str, setup: str, python: bool = False) -> list[float]:
        """All tabs open and settled first, then the leader is closed ``trials`` times in a row.

        Booting a Pyodide tab keeps both cores busy for seconds (wasm compilation); booting none
        between trials keeps that noise out of the hand-over figure, for every contender alike.
        """
        key = f"ho-{next(_names)}"
        pages = self.py_pages(trials + 1) if python else self.raw_pages(trials + 1, url)
        for page in pages:  # joined in order, so the lock queue is the page order
            self._join(page, setup, key, python)
            if page is pages[0]:
                page.wait_for_function("() => window.acquiredAt > 0")
        pages[0].wait_for_timeout(SETTLE_MS)
        samples = []
        for leader, successor in zip(pages, pages[1:]):
            started = time.time() * 1000
            leader.close()
            successor.wait_for_function("() => window.acquiredAt > 0", polling=5)
            samples.append(successor.evaluate("() => window.acquiredAt") - started)
        self.close(pages)
        return samples

    def _join(self, page: Any, setup: str, key: str, python: bool) -> None:
        if python:
            self.run_py(page, setup.replace("KEY", repr(key)))
        else:
            page.evaluate(setup, key)

    # -- shared socket -----------------------------------------------------------

    def shared_socket(self) -> None:
        connections, naive_connections = {}, {}
        fanout: dict[str, list[float]] = {}
        handover: list[float] = []
        for count in self.size.socket_tabs:
            self.control.reset()
            base = self.control.stats()["connections"]
            pages = self.py_pages(count)
            key = f"sock-{next(_names)}"
            for page in pages:
                self.run_py(page, _SHARED_SOCKET.replace("KEY", repr(key)))
            for page in pages:
                page.wait_for_function("() => pyodide.runPython('sock.state') === 'open'")
            connections[count] = self.control.stats()["peak_connections"] - base
            if count == max(self.size.socket_tabs):
                fanout["pytabby"] = self._fanout(pages)
                handover = self._socket_handover(pages)
            self.close(pages)
            naive = self.raw_pages(count)
            self.control.reset()
            base = self.control.stats()["connections"]
            for page in naive:
                page.evaluate(_NAIVE_SOCKET)
            for page in naive:
                page.wait_for_function("() => window.ws.readyState === 1")
            naive_connections[count] = self.control.stats()["connections"] - base
            if count == max(self.size.socket_tabs):
                fanout["naive_js"] = self._fanout(naive)
            self.close(naive)
        self.results.samples.update(socket_connections=connections, naive_connections=naive_connections,
                                    fanout_ms=fanout, socket_handover_ms=handover)
        self.results.add(Row(
            "server connections, N tabs",
            ", ".join(f"N={n}: {c}" for n, c in connections.items()),
            "naive per-tab socket: " + ", ".join(f"N={n}: {c}" for n, c in naive_connections.items()),
            f"{max(naive_connections.values())}:{max(connections.values())} at N={max(connections)}",
            "1",
        ))
        tabs = max(self.size.socket_tabs)
        self.results.add(Row(
            f"fan-out, server frame -> all of {tabs} tabs",
            summary(fanout["pytabby"]),
            f"naive socket per tab (JS) {summary(fanout['naive_js'])}",
            f"p99 {pct(fanout['pytabby'], 0.99) / pct(fanout['naive_js'], 0.99):.2f}x naive",
            "p99 <= 15 ms",
        ))
        self.results.add(Row(
            "SharedSocket hand-over, leader killed -> new socket open",
            summary(handover),
            "-",
            "-",
            "median <= 100 ms",
        ))

    def _fanout(self, pages: list[Any]) -> list[float]:
        for page in pages:
            page.evaluate("() => { window.fanout = []; }")
        samples = []
        for round_number in range(self.size.fanout_rounds):
            sent = time.time() * 1000
            self.control.broadcast(json.dumps({"fanout": round_number, "sent": sent}))
            arrivals = []
            for page in pages:
                page.wait_for_function(f"() => window.fanout.length > {round_number}", polling=5)
                arrivals.append(page.evaluate(f"() => window.fanout[{round_number}]"))
            samples.append(max(arrivals) - sent)
        return samples[3:] if len(samples) > 6 else samples

    def _socket_handover(self, pages: list[Any]) -> list[float]:
        samples = []
        live = list(pages)
        for _ in range(min(self.size.handover_trials, len(pages) - 1)):
            for page in live:
                page.evaluate("() => { window.openedAt = 0; }")
            chief = next(p for p in live if p.evaluate("() => pyodide.runPython('sock.is_leader')"))
            live.remove(chief)
            started = time.time() * 1000
            chief.close()
            opened = []
            for page in live:
                page.wait_for_function("() => pyodide.runPython('sock.state') === 'open' && window.openedAt > 0"
                                       " || !pyodide.runPython('sock.is_leader') && pyodide.runPython('sock.state') === 'open'",
                                       polling=5)
                opened.append(page.evaluate("() => window.openedAt"))
            samples.append(max(opened) - started)
        return samples

    # -- cost per tab ------------------------------------------------------------

    def cost(self) -> None:
        """What pytabby adds to a tab whose Pyodide is ready: time (one page), memory (another,
        since tracemalloc slows the import it measures)."""
        samples: dict[str, list[float]] = {"ready_ms": [], "import_ms": [], "python_mb": [], "js_heap_mb": []}
        for _ in range(max(2, self.size.reps)):
            ready, imported, _ = self._bare_pyodide_load(trace=False)
            _, _, (python_mb, js_mb) = self._bare_pyodide_load(trace=True)
            for key, value in zip(samples, (ready, imported, python_mb, js_mb)):
                samples[key].append(value)
        self.results.samples["cost"] = samples
        self.results.add(Row(
            "pytabby's own cost per tab",
            f"loadPackage+import+first bus {statistics.median(samples['ready_ms']):.0f} ms "
            f"(import+first bus {statistics.median(samples['import_ms']):.0f} ms)",
            f"Python heap +{statistics.median(samples['python_mb']):.2f} MB (tracemalloc), "
            f"JS heap +{statistics.median(samples['js_heap_mb']):.1f} MB",
            "-",
            "<= 100 ms; <= 5 MB",
        ))

    def _bare_pyodide_load(self, trace: bool) -> list[Any]:
        page = self.context.new_page()
        page.goto(self.tabs.url("/bench/bare.html"))
        page.wait_for_function("() => window.bareReady !== undefined")
        page.evaluate("() => window.bareReady")
        measured = page.evaluate("""async (trace) => {
            if (trace) pyodide.runPython("import tracemalloc; tracemalloc.start()");
            const js0 = performance.memory.usedJSHeapSize;
            const t0 = performance.now();
            await pyodide.loadPackage("pytabby-browser");
            const t1 = performance.now();
            pyodide.runPython("import pytabby; bus = pytabby.create_bus('cost'); bus.publish('x', 1)");
            const t2 = performance.now();
            const pyBytes = trace ? pyodide.runPython("tracemalloc.get_traced_memory()[0]") : 0;
            return [t2 - t0, t2 - t1, [pyBytes / 2 ** 20, (performance.memory.usedJSHeapSize - js0) / 2 ** 20]];
        }""", trace)
        page.close()
        return measured


_JS_LOCK_LEADER = """(key) => {
    window.acquiredAt = 0;
    navigator.locks.request(key, () => { window.acquiredAt = %s; return new Promise(() => {}); });
}""" % NOW_JS

_BC_LEADER = """(key) => {
    window.acquiredAt = 0;
    const elector = createLeaderElection(new BroadcastChannel2(key));
    elector.awaitLeadership().then(() => { window.acquiredAt = %s; });
}""" % NOW_JS

_PYTABBY_LEADER = f"""
from pytabby import create_leader_elector
js.window.acquiredAt = 0
elector = create_leader_elector(KEY)
def on_acquire(event):
    js.window.acquiredAt = {NOW_PY}
elector.on("acquire", on_acquire)
elector.start()
"""

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


def print_table(results: Results, size_name: str, seconds: float) -> None:
    from importlib.metadata import version

    print()
    print(f"pytabby benchmark ({size_name}), {seconds:.0f} s; {platform.machine()}, "
          f"{os.cpu_count()} cores; Playwright {version('playwright')}")
    print()
    print("| figure | pytabby | comparison (same run) | ratio | target |")
    print("|---|---|---|---|---|")
    for row in results.rows:
        print(f"| {row.figure} | {row.pytabby} | {row.comparisons} | {row.ratio} | {row.target} |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_const", const="quick", dest="size", help="smoke run, < 3 min")
    mode.add_argument("--tiny", action="store_const", const="tiny", dest="size", help="CI smoke test sizes")
    parser.add_argument("--json", type=Path, default=ROOT / "bench-results" / "latest.json")
    args = parser.parse_args(argv)
    size_name = args.size or "full"
    settings = dataclasses.replace(load_settings(ROOT), timeout=60.0)
    root = settings.root or ROOT / "web"

    started = time.time()
    token = secrets.token_urlsafe(16)
    server = ServerThread(root, find_pyodide(root, settings.dist), token).start()
    try:
        engine = launch("chromium", settings)
        try:
            bench = Bench(TabFactory(engine, server.url, settings), Control(server.url, token), SIZES[size_name])
            for step in (bench.throughput, bench.latency, bench.handover, bench.shared_socket, bench.cost):
                print(f"{step.__name__}...", flush=True)
                step()
        finally:
            engine.close()
    finally:
        server.stop()
    print_table(bench.results, size_name, time.time() - started)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"size": size_name, "rows": [row.__dict__ for row in bench.results.rows],
                                     "samples": bench.results.samples}, indent=1))
    print(f"\nraw samples: {args.json}")


if __name__ == "__main__":
    main()
