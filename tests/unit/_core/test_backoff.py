"""Reconnect delays: exponential, capped, jittered."""

import itertools

import pytest

from pytabby._core.backoff import backoff


def test_backoff_grows_to_its_cap_with_bounded_jitter():
    delays = list(itertools.islice(backoff(0.5, 2.0, 4.0, 0.25, rng=lambda: 1.0), 6))
    assert delays == [0.625, 1.25, 2.5, 5.0, 5.0, 5.0]
    low = list(itertools.islice(backoff(0.5, 2.0, 4.0, 0.25, rng=lambda: 0.0), 2))
    assert low == [0.375, 0.75]


def test_backoff_rejects_nonsense():
    with pytest.raises(ValueError):
        next(backoff(initial=0))
