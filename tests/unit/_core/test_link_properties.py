"""Property: random interleavings of tabs, leaders and a lossy, reordering channel lose no send.

Confirmed sends are confirmed in the end, however many connections their answers were lost with.

A small world of ``SocketLink`` objects: a server, an elector that hands the lead
on (a leader may die, step down or freeze and wake later), a channel that
delivers posts in any order, or loses them, and sockets that buffer what a
leader writes until the network takes it (a leader's death loses its buffer, a
server's close what was still buffered). After every step, each send of a
living tab is at the server or still in that tab's outbox (acknowledged means
sent). After the world heals, every such send is at the server.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytabby._core.link import SocketLink
from pytabby._core.link_io import (
    Answered, CheckBuffer, CloseSocket, Connect, Connection, Post, ReadBuffer, Write, decode,
)
from pytabby._core.link_lead import wire_size
from pytabby._core.requests import confirm_id_of, confirmation

MAX_TABS = 4
EXAMPLES = int(os.environ.get("PYTABBY_LINK_EXAMPLES", "200"))  # more for a long run, e.g. 5000
STATS = {"runs": 0, "longest": 0}


class World:
    def __init__(self) -> None:
        self.links: dict[str, SocketLink] = {}
        self.alive: list[str] = []
        self.frozen: dict[str, list[Callable[[], None]]] = {}  # tab -> what waits for it to wake
        self.in_flight: list[tuple[str, object]] = []  # (receiver, decoded message)
        self.connecting: list[tuple[str, Connection]] = []
        self.server_open: dict[Connection, str] = {}
        self.buffers: dict[Connection, list[str]] = {}  # written by a leader, not yet taken by the network
        self.checks: dict[str, Connection] = {}  # a tab's due look at its socket's bufferedAmount
        self.received: list[str] = []
        self.sent: dict[str, list[str]] = {}
        self.confirms: dict[str, list[str]] = {}  # confirmed sends' ids, per tab
        self.answered: set[str] = set()
        self.replies: list[tuple[Connection, str]] = []  # confirmations on their way to a leader
        self.leader: str | None = None
        self.term = 0
        self.now = 0.0
        self.numbers = itertools.count(1)

    # -- plumbing --------------------------------------------------------------

    def open_tab(self) -> None:
        if len(self.links) >= MAX_TABS:
            return
        tab = f"t{len(self.links) + 1}"
        self.links[tab] = SocketLink(tab, backoff=lambda: itertools.repeat(0.5), heartbeat=None)
        self.alive.append(tab)
        self.sent[tab] = []
        self.confirms[tab] = []
        if self.leader is None:
            self.elect()
        else:
            self.run(tab, lambda link: link.leader_changed(self.leader, self.term))

    def run(self, tab: str, step: Callable[[SocketLink], None]) -> None:
        """Feed ``step`` to the tab now, or when it wakes; then perform its effects."""
        if tab not in self.alive:
            return
        if tab in self.frozen:
            self.frozen[tab].append(lambda: self.run(tab, step))
            return
        link = self.links[tab]
        step(link)
        while effects := link.effects():
            self.perform(tab, link, effects)

    def perform(self, tab: str, link: SocketLink, effects: list[object]) -> None:
        for effect in effects:
            if isinstance(effect, ReadBuffer):  # the driver reads the socket at once
                if self.server_open.get(effect.connection) == tab:
                    link.buffered(effect.connection, self.buffered(effect.connection), effect.written)
            elif isinstance(effect, Post):
                message = decode(effect.type, effect.payload, tab)
                assert message is not None
                self.in_flight += [(receiver, message) for receiver in self.alive]
            elif isinstance(effect, Connect):
                self.connecting.append((tab, effect.connection))
            elif isinstance(effect, Write):
                assert self.server_open.get(effect.connection) == tab  # never a socket it does not hold
                self.buffers.setdefault(effect.connection, []).append(effect.data)
            elif isinstance(effect, CheckBuffer):
                self.checks[tab] = effect.connection
            elif isinstance(effect, Answered):
                self.answered.add(effect.answer_id)
            elif isinstance(effect, CloseSocket):
                self.server_open.pop(effect.connection, None)

    def elect(self) -> None:
        awake = [t for t in self.alive if t not in self.frozen]
        candidates = [t for t in awake if t != self.leader] or awake  # a lone tab that stepped down rejoins
        if not candidates:
            self.leader = None
            return
        self.leader, self.term = candidates[0], self.term + 1
        for tab in self.alive:
            if tab == self.leader:
                self.run(tab, lambda link: link.acquired(self.term))
            else:  # a frozen tab hears of it when it wakes, after it learns it lost the lock
                leader, term = self.leader, self.term
                self.run(tab, lambda link: link.leader_changed(leader, term))

    def close_server_side(self, tab: str) -> None:
        for connection in [c for c, owner in self.server_open.items() if owner == tab]:
            del self.server_open[connection]
            self.buffers.pop(connection, None)  # the tab is torn down: its buffer never leaves

    def buffered(self, connection: Connection) -> int:
        return sum(wire_size(data) for data in self.buffers.get(connection, []))

    # -- moves -----------------------------------------------------------------

    def send(self, pick: int) -> None:
        tab = self.alive[pick % len(self.alive)] if self.alive else None
        if tab is None or tab in self.frozen:
            return
        data = f"{tab}-{next(self.numbers)}"
        self.sent[tab].append(data)
        self.run(tab, lambda link: link.send(data))

    def send_confirmed(self, pick: int) -> None:
        tab = self.alive[pick % len(self.alive)] if self.alive else None
        if tab is None or tab in self.frozen:
            return
        confirm_id = self.links[tab].awaiting.new_confirm_id()
        text = f'{{"confirm_id": "{confirm_id}"}}'
        self.sent[tab].append(text)
        self.confirms[tab].append(confirm_id)
        self.run(tab, lambda link: link.send(text, confirm_id))

    def transmit(self, pick: int) -> None:
        """The network takes the first ``pick % 3 + 1`` writes of one socket's buffer to the server."""
        waiting = sorted((c for c, data in self.buffers.items() if data), key=lambda c: (c.term, c.number))
        if not waiting:
            return
        connection = waiting[pick % len(waiting)]
        buffer = self.buffers[connection]
        for data in buffer[:pick % 3 + 1]:
            self.received.append(data)
            confirm_id = confirm_id_of(data)
            if confirm_id is not None:
                self.replies.append((connection, confirmation(confirm_id)))
        del buffer[:pick % 3 + 1]

    def check(self, pick: int) -> None:
        """A tab's timer fires: it reads its socket's bufferedAmount, if it still holds that socket."""
        ready = sorted(t for t in self.checks if t in self.alive and t not in self.frozen)
        if not ready:
            return
        tab = ready[pick % len(ready)]
        connection = self.checks.pop(tab)
        if self.server_open.get(connection) == tab:
            self.run(tab, lambda link: link.buffered(connection, self.buffered(connection)))

    def reply(self, pick: int) -> None:
        """The server's confirmation reaches the leader, if its connection is still open."""
        if self.replies:
            connection, data = self.replies.pop(pick % len(self.replies))
            tab = self.server_open.get(connection)
            if tab is not None:
                self.run(tab, lambda link: link.server_frame(connection, data, self.now))

    def deliver(self, pick: int, lose: bool = False) -> None:
        ready = [i for i, (receiver, _) in enumerate(self.in_flight) if receiver not in self.frozen]
        if not ready:
            return
        receiver, message = self.in_flight.pop(ready[pick % len(ready)])
        if not lose:
            self.run(receiver, lambda link: link.bus_message(message))

    def server(self, pick: int, accept: bool) -> None:
        if not self.connecting:
            return
        tab, connection = self.connecting.pop(pick % len(self.connecting))
        if tab not in self.alive:
            return
        if accept:
            self.server_open[connection] = tab
            self.run(tab, lambda link: link.opened(connection, self.now))
        else:
            self.run(tab, lambda link: link.closed(connection, 1006, self.now))

    def drop_connections(self) -> None:
        for connection, tab in list(self.server_open.items()):
            del self.server_open[connection]  # the tab hears of it at once: no write into a closed socket
            left = self.buffered(connection)
            self.buffers.pop(connection, None)  # what the close found still buffered is lost
            self.run(tab, lambda link: link.buffered(connection, left))
            self.run(tab, lambda link: link.closed(connection, 1012, self.now))

    def tick(self) -> None:
        self.now += 1.0
        for tab in list(self.alive):
            self.run(tab, lambda link: link.tick(self.now))

    def kill_leader(self) -> None:
        if self.leader is None:
            return
        dead = self.leader
        self.alive.remove(dead)
        self.frozen.pop(dead, None)
        self.close_server_side(dead)
        self.in_flight = [(r, m) for r, m in self.in_flight if r != dead]
        self.elect()

    def step_down(self) -> None:
        if self.leader is not None and self.leader not in self.frozen:
            self.run(self.leader, lambda link: link.lost())
            self.elect()

    def freeze(self, pick: int) -> None:
        tab = self.alive[pick % len(self.alive)] if self.alive else None
        if tab is None or tab in self.frozen:
            return
        self.frozen[tab] = []
        if tab == self.leader:  # the others steal the lock; it learns when it wakes
            self.run(tab, lambda link: link.lost())
            self.elect()

    def wake(self, pick: int) -> None:
        if self.frozen:
            tab = sorted(self.frozen)[pick % len(self.frozen)]
            for step in self.frozen.pop(tab):
                step()

    # -- checks ----------------------------------------------------------------

    def nothing_lost(self) -> None:
        at_server = set(self.received)
        for tab in self.alive:
            queued = {pending.data for pending in self.links[tab].outbox.pending()}
            missing = [data for data in self.sent[tab] if data not in at_server and data not in queued]
            assert not missing, f"{tab} lost {missing}"

    def busy(self) -> bool:
        return bool(self.in_flight or self.connecting or self.replies or any(self.buffers.values())
                    or any(t in self.alive for t in self.checks))

    def heal(self) -> None:
        for tab in sorted(self.frozen):
            self.wake(sorted(self.frozen).index(tab))
        if self.leader is None:
            self.elect()
        for _ in range(3):  # settle, then a fresh leader (who is sent every outbox again), then settle
            for _ in range(200):
                if not self.busy():
                    self.tick()
                    if not self.busy():
                        break
                while self.connecting:
                    self.server(0, accept=True)
                while any(self.buffers.values()):
                    self.transmit(0)
                while any(t in self.alive for t in self.checks):
                    self.check(0)
                while self.replies:
                    self.reply(0)
                while self.in_flight:
                    self.deliver(0)
                self.nothing_lost()
            self.step_down()


