"""``LeaderElector``: exactly one leader tab per key, on the
`Web Locks API <https://developer.mozilla.org/docs/Web/API/Web_Locks_API>`_.

The leader holds an exclusive lock named after the key; the browser grants
it to the next waiting tab the moment the leader's tab closes, so hand-over
needs no timer. On a channel derived from the key the leader announces
itself and answers "who leads?" pings at once (from the message event, so a
hidden, throttled leader still answers). A follower whose pings go unanswered
for ``liveness_timeout`` seconds (a frozen leader still holds its lock) steals
the lock; one follower at a time, through a second lock.

    leader = create_leader_elector("ws-leader")
    leader.on("acquire", lambda ev: print("leading, term", ev.term))
    leader.start()
    await leader.wait_for_leadership()
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Literal

from ._core.election import Announce, ElectionState, Emit, Release
from ._ports import LockHold, Platform, Timer
from ._runtime import Closeable, current_loop, default_platform
from .bus import TabBus
from .emitter import Emitter, Handler, Stream, Unsubscribe
from .errors import ClosedError

logger = logging.getLogger("pytabby.leader")

LeaderEventType = Literal["acquire", "lose", "change"]
EVENT_TYPES: tuple[str, ...] = ("acquire", "lose", "change")


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


class LeaderElector(Closeable):
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
        self._key = key
        self._tab_id = tab_id or self._platform.new_tab_id()
        self._heartbeat_interval = heartbeat_interval
        self._liveness_timeout = liveness_timeout
        self._lock_name = f"pytabby:leader:{key}"
        self._state = ElectionState(self._tab_id)
        self._events: Emitter[LeaderEvent] = Emitter("leader")
        self._streams: set[Stream[LeaderEvent]] = set()
        self._bus: TabBus | None = None
        self._hold: LockHold | None = None
        self._timer: Timer | None = None
        self._last_heard = 0.0
        self._taking_over = False
        self._takeover: asyncio.Future[None] | None = None  # referenced while it runs
        self._suspended = False
        self._closed = False
        self._remove_lifecycle: Any = None
        self._leadership: asyncio.Future[None] | None = None

    def __repr__(self) -> str:
        return f"<LeaderElector {self._key!r} tab={self._tab_id} {self._state.role} term={self.term}>"

    @property
    def key(self) -> str:
        return self._key

    @property
    def tab_id(self) -> str:
        return self._tab_id

    @property
    def is_leader(self) -> bool:
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
        return self._state.role != "idle"

    # -- taking part ---------------------------------------------------------

    def start(self) -> LeaderElector:
        """Join the election (idempotent). ``LeaderElectionUnavailable`` if there are no Web Locks."""
        if self._closed:
            raise ClosedError(f"{self!r} was closed")
        if self.started:
            return self
        locks = self._platform.locks  # raises LeaderElectionUnavailable before anything starts
        self._bus = TabBus(self._lock_name, tab_id=self._tab_id, platform=self._platform)
        self._bus.subscribe("leader", self._on_announce)
        self._bus.subscribe("ping", self._on_ping)
        self._bus.subscribe("resign", lambda msg: self._state.resigned(msg.tab_id))
        self._remove_lifecycle = self._platform.on_lifecycle(self._on_lifecycle)
        self._state.start()
        self._last_heard = self._now()
        self._request_lock(locks, steal=False)
        self._ping()  # a late tab learns the leader at once
        self._schedule_check()
        return self

    def stop(self) -> None:
        """Leave the election; a leader emits ``lose`` and releases the lock at once. Idempotent."""
        if not self.started:
            return
        was_leader = self.is_leader
        self._apply(self._state.stop())
        if was_leader:
            self._publish("resign")
        self._teardown()

    def close(self) -> None:
        """``stop()`` for good and end the event streams."""
        self.stop()
        self._closed = True
        for stream in list(self._streams):
            stream.close()
        self._events.clear()

    def steal(self) -> None:
        """Lead now, taking the lock from the current leader (it gets ``lose``)."""
        if not self.started:
            self.start()
        if self.is_leader:
            return
        self._drop_hold()
        self._request_lock(self._platform.locks, steal=True)

    async def wait_for_leadership(self) -> None:
        """Return once this tab leads (starting it if needed). Cancellable."""
        if not self.started:
            self.start()
        while not self.is_leader:
            if self._leadership is None or self._leadership.done():
                self._leadership = current_loop().create_future()
            await asyncio.shield(self._leadership)

    async def has_leader(self) -> bool:
        """Whether any tab holds the leader lock (asks ``navigator.locks.query``)."""
        return await self._platform.locks.is_held(self._lock_name)

    # -- events --------------------------------------------------------------

    def on(self, type: LeaderEventType, handler: Handler[LeaderEvent]) -> Unsubscribe:
        if type not in EVENT_TYPES:
            raise ValueError(f"unknown leader event {type!r}; expected one of {EVENT_TYPES}")
        return self._events.on(type, handler)

    def on_all(self, handler: Handler[LeaderEvent]) -> Unsubscribe:
        return self._events.on_all(handler)

    def stream(self, *, buffer: int = 100) -> Stream[LeaderEvent]:
        """Every ``LeaderEvent`` from now on, as an async iterator."""
        stream: Stream[LeaderEvent] = Stream(buffer, "oldest", lambda: self._streams.discard(stream))
        self._streams.add(stream)
        return stream

    # -- inputs --------------------------------------------------------------

    def _request_lock(self, locks: Any, *, steal: bool) -> None:
        hold: LockHold | None = None

        def granted() -> None:
            if self._hold is hold and self._state.role == "candidate":
                self._apply(self._state.granted())

        def lost(error: BaseException | None) -> None:
            if self._hold is hold:
                self._hold = None
                self._apply(self._state.lost())
                self._rejoin()

        hold = locks.request(self._lock_name, steal=steal, on_granted=granted, on_lost=lost)
        self._hold = hold

    def _on_announce(self, msg: Any) -> None:
        term = _term_of(msg.payload)
        if term is None or msg.tab_id == self._tab_id:
            return
        if msg.tab_id == self._state.leader_id or term >= self._state.term:
            self._last_heard = self._now()
        self._apply(self._state.announced(msg.tab_id, term))

    def _on_ping(self, msg: Any) -> None:
        term = _term_of(msg.payload)
        if term is not None and msg.tab_id != self._tab_id:
            known_leader = msg.payload.get("leader")
            self._apply(self._state.pinged(term, known_leader if isinstance(known_leader, str) else None))

    def _on_lifecycle(self, event: str, persisted: bool) -> None:
        if event == "pagehide" and not persisted:
            self.stop()  # release before teardown: the next tab takes over at once
        elif event in ("freeze", "pagehide"):
            self._suspend()
        elif event in ("resume", "pageshow") and self._suspended:
            self._suspended = False
            self._rejoin()

    # -- effects -------------------------------------------------------------

    def _apply(self, effects: list[Any]) -> None:
        for effect in effects:
            if isinstance(effect, Emit):
                self._emit(effect)
            elif isinstance(effect, Announce):
                self._publish("leader")
            elif isinstance(effect, Release):
                self._drop_hold()
                self._rejoin()

    def _emit(self, effect: Emit) -> None:
        if effect.kind == "lose":
            # A tab that just stopped leading gives the next leader a full liveness timeout.
            self._last_heard = self._now()
        event = LeaderEvent(effect.kind, self._now(), effect.leader_id, effect.term)
        if effect.kind == "acquire" and self._leadership is not None and not self._leadership.done():
            self._leadership.set_result(None)
        self._events.emit(event.type, event)
        for stream in list(self._streams):
            stream.push(event)

    def _publish(self, kind: str, **fields: Any) -> None:
        if self._bus is not None and not self._bus.closed:
            self._bus.publish(kind, {"term": self._state.term, **fields})

    def _ping(self) -> None:
        self._publish("ping", leader=self._state.leader_id)

    def _drop_hold(self) -> None:
        hold, self._hold = self._hold, None
        if hold is not None:
            hold.release()

    def _rejoin(self) -> None:
        """Wait in line for the lock again while still taking part."""
        if self._state.role == "candidate" and self._hold is None and not self._suspended:
            self._request_lock(self._platform.locks, steal=False)

    def _suspend(self) -> None:
        if not self.started or self._suspended:
            return
        self._suspended = True
        was_leader = self.is_leader
        self._apply(self._state.abdicate())
        if was_leader:
            self._publish("resign")
        self._drop_hold()

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
        self._suspended = False
        self._drop_hold()

    # -- liveness ------------------------------------------------------------

    def _now(self) -> float:
        return self._platform.clock.now_ms() / 1000

    def _schedule_check(self) -> None:
        self._timer = self._platform.clock.call_later(self._heartbeat_interval, self._check_liveness)

    def _check_liveness(self) -> None:
        self._timer = None
        if not self.started:
            return
        self._schedule_check()
        if self.is_leader or self._suspended:
            return
        silent_for = self._now() - self._last_heard
        if silent_for >= self._liveness_timeout:
            self._takeover = asyncio.ensure_future(self._take_over_if_held())
        elif silent_for >= self._heartbeat_interval:
            self._ping()

    async def _take_over_if_held(self) -> None:
        if self._taking_over or not await self.has_leader():
            return
        # One follower steals, the others see its announcement: a second lock picks that follower.
        self._taking_over = True
        self._platform.locks.try_request(f"{self._lock_name}:takeover", self._steal_if_chosen)

    def _steal_if_chosen(self, takeover: LockHold | None) -> None:
        self._taking_over = False
        if takeover is None:
            return
        try:
            if self._now() - self._last_heard >= self._liveness_timeout and self.started and not self.is_leader:
                logger.warning("%r: leader silent for %.1fs, taking over", self, self._now() - self._last_heard)
                self._last_heard = self._now()
                self.steal()
        finally:
            takeover.release()

    # -- resources -----------------------------------------------------------

    def __enter__(self) -> LeaderElector:
        return self.start()

    def _needs_close(self) -> bool:
        return getattr(self, "_state", None) is not None and self.started


def _term_of(payload: Any) -> int | None:
    term = payload.get("term") if isinstance(payload, dict) else None
    return term if isinstance(term, int) and not isinstance(term, bool) else None


def create_leader_elector(
    key: str,
    tab_id: str | None = None,
    *,
    heartbeat_interval: float = 1.0,
    liveness_timeout: float = 5.0,
    platform: Platform | None = None,
) -> LeaderElector:
    """A ``LeaderElector`` for ``key`` (purrtabby's ``createLeaderElector``); call ``start()``."""
    return LeaderElector(key, tab_id=tab_id, heartbeat_interval=heartbeat_interval,
                         liveness_timeout=liveness_timeout, platform=platform)
