"""Leader hand-over: the leader tab is closed, time until the next tab holds leadership.

All tabs open and settle first, then the leader is closed ``trials`` times in a row: booting a
Pyodide tab between trials would put seconds of wasm compilation into the figure.
Pyodide tabs are warmed up first, as an app's tabs are by the time one closes (``warm_up``); the
same trials in tabs that have only booted are reported beside the target's.
A trial starts when the close command leaves for the browser: in Firefox and WebKit the test
kit's work before it (reading the window's console for reports, picking the window) took 3-15 ms.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .engine_pages import KitContext
from .harness import NOW_JS, NOW_PY, Bench, Row, Target, names, p50, pct, run_py, summary

# A successor that has not acquired this long after its leader's close ends its contender's trials
# (the lock queue is stuck, so later trials would measure nothing). In three of eight full Chromium
# runs the browser's own reclaim never handed a closed Pyodide tab's lock on (raw JS contender).
STUCK_AFTER_MS = 30_000
LABELS = {"web_locks": "raw Web Locks", "web_locks_pyodide_tabs": "raw Web Locks in Pyodide tabs",
          "web_locks_at_pagehide": "a JS lock let go at pagehide in Pyodide tabs",
          "broadcast_channel": "broadcast-channel", "pytabby": "pytabby",
          "pytabby_just_booted": "pytabby in tabs just booted",
          "pytabby_user_close": "pytabby closed as a user closes a tab"}
# Tabs that have only booted and started their electors keep the engine's background workers busy
# through the first trials: in Chromium (21 tabs) 0.1-0.23 s of CPU on the renderers'
# ThreadPoolForeground threads (V8's compile and GC workers; the main threads idle) in each of the
# first ~10 trials, spread over every follower, and none later, while the successor's grant waits
# for a core (trials up to 217 ms). An app's tabs have run a while before one closes: once every
# tab has joined the line, each publishes WARM_UP_MESSAGES on a bus every tab hears. (The same
# messages before the tabs joined: four runs of 20 trials had a trial of 89-219 ms in three;
# after: 4-25 ms at most in four.)
WARM_UP_MESSAGES = 20
WARM_UP_GAP_S = 0.003  # lone messages, each received on its own, as an app's are

_WARM_UP_OPEN = """
from pytabby import create_bus
warm_up_bus = create_bus(CHANNEL)
js.window.warmUpHeard = 0
def warm_up_heard(message):
    js.window.warmUpHeard += 1
warm_up_bus.subscribe("warm-up", warm_up_heard)
"""
_WARM_UP_SEND = f"""
for term in range({WARM_UP_MESSAGES}):
    warm_up_bus.publish("warm-up", {{"term": term, "leader": warm_up_bus.tab_id}})
    await asyncio.sleep({WARM_UP_GAP_S})
