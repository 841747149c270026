"""What pytabby adds to a tab whose Pyodide is ready: boot time and memory.

Time: install + ``import pytabby`` + a first bus that publishes, in a fresh page per sample, three
ways: the boot script (``/pytabby-boot.js`` unpacks the wheel itself), and ``loadPackage`` cold
(pytabby the tab's first package: the call also starts Pyodide's installer, ~70 ms whatever the
package, paid once by an app loading any package) and primed (the installer started by loading
``packaging`` first: pytabby's own share). That first ``loadPackage("packaging")`` is timed too:
what any package costs as a tab's first, the floor under the cold figure.
Memory (another page, since tracemalloc slows the import it measures): JS heap (precise
``performance.memory`` after a forced GC), Python heap (tracemalloc) and wasm memory growth.
"""

from __future__ import annotations

import statistics

from .harness import BOOT_TIMEOUT_MS, PACKAGE, Bench, Row, Target

# The first bus every way is timed by: the same code in each.
_FIRST_BUS = "bus = pytabby.create_bus('cost'); bus.publish('x', 1)"

_MEASURE = """async ([PACKAGE, firstBus, prime, trace]) => {
    const tp = performance.now();
    if (prime) await pyodide.loadPackage("packaging", {messageCallback: () => {}});
    const primeMs = performance.now() - tp;
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
    pyodide.runPython(firstBus);
    const t3 = performance.now();
    const py = trace ? pyodide.runPython("tracemalloc.get_traced_memory()[0]") : 0;
    return {total: t3 - t0, load: t1 - t0, import: t2 - t1, bus: t3 - t2, prime: primeMs,
            python: py / 2 ** 20, js: (await jsHeap() - js0) / 2 ** 20, wasm: (heap() - wasm0) / 2 ** 20};
}"""


_BOOTED = """(firstBus) => {
    const load = performance.getEntriesByName("pytabby:load")[0].duration;
    const t0 = performance.now();
    pyodide.runPython(firstBus);
    const bus = performance.now() - t0;
    return {total: load + bus, load, bus};
}"""


def run(bench: Bench) -> None:
    runs: dict[str, list[dict[str, float]]] = {"boot": [], "cold": [], "own": [], "memory": []}
    for _ in range(max(3, bench.size.own_cost_rounds)):
        runs["boot"].append(_boot_script(bench))
        runs["cold"].append(_measure(bench, prime=False, trace=False))
        runs["own"].append(_measure(bench, prime=True, trace=False))
        runs["memory"].append(_measure(bench, prime=True, trace=True))
    bench.results.samples["own_cost"] = runs
    boot, cold, own, m = ({key: statistics.median(sample[key] for sample in samples) for key in samples[0]}
                          for samples in runs.values())
    bench.results.add(Row(
        "install + import + first bus, per tab (Pyodide ready)",
        f"boot script {boot['total']:.0f} ms (install + import {boot['load']:.0f}, first bus {boot['bus']:.0f})",
        f"loadPackage, pytabby the tab's first package: {cold['total']:.0f} ms (loadPackage {cold['load']:.0f}); "
        f"loadPackage after another package (pytabby's own share): {own['total']:.0f} ms (loadPackage "
        f"{own['load']:.0f}, import {own['import']:.0f}, first bus {own['bus']:.0f}); Pyodide's floor, "
        f"loadPackage('packaging') as a tab's first package: {own['prime']:.0f} ms",
        f"{boot['total'] / cold['total']:.2f}x loadPackage cold",
        [Target("boot script ms", boot["total"], 100.0), Target("loadPackage own ms", own["total"], 100.0),
         Target("loadPackage cold ms", cold["total"], 100.0)],
    ))
    share = m["js"] + m["python"] + m["wasm"]
    bench.results.add(Row(
        "pytabby's memory share per tab (JS heap + Python heap + wasm growth)",
        f"{share:.2f} MB",
        f"JS heap +{m['js']:.2f} MB, Python heap +{m['python']:.2f} MB (tracemalloc), wasm memory +{m['wasm']:.2f} MB",
        "-",
        [Target("MB", share, 2.0)],
    ))


def _boot_script(bench: Bench) -> dict[str, float]:
    page = bench.context.new_page()
    try:
        page.goto("/bench/boot.html")
        page.wait_for_function("() => window.pytabbyReady !== undefined", timeout=BOOT_TIMEOUT_MS)
        page.evaluate("async () => { await window.pytabbyReady; }")
        figures: dict[str, float] = page.evaluate(_BOOTED, _FIRST_BUS)
        return figures
    finally:
        page.close()


def _measure(bench: Bench, prime: bool, trace: bool) -> dict[str, float]:
    page = bench.bare_page()
    try:
        figures: dict[str, float] = page.evaluate(_MEASURE, [PACKAGE, _FIRST_BUS, prime, trace])
        return figures
    finally:
        page.close()
