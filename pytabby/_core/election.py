"""Election state of one tab for one key, with no I/O.

Theory of operation: mutual exclusion comes from the Web Lock, not from here.
This state machine keeps what the lock cannot say: who leads (learned from
the leader's announcements) and the *term*, a number that grows with every
new leadership. A new leader takes ``highest term seen + 1``. Followers send
their highest term in pings; a leader that hears a term >= its own (it was
granted the lock before it learned the history) moves above it and
re-announces. A leader that sees an announcement with a higher term was
replaced while frozen: it is fenced off (``lose``) at once.

Inputs are methods named after what happened; each returns the effects to
perform, in order: ``Emit(event)``, ``Announce()``, ``Release()``.

    >>> state = ElectionState("tab-1")
    >>> state.start()
    []
    >>> state.granted()
    [Emit(kind='acquire', leader_id='tab-1', term=1), Announce()]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["idle", "candidate", "leader"]
EventKind = Literal["acquire", "lose", "change"]


@dataclass(frozen=True, slots=True)
class Emit:
    kind: EventKind
    leader_id: str | None
    term: int


@dataclass(frozen=True, slots=True)
class Announce:
    """Tell every tab: this tab leads with the current term."""


@dataclass(frozen=True, slots=True)
class Release:
    """Give the lock back (or withdraw the request)."""


Effect = Emit | Announce | Release


class IllegalTransition(RuntimeError):
    """An input that cannot happen in the current role; the state is unchanged."""


class ElectionState:
    def __init__(self, tab_id: str) -> None:
        self.tab_id = tab_id
        self.role: Role = "idle"
        self.term = 0
        self.leader_id: str | None = None

    @property
    def is_leader(self) -> bool:
        return self.role == "leader"

    def start(self) -> list[Effect]:
        if self.role != "idle":
            raise IllegalTransition(f"start while {self.role}")
        self.role = "candidate"
        return []

    def granted(self) -> list[Effect]:
        if self.role != "candidate":
            raise IllegalTransition(f"lock granted while {self.role}")
        self.role = "leader"
        self.term += 1
        self.leader_id = self.tab_id
        return [Emit("acquire", self.tab_id, self.term), Announce()]

    def lost(self) -> list[Effect]:
        """The lock ended without our release: stolen, or the browser took it."""
        if self.role != "leader":
            return []
        self.role = "candidate"
        self.leader_id = None
        return [Emit("lose", None, self.term)]

    def abdicate(self) -> list[Effect]:
        """Step down but keep taking part (the page froze or went into the back/forward cache)."""
        if self.role != "leader":
            return []
        self.role = "candidate"
        self.leader_id = None
        return [Emit("lose", None, self.term), Release()]

    def stop(self) -> list[Effect]:
        was_leader = self.role == "leader"
        if self.role == "idle":
            return []
        self.role = "idle"
        if self.leader_id == self.tab_id:
            self.leader_id = None
        return [Emit("lose", None, self.term), Release()] if was_leader else [Release()]

    def announced(self, sender: str, term: int) -> list[Effect]:
        """``sender`` says it leads with ``term``."""
        if sender == self.tab_id:
            return []
        if term < self.term:
            # A stale leader (it woke from a freeze): our announcement fences it off.
            return [Announce()] if self.role == "leader" else []
        if term == self.term and self.role == "leader":
            # Two leaders of one term (one learned no history): move above, so exactly one stays.
            self.term += 1
            return [Announce()]
        if term == self.term and sender == self.leader_id:
            return []
        effects: list[Effect] = []
        if self.role == "leader":
            self.role = "candidate"
            effects += [Emit("lose", None, self.term), Release()]
        self.term = term
        self.leader_id = sender
        return [*effects, Emit("change", sender, term)]

    def pinged(self, term: int, known_leader: str | None) -> list[Effect]:
        """A follower asks who leads, telling the term and leader it knows."""
        if self.role != "leader":
            return []
        if term > self.term or (term == self.term and known_leader not in (None, self.tab_id)):
            self.term = term + 1
        return [Announce()]

    def resigned(self, sender: str) -> list[Effect]:
        if sender == self.leader_id and sender != self.tab_id:
            self.leader_id = None
        return []
