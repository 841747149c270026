"""The package and the benchmarks type-check under ``mypy --strict`` (settings in pyproject.toml), public API included."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_mypy_strict_finds_no_issue_in_the_package_or_the_benchmarks():
    result = subprocess.run([sys.executable, "-m", "mypy", "pytabby", "benchmarks"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Success: no issues found")


def test_a_message_is_read_only_to_a_type_checker(tmp_path):
    snippet = tmp_path / "assign.py"
    snippet.write_text("from pytabby import Message\nmessage = Message('t', 1, 'tab', 1.0)\nmessage.payload = 2\n")
    result = subprocess.run([sys.executable, "-m", "mypy", "--strict", str(snippet)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 1
    # mypy's cache may name the file by an earlier run's path: only the line and the error are compared.
    error, summary = result.stdout.splitlines()
    assert error.endswith('assign.py:3: error: Property "payload" defined in "Message" is read-only  [misc]')
    assert summary == "Found 1 error in 1 file (checked 1 source file)"
