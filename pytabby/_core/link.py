"""``SocketLink``: the shared socket's protocol with no I/O (feed inputs, drain effects).

Theory of operation. Every tab has one link. The tab that leads (``acquired``)
holds a ``Leadership``, which owns the WebSocket: it emits ``Connect`` with a
fresh ``Connection`` object, and socket events of any other connection are
ignored, so a replaced socket can never act. Each server frame is numbered
``(term, seq)`` and posted to every tab (``Post``); each tab delivers it
(``Deliver``) only from the leader its elector knows, in that leader's term,
in order.

A tab's ``send`` enters its ``Outbox`` and is posted to the leader, whose
``Forwarder`` writes it (``Write``) once the socket is open, and posts an ack
once the server is known to have it: the pong to a ping written after it, or,
from a server that answers no ping, the socket's ``bufferedAmount`` showing it
left the tab (``ReadBuffer``, ``CheckBuffer`` -> ``buffered``; see
``link_lead``); the tab keeps it until that ack. On a leader change every tab
posts its outbox again, so nothing unacknowledged is lost (see ``routing``).
Requests and confirmed sends also wait in ``Awaiting`` for their answer and follow its
resend rule: written on a connection that closed unanswered, they are sent
again, with the same id, when the next one opens (see ``requests``).

The heartbeat: while open the leader writes a ping every ``interval``; any
frame counts as a sign of life, and a connection silent for ``timeout`` is
closed and replaced, as if the server had dropped it.

The link's role moves only along this table (role x input -> role); any other
move raises ``IllegalMove`` and changes nothing:

    follower      acquired -> connecting                     close -> done
    connecting    opened -> open    closed -> reconnecting   lost -> follower
    open          closed, silent -> reconnecting             lost -> follower
    reconnecting  retry -> reconnecting   opened -> open     closed -> reconnecting
                  give_up -> stopped                         lost -> follower
    stopped                                                  lost -> follower
    (each leading role)                                      close -> done

    >>> link = SocketLink("tab-1", backoff=lambda: iter([1.0]), heartbeat=None)
    >>> link.acquired(term=1)
    >>> *_, connect = link.effects(); connect
    Connect(connection=<Connection term=1 #1>)
    >>> link.opened(connect.connection, now=0.0)
    >>> link.server_frame(connect.connection, "hi", now=0.1)
    >>> link.effects()[-1]
    Post(type='frame', payload={'term': 1, 'seq': 1, 'data': 'hi'})
    >>> link.acquired(term=2)
    Traceback (most recent call last):
    ...
    pytabby._core.link.IllegalMove: 'acquired' is not allowed while 'open'
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from typing import Literal

from .link_io import (
    AckMsg, Answered, Connection, Deliver, Effect, FrameMsg, Heartbeat, Post, RetryAfter, SendMsg, SetState,
    StateMsg, WireMessage,
)
from .link_lead import CLOCK_SLACK, Leadership
from .requests import Awaiting, Data, parse_confirmation, parse_reply
from .routing import Forwarder, FrameOrder, Outbox
from .safe_json import MAX_JSON_DEPTH, depth_exceeds

PINGS_PER_TAB = 10**6  # 2**32 starts of a million pings each stay within JSON's exact integers
Role = Literal["follower", "connecting", "open", "reconnecting", "stopped", "done"]
TRANSITIONS: dict[Role, dict[str, Role]] = {
    "follower": {"acquired": "connecting", "close": "done"},
    "connecting": {"opened": "open", "closed": "reconnecting", "lost": "follower", "close": "done"},
    "open": {"closed": "reconnecting", "silent": "reconnecting", "lost": "follower", "close": "done"},
    "reconnecting": {"retry": "reconnecting", "opened": "open", "closed": "reconnecting",
                     "give_up": "stopped", "lost": "follower", "close": "done"},
    "stopped": {"lost": "follower", "close": "done"},
    "done": {},
}
SHOWN: dict[Role, str] = {"connecting": "connecting", "open": "open", "reconnecting": "reconnecting",
                          "stopped": "closed"}


class IllegalMove(RuntimeError):
    """An input the link's current role does not allow (a bug in the driver); nothing changed."""


