from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .._ports import SocketListener
from .._loop import current_loop
from ..errors import LeaderElectionUnavailable
from ._channel import _FakeChannel
from ._clock import ManualClock, _TabClock
from ._locks import _FakeLockTable, _FakeLocks
from ._server import FakeServer, _FakeSocket


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

    def open_channel(self, name: str, on_message: Callable[[Any], None], on_bad_message: Callable[[str], None],
                     on_fields: Callable[[str, Any, str, float, int], None]) -> _FakeChannel:
        # Every message reaches on_message as its clone, whose checks decode() makes.
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
        """Fire ``beforeunload``/``pagehide``/``pageshow``/``freeze``/``resume`` in this tab; a
        ``pagehide`` that does not persist closes the tab's sockets and gives its held locks back
        first, as the browser edge does."""
        if event == "pagehide" and not persisted:
            for socket in self.sockets:
                socket.close()
            locks = self.browser._locks
            for request in [r for r in locks.held_by(self) if r.held]:  # not those still in line
                locks.release(request)
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

    def close_tab(self, tab: FakeTab, *, pagehide: bool = True, beforeunload: bool = True) -> None:
        """Close ``tab`` like the browser: ``beforeunload`` (as a user's close; not Playwright's
        ``page.close()``) and ``pagehide`` first (neither if it crashed), then teardown."""
        if pagehide:
            if beforeunload:
                tab.dispatch_lifecycle("beforeunload", False)
            tab.dispatch_lifecycle("pagehide", False)
        tab.closed = True
        for channel in [c for c in self._channels if c.tab is tab]:
            channel.close()
        for socket in tab.sockets:
            socket.tear_down()
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
