"""Property tests: random interleavings of tabs driving ``ElectionState`` over a model browser.

The model: one FIFO Web Lock (``steal`` aborts the holder), lock events delivered
to each tab in order, announcements and pings that may be delayed, reordered
or lost, tabs that open, crash, freeze and wake, and a clock. After every step:
a tab that believes it leads, is running and has heard every lock event
addressed to it holds the lock, so no two such tabs lead, in one term or any.
Two tabs that both believe they lead with one term only happen while one of
them has not yet processed the loss of its lock. After healing (every tab
awake, every message delivered, time past the liveness timeout) exactly one
tab leads and every tab names it with its term.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from pytabby._core.election import (CheckLine, CheckLock, ElectionState, Effect, Emit, Post, Release, RequestLock,
                                    Steal, TryTakeover)

HEARTBEAT, LIVENESS = 1.0, 5.0
STATS = {"runs": 0, "longest": 0, "steps": 0}


@dataclass
class Tab:
    state: ElectionState
    hold: int | None = None  # id of this tab's current lock request
    lock_events: list[tuple[str, int]] = field(default_factory=list)  # ("granted"|"lost", request id)
    frozen: bool = False


class Model:
    def __init__(self) -> None:
        self.now = 0.0
        self.tabs: dict[str, Tab] = {}
        self.holder: tuple[str, int] | None = None
        self.queue: list[tuple[str, int]] = []
        self.network: list[tuple[str, str, Post]] = []  # (to, from, message)
        self.ids = itertools.count(1)

    def open(self) -> None:
        name = f"t{next(self.ids)}"
        self.tabs[name] = Tab(ElectionState(name, heartbeat_interval=HEARTBEAT, liveness_timeout=LIVENESS))
        self.apply(name, self.tabs[name].state.start(self.now))

    def crash(self, name: str) -> None:
        tab = self.tabs.pop(name)
        self.release(name, tab.hold)
        self.network = [m for m in self.network if name not in (m[0], m[1])]

    # -- the lock --------------------------------------------------------------

    def grant(self, name: str, request: int) -> None:
        self.holder = (name, request)
        self.tabs[name].lock_events.append(("granted", request))

    def release(self, name: str, request: int | None) -> None:
        if request is None:
            return
        self.queue = [q for q in self.queue if q != (name, request)]
        if self.holder == (name, request):
            self.holder = None
            while self.queue and self.holder is None:
                self.grant(*self.queue.pop(0))

    def request(self, name: str, steal: bool) -> None:
        request = next(self.ids)
        self.tabs[name].hold = request
        if steal and self.holder is not None:
            self.tabs[self.holder[0]].lock_events.append(("lost", self.holder[1]))
            self.holder = None
        if self.holder is None and (steal or not self.queue):
            self.grant(name, request)
        else:
            self.queue.append((name, request))

    # -- effects and inputs ------------------------------------------------------

    def apply(self, name: str, effects: list[Effect]) -> None:
        tab = self.tabs[name]
        for effect in effects:
            if isinstance(effect, Post):
                self.network += [(other, name, effect) for other in self.tabs if other != name]
            elif isinstance(effect, (RequestLock, Steal)):
                self.request(name, isinstance(effect, Steal))
            elif isinstance(effect, Release):
                self.release(name, tab.hold)
                tab.hold = None
            elif isinstance(effect, CheckLock):
                self.apply(name, tab.state.lock_checked(self.holder == (name, tab.hold), self.now))
            elif isinstance(effect, CheckLine):
                self.apply(name, tab.state.line_checked(bool(self.queue), self.now))
            elif isinstance(effect, TryTakeover):
                won = self.holder is not None and not any(
                    other.state.taking_over for key, other in self.tabs.items() if key != name)
                self.apply(name, tab.state.takeover_won(self.now) if won else tab.state.takeover_failed())
            else:
                assert isinstance(effect, Emit)

    def lock_event(self, name: str) -> None:
        tab = self.tabs[name]
        kind, request = tab.lock_events.pop(0)
        if request != tab.hold or tab.state.role == "idle":
            return  # a stale callback: the driver ignores it too
        if kind == "granted":
            self.apply(name, tab.state.granted())
        else:
            tab.hold = None
            self.apply(name, tab.state.lost(self.now))

    def deliver(self, index: int) -> None:
        to, sender, post = self.network.pop(index)
        state = self.tabs[to].state
        if post.type == "leader":
            self.apply(to, state.heard(sender, post.term, self.now))
        elif post.type == "ping":
            self.apply(to, state.pinged(sender, post.term, post.leader))
        else:
            self.apply(to, state.resigned(sender))

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for name in list(self.tabs):
            if name in self.tabs and not self.tabs[name].frozen:
                self.apply(name, self.tabs[name].state.tick(self.now))

    def runnable(self) -> list[str]:
        return [name for name, tab in self.tabs.items() if not tab.frozen]

    # -- checks ------------------------------------------------------------------

    def check(self) -> None:
        leaders = [(name, tab) for name, tab in self.tabs.items() if tab.state.is_leader]
        for name, tab in leaders:
            if not tab.lock_events:  # it has heard everything the lock told it
                assert self.holder == (name, tab.hold), f"{name} leads without the lock"
        for (a, ta), (b, tb) in itertools.combinations(leaders, 2):
            if ta.state.term == tb.state.term:
                deposed = [t for t in (ta, tb) if ("lost", t.hold) in t.lock_events]
                assert deposed, f"{a} and {b} both lead term {ta.state.term}"

    def heal(self) -> None:
        for name, tab in self.tabs.items():
            tab.frozen = False
            self.apply(name, tab.state.resume(self.now))  # a suspended page is shown again
        for _ in range(200):
            busy = False
            for name in list(self.tabs):
                while self.tabs[name].lock_events:
                    self.lock_event(name)
                    busy = True
            while self.network:
                self.deliver(0)
                busy = True
            self.check()
            if not busy:
                self.advance(HEARTBEAT)
        if self.tabs:
            (chief,) = [name for name, tab in self.tabs.items() if tab.state.is_leader]
            term = self.tabs[chief].state.term
            assert {(tab.state.leader_id, tab.state.term) for tab in self.tabs.values()} == {(chief, term)}


STEPS = st.lists(st.tuples(st.sampled_from(["open", "crash", "freeze", "unfreeze", "lock", "deliver", "drop",
                                            "advance", "steal", "suspend", "resume", "leaving"]),
                           st.integers(0, 1_000)), min_size=40, max_size=200)


@settings(max_examples=200, deadline=None)
@given(STEPS)
def test_random_interleavings_never_give_one_term_two_live_leaders_and_heal_to_one(steps):
    model = Model()
    for _ in range(3):
        model.open()
    for action, pick in steps:
        names = model.runnable()
        name = names[pick % len(names)] if names else None
        if action == "open" and len(model.tabs) < 6:
            model.open()
        elif action == "crash" and name is not None and len(model.tabs) > 1:
            model.crash(name)
        elif action == "freeze" and name is not None:
            model.tabs[name].frozen = True
        elif action == "unfreeze" and model.tabs:
            frozen = [n for n, t in model.tabs.items() if t.frozen]
            if frozen:
                model.tabs[frozen[pick % len(frozen)]].frozen = False
        elif action == "lock" and name is not None and model.tabs[name].lock_events:
            model.lock_event(name)
        elif action in ("deliver", "drop") and model.network:
            index = pick % len(model.network)
            if model.tabs[model.network[index][0]].frozen:
                continue  # a frozen tab handles nothing; the message waits (or is lost later)
            if action == "deliver":
                model.deliver(index)
            else:
                model.network.pop(index)
        elif action == "advance":
            model.advance(pick % 7 * 0.5)
        elif action == "steal" and name is not None and model.tabs[name].state.role in ("candidate", "leader"):
            model.apply(name, model.tabs[name].state.steal())
        elif action == "suspend" and name is not None:
            model.apply(name, model.tabs[name].state.suspend(model.now))
        elif action == "resume" and name is not None:
            model.apply(name, model.tabs[name].state.resume(model.now))
        elif action == "leaving" and name is not None:  # a beforeunload whose page stays
            model.apply(name, model.tabs[name].state.leaving())
        model.check()
    model.heal()
    STATS["runs"] += 1
    STATS["steps"] += len(steps)
    STATS["longest"] = max(STATS["longest"], len(steps))


def test_report_interleavings(capsys):
    """Prints how many random interleavings ran (run it after the property test, in one session)."""
    with capsys.disabled():
        print(f"\nelection interleavings: {STATS['runs']} runs, {STATS['steps']} steps, "
              f"longest {STATS['longest']} steps")
