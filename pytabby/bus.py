"""``TabBus``: publish/subscribe between the tabs of one origin over a
`BroadcastChannel <https://developer.mozilla.org/docs/Web/API/BroadcastChannel>`_.

Every message is also delivered in the tab that published it, once the loop
turn is done (never inside ``publish``), to the handlers and streams its bus has
then; a bus with none when it publishes keeps nothing back for itself.
Handlers may be sync or async. A message published after a pause leaves at
once; one published within ``BURST_MS`` of the previous (``coalesce=True``, the
default) waits for the end of the loop turn and leaves with the rest of the
burst, one ``postMessage`` per ``MAX_BATCH`` messages. Every tab still gets them
one by one, in order.

    bus = create_bus("my-app")
    bus.subscribe("user-action", lambda msg: print(msg.payload))
    bus.publish("user-action", {"action": "click"})
    async for msg in bus.stream():
        ...
"""

from __future__ import annotations

import logging
import math
from typing import Any, TypedDict, Unpack

from ._core.buffer import Overflow, check_buffer_args
from ._core.envelope import (BatchRow, JsonBatchWriter, Message, batch_item, batch_row, check_message,
                             decode_all, encode_batch, held_copy, plain_json)
from ._ports import Platform
from ._closeable import Closeable
from ._runtime import default_platform
from .emitter import Emitter, Handler, Stream, StreamSet, Unsubscribe
from .errors import ClosedError, MalformedEnvelopeError

logger = logging.getLogger("pytabby.bus")

MAX_BATCH = 500  # messages per postMessage in a burst
# A publish this soon after the previous one is part of a burst. Telling bursts by the clock reading
# publish takes anyway costs a lone message nothing: asking JS whether the loop turn changed cost
# one call into JS per message (~4% of its one-way latency at 1 message / 12 ms).
BURST_MS = 1.0
# A burst's messages are stamped in groups of this many, each with the clock's reading at the group's
# first: so is a loop turn's time cached by event loops (nginx: one reading per iteration), here at
# most 7 publishes stale (~20 µs in a burst), where every engine's ordinary pages step their clock
# by 0.1-1 ms. Reading it for each message was a third of a burst message's cost in Firefox.
STAMP_GROUP = 8


