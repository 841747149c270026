from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._ports import LockHold
from .._loop import current_loop

if TYPE_CHECKING:
    from ._tabs import FakeTab


@dataclass(eq=False)
class _FakeLockRequest:
    tab: FakeTab
    name: str
    on_granted: Callable[[], None] | None
    on_lost: Callable[[BaseException | None], None]
    on_try_result: Callable[[LockHold | None], None] | None = None
    held: bool = False
    done: bool = False

    def release(self) -> None:
        self.tab.browser._locks.release(self)


class _FakeLockTable:
    def __init__(self) -> None:
        self.holders: dict[str, _FakeLockRequest] = {}
        self.queues: dict[str, deque[_FakeLockRequest]] = {}

    def request(self, request: _FakeLockRequest, steal: bool) -> None:
        holder = self.holders.get(request.name)
        if steal and holder is not None:
            holder.done = True
            del self.holders[request.name]
            current_loop().call_soon(holder.tab.run, holder.on_lost, RuntimeError("AbortError: lock stolen"))
            holder = None
        queue = self.queues.setdefault(request.name, deque())
        if holder is None and (steal or not queue):
            self._grant(request)
        else:
            queue.append(request)

    def try_request(self, request: _FakeLockRequest) -> None:
        free = request.name not in self.holders and not self.queues.get(request.name)
        assert request.on_try_result is not None
        if free:
            self.holders[request.name] = request
            request.held = True
        current_loop().call_soon(request.tab.run, request.on_try_result, request if free else None)

    def _grant(self, request: _FakeLockRequest) -> None:
        self.holders[request.name] = request
        request.held = True
        if request.on_granted is not None:
            current_loop().call_soon(self._run_granted, request)

    @staticmethod
    def _run_granted(request: _FakeLockRequest) -> None:
        if not request.done and request.on_granted is not None:
            request.tab.run(request.on_granted)

    def release(self, request: _FakeLockRequest) -> None:
        if request.done:
            return
        request.done = True
        queue = self.queues.get(request.name, deque())
        if request in queue:
            queue.remove(request)
        if self.holders.get(request.name) is request:
            del self.holders[request.name]
            if queue:
                self._grant(queue.popleft())

    def held_by(self, tab: FakeTab) -> list[_FakeLockRequest]:
        pending = [r for q in self.queues.values() for r in q if r.tab is tab]
        return [r for r in self.holders.values() if r.tab is tab] + pending


class _FakeLocks:
    def __init__(self, tab: FakeTab) -> None:
        self._tab = tab

    def request(self, name: str, *, steal: bool, on_granted: Callable[[], None],
                on_lost: Callable[[BaseException | None], None]) -> LockHold:
        request = _FakeLockRequest(self._tab, name, on_granted, on_lost)
        self._tab.browser._locks.request(request, steal)
        return request

    def try_request(self, name: str, on_result: Callable[[LockHold | None], None]) -> None:
        self._tab.browser._locks.try_request(_FakeLockRequest(self._tab, name, None, lambda exc: None, on_result))

    async def is_held(self, name: str) -> bool:
        return name in self._tab.browser._locks.holders

    def check_awaited(self, name: str, on_result: Callable[[bool], None]) -> None:
        locks = self._tab.browser._locks
        current_loop().call_soon(lambda: self._tab.run(on_result, bool(locks.queues.get(name))))

    async def is_mine(self, name: str) -> bool:
        holder = self._tab.browser._locks.holders.get(name)
        return holder is not None and holder.tab is self._tab
