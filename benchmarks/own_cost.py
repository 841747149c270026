"""What pytabby adds to a tab whose Pyodide is ready: boot time and memory.

Time: ``loadPackage`` + ``import pytabby`` + a first bus that publishes, in a fresh page per sample.
The first ``loadPackage`` of a tab also starts Pyodide's package manager (~150 ms whatever the
package: an app loading any package pays it once), so two figures: cold (pytabby is the tab's first
package) and pytabby's own share (the manager started by loading ``packaging`` first).
Memory (another page, since tracemalloc slows the import it measures): JS heap (precise
``performance.memory`` after a forced GC), Python heap (tracemalloc) and wasm memory growth.
"""

from __future__ import annotations

import statistics

from .harness import PACKAGE, Bench, Row, Target

_MEASURE = """async ([PACKAGE, prime, trace]) => {
    if (prime) await pyodide.loadPackage("packaging", {messageCallback: () => {}});
    if (trace) pyodide.runPython("import tracemalloc; tracemalloc.start()");
    const heap = () => pyodide._module.HEAP8.buffer.byteLength;
    const jsHeap = async () => {  // settled: two full collections, a task apart
        gc(); await new Promise((r) => setTimeout(r, 50)); gc();
        return performance.memory.usedJSHeapSize;
    };
    const wasm0 = heap(), js0 = await jsHeap();
    const t0 = performance.now();
    await pyodide.loadPackage(PACKAGE, {messageCallback: () => {}});
    const t1 = performance.now();
    pyodide.runPython("import pytabby");
    const t2 = performance.now();
    pyodide.runPython("bus = pytabby.create_bus('cost'); bus.publish('x', 1)");
    const t3 = performance.now();
    const py = trace ? pyodide.runPython("tracemalloc.get_traced_memory()[0]") : 0;
    return {total: t3 - t0, load: t1 - t0, import: t2 - t1, bus: t3 - t2,
            python: py / 2 ** 20, js: (await jsHeap() - js0) / 2 ** 20, wasm: (heap() - wasm0) / 2 ** 20};
}"""


def run(bench: Bench) -> None:
    runs: dict[str, list[dict[str, float]]] = {"cold": [], "own": [], "memory": []}
    for _ in range(max(3, bench.size.own_cost_rounds)):
        runs["cold"].append(_measure(bench, prime=False, trace=False))
        runs["own"].append(_measure(bench, prime=True, trace=False))
        runs["memory"].append(_measure(bench, prime=True, trace=True))
    bench.results.samples["own_cost"] = runs
    cold, own, m = ({key: statistics.median(sample[key] for sample in samples) for key in samples[0]}
                    for samples in runs.values())
    bench.results.add(Row(
        "loadPackage + import + first bus, per tab (Pyodide ready)",
        f"pytabby's own {own['total']:.0f} ms (loadPackage {own['load']:.0f}, import {own['import']:.0f}, "
        f"first bus {own['bus']:.0f})",
        f"cold, pytabby the tab's first package: {cold['total']:.0f} ms (loadPackage {cold['load']:.0f})",
        "-",
        [Target("own ms", own["total"], 100.0), Target("cold ms", cold["total"], 100.0)],
    ))
    share = m["js"] + m["python"] + m["wasm"]
    bench.results.add(Row(
        "pytabby's memory share per tab (JS heap + Python heap + wasm growth)",
        f"{share:.2f} MB",
        f"JS heap +{m['js']:.2f} MB, Python heap +{m['python']:.2f} MB (tracemalloc), wasm memory +{m['wasm']:.2f} MB",
        "-",
        [Target("MB", share, 2.0)],
    ))


def _measure(bench: Bench, prime: bool, trace: bool) -> dict[str, float]:
    page = bench.bare_page()
    try:
        figures: dict[str, float] = page.evaluate(_MEASURE, [PACKAGE, prime, trace])
        return figures
    finally:
        page.close()
