"""Leader hand-over: the leader tab is closed, time until the next tab holds leadership.

All tabs open and settle first, then the leader is closed ``trials`` times in a row: booting a
Pyodide tab between trials would put seconds of wasm compilation into the figure.
"""

from __future__ import annotations

import time

from .harness import NOW_JS, NOW_PY, Bench, Row, Target, names, p50, pct, run_py, summary

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


def run(bench: Bench) -> None:
    trials = bench.size.handover_trials
    samples = {
        "web_locks": _trials(bench, trials, "/raw.html", _JS_LOCK_LEADER),
        # The same JS in tabs that booted Pyodide: what closing a ~100 MB wasm tab costs the engine.
        "web_locks_pyodide_tabs": _trials(bench, trials, None, _JS_LOCK_LEADER),
        "broadcast_channel": _trials(bench, trials, "/bench/broadcast-channel.html", _BC_LEADER),
        "pytabby": _trials(bench, trials, None, _PYTABBY_LEADER, python=True),
    }
    bench.results.samples["handover_ms"] = samples
    mine, bc, locks, heavy = (samples[key] for key in ("pytabby", "broadcast_channel", "web_locks",
                                                        "web_locks_pyodide_tabs"))
    bench.results.add(Row(
        f"leader hand-over, page.close() -> acquire, {trials} trials",
        summary(mine),
        f"raw Web Locks {summary(locks)}; raw Web Locks in Pyodide tabs {summary(heavy)}; "
        f"broadcast-channel {summary(bc)}",
        f"p50 {p50(mine) / p50(bc):.2f}x broadcast-channel, {p50(mine) / p50(locks):.2f}x raw Web Locks; "
        f"p99 {pct(mine, 0.99) / pct(heavy, 0.99):.2f}x raw Web Locks in Pyodide tabs",
        [Target("p99 ms", pct(mine, 0.99), 30.0), Target("p50 x broadcast-channel", p50(mine) / p50(bc), 1.0)],
    ))


def _trials(bench: Bench, trials: int, url: str | None, setup: str, python: bool = False) -> list[float]:
    """``url`` None: Pyodide tabs; ``python``: ``setup`` is Python, else JS."""
    key = f"ho-{next(names)}"
    pages = bench.py_pages(trials + 1) if url is None else bench.raw_pages(trials + 1, url)
    for page in pages:  # joined in order, so the lock queue is the page order
        if python:
            run_py(page, setup.replace("KEY", repr(key)))
        else:
            page.evaluate(setup, key)
        if page is pages[0]:
            page.wait_for_function("() => window.acquiredAt > 0")
    bench.settle(pages[0])
    samples = []
    for leader, successor in zip(pages, pages[1:]):
        started = time.time() * 1000
        leader.close()
        successor.wait_for_function("() => window.acquiredAt > 0", polling=5)
        samples.append(successor.evaluate("() => window.acquiredAt") - started)
    bench.close(pages)
    return samples
