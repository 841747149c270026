"""``ratio_interval``: the bootstrap interval the fan-out figure prints beside its p99 ratio."""

from benchmarks.harness import pct, ratio_interval


def test_a_contender_twice_as_slow_in_every_round_has_the_interval_2_to_2():
    theirs = [1.0 + (i % 7) for i in range(297)]
    assert ratio_interval([2 * t for t in theirs], theirs, 0.99) == (2.0, 2.0)


def test_equal_contenders_whose_slowest_rounds_differ_get_an_interval_around_one():
    theirs = [1.0] * 292 + [10.0, 11.0, 12.0, 13.0, 14.0]  # p99 of 297: the fourth-slowest
    mine = [1.0] * 287 + [13.0, 14.0, 15.0, 16.0, 17.0] + [1.0] * 5  # five slow rounds of its own, elsewhere
    low, high = ratio_interval(mine, theirs, 0.99)
    assert pct(mine, 0.99) / pct(theirs, 0.99) == 14.0 / 11.0
    assert low < 1.0 < high  # the p99 ratio rests on a handful of rounds either way


def test_the_same_samples_give_the_same_interval():
    mine, theirs = [float(i % 11) + 1 for i in range(100)], [float(i % 13) + 1 for i in range(100)]
    assert ratio_interval(mine, theirs, 0.99) == ratio_interval(mine, theirs, 0.99)
