"""LeaderElector on the fake browser: hand-over, liveness, fencing, events."""

import asyncio
import random

import pytest

from pytabby import LeaderElectionUnavailable, LeaderElector, create_leader_elector
from pytabby.testing import FakeBrowser


def leaders(electors: list[LeaderElector]) -> list[LeaderElector]:
    return [e for e in electors if e.is_leader]


def record(elector: LeaderElector) -> list[tuple[str, str | None, int]]:
    events: list[tuple[str, str | None, int]] = []
    elector.on_all(lambda ev: events.append((ev.type, ev.leader_id, ev.term)))
    return events


async def test_exactly_one_of_three_leads_and_every_tab_knows_which(cluster, browser):
    electors = cluster.electors(3)
    await browser.settle()
    (chief,) = leaders(electors)
    assert chief is electors[0]
    assert {e.leader_id for e in electors} == {chief.tab_id}
    assert {e.term for e in electors} == {1}


async def test_closing_the_leader_tab_hands_over_and_followers_hear_change(cluster, browser):
    electors = cluster.electors(3)
    await browser.settle()
    events = [record(e) for e in electors[1:]]
    browser.close_tab(cluster.tab_of(electors[0]))
    await browser.settle()
    (chief,) = leaders(electors[1:])
    assert chief is electors[1]
    assert events[0] == [("acquire", chief.tab_id, 2)]
    assert events[1] == [("change", chief.tab_id, 2)]


async def test_the_leader_hands_over_at_beforeunload_before_its_pagehide(cluster, browser):
    electors = cluster.electors(2)
    await browser.settle()
    events = record(electors[0])
    cluster.tab_of(electors[0]).dispatch_lifecycle("beforeunload")
    await browser.settle()
    assert electors[1].is_leader and electors[1].term == 2
    assert events == [("lose", None, 1), ("change", electors[1].tab_id, 2)]


async def test_a_leader_whose_unload_is_cancelled_queues_again_at_the_next_tick(cluster, browser):
    electors = cluster.electors(2, heartbeat_interval=0.5)
    await browser.settle()
    cluster.tab_of(electors[0]).dispatch_lifecycle("beforeunload")
    await browser.settle()
    assert electors[1].is_leader
    electors[1].stop()
    await browser.settle()
    assert not electors[0].is_leader  # out of line until its tick: no new term just before a teardown
    await browser.advance(0.5)
    assert electors[0].is_leader and electors[0].term == 3


async def test_a_lone_leader_keeps_leading_through_beforeunload(cluster, browser):
    (only,) = cluster.electors(1)
    await browser.settle()
    events = record(only)
    cluster.tab_of(only).dispatch_lifecycle("beforeunload")
    await browser.settle()
    assert only.is_leader and events == []  # a download link or a cancelled unload costs it nothing


async def test_a_discarded_leader_tab_gives_its_lock_back_before_its_handlers_run(cluster, browser):
    """As the browser edge does at a pagehide that does not persist (``Platform.on_lifecycle``)."""
    electors = cluster.electors(2)
    await browser.settle()
    holder_at_lose = []
    electors[0].on("lose", lambda event: holder_at_lose.append(browser.lock_holder("pytabby:leader:k")))
    browser.close_tab(cluster.tab_of(electors[0]), beforeunload=False)
    assert holder_at_lose == [cluster.tab_of(electors[1])]  # given back: the successor's grant is on its way
    await browser.settle()
    assert electors[1].is_leader and electors[1].term == 2


async def test_a_crashed_leader_without_pagehide_also_hands_over(cluster, browser):
    electors = cluster.electors(2)
    await browser.settle()
    browser.close_tab(cluster.tab_of(electors[0]), pagehide=False)
    await browser.settle()
    assert electors[1].is_leader and electors[1].term == 2


async def test_stop_hands_over_and_emits_lose(cluster, browser):
    electors = cluster.electors(2)
    await browser.settle()
    events = record(electors[0])
    electors[0].stop()
    electors[0].stop()
    await browser.settle()
    assert events == [("lose", None, 1)]  # a stopped tab hears no more announcements
    assert electors[1].is_leader and not electors[0].is_leader


async def test_a_late_tab_learns_the_leader_at_once(cluster, browser):
    electors = cluster.electors(2)
    await browser.settle()
    (late,) = cluster.electors(1)
    await browser.settle()
    assert late.leader_id == electors[0].tab_id and late.term == 1 and not late.is_leader


