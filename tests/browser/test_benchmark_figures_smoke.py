"""``python -m benchmarks --tiny`` runs every figure end to end, judges every target and writes the table.

Figures are not asserted (targets live in benchmarks, never in timed tests); the verdicts are.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROWS = ["bus throughput", "bus one-way latency", "bus fan-out, 1 msg to 2 tabs", "leader hand-over",
        "server connections", "socket fan-out", "SharedSocket hand-over", "loadPackage + import + first bus",
        "pytabby's memory share per tab"]


def test_tiny_run_prints_every_figure_with_a_verdict_and_writes_the_table(tmp_path):
    table_file = tmp_path / "table.md"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--tiny", "--json", str(tmp_path / "bench.json"),
         "--write-readme", str(table_file)],
        capture_output=True, text=True, timeout=900, cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = [line for line in table_file.read_text().splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert [next(name for name in ROWS if row.startswith(f"| {name}")) for row in rows] == ROWS
    for row in rows:
        verdict = row.rstrip(" |").rsplit(" | ", 1)[1]
        assert verdict == "reported" or "met" in verdict or "MISSED" in verdict or verdict.startswith("FLAGGED")
