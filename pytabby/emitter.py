"""Handler registry and async streams shared by the bus, the elector and the socket.

Handlers may be plain functions or coroutine functions. A handler that raises
is reported to the event loop's exception handler (and logged) and never stops
delivery to the other handlers. Async handlers run as tasks that are kept
referenced until they finish, so their errors are never lost.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from ._closeable import Closeable
from ._core.buffer import BoundedBuffer, Overflow, check_buffer_args
from ._loop import current_loop
from ._ports import Clock
from .errors import ClosedError

logger = logging.getLogger("pytabby")

T = TypeVar("T")
Handler = Callable[[T], Any]
Unsubscribe = Callable[[], None]


def report_handler_error(exc: BaseException, handler: Any, what: str) -> None:
    current_loop().call_exception_handler(
        {"message": f"pytabby: {what} handler {handler!r} raised", "exception": exc}
    )


class Emitter(Generic[T]):
    """Handlers keyed by a string, plus catch-all handlers."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._by_key: dict[str, list[_Entry]] = {}
        self._all: list[_Entry] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        # What emit calls per key (None: a key with no handlers of its own), until the handlers
        # change: a burst emits hundreds of messages, and a copy per message showed.
        self._snapshots: dict[str | None, tuple[_Entry, ...]] = {}
        self.count = 0  # subscribed handlers, of every key

    def on(self, key: str, handler: Handler[T]) -> Unsubscribe:
        return self._add(self._by_key.setdefault(key, []), handler)

    def on_all(self, handler: Handler[T]) -> Unsubscribe:
        return self._add(self._all, handler)

    def _add(self, handlers: list[_Entry], handler: Handler[T]) -> Unsubscribe:
        if not callable(handler):
            raise TypeError(f"handler must be callable, got {handler!r}")
        # A wrapper object per subscription: the same function subscribed twice is two subscriptions.
        entry = _Entry(handler)
        handlers.append(entry)
        self._snapshots.clear()
        self.count += 1

        def unsubscribe() -> None:
            if entry in handlers:
                handlers.remove(entry)
                self._snapshots.clear()
                self.count -= 1

        return unsubscribe

    def emit(self, key: str, value: T) -> None:
        # A snapshot (a tuple, never changed): a handler may unsubscribe (itself or others) while we iterate.
        entries = self._snapshots.get(key) or self._snapshot(key)
        for entry in entries:  # the call inline: a function call per handler and message shows in bursts
            try:
                result = entry.handler(value)
            except Exception as exc:
                report_handler_error(exc, entry.handler, self._what)
                continue
            if result is not None and inspect.isawaitable(result):
                self._keep(result, entry.handler)

    def _snapshot(self, key: str) -> tuple[_Entry, ...]:
        keyed = self._by_key.get(key)
        if keyed:
            entries = self._snapshots[key] = (*keyed, *self._all)
            return entries
        # Kept under None: keys without handlers of their own are not collected.
        shared = self._snapshots.get(None)
        if shared is None:
            shared = self._snapshots[None] = tuple(self._all)
        return shared

    def _keep(self, awaitable: Any, handler: Handler[T]) -> None:
        task = asyncio.ensure_future(awaitable, loop=current_loop())
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._task_done(done, handler))

    def _task_done(self, task: asyncio.Future[Any], handler: Handler[T]) -> None:
        self._tasks.discard(task)
        error = None if task.cancelled() else task.exception()
        if error is not None:
            report_handler_error(error, handler, self._what)

    def clear(self) -> None:
        for handlers in (*self._by_key.values(), self._all):
            handlers.clear()  # in place: an unsubscribe kept from before finds nothing to remove
        self._by_key.clear()
        self._snapshots.clear()
        self.count = 0


class _Entry:
    __slots__ = ("handler",)

    def __init__(self, handler: Callable[[Any], Any]) -> None:
        self.handler = handler

    def __repr__(self) -> str:
        return repr(self.handler)


class Stream(Closeable, Generic[T]):
    """An async iterator over pushed items with a bounded buffer.

    Iteration ends quietly after ``close()``; it raises ``BufferOverflowError``
    when ``overflow="error"`` and the reader fell behind. Awaiting the next item
    is cancel-safe: a cancelled read loses nothing. Timeouts run on ``clock``,
    the tab's ``Clock`` (a ``ManualClock`` in tests), else on the event loop.
    """

    def __init__(self, limit: int, overflow: Overflow, on_close: Callable[[], None],
                 clock: Clock | None = None) -> None:
        self._buffer: BoundedBuffer[T] = BoundedBuffer(limit, overflow)
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False
        self._on_close = on_close
        self._clock = clock

    @property
    def dropped(self) -> int:
        """How many items the overflow policy discarded."""
        return self._buffer.dropped

    @property
    def closed(self) -> bool:
        """Whether the stream was closed; a closed stream still yields what it buffered, then ends."""
        return self._closed

    def __len__(self) -> int:
        return len(self._buffer)

    def push(self, item: T) -> None:
        """Buffer ``item`` for the reader under the overflow policy (ignored once closed)."""
        if self._closed:
            return
        self._buffer.put(item)
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def _wait(self) -> None:
        self._waiter = current_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def __aiter__(self) -> Stream[T]:
        return self

    async def __anext__(self) -> T:
        while not self._buffer.ready():
            if self._closed:
                raise StopAsyncIteration
            await self._wait()
        return self._buffer.take()

    async def get(self, timeout: float | None = None) -> T:
        """The next item; ``ClosedError`` if the stream ended, ``TimeoutError`` after ``timeout`` s."""
        expired = False

        def expire() -> None:
            nonlocal expired
            expired = True
            self._wake()

        call_later = current_loop().call_later if self._clock is None else self._clock.call_later
        timer = None if timeout is None else call_later(timeout, expire)
        try:
            while not self._buffer.ready():
                if self._closed:
                    raise ClosedError("stream is closed")
                if expired:
                    raise TimeoutError(f"no item within {timeout}s")
                await self._wait()
            return self._buffer.take()
        finally:
            if timer is not None:
                timer.cancel()

    def close(self) -> None:
        """Stop receiving; buffered items can still be read, then iteration ends."""
        if self._closed:
            return
        self._closed = True
        self._on_close()
        self._wake()


class StreamSet(Generic[T]):
    """The open streams of one source, each with an optional filter; ``stream()`` methods share it."""

    def __init__(self, clock: Clock, buffer: int = 100, overflow: Overflow = "oldest") -> None:
        check_buffer_args(buffer, overflow)
        self._clock = clock
        self._buffer = buffer
        self._overflow: Overflow = overflow
        self._streams: dict[Stream[T], Callable[[T], bool] | None] = {}
        self.count = 0  # open streams (an attribute: the bus reads it on every publish)

    def __len__(self) -> int:
        return self.count

    def open(self, accept: Callable[[T], bool] | None, buffer: int | None,
             overflow: Overflow | None) -> Stream[T]:
        """A new stream of the items ``accept`` takes (all if None); ``buffer``/``overflow`` default to the set's."""
        stream: Stream[T] = Stream(self._buffer if buffer is None else buffer, overflow or self._overflow,
                                   lambda: self._forget(stream), self._clock)
        self._streams[stream] = accept
        self.count = len(self._streams)
        return stream

    def _forget(self, stream: Stream[T]) -> None:
        self._streams.pop(stream, None)
        self.count = len(self._streams)

    def push(self, item: T) -> None:
        if not self._streams:
            return
        for stream, accept in list(self._streams.items()):
            if accept is None or accept(item):
                stream.push(item)

    def close_all(self) -> None:
        for stream in list(self._streams):
            stream.close()
