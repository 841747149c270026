"""What every benchmark module shares: sizes, rows judged against their targets, tabs, the server.

All timings use the clock the tabs share (performance.timeOrigin + performance.now()).
Absolute numbers drift on a busy machine; ratios measured side by side in one run hold,
so every contender of a figure runs in the same browser, interleaved where it can be.
"""

from __future__ import annotations

import itertools
import json
import operator
import random
import secrets
import statistics
import tomllib
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.request import Request, urlopen

from pytabby.pytest.pages import RUN_PY_JS, STARTUP_TRAPPED_JS

ROOT = Path(__file__).resolve().parent.parent
NOW_JS = "(performance.timeOrigin + performance.now())"
# A Python contender's stamp: one call into JS, ``performance.now`` bound once per page (PY_CLOCK,
# run in every Pyodide page). Looking up ``js.performance`` and its attributes at each stamp cost a
# cold Firefox tab 50-90 µs a stamp, which the raw JS contenders' stamps never pay.
PY_CLOCK = "import js, asyncio\nbench_now = js.performance.now\nbench_origin = js.performance.timeOrigin"
NOW_PY = "(bench_origin + bench_now())"
SETTLE_MS = 3000  # after booting tabs: let background wasm compilation finish before timing
BOOT_TIMEOUT_MS = 120_000  # booting Pyodide in several tabs at once on 2 cores takes 7-13 s each
BOOT_GROUP = 4
# What loadPackage() knows pytabby by: the distribution's name.
PACKAGE = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"]
names = itertools.count()


@dataclass(frozen=True)
class Size:
    messages: int
    throughput_rounds: int
    own_cost_rounds: int
    latency_rounds: int
    fanout_tabs: tuple[int, ...]
    fanout_rounds: int
    handover_trials: int
    socket_tabs: tuple[int, ...]


SIZES = {
    "full": Size(20_000, 9, 5, 8, (10, 20), 300, 20, (1, 5, 10)),
    "quick": Size(5_000, 2, 2, 3, (4, 8), 20, 5, (1, 5)),
    "tiny": Size(300, 1, 1, 1, (2,), 5, 2, (1, 2)),
}


@dataclass(frozen=True)
class Target:
    """One target: ``value <op> limit``, e.g. latency ratio <= 1.5."""

    what: str
    value: float
    limit: float
    op: str = "<="  # or ">=", "=="

    @property
    def met(self) -> bool:
        compare = {"<=": operator.le, ">=": operator.ge, "==": operator.eq}[self.op]
        return bool(compare(round(self.value, 6), self.limit))

    def __str__(self) -> str:
        return f"{self.what} {self._shown()} {self.op} {self.limit:g}: {'met' if self.met else 'MISSED'}"

    def _shown(self) -> str:
        """The value to three digits, or to as many more as it takes for the printed number to be
        judged as the value is (1.0004 <= 1 is missed: not "1 <= 1: MISSED")."""
        for digits in range(3, 7):
            shown = f"{self.value:.{digits}g}"
            if Target(self.what, float(shown), self.limit, self.op).met == self.met:
                return shown
        return repr(round(self.value, 6))


@dataclass
class Row:
    figure: str
    pytabby: str
    comparisons: str
    ratio: str
    targets: list[Target] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # figures that contradict a guarantee

    @property
    def verdict(self) -> str:
        if self.flags:
            return "FLAGGED: " + "; ".join(self.flags)
        if not self.targets:
            return "reported"
        return "; ".join(str(target) for target in self.targets)


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)
    samples: dict[str, Any] = field(default_factory=dict)

    def add(self, row: Row) -> None:
        self.rows.append(row)
        print(f"  {row.figure}: {row.pytabby} | {row.comparisons} | {row.ratio} | {row.verdict}", flush=True)


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ratio_interval(mine: list[float], theirs: list[float], q: float, resamples: int = 2000) -> tuple[float, float]:
    """95% bootstrap interval of ``pct(mine, q) / pct(theirs, q)``, resampling whole rounds.

    ``mine[i]`` and ``theirs[i]`` are one round's (sent in turn, under the same load), so a round is
    drawn with both. A p99 of 297 rounds rests on its few slowest: the interval says whether a
    ratio's distance from a target is more than those rounds' luck.
    """
    rounds = range(len(mine))
    draw = random.Random(0).choices  # seeded: the same samples always give the same interval
    ratios = sorted(pct([mine[i] for i in picks], q) / pct([theirs[i] for i in picks], q)
                    for picks in (draw(rounds, k=len(mine)) for _ in range(resamples)))
    return ratios[round(0.025 * (resamples - 1))], ratios[round(0.975 * (resamples - 1))]


def p50(samples: list[float]) -> float:
    return statistics.median(samples)


def summary(samples: list[float], unit: str = "ms") -> str:
    return f"p50 {p50(samples):.2f} / p99 {pct(samples, 0.99):.2f} {unit} (n={len(samples)})"


def run_py(page: Any, code: str) -> Any:
    """Run Python in a Pyodide page (top-level await allowed); its last expression's value as data."""
    return page.evaluate(RUN_PY_JS, [code])


