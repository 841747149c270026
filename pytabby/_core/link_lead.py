"""``Leadership``: the leading tab's side of ``SocketLink`` for one term.

It owns the WebSocket (one ``Connection`` object per attempt), the ``Forwarder``
that writes every tab's sends, the frame numbering and the heartbeat. The link
decides when it may act (its transition table); this only acts.

A send is acknowledged once the server has it. With a heartbeat the proof is
a pong: the server answers pings in order on one TCP stream, so the answer to
a ping written after a send means the send arrived. A flush's writes are
followed by a ping when none is out (one a round trip while sends flow), and
each pong acknowledges what was written before its ping. Leaving the tab is
not enough: a browser whose network process is behind (busy, or stopped) has
taken the bytes out of ``bufferedAmount`` and still loses them when the
leader's tab closes, and a follower would have forgotten them.

A server that echoes every frame back answers a ping with the ping itself,
which counts as its pong; a tab numbers its pings from a start of its own, so
another tab's ping that a relay sends on proves nothing here.

Each connection is pinged as it opens. A server that has not answered by the
first heartbeat, an interval later (or no heartbeat), gets the weaker proof,
``bufferedAmount``: ``WebSocket.send`` only buffers, and the browser drops that
buffer when it tears the tab down, or silently when the socket is already
closing. So each write's end is counted in UTF-8 bytes, as
``bufferedAmount`` counts them, and the socket's ``bufferedAmount`` tells how
many bytes of this connection have left: every write ending within them is
acknowledged. It is read right after each flush's writes (``ReadBuffer``: what
earlier flushes wrote has usually left by then), and on a timer while a write
waits (``CheckBuffer``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator

from .link_io import (
    CheckBuffer, CloseSocket, Connect, Connection, Effect, Heartbeat, Post, ReadBuffer, RetryAfter, TickAfter, Write,
)
from .requests import Data
from .routing import Forwarder

CLOCK_SLACK = 0.001  # a timer may fire a hair before its deadline (clock rounding)
# Waits between looks at bufferedAmount while a write has not left: the first on the next task
# (the browser lowers it in a task of its own), then a little longer while nothing moves. Kept
# short: what a leader that dies has not acknowledged is sent again by the next (a duplicate).
BUFFER_CHECKS = (0.0, 0.001, 0.002, 0.004)


def wire_size(data: Data) -> int:
    """The bytes ``bufferedAmount`` counts for ``data``: UTF-8 for text (a lone surrogate becomes
    U+FFFD, 3 bytes, as does its surrogatepass encoding)."""
    if isinstance(data, bytes) or data.isascii():
        return len(data)
    return len(data.encode("utf-8", "surrogatepass"))


class Leadership:
    """One term of leading: the socket's lifecycle, the forwarder and the heartbeat."""

    def __init__(self, term: int, forwarder: Forwarder, emit: Callable[[Effect], None], delays: Iterator[float],
                 heartbeat: Heartbeat | None, first_ping: int = 1) -> None:
        self.term = term
        self.connection: Connection | None = None
        self.connections = 0
        self.seq = 0
        self.forwarder = forwarder
        self.retry_at: float | None = None
        self._emit, self._delays, self._heartbeat = emit, delays, heartbeat
        self._heard_at = self._ping_at = 0.0
        self._unanswered_since: float | None = None  # the first ping no frame has followed yet
        self._pings = first_ping - 1
        self._written_bytes = 0  # on this connection
        self._unconfirmed: deque[int] = deque()  # the byte offset where each unacknowledged send ends
        self._checking = False  # a CheckBuffer is due
        self._idle_checks = 0  # checks in a row that found nothing new had left
        # Pong acks, per connection: None until the server answers a ping (or is judged not to).
        self._pongs_prove: bool | None = None if heartbeat else False
        self._confirmed = 0  # sends acknowledged on this connection
        self._pings_out: deque[tuple[int, Data]] = deque()  # per unanswered ping: the sends written before it, its text

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
        if self._heartbeat is None:
            return True
        # An echo server's answer is the ping itself: this tab's own ping numbers are its alone.
        echoed = bool(self._pings_out) and data == self._pings_out[0][1]
        if not (echoed or self._heartbeat.is_pong(data)):
            return True
        if self._pongs_prove is False:  # judged not to answer: a late pong is not in step with the pings
            return False
        self._pongs_prove = True
        if self._pings_out:
            self._confirm(self._pings_out.popleft()[0] - self._confirmed)
        if self._unconfirmed and not self._pings_out:
            self._ping()
        return False

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
            if self._pongs_prove is None:  # the ping written at the opening is an interval old
                self._ack_by_buffer()
            self._ping()
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
        """Write what is queued; it is acknowledged by the pong to a later ping, or once
        ``buffered`` shows it left (see the module's docstring)."""
        if self.connection is None:
            return
        writes = self.forwarder.take()
        for write in writes:
            self._unconfirmed.append(self._write(write.data))
        if self._pongs_prove is not False:
            # A ping after the writes, or at the opening: its pong tells whether this server answers.
            if (writes or self._pongs_prove is None) and not self._pings_out:
                self._ping()
        elif writes and len(self._unconfirmed) > len(writes):  # earlier writes wait: they may have left
            self._emit(ReadBuffer(self.connection, self._written_bytes))
        elif self._unconfirmed and not self._checking:
            self._check_buffer()

    def buffered(self, amount: int, written: int | None = None) -> None:
        """The socket's ``bufferedAmount`` when the link had written ``written`` bytes (None: all it
        has written): acknowledge every write that has left, one ack per origin."""
        if written is None:
            self._checking = False
        if self._pongs_prove is not False:
            return
        gone = (self._written_bytes if written is None else written) - amount
        count = 0
        while count < len(self._unconfirmed) and self._unconfirmed[count] <= gone:
            count += 1
        if written is None:  # the timer's look: the next waits longer while nothing moves
            self._idle_checks = 0 if count else self._idle_checks + 1
        elif count:
            self._idle_checks = 0
        self._confirm(count)
        if self._unconfirmed and not self._checking:
            self._check_buffer()

    def connection_lost(self) -> None:
        """The socket closed (its last ``bufferedAmount`` already fed): what had not left goes out again."""
        self.connection = None
        self.forwarder.unwrite()
        self._written_bytes = 0
        self._unconfirmed.clear()
        self._checking = False
        self._idle_checks = 0
        self._pongs_prove = None if self._heartbeat else False
        self._confirmed = 0
        self._pings_out.clear()

    def drop(self, code: int, reason: str) -> None:
        connection = self.connection
        self.connection_lost()
        self.retry_at = None
        if connection is not None:
            self._emit(CloseSocket(connection, code, reason))

    def _confirm(self, count: int) -> None:
        """Acknowledge the ``count`` oldest unacknowledged sends, one ack per origin."""
        if count <= 0:
            return
        for _ in range(count):
            self._unconfirmed.popleft()
        self._confirmed += count
        for origin, through in self.forwarder.confirm(count).items():
            self._emit(Post("ack", {"origin": origin, "id": through}))

    def _ping(self) -> None:
        assert self._heartbeat is not None
        self._pings += 1
        ping = self._heartbeat.ping(self._pings)
        self._write(ping)
        if self._pongs_prove is not False:
            self._pings_out.append((self._confirmed + len(self._unconfirmed), ping))

    def _ack_by_buffer(self) -> None:
        """This server answers no ping: from now on a send is acknowledged once it left the tab."""
        self._pongs_prove = False
        self._pings_out.clear()
        if self._unconfirmed and not self._checking:
            self._check_buffer()

    def _write(self, data: Data) -> int:
        """Write ``data`` on the connection; returns where it ends in the connection's bytes."""
        assert self.connection is not None
        self._written_bytes += wire_size(data)
        self._emit(Write(self.connection, data))
        return self._written_bytes

    def _check_buffer(self) -> None:
        assert self.connection is not None
        self._checking = True
        delay = BUFFER_CHECKS[min(self._idle_checks, len(BUFFER_CHECKS) - 1)]
        self._emit(CheckBuffer(self.connection, delay))
