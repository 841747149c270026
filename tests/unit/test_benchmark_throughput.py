"""The throughput figure: a round whose messages do not all arrive is reported and left out, not waited on."""

import math

import pytest

from benchmarks import bus_throughput


class NeverDone:
    """A receiver page whose ``window.doneAt`` never becomes positive."""

    def __init__(self) -> None:
        self.polls = 0

    def evaluate(self, script: str) -> bool:
        assert script == "() => window.doneAt > 0"
        self.polls += 1
        return False


def test_a_receiver_short_of_messages_is_stopped_and_reports_how_many_arrived(monkeypatch):
    monkeypatch.setattr(bus_throughput, "LOST_AFTER_S", 0.05)
    stops = []
    receiver = NeverDone()
    with pytest.raises(bus_throughput._Lost) as lost:
        bus_throughput._rate(receiver, 20_000, 0.0, received=lambda: 13_300, stop=lambda: stops.append(True))
    assert lost.value.delivered == 13_300
    assert stops == [True]
    assert receiver.polls > 1  # it kept polling until the deadline


def test_rounds_in_which_either_side_lost_messages_have_no_ratio():
    assert bus_throughput.per_round_ratio([10.0, 20.0, 30.0, 40.0], [5.0, None, 10.0, 4.0]) == 3.0
    assert bus_throughput.per_round_ratio([None, 8.0], [2.0, 4.0]) == 2.0
    assert math.isnan(bus_throughput.per_round_ratio([None, 8.0], [2.0, None]))


class DoneAt:
    """A receiver page that got every message at ``done_at`` (ms, the page's clock)."""

    def __init__(self, done_at: float) -> None:
        self.done_at = done_at

    def evaluate(self, script: str) -> object:
        return True if script == "() => window.doneAt > 0" else self.done_at


def test_a_round_within_one_step_of_a_coarse_clock_counts_as_one_step_not_as_no_time():
    assert bus_throughput._rate(DoneAt(1000.0), 300, 1000.0, received=lambda: 300, stop=lambda: None) == 300_000
    assert bus_throughput._rate(DoneAt(1040.0), 20_000, 1000.0, received=lambda: 20_000, stop=lambda: None) == 500_000
