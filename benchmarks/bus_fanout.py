"""Bus fan-out: one message to N tabs, time until the slowest receiver's handler ran.

pytabby, naive Python and raw JS take turns, one message each per round in an order shuffled each
round (see the latency figure), on the same tabs. A full run takes 300 rounds so that p99 is a
percentile (3 rounds above it), not the slowest round of 60: one stalled renderer among the
receivers decides that round.
"""

from __future__ import annotations

from .harness import NOW_JS, NOW_PY, Bench, Row, Target, p50, pct, ratio_interval, run_py, summary

GAP_S = 0.02  # between rounds: every receiver is done before the next message
ORDER_SEED = 17  # the rounds' orders, the same in every run

_JS_RECEIVE = "() => { window.fanJs = []; new BroadcastChannel('fan-js').onmessage = (e) => window.fanJs.push(%s); }" % NOW_JS
_PY_RECEIVE = f"""
from pyodide.ffi import create_proxy
from pytabby import create_bus
fan = {{"naive": [], "pytabby": []}}
def naive_receive(event):
    event.data.to_py()
    fan["naive"].append({NOW_PY})
fan_naive = js.BroadcastChannel.new("fan-naive")
fan_naive.onmessage = create_proxy(naive_receive)
fan_bus = create_bus("fan-py")
fan_bus.subscribe("m", lambda msg: fan["pytabby"].append({NOW_PY}))
"""
_SEND = f"""
import random
from pyodide.ffi import to_js
from pytabby import create_bus
send_js = js.eval("(ch) => ch.postMessage({{type: 'm', payload: 0, tabId: 'js', ts: %s}})")
raw_tx, naive_tx = js.BroadcastChannel.new("fan-js"), js.BroadcastChannel.new("fan-naive")
sent = {{"js": [], "naive": [], "pytabby": []}}
shuffle = random.Random(SEED).shuffle
with create_bus("fan-py") as py_tx:
    senders = {{"js": lambda r: send_js(raw_tx),
               "naive": lambda r: naive_tx.postMessage(to_js({{"type": "m", "payload": r, "tabId": "py", "ts": 0}},
                                                             dict_converter=js.Object.fromEntries)),
               "pytabby": lambda r: py_tx.publish("m", r)}}
    order = list(senders)
    for r in range(ROUNDS):
        shuffle(order)  # each contender after each other alike, as in the latency figure
        for name in order:
            sent[name].append({NOW_PY})
            senders[name](r)
            await asyncio.sleep(GAP)
raw_tx.close(); naive_tx.close()
sent
""".replace("%s", NOW_JS)


def run(bench: Bench) -> None:
    for tabs in bench.size.fanout_tabs:
        _fanout(bench, tabs)


def _fanout(bench: Bench, tabs: int) -> None:
    rounds = bench.size.fanout_rounds
    raw = bench.raw_pages(tabs)
    py = bench.py_pages(tabs + 1)
    sender, receivers = py[0], py[1:]
    for page in raw:
        page.evaluate(_JS_RECEIVE)
    for page in receivers:
        run_py(page, _PY_RECEIVE)
    bench.settle(sender)
    sent = run_py(sender, _SEND.replace("ROUNDS", str(rounds)).replace("GAP", str(GAP_S)).replace("SEED", str(ORDER_SEED)))
    arrivals = {"js": [page.evaluate("() => window.fanJs") for page in raw]}
    for variant in ("naive", "pytabby"):
        arrivals[variant] = [run_py(page, f"fan[{variant!r}]") for page in receivers]
    slowest = {}
    for variant, per_tab in arrivals.items():
        if any(len(times) != rounds for times in per_tab):
            raise AssertionError(f"fan-out {variant}: a tab missed messages ({[len(t) for t in per_tab]})")
        slowest[variant] = [max(times[r] for times in per_tab) - sent[variant][r] for r in range(rounds)][3:]
    bench.results.samples[f"bus_fanout_{tabs}_ms"] = slowest
    mine, naive, js_ = slowest["pytabby"], slowest["naive"], slowest["js"]
    low, high = ratio_interval(mine, naive, 0.99)
    bench.results.add(Row(
        f"bus fan-out, 1 msg to {tabs} tabs, slowest receiver",
        summary(mine),
        f"naive Python {summary(naive)}; raw JS {summary(js_)}",
        f"p50 {p50(mine) / p50(naive):.2f}x naive, p99 {pct(mine, 0.99) / pct(naive, 0.99):.2f}x naive "
        f"(95% interval over rounds {low:.2f}-{high:.2f}); p50 {p50(mine) / p50(js_):.2f}x raw JS",
        [Target("p50 x naive Python", p50(mine) / p50(naive), 1.0),
         Target("p99 x naive Python", pct(mine, 0.99) / pct(naive, 0.99), 1.0)],
    ))
    bench.close(raw + py)
