from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING

from .._loop import current_loop

if TYPE_CHECKING:
    from ._tabs import FakeTab


class ManualClock:
    """A clock that only moves when ``advance`` is called; timers fire in time order."""

    def __init__(self, start_ms: float = 1_700_000_000_000.0) -> None:
        self._now = start_ms
        self._timers: list[tuple[float, int, _ManualTimer]] = []
        self._order = itertools.count()

    def now_ms(self) -> float:
        """The manual time in milliseconds since the epoch (moves only with ``advance``)."""
        return self._now

    def burst_ms(self) -> float:
        """``now_ms()``: a manual clock costs the same however it is read."""
        return self._now

    def call_later(self, delay: float, callback: Callable[[], None]) -> _ManualTimer:
        """Run ``callback`` once the manual time has moved ``delay`` seconds on; returns a cancellable timer.

        No delay runs it on a later loop turn, time standing still (``setTimeout(f, 0)``).
        """
        timer = _ManualTimer(callback)
        if delay <= 0:
            current_loop().call_soon(timer.fire)
            return timer
        heapq.heappush(self._timers, (self._now + delay * 1000, next(self._order), timer))
        return timer

    def advance(self, seconds: float) -> None:
        """Move time forward, firing every timer that falls due on the way."""
        until = self._now + seconds * 1000
        while self._timers and self._timers[0][0] <= until:
            due, _, timer = heapq.heappop(self._timers)
            self._now = max(self._now, due)
            timer.fire()
        self._now = until


class _ManualTimer:
    def __init__(self, callback: Callable[[], None]) -> None:
        self._callback: Callable[[], None] | None = callback

    def cancel(self) -> None:
        self._callback = None

    def fire(self) -> None:
        callback, self._callback = self._callback, None
        if callback is not None:
            callback()


class _TabClock:
    def __init__(self, clock: ManualClock, tab: FakeTab) -> None:
        self._clock = clock
        self._tab = tab

    def now_ms(self) -> float:
        return self._clock.now_ms()

    def burst_ms(self) -> float:
        return self._clock.now_ms()

    def call_later(self, delay: float, callback: Callable[[], None]) -> _ManualTimer:
        return self._clock.call_later(delay, lambda: self._tab.run(callback))
