"""pytabby against naive Python, raw JavaScript and npm broadcast-channel, side by side in one browser run.

    .venv/bin/python -m benchmarks                  # full run, Chromium
    .venv/bin/python -m benchmarks --quick          # smaller sizes, for iterating
    .venv/bin/python -m benchmarks --only latency fanout --write-readme /tmp/table.md
    .venv/bin/python -m benchmarks --browser firefox   # the bus and hand-over figures in Firefox (or webkit)

Prints one table, every target judged met or missed (or a figure flagged when it contradicts a
guarantee), writes every raw sample to bench-results/latest.json and, with ``--write-readme``,
the table as Markdown to the given file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

from . import bus_fanout, bus_latency, bus_throughput, handover, own_cost, shared_socket
from .engine_pages import run_figures
from .harness import ROOT, SIZES, Bench, start_server, table

FIGURES = {
    "throughput": bus_throughput.run,
    "latency": bus_latency.run,
    "fanout": bus_fanout.run,
    "handover": handover.run,
    "socket": shared_socket.run,
    "cost": own_cost.run,
}
# What Firefox and WebKit measure (through the test kit's tabs): the socket and own-cost figures
# need Playwright's init scripts and Chromium's performance.memory.
ENGINE_FIGURES = ("throughput", "latency", "fanout", "handover")
# performance.memory unbucketed and gc(), to read the JS heap exactly after a collection.
EXTRA_ARGS = ["--enable-precise-memory-info", "--js-flags=--expose-gc"]


def _chromium(figures: list[str], size: str) -> tuple[Bench, str]:
    """Every figure in one Chromium profile through Playwright."""
    from playwright.sync_api import sync_playwright

    from pytabby.pytest.config import load_settings
    from pytabby.pytest.engines.chromium import launch_args

    settings = load_settings(ROOT)  # playwright.config.py, read as the test kit reads it

    server, token = start_server()
    profile = Path(tempfile.mkdtemp(prefix="pytabby-bench-"))
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                str(profile), executable_path=settings.executable_path, args=launch_args([*settings.args, *EXTRA_ARGS]),
                headless=settings.headless, base_url=server.url,
            )
            context.set_default_timeout(120_000)
            bench = Bench(context, server.url, token, SIZES[size])
            browser_version = context.browser.version if context.browser else "?"
            bench.run({name: FIGURES[name] for name in figures})
            context.close()
    finally:
        server.stop()
        shutil.rmtree(profile, ignore_errors=True)
    return bench, f"Chromium {browser_version}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=SIZES, default="full")
    parser.add_argument("--quick", action="store_const", const="quick", dest="size")
    parser.add_argument("--tiny", action="store_const", const="tiny", dest="size")
    parser.add_argument("--only", nargs="+", choices=FIGURES)
    parser.add_argument("--browser", choices=("chromium", "firefox", "webkit"), default="chromium")
    parser.add_argument("--json", type=Path, default=ROOT / "bench-results" / "latest.json")
    parser.add_argument("--write-readme", type=Path, metavar="FILE", help="write the Markdown table to FILE")
    args = parser.parse_args(argv)
    figures = args.only or (list(FIGURES) if args.browser == "chromium" else list(ENGINE_FIGURES))
    if args.browser != "chromium" and set(figures) - set(ENGINE_FIGURES):
        parser.error(f"--browser {args.browser} measures only {', '.join(ENGINE_FIGURES)}")
    started = time.time()
    if args.browser == "chromium":
        bench, browser = _chromium(figures, args.size)
    else:
        bench, version_ = run_figures(args.browser, {name: FIGURES[name] for name in figures}, SIZES[args.size])
        browser = f"{args.browser.capitalize()} {version_}"
    heading = (f"pytabby benchmark ({args.size}), {time.time() - started:.0f} s; {browser}, "
               f"{platform.machine()}, {os.cpu_count()} cores; Playwright {version('playwright')}")
    markdown = f"{heading}\n\n{table(bench.results)}\n"
    print(f"\n{markdown}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"size": args.size, "table": markdown, "samples": bench.results.samples}, indent=1))
    print(f"raw samples: {args.json}")
    if args.write_readme:
        args.write_readme.write_text(markdown)
        print(f"table written to {args.write_readme}")
    missed = sum(not target.met for row in bench.results.rows for target in row.targets)
    flagged = sum(bool(row.flags) for row in bench.results.rows)
    print(f"targets missed: {missed}; figures flagged: {flagged}")


if __name__ == "__main__":
    main()
