"""``python -m benchmarks --tiny`` runs every figure end to end, judges every target and writes the table;
``--browser firefox`` runs the bus and hand-over figures through the test kit's tabs.

Figures are not asserted (targets live in benchmarks, never in timed tests); the verdicts are.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROWS = ["bus throughput, 2 tabs, 300 msgs |", "bus throughput, 2 tabs, 300 msgs, cross-origin isolated pages",
        "bus one-way latency, 1 msg", "bus one-way latency from a JS peer", "bus fan-out, 1 msg to 2 tabs",
        "leader hand-over",
        "server connections", "socket fan-out", "SharedSocket hand-over", "install + import + first bus",
        "pytabby's memory share per tab"]


AROUND = ("# notes\n\nBefore the table.\n\n<!-- benchmark table: written by python -m benchmarks --write-readme -->\n"
          "an old table\n<!-- /benchmark table -->\n\nAfter the table.\n")


def run_tiny(tmp_path: Path, *options: str) -> tuple[list[str], str]:
    """The table rows (heading row left out) a tiny run writes between the markers of a file, and its
    output; the run must exit 0 and leave the rest of the file as it was."""
    table_file = tmp_path / "table.md"
    table_file.write_text(AROUND)
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--tiny", *options, "--json", str(tmp_path / "bench.json"),
         "--write-readme", str(table_file)],
        capture_output=True, text=True, timeout=900, cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    written = table_file.read_text()
    before, start, rest = AROUND.partition("-->\n")
    assert written.startswith(before + start + "pytabby benchmark (tiny)"), written[:400]
    assert written.endswith("|\n\n<!-- /benchmark table -->\n\nAfter the table.\n"), written[-400:]
    assert "an old table" not in written
    rows = [line for line in written.splitlines() if line.startswith("| ") and "---" not in line][1:]
    return rows, result.stdout[-4000:] + result.stderr[-4000:]


def verdict(row: str) -> str:
    return row.rstrip(" |").rsplit(" | ", 1)[1]


def test_tiny_run_prints_every_figure_with_a_verdict_and_writes_the_table(tmp_path):
    rows, output = run_tiny(tmp_path)
    assert [next((name for name in ROWS if row.startswith(f"| {name}")), row) for row in rows] == ROWS, output
    for row in rows:
        assert "run failed" not in verdict(row), output
        assert verdict(row) == "reported" or "met" in verdict(row) or "MISSED" in verdict(row) \
            or verdict(row).startswith("FLAGGED"), row


def test_tiny_run_in_another_engine_judges_the_bus_figures(tmp_path):
    # One engine stands for both: Firefox and WebKit are driven through the same kit tab handle.
    rows, output = run_tiny(tmp_path, "--browser", "firefox", "--only", "throughput", "handover")
    assert [row.split(" | ")[0] for row in rows] == ["| bus throughput, 2 tabs, 300 msgs",
                                                    "| bus throughput, 2 tabs, 300 msgs, cross-origin isolated pages",
                                                    "| leader hand-over, page.close() -> acquire, 2 trials"], output
    assert verdict(rows[0]).startswith("x raw JS") and verdict(rows[1]) == "reported", rows
    assert verdict(rows[2]).startswith("p99 ms"), rows
