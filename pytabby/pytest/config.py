"""The test kit's settings: built-in defaults < ``playwright.config.py`` < ini options < ``--pytabby-*``.

``playwright.config.py`` in the rootdir holds ``CONFIG = {...}`` with any of the
``Settings`` field names. Paths are relative to the rootdir; times are seconds.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONFIG_FILE = "playwright.config.py"
DEFAULT_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync")


@dataclass(frozen=True)
class Settings:
    """What the kit launches, serves and waits for.

    ``browsers``: engines to run the browser tests on (several parametrize them).
    ``executable_path``, ``args``: Chromium's; ``engines``: other engines' own settings by name.
    ``base_url``: test a running server instead of starting one (``control_token`` for its
    ``/control/*``). ``root``: the app folder the kit's server serves; ``dist``: the Pyodide
    folder served at ``/dist/`` (made by ``python -m pytabby dist``; default ``root/dist``).
    ``page_url``: the page ``tabs(n)`` opens. ``appear_timeout``: how long a page may take to
    set ``window.pytabbyReady``; ``boot_timeout``: how long that promise may take to settle;
    ``timeout``: Playwright's own waits (Chromium; ``wait_py`` and the helpers take ``timeout=``
    per call). ``output``: where a failing test's screenshots and console
    logs go. ``async_timeout``: the limit for one ``async def`` test run on a fresh loop.
    """

    browsers: tuple[str, ...] = ("chromium",)
    executable_path: str | None = "/usr/bin/chromium"
    args: tuple[str, ...] = DEFAULT_ARGS
    headless: bool = True
    engines: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    base_url: str | None = None
    control_token: str | None = None
    root: Path | None = None
    dist: Path | None = None
    page_url: str = "/playground.html"
    appear_timeout: float = 10.0
    boot_timeout: float = 120.0
    timeout: float = 20.0
    output: Path = Path("test-results")
    async_timeout: float = 60.0


FIELDS = {f.name for f in dataclasses.fields(Settings)}
PATHS = ("root", "dist", "output")
SECONDS = ("async_timeout", "appear_timeout", "boot_timeout", "timeout")


def load_settings(rootdir: Path, overrides: Mapping[str, Any] = {}) -> Settings:
    """Defaults, then ``rootdir/playwright.config.py``'s ``CONFIG``, then ``overrides`` (None values skipped)."""
    values: dict[str, Any] = {}
    config_file = rootdir / CONFIG_FILE
    if config_file.exists():
        spec = importlib.util.spec_from_file_location("_pytabby_playwright_config", config_file)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        values.update(getattr(module, "CONFIG", {}))
    values.update({key: value for key, value in overrides.items() if value is not None})
    unknown = set(values) - FIELDS
    if unknown:
        raise ValueError(f"{config_file}: unknown settings {sorted(unknown)} (known: {sorted(FIELDS)})")
    for key in PATHS:
        if values.get(key) is not None:
            values[key] = rootdir / Path(values[key])
    for key in ("browsers", "args"):
        if key in values:
            values[key] = tuple([values[key]] if isinstance(values[key], str) else values[key])
    return Settings(**values)


def from_pytest(rootdir: Path, option: Callable[[str], Any], ini: Callable[[str], Any]) -> Settings:
    """Settings for a pytest run: ``--pytabby-NAME`` beats the ``pytabby_NAME`` ini option."""
    overrides: dict[str, Any] = {}
    for name in ("browsers", "base_url", "root", "dist", "page_url", "output", "executable_path", *SECONDS):
        from_ini = ini(f"pytabby_{name}")
        if from_ini:
            overrides[name] = from_ini
        from_command_line = option(f"pytabby_{name}")
        if from_command_line:
            overrides[name] = from_command_line
    for name in SECONDS:
        if name in overrides:
            overrides[name] = float(overrides[name])
    if option("pytabby_headed"):
        overrides["headless"] = False
    return load_settings(rootdir, overrides)