async def test_steal_takes_over_and_the_former_leader_loses(cluster, browser):
    electors = cluster.electors(3)
    await browser.settle()
    events = record(electors[0])
    electors[2].steal()
    await browser.settle()
    assert leaders(electors) == [electors[2]]
    assert events[0] == ("lose", None, 1)
    assert ("change", electors[2].tab_id, 2) in events
    assert {e.leader_id for e in electors} == {electors[2].tab_id}


async def test_a_frozen_leader_is_replaced_after_the_liveness_timeout_and_fenced_when_it_wakes(cluster, browser):
    electors = cluster.electors(3, heartbeat_interval=0.5, liveness_timeout=2.0)
    await browser.settle()
    frozen = electors[0]
    events = record(frozen)
    browser.freeze(cluster.tab_of(frozen))
    await browser.advance(1.5)
    assert leaders(electors[1:]) == []  # not yet: only silence for the whole timeout counts
    await browser.advance(1.5)
    (chief,) = leaders(electors[1:])
    assert chief.term == 2 and {e.leader_id for e in electors[1:]} == {chief.tab_id}
    browser.unfreeze(cluster.tab_of(frozen))
    await browser.settle()
    assert not frozen.is_leader
    assert events[0] == ("lose", None, 1)
    assert frozen.term == 2 and frozen.leader_id == chief.tab_id
    assert leaders(electors) == [chief]


async def test_a_slow_but_answering_leader_keeps_its_role(cluster, browser):
    electors = cluster.electors(3, heartbeat_interval=0.5, liveness_timeout=2.0)
    await browser.settle()
    await browser.advance(10)
    assert leaders(electors) == [electors[0]] and electors[0].term == 1


async def test_freeze_event_abdicates_and_resume_rejoins(cluster, browser):
    electors = cluster.electors(2)
    await browser.settle()
    tab = cluster.tab_of(electors[0])
    events = record(electors[0])
    tab.dispatch_lifecycle("freeze")
    await browser.settle()
    assert electors[1].is_leader and events[0] == ("lose", None, 1)
    tab.dispatch_lifecycle("resume")
    browser.close_tab(cluster.tab_of(electors[1]))
    await browser.settle()
    assert electors[0].is_leader and electors[0].term == 3


async def test_pagehide_into_the_back_forward_cache_abdicates_and_pageshow_rejoins(cluster, browser):
    (only,) = cluster.electors(1)
    await browser.settle()
    tab = cluster.tab_of(only)
    tab.dispatch_lifecycle("pagehide", persisted=True)
    await browser.settle()
    assert not only.is_leader and only.started
    tab.dispatch_lifecycle("pageshow", persisted=True)
    await browser.settle()
    assert only.is_leader


async def test_no_web_locks_raises_a_clear_error_and_nothing_starts(cluster, browser):
    elector = create_leader_elector("k", platform=browser.open_tab(web_locks=False))
    with pytest.raises(LeaderElectionUnavailable, match="navigator.locks"):
        elector.start()
    assert not elector.started
    assert browser.open_channel_names() == []


async def test_wait_for_leadership_returns_when_leading_and_is_cancellable(cluster, browser):
    first, second = cluster.electors(2)
    waiter = asyncio.ensure_future(second.wait_for_leadership())
    await browser.settle()
    assert not waiter.done()
    first.stop()
    await asyncio.wait_for(waiter, 1)
    other = cluster.electors(1)[0]
    pending = asyncio.ensure_future(other.wait_for_leadership())
    await browser.settle()
    pending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await pending
    assert other.started


async def test_has_leader_reflects_the_lock(cluster, browser):
    (only,) = cluster.electors(1)
    await browser.settle()
    assert await only.has_leader()
    only.stop()
    assert not await create_leader_elector("k", platform=browser.open_tab()).has_leader()


async def test_events_stream(cluster, browser):
    first, second = cluster.electors(2)
    await browser.settle()
    stream = second.stream()
    first.stop()
    await browser.settle()
    event = await stream.get(timeout=1)
    assert (event.type, event.leader_id) == ("acquire", second.tab_id)