"""

_JS_LOCK_LEADER = """(key) => {
    window.acquiredAt = 0;
    navigator.locks.request(key, () => { window.acquiredAt = %s; return new Promise(() => {}); });
}""" % NOW_JS

# An election on Web Locks handing over at pagehide with nothing else to do, as pytabby's does at a
# close that skips beforeunload: the close reaching the page and the lock manager granting the next
# tab. Tabs of its own (in pytabby's tabs, a second lock let go at the same pagehide changes the
# first one's figure: in Chromium the lock let go first is granted first, the others up to ~30 ms
# later), run before broadcast-channel's light pages, so pytabby's set follows the same as before.
_JS_LOCK_LET_GO_AT_PAGEHIDE = """(key) => {
    window.acquiredAt = 0;
    navigator.locks.request(key, () => {
        window.acquiredAt = %s;
        return new Promise((release) => addEventListener("pagehide", release));
    });
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


class _Stuck(Exception):
    """A successor did not acquire within ``STUCK_AFTER_MS`` of its leader's close."""

    def __init__(self, samples: list[float]) -> None:
        super().__init__(len(samples))
        self.samples = samples


def run(bench: Bench) -> None:
    trials = bench.size.handover_trials
    contenders: dict[str, Callable[[], list[float]]] = {
        "web_locks": lambda: _trials(bench, trials, "/raw.html", _JS_LOCK_LEADER),
        # The same JS in tabs that booted Pyodide: what closing a ~100 MB wasm tab costs the engine.
        "web_locks_pyodide_tabs": lambda: _trials(bench, trials, None, _JS_LOCK_LEADER),
        "web_locks_at_pagehide": lambda: _trials(bench, trials, None, _JS_LOCK_LET_GO_AT_PAGEHIDE),
        "broadcast_channel": lambda: _trials(bench, trials, "/bench/broadcast-channel.html", _BC_LEADER),
        "pytabby": lambda: _trials(bench, trials, None, _PYTABBY_LEADER, python=True),
        "pytabby_just_booted": lambda: _trials(bench, trials, None, _PYTABBY_LEADER, python=True, warm=False),
    }
    # Playwright's page.close() skips beforeunload; a user's close (or window.close()) runs it, and
    # pytabby listens for it. The test kit's closes are left as they are: Marionette's runs it
    # already, WebKitWebDriver's does not and the kit has no close that does (the browser tier checks both).
    if not isinstance(bench.context, KitContext):
        contenders["pytabby_user_close"] = lambda: _trials(bench, trials, None, _PYTABBY_LEADER, python=True,
                                                           user_close=True)
    samples: dict[str, list[float]] = {}
    stuck: list[str] = []
    for key, contender in contenders.items():
        try:
            samples[key] = contender()
        except _Stuck as shortfall:
            samples[key] = shortfall.samples
            stuck.append(key)
    bench.results.samples["handover_ms"] = samples
    bench.results.samples["handover_stuck"] = stuck
    notes = [f"{LABELS[key]}: trial {len(samples[key]) + 1} never acquired within {STUCK_AFTER_MS / 1000:g} s "
             f"(its {len(samples[key])} trials before it kept)" for key in stuck]
    flags = [note for key, note in zip(stuck, notes) if key == "pytabby"]
    mine, bc, locks, heavy, at_pagehide, cold = (samples[key] for key in (
        "pytabby", "broadcast_channel", "web_locks", "web_locks_pyodide_tabs", "web_locks_at_pagehide",
        "pytabby_just_booted"))
    user_closed = (f"; {LABELS['pytabby_user_close']} (beforeunload runs; reported) "
                   f"{_summary(samples['pytabby_user_close'])}" if "pytabby_user_close" in samples else "")
    # A contender stuck at its first trial has no samples: each ratio and target is kept when the
    # contenders it compares have samples, and the note says why the others are left out.
    parts = []
    if mine and bc:
        parts.append(f"p50 {p50(mine) / p50(bc):.2f}x broadcast-channel")
    if mine and locks:
        parts.append(f"p50 {p50(mine) / p50(locks):.2f}x raw Web Locks")
    if mine and heavy:
        parts.append(f"p99 {pct(mine, 0.99) / pct(heavy, 0.99):.2f}x raw Web Locks in Pyodide tabs")
    if mine and at_pagehide:
        parts.append(f"p50 {p50(mine) / p50(at_pagehide):.2f}x, p99 {pct(mine, 0.99) / pct(at_pagehide, 0.99):.2f}x "
                     "a JS lock let go at pagehide")
    if mine and cold:
        parts.append(f"p99 {pct(mine, 0.99) / pct(cold, 0.99):.2f}x in tabs just booted")
    ratio = "; ".join(parts) or "-"
    targets = [Target("p99 ms", pct(mine, 0.99), 30.0)] if mine else []
    if mine and bc:
        targets.append(Target("p50 x broadcast-channel", p50(mine) / p50(bc), 1.0))
    bench.results.add(Row(
        f"leader hand-over, page.close() -> acquire, {trials} trials",
        _summary(mine),
        f"raw Web Locks {_summary(locks)}; raw Web Locks in Pyodide tabs {_summary(heavy)}; "
        f"{LABELS['web_locks_at_pagehide']} {_summary(at_pagehide)}; "
        f"broadcast-channel {_summary(bc)}; pytabby in tabs just booted (reported) {_summary(cold)}"
        + user_closed + "".join(f"; {note}" for note in notes),
        ratio,
        targets,
        flags,
    ))


def _summary(samples: list[float]) -> str:
    return summary(samples) if samples else "no trial completed"


def _trials(bench: Bench, trials: int, url: str | None, setup: str, python: bool = False,
            warm: bool = True, user_close: bool = False) -> list[float]:
    """``url`` None: Pyodide tabs, warmed up unless not ``warm``; ``python``: ``setup`` is Python, else JS;
    ``user_close``: Playwright closes each leader running its beforeunload listeners first."""
    key = f"ho-{next(names)}"
    pages = bench.py_pages(trials + 1) if url is None else bench.raw_pages(trials + 1, url)
    for page in pages:  # joined in order, so the lock queue is the page order
        if python:
            run_py(page, setup.replace("KEY", repr(key)))
        else:
            page.evaluate(setup, key)
        if page is pages[0]:
            page.wait_for_function("() => window.acquiredAt > 0")
    if url is None and warm:
        warm_up(pages, f"warm-up-{key}")
    bench.settle(pages[0])
    samples: list[float] = []
    try:
        for leader, successor in zip(pages, pages[1:]):
            started = time.time() * 1000
            # Playwright's Page: None; the kit's tabs: after their bookkeeping
            sent_at = leader.close(run_before_unload=True) if user_close else leader.close()
            if sent_at is not None:
                started = sent_at * 1000
            try:
                successor.wait_for_function("() => window.acquiredAt > 0", polling=5, timeout=STUCK_AFTER_MS)
            except Exception as exc:  # Playwright's TimeoutError, or the builtin one from the kit's tabs
                if type(exc).__name__ != "TimeoutError":
                    raise
                raise _Stuck(samples) from exc
            samples.append(successor.evaluate("() => window.acquiredAt") - started)
    finally:
        bench.close(pages)
    return samples


def warm_up(pages: list[Any], channel: str) -> None:
    """Every tab publishes ``WARM_UP_MESSAGES`` on ``channel``; back when every tab heard all of them."""
    for page in pages:
        run_py(page, _WARM_UP_OPEN.replace("CHANNEL", repr(channel)))
    for page in pages:
        run_py(page, _WARM_UP_SEND)
    everyone = WARM_UP_MESSAGES * len(pages)  # a bus hears its own tab's messages too
    for page in pages:
        page.wait_for_function(f"() => window.warmUpHeard === {everyone}", polling=20)
    for page in pages:
        run_py(page, "warm_up_bus.close()")
