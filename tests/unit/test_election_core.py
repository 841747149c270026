"""The pure election state machine: feed inputs, check effects."""

import pytest

from pytabby._core.election import Announce, ElectionState, Emit, IllegalTransition, Release


def leader(tab: str = "a", term: int = 0) -> ElectionState:
    state = ElectionState(tab)
    state.term = term
    state.start()
    state.granted()
    return state


def test_a_granted_candidate_leads_with_the_next_term_and_announces():
    state = ElectionState("a")
    state.term = 4
    state.start()
    assert state.granted() == [Emit("acquire", "a", 5), Announce()]
    assert state.is_leader and state.leader_id == "a"


def test_grant_without_start_is_illegal_and_changes_nothing():
    state = ElectionState("a")
    with pytest.raises(IllegalTransition):
        state.granted()
    assert state.role == "idle" and state.term == 0


def test_a_follower_learns_the_leader_from_an_announcement():
    state = ElectionState("b")
    state.start()
    assert state.announced("a", 3) == [Emit("change", "a", 3)]
    assert (state.leader_id, state.term) == ("a", 3)
    assert state.announced("a", 3) == []  # a repeat is a heartbeat, not a change


def test_a_stale_announcement_is_ignored_by_followers_and_answered_by_the_leader():
    follower = ElectionState("b")
    follower.start()
    follower.announced("a", 5)
    assert follower.announced("old", 2) == []
    assert follower.leader_id == "a"
    assert leader("a", 5).announced("old", 2) == [Announce()]


def test_a_leader_that_sees_a_higher_term_is_fenced_off():
    state = leader("a", 1)
    assert state.announced("b", 7) == [Emit("lose", None, 2), Release(), Emit("change", "b", 7)]
    assert not state.is_leader and state.role == "candidate"


def test_two_leaders_of_one_term_resolve_to_one():
    a = leader("a", 0)
    b = leader("b", 0)
    assert a.announced("b", 1) == [Announce()]
    assert a.term == 2
    assert b.announced("a", a.term)[:2] == [Emit("lose", None, 1), Release()]


def test_a_ping_with_a_newer_term_moves_the_leader_above_it():
    state = leader("a", 0)
    assert state.pinged(9, "z") == [Announce()]
    assert state.term == 10
    assert ElectionState("x").pinged(1, None) == []


def test_a_ping_with_the_leaders_own_term_changes_nothing_but_another_leaders_term_does():
    state = leader("a", 0)
    assert state.pinged(1, "a") == [Announce()] and state.term == 1
    assert state.pinged(1, None) == [Announce()] and state.term == 1
    assert state.pinged(1, "old") == [Announce()] and state.term == 2


def test_losing_the_lock_emits_lose_once():
    state = leader()
    assert state.lost() == [Emit("lose", None, 1)]
    assert state.lost() == []


def test_stop_releases_and_a_leader_emits_lose():
    assert leader().stop() == [Emit("lose", None, 1), Release()]
    follower = ElectionState("b")
    follower.start()
    assert follower.stop() == [Release()]
    assert follower.stop() == []


def test_abdicate_keeps_taking_part():
    state = leader()
    assert state.abdicate() == [Emit("lose", None, 1), Release()]
    assert state.role == "candidate"


def test_a_resigning_leader_is_forgotten():
    state = ElectionState("b")
    state.start()
    state.announced("a", 1)
    state.resigned("a")
    assert state.leader_id is None
