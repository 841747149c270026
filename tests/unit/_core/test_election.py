"""The pure election state machine: feed inputs, check the drained effects."""

import pytest

from pytabby._core.election import (MAX_TERM_JUMP, CheckLine, CheckLock, ElectionState, Emit, IllegalTransition, Post, Release,
                                    RequestLock, Steal, TryTakeover)


def candidate(tab: str = "a", term: int = 0, now: float = 0.0) -> ElectionState:
    state = ElectionState(tab, heartbeat_interval=1.0, liveness_timeout=5.0)
    state.term = term
    state.start(now)
    return state


def leader(tab: str = "a", term: int = 0) -> ElectionState:
    state = candidate(tab, term)
    state.granted()
    return state


def snapshot(state: ElectionState) -> tuple[object, ...]:
    return (state.role, state.term, state.leader_id, state.last_heard, state.taking_over, state.in_line,
            state.checking, state.claim)


def test_start_queues_for_the_lock_and_asks_who_leads():
    state = ElectionState("a", heartbeat_interval=1.0, liveness_timeout=5.0)
    assert state.start(now=3.0) == [RequestLock(), Post("ping", 0, None)]
    assert (state.role, state.last_heard) == ("candidate", 3.0)


def test_a_granted_candidate_leads_with_the_next_term_and_announces():
    state = candidate(term=4)
    assert state.granted() == [Emit("acquire", "a", 5), Post("leader", 5, "a")]
    assert state.is_leader and state.leader_id == "a"


@pytest.mark.parametrize("role, move, args", [
    ("idle", "granted", ()), ("idle", "lost", (0.0,)), ("idle", "heard", ("b", 1, 0.0)), ("idle", "tick", (0.0,)),
    ("idle", "stop", ()), ("idle", "steal", ()), ("candidate", "start", (0.0,)), ("leader", "granted", ()),
    ("leader", "start", (0.0,)), ("suspended", "granted", ()), ("suspended", "lost", (0.0,)),
    ("suspended", "steal", ()),
])
def test_an_illegal_move_raises_and_changes_nothing(role, move, args):
    state = {"idle": lambda: ElectionState("a", heartbeat_interval=1.0, liveness_timeout=5.0),
             "candidate": candidate, "leader": leader,
             "suspended": lambda: _suspended()}[role]()
    before = snapshot(state)
    with pytest.raises(IllegalTransition, match=f"{move} while {role}"):
        getattr(state, move)(*args)
    assert snapshot(state) == before


def _suspended() -> ElectionState:
    state = leader()
    state.suspend(1.0)
    return state


def test_a_follower_learns_the_leader_from_an_announcement_and_hears_it():
    state = candidate("b")
    assert state.heard("a", 3, now=2.0) == [Emit("change", "a", 3)]
    assert (state.leader_id, state.term, state.last_heard) == ("a", 3, 2.0)
    assert state.heard("a", 3, now=4.0) == []  # a repeat is a heartbeat, not a change
    assert state.last_heard == 4.0


def test_a_stale_announcement_is_ignored_by_followers_and_answered_by_the_leader():
    follower = candidate("b")
    follower.heard("a", 5, 1.0)
    assert follower.heard("old", 2, 9.0) == []
    assert (follower.leader_id, follower.last_heard) == ("a", 1.0)
    assert leader("a", 5).heard("old", 2, 0.0) == [Post("leader", 6, "a")]


def test_a_leader_asks_the_lock_about_a_higher_claim_once_and_outbids_a_forgery():
    state = leader("a", 1)
    assert state.heard("forger", 7, 0.0) == [CheckLock()]
    assert state.heard("forger", 9, 0.0) == []  # one check at a time; the highest claim counts
    assert state.lock_checked(mine=True, now=1.0) == [Post("leader", 10, "a")]
    assert state.is_leader and state.leader_id == "a"


def test_a_leader_the_lock_says_was_replaced_steps_down_at_its_own_term():
    state = leader("a", 1)
    assert state.heard("thief", 3, 0.0) == [CheckLock()]
    assert state.lock_checked(mine=False, now=4.0) == [
        Emit("lose", None, 2), Release(), RequestLock(), Emit("change", "thief", 3)]
    assert (state.role, state.leader_id, state.term, state.last_heard) == ("candidate", "thief", 3, 4.0)


def test_two_leaders_of_one_term_are_settled_by_the_lock():
    state = leader("a", 2)
    assert state.heard("b", 3, 0.0) == [CheckLock()]
    assert state.lock_checked(mine=True, now=0.0) == [Post("leader", 4, "a")]


def test_a_late_lock_answer_after_stepping_down_changes_nothing():
    state = leader("a", 1)
    state.heard("b", 5, 0.0)
    state.lost(1.0)
    assert state.lock_checked(mine=False, now=2.0) == []
    assert (state.role, state.term) == ("candidate", 2)


def test_a_term_jump_past_the_bound_is_ignored():
    state = candidate("b", term=10)
    assert state.heard("x", 10 + MAX_TERM_JUMP + 1, 1.0) == []
    assert (state.term, state.leader_id) == (10, None)
    assert state.heard("a", 10 + MAX_TERM_JUMP, 1.0) == [Emit("change", "a", 10 + MAX_TERM_JUMP)]
    assert leader("a", 3).pinged("x", 10**15, None) == []


