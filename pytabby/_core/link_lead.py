"""``Leadership``: the leading tab's side of ``SocketLink`` for one term.

It owns the WebSocket (one ``Connection`` object per attempt), the ``Forwarder``
that writes every tab's sends, the frame numbering and the heartbeat. The link
decides when it may act (its transition table); this only acts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from .link_io import CloseSocket, Connect, Connection, Effect, Heartbeat, Post, RetryAfter, TickAfter, Write
from .requests import Data
from .routing import Forwarder

CLOCK_SLACK = 0.001  # a timer may fire a hair before its deadline (clock rounding)


class Leadership:
    """One term of leading: the socket's lifecycle, the forwarder and the heartbeat."""

    def __init__(self, term: int, forwarder: Forwarder, emit: Callable[[Effect], None], delays: Iterator[float],
                 heartbeat: Heartbeat | None) -> None:
        self.term = term
        self.connection: Connection | None = None
        self.connections = 0
        self.seq = 0
        self.forwarder = forwarder
        self.retry_at: float | None = None
        self._emit, self._delays, self._heartbeat = emit, delays, heartbeat
        self._heard_at = self._ping_at = 0.0
        self._unanswered_since: float | None = None  # the first ping no frame has followed yet
        self._pings = 0

    def connect(self) -> None:
        self.retry_at = None
        self.connections += 1
        self.connection = Connection(self.term, self.connections)
        self._emit(Connect(self.connection))

    def opened(self, now: float, delays: Iterator[float]) -> None:
        self._delays = delays
        self._heard_at = self._ping_at = now
        self._unanswered_since = None
        self.schedule_tick(now)

    def heard(self, data: Data, now: float) -> bool:
        """A frame arrived: the connection lives. Whether it is a server frame (not a pong)."""
        self._heard_at = now
        self._unanswered_since = None
        return self._heartbeat is None or not self._heartbeat.is_pong(data)

    def beat(self, now: float) -> bool:
        """The heartbeat at ``now``: False if the connection was silent too long (it is then dropped)."""
        beat = self._heartbeat
        if beat is None or self.connection is None:
            return True
        deadline = self._silent_after(beat)
        if deadline is not None and now >= deadline - CLOCK_SLACK:
            self.drop(4000, "no frame within the heartbeat timeout")
            return False
        if now >= self._ping_at + beat.interval - CLOCK_SLACK:
            self._ping_at = now
            if self._unanswered_since is None:
                self._unanswered_since = now
            self._pings += 1
            self._emit(Write(self.connection, beat.ping(self._pings)))
        self.schedule_tick(now)
        return True

    def _silent_after(self, beat: Heartbeat) -> float | None:
        """When the connection counts as dead: ``timeout`` after the last frame, and never before an
        unanswered ping had ``timeout - interval`` to be answered (a throttled background tab may
        ping late; a quiet server is not a dead one). None while no ping waits for an answer."""
        if self._unanswered_since is None:
            return None
        return max(self._heard_at + beat.timeout, self._unanswered_since + beat.timeout - beat.interval)

    def schedule_tick(self, now: float) -> None:
        if self._heartbeat is not None:
            due = self._ping_at + self._heartbeat.interval
            deadline = self._silent_after(self._heartbeat)
            if deadline is not None:
                due = min(due, deadline)
            self._emit(TickAfter(max(due - now, 0.0)))

    def schedule_retry(self, now: float) -> None:
        delay = next(self._delays)
        self.retry_at = now + delay
        self._emit(RetryAfter(delay))

    def flush(self) -> None:
        """Write what is queued, then one cumulative ack per origin."""
        if self.connection is None:
            return
        acks: dict[str, int] = {}
        for write in self.forwarder.take():
            self._emit(Write(self.connection, write.data))
            acks[write.origin] = write.id
        for origin, through in acks.items():
            self._emit(Post("ack", {"origin": origin, "id": through}))

    def drop(self, code: int, reason: str) -> None:
        connection, self.connection = self.connection, None
        self.retry_at = None
        if connection is not None:
            self._emit(CloseSocket(connection, code, reason))
