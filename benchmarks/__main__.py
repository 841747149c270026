"""pytabby against naive Python, raw JavaScript and npm broadcast-channel, side by side in one Chromium run.

    .venv/bin/python -m benchmarks                  # full run
    .venv/bin/python -m benchmarks --quick          # smaller sizes, for iterating
    .venv/bin/python -m benchmarks --only latency fanout --write-readme /tmp/table.md
    .venv/bin/python -m benchmarks --engine firefox  # throughput and latency on Firefox (or webkit)

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
import sys
import tempfile
import time
import traceback
from importlib.metadata import version
from pathlib import Path
from typing import Any

from . import bus_fanout, bus_latency, bus_throughput, engines, handover, own_cost, shared_socket
from .harness import ROOT, SIZES, Bench, Row, isolate, start_server, table

FIGURES = {
    "throughput": bus_throughput.run,
    "latency": bus_latency.run,
    "fanout": bus_fanout.run,
    "handover": handover.run,
    "socket": shared_socket.run,
    "cost": own_cost.run,
}
# performance.memory unbucketed and gc(), to read the JS heap exactly after a collection.
EXTRA_ARGS = ["--enable-precise-memory-info", "--js-flags=--expose-gc",
              # Pages fulfilled through context.route (isolation headers) lose their loopback address:
              # without this Chromium would treat them as public and block their ws://127.0.0.1.
              "--disable-features=LocalNetworkAccessChecks"]


def load_config() -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec((ROOT / "playwright.config.py").read_text(), namespace)
    return dict(namespace["CONFIG"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=SIZES, default="full")
    parser.add_argument("--quick", action="store_const", const="quick", dest="size")
    parser.add_argument("--tiny", action="store_const", const="tiny", dest="size")
    parser.add_argument("--only", nargs="+", choices=FIGURES, default=list(FIGURES))
    parser.add_argument("--json", type=Path, default=ROOT / "bench-results" / "latest.json")
    parser.add_argument("--write-readme", type=Path, metavar="FILE", help="write the Markdown table to FILE")
    parser.add_argument("--engine", choices=("chromium", "firefox", "webkit"), default="chromium",
                        help=f"firefox and webkit run only {' and '.join(engines.FIGURES)}, through the test kit's tabs")
    args = parser.parse_args(argv)
    if args.engine != "chromium":
        args.only = [name for name in args.only if name in engines.FIGURES]
    _run(args, _on_chromium if args.engine == "chromium" else _on_engine)


def _run(args: argparse.Namespace, run_figures: Any) -> None:
    started = time.time()
    server, token = start_server()
    try:
        bench, browser_name = run_figures(args, server.url, token)
    finally:
        server.stop()
    heading = (f"pytabby benchmark ({args.size}), {time.time() - started:.0f} s; {browser_name}, "
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


def _figures(bench: Bench, names: list[str], close_all: Any) -> None:
    for name in names:
        print(f"{name}...", flush=True)
        try:
            FIGURES[name](bench)
        except Exception as exc:  # one broken figure must not lose the others' results
            traceback.print_exc()
            bench.results.add(Row(name, "-", "-", "-", flags=[f"run failed: {type(exc).__name__}: {exc}"[:300]]))
            close_all()


def _on_engine(args: argparse.Namespace, base_url: str, token: str) -> tuple[Bench, str]:
    from pytabby.pytest.config import load_settings
    from pytabby.pytest.engines import launch

    engine = launch(args.engine, load_settings(ROOT))
    try:
        bench = engines.EngineBench(engine, base_url, token, SIZES[args.size])
        resolution = bench.timer_resolution_ms()
        names = args.only
        if resolution > engines.FINE_TIMER_MS and "latency" in names:  # sub-ms figures would be all quantization
            names = [name for name in names if name != "latency"]
            bench.results.add(Row("bus one-way latency", "-", "-", "-", flags=[
                f"not measured: performance.now() steps {resolution:g} ms in {engine.name} (pages not isolated)"]))
        _figures(bench, names, lambda: None)
        return bench, f"{engine.name} {engine.version} (performance.now() step {resolution:g} ms)"
    finally:
        engine.close()


def _on_chromium(args: argparse.Namespace, base_url: str, token: str) -> tuple[Bench, str]:
    config = load_config()

    from playwright.sync_api import sync_playwright

    profile = Path(tempfile.mkdtemp(prefix="pytabby-bench-"))
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                str(profile), executable_path=config["executable_path"], args=config["args"] + EXTRA_ARGS,
                headless=config["headless"], base_url=base_url,
            )
            context.set_default_timeout(120_000)
            isolate(context)
            bench = Bench(context, base_url, token, SIZES[args.size])
            browser_version = context.browser.version if context.browser else "?"

            def close_all() -> None:
                for page in context.pages:
                    page.close()

            _figures(bench, args.only, close_all)
            context.close()
        return bench, f"Chromium {browser_version}"
    finally:
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