def start_server(isolated: bool = True) -> tuple[Any, str]:
    """The project's server (the test kit's thread) on a free loopback port, and its /control token.

    Pages are served cross-origin isolated (COOP + COEP): they read ``performance.now()`` at 5 µs
    instead of 100 µs (Chromium) or 1 ms (Firefox, WebKit), so sub-millisecond figures are measured,
    not quantized. Every contender gets the same pages. ``isolated=False``: ordinary pages, as most
    sites serve them (Firefox runs a site's isolated tabs in one process, its ordinary tabs apart).
    """
    from pytabby.pytest.serve import ServerThread, find_pyodide

    token = secrets.token_urlsafe(16)
    server = ServerThread(ROOT / "web", find_pyodide(ROOT / "web", None), token, cross_origin_isolated=isolated)
    return server.start(), token


class Bench:
    """One Chromium profile, the project's server, and helpers to open tabs of each kind."""

    def __init__(self, context: Any, base_url: str, token: str, size: Size, plain_base: str) -> None:
        self.context = context
        self.base = base_url
        self.plain_base = plain_base  # the same pages, not cross-origin isolated (``start_server``)
        self.token = token
        self.size = size
        self.results = Results()

    def raw_pages(self, count: int, url: str = "/raw.html", *, plain: bool = False) -> list[Any]:
        pages = [self.context.new_page() for _ in range(count)]
        for page in pages:
            page.goto(self._url(url, plain))
        return pages

    def py_pages(self, count: int, *, plain: bool = False) -> list[Any]:
        pages: list[Any] = []
        url = self._url("/playground.html", plain)
        while len(pages) < count:  # a few at a time: twenty tabs compiling wasm at once starve each other
            group = [self.context.new_page() for _ in range(min(BOOT_GROUP, count - len(pages)))]
            for page in group:
                page.goto(url, wait_until="commit")
            for index, page in enumerate(group):
                try:
                    self._wait_booted(page)
                except Exception:
                    if page.evaluate(STARTUP_TRAPPED_JS) is not True:
                        raise
                    # WebKitGTK's wasm engine now and then fails Pyodide's own startup, before any
                    # page code runs: one fresh tab in its place, as the test kit's tabs() does.
                    print(f"a tab's Pyodide startup failed in the browser's wasm engine; booting {url} once more",
                          flush=True)
                    self.results.samples.setdefault("startup_traps_replaced", []).append(url)
                    page.close()
                    page = group[index] = self.context.new_page()
                    page.goto(url, wait_until="commit")
                    self._wait_booted(page)
                run_py(page, PY_CLOCK)
            pages += group
        return pages

    @staticmethod
    def _wait_booted(page: Any) -> None:
        page.wait_for_function("() => window.pytabbyReady !== undefined", timeout=BOOT_TIMEOUT_MS)
        page.evaluate("async () => { await window.pytabbyReady; }")  # its value (Pyodide) is not data

    def _url(self, path: str, plain: bool) -> str:
        return f"{self.plain_base}{path}" if plain else f"{self.base}{path}"

    def bare_page(self) -> Any:
        """Pyodide booted, pytabby not loaded: what pytabby adds is measured from here."""
        page = self.context.new_page()
        page.goto("/bench/bare.html")
        page.wait_for_function("() => window.bareReady !== undefined", timeout=BOOT_TIMEOUT_MS)
        page.evaluate("async () => { await window.bareReady; }")
        return page

    def run(self, figures: dict[str, Callable[[Bench], None]]) -> None:
        """Run each figure; one that fails becomes a flagged row (its pages closed) and the rest still run.

        A figure whose tab's renderer crashed (Chromium does, rarely, with twenty Pyodide tabs on
        2 cores) runs once more on fresh tabs; the retry is printed and kept in the samples.
        """
        for name, figure in figures.items():
            for attempt in (1, 2):
                print(f"{name}...", flush=True)
                try:
                    figure(self)
                    break
                except Exception as exc:
                    traceback.print_exc()
                    for page in self.context.pages:
                        page.close()
                    if attempt == 1 and "crashed" in str(exc).lower():
                        print(f"{name}: a tab crashed ({exc}); running the figure again on fresh tabs", flush=True)
                        self.results.samples.setdefault("retried_after_a_crash", []).append(name)
                        continue
                    self.results.add(Row(name, "-", "-", "-", flags=[f"run failed: {type(exc).__name__}: {exc}"[:300]]))
                    break

    @staticmethod
    def settle(page: Any) -> None:
        page.wait_for_timeout(SETTLE_MS)

    @staticmethod
    def close(pages: list[Any]) -> None:
        for page in pages:
            if not page.is_closed():
                page.close()

    def post(self, path: str, body: bytes = b"") -> dict[str, Any]:
        headers = {"Content-Type": "text/plain", "X-Pytabby-Token": self.token}
        request = Request(f"{self.base}{path}", data=body, method="POST", headers=headers)
        with urlopen(request) as response:
            answer: dict[str, Any] = json.load(response)
        return answer

    def stats(self) -> dict[str, Any]:
        with urlopen(f"{self.base}/stats") as response:
            stats: dict[str, Any] = json.load(response)
        return stats


def table(results: Results) -> str:
    lines = ["| figure | pytabby | comparison (same run) | ratio | target: met / missed |", "|---|---|---|---|---|"]
    lines += [f"| {r.figure} | {r.pytabby} | {r.comparisons} | {r.ratio} | {r.verdict} |" for r in results.rows]
    return "\n".join(lines)
