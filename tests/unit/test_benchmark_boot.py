"""The benchmark's Pyodide tabs: a startup the browser's wasm engine trapped is booted once more, anything else fails."""

import pytest

from benchmarks.harness import PY_CLOCK, SIZES, Bench
from pytabby.pytest.pages import RUN_PY_JS, STARTUP_TRAPPED_JS


class BootFailed(Exception):
    pass


class FakePage:
    """A page whose boot succeeds (``failure`` None) or fails; ``"trapped"``: in the wasm engine."""

    def __init__(self, failure: str | None) -> None:
        self.failure = failure
        self.closed = False
        self.ran: list[str] = []

    def goto(self, url: str, wait_until: str | None = None) -> None:
        self.url = url

    def wait_for_function(self, script: str, timeout: float = 0) -> None:
        pass

    def evaluate(self, script: str, arg: object = None) -> object:
        if script == STARTUP_TRAPPED_JS:
            return self.failure == "trapped"
        if script == RUN_PY_JS:
            self.ran.append(arg[0])  # type: ignore[index]
            return None
        if self.failure is not None:
            raise BootFailed(self.failure)
        return None

    def close(self) -> None:
        self.closed = True


class FakeContext:
    def __init__(self, failures: list[str | None]) -> None:
        self.failures = failures
        self.opened: list[FakePage] = []

    def new_page(self) -> FakePage:
        self.opened.append(FakePage(self.failures.pop(0) if self.failures else None))
        return self.opened[-1]


def bench(context: FakeContext) -> Bench:
    return Bench(context, "http://b", "token", SIZES["quick"], "http://p")


def test_a_trapped_startup_is_replaced_by_one_fresh_tab_and_recorded(capsys: pytest.CaptureFixture[str]) -> None:
    context = FakeContext([None, "trapped", None])
    runner = bench(context)
    pages = runner.py_pages(2)
    first, trapped, fresh = context.opened
    assert pages == [first, fresh]
    assert trapped.closed and not first.closed and not fresh.closed
    assert fresh.url == "http://b/playground.html"
    assert first.ran == fresh.ran == [PY_CLOCK] and trapped.ran == []
    assert runner.results.samples["startup_traps_replaced"] == ["http://b/playground.html"]
    assert "startup failed in the browser's wasm engine" in capsys.readouterr().out


def test_any_other_boot_failure_is_raised() -> None:
    context = FakeContext(["app error"])
    with pytest.raises(BootFailed, match="app error"):
        bench(context).py_pages(1)
    assert len(context.opened) == 1


def test_a_second_trap_in_the_fresh_tab_is_raised() -> None:
    context = FakeContext(["trapped", "trapped"])
    with pytest.raises(BootFailed, match="trapped"):
        bench(context).py_pages(1)
    assert len(context.opened) == 2
