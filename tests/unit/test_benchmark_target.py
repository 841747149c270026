"""A target's verdict line never contradicts itself: the printed value is judged as the value is."""

from benchmarks.harness import Target


def test_a_value_just_above_its_limit_prints_enough_digits_to_show_the_miss():
    assert str(Target("p50 x naive Python", 1.0004, 1.0)) == "p50 x naive Python 1.0004 <= 1: MISSED"


def test_a_value_just_below_a_floor_prints_enough_digits_to_show_the_miss():
    assert str(Target("x raw JS", 3.99996, 4.0, ">=")) == "x raw JS 3.99996 >= 4: MISSED"


def test_a_value_that_rounds_clear_of_its_limit_prints_three_digits():
    assert str(Target("p99 ms", 21.5467, 30.0)) == "p99 ms 21.5 <= 30: met"
    assert str(Target("x", 0.99996, 1.0)) == "x 1 <= 1: met"
