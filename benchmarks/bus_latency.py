"""Bus one-way latency at a low rate: pytabby, naive Python and raw JS take turns, one message each.

One Pyodide sender tab sends the three contenders' messages in turn, 4 ms apart; one Pyodide tab
receives pytabby's and naive Python's, a plain page raw JS's (as in the fan-out figure). Turns per
message, on the same tabs, so machine noise hits every contender alike.
"""

from __future__ import annotations

from .harness import NOW_JS, NOW_PY, Bench, Row, Target, p50, pct, run_py, summary

GAP_S = 0.004
WARMUP = 10  # per contender: first messages run cold code

_JS_RECEIVE = "() => { window.lat = []; new BroadcastChannel('lat-js').onmessage = (e) => window.lat.push(%s - e.data.payload); }" % NOW_JS
_PY_RECEIVE = f"""
from pyodide.ffi import create_proxy
from pytabby import create_bus
lat = {{"naive": [], "pytabby": []}}
def naive_receive(event):
    data = event.data.to_py()
    lat["naive"].append({NOW_PY} - data["payload"])
lat_naive = js.BroadcastChannel.new("lat-naive")
lat_naive.onmessage = create_proxy(naive_receive)
lat_bus = create_bus("lat-py")
lat_bus.subscribe("m", lambda msg: lat["pytabby"].append({NOW_PY} - msg.payload))
"""
_SEND = f"""
from pyodide.ffi import to_js
from pytabby import create_bus
send_js = js.eval("(ch) => ch.postMessage({{type: 'm', payload: %s, tabId: 'js', ts: Date.now()}})")
raw_tx, naive_tx = js.BroadcastChannel.new("lat-js"), js.BroadcastChannel.new("lat-naive")
with create_bus("lat-py") as py_tx:
    for _ in range(COUNT):
        send_js(raw_tx)
        await asyncio.sleep(GAP)
        now = {NOW_PY}
        naive_tx.postMessage(to_js({{"type": "m", "payload": now, "tabId": "py", "ts": now}}, dict_converter=js.Object.fromEntries))
        await asyncio.sleep(GAP)
        py_tx.publish("m", {NOW_PY})
        await asyncio.sleep(GAP)
raw_tx.close(); naive_tx.close()
""".replace("%s", NOW_JS)


def run(bench: Bench) -> None:
    raw = bench.raw_pages(1)[0]
    sender, receiver = bench.py_pages(2)
    bench.settle(receiver)
    raw.evaluate(_JS_RECEIVE)
    run_py(receiver, _PY_RECEIVE)
    count = bench.size.latency_rounds * 60
    run_py(sender, _SEND.replace("COUNT", str(count)).replace("GAP", str(GAP_S)))
    raw.wait_for_function(f"() => window.lat.length >= {count}")
    receiver.wait_for_function(f"() => pyodide.runPython('min(len(v) for v in lat.values())') >= {count}")
    got = run_py(receiver, "lat")
    samples = {"js": raw.evaluate("() => window.lat")[WARMUP:], "naive_py": got["naive"][WARMUP:],
               "pytabby": got["pytabby"][WARMUP:]}
    bench.results.samples["latency_ms"] = samples
    js_, naive_, mine = samples["js"], samples["naive_py"], samples["pytabby"]
    bench.results.add(Row(
        "bus one-way latency, 1 msg / 4 ms, contenders in turn",
        summary(mine),
        f"naive Python {summary(naive_)}; raw JS {summary(js_)}",
        f"p50 {p50(mine) / p50(naive_):.2f}x naive Python, {p50(mine) / p50(js_):.2f}x raw JS; "
        f"p99 {pct(mine, 0.99) / pct(naive_, 0.99):.2f}x naive",
        [Target("p50 x naive Python", p50(mine) / p50(naive_), 1.0),
         Target("p50 x raw JS", p50(mine) / p50(js_), 1.5),
         Target("p99 ms", pct(mine, 0.99), 3.0)],
    ))
    bench.close([raw, sender, receiver])
