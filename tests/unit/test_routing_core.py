"""Outbox, Forwarder, FrameOrder, replies and backoff: pure, synchronous."""

import itertools

import pytest

from pytabby import QueueFullError
from pytabby._core.backoff import backoff
from pytabby._core.routing import Forwarder, FrameOrder, Outbox, Write, parse_reply


def write_all(forwarder: Forwarder) -> list[tuple[str, int]]:
    done = []
    for write in forwarder.writable():
        forwarder.written(write)
        done.append((write.origin, write.id))
    return done


def test_outbox_numbers_sends_and_forgets_them_once_acked():
    outbox = Outbox(limit=5)
    assert [outbox.add(x) for x in "abc"] == [1, 2, 3]
    outbox.acked(2)
    assert [p.id for p in outbox.pending()] == [3] and outbox.first_unacked == 3
    assert outbox.is_acked(2) and not outbox.is_acked(3)
    outbox.acked(3)
    assert outbox.first_unacked == 4 and len(outbox) == 0


def test_outbox_refuses_past_its_limit_and_keeps_what_it_has():
    outbox = Outbox(limit=2)
    outbox.add("a")
    outbox.add("b")
    with pytest.raises(QueueFullError):
        outbox.add("c")
    assert [p.data for p in outbox.pending()] == ["a", "b"]


def test_forwarder_queues_until_open_then_writes_in_order():
    forwarder = Forwarder()
    forwarder.receive("t", 1, 1, "a")
    forwarder.receive("t", 2, 1, "b")
    assert forwarder.writable() == []
    assert forwarder.socket_opened() == [Write("t", 1, "a"), Write("t", 2, "b")]


def test_forwarder_holds_a_send_that_arrives_ahead_of_a_gap():
    forwarder = Forwarder()
    forwarder.socket_opened()
    forwarder.receive("t", 2, 1, "b")
    assert write_all(forwarder) == []
    forwarder.receive("t", 1, 1, "a")
    assert write_all(forwarder) == [("t", 1), ("t", 2)]


def test_forwarder_reacks_duplicates_and_never_rewrites():
    forwarder = Forwarder()
    forwarder.socket_opened()
    forwarder.receive("t", 1, 1, "a")
    assert write_all(forwarder) == [("t", 1)]
    assert forwarder.receive("t", 1, 1, "a") == 1
    assert write_all(forwarder) == []


def test_a_new_leader_starts_from_the_acks_it_observed():
    forwarder = Forwarder()
    forwarder.learn_ack("t", 3)
    forwarder.socket_opened()
    assert forwarder.receive("t", 3, 3, "c") == 3
    forwarder.receive("t", 4, 3, "d")
    assert write_all(forwarder) == [("t", 4)]


def test_first_unacked_skips_sends_a_previous_leader_acknowledged():
    forwarder = Forwarder()
    forwarder.socket_opened()
    forwarder.receive("t", 8, 8, "h")
    assert write_all(forwarder) == [("t", 8)]


def test_lanes_of_different_tabs_are_independent():
    forwarder = Forwarder()
    forwarder.socket_opened()
    forwarder.receive("a", 2, 1, "a2")
    forwarder.receive("b", 1, 1, "b1")
    assert write_all(forwarder) == [("b", 1)]


def test_abandon_drops_the_queue_and_what_was_not_written_can_come_again():
    forwarder = Forwarder()
    forwarder.receive("t", 1, 1, "a")
    forwarder.abandon()
    forwarder.socket_opened()
    assert write_all(forwarder) == []
    forwarder.receive("t", 1, 1, "a")
    assert write_all(forwarder) == [("t", 1)]


def test_a_closed_socket_stops_writes_until_reopened():
    forwarder = Forwarder()
    forwarder.socket_opened()
    forwarder.socket_closed()
    forwarder.receive("t", 1, 1, "a")
    assert forwarder.writable() == []
    assert forwarder.socket_opened() == [Write("t", 1, "a")]


def test_frame_order_drops_stale_terms_and_counts_gaps():
    order = FrameOrder()
    assert order.accept(1, 1) and order.accept(1, 2)
    assert not order.accept(1, 2)  # a repeat
    assert order.accept(1, 4) and order.gaps == 1
    assert order.accept(2, 1)  # a new leader numbers from 1
    assert not order.accept(1, 5) and order.stale == 2


@pytest.mark.parametrize(("frame", "parsed"), [
    ('{"request_id": "r", "result": [1]}', ("r", [1], None, False)),
    ('{"request_id": "r", "error": "nope"}', ("r", None, "nope", True)),
    ('{"request_id": "r", "op": "echo"}', None),
    ('{"request_id": 5, "result": 1}', None),
    ("not json {", None),
    (b'{"request_id": "r", "result": 1}', None),
    ('{"request_id": "r", "result": ', None),
])
def test_parse_reply(frame, parsed):
    assert parse_reply(frame) == parsed


def test_backoff_grows_to_its_cap_with_bounded_jitter():
    delays = list(itertools.islice(backoff(0.5, 2.0, 4.0, 0.25, rng=lambda: 1.0), 6))
    assert delays == [0.625, 1.25, 2.5, 5.0, 5.0, 5.0]
    low = list(itertools.islice(backoff(0.5, 2.0, 4.0, 0.25, rng=lambda: 0.0), 2))
    assert low == [0.375, 0.75]


def test_backoff_rejects_nonsense():
    with pytest.raises(ValueError):
        next(backoff(initial=0))
