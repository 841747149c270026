"""Shared by every tier: ``async def`` tests run on a fresh event loop of their own."""

from __future__ import annotations

import asyncio
import inspect
import threading
from typing import Any

import pytest



@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    kwargs = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    run_fresh(lambda: asyncio.run(asyncio.wait_for(pyfuncitem.obj(**kwargs), timeout=10)))
    return True


def run_fresh(main: Any) -> None:
    """Run ``main`` here, or on a thread of its own if this thread already has a loop (Playwright's)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        main()
        return
    errors: list[BaseException] = []

    def target() -> None:
        try:
            main()
        except BaseException as exc:  # re-raised in the test's own thread
            errors.append(exc)

    worker = threading.Thread(target=target)
    worker.start()
    worker.join()
    if errors:
        raise errors[0]


