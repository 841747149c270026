"""Builds web/dist/ for the demo and the browser tests: `python -m pytabby dist` from the npm Pyodide.

The wheel is built from this checkout first (the venv's pytabby is an editable install).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    with tempfile.TemporaryDirectory() as wheels:
        subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", "wheel", "--no-deps",
                        "-w", wheels, str(ROOT)], check=True)
        (wheel,) = Path(wheels).glob("*.whl")
        subprocess.run([sys.executable, "-m", "pytabby", "dist", str(ROOT / "web" / "dist"),
                        "--pyodide", str(ROOT / "web" / "node_modules" / "pyodide"), "--wheel", str(wheel)],
                       check=True, cwd=ROOT)


if __name__ == "__main__":
    main()
