"""Browser tier: real Chromium pages of one profile, each running Pyodide and pytabby.

The fixtures come from pytabby's own pytest plugin (dogfooding). Tabs that a test
does not close are shared by a module; every test uses channel and key names of
its own, so shared tabs do not hear each other's tests.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytabby.pytest_plugin import TabFactory

pytestmark = pytest.mark.browser

_names = itertools.count()
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session", autouse=True)
def fresh_wheel() -> None:
    """Rebuild web/dist when pytabby's sources are newer than the wheel the tabs load."""
    wheels = list((ROOT / "web" / "dist").glob("pytabby-*.whl"))
    built = min((w.stat().st_mtime for w in wheels), default=0.0)
    if any(source.stat().st_mtime > built for source in (ROOT / "pytabby").rglob("*.py")):
        subprocess.run([sys.executable, str(ROOT / ".ci" / "build_web.py")], check=True, capture_output=True)


@pytest.fixture
def name(request: pytest.FixtureRequest) -> str:
    """A channel/key name no other test uses."""
    return f"{request.node.name[:40]}-{next(_names)}"


@pytest.fixture(scope="module")
def shared_tabs(pytabby_context: Any, pytabby_config: dict[str, Any]) -> Iterator[list[Any]]:
    """Three booted tabs shared by the tests of one module (which must not close them)."""
    factory = TabFactory(pytabby_context, pytabby_config)
    yield factory(3)
    factory.close_all()
