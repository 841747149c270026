"""Election state of one tab for one key, with no I/O.

Theory of operation
-------------------
Mutual exclusion comes from the Web Lock, not from here: a tab becomes leader
only when the lock is granted and stops when it ends (``lost``), when it lets
go (``suspend``/``stop``), or when the lock says it is no longer the holder.
A tab that claims the same or a higher term while this one leads is either
forged or has stolen the lock (its steal may reach us after its first message):
the leader asks the lock (``CheckLock``). Still the holder, it moves above the
claim and re-announces, so a forged ``leader`` message costs no hand-over;
replaced, it steps down at once, at its own term.

What the lock cannot say lives here: who leads (learned from announcements)
and the *term*, a number that grows with every new leadership (a fencing
token). A new leader takes ``highest term seen + 1``. Followers ping with the
term they know; a leader that hears a term >= its own moves above it.

Liveness: a follower that has heard nothing from the leader for
``liveness_timeout`` asks for the takeover lock (``TryTakeover``); the one
follower that wins it (``takeover_won``) steals the leader lock if the leader
is still silent. Silence is measured from ``last_heard``, which only this
object writes: on start, on resume, on hearing the leader, on stepping down
and on a takeover.

Terms more than ``MAX_TERM_JUMP`` above the known one are ignored: no tab
ever needs such a jump, and a forged ``term: 1e15`` would pin the term.

Roles and the inputs legal in each (``_LEGAL``); any other input raises
``IllegalTransition`` and changes nothing:

=========  ==================================================================
idle       start
candidate  granted lost steal, and every input below
leader     lost steal, and every input below
suspended  heard pinged resigned tick takeover_won/_failed lock_checked suspend
           resume leaving line_checked stop
=========  ==================================================================

Inputs return the effects to perform, in order.

    >>> state = ElectionState("tab-1", heartbeat_interval=1.0, liveness_timeout=5.0)
    >>> state.start(now=0.0)
    [RequestLock(), Post(type='ping', term=0, leader=None)]
    >>> state.granted()
    [Emit(kind='acquire', leader_id='tab-1', term=1), Post(type='leader', term=1, leader='tab-1')]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Role = Literal["idle", "candidate", "leader", "suspended"]
EventKind = Literal["acquire", "lose", "change"]
EVENT_KINDS: tuple[EventKind, ...] = get_args(EventKind)
WireType = Literal["leader", "ping", "resign"]
WIRE_TYPES: tuple[WireType, ...] = get_args(WireType)
Input = Literal["start", "granted", "lost", "heard", "pinged", "resigned", "tick", "takeover_won",
                "takeover_failed", "lock_checked", "steal", "suspend", "resume", "leaving", "line_checked", "stop"]

MAX_TERM_JUMP = 1 << 16

_ANY_TIME: frozenset[Input] = frozenset(
    {"heard", "pinged", "resigned", "tick", "takeover_won", "takeover_failed", "lock_checked", "suspend", "resume",
     "leaving", "line_checked", "stop"})
_LEGAL: dict[Role, frozenset[Input]] = {
    "idle": frozenset({"start"}),
    "candidate": _ANY_TIME | {"granted", "lost", "steal"},
    "leader": _ANY_TIME | {"lost", "steal"},
    "suspended": _ANY_TIME,
}


@dataclass(frozen=True, slots=True)
class Emit:
    """Tell the app: ``acquire``, ``lose`` or ``change``."""

    kind: EventKind
    leader_id: str | None
    term: int


@dataclass(frozen=True, slots=True)
class Post:
    """Publish ``type`` with ``{"term", "leader"}`` to every tab of the key."""

    type: WireType
    term: int
    leader: str | None


@dataclass(frozen=True, slots=True)
class RequestLock:
    """Wait in line for the leader lock."""


@dataclass(frozen=True, slots=True)
class Steal:
    """Take the leader lock from its holder at once."""


@dataclass(frozen=True, slots=True)
class Release:
    """Give the lock back, or withdraw the request; nothing more."""


@dataclass(frozen=True, slots=True)
class CheckLock:
    """Find out whether this tab still holds the leader lock; report ``lock_checked``."""


@dataclass(frozen=True, slots=True)
class TryTakeover:
    """If the leader lock is held, try the takeover lock; report ``takeover_won``/``takeover_failed``."""


@dataclass(frozen=True, slots=True)
class CheckLine:
    """Find out whether another tab waits for the leader lock; report ``line_checked``."""


Effect = Emit | Post | RequestLock | Steal | Release | TryTakeover | CheckLock | CheckLine


def read_wire(payload: object) -> tuple[int, str | None] | None:
    """``(term, leader)`` of a received ``leader``/``ping`` payload; None without an integer term."""
    if not isinstance(payload, dict):
        return None
    term, leader = payload.get("term"), payload.get("leader")
    if not isinstance(term, int) or isinstance(term, bool):
        return None
    return term, leader if isinstance(leader, str) else None


class IllegalTransition(RuntimeError):
    """An input that cannot happen in the current role; the state is unchanged."""


class ElectionState:
    def __init__(self, tab_id: str, *, heartbeat_interval: float, liveness_timeout: float) -> None:
        self.tab_id = tab_id
        self.heartbeat_interval = heartbeat_interval
        self.liveness_timeout = liveness_timeout
        self.role: Role = "idle"
        self.term = 0
        self.leader_id: str | None = None
        self.last_heard = 0.0
        self.taking_over = False
        self.in_line = False  # a lock request of ours is pending or granted
        self.checking = False  # a CheckLock is on its way
        self.claim: tuple[int, str] | None = None  # the highest rival claim (term, sender) meanwhile

    @property
    def is_leader(self) -> bool:
        return self.role == "leader"

    def _check(self, move: Input) -> None:
        if move not in _LEGAL[self.role]:
            raise IllegalTransition(f"{move} while {self.role}")

    def _post(self, type: WireType) -> Post:
        return Post(type, self.term, self.leader_id)

    def _queue(self) -> list[Effect]:
        self.in_line = True
        return [RequestLock()]

    def _step_down(self, now: float) -> list[Effect]:
        """Leader -> candidate; the next leader gets a full liveness timeout."""
        self.role = "candidate"
        self.leader_id = None
        self.last_heard = now
        return [Emit("lose", None, self.term)]

    # -- the lock ------------------------------------------------------------

    def start(self, now: float) -> list[Effect]:
        self._check("start")
        self.role = "candidate"
        self.last_heard = now
        return [*self._queue(), self._post("ping")]  # the ping: a late tab learns the leader at once

    def granted(self) -> list[Effect]:
        self._check("granted")
        self.role = "leader"
        self.term += 1
        self.leader_id = self.tab_id
        return [Emit("acquire", self.tab_id, self.term), self._post("leader")]

    def lost(self, now: float) -> list[Effect]:
        """The lock (or its request) ended without our release: stolen, or the request failed.

        A stolen leader queues again at once; a failed request is retried on the next tick, so a
        request that always fails cannot spin.
        """
        self._check("lost")
        self.in_line = False
        return [*self._step_down(now), *self._queue()] if self.is_leader else []

    def steal(self) -> list[Effect]:
        self._check("steal")
        if self.is_leader:
            return []
        self.in_line = True
        return [Release(), Steal()]

    def suspend(self, now: float) -> list[Effect]:
        """The page froze or went into the back/forward cache: let go, keep listening."""
        self._check("suspend")
        if self.role == "suspended":
            return []
        effects: list[Effect] = [*self._step_down(now), self._post("resign")] if self.is_leader else []
        self.role = "suspended"
        self.in_line = False
        return [*effects, Release()]

    def resume(self, now: float) -> list[Effect]:
        self._check("resume")
        if self.role != "suspended":
            return []
        self.role = "candidate"
        self.last_heard = now
        # Messages to a frozen or cached page are lost: the leader it knew (or heard take over at
        # its beforeunload) is learned again, so the next announcement is a "change" its app hears.
        self.leader_id = None
        return self._queue()

    def leaving(self) -> list[Effect]:
        """The page may be about to unload (``beforeunload``): a leader asks whether another tab
        waits for the lock, to hand over to it before ``pagehide`` (in Firefox 8-13 ms later).

        A lone leader keeps leading: handing over to nobody would only cost it its term and its
        socket if the page stays (a cancelled unload, a download link).
        """
        self._check("leaving")
        return [CheckLine()] if self.is_leader else []

    def line_checked(self, awaited: bool, now: float) -> list[Effect]:
        """The answer to ``CheckLine``. A tab that hands over stays out of line until the next
        ``tick``, so it does not queue behind its successor just before its teardown; if the page
        stays, that tick queues it again."""
        self._check("line_checked")
        if not (awaited and self.is_leader):
            return []
        self.in_line = False
        return [*self._step_down(now), self._post("resign"), Release()]

    def stop(self) -> list[Effect]:
        self._check("stop")
        was_leader = self.is_leader
        self.role = "idle"
        self.taking_over = False
        self.in_line = False
        self.checking, self.claim = False, None
        if self.leader_id == self.tab_id:
            self.leader_id = None
        effects: list[Effect] = [Emit("lose", None, self.term), self._post("resign")] if was_leader else []
        return [*effects, Release()]

    # -- messages ------------------------------------------------------------

    def _plausible(self, sender: str, term: int) -> bool:
        return sender != self.tab_id and 0 <= term <= self.term + MAX_TERM_JUMP

    def heard(self, sender: str, term: int, now: float) -> list[Effect]:
        """``sender`` says it leads with ``term``."""
        self._check("heard")
        if not self._plausible(sender, term):
            return []
        if self.is_leader:
            return self._rival(sender, term)
        if term < self.term:
            return []  # a stale leader that woke from a freeze; its lost() is on its way
        self.last_heard = now
        if (sender, term) == (self.leader_id, self.term):
            return []
        self.term, self.leader_id = term, sender
        return [Emit("change", sender, term)]

    def _rival(self, sender: str, term: int) -> list[Effect]:
        if term < self.term:
            return [self._post("leader")]  # a stale leader (it woke from a freeze) is fenced off
        # Forged, or a thief whose steal has not reached us yet: only the lock can tell.
        if self.claim is None or term > self.claim[0]:
            self.claim = (term, sender)
        if self.checking:
            return []
        self.checking = True
        return [CheckLock()]

    def lock_checked(self, mine: bool, now: float) -> list[Effect]:
        """The answer to ``CheckLock``: whether this tab still holds the leader lock."""
        self._check("lock_checked")
        claim, self.claim = self.claim, None
        self.checking = False
        if not self.is_leader or claim is None:
            return []
        term, sender = claim
        if mine:  # the claim was forged (or stale): outbid it, the followers come back
            self.term = max(self.term, term + 1)
            return [self._post("leader")]
        effects = [*self._step_down(now), Release(), *self._queue()]
        self.term, self.leader_id = term, sender
        return [*effects, Emit("change", sender, term)]

    def pinged(self, sender: str, term: int, known_leader: str | None) -> list[Effect]:
        """A follower asks who leads, telling the term and leader it knows."""
        self._check("pinged")
        if not self._plausible(sender, term) or not self.is_leader:
            return []
        if term > self.term or (term == self.term and known_leader not in (None, self.tab_id)):
            self.term = term + 1
        return [self._post("leader")]

    def resigned(self, sender: str) -> list[Effect]:
        self._check("resigned")
        if sender == self.leader_id and sender != self.tab_id:
            self.leader_id = None
        return []

    # -- liveness ------------------------------------------------------------

    def silent_for(self, now: float) -> float:
        return now - self.last_heard

    def tick(self, now: float) -> list[Effect]:
        """Every ``heartbeat_interval``: a silent leader is pinged, then taken over."""
        self._check("tick")
        if self.role != "candidate" or self.taking_over:
            return []
        if not self.in_line:
            return self._queue()
        if self.silent_for(now) >= self.liveness_timeout:
            self.taking_over = True
            return [TryTakeover()]
        return [self._post("ping")] if self.silent_for(now) >= self.heartbeat_interval else []

    def takeover_won(self, now: float) -> list[Effect]:
        """This tab holds the takeover lock: steal if the leader is still silent."""
        self._check("takeover_won")
        self.taking_over = False
        if self.role != "candidate" or self.silent_for(now) < self.liveness_timeout:
            return []
        self.last_heard = now
        self.in_line = True
        return [Release(), Steal()]

    def takeover_failed(self) -> list[Effect]:
        """Another follower takes over, or nobody holds the leader lock."""
        self._check("takeover_failed")
        self.taking_over = False
        return []
