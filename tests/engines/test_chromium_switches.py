"""The kit's Chromium keeps Playwright's own disabled features and turns the crashing samplers off."""

from __future__ import annotations

import pytest

from pytabby.pytest import Settings
from pytabby.pytest.engines.chromium import CRASHING_SAMPLERS, launch

pytestmark = pytest.mark.browser


def test_the_last_disable_features_switch_has_playwrights_own_and_the_crashing_samplers(
    pytabby_settings: Settings,
) -> None:
    engine = launch(pytabby_settings)
    try:
        page = engine.context.new_page()
        page.goto("chrome://version")
        switches = [arg.partition("=")[2].split(",") for arg in page.inner_text("#command_line").split()
                    if arg.startswith("--disable-features=")]
    finally:
        engine.close()
    playwrights, effective = switches[0], switches[-1]  # Chromium keeps the last one
    # Playwright also disables two Edge-only features (msForceBrowserSignIn, ...): nothing in Chromium.
    assert [name for name in playwrights if not name.startswith("ms") and name not in effective] == []
    assert set(CRASHING_SAMPLERS) <= set(effective)
