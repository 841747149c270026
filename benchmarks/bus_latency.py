"""Bus one-way latency at a low rate: pytabby, naive Python, a Python floor and raw JS take turns.

One Pyodide sender tab sends the contenders' messages in turn, 4 ms apart; one Pyodide tab
receives the Python contenders', a plain page raw JS's (as in the fan-out figure). Turns per
message, on the same tabs, so machine noise hits every contender alike, in an order shuffled each
turn, as a message's cost depends on what the tabs did just before it: each contender follows
each other as often. (A rotation of one order, as before, kept each contender's predecessor: in
Firefox four identical pytabby buses in a cycle behind the floor came 15-30 µs apart, the one
right after the floor slowest; shuffled, within 3 µs.)

The Python floor is the least any Python-to-Python message pays: one call from Python into JS,
which builds and posts the object, and one call from the JS listener into Python with the payload;
no library, no conversion of objects. It is what sets how close to raw JS a Python bus can come
in an engine (a tab idle between messages pays each call's cold cost).

A fifth contender, reported in a row of its own: a JS peer's message in purrtabby's shape, posted
from the sender tab's JS, received by a pytabby bus (what a page mixing purrtabby and pytabby
tabs pays per message).
"""

from __future__ import annotations

from .harness import NOW_JS, NOW_PY, Bench, Row, Target, p50, pct, ratio_interval, run_py, summary

GAP_S = 0.004
WARMUP = 10  # per contender: first messages run cold code
ORDER_SEED = 13  # the turns' orders, the same in every run

_JS_RECEIVE = "() => { window.lat = []; new BroadcastChannel('lat-js').onmessage = (e) => window.lat.push(%s - e.data.payload); }" % NOW_JS
_PY_RECEIVE = f"""
from pyodide.ffi import create_proxy
from pytabby import create_bus
lat = {{"naive": [], "floor": [], "pytabby": [], "js_peer": []}}
def naive_receive(event):
    data = event.data.to_py()
    lat["naive"].append({NOW_PY} - data["payload"])
lat_naive = js.BroadcastChannel.new("lat-naive")
lat_naive.onmessage = create_proxy(naive_receive)
lat_floor = js.BroadcastChannel.new("lat-floor")
lat_floor.onmessage = js.eval("(receive) => (event) => receive(event.data.payload)")(
    create_proxy(lambda sent: lat["floor"].append({NOW_PY} - sent)))
lat_bus = create_bus("lat-py")
lat_bus.subscribe("m", lambda msg: lat["pytabby"].append({NOW_PY} - msg.payload))
lat_peer_bus = create_bus("lat-peer")
lat_peer_bus.subscribe("m", lambda msg: lat["js_peer"].append({NOW_PY} - msg.payload))
"""
_SEND = f"""
import random
from pyodide.ffi import to_js
from pytabby import create_bus
send_js = js.eval("(ch) => ch.postMessage({{type: 'm', payload: %s, tabId: 'js', ts: Date.now()}})")
post_floor = js.eval("(ch, sent) => ch.postMessage({{type: 'm', payload: sent, tabId: 'py', ts: sent}})")
raw_tx, naive_tx = js.BroadcastChannel.new("lat-js"), js.BroadcastChannel.new("lat-naive")
floor_tx, peer_tx = js.BroadcastChannel.new("lat-floor"), js.BroadcastChannel.new("lat-peer")
def send_naive():
    now = {NOW_PY}
    naive_tx.postMessage(to_js({{"type": "m", "payload": now, "tabId": "py", "ts": now}}, dict_converter=js.Object.fromEntries))
shuffle = random.Random(SEED).shuffle
with create_bus("lat-py") as py_tx:
    senders = [lambda: send_js(raw_tx), send_naive, lambda: post_floor(floor_tx, {NOW_PY}),
               lambda: py_tx.publish("m", {NOW_PY}), lambda: send_js(peer_tx)]
    for turn in range(COUNT):
        order = senders[:]
        shuffle(order)  # each contender after each other alike (a rotation keeps one predecessor)
        for sender in order:
            sender()
            await asyncio.sleep(GAP)
raw_tx.close(); naive_tx.close(); floor_tx.close(); peer_tx.close()
""".replace("%s", NOW_JS)


def run(bench: Bench) -> None:
    raw = bench.raw_pages(1)[0]
    sender, receiver = bench.py_pages(2)
    bench.settle(receiver)
    raw.evaluate(_JS_RECEIVE)
    run_py(receiver, _PY_RECEIVE)
    count = bench.size.latency_rounds * 60
    run_py(sender, _SEND.replace("COUNT", str(count)).replace("GAP", str(GAP_S)).replace("SEED", str(ORDER_SEED)))
    raw.wait_for_function(f"() => window.lat.length >= {count}")
    receiver.wait_for_function(f"() => pyodide.runPython('min(len(v) for v in lat.values())') >= {count}")
    got = run_py(receiver, "lat")
    samples = {"js": raw.evaluate("() => window.lat")[WARMUP:], "naive_py": got["naive"][WARMUP:],
               "floor_py": got["floor"][WARMUP:], "pytabby": got["pytabby"][WARMUP:], "js_peer": got["js_peer"][WARMUP:]}
    bench.results.samples["latency_ms"] = samples
    js_, naive_, floor, mine = samples["js"], samples["naive_py"], samples["floor_py"], samples["pytabby"]
    low, high = ratio_interval(mine, js_, 0.5)
    bench.results.add(Row(
        "bus one-way latency, 1 msg / 4 ms, contenders in turn",
        summary(mine),
        f"naive Python {summary(naive_)}; Python floor {summary(floor)}; raw JS {summary(js_)}",
        f"p50 {p50(mine) / p50(naive_):.2f}x naive Python, {p50(mine) / p50(js_):.2f}x raw JS (interval "
        f"{low:.2f}-{high:.2f}), "
        f"{p50(mine) / p50(floor):.2f}x the Python floor (itself {p50(floor) / p50(js_):.2f}x raw JS); "
        f"p99 {pct(mine, 0.99) / pct(naive_, 0.99):.2f}x naive",
        [Target("p50 x naive Python", p50(mine) / p50(naive_), 1.0),
         Target("p50 x raw JS", p50(mine) / p50(js_), 1.5),
         Target("p99 ms", pct(mine, 0.99), 3.0)],
    ))
    peer = samples["js_peer"]
    bench.results.add(Row(
        "bus one-way latency from a JS peer (purrtabby's shape), same turns",
        summary(peer),
        f"raw JS {summary(js_)}; naive Python (its receive converts the object) {summary(naive_)}",
        f"p50 {p50(peer) / p50(js_):.2f}x raw JS, {p50(peer) / p50(naive_):.2f}x naive Python",
    ))
    bench.close([raw, sender, receiver])