def test_losing_the_lock_steps_down_and_queues_again():
    state = leader("a", 1)
    assert state.lost(now=7.0) == [Emit("lose", None, 2), RequestLock()]
    assert (state.role, state.leader_id, state.last_heard) == ("candidate", None, 7.0)
    failed = candidate()
    assert failed.lost(0.0) == []  # a failed request is made again on the next tick, not at once
    assert failed.tick(1.0) == [RequestLock()]
    assert failed.tick(2.0) == [Post("ping", 0, None)]


def test_suspend_lets_go_and_resume_queues_again():
    state = leader("a")
    assert state.suspend(2.0) == [Emit("lose", None, 1), Post("resign", 1, None), Release()]
    assert state.suspend(2.5) == []
    assert state.tick(100.0) == []  # a suspended tab takes nothing over
    assert state.resume(9.0) == [RequestLock()]
    assert (state.role, state.last_heard) == ("candidate", 9.0)
    assert state.resume(9.5) == []


def test_a_leaving_leader_hands_over_when_another_tab_waits_and_the_next_tick_queues_again():
    state = leader("a")
    assert state.leaving() == [CheckLine()]
    assert state.line_checked(True, 2.0) == [Emit("lose", None, 1), Post("resign", 1, None), Release()]
    assert (state.role, state.leader_id, state.in_line) == ("candidate", None, False)
    assert state.leaving() == []  # no longer leading: nothing more to hand over
    assert state.tick(2.5) == [RequestLock()]  # the page stayed
    assert state.tick(2.8) == []  # in line once


def test_a_lone_leaving_leader_keeps_leading():
    state = leader("a")
    assert state.leaving() == [CheckLine()]
    assert state.line_checked(False, 2.0) == []
    assert (state.role, state.leader_id, state.in_line) == ("leader", "a", True)


def test_a_resumed_follower_learns_the_leader_again_and_hears_change():
    follower = candidate()
    assert follower.heard("b", 4, 1.0) == [Emit("change", "b", 4)]
    follower.suspend(2.0)
    follower.resume(9.0)
    assert follower.leader_id is None
    assert follower.heard("b", 4, 9.5) == [Emit("change", "b", 4)]  # what it missed while away is asked anew


def test_leaving_changes_nothing_for_a_follower_or_a_suspended_tab():
    follower = candidate()
    assert follower.leaving() == []
    assert follower.line_checked(True, 1.0) == []  # an answer that comes after a step-down
    assert (follower.role, follower.in_line) == ("candidate", True)
    suspended = leader("a")
    suspended.suspend(1.0)
    assert suspended.leaving() == []
    assert suspended.role == "suspended"


def test_stop_of_a_leader_emits_lose_and_resigns():
    assert leader("a").stop() == [Emit("lose", None, 1), Post("resign", 1, None), Release()]
    assert candidate().stop() == [Release()]


def test_steal_releases_the_queued_request_then_steals():
    assert candidate().steal() == [Release(), Steal()]
    assert leader().steal() == []


def test_a_leader_moves_above_a_pinging_follower_that_knows_a_higher_term():
    state = leader("a", 1)
    assert state.pinged("b", 5, "z") == [Post("leader", 6, "a")]
    assert state.pinged("b", 6, "a") == [Post("leader", 6, "a")]
    assert state.pinged("b", 6, "z") == [Post("leader", 7, "a")]  # b follows another leader of our term
    assert candidate("c").pinged("b", 1, None) == []


def test_resign_forgets_the_leader():
    state = candidate("b")
    state.heard("a", 1, 0.0)
    state.resigned("other")
    assert state.leader_id == "a"
    state.resigned("a")
    assert state.leader_id is None


def test_tick_pings_after_a_heartbeat_of_silence_then_tries_a_takeover_once():
    state = candidate("b", now=0.0)
    assert state.tick(0.5) == []
    assert state.tick(1.0) == [Post("ping", 0, None)]
    assert state.tick(5.0) == [TryTakeover()]
    assert state.tick(6.0) == []  # one attempt at a time
    assert state.takeover_failed() == []
    assert state.tick(7.0) == [TryTakeover()]


def test_a_won_takeover_steals_only_if_the_leader_is_still_silent():
    state = candidate("b", now=0.0)
    state.tick(5.0)
    assert state.takeover_won(5.1) == [Release(), Steal()]
    assert state.last_heard == 5.1 and not state.taking_over
    again = candidate("c", now=0.0)
    again.tick(5.0)
    again.heard("a", 1, 5.05)  # the leader answered meanwhile
    assert again.takeover_won(5.1) == []


def test_a_leader_never_takes_over():
    state = leader()
    assert state.tick(1000.0) == []
    assert state.takeover_won(1000.0) == []
    assert state.is_leader


def test_own_messages_are_ignored():
    state = leader("a", 3)
    assert state.heard("a", 9, 0.0) == [] and state.pinged("a", 9, None) == []
    assert state.term == 4 and not state.checking
