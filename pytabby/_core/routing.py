"""Shared-socket routing with no I/O: the sender's outbox, the leader's forwarder, frame order.

Theory of operation. Every tab numbers its sends 1, 2, 3... and keeps each in
its ``Outbox`` until the leader acknowledges it. A send travels to the leader
as ``(origin, id, first_unacked, data)``. The leader's ``Forwarder`` writes a
tab's sends in id order only: an id that arrives ahead of a gap waits, an id it
has already written is acknowledged again and not rewritten. Acks are
cumulative and every tab sees them, so a follower that becomes leader already
knows how far each tab got. When the leader changes, each tab re-sends its whole
outbox to the new leader: nothing is lost, and only a frame the dead leader
wrote but never acknowledged can reach the server twice.

Server frames fan out as ``(term, seq, data)``; ``FrameOrder`` drops frames of
an older term (a stale leader) and counts gaps in ``seq``.

    >>> outbox = Outbox(limit=10)
    >>> outbox.add("hi")
    1
    >>> forwarder = Forwarder()
    >>> forwarder.receive("tab-a", 1, 1, "hi")
    >>> forwarder.socket_opened()
    [Write(origin='tab-a', id=1, data='hi')]
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ..errors import QueueFullError

Data = str | bytes


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

    def add(self, data: Data) -> int:
        if len(self._pending) >= self.limit:
            raise QueueFullError(f"{self.limit} sends are waiting for the leader; queue_limit reached")
        pending = Pending(self._next_id, data)
        self._next_id += 1
        self._pending.append(pending)
        return pending.id

    @property
    def first_unacked(self) -> int:
        """The oldest id still waiting; everything below it was acknowledged."""
        return self._pending[0].id if self._pending else self._next_id

    def acked(self, through: int) -> None:
        while self._pending and self._pending[0].id <= through:
            self._pending.popleft()

    def is_acked(self, send_id: int) -> bool:
        return send_id < self.first_unacked

    def pending(self) -> list[Pending]:
        return list(self._pending)


@dataclass(frozen=True, slots=True)
class Write:
    """Write ``data`` on the socket, then acknowledge ``(origin, id)``."""

    origin: str
    id: int
    data: Data


@dataclass(slots=True)
class _Lane:
    accepted: int  # highest id queued for writing, in order
    written: int  # highest id written (acknowledged)
    early: dict[int, Data] = field(default_factory=dict)


class Forwarder:
    """The leader's side: per-tab FIFO, dedup by id, and a queue for while the socket is not open."""

    def __init__(self) -> None:
        self._lanes: dict[str, _Lane] = {}
        self._ready: deque[Write] = deque()
        self._open = False

    def __len__(self) -> int:
        return len(self._ready)

    def learn_ack(self, origin: str, through: int) -> None:
        """Any tab sees the leader's acks; a future leader starts from them."""
        lane = self._lane(origin, through + 1)
        lane.written = max(lane.written, through)
        lane.accepted = max(lane.accepted, through)

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

    def socket_opened(self) -> list[Write]:
        self._open = True
        return self.writable()

    def socket_closed(self) -> None:
        self._open = False

    def writable(self) -> list[Write]:
        """What can be written now (empty while the socket is not open); mark each with ``written``."""
        return list(self._ready) if self._open else []

    def written(self, write: Write) -> None:
        if self._ready and self._ready[0] == write:
            self._ready.popleft()
        lane = self._lanes[write.origin]
        lane.written = max(lane.written, write.id)

    def abandon(self) -> None:
        """Leadership ended: drop the queue (origins re-send to the next leader)."""
        self._ready.clear()
        self._open = False
        for lane in self._lanes.values():
            lane.accepted = lane.written
            lane.early.clear()


class FrameOrder:
    """A receiving tab's view of the leader's frame sequence."""

    def __init__(self) -> None:
        self.term = 0
        self.last_seq = 0
        self.gaps = 0
        self.stale = 0

    def accept(self, term: int, seq: int) -> bool:
        """Whether to deliver the frame; stale-term frames are refused, gaps counted."""
        if term < self.term:
            self.stale += 1
            return False
        if term > self.term:
            self.term, self.last_seq = term, 0
        if seq <= self.last_seq:
            self.stale += 1
            return False
        if seq != self.last_seq + 1 and self.last_seq != 0:
            self.gaps += 1
        self.last_seq = seq
        return True


def parse_reply(data: Data) -> tuple[str, Any, Any, bool] | None:
    """``(request_id, result, error, is_error)`` if ``data`` is a JSON reply, else None."""
    if not isinstance(data, str) or not data.startswith("{") or '"request_id"' not in data:
        return None
    try:
        parsed = json.loads(data)
    except ValueError:
        return None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("request_id"), str):
        return None
    if "error" in parsed:
        return parsed["request_id"], None, parsed["error"], True
    if "result" in parsed:
        return parsed["request_id"], parsed["result"], None, False
    return None
