"""The WebDriver-style tab handle against a scripted driver: what it does while a document is replaced."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from pytabby.pytest.engines import _window
from pytabby.pytest.engines._window import NavigatedAway, WindowTab


class ReplacingDriver:
    """A driver whose window answers ``None`` (the document went away) ``gone`` times after each navigation."""

    reports_status = True

    def __init__(self, gone: int, status: int = 200) -> None:
        self.gone = gone
        self.status = status
        self.href = "about:blank"
        self.pending = 0
        self.scripts = 0

    def switch(self, handle: str) -> None:
        assert handle == "w1"

    def execute(self, script: str, arg_text: str) -> Any:
        self.scripts += 1
        if self.pending:
            self.pending -= 1
            return None
        if "responseStatus" in script:
            return json.dumps({"value": [self.href, self.status]})
        return json.dumps({"value": self.href})

    def navigate(self, url: str) -> None:
        self.href, self.pending = url, self.gone

    def go_back(self) -> None: ...

    def close_window(self) -> None: ...

    def window_handles(self) -> list[str]:
        return ["w1"]

    def screenshot_png(self) -> bytes:
        return b""


def tab(driver: ReplacingDriver) -> WindowTab:
    return WindowTab("webkit", driver, threading.RLock(), "w1", 1)


class FakeClock:
    """``time.monotonic`` and ``time.sleep`` for the tab's polling: sleeping moves the clock."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr("pytabby.pytest.engines._window.time.monotonic", fake.monotonic)
    monkeypatch.setattr("pytabby.pytest.engines._window.time.sleep", fake.sleep)
    return fake


def test_a_new_window_answers_from_the_new_document_after_the_old_one_went_away_mid_script(clock: FakeClock) -> None:
    driver = ReplacingDriver(gone=3)
    driver.reports_status = False  # WebKit: goto() used to return at once, and the next script failed
    opened = tab(driver)
    assert opened.goto("http://127.0.0.1:1/playground.html") is None
    assert driver.scripts == 4  # three answers lost to the replaced document, then the new one's
    assert opened.url == "http://127.0.0.1:1/playground.html"
    assert opened.label == "webkit tab 1 /playground.html"


def test_goto_gives_the_new_documents_http_status_where_the_engine_reports_it(clock: FakeClock) -> None:
    driver = ReplacingDriver(gone=2, status=404)
    assert tab(driver).goto("http://127.0.0.1:1/missing.html") == 404
    assert driver.scripts == 3


def test_a_document_that_never_answers_fails_once_the_page_load_timeout_is_over(clock: FakeClock) -> None:
    driver = ReplacingDriver(gone=10**9)
    with pytest.raises(NavigatedAway, match="navigated while"):
        tab(driver).goto("http://127.0.0.1:1/playground.html")
    assert _window.PAGE_LOAD_TIMEOUT < clock.now <= _window.PAGE_LOAD_TIMEOUT + 0.021
