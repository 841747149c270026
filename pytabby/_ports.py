"""The small interfaces the asyncio layer talks to.

``pytabby._browser`` implements them on BroadcastChannel, ``navigator.locks`` and
``WebSocket``; ``pytabby.testing`` implements them in memory. Durations are
float seconds; timestamps are milliseconds since the epoch (as in JS).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class Channel(Protocol):
    """One open BroadcastChannel. ``post`` raises ``TypeError`` if the data cannot be cloned."""

    def post(self, data: Any) -> None: ...

    def post_envelope(self, type: str, payload: Any, tab_id: str, ts: float, seq: int, plain: bool) -> None:
        """Post one message as ``envelope.lone_envelope`` shapes it, from a type and payload
        ``check_message`` passed (``plain``: its verdict); the edge may build the object itself."""
        ...

    def post_json_batch(self, items: list[str], tab_id: str, ts: float) -> None:
        """Post ``envelope.encode_json_batch(items, ...)``; the edge may build the object itself."""
        ...

    def close(self) -> None: ...


class LockHold(Protocol):
    """A pending or granted Web Lock request; ``release`` frees it or withdraws it."""

    def release(self) -> None: ...


class LockManager(Protocol):
    def request(
        self,
        name: str,
        *,
        steal: bool,
        on_granted: Callable[[], None],
        on_lost: Callable[[BaseException | None], None],
    ) -> LockHold:
        """Ask for exclusive ``name``; ``on_granted`` runs once it is held.

        ``on_lost`` runs if the lock ends without ``release`` (stolen by another
        tab, or the request failed).
        """
        ...

    def try_request(self, name: str, on_result: Callable[[LockHold | None], None]) -> None:
        """``ifAvailable``: ``on_result`` gets a held lock, or None if it is taken."""
        ...

    async def is_held(self, name: str) -> bool: ...

    def check_awaited(self, name: str, on_result: Callable[[bool], None]) -> None:
        """``on_result(awaited)``: whether a request for ``name`` waits in line (``navigator.locks.query()``'s
        pending; False if the query fails). In a microtask, not an asyncio task: the page may be unloading."""
        ...

    async def is_mine(self, name: str) -> bool:
        """Whether this tab (this JS realm) holds ``name`` right now."""
        ...


class SocketListener(Protocol):
    def on_open(self) -> None: ...

    def on_message(self, data: str | bytes) -> None: ...

    def on_close(self, code: int, reason: str, was_clean: bool) -> None: ...


class Socket(Protocol):
    def send(self, data: str | bytes) -> None: ...

    @property
    def buffered_amount(self) -> int:
        """Bytes passed to ``send`` that have not left the tab yet (``WebSocket.bufferedAmount``:
        UTF-8 bytes for text; it keeps counting what a closing socket discards)."""
        ...

    def close(self, code: int = 1000, reason: str = "") -> None: ...


class Timer(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    def now_ms(self) -> float:
        """Milliseconds since the epoch, the clock every tab of the browser shares."""
        ...

    def burst_ms(self) -> float:
        """``now_ms()`` read at the least cost per reading in a tight loop (each message of a burst).
        Neither reading runs back: none is before one either gave first."""
        ...

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer: ...


class Platform(Protocol):
    """Everything a tab offers pytabby. One per tab (per JS realm).

    Members are read-only, so any object with these attributes (``FakeTab``, a
    user's own) is a ``Platform`` to a type checker.
    """

    @property
    def clock(self) -> Clock:
        """Milliseconds since the epoch and timers on the tab's event loop."""
        ...

    @property
    def locks(self) -> LockManager:
        """The Web Locks API; raises ``LeaderElectionUnavailable`` saying why it is missing."""
        ...

    def new_tab_id(self) -> str:
        """A fresh id for a tab that was given none, unique among the browser's tabs."""
        ...

    def defer(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the current task is done (a microtask), before any timer or event."""
        ...

    def open_channel(
        self, name: str, on_message: Callable[[Any], None], on_bad_message: Callable[[str], None],
        on_fields: Callable[[str, Any, str, float, int], None],
    ) -> Channel:
        """Open the BroadcastChannel ``name``: ``on_message(data)`` per message from other tabs,
        ``on_bad_message(reason)`` for one that could not be read. A port that checks a lone
        envelope's fields as ``decode`` would may hand them over instead, its payload a value:
        ``on_fields(type, payload, tab_id, ts, seq)``."""
        ...

    def connect(self, url: str, protocols: list[str] | None, listener: SocketListener) -> Socket:
        """Open a WebSocket to ``url`` (offering ``protocols``); its events go to ``listener``."""
        ...

    def on_lifecycle(self, handler: Callable[[str, bool], None]) -> Callable[[], None]:
        """Call ``handler(event, persisted)`` for beforeunload/pagehide/pageshow/freeze/resume; returns
        remove. At a pagehide that does not persist (the document is discarded) the tab's sockets
        are closed and the locks it holds given back before the handlers run."""
        ...
