"""A user's own app, tested as a user would: from the wheel, in a venv and a folder outside the repository.

The app (``counter_app/``: a shared counter as a Pyodide page and a PyScript page,
its 3-tab tests and a FakeBrowser unit test) is copied to a temporary folder; the
wheel is installed with ``[testing]`` into a fresh venv there; ``python -m pytabby
dist`` makes its Pyodide folder from the npm Pyodide; then pytest runs there, in
Chromium, and its 3-tab tests again in Firefox and in WebKit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.user_app

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = Path(__file__).resolve().parent / "counter_app"
NPM = ROOT / "web" / "node_modules"


def run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


def clean_env() -> dict[str, str]:
    """The environment without anything that could lead back into the repository."""
    return {key: value for key, value in os.environ.items()
            if key not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTEST_ADDOPTS") and str(ROOT) not in value}


def test_a_users_counter_app_passes_its_tests_from_a_wheel_install(tmp_path: Path) -> None:
    built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path / "wheels", ROOT, cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "wheels").glob("pytabby_browser-*.whl")
    venv = tmp_path / "venv"
    assert run(sys.executable, "-m", "venv", venv, cwd=tmp_path).returncode == 0
    python = venv / "bin" / "python"
    env = clean_env()
    installed = run(python, "-m", "pip", "install", "-q", f"{wheel}[testing]", cwd=tmp_path, env=env)
    assert installed.returncode == 0, installed.stderr[-3000:]
    where = run(python, "-c", "import pytabby, sys; print(pytabby.__file__); print(sys.path)", cwd=tmp_path, env=env)
    assert str(ROOT) not in where.stdout, where.stdout  # nothing points into the repository

    app = tmp_path / "counter-app"
    shutil.copytree(TEMPLATE, app)
    # What the user's own `npm install @pyscript/core pyodide` gives them.
    shutil.copytree(NPM / "@pyscript" / "core", app / "app" / "node_modules" / "@pyscript" / "core")
    shutil.copytree(NPM / "pyodide", app / "node_modules" / "pyodide")
    made = run(python, "-m", "pytabby", "dist", "app/dist", "--pyodide", "node_modules/pyodide", cwd=app, env=env)
    assert made.returncode == 0, made.stderr
    assert "pytabby_browser-0.2.0-py3-none-any.whl" in made.stdout

    typed = run(sys.executable, "-m", "mypy", "app/counter.py", "tests", cwd=app)  # mypy.ini: strict
    assert typed.returncode == 0, typed.stdout

    started = time.monotonic()
    tested = run(python, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", cwd=app, env=env)
    wall = time.monotonic() - started
    print(f"user test run: {wall:.1f} s\n{tested.stdout[-4000:]}")
    assert tested.returncode == 0, tested.stdout[-6000:] + tested.stderr[-3000:]
    assert "4 passed" in tested.stdout  # two pages' 3-tab tests, the unit test, the boot-line check
    # The same 3-tab tests in the other engines a user's visitors run, through the kit as installed.
    for engine in ("firefox", "webkit"):
        in_engine = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--pytabby-browser", engine,
                        "tests/test_counter.py", cwd=app, env=env)
        print(f"{engine}: {in_engine.stdout[-1500:]}")
        assert in_engine.returncode == 0, in_engine.stdout[-6000:] + in_engine.stderr[-3000:]
        assert "2 passed" in in_engine.stdout

    no_dist = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--pytabby-dist", "nowhere",
                  "tests/test_counter.py", cwd=app, env=env)
    print(no_dist.stdout[-2000:])
    assert no_dist.returncode != 0 and "no Pyodide folder: " in no_dist.stdout