MOVES = st.one_of(
    st.tuples(st.just("send"), st.integers(0, 9)),
    st.tuples(st.just("confirmed"), st.integers(0, 9)),
    st.tuples(st.just("reply"), st.integers(0, 9)),
    st.tuples(st.just("transmit"), st.integers(0, 9)),
    st.tuples(st.just("check"), st.integers(0, 9)),
    st.tuples(st.just("deliver"), st.integers(0, 99)),
    st.tuples(st.just("lose"), st.integers(0, 99)),
    st.tuples(st.just("accept"), st.integers(0, 9)),
    st.tuples(st.just("refuse"), st.integers(0, 9)),
    st.tuples(st.sampled_from(["drop", "tick", "kill", "step_down", "open_tab"]), st.just(0)),
    st.tuples(st.sampled_from(["freeze", "wake"]), st.integers(0, 9)),
)


def play(world: World, move: str, pick: int) -> None:
    actions = {
        "send": lambda: world.send(pick), "confirmed": lambda: world.send_confirmed(pick),
        "reply": lambda: world.reply(pick), "transmit": lambda: world.transmit(pick),
        "check": lambda: world.check(pick), "deliver": lambda: world.deliver(pick),
        "lose": lambda: world.deliver(pick, lose=True), "accept": lambda: world.server(pick, True),
        "refuse": lambda: world.server(pick, False), "drop": world.drop_connections, "tick": world.tick,
        "kill": world.kill_leader, "step_down": world.step_down, "open_tab": world.open_tab,
        "freeze": lambda: world.freeze(pick), "wake": lambda: world.wake(pick),
    }
    actions[move]()


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, MAX_TABS), st.lists(MOVES, min_size=20, max_size=300))
def test_no_interleaving_loses_a_send_or_leaves_a_confirmed_send_unconfirmed(tabs, moves):
    world = World()
    for _ in range(tabs):
        world.open_tab()
    for move, pick in moves:
        play(world, move, pick)
        world.nothing_lost()
    world.heal()
    at_server = set(world.received)
    for tab in world.alive:
        assert [d for d in world.sent[tab] if d not in at_server] == []
        assert len(world.links[tab].outbox) == 0
        assert set(world.confirms[tab]) <= world.answered and len(world.links[tab].awaiting) == 0
    STATS["runs"] += 1
    STATS["longest"] = max(STATS["longest"], len(moves))


def teardown_module() -> None:
    print(f"\nlink property: {STATS['runs']} interleavings ran, the longest {STATS['longest']} moves")
