"""``python -m benchmarks --write-readme``: a file it cannot write the table into is refused before any run."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_file_without_table_markers_is_refused_before_the_run_and_left_as_it_was(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# my notes\n\nno table markers here\n")
    result = subprocess.run([sys.executable, "-m", "benchmarks", "--write-readme", str(readme)],
                            capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{readme} has no single pair of table markers" in result.stderr
    assert "throughput..." not in result.stdout  # no figure ran
    assert readme.read_text() == "# my notes\n\nno table markers here\n"


def test_the_readme_carries_one_pair_of_table_markers():
    from benchmarks.__main__ import check_table_file

    assert check_table_file(ROOT / "README.md") is None
