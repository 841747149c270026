"""``TabFactory`` against scripted tabs: a page whose Pyodide startup failed in the browser is reopened once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytabby.pytest import BootError, EngineFaultWarning, Settings, TabFactory, load_settings
from pytabby.pytest import pages


class BootedTab:
    """A tab that answers the kit's boot scripts: booted, or failed with ``error`` at Pyodide's startup."""

    def __init__(self, number: int, url: str, error: str | None, trapped: bool) -> None:
        self.number, self._url, self.error, self.trapped = number, url, error, trapped
        self.closed = False

    engine = "webkit"

    @property
    def label(self) -> str:
        return f"webkit tab {self.number} /playground.html"

    @property
    def url(self) -> str:
        return self._url

    def evaluate(self, script: str, arg: Any = None) -> Any:
        if script == pages._BOOT_ERROR:
            return self.error
        if script == pages.STARTUP_TRAPPED_JS:
            return self.trapped
        if script == pages._STATUS:
            return 200
        return True  # appeared, settled, and the watch installed

    def wait_for(self, script: str, arg: Any = None, *, timeout: float = 20.0, interval: float = 0.02) -> None:
        assert self.evaluate(script, arg) is True

    def console(self) -> list[str]:
        return []

    def close(self) -> None:
        self.closed = True


class ScriptedEngine:
    """Opens tabs whose boots go as ``outcomes`` says, in order: (error, trapped) per tab."""

    name = "webkit"

    def __init__(self, outcomes: list[tuple[str | None, bool]]) -> None:
        self.outcomes = outcomes
        self.tabs: list[BootedTab] = []

    def new_tab(self, url: str) -> BootedTab:
        error, trapped = self.outcomes[len(self.tabs)]
        self.tabs.append(BootedTab(len(self.tabs) + 1, url, error, trapped))
        return self.tabs[-1]


TRAP = "Out of bounds memory access (evaluating '_PyRun_SimpleString(r)')"


@pytest.fixture
def settings() -> Settings:
    return load_settings(Path(__file__).parents[3])


def factory(engine: ScriptedEngine, settings: Settings) -> TabFactory:
    return TabFactory(engine, "http://127.0.0.1:1", settings)  # type: ignore[arg-type]


def test_a_tab_whose_pyodide_startup_trapped_is_replaced_once_and_said(settings: Settings) -> None:
    engine = ScriptedEngine([(None, False), (TRAP, True), (None, False), (None, False)])
    made = factory(engine, settings)
    with pytest.warns(EngineFaultWarning, match=r"webkit tab 2 /playground.html: Pyodide's startup failed in the browser"):
        tabs: list[Any] = made(3)
    assert [tab.number for tab in tabs] == [1, 4, 3]  # in its place, the others untouched
    assert engine.tabs[1].closed and not any(tab.closed for tab in tabs)
    assert engine.tabs[3].url == "http://127.0.0.1:1/playground.html"
    opened: list[Any] = made.opened
    assert opened == engine.tabs  # closed with the rest by close_all()


def test_a_second_trap_in_the_replacement_fails_the_boot(settings: Settings) -> None:
    engine = ScriptedEngine([(TRAP, True), (TRAP, True)])
    with pytest.warns(EngineFaultWarning), pytest.raises(BootError, match="Out of bounds memory access"):
        factory(engine, settings)(1)
    assert len(engine.tabs) == 2


def test_any_other_boot_failure_fails_at_once(settings: Settings) -> None:
    engine = ScriptedEngine([("no wasm here", False)])
    with pytest.raises(BootError, match="failed to boot") as failure:
        factory(engine, settings)(1)
    assert not failure.value.startup_trapped
    assert len(engine.tabs) == 1
