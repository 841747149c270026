"""SharedSocket test helpers for the unit tier: tabs sharing a socket, closed after each test."""

import asyncio
import contextlib
import itertools

import pytest

from pytabby import SharedSocket, create_shared_socket
from pytabby.testing import FakeBrowser

URL = "ws://fake/ws"
MADE: list[SharedSocket] = []


def fixed_delays():
    return itertools.repeat(1.0)


def share(browser: FakeBrowser, count: int, **options) -> list[SharedSocket]:
    options.setdefault("backoff", fixed_delays)
    socks = [create_shared_socket(URL, key="chat", platform=browser.open_tab(), **options) for _ in range(count)]
    MADE.extend(socks)
    return socks


@pytest.fixture(autouse=True)
def close_every_socket():
    """Each socket a test made is closed after it (no ResourceWarning), on a loop of its own.

    A socket of a tab the test closed lives in a dead tab: its channels are gone, so
    closing it may find them closed (no real tab runs code after it is closed).
    """
    yield
    made, MADE[:] = list(MADE), []

    async def close_all() -> None:
        for sock in made:
            for part in (sock, sock.elector, sock.bus):
                with contextlib.suppress(RuntimeError):
                    part.close()

    asyncio.run(close_all())


def tab_of(sock: SharedSocket, browser: FakeBrowser):
    return next(tab for tab in browser.tabs if tab.tab_id == sock.tab_id)


def inbox(sock: SharedSocket) -> list:
    got: list = []
    sock.on_message(got.append)
    return got
