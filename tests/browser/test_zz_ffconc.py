"""Probe (not committed): do two same-site tabs run at the same time?"""
from pytabby.pytest import run_py


def test_probe_concurrency(tabs, pytabby_engine):
    pages = tabs(4)
    for i, page in enumerate(pages[1:]):
        run_py(page, "import js\njs.eval('window.__ticks = 0; window.__iv = setInterval(() => window.__ticks++, 5)')")
    run_py(pages[0], "import js\njs.eval('const t = performance.now(); while (performance.now() - t < 300) {}')")
    counts = [run_py(page, "import js\nn = js.eval('clearInterval(window.__iv); window.__ticks'); n") for page in pages[1:]]
    print("\nTICKS during the other tab's 300 ms task (plus the driver's calls):", counts)
