"""In-memory fakes of the browser, for unit tests of pytabby and of apps built on it.

They implement the same ports as the browser edge, with the browser's rules:
BroadcastChannel delivers a structured clone to every *other* channel object
of that name, on a later loop turn; Web Locks are exclusive, queued FIFO,
``steal`` aborts the holder, and a closed tab frees its locks. Timers run on a
``ManualClock`` that tests advance by hand, so no test sleeps.

    async def test_handover():
        browser = FakeBrowser()
        a, b = browser.open_tab(), browser.open_tab()
        la = create_leader_elector("k", platform=a); la.start()
        lb = create_leader_elector("k", platform=b); lb.start()
        await browser.settle()
        browser.close_tab(a)
        await browser.settle()
        assert lb.is_leader
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ._core.envelope import check_payload
from ._core.requests import answer, confirm_id_of, confirmation, parse_request
from ._ports import LockHold, SocketListener
from ._loop import current_loop
from .errors import LeaderElectionUnavailable

__all__ = ["FakeBrowser", "FakeServer", "FakeTab", "ManualClock", "structured_clone"]


def structured_clone(value: Any) -> Any:
    """Copy ``value`` as postMessage would; ``TypeError`` (DataCloneError) for what pytabby cannot send.

    The rule is the core's ``check_payload``, so the fake refuses exactly what pytabby refuses.
    """
    try:
        check_payload(value)
    except TypeError as exc:
        raise TypeError(f"DataCloneError: {exc}") from None
    return _copy(value)


def _copy(value: Any) -> Any:
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, (list, tuple)):
        return [_copy(item) for item in value]
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    return value


class ManualClock:
    """A clock that only moves when ``advance`` is called; timers fire in time order."""

    def __init__(self, start_ms: float = 1_700_000_000_000.0) -> None:
        self._now = start_ms
        self._timers: list[tuple[float, int, _ManualTimer]] = []
        self._order = itertools.count()

    def now_ms(self) -> float:
        """The manual time in milliseconds since the epoch (moves only with ``advance``)."""
        return self._now

    def call_later(self, delay: float, callback: Callable[[], None]) -> _ManualTimer:
        """Run ``callback`` once the manual time has moved ``delay`` seconds on; returns a cancellable timer."""
        timer = _ManualTimer(callback)
        heapq.heappush(self._timers, (self._now + max(delay, 0.0) * 1000, next(self._order), timer))
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

    def call_later(self, delay: float, callback: Callable[[], None]) -> _ManualTimer:
        return self._clock.call_later(delay, lambda: self._tab.run(callback))


class _FakeChannel:
    def __init__(self, tab: FakeTab, name: str, on_message: Callable[[Any], None]) -> None:
        self.tab = tab
        self.name = name
        self.on_message = on_message
        self.closed = False

    def post(self, data: Any) -> None:
        if self.closed:
            raise RuntimeError("InvalidStateError: channel is closed")
        clone = structured_clone(data)
        self.tab.browser.posts[self.name] = self.tab.browser.posts.get(self.name, 0) + 1
        for peer in self.tab.browser._channels_named(self.name):
            if peer is not self:
                current_loop().call_soon(peer._receive, clone)

    def _receive(self, data: Any) -> None:
        if not self.closed:
            self.tab.run(self.on_message, structured_clone(data))

    def close(self) -> None:
        self.closed = True
        self.tab.browser._channels.discard(self)


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

    async def is_mine(self, name: str) -> bool:
        holder = self._tab.browser._locks.holders.get(name)
        return holder is not None and holder.tab is self._tab


class FakeServer:
    """The server end of fake WebSockets: a relay like the project's server, inspectable.

    It answers requests and confirms confirmed sends by the same rules as the real
    server (``pytabby._core.requests``): ``echo``, ``delay`` (on the browser's clock), ``ignore``.
    ``stalled`` makes it a stopped process: it reads nothing and sends nothing, sockets stay open.
    """

    def __init__(self) -> None:
        self.connections: list[_FakeSocket] = []
        self.peak_connections = 0
        self.received: list[str | bytes] = []
        self.refusing = False
        self.relay = True
        self.stalled = False
        self._held: list[tuple[_FakeSocket, str | bytes]] = []

    def _accept(self, socket: _FakeSocket) -> None:
        if self.refusing:
            current_loop().call_soon(socket._server_closed, 1006, "refused", False)
            return
        self.connections.append(socket)
        self.peak_connections = max(self.peak_connections, len(self.connections))
        current_loop().call_soon(socket._opened)

    def _receive(self, socket: _FakeSocket, data: str | bytes) -> None:
        if self.stalled:
            self._held.append((socket, data))
            return
        self.received.append(data)
        request = parse_request(data)
        if request is not None:
            reply = answer(request)
            if reply.text is not None:
                self._reply_later(socket, reply.text, reply.delay)
            return
        confirm_id = confirm_id_of(data)
        if self.relay:
            self.broadcast(data)
        if confirm_id is not None:
            socket.push(confirmation(confirm_id))

    def _reply_later(self, socket: _FakeSocket, text: str, delay: float) -> None:
        if delay == 0:
            socket.push(text)
        else:
            socket.tab.browser.clock.call_later(delay, lambda: socket.push(text))

    def resume(self) -> None:
        """End a stall: what the stalled server held back is read now, in order."""
        self.stalled = False
        held, self._held = self._held, []
        for socket, data in held:  # written before any close: a stopped process still reads it
            self._receive(socket, data)

    def broadcast(self, data: str | bytes) -> None:
        """Send ``data`` to every connected fake socket, as the real server's ``/control/broadcast`` does."""
        if self.stalled:
            return
        for socket in list(self.connections):
            socket.push(data)

    def drop_all(self, code: int = 1012) -> None:
        """Close every connection from the server side with ``code`` (1012: a restart), as an outage does."""
        for socket in list(self.connections):
            socket._server_closed(code, "dropped", False)

    def _forget(self, socket: _FakeSocket) -> None:
        if socket in self.connections:
            self.connections.remove(socket)


class _FakeSocket:
    def __init__(self, tab: FakeTab, url: str, listener: SocketListener) -> None:
        self.tab = tab
        self.url = url
        self.listener = listener
        self.open = False
        self.closed = False
        tab.browser.server._accept(self)

    def _opened(self) -> None:
        if not self.closed:
            self.open = True
            self.tab.run(self.listener.on_open)

    def push(self, data: str | bytes) -> None:
        """The server sends ``data`` to this client."""
        current_loop().call_soon(self._deliver, data)

    def _deliver(self, data: str | bytes) -> None:
        if self.open and not self.closed:
            self.tab.run(self.listener.on_message, data)

    def send(self, data: str | bytes) -> None:
        if not self.open or self.closed:
            raise RuntimeError("InvalidStateError: socket is not open")
        self.tab.browser.server._receive(self, data)

    def close(self, code: int = 1000, reason: str = "") -> None:
        if self.closed:
            return
        self.closed = True
        self.open = False
        self.tab.browser.server._forget(self)

    def _server_closed(self, code: int, reason: str, clean: bool) -> None:
        if self.closed:
            return
        self.close()
        self.tab.run(self.listener.on_close, code, reason, clean)


class FakeTab:
    """One simulated tab: a ``Platform`` to pass as ``platform=``."""

    def __init__(self, browser: FakeBrowser, tab_id: str, *, web_locks: bool = True) -> None:
        self.browser = browser
        self.tab_id = tab_id
        self.clock = _TabClock(browser.clock, self)
        self.web_locks = web_locks
        self.closed = False
        self.frozen = False
        self._frozen_backlog: list[Callable[[], None]] = []
        self._ids = itertools.count(1)
        self._lifecycle: list[Callable[[str, bool], None]] = []
        self.sockets: list[_FakeSocket] = []

    def __repr__(self) -> str:
        return f"<FakeTab {self.tab_id}>"

    def run(self, callback: Callable[..., None], *args: Any) -> None:
        """Run a browser callback in this tab: dropped once closed, held back while frozen."""
        if self.closed:
            return
        if self.frozen:
            self._frozen_backlog.append(lambda: callback(*args))
            return
        callback(*args)

    @property
    def locks(self) -> _FakeLocks:
        if not self.web_locks:
            raise LeaderElectionUnavailable("this fake tab has no Web Locks API (navigator.locks)")
        return _FakeLocks(self)

    def new_tab_id(self) -> str:
        suffix = next(self._ids)
        return self.tab_id if suffix == 1 else f"{self.tab_id}.{suffix}"

    def defer(self, callback: Callable[[], None]) -> None:
        current_loop().call_soon(self.run, callback)

    def open_channel(self, name: str, on_message: Callable[[Any], None],
                     on_bad_message: Callable[[str], None]) -> _FakeChannel:
        channel = _FakeChannel(self, name, on_message)
        self.browser._channels.add(channel)
        return channel

    def connect(self, url: str, protocols: list[str] | None, listener: SocketListener) -> _FakeSocket:
        socket = _FakeSocket(self, url, listener)
        self.sockets.append(socket)
        return socket

    def on_lifecycle(self, handler: Callable[[str, bool], None]) -> Callable[[], None]:
        self._lifecycle.append(handler)
        return lambda: self._lifecycle.remove(handler) if handler in self._lifecycle else None

    def dispatch_lifecycle(self, event: str, persisted: bool = False) -> None:
        """Fire ``pagehide``/``pageshow``/``freeze``/``resume`` in this tab."""
        for handler in list(self._lifecycle):
            handler(event, persisted)

    def post_raw(self, channel: str, data: Any) -> None:
        """Post ``data`` as foreign code on the channel would (bypassing pytabby)."""
        sender = _FakeChannel(self, channel, lambda data: None)
        self.browser._channels.add(sender)
        sender.post(data)
        sender.close()


@dataclass(eq=False)
class FakeBrowser:
    """One browser profile: channels, locks and a fake server shared by its tabs."""

    clock: ManualClock = field(default_factory=ManualClock)
    server: FakeServer = field(default_factory=FakeServer)

    def __post_init__(self) -> None:
        self._channels: set[_FakeChannel] = set()
        self._locks = _FakeLockTable()
        self._tab_numbers = itertools.count(1)
        self.tabs: list[FakeTab] = []
        self.posts: dict[str, int] = {}  # postMessage calls per channel name

    def open_tab(self, *, web_locks: bool = True) -> FakeTab:
        """A new tab of this browser; pass it as ``platform=``. ``web_locks=False``: a browser without Web Locks."""
        tab = FakeTab(self, f"tab-{next(self._tab_numbers)}", web_locks=web_locks)
        self.tabs.append(tab)
        return tab

    def close_tab(self, tab: FakeTab, *, pagehide: bool = True) -> None:
        """Close ``tab`` like the browser: ``pagehide`` first (unless it crashed), then teardown."""
        if pagehide:
            tab.dispatch_lifecycle("pagehide", False)
        tab.closed = True
        for channel in [c for c in self._channels if c.tab is tab]:
            channel.close()
        for socket in tab.sockets:
            socket.close()
        for request in self._locks.held_by(tab):
            self._locks.release(request)
        self.tabs.remove(tab)

    def freeze(self, tab: FakeTab) -> None:
        """Halt ``tab`` (like a debugger pause): it keeps its locks and misses nothing, later."""
        tab.frozen = True

    def unfreeze(self, tab: FakeTab) -> None:
        """Let a tab that ``freeze`` halted run again."""
        tab.frozen = False
        backlog, tab._frozen_backlog = tab._frozen_backlog, []
        for deliver in backlog:
            deliver()

    def open_channel_names(self) -> list[str]:
        """The names of every open BroadcastChannel object of every tab, sorted (one entry per object)."""
        return sorted(channel.name for channel in self._channels)

    def _channels_named(self, name: str) -> Iterator[_FakeChannel]:
        return (c for c in list(self._channels) if c.name == name)

    def lock_holder(self, name: str) -> FakeTab | None:
        """The tab holding the Web Lock ``name``, or None."""
        holder = self._locks.holders.get(name)
        return holder.tab if holder else None

    async def settle(self, rounds: int = 50) -> None:
        """Let every queued delivery and callback run (no time passes on the clock)."""
        for _ in range(rounds):
            await asyncio.sleep(0)

    async def advance(self, seconds: float, step: float = 0.05) -> None:
        """Move the clock forward in small steps, settling after each."""
        for _ in range(max(1, math.ceil(seconds / step))):
            self.clock.advance(step)
            await self.settle(10)
