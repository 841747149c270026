"""``navigator.locks`` as the ``LockManager`` port.

A granted lock is held by a pending promise that ``release`` resolves. Settled
requests are handled in a microtask (``ffi.on_settled``), not in an asyncio task:
a leader whose lock was stolen learns it before it handles the thief's first
message.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any

import js
from pyodide.ffi import JsException, create_once_callable

from .._ports import LockHold
from ..errors import LockError
from .ffi import FATAL, LOCKS_AT_UNLOAD, Proxies, bound, on_settled, to_js_value

logger = logging.getLogger("pytabby.locks")


def lock_error(what: str, js_error: Any) -> LockError:
    """A ``LockError`` whose ``__cause__`` is the JS error (a ``JsException``)."""
    error = LockError(f"{what}: {js_error}")
    if isinstance(js_error, BaseException):
        error.__cause__ = js_error
    return error


class BrowserLockHold:
    """One ``navigator.locks.request``, pending or granted."""

    def __init__(self, name: str, steal: bool, on_granted: Callable[[], None],
                 on_lost: Callable[[BaseException | None], None], *, release_at_unload: bool = True) -> None:
        self._released = False
        self._release_at_unload = release_at_unload
        self._granted_yet = False
        self._on_granted = on_granted
        self._on_lost = on_lost
        self._proxies = Proxies()
        self._hold = js.Promise.withResolvers()
        self._resolve = self._hold.resolve
        # A signal cannot be combined with steal (the spec rejects it); a steal is granted at once anyway.
        abort = None if steal else js.AbortController.new()
        self._abort = abort
        options = {"steal": True} if abort is None else {"signal": abort.signal}
        self._on_fatal = [FATAL.add(self._resolve)]
        if abort is not None:
            self._on_fatal.append(FATAL.add(bound(abort, "abort")))
        request = js.navigator.locks.request(name, to_js_value(options), self._proxies.create(self._granted))
        on_settled(request, self._settled)

    def _granted(self, lock: Any) -> Any:
        if self._released:
            return None  # withdrawn while the grant was on its way: let the lock go at once
        self._granted_yet = True
        if self._release_at_unload:
            LOCKS_AT_UNLOAD.add(self._resolve)
        self._on_granted()
        return self._hold.promise

    def _settled(self, js_error: Any) -> None:
        for cleanup in self._on_fatal:
            FATAL.discard(cleanup)
        LOCKS_AT_UNLOAD.discard(self._resolve)
        self._proxies.destroy_all()
        if js_error is not None and not self._released:
            self._released = True
            self._on_lost(lock_error("the Web Lock ended without release", js_error))

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        if self._granted_yet:
            LOCKS_AT_UNLOAD.discard(self._resolve)
            self._resolve()
        elif self._abort is not None:
            self._abort.abort()  # withdraws a request still waiting in line


# Answered from the promise's reaction (a microtask), not through asyncio: Pyodide's loop runs on
# setTimeout (each hop clamped, more so in a background tab), and the answer is wanted before the
# page's pagehide.
_check_awaited = js.Function.new("locks", "name", "callback", """
    locks.query().then((snapshot) => callback(snapshot.pending.some((lock) => lock.name === name)),
                       () => callback(false));""")


class BrowserLocks:
    def __init__(self) -> None:
        self._locks = js.navigator.locks
        # A lock only this realm ever asks for: its clientId in query() is ours, so is_mine can tell.
        # No tab waits for it, so it stays until the document goes (a page that lives on after a
        # synthetic pagehide can still tell).
        self._identity = f"pytabby:client:{secrets.token_hex(8)}"
        self._identity_hold = BrowserLockHold(self._identity, False, lambda: None, lambda error: None,
                                              release_at_unload=False)

    def request(self, name: str, *, steal: bool, on_granted: Callable[[], None],
                on_lost: Callable[[BaseException | None], None]) -> LockHold:
        return BrowserLockHold(name, steal, on_granted, on_lost)

    def try_request(self, name: str, on_result: Callable[[LockHold | None], None]) -> None:
        hold = js.Promise.withResolvers()
        proxies = Proxies()
        answered = False

        def granted(lock: Any) -> Any:
            nonlocal answered
            answered = True
            if lock is None:
                on_result(None)
                return None
            on_result(_ResolveHold(hold))
            return hold.promise

        on_fatal = FATAL.add(hold.resolve)

        def done(js_error: Any) -> None:
            FATAL.discard(on_fatal)
            proxies.destroy_all()
            if js_error is not None:
                logger.warning("%s", lock_error(f"Web Lock {name!r} (ifAvailable) failed", js_error))
                if not answered:
                    on_result(None)

        request = self._locks.request(name, to_js_value({"ifAvailable": True}), proxies.create(granted))
        on_settled(request, done)

    async def is_held(self, name: str) -> bool:
        return any(lock.name == name for lock in await self._held())

    def check_awaited(self, name: str, on_result: Callable[[bool], None]) -> None:
        _check_awaited(self._locks, name, create_once_callable(lambda awaited: on_result(bool(awaited))))

    async def is_mine(self, name: str) -> bool:
        held = await self._held()
        mine = {lock.clientId for lock in held if lock.name == self._identity}
        if not mine:
            return True  # identity not granted yet: cannot tell, so keep leading until lost() says otherwise
        return any(lock.name == name and lock.clientId in mine for lock in held)

    async def _held(self) -> list[Any]:
        try:
            snapshot = await self._locks.query()
        except JsException as exc:
            raise lock_error("navigator.locks.query() failed", exc) from exc
        return list(snapshot.held)


class _ResolveHold:
    def __init__(self, hold: Any) -> None:
        self._hold = hold

    def release(self) -> None:
        self._hold.resolve()
