"""Browser engines behind one small tab handle, so one test runs on Chromium, Firefox and WebKit.

Each engine is the module ``pytabby.pytest.engines.<name>``, imported only when a
test asks for it (so its driver, Playwright, marionette-driver or selenium, is
needed only then). A module either has ``launch(settings) -> Engine`` (chromium),
or a class ``<Name>Engine`` taken with the keyword arguments in
``settings.engines[name]`` (plus ``headless`` where it accepts one), e.g.
``CONFIG = {"engines": {"firefox": {"executable": "/usr/bin/firefox-esr"}}}``.
"""

from __future__ import annotations

import importlib
import inspect
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
    if hasattr(module, "launch"):
        engine: Engine = module.launch(settings)
        return engine
    engine_class = getattr(module, f"{name.capitalize()}Engine")
    options = dict(settings.engines.get(name, {}))
    if "headless" in inspect.signature(engine_class).parameters:
        options.setdefault("headless", settings.headless)
    engine = engine_class(**options)
    return engine
