"""Outbox, Forwarder, FrameOrder pure, synchronous."""

import pytest

from pytabby import QueueFullError
from pytabby._core.routing import MAX_SEQ_JUMP, Forwarder, FrameOrder, Outbox, Write


def written(forwarder: Forwarder) -> list[tuple[str, int]]:
    return [(write.origin, write.id) for write in forwarder.take()]


def test_outbox_numbers_sends_and_forgets_them_once_acked():
    outbox = Outbox(limit=5)
    assert [outbox.add(x) for x in "abc"] == [1, 2, 3]
    assert outbox.acked(2) == [1, 2]
    assert [p.id for p in outbox.pending()] == [3] and outbox.first_unacked == 3
    assert outbox.acked(2) == []
    assert outbox.acked(3) == [3]
    assert outbox.first_unacked == 4 and outbox.last_id == 3 and len(outbox) == 0


def test_outbox_refuses_past_its_limit_and_keeps_what_it_has():
    outbox = Outbox(limit=2)
    outbox.add("a")
    outbox.add("b")
    with pytest.raises(QueueFullError):
        outbox.add("c")
    assert [p.data for p in outbox.pending()] == ["a", "b"]
    assert outbox.add("again", over_limit=True) == 3  # a re-send the limit already let in


def test_forwarder_takes_in_order_and_counts_a_write_as_sent_only_once_confirmed():
    forwarder = Forwarder()
    forwarder.receive("t", 1, 1, "a")
    forwarder.receive("t", 2, 1, "b")
    assert len(forwarder) == 2
    assert forwarder.take() == [Write("t", 1, "a"), Write("t", 2, "b")]
    assert forwarder.take() == [] and forwarder.receive("t", 2, 1, "b") is None  # in flight: no ack yet
    assert forwarder.confirm(1) == {"t": 1}
    assert forwarder.receive("t", 1, 1, "a") == 1 and forwarder.receive("t", 2, 1, "b") is None
    assert forwarder.confirm(1) == {"t": 2}
    assert forwarder.receive("t", 2, 1, "b") == 2


def test_writes_a_lost_connection_never_sent_go_out_again_first_in_order():
    forwarder = Forwarder()
    for n, data in enumerate("abc", 1):
        forwarder.receive("t", n, 1, data)
    forwarder.take()
    forwarder.receive("u", 1, 1, "x")
    assert forwarder.confirm(1) == {"t": 1}
    forwarder.unwrite()
    assert written(forwarder) == [("t", 2), ("t", 3), ("u", 1)]


def test_abandoning_forgets_writes_in_flight_and_the_next_leader_gets_them_from_their_origins():
    forwarder = Forwarder()
    forwarder.receive("t", 1, 1, "a")
    forwarder.take()
    forwarder.abandon()
    assert forwarder.take() == []
    assert forwarder.receive("t", 1, 1, "a") is None and written(forwarder) == [("t", 1)]


def test_forwarder_holds_a_send_that_arrives_ahead_of_a_gap():
    forwarder = Forwarder()
    forwarder.receive("t", 2, 1, "b")
    assert written(forwarder) == []
    forwarder.receive("t", 1, 1, "a")
    assert written(forwarder) == [("t", 1), ("t", 2)]


def test_forwarder_reacks_duplicates_and_never_rewrites():
    forwarder = Forwarder()
    forwarder.receive("t", 1, 1, "a")
    assert written(forwarder) == [("t", 1)]
    forwarder.confirm(1)
    assert forwarder.receive("t", 1, 1, "a") == 1
    assert written(forwarder) == []


def test_a_queued_send_received_again_is_not_queued_twice():
    forwarder = Forwarder()
    assert forwarder.receive("t", 1, 1, "a") is None
    assert forwarder.receive("t", 1, 1, "a") is None
    assert written(forwarder) == [("t", 1)]


def test_a_new_leader_starts_from_the_acks_it_observed():
    forwarder = Forwarder()
    forwarder.saw("t", 3)
    assert forwarder.learn_ack("t", 3)
    assert forwarder.receive("t", 3, 3, "c") == 3
    forwarder.receive("t", 4, 3, "d")
    assert written(forwarder) == [("t", 4)]


def test_first_unacked_skips_sends_a_previous_leader_acknowledged():
    forwarder = Forwarder()
    forwarder.receive("t", 8, 8, "h")
    assert written(forwarder) == [("t", 8)]


def test_lanes_of_different_tabs_are_independent():
    forwarder = Forwarder()
    forwarder.receive("a", 2, 1, "a2")
    forwarder.receive("b", 1, 1, "b1")
    assert written(forwarder) == [("b", 1)]


def test_abandon_drops_the_queue_and_what_was_not_written_can_come_again():
    forwarder = Forwarder()
    forwarder.receive("t", 1, 1, "a")
    forwarder.abandon()
    assert written(forwarder) == []
    forwarder.receive("t", 1, 1, "a")
    assert written(forwarder) == [("t", 1)]


def test_frame_order_counts_gaps_and_refuses_repeats_and_wild_jumps():
    order = FrameOrder()
    assert order.accept(1, 1) and order.accept(1, 2)
    assert not order.accept(1, 2)  # a repeat
    assert order.accept(1, 4) and order.gaps == 1
    assert not order.accept(1, 4 + MAX_SEQ_JUMP + 1)  # a forgery, not a gap
    assert order.accept(1, 5) and order.gaps == 1
    assert order.accept(2, 1)  # a new leader numbers from 1
    assert order.refused == 2


def test_frame_order_syncs_to_the_leaders_count():
    order = FrameOrder()
    order.sync(3, 50_000)  # joined late: the leader's state says where it is
    assert not order.accept(3, 50_000) and order.accept(3, 50_001) and order.gaps == 0
    order.sync(3, 10)  # an older state message never winds it back
    assert not order.accept(3, 50_001)


def test_an_ack_beyond_every_send_seen_from_that_tab_is_refused():
    forwarder = Forwarder()
    forwarder.saw("t", 2)
    assert not forwarder.learn_ack("t", 1000)
    forwarder.receive("t", 1, 1, "a")  # nothing was learned: it is written, not skipped
    assert written(forwarder) == [("t", 1)]
