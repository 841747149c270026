"""Emitter, Stream and StreamSet on their own, with a manual clock (no real sleeps)."""

import asyncio
from collections.abc import Callable

import pytest

from pytabby import BufferOverflowError, ClosedError
from pytabby.emitter import Emitter, Stream, StreamSet
from pytabby.testing import ManualClock


def test_keyed_handlers_run_before_catch_alls_and_unsubscribe_is_idempotent():
    emitter: Emitter[int] = Emitter("test")
    seen: list[tuple[str, int]] = []
    emitter.on_all(lambda n: seen.append(("all", n)))
    off = emitter.on("k", lambda n: seen.append(("k", n)))
    emitter.emit("k", 1)
    emitter.emit("other", 2)
    off()
    off()
    emitter.emit("k", 3)
    assert seen == [("k", 1), ("all", 1), ("all", 2), ("all", 3)]


def test_handlers_changed_during_an_emit_take_effect_from_the_next_emit_of_every_key():
    emitter: Emitter[int] = Emitter("test")
    seen: list[tuple[str, int]] = []
    offs: dict[str, Callable[[], None]] = {}

    def first(n: int) -> None:
        seen.append(("first", n))
        if n == 1:
            offs["second"]()  # already called for this message: it still runs for 1
            emitter.on("k", lambda n: seen.append(("late", n)))
            emitter.on_all(lambda n: seen.append(("late all", n)))

    emitter.on("k", first)
    offs["second"] = emitter.on("k", lambda n: seen.append(("second", n)))
    emitter.emit("other", 0)  # a snapshot of the catch-alls (none yet) is taken here
    emitter.emit("k", 1)
    emitter.emit("k", 2)
    emitter.emit("other", 3)
    emitter.on("k", lambda n: seen.append(("third", n)))
    emitter.emit("k", 4)
    assert seen == [("first", 1), ("second", 1), ("first", 2), ("late", 2), ("late all", 2), ("late all", 3),
                    ("first", 4), ("late", 4), ("third", 4), ("late all", 4)]


def test_an_unsubscribe_kept_from_before_clear_changes_nothing():
    emitter: Emitter[int] = Emitter("test")
    seen: list[int] = []
    offs = [emitter.on("k", seen.append), emitter.on_all(seen.append)]
    emitter.clear()
    for off in offs:
        off()
    assert emitter.count == 0
    emitter.on("k", seen.append)
    emitter.emit("k", 1)
    assert (emitter.count, seen) == (1, [1])


async def test_a_raising_handler_goes_to_the_loop_and_the_next_handler_still_runs():
    reported: list[BaseException] = []
    asyncio.get_running_loop().set_exception_handler(lambda loop, context: reported.append(context["exception"]))
    emitter: Emitter[int] = Emitter("test")
    seen: list[int] = []
    emitter.on_all(lambda n: 1 / 0)
    emitter.on_all(seen.append)

    async def failing_async(n: int) -> None:
        raise KeyError(n)

    emitter.on_all(failing_async)
    emitter.emit("", 5)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert seen == [5]
    assert [type(exc) for exc in reported] == [ZeroDivisionError, KeyError]


async def waiting_reader(clock: ManualClock) -> tuple[Stream[int], asyncio.Future[int]]:
    """A stream on ``clock`` and a ``get(timeout=3.0)`` already waiting on it."""
    stream: Stream[int] = Stream(10, "oldest", lambda: None, clock)
    reader = asyncio.ensure_future(stream.get(timeout=3.0))
    await asyncio.sleep(0)
    return stream, reader


async def test_get_times_out_on_the_given_clock_only():
    clock = ManualClock()
    stream, reader = await waiting_reader(clock)
    clock.advance(2.9)
    await asyncio.sleep(0)
    assert not reader.done()
    clock.advance(0.1)
    with pytest.raises(TimeoutError):
        await reader
    stream.close()


async def test_an_item_before_the_timeout_is_returned_and_the_timer_cancelled():
    clock = ManualClock()
    stream, reader = await waiting_reader(clock)
    stream.push(7)
    assert await reader == 7
    clock.advance(10)  # the cancelled timer wakes nobody
    stream.push(8)
    assert await stream.get() == 8
    stream.close()


async def test_get_on_a_closed_empty_stream_raises_closed_and_iteration_ends_after_the_buffer():
    closed: list[bool] = []
    stream: Stream[int] = Stream(10, "oldest", lambda: closed.append(True), ManualClock())
    stream.push(1)
    stream.close()
    stream.close()
    stream.push(2)  # ignored once closed
    assert [item async for item in stream] == [1]
    with pytest.raises(ClosedError):
        await stream.get()
    assert closed == [True]


async def test_error_overflow_raises_once_then_reads_on():
    stream: Stream[int] = Stream(2, "error", lambda: None, ManualClock())
    for n in range(3):
        stream.push(n)
    with pytest.raises(BufferOverflowError):
        await stream.get()
    assert [await stream.get(), await stream.get()] == [0, 1]
    assert stream.dropped == 1
    stream.close()


async def test_a_stream_set_filters_uses_its_defaults_and_closes_all():
    streams: StreamSet[int] = StreamSet(ManualClock(), buffer=2, overflow="newest")
    evens = streams.open(lambda n: n % 2 == 0, None, None)
    every = streams.open(None, 10, "oldest")
    for n in range(5):
        streams.push(n)
    assert (len(evens), evens.dropped, len(every)) == (2, 1, 5)
    every.close()
    assert len(streams) == 1
    streams.close_all()
    assert len(streams) == 0 and evens.closed
    assert [n async for n in evens] == [0, 2]
