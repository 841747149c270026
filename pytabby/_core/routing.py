"""Shared-socket routing with no I/O: the sender's outbox, the leader's forwarder, frame order.

Theory of operation. Every tab numbers its sends 1, 2, 3... and keeps each in
its ``Outbox`` until the leader acknowledges it. A send travels to the leader
as ``(origin, id, first_unacked, data)``. The leader's ``Forwarder`` writes a
tab's sends in id order only: an id that arrives ahead of a gap waits, an id it
has already sent is acknowledged again and not rewritten. A write is
acknowledged only once the leader knows the server has it (``confirm``, from a
pong or ``bufferedAmount``; see ``link_lead``): a tab torn down drops what it
or its network still holds, and a write the connection lost goes out again on
the next one (``unwrite``). Acks are cumulative and every tab sees them, so a
follower that becomes leader already knows how far each tab got. When the leader
changes, each tab re-sends its whole outbox to the new leader: nothing is lost,
and only a frame the dead leader sent but never acknowledged can reach the
server twice.

Server frames fan out as ``(term, seq, data)``; ``FrameOrder`` counts gaps in
``seq`` and refuses repeats and jumps past ``MAX_SEQ_JUMP``.

    >>> outbox = Outbox(limit=10)
    >>> outbox.add("hi")
    1
    >>> forwarder = Forwarder()
    >>> forwarder.receive("tab-a", 1, 1, "hi")
    >>> forwarder.take()
    [Write(origin='tab-a', id=1, data='hi')]
    >>> forwarder.confirm(1)
    {'tab-a': 1}
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from ..errors import QueueFullError
from .requests import Data


@dataclass(frozen=True, slots=True)
class Pending:
    id: int
    data: Data


class Outbox:
    """Sends of this tab not yet acknowledged by a leader, in order, at most ``limit``."""

    def __init__(self, limit: int) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"queue_limit must be a positive int, got {limit!r}")
        self.limit = limit
        self._next_id = 1
        self._pending: deque[Pending] = deque()

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, data: Data, *, over_limit: bool = False) -> int:
        """Queue ``data``; ``over_limit`` for a re-send of something the limit already let in."""
        if len(self._pending) >= self.limit and not over_limit:
            raise QueueFullError(f"{self.limit} sends are waiting for the leader; queue_limit reached")
        pending = Pending(self._next_id, data)
        self._next_id += 1
        self._pending.append(pending)
        return pending.id

    @property
    def first_unacked(self) -> int:
        """The oldest id still waiting; everything below it was acknowledged."""
        return self._pending[0].id if self._pending else self._next_id

    @property
    def last_id(self) -> int:
        """The newest id handed out: an ack beyond it acknowledges what was never sent."""
        return self._next_id - 1

    def acked(self, through: int) -> list[int]:
        """Forget every send up to ``through``; returns the ids forgotten."""
        done = []
        while self._pending and self._pending[0].id <= through:
            done.append(self._pending.popleft().id)
        return done

    def pending(self) -> list[Pending]:
        return list(self._pending)


@dataclass(frozen=True, slots=True)
class Write:
    """Write ``data`` on the socket; acknowledge ``(origin, id)`` once it has left."""

    origin: str
    id: int
    data: Data


@dataclass(slots=True)
class _Lane:
    accepted: int  # highest id queued for writing, in order
    written: int  # highest id known to have left the socket (acknowledged)
    early: dict[int, Data] = field(default_factory=dict)


class Forwarder:
    """The leader's side: per-tab FIFO, dedup by id, and a queue for while the socket is not open."""

    def __init__(self) -> None:
        self._lanes: dict[str, _Lane] = {}
        self._ready: deque[Write] = deque()
        self._in_flight: deque[Write] = deque()  # written, not yet known to have left the socket
        self._seen: dict[str, int] = {}  # the highest send id seen from each tab (while following)

    def __len__(self) -> int:
        return len(self._ready)

    def saw(self, origin: str, send_id: int) -> None:
        self._seen[origin] = max(self._seen.get(origin, 0), send_id)

    def learn_ack(self, origin: str, through: int) -> bool:
        """Any tab sees the leader's acks; a future leader starts from them.

        An ack beyond every send seen from ``origin`` acknowledges nothing real: refused (False).
        """
        if through > self._seen.get(origin, 0):
            return False
        lane = self._lane(origin, through + 1)
        lane.written = max(lane.written, through)
        lane.accepted = max(lane.accepted, through)
        return True

    def _lane(self, origin: str, first_unacked: int) -> _Lane:
        lane = self._lanes.get(origin)
        if lane is None:
            lane = self._lanes[origin] = _Lane(first_unacked - 1, first_unacked - 1)
        elif lane.accepted < first_unacked - 1:
            # The origin says all below first_unacked was acknowledged (by an earlier leader).
            lane.accepted = lane.written = first_unacked - 1
            lane.early = {i: d for i, d in lane.early.items() if i >= first_unacked}
        return lane

    def receive(self, origin: str, send_id: int, first_unacked: int, data: Data) -> int | None:
        """Take a send; returns an id to re-acknowledge if it was already written."""
        lane = self._lane(origin, first_unacked)
        if send_id <= lane.written:
            return lane.written
        if send_id <= lane.accepted:
            return None  # already queued
        lane.early[send_id] = data
        while lane.accepted + 1 in lane.early:
            lane.accepted += 1
            self._ready.append(Write(origin, lane.accepted, lane.early.pop(lane.accepted)))
        return None

    def take(self) -> list[Write]:
        """Everything queued, in order: the caller writes it now, and ``confirm``s it once it has left."""
        writes, self._ready = list(self._ready), deque()
        self._in_flight.extend(writes)
        return writes

    def confirm(self, count: int) -> dict[str, int]:
        """The oldest ``count`` writes left the socket: the cumulative ack due to each origin."""
        acks: dict[str, int] = {}
        for _ in range(count):
            write = self._in_flight.popleft()
            lane = self._lanes[write.origin]
            lane.written = max(lane.written, write.id)
            acks[write.origin] = write.id
        return acks

    def unwrite(self) -> None:
        """The connection closed before these writes were known to leave: they go out first on the next."""
        self._ready.extendleft(reversed(self._in_flight))
        self._in_flight.clear()

    def abandon(self) -> None:
        """Leadership ended: drop the queue (origins re-send to the next leader)."""
        self._ready.clear()
        self._in_flight.clear()
        for lane in self._lanes.values():
            lane.accepted = lane.written
            lane.early.clear()


MAX_SEQ_JUMP = 10_000  # more frames than this missed at once is not a gap but a forgery


class FrameOrder:
    """A receiving tab's view of the leader's frame sequence (the leader's term is checked before)."""

    def __init__(self) -> None:
        self.term = 0
        self.last_seq = 0
        self.gaps = 0
        self.refused = 0

    def sync(self, term: int, seq: int) -> None:
        """The leader said how many frames it has sent in ``term``."""
        if term > self.term or term == self.term and seq > self.last_seq:
            self.term, self.last_seq = term, seq

    def accept(self, term: int, seq: int) -> bool:
        """Whether to deliver the frame: the next ones in order, gaps counted; an older term, repeats
        and wild jumps refused."""
        if term > self.term:
            self.term, self.last_seq = term, 0
        if term < self.term or not self.last_seq < seq <= self.last_seq + MAX_SEQ_JUMP:
            self.refused += 1
            return False
        if seq != self.last_seq + 1 and self.last_seq != 0:
            self.gaps += 1
        self.last_seq = seq
        return True