class TabBus(Closeable):
    """A message bus shared by every tab that opens the same channel name."""

    def __init__(
        self,
        channel: str,
        *,
        tab_id: str | None = None,
        buffer: int = 100,
        overflow: Overflow = "oldest",
        coalesce: bool = True,
        platform: Platform | None = None,
    ) -> None:
        if not isinstance(channel, str) or not channel:
            raise ValueError("channel must be a non-empty str")
        check_buffer_args(buffer, overflow)
        self._closed = True  # until fully open, so __del__ stays quiet on a failed init
        self._channel_closed = False
        platform = platform or default_platform()
        self._channel_name = channel
        self._tab_id = tab_id or platform.new_tab_id()
        if not isinstance(self._tab_id, str):
            raise TypeError(f"tab_id must be a str, got {self._tab_id!r}")
        self._platform = platform
        self._seq = 0  # the next message's; a publish that raises takes none
        self._handlers: Emitter[Message] = Emitter("bus")
        self._malformed_handlers: Emitter[MalformedEnvelopeError] = Emitter("bus malformed")
        self._streams: StreamSet[Message] = StreamSet(platform.clock, buffer, overflow)
        self._malformed = 0
        self._coalesce = coalesce
        self._now_ms = platform.clock.now_ms
        self._burst_ms = platform.clock.burst_ms
        self._batch_writer = JsonBatchWriter(self._tab_id)
        # The burst being batched, posted at the turn's end: its envelopes as rows for JSON text while
        # JSON carries every payload exactly, else as objects (one list at a time, in order).
        self._burst_rows: list[BatchRow] = []
        self._burst_objects: list[dict[str, Any]] = []
        self._burst_first: tuple[str, Any, float, int, bool] | None = None  # posted alone if alone
        self._local: list[Message] = []  # published in this turn, delivered here at its end
        self._flush_pending = False
        self._last_publish_ms = -math.inf
        self._group_ms = -math.inf  # the stamp of the burst's current STAMP_GROUP
        self._batching = False  # in a burst: what is published now waits for the turn's end
        self._channel = platform.open_channel(channel, self._on_raw, self._on_unreadable, self._on_fields)
        self._closed = False

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<TabBus {self._channel_name!r} tab={self._tab_id} {state}>"

    @property
    def tab_id(self) -> str:
        """This tab's id, the ``tab_id`` of every message it publishes."""
        return self._tab_id

    @property
    def channel(self) -> str:
        """The BroadcastChannel name this bus is open on."""
        return self._channel_name

    @property
    def closed(self) -> bool:
        """Whether ``close()`` ran."""
        return self._closed

    @property
    def malformed(self) -> int:
        """How many invalid objects arrived on the channel (and were not delivered)."""
        return self._malformed

    def _check_open(self, what: str) -> None:
        if self._closed:
            raise ClosedError(f"{self!r}: {what} after close()")

    def subscribe(self, type: str, handler: Handler[Message]) -> Unsubscribe:
        """Call ``handler(msg)`` for every message of ``type``; returns a function that unsubscribes."""
        self._check_open("subscribe")
        if not isinstance(type, str) or not type:
            raise TypeError("type must be a non-empty str")
        return self._handlers.on(type, handler)

    def subscribe_all(self, handler: Handler[Message]) -> Unsubscribe:
        """Call ``handler(msg)`` for every message, whatever its type; returns a function that unsubscribes."""
        self._check_open("subscribe_all")
        return self._handlers.on_all(handler)

    def on_malformed(self, handler: Handler[MalformedEnvelopeError]) -> Unsubscribe:
        """Call ``handler(error)`` for each invalid object seen on the channel."""
        self._check_open("on_malformed")
        return self._malformed_handlers.on_all(handler)

    def publish(self, type: str, payload: Any = None) -> Message:
        """Send to every tab, this one included; ``TypeError`` (nothing sent) for a bad payload."""
        if self._closed:
            self._check_open("publish")
        batching = self._batching  # read once: it picks the clock and the path
        seq = self._seq
        tab_id = self._tab_id
        if batching:
            rows = self._burst_rows
            if len(rows) % STAMP_GROUP:
                ts = self._group_ms
            else:
                ts = self._group_ms = self._burst_ms()
            if check_message(type, payload) and not self._burst_objects:
                # batch_row() inline: no call per message (the writer's call each had been a tenth of publish)
                rows.append((type, payload if payload.__class__ is int else plain_json(payload), ts, seq))
                if len(rows) >= MAX_BATCH:
                    self._post_burst()  # a long burst: let other tabs start on it while this one goes on
            else:
                self._add_object(type, payload, ts, seq)
        elif (ts := self._now_ms()) - self._last_publish_ms < BURST_MS and self._coalesce:
            self._group_ms = ts
            plain = check_message(type, payload)
            # Posted at the turn's end (alone, or in a batch): as the payload is now, as a lone
            # message's is. A batch's rows hold their JSON text already.
            held = held_copy(payload)
            self._burst_first = (type, held, ts, seq, plain)
            if plain:
                self._burst_rows.append(batch_row(type, payload, ts, seq))
            else:
                self._burst_objects.append(batch_item(type, held, tab_id, ts, seq))
            self._batching = True
            self._flush_at_turn_end()
        else:  # after a pause (or uncoalesced): it leaves at once, before any other work
            plain = check_message(type, payload)
            try:  # inline, as every call here runs before the message leaves
                self._channel.post_envelope(type, payload, tab_id, ts, seq, plain)
            except TypeError:
                raise  # an uncloneable payload: nothing sent, nothing queued
            except Exception as exc:  # the channel died under the bus (its tab is going away): nothing can leave
                logger.warning("%r could not post %r: %s", self, type, exc)
        self._seq = seq + 1
        self._last_publish_ms = ts
        message = Message(type, payload, tab_id, ts, seq)
        if self._handlers.count or self._streams.count:
            self._local.append(message)
            self._flush_at_turn_end()
        return message

    def _flush_at_turn_end(self) -> None:
        # Only when a burst or this tab's own delivery waits: a lone message nobody here listens to
        # leaves no callback behind, and the tab's task (and its postMessage) ends sooner.
        if not self._flush_pending:
            self._flush_pending = True
            self._platform.defer(self._flush)

    def _add_object(self, type: str, payload: Any, ts: float, seq: int) -> None:
        if self._burst_rows:  # the rows so far leave first, in order
            self._post_burst()
        objects = self._burst_objects
        objects.append(batch_item(type, held_copy(payload), self._tab_id, ts, seq))
        if len(objects) >= MAX_BATCH:
            self._post_burst()

    def _post_burst(self) -> None:
        """Post what the burst holds: one batch, or its only message as a whole envelope."""
        rows, objects, first = self._burst_rows, self._burst_objects, self._burst_first
        self._burst_rows, self._burst_objects, self._burst_first = [], [], None
        if self._channel_closed or not (rows or objects):
            return
        if first is not None and len(rows) + len(objects) == 1:  # alone after all: as purrtabby peers read it
            type, payload, ts, seq, plain = first
            self._channel.post_envelope(type, payload, self._tab_id, ts, seq, plain)
        elif rows:
            self._channel.post_json_batch(self._batch_writer.texts(rows), self._tab_id, self._now_ms())
        else:
            self._channel.post(encode_batch(objects, tab_id=self._tab_id, ts=self._now_ms()))

    def _flush(self) -> None:
        """Post what this turn published (one object, or batches), then deliver it here, in order."""
        self._flush_pending = self._batching = False
        self._post_burst()
        local, self._local = self._local, []
        for message in local:
            self._deliver(message)

    def stream(
        self, type: str | None = None, *, buffer: int | None = None, overflow: Overflow | None = None
    ) -> Stream[Message]:
        """An ``async for`` stream of every message (or of one ``type``) from now on.

        Every open stream gets every message; ``buffer``/``overflow`` default to the bus's.
        """
        self._check_open("stream")
        return self._streams.open(None if type is None else (lambda message: message.type == type),
                                  buffer, overflow)

    def _on_fields(self, type: str, payload: Any, tab_id: str, ts: float, seq: int) -> None:
        """A lone message whose fields the edge checked (``Platform.open_channel``): nothing left to
        decode, and no call that is not needed, as a message after a pause pays each cold."""
        if self._closed:
            return
        message = Message(type, payload, tab_id, float(ts), seq)  # JS hands an integral ts as int
        self._handlers.emit(type, message)
        if self._streams.count:
            self._streams.push(message)

    def _on_raw(self, raw: Any) -> None:
        emit, streams = self._handlers.emit, self._streams
        for item in decode_all(raw):
            if self._closed:
                return
            if item.__class__ is Message:  # _deliver inline: a burst delivers hundreds per event
                emit(item.type, item)
                if streams.count:
                    streams.push(item)
            elif isinstance(item, MalformedEnvelopeError):
                self._report(item)

    def _on_unreadable(self, reason: str) -> None:
        self._report(MalformedEnvelopeError(reason, None))

    def _report(self, error: MalformedEnvelopeError) -> None:
        self._malformed += 1
        logger.warning("%r ignored a message: %s", self, error.reason)
        self._malformed_handlers.emit("", error)

    def _deliver(self, message: Message) -> None:
        if self._closed:
            return
        self._handlers.emit(message.type, message)
        self._streams.push(message)

    def close(self) -> None:
        """Leave the channel; open streams end after their buffered messages. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._flush()  # what was published before close() still goes out
        self._channel_closed = True
        self._channel.close()
        self._streams.close_all()
        self._handlers.clear()
        self._malformed_handlers.clear()


class BusOptions(TypedDict, total=False):
    """``TabBus``'s other keyword arguments; defaults live in ``TabBus.__init__`` only."""

    coalesce: bool
    platform: Platform | None


def create_bus(channel: str, tab_id: str | None = None, buffer: int | None = None,
               overflow: Overflow | None = None, **options: Unpack[BusOptions]) -> TabBus:
    """Open a ``TabBus`` on ``channel`` (purrtabby's ``createBus``); None means ``TabBus``'s default.

    ``channel``: the BroadcastChannel name every tab of the app uses. ``tab_id``: this tab's id
    (default: a fresh one). ``buffer``: how many messages each ``stream()`` holds (default 100).
    ``overflow``: what a full stream does, ``"oldest"`` (drop the oldest, default), ``"newest"``
    (drop the incoming) or ``"error"`` (the next read raises ``BufferOverflowError``). Options:
    ``coalesce`` (default True: a burst of publishes leaves in one ``postMessage`` per turn),
    ``platform`` (default: the real browser; a ``pytabby.testing.FakeTab`` in unit tests).
    """
    given: dict[str, Any] = {name: value for name, value in (("buffer", buffer), ("overflow", overflow))
                             if value is not None}
    return TabBus(channel, tab_id=tab_id, **given, **options)