async def test_churn_never_shows_two_leaders(cluster, browser):
    rng = random.Random(7)
    electors = cluster.electors(4)
    for _ in range(30):
        await browser.settle()
        assert len(leaders(electors)) == 1
        victim = rng.choice(leaders(electors) + electors[:1])
        electors.remove(victim)
        browser.close_tab(cluster.tab_of(victim), pagehide=rng.random() < 0.7)
        electors += cluster.electors(1)
        await browser.settle()
        assert len(leaders(electors)) == 1
        terms = {e.term for e in electors if e.leader_id is not None}
        assert len(terms) == 1


async def test_close_and_context_manager(cluster, browser):
    with create_leader_elector("k", platform=browser.open_tab()) as elector:
        await browser.settle()
        assert elector.is_leader
    assert not elector.started
    async with create_leader_elector("k", platform=browser.open_tab()) as again:
        await browser.settle()
        assert again.is_leader


def test_bad_arguments(cluster, browser):
    with pytest.raises(ValueError):
        create_leader_elector("", platform=browser.open_tab())
    with pytest.raises(ValueError):
        create_leader_elector("k", heartbeat_interval=5, liveness_timeout=1, platform=browser.open_tab())
    with pytest.raises(ValueError):
        create_leader_elector("k", platform=browser.open_tab()).on("elected", print)


async def test_a_tab_that_just_lost_the_lock_gives_the_new_holder_a_full_timeout(cluster, browser):
    (old,) = cluster.electors(1, heartbeat_interval=0.5, liveness_timeout=2.0)
    await browser.advance(10)  # a long reign: nothing was "heard" from another leader meanwhile
    foreign = browser.open_tab()
    foreign.locks.request("pytabby:leader:k", steal=True, on_granted=lambda: None, on_lost=lambda exc: None)
    await browser.advance(1.0)
    assert browser.lock_holder("pytabby:leader:k") is foreign and not old.is_leader
    await browser.advance(2.0)  # silent past the timeout: now it may take over
    assert old.is_leader


async def test_a_woken_leader_does_not_steal_back_from_its_successor(cluster, browser):
    electors = cluster.electors(2, heartbeat_interval=0.5, liveness_timeout=2.0)
    await browser.settle()
    old = electors[0]
    browser.freeze(cluster.tab_of(old))
    await browser.advance(10)  # long frozen: far past its own liveness timeout
    browser.unfreeze(cluster.tab_of(old))
    await browser.advance(5)
    assert leaders(electors) == [electors[1]] and old.leader_id == electors[1].tab_id


async def test_forged_leader_messages_cause_no_hand_over_and_cannot_pin_the_term(cluster, browser):
    electors = cluster.electors(3)
    await browser.settle()
    chief = electors[0]
    events = [record(e) for e in electors]
    forger = browser.open_tab()
    for _ in range(20):
        forger.post_raw("pytabby:leader:k", {"type": "leader", "payload": {"term": chief.term + 1},
                                            "tabId": "forger", "ts": 1})
        await browser.settle()
    forger.post_raw("pytabby:leader:k", {"type": "leader", "payload": {"term": 10**15}, "tabId": "forger", "ts": 1})
    await browser.settle()
    assert browser.lock_holder("pytabby:leader:k") is cluster.tab_of(chief)
    assert leaders(electors) == [chief] and {e.leader_id for e in electors} == {chief.tab_id}
    assert all(kind != "lose" and kind != "acquire" for kind, _, _ in events[0])
    assert chief.term < 100 and {e.term for e in electors} == {chief.term}


@pytest.mark.parametrize("call", [
    lambda e: e.start(), lambda e: e.on("acquire", print), lambda e: e.on_all(print), lambda e: e.stream(),
    lambda e: e.steal(),
])
async def test_use_after_close_raises_closed_error(cluster, browser, call):
    from pytabby import ClosedError

    (elector,) = cluster.electors(1)
    elector.close()
    with pytest.raises(ClosedError, match="after close"):
        call(elector)
    assert not elector.started


async def test_a_typed_event_stream_gets_only_that_type(cluster, browser):
    first, second = cluster.electors(2)
    await browser.settle()
    changes = first.stream("change")
    everything = second.stream()
    second.steal()
    await browser.settle()
    assert [(ev.type, ev.leader_id) for ev in [await changes.get()]] == [("change", second.tab_id)]
    assert len(changes) == 0
    assert [ev.type for ev in [await everything.get()]] == ["acquire"]
    changes.close()
    everything.close()
