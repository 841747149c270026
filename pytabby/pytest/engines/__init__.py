"""Browser engines behind one small tab handle, so one test runs on Chromium, Firefox and WebKit.

Each engine is the module ``pytabby.pytest.engines.<name>``, imported only when a
test asks for it (so its driver, Playwright, marionette-driver or selenium, is
needed only then). Each has ``launch(settings) -> Engine``; Firefox and WebKit take
their keyword arguments from ``settings.engines[name]``, e.g.
``CONFIG = {"engines": {"firefox": {"executable": "/usr/bin/firefox-esr"}}}``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, get_args

from .base import Engine, EngineName

if TYPE_CHECKING:
    from ..config import Settings

ENGINE_NAMES: tuple[EngineName, ...] = get_args(EngineName)


def launch(name: str, settings: Settings) -> Engine:
    """Start the engine ``name`` (one of ``ENGINE_NAMES``) with ``settings``."""
    if name not in ENGINE_NAMES:
        raise ValueError(f"unknown browser engine {name!r} (known: {', '.join(ENGINE_NAMES)})")
    module = importlib.import_module(f"{__name__}.{name}")
    engine: Engine = module.launch(settings)
    return engine
