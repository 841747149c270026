"""Builds web/dist/: a Pyodide distribution that knows pytabby, served as is.

It holds the Pyodide runtime from the npm package, the pytabby wheel, micropip
and packaging from PyPI (not in the npm package; PyScript's `packages` config
installs through micropip), and a lock file from `pyodide lockfile add-wheels`
(offline: it needs no cross-build environment). With indexURL=/dist/,
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
PYODIDE_NPM = WEB / "node_modules" / "pyodide"
PYODIDE_LOCK = PYODIDE_NPM / "pyodide-lock.json"
RUNTIME = ("pyodide.mjs", "pyodide.js", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip")
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
    for name in RUNTIME:
        shutil.copy2(PYODIDE_NPM / name, DIST / name)
    wheels = sorted(DIST.glob("*.whl"))
    pyodide = Path(sys.executable).with_name("pyodide")
    run(pyodide, "lockfile", "add-wheels", "--input", PYODIDE_LOCK, "--output", DIST / "pyodide-lock.json",
        "--base-path", DIST, *wheels)
    print("web/dist:", ", ".join(p.name for p in sorted(DIST.iterdir())))


if __name__ == "__main__":
    main()
