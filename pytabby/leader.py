"""``LeaderElector``: exactly one leader tab per key, on the
`Web Locks API <https://developer.mozilla.org/docs/Web/API/Web_Locks_API>`_.

The leader holds an exclusive lock named after the key; the browser grants
it to the next waiting tab the moment the leader's tab closes, so hand-over
needs no timer. On a channel derived from the key the leader announces
itself and answers "who leads?" pings at once (from the message event, so a
hidden, throttled leader still answers). A follower whose pings go unanswered
for ``liveness_timeout`` seconds (a frozen leader still holds its lock) steals
the lock; one follower at a time, through a second lock. The decisions are
made by ``pytabby._core.election.ElectionState``; this class performs them.

    leader = create_leader_elector("ws-leader")
    leader.on("acquire", lambda ev: print("leading, term", ev.term))
    leader.start()
    await leader.wait_for_leadership()
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack

from ._closeable import Closeable
from ._core.buffer import Overflow
from ._core.election import (EVENT_KINDS, CheckLine, CheckLock, Effect, ElectionState, Emit, EventKind, Post, Release,
                             RequestLock, Steal, TryTakeover, WIRE_TYPES, read_wire)
from ._core.envelope import Message
from ._leader_lock import LeaderLock
from ._loop import current_loop
from ._ports import Clock, Platform, Timer
from ._runtime import default_platform
from .bus import TabBus
from .emitter import Emitter, Handler, Stream, StreamSet, Unsubscribe
from .errors import ClosedError

logger = logging.getLogger("pytabby.leader")

LeaderEventType = EventKind
EVENT_TYPES: tuple[LeaderEventType, ...] = EVENT_KINDS


@dataclass(frozen=True, slots=True)
class LeaderEvent:
    """``acquire``: this tab leads. ``lose``: it stopped leading. ``change``: another tab leads now."""

    type: LeaderEventType
    ts: float
    leader_id: str | None
    term: int

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"LeaderEvent.type must be one of {EVENT_TYPES}, got {self.type!r}")


class _LeaderEvents(Closeable):
    """The event side of an elector: handlers, streams, and the waiters of ``wait_for_leadership``."""

    def __init__(self, clock: Clock) -> None:
        self._events: Emitter[LeaderEvent] = Emitter("leader")
        self._streams: StreamSet[LeaderEvent] = StreamSet(clock)
        self._leadership: asyncio.Future[None] | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def _check_open(self, what: str) -> None:
        if self._closed:
            raise ClosedError(f"{self!r}: {what} after close()")

    def on(self, type: LeaderEventType, handler: Handler[LeaderEvent]) -> Unsubscribe:
        self._check_open("on")
        if type not in EVENT_TYPES:
            raise ValueError(f"unknown leader event {type!r}; expected one of {EVENT_TYPES}")
        return self._events.on(type, handler)

    def on_all(self, handler: Handler[LeaderEvent]) -> Unsubscribe:
        self._check_open("on_all")
        return self._events.on_all(handler)

    def stream(self, type: LeaderEventType | None = None, *, buffer: int | None = None,
               overflow: Overflow | None = None) -> Stream[LeaderEvent]:
        """Every ``LeaderEvent`` (or those of one ``type``) from now on, as an async iterator.

        ``buffer`` defaults to 100 events, ``overflow`` to ``"oldest"``.
        """
        self._check_open("stream")
        return self._streams.open(None if type is None else (lambda event: event.type == type), buffer, overflow)

    def _dispatch(self, event: LeaderEvent) -> None:
        if event.type == "acquire" and self._leadership is not None and not self._leadership.done():
            self._leadership.set_result(None)
        self._events.emit(event.type, event)
        self._streams.push(event)

    async def _until_acquired(self) -> None:
        if self._leadership is None or self._leadership.done():
            self._leadership = current_loop().create_future()
        await asyncio.shield(self._leadership)

    def _end_events(self) -> None:
        self._closed = True
        self._streams.close_all()
        self._events.clear()


class LeaderElector(_LeaderEvents):
    """Exactly one leader tab per ``key``, on a Web Lock; see ``create_leader_elector``."""

    def __init__(
        self,
        key: str,
        *,
        tab_id: str | None = None,
        heartbeat_interval: float = 1.0,
        liveness_timeout: float = 5.0,
        platform: Platform | None = None,
    ) -> None:
        if not isinstance(key, str) or not key:
            raise ValueError("key must be a non-empty str")
        if not 0 < heartbeat_interval < liveness_timeout:
            raise ValueError("need 0 < heartbeat_interval < liveness_timeout")
        self._platform = platform or default_platform()
        super().__init__(self._platform.clock)
        self._key = key
        self._tab_id = tab_id or self._platform.new_tab_id()
        self._lock = LeaderLock(self._platform, f"pytabby:leader:{key}")
        self._state = ElectionState(self._tab_id, heartbeat_interval=heartbeat_interval,
                                    liveness_timeout=liveness_timeout)
        self._bus: TabBus | None = None
        self._timer: Timer | None = None
        self._remove_lifecycle: Callable[[], None] | None = None

    def __repr__(self) -> str:
        return f"<LeaderElector {self._key!r} tab={self._tab_id} {self._state.role} term={self.term}>"

    @property
    def key(self) -> str:
        """The election key: tabs with the same key elect one leader."""
        return self._key

    @property
    def tab_id(self) -> str:
        """This tab's id, as other tabs see it in ``leader_id``."""
        return self._tab_id

    @property
    def is_leader(self) -> bool:
        """Whether this tab leads now (it holds the leader lock)."""
        return self._state.is_leader

    @property
    def leader_id(self) -> str | None:
        """The leading tab as this tab knows it (None until it knows)."""
        return self._state.leader_id

    @property
    def term(self) -> int:
        """The current leadership term; it grows with every new leader (a fencing token)."""
        return self._state.term

    @property
    def started(self) -> bool:
        """Whether this tab takes part in the election (``start()`` ran, ``stop()`` did not)."""
        return self._state.role != "idle"

    # -- taking part ---------------------------------------------------------

    def start(self) -> LeaderElector:
        """Join the election (idempotent). ``LeaderElectionUnavailable`` if there are no Web Locks."""
        self._check_open("start")
        if self.started:
            return self
        self._platform.locks  # raises LeaderElectionUnavailable before anything starts
        self._bus = TabBus(self._lock.name, tab_id=self._tab_id, platform=self._platform)
        for kind in WIRE_TYPES:
            self._bus.subscribe(kind, self._on_wire)
        self._remove_lifecycle = self._platform.on_lifecycle(self._on_lifecycle)
        self._apply(self._state.start(self._now()))
        self._schedule_tick()
        return self

    def stop(self) -> None:
        """Leave the election; a leader emits ``lose`` and releases the lock at once. Idempotent."""
        if not self.started:
            return
        self._apply(self._state.stop())
        self._teardown()

    def close(self) -> None:
        """``stop()`` for good and end the event streams."""
        self.stop()
        self._end_events()

    def steal(self) -> None:
        """Lead now, taking the lock from the current leader (it gets ``lose``)."""
        self.start()
        self._apply(self._state.steal())

    async def wait_for_leadership(self) -> None:
        """Return once this tab leads (starting it if needed). Cancellable."""
        self.start()
        while not self.is_leader:
            await self._until_acquired()

    async def has_leader(self) -> bool:
        """Whether any tab holds the leader lock (asks ``navigator.locks.query``)."""
        return await self._lock.is_held()

    # -- inputs --------------------------------------------------------------

    def _on_wire(self, msg: Message) -> None:
        if not self.started:
            return
        if msg.type == "resign":
            self._apply(self._state.resigned(msg.tab_id))
            return
        wire = read_wire(msg.payload)
        if wire is not None:
            term, leader = wire
            self._apply(self._state.heard(msg.tab_id, term, self._now()) if msg.type == "leader"
                        else self._state.pinged(msg.tab_id, term, leader))

    def _on_lifecycle(self, event: str, persisted: bool) -> None:
        if event == "beforeunload":
            self._apply(self._state.leaving())
        elif event == "pagehide" and not persisted:
            self.stop()  # release before teardown: the next tab takes over at once
        elif event in ("freeze", "pagehide"):
            self._apply(self._state.suspend(self._now()))
        elif event in ("resume", "pageshow"):
            self._apply(self._state.resume(self._now()))

    # -- effects -------------------------------------------------------------

    def _apply(self, effects: list[Effect]) -> None:
        for effect in effects:
            match effect:
                case Emit(kind=kind, leader_id=leader_id, term=term):
                    self._dispatch(LeaderEvent(kind, self._now(), leader_id, term))
                case Post(type=kind, term=term, leader=leader):
                    if self._bus is not None and not self._bus.closed:
                        self._bus.publish(kind, {"term": term, "leader": leader})
                case RequestLock() | Steal():
                    self._lock.request(steal=isinstance(effect, Steal), on_granted=self._granted,
                                       on_lost=lambda: self._apply(self._state.lost(self._now())))
                case Release():
                    self._lock.release()
                case TryTakeover():
                    self._lock.try_takeover(self._takeover_decided)
                case CheckLock():
                    self._lock.check_mine(self._lock_checked)
                case CheckLine():
                    self._lock.check_line(self._line_checked)

    def _teardown(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._remove_lifecycle is not None:
            self._remove_lifecycle()
            self._remove_lifecycle = None
        if self._bus is not None:
            self._bus.close()
            self._bus = None

    # -- liveness ------------------------------------------------------------

    def _now(self) -> float:
        return self._platform.clock.now_ms() / 1000

    def _schedule_tick(self) -> None:
        self._timer = self._platform.clock.call_later(self._state.heartbeat_interval, self._tick)

    def _tick(self) -> None:
        self._timer = None
        if self.started:
            self._schedule_tick()
            self._apply(self._state.tick(self._now()))

    def _lock_checked(self, mine: bool) -> None:
        if self.started:
            self._apply(self._state.lock_checked(mine, self._now()))

    def _line_checked(self, awaited: bool) -> None:
        if self.started:
            self._apply(self._state.line_checked(awaited, self._now()))

    def _granted(self) -> None:
        self._apply(self._state.granted())

    def _takeover_decided(self, won: bool) -> None:
        if not self.started:
            return
        if not won:
            self._apply(self._state.takeover_failed())
            return
        silent_for = self._state.silent_for(self._now())
        effects = self._state.takeover_won(self._now())
        if effects:
            logger.warning("%r: leader silent for %.1fs, taking over", self, silent_for)
        self._apply(effects)

    # -- resources -----------------------------------------------------------

    def __enter__(self) -> LeaderElector:
        return self.start()

    def _needs_close(self) -> bool:
        return getattr(self, "_state", None) is not None and self.started


class LeaderOptions(TypedDict, total=False):
    """``LeaderElector``'s keyword arguments; their defaults live in ``LeaderElector.__init__`` only."""

    heartbeat_interval: float
    liveness_timeout: float
    platform: Platform | None


def create_leader_elector(key: str, tab_id: str | None = None, **options: Unpack[LeaderOptions]) -> LeaderElector:
    """A ``LeaderElector`` for ``key`` (purrtabby's ``createLeaderElector``); call ``start()``.

    ``key``: tabs with the same key elect one leader. ``tab_id``: this tab's id (default: a fresh
    one). Options: ``heartbeat_interval`` (seconds of silence after which a follower pings the
    leader, default 1.0), ``liveness_timeout`` (seconds without an answer after which one follower
    steals the lock from a frozen leader, default 5.0), ``platform`` (default: the real browser; a
    ``pytabby.testing.FakeTab`` in unit tests).
    """
    return LeaderElector(key, tab_id=tab_id, **options)
