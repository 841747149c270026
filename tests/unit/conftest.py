"""Unit tier: CPython only, fakes only; ``async def`` tests run on a fresh event loop."""

from __future__ import annotations

import asyncio
import inspect

import pytest

from pytabby.testing import FakeBrowser


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    kwargs = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    asyncio.run(asyncio.wait_for(pyfuncitem.obj(**kwargs), timeout=10))
    return True


@pytest.fixture
def browser() -> FakeBrowser:
    return FakeBrowser()
