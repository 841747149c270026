"""pytabby against naive Python, raw JavaScript and npm broadcast-channel, side by side in one browser run.

    .venv/bin/python -m benchmarks                  # full run, Chromium
    .venv/bin/python -m benchmarks --quick          # smaller sizes, for iterating
    .venv/bin/python -m benchmarks --write-readme   # full run, its table written into README.md
    .venv/bin/python -m benchmarks --only latency fanout --write-readme /tmp/table.md
    .venv/bin/python -m benchmarks --browser firefox   # the bus and hand-over figures in Firefox (or webkit)

Prints one table, every target judged met or missed (or a figure flagged when it contradicts a
guarantee), writes every raw sample to bench-results/latest.json and, with ``--write-readme``,
the table as Markdown between the table markers of README.md (or of the given file; a new file
gets the markers and the table).
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
TABLE_START, TABLE_END = "<!-- benchmark table: written by python -m benchmarks --write-readme -->", "<!-- /benchmark table -->"


def check_table_file(path: Path) -> str | None:
    """Why the table cannot be written into ``path`` (checked before a run of minutes), or None."""
    if not path.exists():
        return None
    text = path.read_text()
    if text.count(TABLE_START) != 1 or text.count(TABLE_END) != 1 or text.index(TABLE_START) > text.index(TABLE_END):
        return f"{path} has no single pair of table markers ({TABLE_START} ... {TABLE_END}): nothing would be written"
    return None


def write_table(path: Path, markdown: str) -> None:
    """Put ``markdown`` between the markers in ``path``; a new file gets the markers and the table."""
    text = path.read_text() if path.exists() else f"{TABLE_START}\n{TABLE_END}\n"
    before, rest = text.split(TABLE_START)
    after = rest.split(TABLE_END)[1]
    path.write_text(f"{before}{TABLE_START}\n{markdown}\n{TABLE_END}{after}")  # a blank line ends the table


def _chromium(figures: list[str], size: str) -> tuple[Bench, str]:
    """Every figure in one Chromium profile through Playwright."""
    from playwright.sync_api import sync_playwright

    from pytabby.pytest.config import load_settings
    from pytabby.pytest.engines.chromium import launch_args

    settings = load_settings(ROOT)  # playwright.config.py, read as the test kit reads it

    server, token = start_server()
    plain_server, _ = start_server(isolated=False)
    profile = Path(tempfile.mkdtemp(prefix="pytabby-bench-"))
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                str(profile), executable_path=settings.executable_path, args=launch_args([*settings.args, *EXTRA_ARGS]),
                headless=settings.headless, base_url=server.url,
            )
            context.set_default_timeout(120_000)
            bench = Bench(context, server.url, token, SIZES[size], plain_server.url)
            browser_version = context.browser.version if context.browser else "?"
            bench.run({name: FIGURES[name] for name in figures})
            context.close()
    finally:
        server.stop()
        plain_server.stop()
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
    parser.add_argument("--write-readme", type=Path, nargs="?", const=ROOT / "README.md", metavar="FILE",
                        help="write the Markdown table between the table markers of README.md (or of FILE)")
    args = parser.parse_args(argv)
    figures = args.only or (list(FIGURES) if args.browser == "chromium" else list(ENGINE_FIGURES))
    if args.browser != "chromium" and set(figures) - set(ENGINE_FIGURES):
        parser.error(f"--browser {args.browser} measures only {', '.join(ENGINE_FIGURES)}")
    if args.write_readme and (problem := check_table_file(args.write_readme)):
        parser.error(problem)
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
        write_table(args.write_readme, markdown)
        print(f"table written to {args.write_readme}")
    missed = sum(not target.met for row in bench.results.rows for target in row.targets)
    flagged = sum(bool(row.flags) for row in bench.results.rows)
    print(f"targets missed: {missed}; figures flagged: {flagged}")


if __name__ == "__main__":
    main()
