"""Reconnect delays: exponential, capped, with jitter so tabs of many users don't reconnect in step.

    >>> delays = backoff(initial=1.0, factor=2.0, max_delay=5.0, jitter=0.0)
    >>> [next(delays) for _ in range(5)]
    [1.0, 2.0, 4.0, 5.0, 5.0]
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator


def backoff(
    initial: float = 0.25,
    factor: float = 2.0,
    max_delay: float = 10.0,
    jitter: float = 0.25,
    rng: Callable[[], float] = random.random,
) -> Iterator[float]:
    """Delays in seconds: ``initial * factor**n`` capped at ``max_delay``, each ± ``jitter`` of itself."""
    if initial <= 0 or factor < 1 or max_delay < initial or not 0 <= jitter < 1:
        raise ValueError("need initial > 0, factor >= 1, max_delay >= initial, 0 <= jitter < 1")
    delay = initial
    while True:
        yield delay * (1 + jitter * (2 * rng() - 1))
        delay = min(delay * factor, max_delay)
