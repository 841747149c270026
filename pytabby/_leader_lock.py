"""The lock side of a ``LeaderElector``: one leader-lock request at a time, and the takeover probe.

Callbacks of a request that was replaced or released are dropped here, so the
election core only ever hears about the current request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ._ports import LockHold, Platform


class LeaderLock:
    def __init__(self, platform: Platform, name: str) -> None:
        self._platform = platform
        self.name = name
        self._hold: LockHold | None = None
        self._probe: asyncio.Future[None] | None = None  # referenced while it runs
        self._check: asyncio.Future[None] | None = None  # likewise

    def request(self, *, steal: bool, on_granted: Callable[[], None], on_lost: Callable[[], None]) -> None:
        """Ask for the lock (the previous request must have been released)."""
        hold: LockHold | None = None

        def granted() -> None:
            if self._hold is hold:
                on_granted()

        def lost(error: BaseException | None) -> None:
            if self._hold is hold:
                self._hold = None
                on_lost()

        hold = self._platform.locks.request(self.name, steal=steal, on_granted=granted, on_lost=lost)
        self._hold = hold

    def release(self) -> None:
        """Give the lock back, or withdraw the request; later callbacks of it are dropped."""
        hold, self._hold = self._hold, None
        if hold is not None:
            hold.release()

    async def is_held(self) -> bool:
        return await self._platform.locks.is_held(self.name)

    def check_mine(self, on_result: Callable[[bool], None]) -> None:
        """Ask the browser whether this tab holds the leader lock; ``on_result(mine)``."""
        self._check = asyncio.ensure_future(self._check_mine(on_result))

    async def _check_mine(self, on_result: Callable[[bool], None]) -> None:
        on_result(await self._platform.locks.is_mine(self.name))

    def check_line(self, on_result: Callable[[bool], None]) -> None:
        """Ask the browser whether another request waits for the leader lock; ``on_result(awaited)``."""
        self._platform.locks.check_awaited(self.name, on_result)

    def try_takeover(self, on_result: Callable[[bool], None]) -> None:
        """If the leader lock is held, try the takeover lock: one follower at a time wins it."""
        self._probe = asyncio.ensure_future(self._try_takeover(on_result))

    async def _try_takeover(self, on_result: Callable[[bool], None]) -> None:
        if not await self.is_held():
            on_result(False)
            return

        def decided(takeover: LockHold | None) -> None:
            try:
                on_result(takeover is not None)
            finally:  # held only while deciding: the steal itself is on the leader lock
                if takeover is not None:
                    takeover.release()

        self._platform.locks.try_request(f"{self.name}:takeover", decided)
