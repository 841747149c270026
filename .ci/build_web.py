"""Builds web/dist/: the pytabby wheel, micropip's wheels and a Pyodide lock file that knows them.

Offline-friendly: `pyodide lockfile add-wheels` needs no cross-build environment.
Pages load Pyodide with lockFileURL=<origin>/dist/pyodide-lock.json, so
`loadPackage("pytabby")` and PyScript's `packages = ["pytabby"]` resolve here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "web"
DIST = WEB / "dist"
PYODIDE_LOCK = WEB / "node_modules" / "pyodide" / "pyodide-lock.json"
# micropip is not in the npm package; PyScript's `packages` config installs through it.
FROM_PYPI = ("micropip", "packaging")


def run(*cmd: str | Path) -> None:
    subprocess.run([str(c) for c in cmd], check=True, cwd=ROOT)


def main() -> None:
    if DIST.exists():
        shutil.rmtree(DIST)
    DIST.mkdir()
    pip = (sys.executable, "-m", "pip", "--disable-pip-version-check", "-q")
    run(*pip, "wheel", "--no-deps", "-w", DIST, ROOT)
    packages = json.loads(PYODIDE_LOCK.read_text())["packages"]
    pins = [f"{name}=={packages[name]['version']}" for name in FROM_PYPI]
    run(*pip, "download", "--no-deps", "--only-binary=:all:", "--python-version", "3.14", "-d", DIST, *pins)
    wheels = sorted(DIST.glob("*.whl"))
    pyodide = Path(sys.executable).with_name("pyodide")
    run(pyodide, "lockfile", "add-wheels", "--input", PYODIDE_LOCK, "--output", DIST / "pyodide-lock.json",
        "--base-path", DIST, *wheels)
    print("web/dist:", ", ".join(p.name for p in sorted(DIST.iterdir())))


if __name__ == "__main__":
    main()
