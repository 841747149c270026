"""The benchmark command runs end to end and prints every row (figures are not asserted)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROWS = ["bus throughput", "bus one-way latency", "hand-over, leader page.close()", "server connections",
        "fan-out, server frame", "SharedSocket hand-over", "pytabby's own cost per tab"]


def test_benchmark_tiny_run_prints_every_row(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--tiny", "--json", str(tmp_path / "bench.json")],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    table = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    for row in ROWS:
        assert any(line.startswith(f"| {row}") for line in table), f"missing row {row!r}:\n{result.stdout}"
    assert (tmp_path / "bench.json").stat().st_size > 0
