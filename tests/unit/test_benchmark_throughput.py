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
