"""The package and the benchmarks type-check under ``mypy --strict`` (settings in pyproject.toml), public API included."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_mypy_strict_finds_no_issue_in_the_package_or_the_benchmarks():
    result = subprocess.run([sys.executable, "-m", "mypy", "pytabby", "benchmarks"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Success: no issues found")
