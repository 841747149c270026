"""Bus one-way latency at a low rate (one message every 4 ms): pytabby, naive Python, raw JS, interleaved."""

from __future__ import annotations

from .harness import NOW_JS, NOW_PY, Bench, Row, Target, p50, pct, run_py, summary

PER_ROUND = 60
WARMUP = 10  # per contender: first messages run cold code

_JS_RECEIVE = "(name) => { window.lat = []; new BroadcastChannel(name).onmessage = (e) => window.lat.push(%s - e.data.payload); }" % NOW_JS
_JS_SEND = """async ([name, count]) => {
    const ch = new BroadcastChannel(name);
    for (let i = 0; i < count; i++) {
        ch.postMessage({type: "m", payload: %s, tabId: "js", ts: Date.now()});
        await new Promise((r) => setTimeout(r, 4));
    }
    ch.close();
}""" % NOW_JS

_NAIVE_RECEIVE = f"""
from pyodide.ffi import create_proxy
naive_lat = []
def naive_receive(event):
    data = event.data.to_py()
    naive_lat.append({NOW_PY} - data["payload"])
naive_rx = js.BroadcastChannel.new(NAME)
naive_rx.onmessage = create_proxy(naive_receive)
"""
_NAIVE_SEND = f"""
from pyodide.ffi import to_js
naive_tx = js.BroadcastChannel.new(NAME)
for i in range(COUNT):
    now = {NOW_PY}
    naive_tx.postMessage(to_js({{"type": "m", "payload": now, "tabId": "py", "ts": now}}, dict_converter=js.Object.fromEntries))
    await asyncio.sleep(0.004)
naive_tx.close()
"""
_PYTABBY_RECEIVE = f"""
from pytabby import create_bus
lat = []
lat_bus = create_bus(NAME)
lat_bus.subscribe("m", lambda msg: lat.append({NOW_PY} - msg.payload))
"""
_PYTABBY_SEND = f"""
from pytabby import create_bus
with create_bus(NAME) as lat_tx:
    for i in range(COUNT):
        lat_tx.publish("m", {NOW_PY})
        await asyncio.sleep(0.004)
"""


def run(bench: Bench) -> None:
    raw = bench.raw_pages(2)
    naive = bench.py_pages(2)
    py = bench.py_pages(2)
    bench.settle(py[1])
    raw[1].evaluate(_JS_RECEIVE, "lat-js")
    run_py(naive[1], _NAIVE_RECEIVE.replace("NAME", repr("lat-naive")))
    run_py(py[1], _PYTABBY_RECEIVE.replace("NAME", repr("lat-py")))
    count = str(PER_ROUND)
    for _ in range(bench.size.latency_rounds):  # contenders take turns: machine noise hits them alike
        raw[0].evaluate(_JS_SEND, ["lat-js", PER_ROUND])
        run_py(naive[0], _NAIVE_SEND.replace("NAME", repr("lat-naive")).replace("COUNT", count))
        run_py(py[0], _PYTABBY_SEND.replace("NAME", repr("lat-py")).replace("COUNT", count))
    total = bench.size.latency_rounds * PER_ROUND
    raw[1].wait_for_function(f"() => window.lat.length >= {total}")
    samples = {
        "js": raw[1].evaluate("() => window.lat")[WARMUP:],
        "naive_py": _collect(naive[1], "naive_lat", total),
        "pytabby": _collect(py[1], "lat", total),
    }
    bench.results.samples["latency_ms"] = samples
    js_, naive_, mine = samples["js"], samples["naive_py"], samples["pytabby"]
    bench.results.add(Row(
        "bus one-way latency, 1 msg / 4 ms",
        summary(mine),
        f"naive Python {summary(naive_)}; raw JS {summary(js_)}",
        f"p50 {p50(mine) / p50(naive_):.2f}x naive Python, {p50(mine) / p50(js_):.2f}x raw JS; "
        f"p99 {pct(mine, 0.99) / pct(naive_, 0.99):.2f}x naive",
        [Target("p50 x naive Python", p50(mine) / p50(naive_), 1.0),
         Target("p50 x raw JS", p50(mine) / p50(js_), 1.5),
         Target("p99 ms", pct(mine, 0.99), 3.0)],
    ))
    bench.close(raw + naive + py)


def _collect(page: object, name: str, total: int) -> list[float]:
    page.wait_for_function(f"() => pyodide.runPython('len({name})') >= {total}")  # type: ignore[attr-defined]
    return run_py(page, name)[WARMUP:]