class SocketLink:
    """One tab's side of the shared socket; see the module's theory of operation."""

    def __init__(self, tab_id: str, *, queue_limit: int = 1000, reconnect: bool = True,
                 backoff: Callable[[], Iterator[float]], heartbeat: Heartbeat | None = Heartbeat()) -> None:
        self.tab_id = tab_id
        self.role: Role = "follower"
        self.state = "no-leader"  # the leader's socket state, as every tab shows it
        self.leader_id: str | None = None
        self.term = 0
        self.outbox = Outbox(queue_limit)
        self.awaiting = Awaiting(tab_id)
        self.order = FrameOrder()
        self.refused = 0  # protocol messages ignored: not from the leader, or out of bounds
        self.deep_frames = 0  # reply-like frames nested past the JSON bound, left unparsed
        self.lead: Leadership | None = None
        self._forwarder = Forwarder()  # kept across terms: a future leader starts from the acks it saw
        self._reconnect, self._backoff, self._heartbeat = reconnect, backoff, heartbeat
        # Pings numbered from a start of this tab's own: an echo of another tab's is not this one's.
        self._first_ping = zlib.crc32(tab_id.encode()) * PINGS_PER_TAB + 1
        self._effects: list[Effect] = []
        self._open_seen: tuple[int, int] | None = None  # the leader's open connection, as last announced

    def effects(self) -> list[Effect]:
        effects = self._effects.copy()
        self._effects.clear()  # in place: the leadership appends to this same list
        return effects

    # -- every tab -------------------------------------------------------------

    def send(self, data: Data, answer_id: str | None = None, *, over_limit: bool = False) -> None:
        """Queue ``data`` for the server; with ``answer_id`` it also awaits that answer."""
        send_id = self.outbox.add(data, over_limit=over_limit)
        self._forwarder.saw(self.tab_id, send_id)
        if answer_id is not None:
            if answer_id not in self.awaiting:
                self.awaiting.add(answer_id, data if isinstance(data, str) else data.decode())
            self.awaiting.queued(answer_id, send_id)
        self._effects.append(Post("send", {"id": send_id, "first": self.outbox.first_unacked, "data": data}))

    def forget(self, answer_id: str) -> None:
        """Stop awaiting ``answer_id`` (timed out or cancelled)."""
        self.awaiting.forget(answer_id)

    def leader_changed(self, leader_id: str | None, term: int) -> None:
        """The elector knows a new leader (another tab): it gets all this tab has not seen acknowledged."""
        self.leader_id, self.term = leader_id, term
        if leader_id is not None and leader_id != self.tab_id:
            self._effects.append(Post("hello", None))
            self._resend_outbox()

    def bus_message(self, message: WireMessage) -> None:
        if isinstance(message, FrameMsg):
            if self._from_leader(message.sender, message.term) and self.order.accept(message.term, message.seq):
                self._on_frame(message.data)
        elif isinstance(message, AckMsg):
            self._on_ack(message)
        elif isinstance(message, StateMsg):
            if self._from_leader(message.sender, message.term):
                self._on_state(message)
        elif isinstance(message, SendMsg):
            if self.lead is not None:
                self._on_send(message, self.lead)
            else:
                self._forwarder.saw(message.sender, message.id)
        elif self.lead is not None and message.sender != self.tab_id:  # hello: a tab asks for the state
            self._publish_state()

    def _from_leader(self, sender: str, term: int) -> bool:
        # Never beyond the term the elector knows; below it when the leader's elector moved its
        # term up without a new leadership (two leaders of one term, a follower's higher term).
        if sender == self.leader_id and term <= self.term:
            return True
        self.refused += 1
        return False

    def _on_frame(self, data: Data) -> None:
        confirmed = parse_confirmation(data)
        if confirmed is not None:  # protocol traffic: resolved here, never delivered
            if self.awaiting.forget(confirmed):
                self._effects.append(Answered(confirmed, None))
            return
        if self.awaiting:
            reply = parse_reply(data)
            if reply is not None and self.awaiting.forget(reply.request_id):
                self._effects.append(Answered(reply.request_id, reply))
            elif reply is None and isinstance(data, str) and '"request_id"' in data \
                    and depth_exceeds(data, MAX_JSON_DEPTH):
                self.deep_frames += 1
        self._effects.append(Deliver(data))

    def _on_ack(self, ack: AckMsg) -> None:
        # The leader wrote what it acks, so it learns only about its own outbox from them.
        if ack.sender != self.leader_id or ack.origin == self.tab_id and ack.id > self.outbox.last_id \
                or self.lead is None and not self._forwarder.learn_ack(ack.origin, ack.id):
            self.refused += 1
            return
        if ack.origin == self.tab_id:
            self.awaiting.acked(self.outbox.acked(ack.id), self._open_seen)

    def _on_state(self, update: StateMsg) -> None:
        self.order.sync(update.term, update.seq)
        if self.lead is None:
            self._show(update.state)
        if update.state == "open" and (update.term, update.connection) != self._open_seen:
            self._open_seen = (update.term, update.connection)
            for answer_id, text in self.awaiting.resend_on(self._open_seen):
                self.send(text, answer_id, over_limit=True)

    def _resend_outbox(self) -> None:
        for pending in self.outbox.pending():
            self._effects.append(Post("send", {"id": pending.id, "first": self.outbox.first_unacked,
                                               "data": pending.data}))

    # -- the leader ------------------------------------------------------------

    def acquired(self, term: int) -> None:
        self._move("acquired")
        self.leader_id, self.term = self.tab_id, term
        self._forwarder.abandon()
        self.lead = Leadership(term, self._forwarder, self._effects.append, self._backoff(), self._heartbeat,
                               first_ping=self._first_ping)
        self._resend_outbox()
        self._publish_state()
        self.lead.connect()

    def lost(self) -> None:
        """Leadership ended (runs before the lock is let go, or after the edge closed the socket
        and let it go at a discarded page's ``pagehide``): close first, then say so."""
        lead = self.lead
        self._move("lost")
        assert lead is not None  # every role that allows "lost" leads
        self._step_down(lead)

    def opened(self, connection: Connection, now: float) -> None:
        if self.lead is None or connection is not self.lead.connection:
            return
        self._move("opened")
        self.lead.opened(now, self._backoff())
        self._publish_state()
        self.lead.flush()

    def closed(self, connection: Connection, code: int, now: float) -> None:
        if self.lead is None or connection is not self.lead.connection:
            return
        self._move("closed")
        self.lead.connection_lost()
        self._retry_or_give_up(self.lead, now)

    def buffered(self, connection: Connection, amount: int, written: int | None = None) -> None:
        """The socket's ``bufferedAmount``, asked for by ``CheckBuffer`` (later) or ``ReadBuffer`` (now,
        with its ``written``); fed once more as the socket closes."""
        if self.lead is not None and connection is self.lead.connection:
            self.lead.buffered(amount, written)

    def server_frame(self, connection: Connection, data: Data, now: float) -> None:
        lead = self.lead
        if lead is None or connection is not lead.connection or self.role != "open" or not lead.heard(data, now):
            return
        lead.seq += 1
        self._effects.append(Post("frame", {"term": lead.term, "seq": lead.seq, "data": data}))

    def tick(self, now: float) -> None:
        """Time passed: reconnect when due; while open, ping, or give up on a silent connection."""
        lead = self.lead
        if lead is None:
            return
        if self.role == "reconnecting" and lead.retry_at is not None:
            if now >= lead.retry_at - CLOCK_SLACK:
                self._move("retry")
                lead.connect()
            else:  # woken early: sleep again
                self._effects.append(RetryAfter(lead.retry_at - now))
        elif self.role == "open" and not lead.beat(now):
            self._move("silent")
            self._retry_or_give_up(lead, now)

    def close(self) -> None:
        lead = self.lead
        self._move("close")
        if lead is not None:
            self._step_down(lead)
        self._show("closed")

    def _step_down(self, lead: Leadership) -> None:
        lead.drop(1000, "leader stepped down")
        self._forwarder.abandon()  # what it never wrote comes again to the next leader
        self.lead = None
        self._publish_state("no-leader", lead)

    def _on_send(self, send: SendMsg, lead: Leadership) -> None:
        already = lead.forwarder.receive(send.sender, send.id, send.first, send.data)
        if already is not None:
            self._effects.append(Post("ack", {"origin": send.sender, "id": already}))
        if self.role == "open":
            lead.flush()

    def _retry_or_give_up(self, lead: Leadership, now: float) -> None:
        if not self._reconnect:
            self._move("give_up")
        self._publish_state()
        if self._reconnect:
            lead.schedule_retry(now)

    def _publish_state(self, shown: str | None = None, lead: Leadership | None = None) -> None:
        lead = lead or self.lead
        assert lead is not None
        state = shown or SHOWN[self.role]
        self._show(state)
        self._effects.append(Post("state", {"state": state, "term": lead.term, "connection": lead.connections,
                                            "seq": lead.seq}))

    def _show(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self._effects.append(SetState(state))

    def _move(self, move: str) -> None:
        target = TRANSITIONS[self.role].get(move)
        if target is None:
            raise IllegalMove(f"{move!r} is not allowed while {self.role!r}")
        self.role = target
